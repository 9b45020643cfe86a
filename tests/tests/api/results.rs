//! `/results/…` and `/results_metrics/<id>` through HTTP (contract §4.4, design §3 fixes 14, 15,
//! 16, 20, 22), on SQLite and PostgreSQL. Deployments and their `created` results are seeded in
//! the database; every answer is checked for status, body, headers, rows and files on disk.

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
        framework: framework.to_owned(),
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

/// `created` → `deployed` through the training pod's GET.
pub(crate) async fn deploy(app: &TestApp, id: i32) {
    let res = app.get(&format!("/results/{id}")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(row(app, id).unwrap().status, "deployed");
}

fn deployed_time(app: &TestApp, id: i32) -> String {
    let mut conn = app.db.connect();
    datetime::format(&repo::find_context(&mut conn, id).unwrap().unwrap().deployment.fields.time)
}

// ---------------------------------------------------------------------------------------------
// GET /results/

db_test!(list_is_empty_at_first, |app| async move {
    let res = app.get("/results/").await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-type"), "application/json");
    assert_eq!(res.text().await.unwrap(), "[]");
});

db_test!(list_orders_by_status_changed_and_has_the_contract_shape, |app| async move {
    let s = seed_models(
        &app,
        &[
            ("tf1", "tf", "model = a()", false),
            ("pth1", "pth", "model = b()", false),
            ("tf2", "tf", "model = c()", false),
        ],
        |_| {},
    );
    let [r1, r2, r3] = [s.results[0], s.results[1], s.results[2]];
    // Same status_changed for all three: newest id first.
    let ids: Vec<i64> =
        app.get_json("/results/").await.as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [r3, r2, r1].map(i64::from));

    deploy(&app, r1).await;
    let ids: Vec<i64> =
        app.get_json("/results/").await.as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [r1, r3, r2].map(i64::from));

    let data = json!({
        "train_metrics": {"loss": [0.5, 0.4], "accuracy": [0.7, 0.8]},
        "val_metrics": {"loss": [0.6, 0.5], "accuracy": [0.6, 0.7]},
        "test_metrics": {"loss": [0.7]},
        "confusion_matrix": [[1, 2], [3, 4]],
        "training_time": 12.3457
    });
    let res = upload(&app, r2, None, &data).await;
    assert_eq!(answer(res).await, (200, String::new(), String::new()));

    let res = app.get("/results/").await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-type"), "application/json");
    let text = res.text().await.unwrap();
    let list: Value = serde_json::from_str(&text).unwrap();
    let ids: Vec<i64> = list.as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [r2, r1, r3].map(i64::from));

    let row2 = row(&app, r2).unwrap();
    let row1 = row(&app, r1).unwrap();
    let row3 = row(&app, r3).unwrap();
    let dep = json!({"id": s.deployment, "time": deployed_time(&app, r1)});
    let expected = json!([
        {"id": r2, "status": "finished", "status_changed": datetime::format(&row2.status_changed),
         "deployment": dep, "model": {"id": s.models[1], "name": "pth1"},
         "train_metrics": {"loss": [0.5, 0.4], "accuracy": [0.7, 0.8]},
         "val_metrics": {"loss": [0.6, 0.5], "accuracy": [0.6, 0.7]},
         "test_metrics": {"loss": [0.7]}, "confusion_matrix": [[1, 2], [3, 4]], "training_time": 12.3457},
        {"id": r1, "status": "deployed", "status_changed": datetime::format(&row1.status_changed),
         "deployment": dep, "model": {"id": s.models[0], "name": "tf1"},
         "train_metrics": null, "val_metrics": null, "test_metrics": null, "confusion_matrix": null,
         "training_time": null},
        {"id": r3, "status": "created", "status_changed": datetime::format(&row3.status_changed),
         "deployment": dep, "model": {"id": s.models[2], "name": "tf2"},
         "train_metrics": null, "val_metrics": null, "test_metrics": null, "confusion_matrix": null,
         "training_time": null}
    ]);
    // Key order and number rendering matter: compare the text.
    assert_eq!(text, expected.to_string());
    assert!(text.contains("\"training_time\":12.3457"), "decimal rendered as a JSON number: {text}");
    for r in list.as_array().unwrap() {
        assert_drf_datetime(r["status_changed"].as_str().unwrap());
        assert_drf_datetime(r["deployment"]["time"].as_str().unwrap());
    }
    // The same list under /api, with and without the slash.
    for path in ["/results", "/api/results/", "/api/results"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.text().await.unwrap(), text, "{path}");
    }
});

db_test!(list_renders_whole_and_string_training_times_as_numbers, |app| async move {
    let s = seed_models(&app, &[("a", "tf", "model = a()", false), ("b", "tf", "model = b()", false)], |_| {});
    assert_eq!(upload(&app, s.results[0], None, &json!({"training_time": "3.5"})).await.status(), 200);
    assert_eq!(upload(&app, s.results[1], None, &json!({"training_time": 7})).await.status(), 200);
    let list = app.get_json("/results/").await;
    let times: Vec<(i64, Value)> =
        list.as_array().unwrap().iter().map(|r| (r["id"].as_i64().unwrap(), r["training_time"].clone())).collect();
    assert!(times.contains(&(i64::from(s.results[0]), json!(3.5))), "{times:?}");
    let seven = times.iter().find(|(id, _)| *id == i64::from(s.results[1])).unwrap();
    assert!(seven.1.is_number() && seven.1.as_f64() == Some(7.0), "{times:?}");
});

// ---------------------------------------------------------------------------------------------
// GET /results/<id>

db_test!(get_tf_result_returns_the_executor_model_and_deploys, |app| async move {
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    let before = row(&app, id).unwrap();
    let res = app.get(&format!("/results/{id}")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-type"), "application/model");
    assert_eq!(header(&res, "content-disposition"), "attachment; filename=\"model.h5\"");
    let body = res.bytes().await.unwrap();
    assert_eq!(&body[..], b"HDF5-STUB:model = tf.keras.Sequential()");
    let requests = app.executor.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].0, "/exec_tf/");
    assert_eq!(
        requests[0].1,
        json!({"imports_code": "import tensorflow as tf", "model_code": "model = tf.keras.Sequential()",
            "distributed": false, "request_type": "load_model"})
    );
    let after = row(&app, id).unwrap();
    assert_eq!(after.status, "deployed");
    assert!(after.status_changed > before.status_changed);

    // A second download (a retrying pod) keeps it deployed without touching status_changed.
    let res = app.get(&format!("/api/results/{id}/")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(&res.bytes().await.unwrap()[..], b"HDF5-STUB:model = tf.keras.Sequential()");
    let again = row(&app, id).unwrap();
    assert_eq!(again.status, "deployed");
    assert_eq!(again.status_changed, after.status_changed);
});

