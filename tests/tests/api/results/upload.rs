//! `POST /results/<id>`: the training pod's upload of the trained model, metrics and confusion matrix.

use super::*;

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
    assert_eq!(r.status.as_str(), "finished");
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
    assert_eq!(r.status.as_str(), "finished");
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
    assert_eq!(row(&app, id).unwrap(), before, "no metrics saved (decisions.md item 10)");
    assert!(trained_files(&app).is_empty(), "no files and no temporary files: {:?}", trained_files(&app));
    // The stored test metrics count when the upload does not send any (a result that runs again).
    assert_eq!(upload(&app, id, Some(PNG_BYTES), &data).await.status(), 200);
    set_status(&app, id, ResultStatus::Deployed);
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
        assert_eq!(r.status.as_str(), "finished");
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
        assert_eq!(row(&app, *id).unwrap().status.as_str(), "finished");
    }
});

db_test!(indefinite_upload_creates_a_new_result, |app| async move {
    let s = seed_tf(&app, indefinite);
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
    assert_eq!(r.status.as_str(), "finished");
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
    let s = seed_tf(&app, |d| {
        indefinite(d);
        d.conf_mat_settings = Some(true);
    });
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

db_test!(uploads_and_metrics_are_refused_once_the_training_ended, |app| async move {
    let s = seed_tf(&app, indefinite);
    let id = s.result();
    let data = json!({"train_metrics": {"loss": [0.5]}, "training_time": 1});
    for status in [ResultStatus::Stopped, ResultStatus::Failed, ResultStatus::Finished] {
        set_status(&app, id, status);
        age(&app, id);
        let before = row(&app, id).unwrap();
        let expected = not_running(status.as_str());
        for indefinite in [false, true] {
            let data = json!({"train_metrics": {"loss": [0.5]}, "indefinite": indefinite});
            let (code, ctype, body) = answer(upload(&app, id, None, &data).await).await;
            assert_eq!((code, ctype.as_str(), body.as_str()), (400, "text/plain; charset=utf-8", expected.as_str()));
        }
        let (code, _, body) = answer(post_metrics_form(&app, &format!("/results_metrics/{id}"), &data).await).await;
        assert_eq!((code, body.as_str()), (400, expected.as_str()), "{status:?}");
        assert_eq!(row(&app, id).unwrap(), before, "{status:?}: nothing changed");
        assert_eq!(all_result_ids(&app), [id], "{status:?}: no new result");
        assert!(trained_files(&app).is_empty(), "{status:?}: no file, no temporary file");
    }
    // Just finished, a result takes its pod's retry; once the grace is over its model stays.
    set_status(&app, id, ResultStatus::Deployed);
    assert_eq!(upload(&app, id, None, &data).await.status(), 200);
    let retry = || upload_form(Some(MODEL_BYTES_2), None, Some(r#"{"training_time": 2}"#));
    assert_eq!(post_form(&app, &format!("/results/{id}"), retry()).await.status(), 200);
    assert_eq!(std::fs::read(trained_path(&app, &format!("{id}.h5"))).unwrap(), MODEL_BYTES_2);
    age(&app, id);
    let finished = row(&app, id).unwrap();
    assert_eq!(finished.training_time, Some(2.0));
    let res = post_form(&app, &format!("/results/{id}"), upload_form(Some(MODEL_BYTES), None, Some("{}"))).await;
    assert_eq!(answer(res).await, (400, "text/plain; charset=utf-8".to_owned(), not_running("finished")));
    assert_eq!(row(&app, id).unwrap(), finished);
    assert_eq!(std::fs::read(trained_path(&app, &format!("{id}.h5"))).unwrap(), MODEL_BYTES_2);
    // Unknown results are still 404.
    let (code, _, body) = answer(upload(&app, id + 1000, None, &data).await).await;
    assert_eq!((code, body.as_str()), (404, NO_RESULT));
    let (code, _, body) =
        answer(post_metrics_form(&app, &format!("/results_metrics/{}", id + 1000), &data).await).await;
    assert_eq!((code, body.as_str()), (404, NO_RESULT));
});

db_test!(indefinite_uploads_are_refused_unless_the_training_is_indefinite, |app| async move {
    let plain = seed_models(&app, &[("plain", "tf", "model = a()", false)], |_| {});
    let incremental = seed_models(&app, &[("inc", "tf", "model = b()", false)], |d| d.incremental = true);
    let not_incremental = seed_models(&app, &[("ind", "tf", "model = c()", false)], |d| {
        indefinite(d);
        d.incremental = false;
    });
    for s in [&plain, &incremental, &not_incremental] {
        let id = s.result();
        deploy(&app, id).await;
        let before = row(&app, id).unwrap();
        let data = json!({"train_metrics": {"loss": [0.5]}, "indefinite": true});
        let (code, _, body) = answer(upload(&app, id, None, &data).await).await;
        let expected = format!(
            "Deployment {} is not an indefinite incremental training: its results do not accept \"indefinite\" \
             uploads.",
            s.deployment
        );
        assert_eq!((code, body.as_str()), (400, expected.as_str()));
        assert_eq!(row(&app, id).unwrap(), before);
        assert!(trained_files(&app).is_empty(), "{:?}", trained_files(&app));
    }
    assert_eq!(all_result_ids(&app).len(), 3, "no result was added");
    // The same upload without "indefinite" finishes the result itself.
    let id = plain.result();
    assert_eq!(upload(&app, id, None, &json!({"indefinite": false})).await.status(), 200);
    assert_eq!(row(&app, id).unwrap().status.as_str(), "finished");
});

db_test!(
    indefinite_uploads_stop_at_the_results_limit,
    settings = |s: &mut kafkaml_api::Settings| s.images.max_results_per_deployment = 3,
    |app| async move {
        let s = seed_tf(&app, indefinite);
        let id = s.result();
        deploy(&app, id).await;
        let data = json!({"train_metrics": {"loss": [0.5]}, "indefinite": true});
        for _ in 0..2 {
            assert_eq!(upload(&app, id, None, &data).await.status(), 200);
        }
        let ids = all_result_ids(&app);
        assert_eq!(ids.len(), 3);
        let files = trained_files(&app);
        let (code, _, body) = answer(upload(&app, id, None, &data).await).await;
        let expected = format!(
            "Deployment {} already has 3 results, the most KAFKAML_MAX_RESULTS_PER_DEPLOYMENT allows.",
            s.deployment
        );
        assert_eq!((code, body.as_str()), (400, expected.as_str()));
        assert_eq!(all_result_ids(&app), ids);
        assert_eq!(trained_files(&app), files, "no file of the refused upload is kept");
        // The training's own result still takes its metrics and its final upload.
        let res =
            post_metrics_form(&app, &format!("/results_metrics/{id}"), &json!({"train_metrics": {"l": [1]}})).await;
        assert_eq!(res.status(), 200);
        assert_eq!(upload(&app, id, None, &json!({"training_time": 1})).await.status(), 200);
        assert_eq!(row(&app, id).unwrap().status.as_str(), "finished");
    }
);

db_test!(a_file_part_labelled_multipart_is_stored_like_any_file, |app| async move {
    // Django's test client labels an uploaded file's part `Content-Type: multipart/form-data`;
    // Django stores it as a file, and so does this back-end (it is not a nested multipart body).
    let s = seed_tf(&app, |d| d.conf_mat_settings = Some(true));
    let id = s.result();
    let data = json!({"test_metrics": {"loss": [0.3]}, "confusion_matrix": [[1]], "training_time": 1});
    let file = |filename: &str, bytes: &[u8]| {
        Part::bytes(bytes.to_vec()).file_name(filename.to_owned()).mime_str("multipart/form-data").unwrap()
    };
    let form = Form::new()
        .part("trained_model", file("model.h5", MODEL_BYTES))
        .part("confussion_matrix", file("matrix.png", PNG_BYTES))
        .text("data", data.to_string());
    assert_eq!(
        answer(post_form(&app, &format!("/results/{id}"), form).await).await,
        (200, String::new(), String::new())
    );
    assert_eq!(std::fs::read(trained_path(&app, &format!("{id}.h5"))).unwrap(), MODEL_BYTES);
    assert_eq!(std::fs::read(trained_path(&app, &format!("{id}.png"))).unwrap(), PNG_BYTES);
    assert_eq!(row(&app, id).unwrap().status.as_str(), "finished");
});
