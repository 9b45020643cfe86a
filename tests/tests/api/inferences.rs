//! `/inferences/…` (rows seeded in the database: deploying needs Kubernetes) and
//! `GET /results/inference/<resultId>`.

use kafkaml_domain::datetime::parse;
use kafkaml_persistence::repo::inferences::{self as inference_repo, NewInference};
use kafkaml_tests::{db_test, TestApp};
use serde_json::{json, Value};

use crate::resource_kit::{
    conn, count, expect_empty, expect_json, expect_not_found_detail, expect_text, ids, same_under_all_spellings,
};

/// The token stored with the external-cluster inference; it must never be answered.
const SECRET: &str = "s3cr3t-bearer-token";

/// Stores an inference; returns its id.
fn seed(app: &TestApp, result: Option<i64>, status: &str, time: &str, adjust: impl FnOnce(&mut NewInference)) -> i64 {
    let time = parse(time).unwrap();
    let id = app.seed_inference(result.map(|r| r as i32), status, |new| {
        new.status_changed = time;
        new.time = time;
        adjust(new);
    });
    i64::from(id)
}

/// A configuration with one tf model, deployed once; returns `(deployment id, result id)`.
async fn one_result(app: &TestApp) -> (i64, i64) {
    let m = app.create_model("m", "tf", false, None).await;
    let cfg = app.create_configuration("cfg", &[m]).await;
    let (d, results) = app.seed_deployment(cfg, |_| {});
    (d, results[0])
}

/// POSTs a datasource for `deployment` as the control logger would.
async fn datasource(app: &TestApp, deployment: i64, format: &str, config: &str, time: &str) {
    let body = json!({"topic": format!("data:0:0:{deployment}"), "input_format": format, "input_config": config,
        "description": "", "deployment": deployment.to_string(), "validation_rate": 0.1, "test_rate": 0.1,
        "total_msg": 100, "time": time});
    let res = app.post_json("/datasources/", &body).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
}

db_test!(list_is_newest_first_and_never_shows_the_token, |app| async move {
    assert_eq!(expect_json(app.get("/inferences/").await, 200).await, json!([]));
    let (_, r) = one_result(&app).await;
    let old = seed(&app, Some(r), "stopped", "2024-01-01T00:00:00", |_| {});
    let external = seed(&app, Some(r), "deployed", "2024-03-01T12:00:00.123456", |i| {
        i.replicas = 2;
        i.input_config = r#"{"data_type": "uint8"}"#.to_owned();
        i.token = Some(SECRET.to_owned());
        i.external_host = Some("https://1.2.3.4:6443".to_owned());
        i.input_kafka_broker = Some("ext:9092".to_owned());
        i.output_kafka_broker = Some(String::new());
        i.limit_ = Some(0.5);
        i.output_upper = "upper".to_owned();
    });
    let orphan =
        seed(&app, None, "deployed", "2024-02-01T00:00:00", |i| i.input_format = kafkaml_domain::InputFormat::Avro);
    let res = app.get("/inferences/").await;
    let raw = {
        assert_eq!(res.status(), 200);
        res.text().await.unwrap()
    };
    assert!(!raw.contains("token") && !raw.contains(SECRET), "{raw}");
    let list: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(
        list.to_string(),
        json!([
            {"id": external, "model_result": r, "replicas": 2, "input_format": "RAW", "input_config": r#"{"data_type": "uint8"}"#,
                "input_topic": "in", "output_topic": "out", "time": "2024-03-01T12:00:00.123456Z", "status": "deployed",
                "status_changed": "2024-03-01T12:00:00.123456Z", "limit": 0.5, "output_upper": "upper",
                "external_host": "https://1.2.3.4:6443", "input_kafka_broker": "ext:9092", "output_kafka_broker": "",
                "upper_kafka_broker": null},
            {"id": orphan, "model_result": null, "replicas": 1, "input_format": "AVRO", "input_config": "",
                "input_topic": "in", "output_topic": "out", "time": "2024-02-01T00:00:00Z", "status": "deployed",
                "status_changed": "2024-02-01T00:00:00Z", "limit": null, "output_upper": "", "external_host": null,
                "input_kafka_broker": null, "output_kafka_broker": null, "upper_kafka_broker": null},
            {"id": old, "model_result": r, "replicas": 1, "input_format": "RAW", "input_config": "",
                "input_topic": "in", "output_topic": "out", "time": "2024-01-01T00:00:00Z", "status": "stopped",
                "status_changed": "2024-01-01T00:00:00Z", "limit": null, "output_upper": "", "external_host": null,
                "input_kafka_broker": null, "output_kafka_broker": null, "upper_kafka_broker": null},
        ])
        .to_string()
    );
    // The token is still stored (the stop action needs it).
    let mut conn = conn(&app);
    let row = inference_repo::find_row(&mut conn, external as i32).unwrap().unwrap();
    assert_eq!(row.fields.token.as_deref(), Some(SECRET));
});

