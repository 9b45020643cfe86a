//! A process that exits while other threads still open PostgreSQL connections must exit cleanly.
//!
//! libpq uses OpenSSL; left to itself, OpenSSL frees its global state in an `atexit`
//! handler while those threads still use it, and about one exit in ten died with SIGSEGV
//! (diesel-rs/diesel#3441; seen in CI as a test that passed and then crashed). The test runs
//! itself as a child process many times, each child exiting mid-connection.

use std::process::Command;
use std::time::Duration;

use kafkaml_persistence::db::ConnectionManager;

const CHILD: &str = "KAFKAML_EXIT_PROBE_CHILD";
const RUNS: usize = 40;

fn postgres_url() -> String {
    std::env::var("KAFKAML_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// In the child: threads connect, query and disconnect in a loop; the process exits under them.
#[expect(clippy::expect_used, reason = "test helper: a child that cannot reach PostgreSQL is a failed test")]
fn child() -> ! {
    let manager = ConnectionManager::new(&postgres_url());
    for _ in 0..4 {
        let manager = manager.clone();
        std::thread::spawn(move || loop {
            let mut conn = manager.connect().expect("PostgreSQL is reachable");
            kafkaml_persistence::db::ping(&mut conn).expect("SELECT 1 answers");
        });
    }
    std::thread::sleep(Duration::from_millis(60));
    std::process::exit(0)
}

#[test]
fn exiting_while_threads_open_postgres_connections_does_not_crash() {
    if std::env::var_os(CHILD).is_some() {
        child();
    }
    let exe = std::env::current_exe().unwrap();
    for run in 0..RUNS {
        let output = Command::new(&exe)
            .args(["--exact", "exiting_while_threads_open_postgres_connections_does_not_crash", "--nocapture"])
            .env(CHILD, "1")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "run {run}: the child exited with {:?}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
