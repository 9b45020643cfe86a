//! Across the routes: concurrency, large and interrupted uploads, Python JSON.

use super::*;

db_test!(concurrent_training_pods_never_get_a_500, |app| async move {
    let specs: Vec<(String, &str, String, bool)> = (0..6)
        .map(|i| (format!("m{i}"), if i % 2 == 0 { "tf" } else { "pth" }, format!("model = m{i}()"), false))
        .collect();
    let specs: Vec<(&str, &str, &str, bool)> =
        specs.iter().map(|(n, f, c, d)| (n.as_str(), *f, c.as_str(), *d)).collect();
    // Indefinite incremental, so that the first result's upload may be indefinite.
    let s = seed_models(&app, &specs, indefinite);
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
        assert_eq!(row(&app, *id).unwrap().status.as_str(), "finished");
    }
    assert_eq!(
        row(&app, s.results[0]).unwrap().status.as_str(),
        "deployed",
        "the indefinite upload went to a new result"
    );
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
    assert_eq!(r.status.as_str(), "finished");
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
    let s = seed_tf(&app, |d| {
        indefinite(d);
        d.conf_mat_settings = Some(true);
    });
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
    // Indefinite: every upload adds a result and the original one keeps accepting writes.
    let s = seed_tf(&app, indefinite);
    let id = s.result();
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for worker in 0..12 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for round in 0..15 {
                let data = json!({"train_metrics": {"loss": [worker, round]}, "indefinite": true});
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
