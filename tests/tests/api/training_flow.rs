//! The training pods' conversation with the back-end, played request for request as the
//! TensorFlow and PyTorch training images do it (docs/contract.md §6.2, §6.3), with the web UI watching
//! through the `/api`-prefixed URLs its nginx proxies (docs/contract.md §6.1).

use kafkaml_tests::{db_test, TestApp};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::results::{
    header, insert_model, insert_model_with_father, post_metrics_form, py_dumps, row, seed_configuration,
    trained_files, trained_path, MODEL_BYTES, PNG_BYTES,
};

/// What the TF image's `download_model` does: `urllib.request.urlopen(RESULT_URL)`, any 2xx
/// with a body counts.
async fn pod_download(app: &TestApp, result_url: &str) -> Vec<u8> {
    let res = app.client.get(result_url).header("User-Agent", "Python-urllib/3.8").send().await.unwrap();
    assert_eq!(res.status(), 200, "GET {result_url}");
    res.bytes().await.unwrap().to_vec()
}

/// The Keras callback: `requests.post(RESULT_URL.replace('results', 'results_metrics'), data={'data': json.dumps(...)})`.
async fn pod_epoch(app: &TestApp, result_url: &str, train: &Value, val: &Value) {
    let url = result_url.replace("results", "results_metrics");
    let path = url.strip_prefix(&app.address).unwrap().to_owned();
    let res = post_metrics_form(app, &path, &json!({"train_metrics": train, "val_metrics": val})).await;
    assert_eq!(res.status(), 200, "POST {url}");
    assert!(res.bytes().await.unwrap().is_empty());
}

/// The final `requests.post(RESULT_URL, files={...}, data={'data': json.dumps(...)})`.
async fn pod_final_upload(
    app: &TestApp,
    result_url: &str,
    model: &[u8],
    model_name: &str,
    png: Option<&[u8]>,
    data: &Value,
) {
    let mut form = Form::new().part("trained_model", Part::bytes(model.to_vec()).file_name(model_name.to_owned()));
    if let Some(png) = png {
        form = form.part("confussion_matrix", Part::bytes(png.to_vec()).file_name("confusion_matrix.png"));
    }
    form = form.text("data", py_dumps(data));
    let res = app.client.post(result_url).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), 200, "the pod retries until it gets 200");
    assert!(res.bytes().await.unwrap().is_empty());
}

/// The web UI's result list entry of `id` (through `/api`).
async fn ui_result(app: &TestApp, id: i32) -> Value {
    let list = app.get_json("/api/results/").await;
    list.as_array().unwrap().iter().find(|r| r["id"] == json!(id)).cloned().unwrap()
}

async fn ui_chart(app: &TestApp, id: i32) -> Value {
    app.get_json(&format!("/api/results/chart/{id}")).await
}

fn series(values: &[f64]) -> Value {
    Value::Array(values.iter().zip(1..).map(|(v, i)| json!({"value": v, "name": i})).collect())
}

