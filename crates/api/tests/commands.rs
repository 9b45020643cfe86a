//! The operator's commands of the real `kafkaml-backend` binary, run as child processes on a fresh
//! SQLite data directory: `createsuperuser` (with `--noinput` and with piped answers),
//! `changepassword`, `createtoken` and `migrate [--check]`.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "the helpers fail the test on an unexpected error")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use kafkaml_domain::Violation;
use kafkaml_persistence::db::ConnectionManager;
use kafkaml_persistence::repo::{audit, tokens, users};
use kafkaml_persistence::DbConnection;
use secrecy::ExposeSecret;

const BINARY: &str = env!("CARGO_BIN_EXE_kafkaml-backend");

/// Variables of the test's own environment that would change what the binary does.
const CLEARED: [&str; 9] = [
    "DATABASE_URL",
    "SECRET_KEY",
    "DEBUG",
    "RUST_LOG",
    "KAFKAML_DB_POOL_SIZE",
    "KAFKAML_SUPERUSER_USERNAME",
    "KAFKAML_SUPERUSER_EMAIL",
    "KAFKAML_SUPERUSER_PASSWORD",
    "KAFKAML_BIND",
];

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Runs `kafkaml-backend ARGS` on `data_dir` with `vars`, feeding `stdin` (piped, so not a terminal).
fn run(data_dir: &Path, args: &[&str], vars: &[(&str, &str)], stdin: &str) -> Run {
    let mut command = Command::new(BINARY);
    command.args(args).env("KAFKAML_DATA_DIR", data_dir);
    for var in CLEARED {
        command.env_remove(var);
    }
    command.envs(vars.iter().copied());
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let mut input = child.stdin.take().unwrap();
    // The command may exit before reading everything: a broken pipe is not the test's failure.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    let Output { status, stdout, stderr } = child.wait_with_output().unwrap();
    Run {
        code: status.code().expect("exited, not killed"),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

fn database(data_dir: &Path) -> DbConnection {
    let path: PathBuf = data_dir.join("kafkaml.sqlite3");
    ConnectionManager::new(&format!("sqlite://{}", path.display())).connect().unwrap()
}

fn noinput_vars<'a>(username: &'a str, password: &'a str) -> [(&'static str, &'a str); 3] {
    [
        ("KAFKAML_SUPERUSER_USERNAME", username),
        ("KAFKAML_SUPERUSER_EMAIL", "admin@example.org"),
        ("KAFKAML_SUPERUSER_PASSWORD", password),
    ]
}

#[test]
fn createsuperuser_noinput_creates_an_audited_superuser_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let password = "a long enough secret";
    let out = run(&data, &["createsuperuser", "--noinput"], &noinput_vars("admin", password), "");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("Superuser created successfully."), "{out:?}");

    let mut conn = database(&data);
    let user = users::find_by_username(&mut conn, "admin").unwrap().expect("the user row");
    assert_eq!(user.email, "admin@example.org");
    assert!(user.is_active && user.is_staff && user.is_superuser, "{user:?}");
    let hash = user.password_hash.expose_secret();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(password));

    let entries = audit::recent(&mut conn, 10).unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(
        (entry.actor.as_str(), entry.action.as_str(), entry.object_kind.as_str(), entry.object_id),
        ("createsuperuser", "add", "users", Some(user.id))
    );
    assert_eq!(entry.user_id, None);
    assert!(entry.changed_fields.contains("password") && !entry.changed_fields.contains(password));

    // The name is taken now: an error, exit 1, nothing written.
    let again = run(&data, &["createsuperuser", "--noinput"], &noinput_vars("admin", "another fine secret"), "");
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stderr.contains("That username is already taken."), "{again:?}");
    assert_eq!(users::list(&mut conn).unwrap().len(), 1);
    assert_eq!(audit::recent(&mut conn, 10).unwrap().len(), 1);
}

