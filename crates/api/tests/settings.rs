//! The README's configuration table lists exactly the variables the server reads.

use std::collections::BTreeSet;

use clap::CommandFactory;

#[test]
fn readme_lists_every_environment_variable() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let documented: BTreeSet<String> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|v| v.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .map(str::to_owned)
        .filter(|v| v != "RUST_LOG")
        .collect();
    let read: BTreeSet<String> = kafkaml_api::Settings::command()
        .get_arguments()
        .filter_map(|a| a.get_env())
        .map(|e| e.to_string_lossy().into_owned())
        .collect();
    assert_eq!(documented, read, "README.md's configuration table and Settings disagree");
}

#[test]
fn secrets_do_not_print() {
    let mut s = kafkaml_api::Settings::defaults();
    s.kube_token = Some("very-secret".parse().unwrap());
    assert!(!format!("{s:?}").contains("very-secret"));
}

#[test]
fn kubernetes_settings() {
    use clap::Parser;
    let s = kafkaml_api::Settings::defaults();
    assert!(!s.kube_insecure_skip_tls_verify);
    assert_eq!(s.kube_timeout, 10);
    assert_eq!(s.kube_namespace, "kafkaml");
    let s = kafkaml_api::Settings::try_parse_from([
        "kafkaml-backend",
        "--kube-insecure-skip-tls-verify",
        "--kube-timeout",
        "3",
        "--kube-ca-cert",
        "/etc/ca.pem",
        "--fedml-blockchain-wallet-key",
        "0xPRIVATE",
    ])
    .unwrap();
    assert!(s.kube_insecure_skip_tls_verify);
    assert_eq!(s.kube_timeout, 3);
    assert_eq!(s.kube_ca_cert.as_deref(), Some(std::path::Path::new("/etc/ca.pem")));
    assert!(!format!("{s:?}").contains("0xPRIVATE"));
    let cluster = kafkaml_api::cluster::cluster_settings(&s);
    assert!(cluster.insecure_skip_tls_verify);
    assert_eq!(cluster.timeout, std::time::Duration::from_secs(3));
}

#[test]
fn defaults_ignore_the_environment() {
    // Runs itself as a child process with variables set (the test process's own environment is
    // left alone); the child checks what `Settings::defaults()` holds.
    const CHILD: &str = "KAFKAML_SETTINGS_DEFAULTS_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let s = kafkaml_api::Settings::defaults();
        assert_eq!(s.bind, "127.0.0.1:8000");
        assert_eq!(s.bootstrap_servers, None);
        assert_eq!(s.kube_host, None);
        assert_eq!(s.kube_namespace, "kafkaml");
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "defaults_ignore_the_environment", "--nocapture"])
        .env(CHILD, "1")
        .env("KAFKAML_BIND", "0.0.0.0:9")
        .env("BOOTSTRAP_SERVERS", "kafka:9092")
        .env("KUBE_HOST", "https://cluster:6443")
        .env("KUBE_NAMESPACE", "elsewhere")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
}