db_test!(tensorflow_training_pod, |app| async move {
    let model = insert_model(&app, "mnist_tf", "tf", "model = tf.keras.Sequential([tf.keras.layers.Dense(10)])", false);
    let s = seed_configuration(&app, vec![model], |d| {
        d.conf_mat_settings = Some(true);
        d.tf_kwargs_fit = "epochs=2".to_owned();
    });
    let id = s.result();
    let result_url = format!("{}/results/{id}", app.address);
    assert_eq!(ui_result(&app, id).await["status"], "created");

    // The pod fetches its untrained model (pre_model.h5): the result becomes deployed.
    let pre_model = pod_download(&app, &result_url).await;
    assert_eq!(pre_model, b"HDF5-STUB:model = tf.keras.Sequential([tf.keras.layers.Dense(10)])");
    assert_eq!(ui_result(&app, id).await["status"], "deployed");

    // Two epochs of the SingleTrackTrainingCallback: the values so far, val_ prefix stripped.
    pod_epoch(
        &app,
        &result_url,
        &json!({"loss": [0.9], "accuracy": [0.6]}),
        &json!({"loss": [1.0], "accuracy": [0.5]}),
    )
    .await;
    let chart = ui_chart(&app, id).await;
    assert_eq!(
        chart,
        json!({"metrics": [
            {"name": "loss", "series": series(&[0.9])}, {"name": "loss_val", "series": series(&[1.0])},
            {"name": "accuracy", "series": series(&[0.6])}, {"name": "accuracy_val", "series": series(&[0.5])}
        ], "conf_mat": null})
    );
    pod_epoch(
        &app,
        &result_url,
        &json!({"loss": [0.9, 0.4], "accuracy": [0.6, 0.85]}),
        &json!({"loss": [1.0, 0.5], "accuracy": [0.5, 0.8]}),
    )
    .await;
    let during = ui_result(&app, id).await;
    assert_eq!(during["status"], "deployed", "metrics do not change the status");
    assert_eq!(during["train_metrics"], json!({"loss": [0.9, 0.4], "accuracy": [0.6, 0.85]}));

    // The final upload (sendSingleMetrics): model, image and the metrics.
    let data = json!({
        "train_metrics": {"loss": [0.9, 0.4], "accuracy": [0.6, 0.85]},
        "val_metrics": {"loss": [1.0, 0.5], "accuracy": [0.5, 0.8]},
        "test_metrics": {"loss": [0.45], "accuracy": [0.82]},
        "training_time": 12.3457,
        "confusion_matrix": [[5, 1], [0, 4]],
        "indefinite": false
    });
    pod_final_upload(&app, &result_url, MODEL_BYTES, "trained_model.h5", Some(PNG_BYTES), &data).await;

    let done = ui_result(&app, id).await;
    assert_eq!(done["status"], "finished");
    assert_eq!(done["training_time"], json!(12.3457));
    assert_eq!(done["test_metrics"], json!({"loss": [0.45], "accuracy": [0.82]}));
    assert_eq!(done["confusion_matrix"], json!([[5, 1], [0, 4]]));
    let chart = app.get(&format!("/api/results/chart/{id}")).await.text().await.unwrap();
    assert_eq!(
        chart,
        json!({"metrics": [
            {"name": "loss", "series": series(&[0.9, 0.4])}, {"name": "loss_val", "series": series(&[1.0, 0.5])},
            {"name": "accuracy", "series": series(&[0.6, 0.85])}, {"name": "accuracy_val", "series": series(&[0.5, 0.8])}
        ], "conf_mat": [[5, 1], [0, 4]]})
        .to_string()
    );

    // The plot view shows the image because conf_mat is not null.
    let res = app.get(&format!("/api/results/confusion_matrix/{id}")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(&res.bytes().await.unwrap()[..], PNG_BYTES);

    // An inference pod (MODEL_URL, direct) and the web UI (through /api, CORS) download the model.
    let res = app.get(&format!("/results/model/{id}")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "ml-framework"), "tf");
    assert_eq!(&res.bytes().await.unwrap()[..], MODEL_BYTES);
    let res = app.get_from_web_ui(&format!("/api/results/model/{id}")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-disposition"), "attachment; filename=\"model.h5\"");
    assert!(header(&res, "access-control-expose-headers").eq_ignore_ascii_case("ML-Framework"));
    assert_eq!(&res.bytes().await.unwrap()[..], MODEL_BYTES);

    // A late retry of the pod's download does not undo "finished".
    pod_download(&app, &result_url).await;
    assert_eq!(ui_result(&app, id).await["status"], "finished");

    // The web UI deletes the result: row and files go.
    let res = app.delete(&format!("/api/results/{id}")).await;
    assert_eq!(res.status(), 200);
    assert!(row(&app, id).is_none());
    assert!(trained_files(&app).is_empty(), "{:?}", trained_files(&app));
});

db_test!(pytorch_training_pod, |app| async move {
    let code = "class NeuralNetwork(nn.Module):\n    pass\nmodel = NeuralNetwork()  # ünïcode";
    let model = insert_model(&app, "mnist_pth", "pth", code, false);
    let s = seed_configuration(&app, vec![model], |d| d.pth_kwargs_fit = "max_epochs=2".to_owned());
    let id = s.result();
    let result_url = format!("{}/results/{id}", app.address);

    // requests.get(RESULT_URL).content.decode('utf-8') is exec-ed: it must be exactly the code.
    let text = String::from_utf8(pod_download(&app, &result_url).await).unwrap();
    assert_eq!(text, code);
    assert_eq!(ui_result(&app, id).await["status"], "deployed");

    pod_epoch(&app, &result_url, &json!({"loss": [0.7]}), &json!({"loss": [0.8]})).await;
    pod_epoch(&app, &result_url, &json!({"loss": [0.7, 0.3]}), &json!({"loss": [0.8, 0.35]})).await;

    // No `indefinite` key, no image, a state_dict file.
    let state_dict = b"PK\x03\x04torch-state-dict\x00\x01\x02";
    let data = json!({
        "train_metrics": {"loss": [0.7, 0.3]}, "val_metrics": {"loss": [0.8, 0.35]},
        "test_metrics": {"loss": [0.33]}, "training_time": 5.0001, "confusion_matrix": null
    });
    pod_final_upload(&app, &result_url, state_dict, "model.pth", None, &data).await;
    assert_eq!(trained_files(&app), [format!("{id}.pth")]);
    assert_eq!(std::fs::read(trained_path(&app, &format!("{id}.pth"))).unwrap(), state_dict);

    let done = ui_result(&app, id).await;
    assert_eq!(done["status"], "finished");
    assert_eq!(done["training_time"], json!(5.0001));
    assert_eq!(
        ui_chart(&app, id).await,
        json!({"metrics": [{"name": "loss", "series": series(&[0.7, 0.3])},
            {"name": "loss_val", "series": series(&[0.8, 0.35])}], "conf_mat": null})
    );
    let res = app.get(&format!("/api/results/model/{id}/")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "ml-framework"), "pth");
    assert_eq!(header(&res, "content-disposition"), "attachment; filename=\"model.pth\"");
    assert_eq!(&res.bytes().await.unwrap()[..], state_dict);
    // No image was generated: the plot view does not ask for it, and it would be a 404.
    assert_eq!(app.get(&format!("/api/results/confusion_matrix/{id}")).await.status(), 404);
});