db_test!(get_pth_result_returns_the_code_as_text, |app| async move {
    let s = seed_pth(&app, |_| {});
    let id = s.result();
    let res = app.get(&format!("/results/{id}")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-type"), "text/plain; charset=utf-8");
    assert_eq!(res.text().await.unwrap(), "model = NeuralNetwork()");
    assert_eq!(app.executor.request_count(), 0, "PyTorch code is served without the executor");
    assert_eq!(row(&app, id).unwrap().status, "deployed");
});

db_test!(get_finished_result_stays_finished, |app| async move {
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    assert_eq!(upload(&app, id, None, &json!({})).await.status(), 200);
    let finished = row(&app, id).unwrap();
    assert_eq!(finished.status, "finished");
    let res = app.get(&format!("/results/{id}")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(&res.bytes().await.unwrap()[..], b"HDF5-STUB:model = tf.keras.Sequential()");
    assert_eq!(row(&app, id).unwrap(), finished);
});

db_test!(stopped_result_fetched_again_becomes_deployed, |app| async move {
    let s = seed_pth(&app, |_| {});
    let id = s.result();
    set_status(&app, id, ResultStatus::Stopped);
    assert_eq!(app.get(&format!("/results/{id}")).await.status(), 200);
    assert_eq!(row(&app, id).unwrap().status, "deployed");
});

db_test!(head_result_changes_nothing, |app| async move {
    let tf = seed_tf(&app, |_| {});
    let pth = seed_pth(&app, |_| {});
    for id in [tf.result(), pth.result()] {
        let before = row(&app, id).unwrap();
        let res = app.client.head(app.url(&format!("/results/{id}"))).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.bytes().await.unwrap().is_empty());
        assert_eq!(row(&app, id).unwrap(), before, "HEAD must not deploy result {id}");
        assert_eq!(before.status, "created");
    }
    let res = app.client.head(app.url(&format!("/results/{}", tf.result()))).send().await.unwrap();
    assert_eq!(header(&res, "content-type"), "application/model");
    assert_eq!(app.executor.request_count(), 0, "HEAD does not call the executor");
    let res = app.client.head(app.url("/results/424242")).send().await.unwrap();
    assert_eq!(res.status(), 404);
});

db_test!(executor_failure_is_a_502_and_changes_nothing, |app| async move {
    let s = seed_models(&app, &[("bad", "tf", "model = fail_code()", false)], |_| {});
    let id = s.result();
    let before = row(&app, id).unwrap();
    let (status, ctype, body) = answer(app.get(&format!("/results/{id}")).await).await;
    assert_eq!(status, 502);
    assert_eq!(ctype, "text/plain; charset=utf-8");
    assert!(body.contains("400"), "the message says what the executor answered: {body}");
    assert!(body.contains("fail_code"), "{body}");
    assert_eq!(row(&app, id).unwrap(), before);
});

db_test!(
    executor_down_is_a_503_and_changes_nothing,
    settings = |s| {
        s.tfexecutor_url = "http://127.0.0.1:1/".to_owned();
        s.pthexecutor_url = "http://127.0.0.1:1/".to_owned();
    },
    |app| async move {
        let s = seed_tf(&app, |_| {});
        let id = s.result();
        let before = row(&app, id).unwrap();
        let (status, ctype, body) = answer(app.get(&format!("/results/{id}")).await).await;
        assert_eq!(status, 503);
        assert_eq!(ctype, "text/plain; charset=utf-8");
        assert!(body.contains("unreachable"), "{body}");
        assert_eq!(row(&app, id).unwrap(), before);
        // PyTorch code needs no executor.
        let p = seed_pth(&app, |_| {});
        assert_eq!(app.get(&format!("/results/{}", p.result())).await.status(), 200);
    }
);

db_test!(unknown_result_is_a_404_text, |app| async move {
    for path in ["/results/999", "/results/999/", "/api/results/999", "/api/results/999/"] {
        let (status, ctype, body) = answer(app.get(path).await).await;
        assert_eq!((status, ctype.as_str(), body.as_str()), (404, "text/plain; charset=utf-8", NO_RESULT), "{path}");
    }
});

// ---------------------------------------------------------------------------------------------
// POST /results/<id>

db_test!(upload_tf_stores_metrics_file_and_finishes, |app| async move {
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    deploy(&app, id).await;
    let data = json!({
        "train_metrics": {"loss": [0.5, 0.4], "sparse_categorical_accuracy": [0.8, 0.9]},
        "val_metrics": {"loss": [0.6, 0.5], "sparse_categorical_accuracy": [0.7, 0.8]},
        "test_metrics": {},
        "confusion_matrix": null,
        "training_time": 3.5,
        "indefinite": false,
        "unknown_key": "ignored"
    });
    let before = row(&app, id).unwrap();
    let res = upload(&app, id, None, &data).await;
    assert_eq!(answer(res).await, (200, String::new(), String::new()));
    let r = row(&app, id).unwrap();
    assert_eq!(r.status, "finished");
    assert!(r.status_changed > before.status_changed);
    assert_eq!(
        serde_json::from_str::<Value>(r.train_metrics.as_deref().unwrap()).unwrap().to_string(),
        data["train_metrics"].to_string()
    );
    assert_eq!(serde_json::from_str::<Value>(r.val_metrics.as_deref().unwrap()).unwrap(), data["val_metrics"]);
    assert_eq!(serde_json::from_str::<Value>(r.test_metrics.as_deref().unwrap()).unwrap(), json!({}));
    assert_eq!(r.confusion_matrix, None);
    assert_eq!(r.training_time, Some(3.5));
    assert_eq!(r.trained_model, format!("trained/{id}.h5"));
    assert_eq!(r.confusion_mat_img, None);
    assert_eq!(std::fs::read(trained_path(&app, &format!("{id}.h5"))).unwrap(), MODEL_BYTES);
    assert_eq!(trained_files(&app), [format!("{id}.h5")]);
    assert_eq!(all_result_ids(&app), [id], "no new result without indefinite");
});

db_test!(upload_pth_stores_a_pth_file_and_accepts_a_string_time, |app| async move {
    let s = seed_pth(&app, |_| {});
    let id = s.result();
    let data = json!({"train_metrics": {"loss": [1.0]}, "val_metrics": {"loss": [2.0]},
        "test_metrics": {"loss": [3.0]}, "training_time": "3.5", "confusion_matrix": [[1, 0], [0, 1]]});
    let res = upload(&app, id, None, &data).await;
    assert_eq!(answer(res).await, (200, String::new(), String::new()));
    let r = row(&app, id).unwrap();
    assert_eq!(r.status, "finished");
    assert_eq!(r.training_time, Some(3.5));
    assert_eq!(r.trained_model, format!("trained/{id}.pth"));
    assert_eq!(serde_json::from_str::<Value>(r.confusion_matrix.as_deref().unwrap()).unwrap(), json!([[1, 0], [0, 1]]));
    assert_eq!(std::fs::read(trained_path(&app, &format!("{id}.pth"))).unwrap(), MODEL_BYTES);
    assert_eq!(trained_files(&app), [format!("{id}.pth")]);
    let listed = app.get_json("/results/").await;
    assert_eq!(listed[0]["training_time"], json!(3.5));
});

db_test!(upload_with_confusion_matrix_image_stores_the_png, |app| async move {
    let s = seed_tf(&app, |d| d.conf_mat_settings = Some(true));
    let id = s.result();
    let data = json!({"test_metrics": {"loss": [0.3]}, "confusion_matrix": [[5, 1], [0, 4]], "training_time": 1});
    let res = upload(&app, id, Some(PNG_BYTES), &data).await;
    assert_eq!(answer(res).await, (200, String::new(), String::new()));
    let r = row(&app, id).unwrap();
    assert_eq!(r.confusion_mat_img.as_deref(), Some(format!("trained/{id}.png").as_str()));
    assert_eq!(std::fs::read(trained_path(&app, &format!("{id}.png"))).unwrap(), PNG_BYTES);
    assert_eq!(std::fs::read(trained_path(&app, &format!("{id}.h5"))).unwrap(), MODEL_BYTES);
    assert_eq!(trained_files(&app), [format!("{id}.h5"), format!("{id}.png")]);
});

db_test!(training_time_with_five_decimals_is_refused_and_nothing_changes, |app| async move {
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    deploy(&app, id).await;
    let before = row(&app, id).unwrap();
    for bad in [json!(1.23456), json!("1.23456"), json!("abc"), json!(true), json!([1]), json!(1e20), json!(-1e11)] {
        let data = json!({"train_metrics": {"loss": [0.1]}, "training_time": bad});
        let (status, ctype, body) = answer(upload(&app, id, None, &data).await).await;
        assert_eq!(status, 400, "training_time {bad}: {body}");
        assert_eq!(ctype, "text/plain; charset=utf-8");
        assert!(body.starts_with("Information not valid: training_time: "), "{body}");
        assert_eq!(row(&app, id).unwrap(), before, "training_time {bad} changed the row");
        assert!(trained_files(&app).is_empty(), "training_time {bad} left files: {:?}", trained_files(&app));
    }
    let data = json!({"training_time": 1.23456});
    let (_, _, body) = answer(upload(&app, id, None, &data).await).await;
    assert_eq!(body, "Information not valid: training_time: Ensure that there are no more than 4 decimal places.");
    // Four decimals and a negative time with few digits are fine.
    assert_eq!(upload(&app, id, None, &json!({"training_time": 1.2345})).await.status(), 200);
    assert_eq!(row(&app, id).unwrap().training_time, Some(1.2345));
});

db_test!(missing_confusion_matrix_image_is_refused_and_nothing_is_stored, |app| async move {
    let s = seed_tf(&app, |d| d.conf_mat_settings = Some(true));
    let id = s.result();
    deploy(&app, id).await;
    let before = row(&app, id).unwrap();
    let data = json!({"train_metrics": {"loss": [0.5]}, "val_metrics": {"loss": [0.6]},
        "test_metrics": {"loss": [0.7]}, "training_time": 2.5, "confusion_matrix": [[1]]});
    let (status, ctype, body) = answer(upload(&app, id, None, &data).await).await;
    assert_eq!((status, ctype.as_str(), body.as_str()), (400, "text/plain; charset=utf-8", IMAGE_REQUIRED));
    assert_eq!(row(&app, id).unwrap(), before, "no metrics saved (design §3 fix 10)");
    assert!(trained_files(&app).is_empty(), "no files and no temporary files: {:?}", trained_files(&app));
    // The stored test metrics count when the upload does not send any.
    assert_eq!(upload(&app, id, Some(PNG_BYTES), &data).await.status(), 200);
    let (status, _, body) = answer(upload(&app, id, None, &json!({"training_time": 1})).await).await;
    assert_eq!((status, body.as_str()), (400, IMAGE_REQUIRED));
});

db_test!(empty_test_metrics_need_no_confusion_matrix_image, |app| async move {
    let s = seed_models(
        &app,
        &[
            ("a", "tf", "model = a()", false),
            ("b", "tf", "model = b()", false),
            ("c", "pth", "model = c()", false),
            ("d", "tf", "model = d()", false),
        ],
        |d| d.conf_mat_settings = Some(true),
    );
    for (id, test_metrics) in s.results.iter().zip([Some(json!([])), Some(json!({})), Some(Value::Null), None]) {
        let mut data = json!({"train_metrics": {"loss": [0.5]}, "training_time": 1.5});
        if let Some(t) = &test_metrics {
            data["test_metrics"] = t.clone();
        }
        let (status, _, body) = answer(upload(&app, *id, None, &data).await).await;
        assert_eq!(status, 200, "test_metrics {test_metrics:?}: {body}");
        let r = row(&app, *id).unwrap();
        assert_eq!(r.status, "finished");
        assert_eq!(r.confusion_mat_img, None);
    }
    let r = row(&app, s.results[0]).unwrap();
    assert_eq!(r.test_metrics.as_deref(), Some("[]"));
    assert_eq!(row(&app, s.results[2]).unwrap().test_metrics, None);
});

db_test!(conf_mat_settings_off_or_null_never_require_the_image, |app| async move {
    let off = seed_models(&app, &[("a", "tf", "model = a()", false)], |d| d.conf_mat_settings = Some(false));
    let null = seed_models(&app, &[("b", "tf", "model = b()", false)], |d| d.conf_mat_settings = None);
    for id in [off.result(), null.result()] {
        let res = upload(&app, id, None, &json!({"test_metrics": {"loss": [0.2]}})).await;
        assert_eq!(res.status(), 200);
    }
});

db_test!(distributed_models_never_require_the_image, |app| async move {
    let root = insert_model(&app, "root", "tf", "model = root()", true);
    let child = insert_model_with_father(&app, "child", "tf", "model = child()", true, Some(root));
    let s = seed_configuration(&app, vec![root, child], |d| d.conf_mat_settings = Some(true));
    for id in &s.results {
        let data = json!({"train_metrics": {"loss": [0.5]}, "test_metrics": {"loss": [0.4]}, "confusion_matrix": null});
        let (status, _, body) = answer(upload(&app, *id, None, &data).await).await;
        assert_eq!((status, body.as_str()), (200, ""));
        assert_eq!(row(&app, *id).unwrap().status, "finished");
    }
});

db_test!(indefinite_upload_creates_a_new_result, |app| async move {
    let s = seed_tf(&app, |d| {
        d.incremental = true;
        d.indefinite = true;
        d.stream_timeout = Some(-1);
    });
    let id = s.result();
    deploy(&app, id).await;
    let original = row(&app, id).unwrap();
    let data = json!({"train_metrics": {"loss": [0.5]}, "val_metrics": {"loss": [0.6]}, "test_metrics": {},
        "training_time": 4.25, "confusion_matrix": null, "indefinite": true});
    let res = upload(&app, id, None, &data).await;
    assert_eq!(answer(res).await, (200, String::new(), String::new()));
    assert_eq!(row(&app, id).unwrap(), original, "the original result is untouched");
    let ids = all_result_ids(&app);
    assert_eq!(ids.len(), 2);
    let new = ids[1];
    assert!(new > id);
    let r = row(&app, new).unwrap();
    assert_eq!(r.status, "finished");
    assert_eq!(r.deployment_id, original.deployment_id);
    assert_eq!(r.model_id, original.model_id);
    assert_eq!(r.training_time, Some(4.25));
    assert_eq!(r.train_metrics.as_deref(), Some(r#"{"loss":[0.5]}"#));
    assert_eq!(r.trained_model, format!("trained/{new}.h5"));
    assert_eq!(trained_files(&app), [format!("{new}.h5")]);
    assert_eq!(std::fs::read(trained_path(&app, &format!("{new}.h5"))).unwrap(), MODEL_BYTES);

    // A second periodic upload makes a third result.
    let res = post_form(
        &app,
        &format!("/results/{id}"),
        upload_form(Some(MODEL_BYTES_2), None, Some(&json!({"indefinite": true, "training_time": 1}).to_string())),
    )
    .await;
    assert_eq!(res.status(), 200);
    let ids = all_result_ids(&app);
    assert_eq!(ids.len(), 3);
    assert_eq!(std::fs::read(trained_path(&app, &format!("{}.h5", ids[2]))).unwrap(), MODEL_BYTES_2);
    assert_eq!(std::fs::read(trained_path(&app, &format!("{new}.h5"))).unwrap(), MODEL_BYTES);
    assert_eq!(row(&app, id).unwrap(), original);
    // The web UI lists them, newest change first.
    let list = app.get_json("/results/").await;
    let listed: Vec<i64> = list.as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(listed, [ids[2], ids[1], id].map(i64::from));
});

db_test!(indefinite_upload_missing_image_creates_nothing, |app| async move {
    let s = seed_tf(&app, |d| d.conf_mat_settings = Some(true));
    let id = s.result();
    let data = json!({"test_metrics": {"acc": [0.9]}, "indefinite": true});
    let (status, _, body) = answer(upload(&app, id, None, &data).await).await;
    assert_eq!((status, body.as_str()), (400, IMAGE_REQUIRED));
    assert_eq!(all_result_ids(&app), [id], "the new result is rolled back");
    assert!(trained_files(&app).is_empty());
});

db_test!(upload_input_errors_are_400_and_leave_nothing_behind, |app| async move {
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    let path = format!("/results/{id}");
    let before = row(&app, id).unwrap();
    let ok_data = json!({"training_time": 1}).to_string();

    // Missing trained_model.
    let (status, ctype, body) =
        answer(post_form(&app, &path, upload_form(None, Some(PNG_BYTES), Some(&ok_data))).await).await;
    assert_eq!((status, ctype.as_str(), body.as_str()), (400, "text/plain; charset=utf-8", MODEL_REQUIRED));
    // Missing data.
    let (status, _, body) = answer(post_form(&app, &path, upload_form(Some(MODEL_BYTES), None, None)).await).await;
    assert_eq!((status, body.as_str()), (400, DATA_REQUIRED));
    // data is not JSON.
    let (status, _, body) =
        answer(post_form(&app, &path, upload_form(Some(MODEL_BYTES), None, Some("{not json"))).await).await;
    assert_eq!(status, 400);
    assert!(body.starts_with("Information not valid: 'data' is not valid JSON ("), "{body}");
    // data is empty.
    let (status, _, body) = answer(post_form(&app, &path, upload_form(Some(MODEL_BYTES), None, Some(""))).await).await;
    assert_eq!(status, 400);
    assert!(body.starts_with("Information not valid: 'data' is not valid JSON ("), "{body}");
    // data is JSON but not an object.
    for not_object in ["[]", "[1, 2]", "\"text\"", "3", "null", "true"] {
        let (status, _, body) =
            answer(post_form(&app, &path, upload_form(Some(MODEL_BYTES), None, Some(not_object))).await).await;
        assert_eq!(
            (status, body.as_str()),
            (400, "Information not valid: 'data' must be a JSON object."),
            "{not_object}"
        );
    }
    // Not multipart at all.
    let not_multipart = "Send the result as multipart/form-data with the file 'trained_model' and the field 'data'.";
    let (status, _, body) = answer(app.post_json(&path, &json!({"data": ok_data})).await).await;
    assert_eq!((status, body.as_str()), (400, not_multipart));
    let (status, _, body) =
        answer(app.post_raw(&path, "application/x-www-form-urlencoded", format!("data={ok_data}")).await).await;
    assert_eq!((status, body.as_str()), (400, not_multipart));
    let (status, _, body) = answer(app.client.post(app.url(&path)).send().await.unwrap()).await;
    assert_eq!((status, body.as_str()), (400, not_multipart));
    // Multipart without a boundary, and a truncated multipart body.
    let (status, _, body) = answer(app.post_raw(&path, "multipart/form-data", "garbage").await).await;
    assert_eq!(status, 400, "{body}");
    let truncated = "--XyZ\r\nContent-Disposition: form-data; name=\"trained_model\"; filename=\"m.h5\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\npartial bytes without the closing boundary";
    let (status, _, body) = answer(app.post_raw(&path, "multipart/form-data; boundary=XyZ", truncated).await).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.starts_with("Malformed multipart body") || body.starts_with("The upload was interrupted"), "{body}");

    assert_eq!(row(&app, id).unwrap(), before, "nothing changed");
    assert!(trained_files(&app).is_empty(), "no file and no temporary file left: {:?}", trained_files(&app));

    // Unknown result.
    let (status, ctype, body) =
        answer(post_form(&app, "/results/999", upload_form(Some(MODEL_BYTES), None, Some(&ok_data))).await).await;
    assert_eq!((status, ctype.as_str(), body.as_str()), (404, "text/plain; charset=utf-8", NO_RESULT));
    assert!(trained_files(&app).is_empty());
});

db_test!(upload_with_unrelated_fields_and_duplicate_parts, |app| async move {
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    let form = Form::new()
        .text("csrfmiddlewaretoken", "x")
        .part("trained_model", Part::bytes(b"first".to_vec()).file_name("a.h5"))
        .part("other_file", Part::bytes(vec![0_u8; 4096]).file_name("x.bin"))
        .part("trained_model", Part::bytes(MODEL_BYTES.to_vec()).file_name("b.h5"))
        .text("data", json!({"training_time": 2}).to_string());
    let res = post_form(&app, &format!("/results/{id}"), form).await;
    assert_eq!(res.status(), 200);
    assert_eq!(std::fs::read(trained_path(&app, &format!("{id}.h5"))).unwrap(), MODEL_BYTES, "the last part wins");
    assert_eq!(trained_files(&app), [format!("{id}.h5")], "no temporary file left");
});

db_test!(reupload_overwrites_model_and_metrics, |app| async move {
    let s = seed_tf(&app, |d| d.conf_mat_settings = Some(true));
    let id = s.result();
    let first = json!({"train_metrics": {"loss": [0.9]}, "test_metrics": {"loss": [0.8]}, "training_time": 1});
    assert_eq!(upload(&app, id, Some(PNG_BYTES), &first).await.status(), 200);
    let finished_at = row(&app, id).unwrap().status_changed;
    let second = json!({"train_metrics": {"acc": [0.1, 0.2]}, "test_metrics": {"acc": [0.3]}, "training_time": 2});
    let res = post_form(
        &app,
        &format!("/api/results/{id}/"),
        upload_form(Some(MODEL_BYTES_2), Some(b"second png"), Some(&second.to_string())),
    )
    .await;
    assert_eq!(res.status(), 200);
    let r = row(&app, id).unwrap();
    assert_eq!(r.train_metrics.as_deref(), Some(r#"{"acc":[0.1,0.2]}"#));
    assert_eq!(r.training_time, Some(2.0));
    assert_eq!(r.status_changed, finished_at, "finished → finished is no status change");
    assert_eq!(std::fs::read(trained_path(&app, &format!("{id}.h5"))).unwrap(), MODEL_BYTES_2);
    assert_eq!(std::fs::read(trained_path(&app, &format!("{id}.png"))).unwrap(), b"second png");
    assert_eq!(trained_files(&app), [format!("{id}.h5"), format!("{id}.png")]);
    // A null value clears a column; an absent key keeps it.
    let third = json!({"train_metrics": null, "test_metrics": []});
    assert_eq!(upload(&app, id, None, &third).await.status(), 200);
    let r = row(&app, id).unwrap();
    assert_eq!(r.train_metrics, None);
    assert_eq!(r.training_time, Some(2.0));
    assert_eq!(r.confusion_mat_img.as_deref(), Some(format!("trained/{id}.png").as_str()), "the old image stays");
});

// ---------------------------------------------------------------------------------------------
// DELETE /results/<id>

db_test!(delete_refuses_running_results, |app| async move {
    let s = seed_models(&app, &[("a", "tf", "model = a()", false), ("b", "pth", "model = b()", false)], |_| {});
    let [created, deployed] = [s.results[0], s.results[1]];
    deploy(&app, deployed).await;
    for id in [created, deployed] {
        let before = row(&app, id).unwrap();
        let (status, ctype, body) = answer(app.delete(&format!("/results/{id}")).await).await;
        assert_eq!((status, ctype.as_str(), body.as_str()), (400, "text/plain; charset=utf-8", IN_USE));
        assert_eq!(row(&app, id).unwrap(), before);
    }
    let (status, ctype, body) = answer(app.delete("/results/999").await).await;
    assert_eq!((status, ctype.as_str(), body.as_str()), (404, "text/plain; charset=utf-8", "Result does not exist"));
});

db_test!(delete_finished_result_removes_row_and_every_file, |app| async move {
    let s = seed_models(
        &app,
        &[("a", "tf", "model = a()", false), ("b", "pth", "model = b()", false), ("c", "tf", "model = c()", false)],
        |d| d.conf_mat_settings = Some(true),
    );
    let [tf, pth, other] = [s.results[0], s.results[1], s.results[2]];
    let data = json!({"test_metrics": {"loss": [0.1]}});
    for id in [tf, pth, other] {
        assert_eq!(upload(&app, id, Some(PNG_BYTES), &data).await.status(), 200);
    }
    // A stray file of the other framework (e.g. left by an older version) goes too.
    std::fs::write(trained_path(&app, &format!("{tf}.pth")), b"stray").unwrap();
    let mut expected = vec![
        format!("{tf}.h5"),
        format!("{tf}.png"),
        format!("{tf}.pth"),
        format!("{pth}.png"),
        format!("{pth}.pth"),
        format!("{other}.h5"),
        format!("{other}.png"),
    ];
    expected.sort();
    assert_eq!(trained_files(&app), expected);

    for id in [tf, pth] {
        let (status, ctype, body) = answer(app.delete(&format!("/results/{id}")).await).await;
        assert_eq!((status, ctype.as_str(), body.as_str()), (200, "", ""));
        assert!(row(&app, id).is_none());
    }
    let mut left = vec![format!("{other}.h5"), format!("{other}.png")];
    left.sort();
    assert_eq!(trained_files(&app), left, "only the other result's files remain");
    let (status, _, _) = answer(app.delete(&format!("/results/{tf}")).await).await;
    assert_eq!(status, 404, "a second delete finds nothing");
    let ids: Vec<i64> =
        app.get_json("/results/").await.as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [i64::from(other)]);
});

db_test!(delete_stopped_result_without_files, |app| async move {
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    set_status(&app, id, ResultStatus::Stopped);
    let res = app.delete(&format!("/api/results/{id}/")).await;
    assert_eq!(answer(res).await, (200, String::new(), String::new()));
    assert!(row(&app, id).is_none());
});

db_test!(delete_keeps_inferences_with_a_null_result, |app| async move {
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    assert_eq!(upload(&app, id, None, &json!({})).await.status(), 200);
    let inference = app.seed_inference(Some(id), "deployed", |_| {});
    let res = app.delete(&format!("/results/{id}")).await;
    assert_eq!(res.status(), 200);
    let mut conn = app.db.connect();
    let inf = inferences::find_row(&mut conn, inference).unwrap().expect("the inference row stays");
    assert_eq!(inf.fields.model_result_id, None);
    assert_eq!(inf.fields.status, "deployed");
    let list = app.get_json("/inferences/").await;
    assert_eq!(list[0]["id"], json!(inference));
    assert_eq!(list[0]["model_result"], Value::Null);
});

// ---------------------------------------------------------------------------------------------
// GET /results/model/<id> and /results/confusion_matrix/<id>

db_test!(download_trained_model_tf_and_pth, |app| async move {
    let s = seed_models(&app, &[("a", "tf", "model = a()", false), ("b", "pth", "model = b()", false)], |_| {});
    for (id, fw, name) in [(s.results[0], "tf", "model.h5"), (s.results[1], "pth", "model.pth")] {
        assert_eq!(upload(&app, id, None, &json!({})).await.status(), 200);
        for path in [format!("/results/model/{id}"), format!("/api/results/model/{id}/")] {
            let res = app.get(&path).await;
            assert_eq!(res.status(), 200, "{path}");
            assert_eq!(header(&res, "content-type"), "application/force-download");
            assert_eq!(header(&res, "content-disposition"), format!("attachment; filename=\"{name}\""));
            assert_eq!(header(&res, "ml-framework"), fw);
            let expose = header(&res, "access-control-expose-headers");
            assert!(expose.split(',').any(|h| h.trim().eq_ignore_ascii_case("ML-Framework")), "{expose}");
            assert_eq!(header(&res, "content-length"), MODEL_BYTES.len().to_string());
            assert_eq!(&res.bytes().await.unwrap()[..], MODEL_BYTES);
        }
        // The browser (web UI) reads ML-Framework through CORS.
        let res = app.get_from_web_ui(&format!("/api/results/model/{id}")).await;
        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "access-control-allow-origin"), "http://localhost:4200");
        let expose: Vec<String> = res
            .headers()
            .get_all("access-control-expose-headers")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        assert!(
            expose.iter().flat_map(|v| v.split(',')).any(|h| h.trim().eq_ignore_ascii_case("ML-Framework")),
            "{expose:?}"
        );
        assert_eq!(header(&res, "ml-framework"), fw);
    }
    // Downloads change nothing.
    assert_eq!(row(&app, s.results[0]).unwrap().status, "finished");
});

db_test!(download_trained_model_head_and_missing, |app| async move {
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    let not_yet = "The trained model of this result has not been uploaded yet.";
    let (status, ctype, body) = answer(app.get(&format!("/results/model/{id}")).await).await;
    assert_eq!((status, ctype.as_str(), body.as_str()), (404, "text/plain; charset=utf-8", not_yet));
    let (status, _, body) = answer(app.get("/results/model/999").await).await;
    assert_eq!((status, body.as_str()), (404, NO_RESULT));
    assert_eq!(upload(&app, id, None, &json!({})).await.status(), 200);
    let res = app.client.head(app.url(&format!("/results/model/{id}"))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "ml-framework"), "tf");
    assert_eq!(header(&res, "content-length"), MODEL_BYTES.len().to_string());
    assert!(res.bytes().await.unwrap().is_empty());
    // The file vanished from disk (e.g. a wiped volume): a 404, not a 500.
    std::fs::remove_file(trained_path(&app, &format!("{id}.h5"))).unwrap();
    let (status, _, body) = answer(app.get(&format!("/results/model/{id}")).await).await;
    assert_eq!((status, body.as_str()), (404, not_yet));
});