db_test!(get_one_and_not_found, |app| async move {
    let (_, r) = one_result(&app).await;
    let id = seed(&app, Some(r), "deployed", "2024-01-01T00:00:00", |i| i.token = Some(SECRET.to_owned()));
    let res = app.get(&format!("/inferences/{id}")).await;
    let got = expect_json(res, 200).await;
    assert_eq!(
        got.to_string(),
        json!({"id": id, "model_result": r, "replicas": 1, "input_format": "RAW", "input_config": "",
            "input_topic": "in", "output_topic": "out", "time": "2024-01-01T00:00:00Z", "status": "deployed",
            "status_changed": "2024-01-01T00:00:00Z", "limit": null, "output_upper": "", "external_host": null,
            "input_kafka_broker": null, "output_kafka_broker": null, "upper_kafka_broker": null})
        .to_string()
    );
    let (status, body) = same_under_all_spellings(&app, &format!("/inferences/{id}")).await;
    assert_eq!((status, body), (200, got.to_string()));
    for path in ["/inferences/999", "/api/inferences/999/", "/inferences/x"] {
        expect_not_found_detail(app.get(path).await).await;
    }
});

db_test!(delete_only_when_stopped, |app| async move {
    let (_, r) = one_result(&app).await;
    let running = seed(&app, Some(r), "deployed", "2024-01-01T00:00:00", |_| {});
    let stopped = seed(&app, Some(r), "stopped", "2024-01-02T00:00:00", |_| {});
    expect_text(
        app.delete(&format!("/inferences/{running}")).await,
        400,
        "Inference in use, please stop it before delete.",
    )
    .await;
    expect_empty(app.delete(&format!("/inferences/{stopped}")).await, 200).await;
    assert_eq!(ids(&expect_json(app.get("/inferences/").await, 200).await), vec![running]);
    assert_eq!(count!(app, automl_inference), 1);
    expect_text(app.delete(&format!("/inferences/{stopped}")).await, 404, "Inference does not exist").await;
    expect_text(app.delete("/api/inferences/999/").await, 404, "Inference does not exist").await;
    // Once stopped (by the stop action), it can be deleted, under any spelling.
    let mut conn = conn(&app);
    inference_repo::set_status(&mut conn, running as i32, kafkaml_domain::InferenceStatus::Stopped).unwrap();
    expect_empty(app.delete(&format!("/api/inferences/{running}/")).await, 200).await;
    assert_eq!(count!(app, automl_inference), 0);
    // The training result is untouched.
    assert_eq!(count!(app, automl_trainingresult), 1);
});

