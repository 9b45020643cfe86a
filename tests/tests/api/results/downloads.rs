//! `GET /results/model/<id>` and `GET /results/confusion_matrix/<id>`: the stored files.

use super::*;

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
    assert_eq!(row(&app, s.results[0]).unwrap().status.as_str(), "finished");
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
