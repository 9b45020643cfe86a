//! `GET /datasources/` and `POST /datasources/` (the control logger's call: the row is stored,
//! never re-published — decisions.md item 1).

use kafkaml_persistence::repo::datasources as datasource_repo;
use kafkaml_tests::db_test;
use serde_json::{json, Value};

use crate::resource_kit::{conn, count, expect_json, expect_text, same_under_all_spellings};

const MNIST_CONFIG: &str =
    r#"{"data_type": "uint8", "label_type": "uint8", "data_reshape": "28 28", "label_reshape": ""}"#;

/// A body exactly as the Kafka control logger posts it (docs/contract.md §6.5): the control message's
/// keys, including ones the back-end does not store, plus `deployment` and a naive UTC `time`.
fn logger_body(deployment: &str, time: &str) -> Value {
    json!({"topic": "automl:0:0:70000", "unsupervised_topic": null, "input_format": "RAW", "description": "Mnist",
        "dataset_restrictions": "{}", "dataset_restriction": {"a": 1}, "validation_rate": 0.1, "test_rate": 0.1,
        "total_msg": 70000, "incremental": false, "input_config": MNIST_CONFIG, "deployment": deployment, "time": time})
}

/// The stored object of [`logger_body`].
fn stored(deployment: &str, time: &str) -> Value {
    json!({"input_format": "RAW", "deployment": deployment, "input_config": MNIST_CONFIG, "description": "Mnist",
        "topic": "automl:0:0:70000", "validation_rate": 0.1, "test_rate": 0.1, "total_msg": 70000, "time": time})
}

db_test!(the_control_logger_post_is_stored_once, |app| async move {
    assert_eq!(expect_json(app.get("/datasources/").await, 200).await, json!([]));
    let res = app.post_json("/datasources/", &logger_body("1", "2024-05-01T10:00:00")).await;
    let created = expect_json(res, 201).await;
    assert_eq!(created.to_string(), stored("1", "2024-05-01T10:00:00Z").to_string());
    assert!(created.get("id").is_none());
    let list = expect_json(app.get("/datasources/").await, 200).await;
    assert_eq!(list.to_string(), json!([stored("1", "2024-05-01T10:00:00Z")]).to_string());
    assert!(list[0]["validation_rate"].is_f64() && list[0]["total_msg"].is_i64());
    assert_eq!(count!(app, automl_datasource), 1);
    let mut conn = conn(&app);
    let rows = datasource_repo::list(&mut conn, Some("1")).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].input_config, MNIST_CONFIG);
    // The executor (and nothing else) was called: nothing is published anywhere.
    assert_eq!(app.executor.request_count(), 0);
});

db_test!(list_is_newest_first, |app| async move {
    for (deployment, time) in [("1", "2024-05-02T00:00:00"), ("2", "2024-05-03T00:00:00"), ("3", "2024-05-01T00:00:00")]
    {
        let res = app.post_json("/datasources/", &logger_body(deployment, time)).await;
        assert_eq!(res.status(), 201);
    }
    let list = expect_json(app.get("/datasources/").await, 200).await;
    let order: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["deployment"].as_str().unwrap(), d["time"].as_str().unwrap()))
        .collect();
    assert_eq!(order, [("2", "2024-05-03T00:00:00Z"), ("1", "2024-05-02T00:00:00Z"), ("3", "2024-05-01T00:00:00Z")]);
});

db_test!(times_are_stored_in_utc, |app| async move {
    let cases = [
        ("2024-05-01T10:00:00", "2024-05-01T10:00:00Z"),
        ("2024-05-01T10:00:00+02:00", "2024-05-01T08:00:00Z"),
        ("2024-05-01T23:30:00-01:00", "2024-05-02T00:30:00Z"),
        ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z"),
        ("2024-05-01T10:00:00.123456", "2024-05-01T10:00:00.123456Z"),
        ("2024-05-01T10:00:00.5Z", "2024-05-01T10:00:00.500000Z"),
        ("2024-05-01 10:00", "2024-05-01T10:00:00Z"),
    ];
    for (i, (sent, expected)) in cases.iter().enumerate() {
        let res = app.post_json("/datasources/", &logger_body(&i.to_string(), sent)).await;
        let created = expect_json(res, 201).await;
        assert_eq!(created["time"], *expected, "{sent}");
        let mut conn = conn(&app);
        let rows = datasource_repo::list(&mut conn, Some(&i.to_string())).unwrap();
        assert_eq!(kafkaml_domain::datetime::format(&rows[0].time), *expected);
    }
});

