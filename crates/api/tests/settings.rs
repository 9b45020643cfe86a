//! The README's configuration table lists exactly the variables the server reads.

use std::collections::{BTreeMap, BTreeSet};

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
fn readme_names_the_flag_of_every_environment_variable() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    // `| `ENV` | `--flag` | default | meaning |`
    let documented: BTreeMap<String, String> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| {
            let mut cells = l.split('|');
            let env = cells.next()?.trim().trim_matches('`');
            let flag = cells.next()?.trim().strip_prefix("`--")?.strip_suffix('`')?;
            Some((env.to_owned(), flag.to_owned()))
        })
        .collect();
    let read: BTreeMap<String, String> = kafkaml_api::Settings::command()
        .get_arguments()
        .filter_map(|a| Some((a.get_env()?.to_string_lossy().into_owned(), a.get_long()?.to_owned())))
        .collect();
    assert_eq!(documented, read, "README.md's configuration table and Settings disagree on the flags");
}

#[test]
fn secrets_do_not_print() {
    let mut s = kafkaml_api::Settings::defaults();
    s.kube.token = Some("very-secret".into());
    s.blockchain.wallet_key = Some("0xPRIVATE".into());
    let printed = format!("{s:?}");
    assert!(!printed.contains("very-secret") && !printed.contains("0xPRIVATE"), "{printed}");
    assert!(printed.contains("REDACTED"), "{printed}");
}

#[test]
fn kubernetes_settings() {
    use clap::Parser;
    let s = kafkaml_api::Settings::defaults();
    assert!(!s.kube.insecure_skip_tls_verify);
    assert_eq!(s.kube.timeout_secs, 10);
    assert_eq!(s.kube.timeout(), std::time::Duration::from_secs(10));
    assert_eq!(s.kube.namespace, "kafkaml");
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
    assert!(s.kube.insecure_skip_tls_verify);
    assert_eq!(s.kube.timeout_secs, 3);
    assert_eq!(s.kube.ca_cert.as_deref(), Some(std::path::Path::new("/etc/ca.pem")));
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
        assert_eq!(s.server.bind, "127.0.0.1:8000");
        assert_eq!(s.kafka.bootstrap_servers, None);
        assert_eq!(s.kube.host, None);
        assert_eq!(s.kube.namespace, "kafkaml");
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

#[test]
fn durations_are_typed_and_at_least_a_second_where_zero_would_hang() {
    let mut s = kafkaml_api::Settings::defaults();
    assert_eq!(s.executors.timeout(), std::time::Duration::from_secs(60));
    assert_eq!(s.kafka.timeout(), std::time::Duration::from_secs(5));
    assert_eq!(s.iot.mqtt_timeout(), std::time::Duration::from_secs(5));
    assert_eq!(s.iot.probe_window(), std::time::Duration::from_millis(500));
    assert_eq!(s.iot.probe_deadline(), std::time::Duration::from_millis(1500));
    s.kube.timeout_secs = 0;
    s.kafka.timeout_secs = 0;
    s.executors.timeout_secs = 0;
    s.iot.mqtt_timeout_secs = 0;
    s.database.pool_size = 0;
    assert_eq!(s.kube.timeout(), std::time::Duration::from_secs(1));
    assert_eq!(s.kafka.timeout(), std::time::Duration::from_secs(1));
    assert_eq!(s.executors.timeout(), std::time::Duration::from_secs(1));
    assert_eq!(s.iot.mqtt_timeout(), std::time::Duration::from_secs(1));
    assert_eq!(s.database.pool_size(), 1);
}

#[test]
fn accounts_and_fallback_variables_are_read_from_the_environment() {
    // A child process with the variables set, as in `defaults_ignore_the_environment`.
    const CHILD: &str = "KAFKAML_SETTINGS_ENV_CHILD";
    if let Some(case) = std::env::var_os(CHILD) {
        use clap::Parser;
        use secrecy::ExposeSecret;
        let s = kafkaml_api::Settings::try_parse_from(["kafkaml-backend"]).unwrap();
        match case.to_str().unwrap() {
            "set" => {
                assert!(s.server.debug);
                assert_eq!(s.log_filter(), "debug");
                assert_eq!(s.server.secret_key.as_ref().map(|k| k.expose_secret().to_owned()).as_deref(), Some("k3y"));
                assert_eq!(s.images.tensorflow_training_image(), Some("generic/training:1"));
                // TENSORFLOW_INFERENCE_MODEL_IMAGE wins over INFERENCE_MODEL_IMAGE.
                assert_eq!(s.images.tensorflow_inference_image(), Some("tf/inference:2"));
                // Settings::defaults() still ignores every variable.
                let d = kafkaml_api::Settings::defaults();
                assert!(!d.server.debug && d.server.secret_key.is_none());
                assert_eq!(d.images.tensorflow_training_image(), None);
                assert_eq!(d.images.tensorflow_inference_image(), None);
            }
            "false" => assert!(!s.server.debug, "DEBUG=False"),
            other => panic!("unknown case {other}"),
        }
        return;
    }
    let child = |case: &str, vars: &[(&str, &str)]| {
        let mut command = std::process::Command::new(std::env::current_exe().unwrap());
        command.args(["--exact", "accounts_and_fallback_variables_are_read_from_the_environment", "--nocapture"]);
        command.env(CHILD, case);
        for var in ["DEBUG", "SECRET_KEY", "TRAINING_MODEL_IMAGE", "INFERENCE_MODEL_IMAGE"] {
            command.env_remove(var);
        }
        for var in ["TENSORFLOW_TRAINING_MODEL_IMAGE", "TENSORFLOW_INFERENCE_MODEL_IMAGE"] {
            command.env_remove(var);
        }
        command.envs(vars.iter().copied());
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "{case}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    };
    child(
        "set",
        &[
            ("DEBUG", "1"),
            ("SECRET_KEY", "k3y"),
            ("TRAINING_MODEL_IMAGE", "generic/training:1"),
            ("INFERENCE_MODEL_IMAGE", "generic/inference:1"),
            ("TENSORFLOW_INFERENCE_MODEL_IMAGE", "tf/inference:2"),
        ],
    );
    child("false", &[("DEBUG", "False")]);
}

#[test]
fn secrets_hide_their_environment_values_in_help() {
    let command = kafkaml_api::Settings::command();
    for env in ["SECRET_KEY", "KUBE_TOKEN", "FEDML_BLOCKCHAIN_WALLET_KEY", "DATABASE_URL"] {
        let arg = command
            .get_arguments()
            .find(|a| a.get_env().is_some_and(|e| e == env))
            .unwrap_or_else(|| panic!("{env} is a setting"));
        assert!(arg.is_hide_env_values_set(), "{env} shows its value in --help");
    }
}

#[test]
fn allowed_hosts_naming_no_host_means_the_default_list_not_any() {
    let mut settings = kafkaml_api::Settings::defaults();
    let default = settings.server.host_whitelist().unwrap();
    assert!(default.contains(&"backend".to_owned()), "{default:?}");
    for empty in ["", ",", " , "] {
        settings.server.allowed_hosts = empty.to_owned();
        assert_eq!(settings.server.host_whitelist().as_ref(), Some(&default), "ALLOWED_HOSTS={empty:?}");
    }
    settings.server.allowed_hosts = "a.example, *".to_owned();
    assert_eq!(settings.server.host_whitelist(), None);
}
