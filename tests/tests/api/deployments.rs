//! `GET /deployments/`, `GET /deployments/<configId>`, `DELETE /deployments/<id>` and
//! `GET /deployments/results/<id>` (deployments are seeded in the database: creating them needs
//! Kubernetes).

use kafkaml_domain::datetime::parse;
use kafkaml_tests::db_test;
use serde_json::{json, Value};

use crate::resource_kit::{
    count, drf_time, expect_empty, expect_json, expect_text, ids, same_under_all_spellings, set_result_metrics,
    set_result_status,
};

/// A deployment object with the reference's defaults (docs/contract.md §3.8).
fn default_deployment(id: i64, config: (i64, &str), results: Value, time: &str) -> Value {
    json!({"id": id, "configuration": {"id": config.0, "name": config.1}, "results": results,
        "optimizer": "adam", "learning_rate": 0.001, "loss": "sparse_categorical_crossentropy",
        "metrics": "sparse_categorical_accuracy", "incremental": false, "indefinite": false, "stream_timeout": 60000,
        "monitoring_metric": null, "change": null, "improvement": 0.05, "unsupervised": false, "unsupervised_rounds": 5,
        "confidence": 0.9, "batch": 1, "tf_kwargs_fit": "", "tf_kwargs_val": "", "pth_kwargs_fit": "",
        "pth_kwargs_val": "", "conf_mat_settings": false, "time": time, "federated": false, "agg_rounds": 15,
        "min_data": 1000, "agg_strategy": "FedAvg", "data_restriction": {}, "blockchain": false})
}

db_test!(list_has_the_full_object_with_defaults_and_nested_results, |app| async move {
    assert_eq!(expect_json(app.get("/deployments/").await, 200).await, json!([]));
    let tf1 = app.create_model("tf1", "tf", false, None).await;
    let tf2 = app.create_model("tf2", "tf", false, None).await;
    let cfg = app.create_configuration("cfg_tf", &[tf1, tf2]).await;
    let (d, results) = app.seed_deployment(cfg, |d| {
        d.batch = 10;
        d.tf_kwargs_fit = "epochs=5".to_owned();
        d.tf_kwargs_val = "steps=3".to_owned();
        d.time = parse("2026-11-28T01:32:20.160339").unwrap();
    });
    // The second result changed status later: it is listed first.
    set_result_status(&app, results[0], "created", "2026-11-28T01:32:20.166653");
    set_result_status(&app, results[1], "deployed", "2026-11-28T01:40:00");
    let list = expect_json(app.get("/deployments/").await, 200).await;
    let mut expected = default_deployment(
        d,
        (cfg, "cfg_tf"),
        json!([
            {"id": results[1], "status": "deployed", "model": {"id": tf2, "name": "tf2"}, "status_changed": "2026-11-28T01:40:00Z"},
            {"id": results[0], "status": "created", "model": {"id": tf1, "name": "tf1"}, "status_changed": "2026-11-28T01:32:20.166653Z"},
        ]),
        "2026-11-28T01:32:20.160339Z",
    );
    expected["batch"] = json!(10);
    expected["tf_kwargs_fit"] = json!("epochs=5");
    expected["tf_kwargs_val"] = json!("steps=3");
    assert_eq!(list.to_string(), json!([expected]).to_string());
    // JSON types: decimals are numbers, data_restriction an object.
    let dep = &list[0];
    assert!(dep["learning_rate"].is_f64() && dep["improvement"].is_f64() && dep["confidence"].is_f64());
    assert!(dep["data_restriction"].is_object());
    assert!(dep["stream_timeout"].is_i64() && dep["batch"].is_i64());
});

