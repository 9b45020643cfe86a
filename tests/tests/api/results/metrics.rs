//! `POST /results_metrics/<id>`: the metrics a training pod sends after each epoch.

use super::*;

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
    assert_eq!(r.status.as_str(), "created");
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