db_test!(no_create_and_no_status_writes_through_generic_methods, |app| async move {
    let body =
        json!({"replicas": 1, "input_format": "RAW", "input_topic": "a", "output_topic": "b", "status": "deployed"});
    for path in ["/inferences/", "/inferences", "/api/inferences/"] {
        let res = app.post_json(path, &body).await;
        assert_eq!(expect_json(res, 405).await.to_string(), r#"{"detail":"Method \"POST\" not allowed."}"#);
    }
    assert_eq!(count!(app, automl_inference), 0);
    let (_, r) = one_result(&app).await;
    let id = seed(&app, Some(r), "deployed", "2024-01-01T00:00:00", |_| {});
    let res = app.put_json(&format!("/inferences/{id}"), &json!({"status": "stopped"})).await;
    assert_eq!(res.status(), 405);
    let res = app.patch_json(&format!("/inferences/{id}"), &json!({"status": "stopped"})).await;
    assert_eq!(res.status(), 405);
    let got = expect_json(app.get(&format!("/inferences/{id}")).await, 200).await;
    assert_eq!(got["status"], "deployed");
});

db_test!(inference_info_prefers_the_newest_inference, |app| async move {
    let (d, r) = one_result(&app).await;
    datasource(&app, d, "JSON", r#"{"from": "datasource"}"#, "2024-06-01T00:00:00").await;
    seed(&app, Some(r), "stopped", "2024-01-01T00:00:00", |i| {
        i.input_format = kafkaml_domain::InputFormat::Avro;
        i.input_config = "old".to_owned();
    });
    seed(&app, Some(r), "deployed", "2024-02-01T00:00:00", |i| {
        i.input_format = kafkaml_domain::InputFormat::TelegrafStrJson;
        i.input_config = r#"{"newest": true}"#.to_owned();
    });
    seed(&app, None, "deployed", "2024-03-01T00:00:00", |i| i.input_config = "of no result".to_owned());
    let got = expect_json(app.get(&format!("/results/inference/{r}")).await, 200).await;
    assert_eq!(
        got.to_string(),
        json!({"input_format": "TELEGRAF_STR_JSON", "input_config": r#"{"newest": true}"#}).to_string()
    );
    let (status, body) = same_under_all_spellings(&app, &format!("/results/inference/{r}")).await;
    assert_eq!((status, body), (200, got.to_string()));
    assert_eq!(app.executor.request_count(), 1, "only the model check of the set-up");
});

db_test!(inference_info_falls_back_to_the_newest_datasource_of_the_deployment, |app| async move {
    let (d, r) = one_result(&app).await;
    // Nothing known yet: empty strings.
    let got = expect_json(app.get(&format!("/results/inference/{r}")).await, 200).await;
    assert_eq!(got.to_string(), r#"{"input_format":"","input_config":""}"#);
    let config = r#"{"data_type": "uint8", "label_type": "uint8", "data_reshape": "28 28", "label_reshape": ""}"#;
    datasource(&app, d, "AVRO", "{}", "2024-01-01T00:00:00").await;
    datasource(&app, d, "RAW", config, "2024-02-01T00:00:00").await;
    // Newer, but of another deployment.
    datasource(&app, d + 100, "JSON", "{}", "2024-12-01T00:00:00").await;
    let got = expect_json(app.get(&format!("/results/inference/{r}")).await, 200).await;
    assert_eq!(got.to_string(), json!({"input_format": "RAW", "input_config": config}).to_string());
    // An inference of another result changes nothing.
    let m2 = app.create_model("m2", "tf", false, None).await;
    let cfg2 = app.create_configuration("cfg2", &[m2]).await;
    let (_, r2) = app.seed_deployment(cfg2, |_| {});
    seed(&app, Some(r2[0]), "deployed", "2025-01-01T00:00:00", |i| i.input_config = "other".to_owned());
    let again = expect_json(app.get(&format!("/results/inference/{r}")).await, 200).await;
    assert_eq!(again, got);
});

db_test!(inference_info_of_a_father_model_reshapes_from_its_input_shape, |app| async move {
    let root = app.create_model("root", "tf", true, None).await;
    let child = app.create_model("child", "tf", true, Some(root)).await;
    let cfg = app.create_configuration("cfg", &[root]).await;
    let (d, results) = app.seed_deployment(cfg, |_| {});
    let (root_result, child_result) = (results[0], results[1]);
    let models = expect_json(app.get(&format!("/deployments/results/{d}")).await, 200).await;
    let model_of = |id: i64| models.as_array().unwrap().iter().find(|r| r["id"] == id).unwrap()["model"]["id"].clone();
    assert_eq!((model_of(root_result), model_of(child_result)), (json!(root), json!(child)));
    let config = r#"{"data_type": "uint8", "label_type": "uint8", "data_reshape": "784", "label_reshape": ""}"#;
    datasource(&app, d, "RAW", config, "2024-02-01T00:00:00").await;
    app.executor.clear_requests();
    // The father: data_reshape from the executor's input shape, data_type float32, key order kept.
    let got = expect_json(app.get(&format!("/results/inference/{root_result}")).await, 200).await;
    assert_eq!(
        got.to_string(),
        json!({"input_format": "RAW",
            "input_config": r#"{"data_type": "float32", "label_type": "uint8", "data_reshape": "28 28", "label_reshape": ""}"#})
        .to_string()
    );
    let requests = app.executor.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].0, "/exec_tf/");
    assert_eq!(
        requests[0].1.to_string(),
        json!({"imports_code": "import x", "model_code": "model = build_root()", "distributed": true,
            "request_type": "input_shape"})
        .to_string()
    );
    // The last model of the chain has no child: the datasource's config as it is, no executor call.
    let got = expect_json(app.get(&format!("/results/inference/{child_result}")).await, 200).await;
    assert_eq!(got.to_string(), json!({"input_format": "RAW", "input_config": config}).to_string());
    assert_eq!(app.executor.request_count(), 1);
    // Another shape.
    app.executor.set_input_shape("(None, 784)");
    let got = expect_json(app.get(&format!("/results/inference/{root_result}")).await, 200).await;
    assert_eq!(
        got["input_config"],
        r#"{"data_type": "float32", "label_type": "uint8", "data_reshape": "784", "label_reshape": ""}"#
    );
    // A shape without dimensions after the batch one can not be used.
    app.executor.set_input_shape("(None,)");
    expect_text(
        app.get(&format!("/results/inference/{root_result}")).await,
        502,
        "The model's input shape (None,) has no dimensions to reshape the data to.",
    )
    .await;
});

db_test!(inference_info_of_an_unknown_result, |app| async move {
    expect_text(app.get("/results/inference/999").await, 404, "Training result does not exist").await;
    expect_text(app.get("/api/results/inference/999/").await, 404, "Training result does not exist").await;
    expect_text(app.get("/results/inference/abc").await, 404, "Training result does not exist").await;
});

db_test!(every_spelling_of_the_list, |app| async move {
    let (_, r) = one_result(&app).await;
    let id = seed(&app, Some(r), "deployed", "2024-01-01T00:00:00", |_| {});
    let (status, body) = same_under_all_spellings(&app, "/inferences").await;
    assert_eq!(status, 200);
    assert_eq!(ids(&serde_json::from_str(&body).unwrap()), vec![id]);
});
