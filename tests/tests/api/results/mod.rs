//! `/results/…` and `/results_metrics/<id>` through HTTP (docs/contract.md §4.4, decisions.md items 14, 15,
//! 16, 20, 22), on SQLite and PostgreSQL. Deployments and their `created` results are seeded in
//! the database; every answer is checked for status, body, headers, rows and files on disk.

mod chart;
mod concurrency;
mod delete;
mod downloads;
mod get;
mod list;
mod metrics;
mod upload;

use std::path::PathBuf;

use kafkaml_domain::datetime;
use kafkaml_domain::ResultStatus;
use kafkaml_persistence::repo::deployments::NewDeployment;
use kafkaml_persistence::repo::results::{self as repo, ResultRow};
use kafkaml_persistence::repo::{configurations, inferences, models};
use kafkaml_tests::{db_test, TestApp};
use reqwest::multipart::{Form, Part};
use reqwest::Response;
use serde_json::{json, Value};

/// A trained "HDF5" file with bytes that are not UTF-8 and contain NUL.
pub(crate) const MODEL_BYTES: &[u8] = b"\x89HDF\r\n\x1a\n\0\x01trained-weights\xff\xfe\0end";
/// A second version, for re-uploads.
pub(crate) const MODEL_BYTES_2: &[u8] = b"\x89HDF\r\n\x1a\n\0\x02retrained\x00\x00\xc3\x28";
/// A "PNG" confusion-matrix image.
pub(crate) const PNG_BYTES: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x02confusion";
/// The message of a refused delete.
pub(crate) const IN_USE: &str = "Training result in use, please stop it before delete.";
/// The 404 message of an unknown result.
pub(crate) const NO_RESULT: &str = "Training result does not exist";
pub(crate) const DATA_REQUIRED: &str = "The field 'data' (metrics as JSON) is required.";
pub(crate) const MODEL_REQUIRED: &str = "The trained model file (field 'trained_model') is required.";
pub(crate) const IMAGE_REQUIRED: &str = "The confusion matrix image (file field 'confussion_matrix') is required: the \
                                         deployment generates confusion matrices and test metrics were sent.";

/// What [`seed`] stored.
#[derive(Debug, Clone)]
pub(crate) struct Seeded {
    pub models: Vec<i32>,
    pub deployment: i32,
    /// One `created` result per model, in model order.
    pub results: Vec<i32>,
}

impl Seeded {
    pub(crate) fn result(&self) -> i32 {
        self.results[0]
    }
}

/// A model row written directly (no executor check), so tests may store any code.
pub(crate) fn insert_model(app: &TestApp, name: &str, framework: &str, code: &str, distributed: bool) -> i32 {
    insert_model_with_father(app, name, framework, code, distributed, None)
}

pub(crate) fn insert_model_with_father(
    app: &TestApp,
    name: &str,
    framework: &str,
    code: &str,
    distributed: bool,
    father: Option<i32>,
) -> i32 {
    let mut conn = app.db.connect();
    let fields = models::ModelFields {
        name: name.to_owned(),
        description: format!("{name} model"),
        imports: "import tensorflow as tf".to_owned(),
        code: code.to_owned(),
        distributed,
        framework: kafkaml_domain::Framework::parse(framework).expect("tf or pth"),
    };
    let father = match father {
        Some(f) => models::FatherChange::Set(i64::from(f)),
        None => models::FatherChange::Clear,
    };
    models::create(&mut conn, &fields, father).unwrap()
}

/// Stores the given models (`(name, framework, code, distributed)`), a configuration of them and
/// a deployment with one `created` result per model.
pub(crate) fn seed_models(
    app: &TestApp,
    specs: &[(&str, &str, &str, bool)],
    adjust: impl FnOnce(&mut NewDeployment),
) -> Seeded {
    let models: Vec<i32> =
        specs.iter().map(|(name, fw, code, distributed)| insert_model(app, name, fw, code, *distributed)).collect();
    seed_configuration(app, models, adjust)
}

/// A configuration of existing models and a deployment of it.
pub(crate) fn seed_configuration(app: &TestApp, models: Vec<i32>, adjust: impl FnOnce(&mut NewDeployment)) -> Seeded {
    let configuration = {
        let mut conn = app.db.connect();
        let name = format!("cfg{}", models.iter().map(i32::to_string).collect::<Vec<_>>().join("_"));
        configurations::create(&mut conn, &name, "", &models).unwrap()
    };
    let (deployment, results) = app.seed_deployment(i64::from(configuration), adjust);
    Seeded { models, deployment: deployment as i32, results: results.into_iter().map(|r| r as i32).collect() }
}

/// One TensorFlow model, one deployment, one `created` result.
pub(crate) fn seed_tf(app: &TestApp, adjust: impl FnOnce(&mut NewDeployment)) -> Seeded {
    seed_models(app, &[("tf1", "tf", "model = tf.keras.Sequential()", false)], adjust)
}

/// One PyTorch model, one deployment, one `created` result.
pub(crate) fn seed_pth(app: &TestApp, adjust: impl FnOnce(&mut NewDeployment)) -> Seeded {
    seed_models(app, &[("pth1", "pth", "model = NeuralNetwork()", false)], adjust)
}

