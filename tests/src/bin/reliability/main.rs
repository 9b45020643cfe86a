//! The reliability suite (issue 12): the real server process with authentication on, against real
//! PostgreSQL/SQLite and a real Kafka broker (tansu), the stub executor and the fake Kubernetes API
//! server. Its parts:
//! - `schema`: schemathesis over the served OpenAPI document (`SCHEMATHESIS` names its `st`
//!   command), every check on, stateful phase through the document's links;
//! - `concurrency`: `n` concurrent creates, updates and deletes on every resource, on SQLite and
//!   PostgreSQL, then the rows, files, Jobs and controllers are checked against the answers;
//! - `faults`: PostgreSQL backends terminated mid-request, the broker stopped and restarted, the
//!   Kubernetes API answering 500, hanging and dropping its watches, the executor hanging;
//! - `crash`: `SIGKILL` during an upload and during a deployment, then a restart;
//! - `load`: 256 connections of mixed reads and writes on PostgreSQL, p99 and peak RSS.
//!
//! Figures are printed; a broken rule (an answer other than 2xx/4xx/503, a hang, a row, file or
//! Job that disagrees with the answers) is a failure and the exit status is 1.
//!
//! Run through `scripts/reliability.sh` (which builds the binaries and installs schemathesis), or
//! `target/release/reliability [--ci] [PART…]`. `--ci` uses the small counts CI runs.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test tool: a setup step that fails panics with its message, which is the report"
)]

mod concurrency;
mod crash;
mod faults;
mod load;
mod schema;
mod stage;

use stage::{Db, Stage};

/// What a part found: printed lines and failures.
#[derive(Default)]
pub struct Report {
    failures: Vec<String>,
}

impl Report {
    pub fn section(&mut self, title: String) {
        println!("\n== {title}");
    }

    pub fn line(&mut self, line: String) {
        println!("   {line}");
    }

    pub fn fail(&mut self, what: String) {
        println!("   FAIL {what}");
        self.failures.push(what);
    }

    /// A rule: `ok`, or a failure described by `what`.
    pub fn check(&mut self, ok: bool, what: String) {
        if ok {
            println!("   ok   {what}");
        } else {
            self.fail(what);
        }
    }
}

/// The counts of one run.
pub struct Counts {
    /// Concurrent requests per step of `concurrency`.
    pub concurrent: usize,
    /// schemathesis: test cases per operation, and the least total the run must reach.
    pub examples: usize,
    pub min_cases: usize,
    /// `load`: connections and seconds.
    pub connections: usize,
    pub seconds: u64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let ci = args.iter().any(|a| a == "--ci");
    args.retain(|a| a != "--ci");
    let all = ["schema", "concurrency", "faults", "crash", "load"];
    if let Some(unknown) = args.iter().find(|a| !all.contains(&a.as_str())) {
        eprintln!("unknown part {unknown:?}; parts: {}", all.join(", "));
        std::process::exit(2);
    }
    let parts: Vec<&str> = if args.is_empty() {
        all.to_vec()
    } else {
        all.iter().copied().filter(|p| args.iter().any(|a| a == p)).collect()
    };
    let counts = if ci {
        Counts { concurrent: 40, examples: 10, min_cases: 400, connections: 64, seconds: 10 }
    } else {
        Counts { concurrent: 200, examples: 100, min_cases: 5000, connections: 256, seconds: 60 }
    };
    let mut report = Report::default();
    for part in parts {
        match part {
            "schema" => {
                let stage = Stage::start(Db::Postgres).await;
                schema::run(&stage, &counts, &mut report).await;
                server_errors(&stage, &mut report);
            }
            "concurrency" => {
                for db in [Db::Sqlite, Db::Postgres] {
                    let stage = Stage::start(db).await;
                    concurrency::run(&stage, counts.concurrent, &mut report).await;
                    server_errors(&stage, &mut report);
                }
            }
            "faults" => {
                let mut stage = Stage::start(Db::Postgres).await;
                faults::run(&mut stage, &mut report).await;
                server_errors(&stage, &mut report);
            }
            "crash" => {
                for db in [Db::Sqlite, Db::Postgres] {
                    let mut stage = Stage::start(db).await;
                    crash::run(&mut stage, &mut report).await;
                    server_errors(&stage, &mut report);
                }
            }
            "load" => {
                let stage = Stage::start(Db::Postgres).await;
                load::run(&stage, &counts, &mut report).await;
                server_errors(&stage, &mut report);
            }
            _ => unreachable!("parts are checked above"),
        }
    }
    println!();
    if report.failures.is_empty() {
        println!("reliability: every check passed");
    } else {
        println!("reliability: {} checks failed:", report.failures.len());
        for f in &report.failures {
            println!("  - {f}");
        }
        std::process::exit(1);
    }
}

/// The server's own log must show no panic and no 500.
fn server_errors(stage: &Stage, report: &mut Report) {
    let errors = stage.log_errors();
    report.check(
        errors.is_empty(),
        format!("{} panics or 500s in the server's log {:?}", errors.len(), errors.iter().take(5).collect::<Vec<_>>()),
    );
}