db_test!(distributed_tensorflow_chain, |app| async move {
    // A chain root -> child; the pod downloads every member and uploads one result per URL.
    let root = insert_model(&app, "edge", "tf", "model = edge()", true);
    let child = insert_model_with_father(&app, "cloud", "tf", "model = cloud()", true, Some(root));
    let s = seed_configuration(&app, vec![root, child], |d| d.conf_mat_settings = Some(true));
    let urls: Vec<String> = s.results.iter().map(|r| format!("{}/results/{r}", app.address)).collect();
    for (url, name) in urls.iter().zip(["edge", "cloud"]) {
        assert_eq!(pod_download(&app, url).await, format!("HDF5-STUB:model = {name}()").into_bytes());
    }
    let requests = app.executor.requests();
    assert!(requests.iter().all(|(_, body)| body["distributed"] == json!(true)), "{requests:?}");
    for (i, url) in urls.iter().enumerate() {
        pod_epoch(&app, url, &json!({"loss": [0.5 + i as f64]}), &json!({"loss": [0.6 + i as f64]})).await;
    }
    for (i, url) in urls.iter().enumerate() {
        let data = json!({"train_metrics": {"loss": [0.5 + i as f64]}, "val_metrics": {"loss": [0.6 + i as f64]},
            "test_metrics": if i == 0 { json!({"loss": [0.1]}) } else { json!([]) },
            "training_time": 3.25, "confusion_matrix": null});
        let name = format!("trained_model_{}.h5", i + 1);
        pod_final_upload(&app, url, MODEL_BYTES, &name, None, &data).await;
    }
    for id in &s.results {
        let r = ui_result(&app, *id).await;
        assert_eq!(r["status"], "finished");
        assert_eq!(r["training_time"], json!(3.25));
    }
    let mut expected: Vec<String> = s.results.iter().map(|r| format!("{r}.h5")).collect();
    expected.sort();
    assert_eq!(trained_files(&app), expected);
});

db_test!(indefinite_incremental_training_uploads_periodically, |app| async move {
    let model = insert_model(&app, "stream_tf", "tf", "model = m()", false);
    let s = seed_configuration(&app, vec![model], |d| {
        d.incremental = true;
        d.indefinite = true;
        d.stream_timeout = Some(-1);
    });
    let id = s.result();
    let result_url = format!("{}/results/{id}", app.address);
    pod_download(&app, &result_url).await;
    for round in 1..=3 {
        pod_epoch(&app, &result_url, &json!({"loss": [0.5]}), &json!({"loss": [0.6]})).await;
        let data = json!({"train_metrics": {"loss": [0.5]}, "val_metrics": {"loss": [0.6]}, "test_metrics": {},
            "training_time": round, "confusion_matrix": null, "indefinite": true});
        pod_final_upload(&app, &result_url, MODEL_BYTES, "trained_model.h5", None, &data).await;
    }
    let list = app.get_json("/api/results/").await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 4, "the original plus one result per upload");
    let original = list.iter().find(|r| r["id"] == json!(id)).unwrap();
    assert_eq!(original["status"], "deployed", "the running training keeps its result");
    assert_eq!(original["train_metrics"], json!({"loss": [0.5]}), "per-epoch metrics go to the original");
    let finished: Vec<&Value> = list.iter().filter(|r| r["status"] == "finished").collect();
    assert_eq!(finished.len(), 3);
    assert_eq!(finished.iter().map(|r| r["training_time"].as_f64().unwrap()).collect::<Vec<_>>(), [3.0, 2.0, 1.0]);
    assert_eq!(trained_files(&app).len(), 3);
});
