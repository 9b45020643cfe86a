//! schemathesis over the OpenAPI document the server serves: every check, all phases (the
//! stateful one follows the document's links from creates to reads, updates and deletes), as the
//! superuser's token. The run must find no failure and generate at least `min_cases` test cases.

use std::process::Command;

use crate::stage::Stage;
use crate::{Counts, Report};

/// The suite's schemathesis settings: the exceptions to the checks, each with its reason.
const CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/reliability/schemathesis.toml");

/// The `st` command: `SCHEMATHESIS`, else `st` on `PATH`.
fn schemathesis() -> String {
    std::env::var("SCHEMATHESIS").unwrap_or_else(|_| "st".to_owned())
}

/// The number before `word` in schemathesis's summary, e.g. `5123 generated` → 5123.
fn number_before(text: &str, word: &str) -> Option<usize> {
    text.lines().rev().find_map(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        words
            .windows(2)
            .find(|w| w[1].trim_end_matches([',', '.']) == word)
            .and_then(|w| w[0].replace(',', "").parse().ok())
    })
}

pub async fn run(stage: &Stage, counts: &Counts, report: &mut Report) {
    report.section(format!("schemathesis on {}: {} examples per operation", stage.db.name(), counts.examples));
    let reports = crate::stage::kept("schemathesis-", "");
    let document = stage.url("/api-docs/openapi.json");
    let st = schemathesis();
    let mut cmd = Command::new(&st);
    cmd.args([
        "--no-color",
        "--config-file",
        CONFIG,
        "run",
        &document,
        "--url",
        &stage.url(""),
        "--workers",
        "2",
        "--seed",
        "12",
    ])
    .args(["--max-examples", &counts.examples.to_string()])
    .args(["--header", &format!("Authorization: Token {}", stage.token)])
    .args(["--request-timeout", "20", "--suppress-health-check", "all"])
    .args(["--report", "junit", "--report-dir"])
    .arg(&reports)
    .env("NO_COLOR", "1");
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().unwrap_or_else(|e| {
        panic!("schemathesis ({st}) could not run: {e}; scripts/reliability.sh installs it, or set SCHEMATHESIS")
    });
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    std::fs::create_dir_all(&reports).unwrap();
    std::fs::write(reports.join("output.txt"), &text).unwrap();
    let summary: Vec<&str> = text.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
    for line in &summary {
        report.line((*line).to_owned());
    }
    let cases = number_before(&text, "generated").unwrap_or(0);
    report.check(
        cases >= counts.min_cases,
        format!("schemathesis generated {cases} test cases (at least {} required)", counts.min_cases),
    );
    report.check(
        out.status.success(),
        format!(
            "schemathesis found no failure (exit {:?}; full output in {})",
            out.status.code(),
            reports.join("output.txt").display()
        ),
    );
}
