//! `GET /results/<id>`: the training pod's fetch of its model, which deploys a `created` result.

use super::*;

db_test!(get_tf_result_returns_the_executor_model_and_deploys, |app| async move {
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    let before = row(&app, id).unwrap();
    let res = app.get(&format!("/results/{id}")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-type"), "application/model");
    assert_eq!(header(&res, "content-disposition"), "attachment; filename=\"model.h5\"");
    let body = res.bytes().await.unwrap();
    assert_eq!(&body[..], b"HDF5-STUB:model = tf.keras.Sequential()");
    let requests = app.executor.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].0, "/exec_tf/");
    assert_eq!(
        requests[0].1,
        json!({"imports_code": "import tensorflow as tf", "model_code": "model = tf.keras.Sequential()",
            "distributed": false, "request_type": "load_model"})
    );
    let after = row(&app, id).unwrap();
    assert_eq!(after.status.as_str(), "deployed");
    assert!(after.status_changed > before.status_changed);

    // A second download (a retrying pod) keeps it deployed without touching status_changed.
    let res = app.get(&format!("/api/results/{id}/")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(&res.bytes().await.unwrap()[..], b"HDF5-STUB:model = tf.keras.Sequential()");
    let again = row(&app, id).unwrap();
    assert_eq!(again.status.as_str(), "deployed");
    assert_eq!(again.status_changed, after.status_changed);
});

db_test!(get_pth_result_returns_the_code_as_text, |app| async move {
    let s = seed_pth(&app, |_| {});
    let id = s.result();
    let res = app.get(&format!("/results/{id}")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-type"), "text/plain; charset=utf-8");
    assert_eq!(res.text().await.unwrap(), "model = NeuralNetwork()");
    assert_eq!(app.executor.request_count(), 0, "PyTorch code is served without the executor");
    assert_eq!(row(&app, id).unwrap().status.as_str(), "deployed");
});

db_test!(get_finished_result_stays_finished, |app| async move {
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    assert_eq!(upload(&app, id, None, &json!({})).await.status(), 200);
    let finished = row(&app, id).unwrap();
    assert_eq!(finished.status.as_str(), "finished");
    let res = app.get(&format!("/results/{id}")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(&res.bytes().await.unwrap()[..], b"HDF5-STUB:model = tf.keras.Sequential()");
    assert_eq!(row(&app, id).unwrap(), finished);
});

db_test!(stopped_result_fetched_again_becomes_deployed, |app| async move {
    let s = seed_pth(&app, |_| {});
    let id = s.result();
    set_status(&app, id, ResultStatus::Stopped);
    assert_eq!(app.get(&format!("/results/{id}")).await.status(), 200);
    assert_eq!(row(&app, id).unwrap().status.as_str(), "deployed");
});

db_test!(head_result_changes_nothing, |app| async move {
    let tf = seed_tf(&app, |_| {});
    let pth = seed_pth(&app, |_| {});
    for id in [tf.result(), pth.result()] {
        let before = row(&app, id).unwrap();
        let res = app.client.head(app.url(&format!("/results/{id}"))).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.bytes().await.unwrap().is_empty());
        assert_eq!(row(&app, id).unwrap(), before, "HEAD must not deploy result {id}");
        assert_eq!(before.status.as_str(), "created");
    }
    let res = app.client.head(app.url(&format!("/results/{}", tf.result()))).send().await.unwrap();
    assert_eq!(header(&res, "content-type"), "application/model");
    assert_eq!(app.executor.request_count(), 0, "HEAD does not call the executor");
    let res = app.client.head(app.url("/results/424242")).send().await.unwrap();
    assert_eq!(res.status(), 404);
});

db_test!(executor_failure_is_a_502_and_changes_nothing, |app| async move {
    let s = seed_models(&app, &[("bad", "tf", "model = fail_code()", false)], |_| {});
    let id = s.result();
    let before = row(&app, id).unwrap();
    let (status, ctype, body) = answer(app.get(&format!("/results/{id}")).await).await;
    assert_eq!(status, 502);
    assert_eq!(ctype, "text/plain; charset=utf-8");
    assert!(body.contains("400"), "the message says what the executor answered: {body}");
    assert!(body.contains("fail_code"), "{body}");
    assert_eq!(row(&app, id).unwrap(), before);
});

db_test!(
    executor_down_is_a_503_and_changes_nothing,
    settings = |s| {
        s.executors.tf_url = "http://127.0.0.1:1/".to_owned();
        s.executors.pth_url = "http://127.0.0.1:1/".to_owned();
    },
    |app| async move {
        let s = seed_tf(&app, |_| {});
        let id = s.result();
        let before = row(&app, id).unwrap();
        let (status, ctype, body) = answer(app.get(&format!("/results/{id}")).await).await;
        assert_eq!(status, 503);
        assert_eq!(ctype, "text/plain; charset=utf-8");
        assert!(body.contains("unreachable"), "{body}");
        assert_eq!(row(&app, id).unwrap(), before);
        // PyTorch code needs no executor.
        let p = seed_pth(&app, |_| {});
        assert_eq!(app.get(&format!("/results/{}", p.result())).await.status(), 200);
    }
);

db_test!(unknown_result_is_a_404_text, |app| async move {
    for path in ["/results/999", "/results/999/", "/api/results/999", "/api/results/999/"] {
        let (status, ctype, body) = answer(app.get(path).await).await;
        assert_eq!((status, ctype.as_str(), body.as_str()), (404, "text/plain; charset=utf-8", NO_RESULT), "{path}");
    }
});