#[test]
fn createsuperuser_noinput_refuses_a_weak_password_and_names_a_missing_variable() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let weak = run(&data, &["createsuperuser", "--noinput"], &noinput_vars("admin", "short"), "");
    assert_eq!(weak.code, 1, "{weak:?}");
    assert!(weak.stderr.contains(&Violation::PasswordTooShort(8).to_string()), "{weak:?}");
    let common = run(&data, &["createsuperuser", "--noinput"], &noinput_vars("admin", "password123"), "");
    assert_eq!(common.code, 1, "{common:?}");
    assert!(common.stderr.contains(&Violation::PasswordTooCommon.to_string()), "{common:?}");
    assert!(users::list(&mut database(&data)).unwrap().is_empty());

    let vars = [("KAFKAML_SUPERUSER_USERNAME", "admin"), ("KAFKAML_SUPERUSER_EMAIL", "")];
    let missing = run(&data, &["createsuperuser", "--noinput"], &vars, "");
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(missing.stderr.contains("KAFKAML_SUPERUSER_PASSWORD is not set"), "{missing:?}");
    let missing = run(&data, &["createsuperuser", "--noinput"], &[], "");
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(missing.stderr.contains("KAFKAML_SUPERUSER_USERNAME is not set"), "{missing:?}");
    assert!(users::list(&mut database(&data)).unwrap().is_empty());
}

#[test]
fn createsuperuser_reads_piped_answers_and_asks_again_after_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let answers = "root\nroot@example.org\nfirst phrase here\nsecond phrase here\nshort\nshort\n\
                   a fine long phrase\na fine long phrase\n";
    let out = run(&data, &["createsuperuser"], &[], answers);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("Username") && out.stdout.contains("Email address: "), "{out:?}");
    assert!(out.stdout.contains("Password (again): "), "{out:?}");
    assert!(out.stderr.contains("The two password fields didn't match."), "{out:?}");
    assert!(out.stderr.contains(&Violation::PasswordTooShort(8).to_string()), "{out:?}");
    assert!(out.stdout.contains("Superuser created successfully."), "{out:?}");
    let user = users::find_by_username(&mut database(&data), "root").unwrap().expect("the user row");
    assert!(user.is_superuser && user.is_staff && user.is_active);
    assert_eq!(user.email, "root@example.org");

    // Input that ends before the password is complete is an error, not an endless prompt.
    let out = run(&data, &["createsuperuser", "--username", "ops"], &[], "\nweak\nweak\n");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("the input ended"), "{out:?}");
    assert!(users::find_by_username(&mut database(&data), "ops").unwrap().is_none());
}

#[test]
fn changepassword_sets_an_audited_password_from_piped_answers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let created = run(&data, &["createsuperuser", "--noinput"], &noinput_vars("admin", "a long enough secret"), "");
    assert_eq!(created.code, 0, "{created:?}");
    let before = users::find_by_username(&mut database(&data), "admin").unwrap().unwrap();

    let out = run(&data, &["changepassword", "admin"], &[], "a\nb\nbrand new phrase\nbrand new phrase\n");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("The two password fields didn't match."), "{out:?}");
    assert!(out.stdout.contains("Password changed successfully for user 'admin'"), "{out:?}");
    let mut conn = database(&data);
    let after = users::find_by_username(&mut conn, "admin").unwrap().unwrap();
    assert!(after.password_hash.expose_secret().starts_with("$argon2id$"));
    assert_ne!(after.password_hash.expose_secret(), before.password_hash.expose_secret());
    let latest = &audit::recent(&mut conn, 1).unwrap()[0];
    assert_eq!((latest.actor.as_str(), latest.action.as_str()), ("changepassword", "password"));

    let unknown = run(&data, &["changepassword", "nobody"], &[], "brand new phrase\nbrand new phrase\n");
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert!(unknown.stderr.contains("user 'nobody' does not exist"), "{unknown:?}");

    let refused = run(&data, &["changepassword", "admin"], &[], "short\nshort\n1234567890\n1234567890\nx\ny\n");
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("after 3 attempts"), "{refused:?}");
}