db_test!(list_is_newest_first_and_renders_stored_settings, |app| async move {
    let m = app.create_model("m", "pth", false, None).await;
    let c1 = app.create_configuration("c1", &[m]).await;
    let c2 = app.create_configuration("c2", &[]).await;
    let (old, _) = app.seed_deployment(c1, |d| d.time = parse("2024-01-01T00:00:00").unwrap());
    let (new, _) = app.seed_deployment(c2, |d| {
        d.time = parse("2024-02-01T00:00:00.000001").unwrap();
        d.learning_rate = 0.01;
        d.data_restriction = None;
        d.conf_mat_settings = None;
        d.monitoring_metric = Some("val_loss".to_owned());
        d.change = Some("down".to_owned());
        d.improvement = None;
        d.agg_strategy = kafkaml_domain::AggStrategy::FedYogi;
        d.federated = true;
    });
    let (middle, _) = app.seed_deployment(c1, |d| {
        d.time = parse("2024-01-15T12:00:00").unwrap();
        d.data_restriction = Some(r#"{"features": {"0": [1, 2]}, "label": 3}"#.to_owned());
    });
    let list = expect_json(app.get("/deployments/").await, 200).await;
    assert_eq!(ids(&list), vec![new, middle, old]);
    let newest = &list[0];
    assert_eq!(newest["time"], "2024-02-01T00:00:00.000001Z");
    assert_eq!(newest["results"], json!([]));
    assert_eq!(newest["learning_rate"].to_string(), "0.01");
    assert_eq!(
        (&newest["data_restriction"], &newest["conf_mat_settings"], &newest["improvement"]),
        (&Value::Null, &Value::Null, &Value::Null)
    );
    assert_eq!((&newest["monitoring_metric"], &newest["change"]), (&json!("val_loss"), &json!("down")));
    assert_eq!((&newest["agg_strategy"], &newest["federated"]), (&json!("FedYogi"), &json!(true)));
    assert_eq!(list[1]["data_restriction"].to_string(), r#"{"features":{"0":[1,2]},"label":3}"#);
    assert_eq!(list[2]["results"][0]["model"].to_string(), json!({"id": m, "name": "m"}).to_string());
});

db_test!(deployments_of_a_configuration, |app| async move {
    let m = app.create_model("m", "tf", false, None).await;
    let c1 = app.create_configuration("c1", &[m]).await;
    let c2 = app.create_configuration("c2", &[m]).await;
    let empty = app.create_configuration("empty", &[]).await;
    let (a, _) = app.seed_deployment(c1, |d| d.time = parse("2024-01-01T00:00:00").unwrap());
    let (b, _) = app.seed_deployment(c2, |d| d.time = parse("2024-01-02T00:00:00").unwrap());
    let (c, _) = app.seed_deployment(c1, |d| d.time = parse("2024-01-03T00:00:00").unwrap());
    // 200 with the deployments of that configuration only, newest first, in the list's shape.
    let all = expect_json(app.get("/deployments/").await, 200).await;
    assert_eq!(ids(&all), vec![c, b, a]);
    let of_c1 = expect_json(app.get(&format!("/deployments/{c1}")).await, 200).await;
    assert_eq!(of_c1.to_string(), json!([all[0], all[2]]).to_string());
    let of_c2 = expect_json(app.get(&format!("/deployments/{c2}")).await, 200).await;
    assert_eq!(of_c2.to_string(), json!([all[1]]).to_string());
    assert_eq!(expect_json(app.get(&format!("/deployments/{empty}")).await, 200).await, json!([]));
    let (status, body) = same_under_all_spellings(&app, &format!("/deployments/{c1}")).await;
    assert_eq!((status, body), (200, of_c1.to_string()));
    expect_text(app.get("/deployments/999").await, 404, "Configuration does not exist").await;
    expect_text(app.get("/deployments/abc").await, 404, "Configuration does not exist").await;
});

db_test!(delete_is_refused_while_results_exist, |app| async move {
    let m1 = app.create_model("m1", "tf", false, None).await;
    let m2 = app.create_model("m2", "tf", false, None).await;
    let cfg = app.create_configuration("cfg", &[m1, m2]).await;
    let (d, results) = app.seed_deployment(cfg, |_| {});
    let (other, _) = app.seed_deployment(cfg, |_| {});
    let path = format!("/deployments/{d}");
    let refused = "Deployment cannot be deleted. Please delete its training results first.";
    expect_text(app.delete(&path).await, 400, refused).await;
    // A result still running can not be deleted; a finished and a stopped one can.
    let res = app.delete(&format!("/results/{}", results[0])).await;
    assert_eq!(res.status(), 400);
    set_result_status(&app, results[0], "finished", "2024-01-01T00:00:00");
    set_result_status(&app, results[1], "stopped", "2024-01-01T00:00:00");
    expect_empty(app.delete(&format!("/results/{}", results[0])).await, 200).await;
    expect_text(app.delete(&path).await, 400, refused).await;
    expect_empty(app.delete(&format!("/api/results/{}/", results[1])).await, 200).await;
    expect_empty(app.delete(&path).await, 200).await;
    assert_eq!(ids(&expect_json(app.get("/deployments/").await, 200).await), vec![other]);
    assert_eq!(count!(app, automl_deployment), 1);
    expect_text(app.delete(&path).await, 404, "Deployment does not exist").await;
    expect_text(app.delete("/api/deployments/999/").await, 404, "Deployment does not exist").await;
    // Other methods on one deployment are not allowed.
    let res = app.put_json(&format!("/deployments/{other}"), &json!({})).await;
    assert_eq!(expect_json(res, 405).await.to_string(), r#"{"detail":"Method \"PUT\" not allowed."}"#);
});

db_test!(results_of_a_deployment, |app| async move {
    let m1 = app.create_model("m1", "tf", false, None).await;
    let m2 = app.create_model("m2", "pth", false, None).await;
    let cfg = app.create_configuration("cfg", &[m1, m2]).await;
    let (d, results) = app.seed_deployment(cfg, |d| d.time = parse("2024-03-01T09:00:00.5").unwrap());
    let (other, _) = app.seed_deployment(cfg, |_| {});
    set_result_status(&app, results[0], "finished", "2024-03-01T10:00:00");
    set_result_status(&app, results[1], "deployed", "2024-03-01T09:30:00");
    set_result_metrics(&app, results[0], r#"{"loss": [0.5, 0.4]}"#, Some(12.3457));
    let got = expect_json(app.get(&format!("/deployments/results/{d}")).await, 200).await;
    assert_eq!(
        got.to_string(),
        json!([
            {"id": results[0], "status": "finished", "status_changed": "2024-03-01T10:00:00Z",
                "deployment": {"id": d, "time": "2024-03-01T09:00:00.500000Z"}, "model": {"id": m1, "name": "m1"},
                "train_metrics": {"loss": [0.5, 0.4]}, "val_metrics": null, "test_metrics": null,
                "confusion_matrix": null, "training_time": 12.3457},
            {"id": results[1], "status": "deployed", "status_changed": "2024-03-01T09:30:00Z",
                "deployment": {"id": d, "time": "2024-03-01T09:00:00.500000Z"}, "model": {"id": m2, "name": "m2"},
                "train_metrics": null, "val_metrics": null, "test_metrics": null, "confusion_matrix": null,
                "training_time": null},
        ])
        .to_string()
    );
    // training_time is a number (as in /results/), not a string.
    assert!(got[0]["training_time"].is_f64());
    let of_other = expect_json(app.get(&format!("/deployments/results/{other}")).await, 200).await;
    assert_eq!(of_other.as_array().unwrap().len(), 2);
    for r in of_other.as_array().unwrap() {
        assert_eq!(r["deployment"]["id"], json!(other));
        drf_time(&r["status_changed"]);
        drf_time(&r["deployment"]["time"]);
    }
    let (status, body) = same_under_all_spellings(&app, &format!("/deployments/results/{d}")).await;
    assert_eq!((status, body), (200, got.to_string()));
    // A deployment without results answers an empty list.
    set_result_status(&app, results[1], "stopped", "2024-03-01T11:00:00");
    for r in &results {
        expect_empty(app.delete(&format!("/results/{r}")).await, 200).await;
    }
    assert_eq!(expect_json(app.get(&format!("/deployments/results/{d}")).await, 200).await, json!([]));
    expect_text(app.get("/deployments/results/999").await, 404, "Deployment does not exist").await;
    expect_text(app.get("/deployments/results/x").await, 404, "Deployment does not exist").await;
});

db_test!(every_spelling_of_the_list, |app| async move {
    let m = app.create_model("m", "tf", false, None).await;
    let cfg = app.create_configuration("cfg", &[m]).await;
    let (d, _) = app.seed_deployment(cfg, |_| {});
    let (status, body) = same_under_all_spellings(&app, "/deployments").await;
    assert_eq!(status, 200);
    let list: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ids(&list), vec![d]);
    drf_time(&list[0]["time"]);
    // Creating needs a cluster; whatever it answers, a bare POST never stores a half deployment.
    let res = app.post_json("/deployments/", &json!({})).await;
    assert!(res.status().is_client_error() || res.status().is_server_error(), "{}", res.status());
    assert_eq!(count!(app, automl_deployment), 1);
});