db_test!(download_confusion_matrix_image, |app| async move {
    let s = seed_tf(&app, |d| d.conf_mat_settings = Some(true));
    let id = s.result();
    let none = "This result has no confusion matrix image.";
    let (status, ctype, body) = answer(app.get(&format!("/results/confusion_matrix/{id}")).await).await;
    assert_eq!((status, ctype.as_str(), body.as_str()), (404, "text/plain; charset=utf-8", none));
    let (status, _, body) = answer(app.get("/results/confusion_matrix/999").await).await;
    assert_eq!((status, body.as_str()), (404, NO_RESULT));
    assert_eq!(upload(&app, id, Some(PNG_BYTES), &json!({"test_metrics": {"a": [1]}})).await.status(), 200);
    for path in [format!("/results/confusion_matrix/{id}"), format!("/api/results/confusion_matrix/{id}/")] {
        let res = app.get(&path).await;
        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "content-type"), "application/image");
        assert_eq!(header(&res, "content-disposition"), "attachment; filename=\"confusion_mat.png\"");
        assert_eq!(&res.bytes().await.unwrap()[..], PNG_BYTES);
    }
});

// ---------------------------------------------------------------------------------------------
// GET /results/chart/<id>

db_test!(chart_matches_the_contract_example, |app| async move {
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    let metrics = json!({"train_metrics": {"loss": [0.5, 0.4]}, "val_metrics": {"loss": [0.6, 0.5]}});
    assert_eq!(post_metrics_form(&app, &format!("/results_metrics/{id}"), &metrics).await.status(), 200);
    let data = json!({"test_metrics": {"loss": [0.7]}, "confusion_matrix": [[1, 2], [3, 4]], "training_time": 12.3457});
    assert_eq!(upload(&app, id, None, &data).await.status(), 200);
    for path in [format!("/results/chart/{id}"), format!("/api/results/chart/{id}/")] {
        let res = app.get(&path).await;
        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "content-type"), "application/json");
        assert_eq!(
            res.text().await.unwrap(),
            r#"{"metrics":[{"name":"loss","series":[{"value":0.5,"name":1},{"value":0.4,"name":2}]},{"name":"loss_val","series":[{"value":0.6,"name":1},{"value":0.5,"name":2}]}],"conf_mat":[[1,2],[3,4]]}"#
        );
    }
});

