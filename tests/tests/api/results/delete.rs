//! `DELETE /results/<id>`: the row and every file go, running results stay.

use super::*;

db_test!(delete_refuses_running_results, |app| async move {
    let s = seed_models(&app, &[("a", "tf", "model = a()", false), ("b", "pth", "model = b()", false)], |_| {});
    let [created, deployed] = [s.results[0], s.results[1]];
    deploy(&app, deployed).await;
    for id in [created, deployed] {
        let before = row(&app, id).unwrap();
        let (status, ctype, body) = answer(app.delete(&format!("/results/{id}")).await).await;
        assert_eq!((status, ctype.as_str(), body.as_str()), (400, "text/plain; charset=utf-8", IN_USE));
        assert_eq!(row(&app, id).unwrap(), before);
    }
    let (status, ctype, body) = answer(app.delete("/results/999").await).await;
    assert_eq!((status, ctype.as_str(), body.as_str()), (404, "text/plain; charset=utf-8", "Result does not exist"));
});

db_test!(delete_finished_result_removes_row_and_every_file, |app| async move {
    let s = seed_models(
        &app,
        &[("a", "tf", "model = a()", false), ("b", "pth", "model = b()", false), ("c", "tf", "model = c()", false)],
        |d| d.conf_mat_settings = Some(true),
    );
    let [tf, pth, other] = [s.results[0], s.results[1], s.results[2]];
    let data = json!({"test_metrics": {"loss": [0.1]}});
    for id in [tf, pth, other] {
        assert_eq!(upload(&app, id, Some(PNG_BYTES), &data).await.status(), 200);
    }
    // A stray file of the other framework (e.g. left by an older version) goes too.
    std::fs::write(trained_path(&app, &format!("{tf}.pth")), b"stray").unwrap();
    let mut expected = vec![
        format!("{tf}.h5"),
        format!("{tf}.png"),
        format!("{tf}.pth"),
        format!("{pth}.png"),
        format!("{pth}.pth"),
        format!("{other}.h5"),
        format!("{other}.png"),
    ];
    expected.sort();
    assert_eq!(trained_files(&app), expected);

    for id in [tf, pth] {
        let (status, ctype, body) = answer(app.delete(&format!("/results/{id}")).await).await;
        assert_eq!((status, ctype.as_str(), body.as_str()), (200, "", ""));
        assert!(row(&app, id).is_none());
    }
    let mut left = vec![format!("{other}.h5"), format!("{other}.png")];
    left.sort();
    assert_eq!(trained_files(&app), left, "only the other result's files remain");
    let (status, _, _) = answer(app.delete(&format!("/results/{tf}")).await).await;
    assert_eq!(status, 404, "a second delete finds nothing");
    let ids: Vec<i64> =
        app.get_json("/results/").await.as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [i64::from(other)]);
});

db_test!(delete_stopped_result_without_files, |app| async move {
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    set_status(&app, id, ResultStatus::Stopped);
    let res = app.delete(&format!("/api/results/{id}/")).await;
    assert_eq!(answer(res).await, (200, String::new(), String::new()));
    assert!(row(&app, id).is_none());
});

db_test!(delete_keeps_inferences_with_a_null_result, |app| async move {
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    assert_eq!(upload(&app, id, None, &json!({})).await.status(), 200);
    let inference = app.seed_inference(Some(id), "deployed", |_| {});
    let res = app.delete(&format!("/results/{id}")).await;
    assert_eq!(res.status(), 200);
    let mut conn = app.db.connect();
    let inf = inferences::find_row(&mut conn, inference).unwrap().expect("the inference row stays");
    assert_eq!(inf.fields.model_result_id, None);
    assert_eq!(inf.fields.status.as_str(), "deployed");
    let list = app.get_json("/inferences/").await;
    assert_eq!(list[0]["id"], json!(inference));
    assert_eq!(list[0]["model_result"], Value::Null);
});
