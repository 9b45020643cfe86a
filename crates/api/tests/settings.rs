//! The README's configuration table lists exactly the variables the server reads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

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
