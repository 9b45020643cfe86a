//! `GET /results/chart/<id>`: the metrics as the web UI's chart reads them.

use super::*;

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