db_test!(chart_copes_with_any_stored_metrics, |app| async move {
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    let path = format!("/results/chart/{id}");
    let metrics = format!("/results_metrics/{id}");
    // Nothing stored yet.
    assert_eq!(app.get(&path).await.text().await.unwrap(), r#"{"metrics":[],"conf_mat":null}"#);
    let cases = [
        (json!({"train_metrics": [0.5, 0.4], "val_metrics": [0.6]}), json!([])),
        (json!({"train_metrics": null, "val_metrics": {"loss": [1]}}), json!([])),
        (json!({"train_metrics": {}, "val_metrics": {}}), json!([])),
        (json!({"train_metrics": "loss", "val_metrics": 3}), json!([])),
        (
            json!({"train_metrics": {"loss": [0.5]}, "val_metrics": null}),
            json!([{"name": "loss", "series": [{"value": 0.5, "name": 1}]}]),
        ),
        (
            json!({"train_metrics": {"loss": [0.5]}, "val_metrics": []}),
            json!([{"name": "loss", "series": [{"value": 0.5, "name": 1}]}]),
        ),
        (
            json!({"train_metrics": {"loss": [0.5], "acc": [0.9, 0.95]}, "val_metrics": {"loss": [0.6]}}),
            json!([
                {"name": "loss", "series": [{"value": 0.5, "name": 1}]},
                {"name": "loss_val", "series": [{"value": 0.6, "name": 1}]},
                {"name": "acc", "series": [{"value": 0.9, "name": 1}, {"value": 0.95, "name": 2}]},
                {"name": "acc_val", "series": []}
            ]),
        ),
        (
            json!({"train_metrics": {"loss": 0.3, "acc": null}, "val_metrics": {"loss": {"x": 1}}}),
            json!([
                {"name": "loss", "series": [{"value": 0.3, "name": 1}]},
                {"name": "loss_val", "series": [{"value": {"x": 1}, "name": 1}]},
                {"name": "acc", "series": []},
                {"name": "acc_val", "series": []}
            ]),
        ),
    ];
    for (stored, series) in cases {
        let res = app.post_json(&metrics, &json!({"data": stored.to_string()})).await;
        assert_eq!(res.status(), 200, "{stored}");
        let res = app.get(&path).await;
        assert_eq!(res.status(), 200, "{stored}");
        let chart: Value = res.json().await.unwrap();
        assert_eq!(chart, json!({"metrics": series, "conf_mat": null}), "{stored}");
    }
    let (status, ctype, body) = answer(app.get("/results/chart/999").await).await;
    assert_eq!((status, ctype.as_str(), body.as_str()), (404, "text/plain; charset=utf-8", NO_RESULT));
});

db_test!(chart_passes_any_confusion_matrix_through, |app| async move {
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    for cm in [json!([[3, 0, 1], [0, 2, 0], [1, 1, 5]]), json!("not a matrix"), json!({"a": 1})] {
        assert_eq!(upload(&app, id, None, &json!({"confusion_matrix": cm})).await.status(), 200);
        let chart = app.get_json(&format!("/results/chart/{id}")).await;
        assert_eq!(chart, json!({"metrics": [], "conf_mat": cm}));
    }
});

// ---------------------------------------------------------------------------------------------
// POST /results_metrics/<id>

db_test!(metrics_form_encoded_as_the_tf_pod_sends_them, |app| async move {
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    deploy(&app, id).await;
    let before = row(&app, id).unwrap();
    let epoch = json!({"train_metrics": {"loss": [0.5], "sparse_categorical_accuracy": [0.75]},
        "val_metrics": {"loss": [0.6], "sparse_categorical_accuracy": [0.5]}});
    let res = post_metrics_form(&app, &format!("/results_metrics/{id}"), &epoch).await;
    assert_eq!(answer(res).await, (200, String::new(), String::new()));
    let r = row(&app, id).unwrap();
    assert_eq!(r.train_metrics.as_deref(), Some(r#"{"loss":[0.5],"sparse_categorical_accuracy":[0.75]}"#));
    assert_eq!(r.val_metrics.as_deref(), Some(r#"{"loss":[0.6],"sparse_categorical_accuracy":[0.5]}"#));
    assert_eq!((r.status.as_str(), r.status_changed), ("deployed", before.status_changed), "no status change");
    assert_eq!((r.test_metrics, r.training_time, r.trained_model), (None, None, String::new()));
});

db_test!(metrics_multipart_and_json_bodies, |app| async move {
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    let path = format!("/results_metrics/{id}");
    let form = Form::new().text("data", r#"{"train_metrics": {"loss": [1]}, "val_metrics": {"loss": [2]}}"#);
    let res = post_form(&app, &path, form).await;
    assert_eq!(answer(res).await, (200, String::new(), String::new()));
    assert_eq!(row(&app, id).unwrap().train_metrics.as_deref(), Some(r#"{"loss":[1]}"#));

    let res = app.post_json(&path, &json!({"data": r#"{"train_metrics": {"loss": [3]}}"#})).await;
    assert_eq!(answer(res).await, (200, String::new(), String::new()));
    let r = row(&app, id).unwrap();
    assert_eq!(r.train_metrics.as_deref(), Some(r#"{"loss":[3]}"#));
    assert_eq!(r.val_metrics.as_deref(), Some(r#"{"loss":[2]}"#), "an absent key keeps the stored value");

    // data given as an object rather than JSON text is understood too.
    let res =
        app.post_json(&format!("/api/results_metrics/{id}/"), &json!({"data": {"val_metrics": {"loss": [4]}}})).await;
    assert_eq!(res.status(), 200);
    let r = row(&app, id).unwrap();
    assert_eq!(r.val_metrics.as_deref(), Some(r#"{"loss":[4]}"#));
    assert_eq!(r.status, "created");
});

db_test!(metrics_replace_whole_values_and_ignore_other_keys, |app| async move {
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    let path = format!("/results_metrics/{id}");
    let first = json!({"train_metrics": {"loss": [0.5], "acc": [0.1]}, "val_metrics": {"loss": [0.6]}});
    assert_eq!(post_metrics_form(&app, &path, &first).await.status(), 200);
    let second = json!({"train_metrics": {"acc": [0.2, 0.3]}, "test_metrics": {"x": [1]},
        "training_time": 99, "status": "finished"});
    assert_eq!(post_metrics_form(&app, &path, &second).await.status(), 200);
    let r = row(&app, id).unwrap();
    assert_eq!(r.train_metrics.as_deref(), Some(r#"{"acc":[0.2,0.3]}"#), "the whole value is replaced");
    assert_eq!(r.val_metrics.as_deref(), Some(r#"{"loss":[0.6]}"#));
    assert_eq!((r.test_metrics, r.training_time, r.status.as_str()), (None, None, "created"));
    // null clears.
    assert_eq!(post_metrics_form(&app, &path, &json!({"val_metrics": null})).await.status(), 200);
    assert_eq!(row(&app, id).unwrap().val_metrics, None);
});

db_test!(metrics_errors, |app| async move {
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    let path = format!("/results_metrics/{id}");
    let before = row(&app, id).unwrap();
    let ok = json!({"train_metrics": {"loss": [1]}});

    // Unknown result.
    let (status, ctype, body) = answer(post_metrics_form(&app, "/results_metrics/999", &ok).await).await;
    assert_eq!((status, ctype.as_str(), body.as_str()), (404, "text/plain; charset=utf-8", NO_RESULT));

    // Missing data: form without it, empty bodies, JSON without it, multipart without it.
    for res in [
        app.post_raw(&path, "application/x-www-form-urlencoded", "other=1").await,
        app.post_raw(&path, "application/x-www-form-urlencoded", "").await,
        app.post_raw(&path, "application/json", "{}").await,
        app.client.post(app.url(&path)).send().await.unwrap(),
        post_form(&app, &path, Form::new().text("other", "1")).await,
    ] {
        let (status, ctype, body) = answer(res).await;
        assert_eq!((status, ctype.as_str(), body.as_str()), (400, "text/plain; charset=utf-8", DATA_REQUIRED));
    }
    // data that is not JSON.
    for res in [
        app.post_raw(&path, "application/x-www-form-urlencoded", "data=%7Bnot+json").await,
        app.post_raw(&path, "application/x-www-form-urlencoded", "data=").await,
        app.post_json(&path, &json!({"data": "{"})).await,
        post_form(&app, &path, Form::new().text("data", "nope")).await,
    ] {
        let (status, _, body) = answer(res).await;
        assert_eq!(status, 400);
        assert!(body.starts_with("Information not valid: 'data' is not valid JSON ("), "{body}");
    }
    // data that is JSON but not an object.
    for data in ["[]", "[1]", "1", "null", "\"x\""] {
        let res = app.post_raw(&path, "application/x-www-form-urlencoded", format!("data={}", quote_plus(data))).await;
        let (status, _, body) = answer(res).await;
        assert_eq!((status, body.as_str()), (400, "Information not valid: 'data' must be a JSON object."), "{data}");
    }
    // A body that is not JSON with a JSON content type.
    let (status, _, body) = answer(app.post_raw(&path, "application/json", "{oops").await).await;
    assert_eq!(status, 400);
    assert!(body.starts_with("Information not valid: the body is not valid JSON ("), "{body}");
    let (status, _, _) = answer(app.post_raw(&path, "application/json", "[1, 2]").await).await;
    assert_eq!(status, 400);
    assert_eq!(row(&app, id).unwrap(), before, "nothing changed");
});

// ---------------------------------------------------------------------------------------------
// Concurrency, large and interrupted uploads, Python JSON

db_test!(concurrent_training_pods_never_get_a_500, |app| async move {
    let specs: Vec<(String, &str, String, bool)> = (0..6)
        .map(|i| (format!("m{i}"), if i % 2 == 0 { "tf" } else { "pth" }, format!("model = m{i}()"), false))
        .collect();
    let specs: Vec<(&str, &str, &str, bool)> =
        specs.iter().map(|(n, f, c, d)| (n.as_str(), *f, c.as_str(), *d)).collect();
    let s = seed_models(&app, &specs, |_| {});
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for (i, id) in s.results.iter().copied().enumerate() {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            statuses.push(app.get(&format!("/results/{id}")).await.status().as_u16());
            for epoch in 1..=8 {
                let values: Vec<f64> = (1..=epoch).map(|e| 1.0 / f64::from(e)).collect();
                let data = json!({"train_metrics": {"loss": values}, "val_metrics": {"loss": values}});
                let res = post_metrics_form(&app, &format!("/results_metrics/{id}"), &data).await;
                statuses.push(res.status().as_u16());
                statuses.push(app.get("/results/").await.status().as_u16());
                statuses.push(app.get(&format!("/results/chart/{id}")).await.status().as_u16());
            }
            let data = json!({"train_metrics": {"loss": [0.5]}, "training_time": i, "indefinite": i == 0});
            statuses.push(upload(&app, id, None, &data).await.status().as_u16());
            statuses
        }));
    }
    for task in tasks {
        let statuses = task.await.unwrap();
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    }
    for id in &s.results[1..] {
        assert_eq!(row(&app, *id).unwrap().status, "finished");
    }
    assert_eq!(row(&app, s.results[0]).unwrap().status, "deployed", "the indefinite upload went to a new result");
    assert_eq!(all_result_ids(&app).len(), 7);
});

db_test!(large_model_upload_is_stored_byte_for_byte, |app| async move {
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    let big: Vec<u8> = (0..24 * 1024 * 1024_u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let form = upload_form(Some(&big), None, Some(r#"{"training_time": 100.5}"#));
    let res = post_form(&app, &format!("/results/{id}"), form).await;
    assert_eq!(res.status(), 200);
    let stored = std::fs::read(trained_path(&app, &format!("{id}.h5"))).unwrap();
    assert!(stored == big, "the stored file differs ({} bytes stored)", stored.len());
    let res = app.get(&format!("/results/model/{id}")).await;
    assert_eq!(header(&res, "content-length"), big.len().to_string());
    assert!(res.bytes().await.unwrap() == big);
    assert_eq!(trained_files(&app), [format!("{id}.h5")]);
});

db_test!(interrupted_upload_leaves_no_file, |app| async move {
    use tokio::io::AsyncWriteExt;
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    let before = row(&app, id).unwrap();
    let addr = app.address.strip_prefix("http://").unwrap().to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /results/{id} HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n\
         Content-Length: 10000000\r\n\r\n--XyZ\r\nContent-Disposition: form-data; name=\"trained_model\"; \
         filename=\"m.h5\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![7_u8; 256 * 1024]).await.unwrap();
    stream.flush().await.unwrap();
    // The temporary file exists while the upload streams.
    let mut seen = false;
    for _ in 0..100 {
        if trained_files(&app).iter().any(|f| f.starts_with(".upload-")) {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(seen, "the upload is streamed into a temporary file");
    drop(stream);
    let mut files = trained_files(&app);
    for _ in 0..100 {
        if files.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        files = trained_files(&app);
    }
    assert!(files.is_empty(), "the temporary file is removed when the client goes away: {files:?}");
    assert_eq!(row(&app, id).unwrap(), before);
});

db_test!(python_nan_and_infinity_in_metrics_are_stored_as_null, |app| async move {
    // Python's json.dumps writes NaN / Infinity / -Infinity for a diverged training; the pods
    // would retry a refused upload and lose the model.
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    let text =
        r#"{"train_metrics": {"loss": [0.5, NaN, Infinity], "acc": [-Infinity]}, "val_metrics": {"loss": [NaN]}}"#;
    let res = app
        .post_raw(
            &format!("/results_metrics/{id}"),
            "application/x-www-form-urlencoded",
            format!("data={}", quote_plus(text)),
        )
        .await;
    assert_eq!(answer(res).await, (200, String::new(), String::new()));
    let r = row(&app, id).unwrap();
    assert_eq!(r.train_metrics.as_deref(), Some(r#"{"loss":[0.5,null,null],"acc":[null]}"#));
    assert_eq!(r.val_metrics.as_deref(), Some(r#"{"loss":[null]}"#));
    let data = r#"{"train_metrics": {"loss": [NaN]}, "val_metrics": {"loss": [1.0]}, "test_metrics": {"loss": [Infinity]}, "training_time": 1.5, "confusion_matrix": null, "note": "NaN stays a string", "s": "a \"NaN\" b\\"}"#;
    let res = post_form(&app, &format!("/results/{id}"), upload_form(Some(MODEL_BYTES), None, Some(data))).await;
    assert_eq!(answer(res).await, (200, String::new(), String::new()));
    let r = row(&app, id).unwrap();
    assert_eq!(r.train_metrics.as_deref(), Some(r#"{"loss":[null]}"#));
    assert_eq!(r.test_metrics.as_deref(), Some(r#"{"loss":[null]}"#));
    assert_eq!(r.status, "finished");
    let list = app.get_json("/results/").await;
    assert_eq!(list[0]["train_metrics"], json!({"loss": [null]}));
    let chart = app.get_json(&format!("/results/chart/{id}")).await;
    assert_eq!(chart["metrics"][0], json!({"name": "loss", "series": [{"value": null, "name": 1}]}));
    // Other bare words are still invalid JSON.
    let res = post_metrics_form(&app, &format!("/results_metrics/{id}"), &json!({})).await;
    assert_eq!(res.status(), 200);
    let res = app
        .post_raw(&format!("/results_metrics/{id}"), "application/x-www-form-urlencoded", "data=%7B%22a%22%3A+Nan%7D")
        .await;
    assert_eq!(res.status(), 400);
});

db_test!(download_serves_the_stored_file_even_if_the_model_changed_framework, |app| async move {
    let s = seed_pth(&app, |_| {});
    let id = s.result();
    assert_eq!(upload(&app, id, None, &json!({})).await.status(), 200);
    {
        use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
        use kafkaml_persistence::schema::automl_mlmodel as m;
        let mut conn = app.db.connect();
        let model = s.models[0];
        kafkaml_persistence::with_conn!(&mut conn, |c| diesel::update(m::table.find(model))
            .set(m::framework.eq("tf"))
            .execute(c))
        .unwrap();
    }
    let res = app.get(&format!("/results/model/{id}")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "ml-framework"), "pth", "the stored file is a PyTorch model");
    assert_eq!(header(&res, "content-disposition"), "attachment; filename=\"model.pth\"");
    assert_eq!(&res.bytes().await.unwrap()[..], MODEL_BYTES);
});

db_test!(indefinite_upload_with_image_stores_it_under_the_new_result, |app| async move {
    let s = seed_tf(&app, |d| d.conf_mat_settings = Some(true));
    let id = s.result();
    let data = json!({"test_metrics": {"acc": [0.9]}, "confusion_matrix": [[1]], "indefinite": true});
    assert_eq!(upload(&app, id, Some(PNG_BYTES), &data).await.status(), 200);
    let new = all_result_ids(&app)[1];
    assert_eq!(trained_files(&app), [format!("{new}.h5"), format!("{new}.png")]);
    let res = app.get(&format!("/results/confusion_matrix/{new}")).await;
    assert_eq!(&res.bytes().await.unwrap()[..], PNG_BYTES);
    assert_eq!(app.get(&format!("/results/confusion_matrix/{id}")).await.status(), 404);
    assert_eq!(row(&app, new).unwrap().confusion_mat_img.as_deref(), Some(format!("trained/{new}.png").as_str()));
});

db_test!(concurrent_writes_to_one_result_never_fail, |app| async move {
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for worker in 0..12 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for round in 0..15 {
                let data = json!({"train_metrics": {"loss": [worker, round]}});
                let res = match round % 3 {
                    0 => post_metrics_form(&app, &format!("/results_metrics/{id}"), &data).await,
                    1 => app.get(&format!("/results/{id}")).await,
                    _ => upload(&app, id, None, &data).await,
                };
                let status = res.status().as_u16();
                let body = res.text().await.unwrap_or_default();
                statuses.push((status, body));
            }
            statuses
        }));
    }
    for task in tasks {
        for (status, body) in task.await.unwrap() {
            assert_eq!(status, 200, "{body}");
        }
    }
});