#[test]
fn createtoken_prints_a_key_alone_that_the_database_knows_and_refuses_unknown_users() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let created = run(&data, &["createsuperuser", "--noinput"], &noinput_vars("admin", "a long enough secret"), "");
    assert_eq!(created.code, 0, "{created:?}");

    let out = run(&data, &["createtoken", "admin", "--name", "ci", "--expires", "30d"], &[], "");
    assert_eq!(out.code, 0, "{out:?}");
    // `KEY=$(kafkaml-backend createtoken admin)`: the key and its line end, nothing else.
    let key = out.stdout.strip_suffix('\n').expect("one line");
    assert!(key.starts_with("kml_") && key.len() == 68 && !key.contains(char::is_whitespace), "{out:?}");
    assert!(out.stderr.contains("Token 'ci' of user 'admin' (role superuser), expires 20"), "{out:?}");
    assert!(out.stderr.contains("shown this once"), "{out:?}");
    assert!(!out.stderr.contains(key), "the key only on standard output: {out:?}");

    // Another process (this test) finds the token by the key's hash, as the API guard does.
    let mut conn = database(&data);
    let now = kafkaml_domain::datetime::now();
    let hash = sha256_hex(key);
    let (token, user) = tokens::find_active(&mut conn, &hash, now).unwrap().expect("the token row");
    assert_eq!((token.name.as_str(), user.username.as_str()), ("ci", "admin"));
    assert_eq!(token.key_prefix, key[..12]);
    let expires = token.expires.expect("an expiry");
    assert!((expires - now - chrono::Duration::days(30)).num_minutes().abs() < 5, "{expires}");
    let latest = &audit::recent(&mut conn, 1).unwrap()[0];
    assert_eq!(
        (latest.actor.as_str(), latest.action.as_str(), latest.object_kind.as_str()),
        ("createtoken", "add", "tokens")
    );

    // A second token without options never expires and has another key.
    let again = run(&data, &["createtoken", "admin"], &[], "");
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stderr.contains("Token 'cli' of user 'admin' (role superuser), expires never."), "{again:?}");
    assert_ne!(again.stdout.trim_end(), key);

    for (args, message) in [
        (&["createtoken", "nobody"][..], "user 'nobody' does not exist"),
        (&["createtoken", "admin", "--expires", "someday"][..], "Token not valid: expires: give a duration"),
        (&["createtoken", "admin", "--expires", "2001-01-01"][..], "Token not valid: expires: it is in the past."),
    ] {
        let refused = run(&data, args, &[], "");
        assert_eq!(refused.code, 1, "{refused:?}");
        assert!(refused.stderr.contains(message), "{refused:?}");
        assert_eq!(refused.stdout, "", "{refused:?}");
    }
    assert_eq!(tokens::list(&mut conn, None).unwrap().len(), 2);
}

/// The SHA-256 of `text` in hexadecimal (what the token table keeps of a key).
fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn migrate_check_fails_while_migrations_are_pending() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let check = run(&data, &["migrate", "--check"], &[], "");
    assert_eq!(check.code, 1, "{check:?}");
    assert!(check.stdout.contains("Pending migrations:"), "{check:?}");
    assert!(check.stdout.contains("2026-11-28-000001_initial"), "{check:?}");
    assert!(check.stdout.contains("2026-12-03-000001_accounts"), "{check:?}");

    let migrate = run(&data, &["migrate"], &[], "");
    assert_eq!(migrate.code, 0, "{migrate:?}");
    assert!(migrate.stdout.contains("Applied 2026-11-28-000001_initial"), "{migrate:?}");
    assert!(migrate.stdout.contains("Applied 2026-12-03-000001_accounts"), "{migrate:?}");

    let check = run(&data, &["migrate", "--check"], &[], "");
    assert_eq!(check.code, 0, "{check:?}");
    assert_eq!(check.stdout, "No migrations to apply.\n");
    let migrate = run(&data, &["migrate"], &[], "");
    assert_eq!((migrate.code, migrate.stdout.as_str()), (0, "No migrations to apply.\n"), "{migrate:?}");
}
