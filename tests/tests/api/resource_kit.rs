//! Helpers shared by the resource tests (models, configurations, deployments, inferences,
//! datasources): exact response assertions, row counts and direct row edits through diesel.

use diesel::prelude::*;
use kafkaml_persistence::schema;
use kafkaml_persistence::{with_conn, DbConnection};
use kafkaml_tests::TestApp;
use serde_json::Value;

/// The `Content-Type` of a response, or `""`.
pub fn content_type(res: &reqwest::Response) -> String {
    res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// Asserts a plain-text answer with exactly `status` and `body`.
pub async fn expect_text(res: reqwest::Response, status: u16, body: &str) {
    let ct = content_type(&res);
    let url = res.url().clone();
    let got_status = res.status().as_u16();
    let got = res.text().await.unwrap();
    assert_eq!((got_status, got.as_str()), (status, body), "{url}");
    assert!(ct.starts_with("text/plain"), "{url}: content type {ct}");
}

/// Asserts an answer with exactly `status` and an empty body.
pub async fn expect_empty(res: reqwest::Response, status: u16) {
    let url = res.url().clone();
    let got_status = res.status().as_u16();
    let got = res.text().await.unwrap();
    assert_eq!((got_status, got.as_str()), (status, ""), "{url}");
}

/// Asserts a JSON answer (`application/json`) with exactly `status`; returns the body.
pub async fn expect_json(res: reqwest::Response, status: u16) -> Value {
    let ct = content_type(&res);
    let url = res.url().clone();
    let got_status = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert_eq!(got_status, status, "{url}: {text}");
    assert_eq!(ct, "application/json", "{url}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: not JSON ({e}): {text}"))
}

/// Asserts DRF's `404 {"detail":"Not found."}`.
pub async fn expect_not_found_detail(res: reqwest::Response) {
    let body = expect_json(res, 404).await;
    assert_eq!(body.to_string(), r#"{"detail":"Not found."}"#);
}

/// Asserts that `v` is a date-time string in the DRF format (`…Z`, microseconds only when
/// non-zero) and returns it.
pub fn drf_time(v: &Value) -> String {
    let s = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    let parsed = kafkaml_domain::datetime::parse(s).unwrap_or_else(|| panic!("not a date-time: {s}"));
    assert!(s.ends_with('Z'), "{s}");
    assert_eq!(kafkaml_domain::datetime::format(&parsed), s, "not in the DRF format: {s}");
    s.to_owned()
}

/// The `id`s of a JSON array of objects.
pub fn ids(v: &Value) -> Vec<i64> {
    v.as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).collect()
}

/// A new database connection of the app.
pub fn conn(app: &TestApp) -> DbConnection {
    app.db.connect()
}

/// Counts the rows of a table: `count!(app, automl_mlmodel)`.
macro_rules! count {
    ($app:expr, $table:ident) => {{
        let mut conn = $crate::resource_kit::conn(&$app);
        kafkaml_persistence::with_conn!(&mut conn, |c| {
            use diesel::prelude::*;
            kafkaml_persistence::schema::$table::table.count().get_result::<i64>(c)
        })
        .unwrap()
    }};
}
pub(crate) use count;

/// Sets a training result's status (and `status_changed`) directly in the database.
pub fn set_result_status(app: &TestApp, id: i64, status: &str, changed: &str) {
    use schema::automl_trainingresult as r;
    let when = kafkaml_domain::datetime::parse(changed).unwrap();
    let mut conn = conn(app);
    let n = with_conn!(&mut conn, |c| diesel::update(r::table.find(id as i32))
        .set((r::status.eq(status), r::status_changed.eq(when)))
        .execute(c))
    .unwrap();
    assert_eq!(n, 1);
}

/// Sets a training result's metrics and training time directly in the database.
pub fn set_result_metrics(app: &TestApp, id: i64, train: &str, training_time: Option<f64>) {
    use schema::automl_trainingresult as r;
    let mut conn = conn(app);
    let n = with_conn!(&mut conn, |c| diesel::update(r::table.find(id as i32))
        .set((r::train_metrics.eq(Some(train)), r::training_time.eq(training_time)))
        .execute(c))
    .unwrap();
    assert_eq!(n, 1);
}

/// A model body as the web UI's model form sends it.
pub fn model_body(name: &str, framework: &str, code: &str) -> Value {
    serde_json::json!({"name": name, "description": "", "framework": framework, "imports": "", "code": code})
}

/// GETs `path` under all four spellings (`/x`, `/x/`, `/api/x`, `/api/x/`) and asserts they
/// answer the same status and body; returns that body.
pub async fn same_under_all_spellings(app: &TestApp, path: &str) -> (u16, String) {
    let path = path.trim_end_matches('/');
    let mut answers = Vec::new();
    for p in [path.to_owned(), format!("{path}/"), format!("/api{path}"), format!("/api{path}/")] {
        let res = app.get(&p).await;
        answers.push((p, res.status().as_u16(), res.text().await.unwrap()));
    }
    for (p, status, body) in &answers[1..] {
        assert_eq!((*status, body), (answers[0].1, &answers[0].2), "GET {p} differs from GET {path}");
    }
    (answers[0].1, answers[0].2.clone())
}