db_test!(optional_fields_take_their_defaults, |app| async move {
    let res = app
        .post_json("/datasources/", &json!({"deployment": 7, "topic": "t:0:0:10", "time": "2024-05-01T10:00:00"}))
        .await;
    let created = expect_json(res, 201).await;
    assert_eq!(
        created.to_string(),
        json!({"input_format": "RAW", "deployment": "7", "input_config": "", "description": "", "topic": "t:0:0:10",
            "validation_rate": null, "test_rate": null, "total_msg": null, "time": "2024-05-01T10:00:00Z"})
        .to_string()
    );
    // Explicit nulls for the nullable fields are nulls too.
    let body = json!({"deployment": "8", "topic": "t", "time": "2024-05-01T11:00:00", "input_format": "TELEGRAF_STR_JSON",
        "validation_rate": null, "test_rate": 0.25, "total_msg": null});
    let created = expect_json(app.post_json("/datasources/", &body).await, 201).await;
    assert_eq!(
        (&created["input_format"], &created["validation_rate"], &created["test_rate"], &created["total_msg"]),
        (&json!("TELEGRAF_STR_JSON"), &Value::Null, &json!(0.25), &Value::Null)
    );
    let list = expect_json(app.get("/datasources/").await, 200).await;
    assert_eq!(list[0], created);
});

db_test!(invalid_bodies_are_400_and_store_nothing, |app| async move {
    let mut without_topic = logger_body("1", "2024-05-01T10:00:00");
    without_topic.as_object_mut().unwrap().remove("topic");
    let mut without_time = logger_body("1", "2024-05-01T10:00:00");
    without_time.as_object_mut().unwrap().remove("time");
    let mut without_deployment = logger_body("1", "2024-05-01T10:00:00");
    without_deployment.as_object_mut().unwrap().remove("deployment");
    let with = |key: &str, value: Value| {
        let mut body = logger_body("1", "2024-05-01T10:00:00");
        body[key] = value;
        body
    };
    let time_message = "Datasource not valid: time: Datetime has wrong format. Use one of these formats instead: \
                        YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].";
    let cases: Vec<(Value, &str)> = vec![
        (without_topic, "Datasource not valid: missing field `topic`"),
        (without_time, "Datasource not valid: missing field `time`"),
        (without_deployment, "Datasource not valid: missing field `deployment`"),
        (with("topic", json!("")), "Datasource not valid: topic: This field may not be blank."),
        (
            with("input_format", json!("XML")),
            "Datasource not valid: input_format: unknown variant `XML`, expected one of `RAW`, `AVRO`, `JSON`, `TELEGRAF_STR_JSON`",
        ),
        (
            with("validation_rate", json!(0.33333333)),
            "Datasource not valid: validation_rate: Ensure that there are no more than 7 digits in total.",
        ),
        (
            with("test_rate", json!(12.5)),
            "Datasource not valid: test_rate: Ensure that there are no more than 1 digits before the decimal point.",
        ),
        (with("time", json!("yesterday")), time_message),
        (with("time", json!("2024-13-01T10:00:00")), time_message),
        (with("total_msg", json!("many")), "Datasource not valid: total_msg: invalid type: string \"many\", expected i64"),
    ];
    for (body, message) in cases {
        expect_text(app.post_json("/datasources/", &body).await, 400, message).await;
    }
    let res = app.post_raw("/datasources/", "application/json", "[1]").await;
    expect_text(res, 400, "Datasource not valid: the body must be a JSON object.").await;
    assert_eq!(count!(app, automl_datasource), 0);
    assert_eq!(expect_json(app.get("/datasources/").await, 200).await, json!([]));
});

db_test!(every_spelling_of_the_routes, |app| async move {
    for (i, path) in ["/datasources", "/datasources/", "/api/datasources", "/api/datasources/"].iter().enumerate() {
        let res = app.post_json(path, &logger_body(&i.to_string(), &format!("2024-05-01T10:00:0{i}"))).await;
        assert_eq!(res.status(), 201, "POST {path}");
    }
    let (status, body) = same_under_all_spellings(&app, "/datasources").await;
    assert_eq!(status, 200);
    let list: Value = serde_json::from_str(&body).unwrap();
    let deployments: Vec<&str> = list.as_array().unwrap().iter().map(|d| d["deployment"].as_str().unwrap()).collect();
    assert_eq!(deployments, ["3", "2", "1", "0"]);
    assert_eq!(count!(app, automl_datasource), 4);
    let res = app.put_json("/datasources/", &json!({})).await;
    assert_eq!(res.status(), 405);
});
