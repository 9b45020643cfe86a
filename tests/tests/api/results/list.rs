//! `GET /results/`: the list, its order and shape.

use super::*;

fn deployed_time(app: &TestApp, id: i32) -> String {
    let mut conn = app.db.connect();
    datetime::format(&repo::find_context(&mut conn, id).unwrap().unwrap().deployment.fields.time)
}

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