/// The stored row of a result (`None` when deleted).
pub(crate) fn row(app: &TestApp, id: i32) -> Option<ResultRow> {
    let mut conn = app.db.connect();
    repo::find_context(&mut conn, id).unwrap().map(|c| c.result)
}

/// Every result id in the table, ascending.
pub(crate) fn all_result_ids(app: &TestApp) -> Vec<i32> {
    let mut conn = app.db.connect();
    let mut ids: Vec<i32> = repo::list(&mut conn, None, None).unwrap().into_iter().map(|r| r.id).collect();
    ids.sort_unstable();
    ids
}

/// Sets a result's status directly.
pub(crate) fn set_status(app: &TestApp, id: i32, status: ResultStatus) {
    let mut conn = app.db.connect();
    repo::set_status(&mut conn, id, status, None).unwrap();
}

/// The names of the files in `<data dir>/trained`, sorted.
pub(crate) fn trained_files(app: &TestApp) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(app.data_dir.join("trained"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

pub(crate) fn trained_path(app: &TestApp, name: &str) -> PathBuf {
    app.data_dir.join("trained").join(name)
}

/// Status, `Content-Type` and text body of a response.
pub(crate) async fn answer(res: Response) -> (u16, String, String) {
    let status = res.status().as_u16();
    let ctype = header(&res, "content-type");
    (status, ctype, res.text().await.unwrap())
}

/// A header's value (empty when absent).
pub(crate) fn header(res: &Response, name: &str) -> String {
    res.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

/// The multipart body a training pod sends: file `trained_model`, optional file
/// `confussion_matrix`, text field `data`.
pub(crate) fn upload_form(model: Option<&[u8]>, png: Option<&[u8]>, data: Option<&str>) -> Form {
    let mut form = Form::new();
    if let Some(model) = model {
        form = form.part("trained_model", Part::bytes(model.to_vec()).file_name("trained_model.h5"));
    }
    if let Some(png) = png {
        form = form.part(
            "confussion_matrix",
            Part::bytes(png.to_vec()).file_name("confusion_matrix.png").mime_str("image/png").unwrap(),
        );
    }
    if let Some(data) = data {
        form = form.text("data", data.to_owned());
    }
    form
}

/// `POST path` with a multipart form.
pub(crate) async fn post_form(app: &TestApp, path: &str, form: Form) -> Response {
    app.client.post(app.url(path)).multipart(form).send().await.unwrap()
}

/// `POST /results/<id>` with the model, an optional image and `data`.
pub(crate) async fn upload(app: &TestApp, id: i32, png: Option<&[u8]>, data: &Value) -> Response {
    post_form(app, &format!("/results/{id}"), upload_form(Some(MODEL_BYTES), png, Some(&data.to_string()))).await
}

/// `application/x-www-form-urlencoded` encoding as Python's `urllib.parse.quote_plus` (what
/// `requests.post(url, data={...})` sends).
pub(crate) fn quote_plus(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Python's `json.dumps` text of a value (`", "` and `": "` separators), as the pods send it.
pub(crate) fn py_dumps(v: &Value) -> String {
    match v {
        Value::Array(items) => format!("[{}]", items.iter().map(py_dumps).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), py_dumps(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// `POST path` form-encoded `data=<python json text>`, byte for byte as the training pods do.
pub(crate) async fn post_metrics_form(app: &TestApp, path: &str, data: &Value) -> Response {
    let body = format!("data={}", quote_plus(&py_dumps(data)));
    app.post_raw(path, "application/x-www-form-urlencoded", body).await
}

/// Checks the DRF date-time format `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`.
pub(crate) fn assert_drf_datetime(text: &str) {
    let b = text.as_bytes();
    let ok = (b.len() == 20 || b.len() == 27)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[b.len() - 1] == b'Z'
        && (b.len() == 20 || b[19] == b'.');
    assert!(ok, "not a DRF date-time: {text}");
}

/// Makes a seeded deployment an indefinite incremental training (whose uploads may say
/// `"indefinite": true`).
pub(crate) fn indefinite(d: &mut NewDeployment) {
    d.incremental = true;
    d.indefinite = true;
    d.stream_timeout = Some(-1);
}

/// Moves a result's `status_changed` years back: a training that ended long ago, past the grace
/// in which its pod may retry the upload that finished it.
pub(crate) fn age(app: &TestApp, id: i32) {
    use diesel::connection::SimpleConnection;
    let sql = format!("UPDATE automl_trainingresult SET status_changed = '2020-01-01 00:00:00' WHERE id = {id}");
    app.db.connect().batch_execute(&sql).unwrap();
}

/// The refusal of an upload or metrics to a result that no longer runs.
pub(crate) fn not_running(status: &str) -> String {
    format!(
        "The training result is not running (its status is {status}): only created or deployed results accept \
         uploads and metrics."
    )
}

/// `created` → `deployed` through the training pod's GET.
pub(crate) async fn deploy(app: &TestApp, id: i32) {
    let res = app.get(&format!("/results/{id}")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(row(app, id).unwrap().status.as_str(), "deployed");
}
