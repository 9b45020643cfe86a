//! `/configurations/…`, `/frameworksInConfiguration/<id>` and `/distributedConfiguration/<id>`.

use kafkaml_tests::{db_test, TestApp};
use serde_json::{json, Value};

use crate::resource_kit::{
    count, expect_empty, expect_json, expect_not_found_detail, expect_text, ids, same_under_all_spellings,
};

/// `[{"id", "name"}, …]` of the given models.
fn refs(models: &[(i64, &str)]) -> Value {
    Value::Array(models.iter().map(|(id, name)| json!({"id": id, "name": name})).collect())
}

/// The model ids of configuration `id`.
async fn model_ids_of(app: &TestApp, id: i64) -> Vec<i64> {
    ids(&expect_json(app.get(&format!("/configurations/{id}")).await, 200).await["ml_models"])
}

db_test!(list_is_newest_first_with_models_and_deployments, |app| async move {
    assert_eq!(expect_json(app.get("/configurations/").await, 200).await, json!([]));
    let m1 = app.create_model("m1", "tf", false, None).await;
    let m2 = app.create_model("m2", "pth", false, None).await;
    let m3 = app.create_model("m3", "tf", false, None).await;
    // Models are listed in ascending id order whatever the order they were selected in.
    let res = app
        .post_json("/configurations/", &json!({"name": "first", "description": "the first", "ml_models": [m3, m1]}))
        .await;
    expect_empty(res, 201).await;
    let first = ids(&expect_json(app.get("/configurations/").await, 200).await)[0];
    let second = app.create_configuration("second", &[m2]).await;
    let (d_old, _) =
        app.seed_deployment(first, |d| d.time = kafkaml_domain::datetime::parse("2024-05-01T10:00:00").unwrap());
    let (d_new, _) =
        app.seed_deployment(first, |d| d.time = kafkaml_domain::datetime::parse("2024-05-02T11:30:00.250000").unwrap());
    let list = expect_json(app.get("/configurations/").await, 200).await;
    assert_eq!(
        list.to_string(),
        json!([
            {"id": second, "name": "second", "description": "", "ml_models": refs(&[(m2, "m2")]), "deployments": []},
            {"id": first, "name": "first", "description": "the first", "ml_models": refs(&[(m1, "m1"), (m3, "m3")]),
                "deployments": [{"id": d_new, "time": "2024-05-02T11:30:00.250000Z"}, {"id": d_old, "time": "2024-05-01T10:00:00Z"}]},
        ])
        .to_string()
    );
    // GET one answers the same object.
    let one = expect_json(app.get(&format!("/configurations/{first}")).await, 200).await;
    assert_eq!(one, list[1]);
});

db_test!(create_expands_distributed_chains, |app| async move {
    let root = app.create_model("root", "tf", true, None).await;
    let child = app.create_model("child", "tf", true, Some(root)).await;
    let grand = app.create_model("grand", "tf", true, Some(child)).await;
    let plain = app.create_model("plain", "pth", false, None).await;
    let whole = app.create_configuration("whole", &[root]).await;
    let got = expect_json(app.get(&format!("/configurations/{whole}")).await, 200).await;
    assert_eq!(got["ml_models"].to_string(), refs(&[(root, "root"), (child, "child"), (grand, "grand")]).to_string());
    // Selecting a member pulls in the chain below it only.
    let lower = app.create_configuration("lower", &[plain, child]).await;
    assert_eq!(model_ids_of(&app, lower).await, vec![child, grand, plain]);
    // Repeated and overlapping selections are harmless.
    let twice = app.create_configuration("twice", &[grand, root, root, child]).await;
    assert_eq!(model_ids_of(&app, twice).await, vec![root, child, grand]);
    // An empty configuration is accepted.
    let empty = app.create_configuration("empty", &[]).await;
    assert_eq!(model_ids_of(&app, empty).await, Vec::<i64>::new());
    assert_eq!(count!(app, automl_configuration_ml_models), 3 + 3 + 3);
});

db_test!(create_errors_store_nothing, |app| async move {
    let m = app.create_model("m", "tf", false, None).await;
    let cases: Vec<(Value, String)> = vec![
        (json!({"name": "c", "ml_models": [m, 999]}), "Model 999 does not exist.".to_owned()),
        (json!({"name": "c", "ml_models": [99_999_999_999_i64]}), "Model 99999999999 does not exist.".to_owned()),
        (json!({"name": "c"}), "Configuration not valid: missing field `ml_models`".to_owned()),
        (json!({"ml_models": [m]}), "Configuration not valid: missing field `name`".to_owned()),
        (
            json!({"name": "", "ml_models": [m]}),
            "Configuration not valid: name: This field may not be blank.".to_owned(),
        ),
        (
            json!({"name": "x".repeat(31), "ml_models": [m]}),
            "Configuration not valid: name: Ensure this field has no more than 30 characters.".to_owned(),
        ),
        (
            json!({"name": "c", "ml_models": ["one"]}),
            "Configuration not valid: ml_models[0]: invalid type: string \"one\", expected i64".to_owned(),
        ),
        (
            json!({"name": "c", "ml_models": null}),
            "Configuration not valid: ml_models: invalid type: null, expected a sequence".to_owned(),
        ),
    ];
    for (body, message) in cases {
        expect_text(app.post_json("/configurations/", &body).await, 400, &message).await;
    }
    let res = app.post_raw("/configurations/", "application/json", "{nope").await;
    expect_text(
        res,
        400,
        "Configuration not valid: the body is not valid JSON (key must be a string at line 1 column 2).",
    )
    .await;
    assert_eq!(count!(app, automl_configuration), 0);
    assert_eq!(count!(app, automl_configuration_ml_models), 0);
    // Duplicate names.
    let c = app.create_configuration("c", &[m]).await;
    expect_text(
        app.post_json("/configurations/", &json!({"name": "c", "ml_models": []})).await,
        400,
        "A configuration named 'c' already exists.",
    )
    .await;
    assert_eq!(count!(app, automl_configuration), 1);
    // Extra keys (what the web UI leaves in its form) are ignored.
    let res = app
        .post_json(
            "/configurations/",
            &json!({"id": c, "name": "d", "ml_models": [m], "deployments": [{"id": 1}], "x": 1}),
        )
        .await;
    expect_empty(res, 201).await;
    assert_eq!(count!(app, automl_configuration), 2);
});

db_test!(get_one_and_not_found, |app| async move {
    let m = app.create_model("m", "tf", false, None).await;
    let c = app.create_configuration("c", &[m]).await;
    let got = expect_json(app.get(&format!("/configurations/{c}")).await, 200).await;
    assert_eq!(
        got.to_string(),
        json!({"id": c, "name": "c", "description": "", "ml_models": refs(&[(m, "m")]), "deployments": []}).to_string()
    );
    for path in ["/configurations/999", "/api/configurations/999/", "/configurations/x"] {
        expect_not_found_detail(app.get(path).await).await;
    }
});

db_test!(put_replaces_the_models, |app| async move {
    let a = app.create_model("a", "tf", false, None).await;
    let b = app.create_model("b", "pth", false, None).await;
    let root = app.create_model("root", "tf", true, None).await;
    let child = app.create_model("child", "tf", true, Some(root)).await;
    let c = app.create_configuration("c", &[a, b]).await;
    let path = format!("/configurations/{c}");
    let res = app.put_json(&path, &json!({"name": "c2", "description": "changed", "ml_models": [root]})).await;
    expect_empty(res, 200).await;
    let got = expect_json(app.get(&path).await, 200).await;
    assert_eq!(
        got.to_string(),
        json!({"id": c, "name": "c2", "description": "changed", "ml_models": refs(&[(root, "root"), (child, "child")]),
            "deployments": []})
        .to_string()
    );
    assert_eq!(count!(app, automl_configuration_ml_models), 2);
    // The web UI sends the whole form: an empty list empties the configuration.
    expect_empty(app.put_json(&path, &json!({"name": "c2", "description": "", "ml_models": []})).await, 200).await;
    assert_eq!(model_ids_of(&app, c).await, Vec::<i64>::new());
    expect_empty(app.put_json(&path, &json!({"name": "c2", "ml_models": [b]})).await, 200).await;
    // Errors leave the configuration as it was.
    expect_text(
        app.put_json(&path, &json!({"name": "c3", "ml_models": [a, 999]})).await,
        400,
        "Model 999 does not exist.",
    )
    .await;
    expect_text(
        app.put_json(&path, &json!({"name": "c3"})).await,
        400,
        "Information not valid: missing field `ml_models`",
    )
    .await;
    let other = app.create_configuration("other", &[]).await;
    expect_text(
        app.put_json(&path, &json!({"name": "other", "ml_models": [a]})).await,
        400,
        "A configuration named 'other' already exists.",
    )
    .await;
    let got = expect_json(app.get(&path).await, 200).await;
    assert_eq!((&got["name"], ids(&got["ml_models"])), (&json!("c2"), vec![b]));
    assert_eq!(model_ids_of(&app, other).await, Vec::<i64>::new());
    // Unknown id: 404 text, whatever the body.
    expect_text(
        app.put_json("/configurations/999", &json!({"name": "z", "ml_models": []})).await,
        404,
        "Configuration does not exist",
    )
    .await;
    expect_text(app.put_json("/configurations/999", &json!({})).await, 404, "Configuration does not exist").await;
});

db_test!(patch_keeps_models_unless_given, |app| async move {
    let a = app.create_model("a", "tf", false, None).await;
    let b = app.create_model("b", "tf", false, None).await;
    let root = app.create_model("root", "tf", true, None).await;
    let child = app.create_model("child", "tf", true, Some(root)).await;
    let c = app.create_configuration("c", &[a, b]).await;
    let path = format!("/configurations/{c}");
    let got = expect_json(app.patch_json(&path, &json!({"description": "patched"})).await, 200).await;
    assert_eq!(
        got.to_string(),
        json!({"id": c, "name": "c", "description": "patched", "ml_models": refs(&[(a, "a"), (b, "b")]), "deployments": []})
            .to_string()
    );
    let got = expect_json(app.patch_json(&path, &json!({"name": "renamed"})).await, 200).await;
    assert_eq!((&got["name"], ids(&got["ml_models"])), (&json!("renamed"), vec![a, b]));
    // Given models replace the old ones (chains expanded).
    let got = expect_json(app.patch_json(&path, &json!({"ml_models": [root]})).await, 200).await;
    assert_eq!(ids(&got["ml_models"]), vec![root, child]);
    assert_eq!(expect_json(app.get(&path).await, 200).await, got);
    // Errors.
    expect_not_found_detail(app.patch_json("/configurations/999", &json!({"name": "x"})).await).await;
    expect_text(app.patch_json(&path, &json!({"ml_models": [999]})).await, 400, "Model 999 does not exist.").await;
    assert_eq!(model_ids_of(&app, c).await, vec![root, child]);
});

db_test!(delete_rules, |app| async move {
    let m = app.create_model("m", "tf", false, None).await;
    let c = app.create_configuration("c", &[m]).await;
    let (d, results) = app.seed_deployment(c, |_| {});
    let path = format!("/configurations/{c}");
    expect_text(
        app.delete(&path).await,
        400,
        "Configuration cannot be deleted since it is used by a deployment. Consider to delete the deployment.",
    )
    .await;
    assert_eq!(count!(app, automl_configuration), 1);
    // Once its deployment is gone, it can be deleted; its model links go with it.
    crate::resource_kit::set_result_status(&app, results[0], "finished", "2024-01-01T00:00:00");
    expect_empty(app.delete(&format!("/results/{}", results[0])).await, 200).await;
    expect_empty(app.delete(&format!("/deployments/{d}")).await, 200).await;
    expect_empty(app.delete(&path).await, 200).await;
    assert_eq!(count!(app, automl_configuration), 0);
    assert_eq!(count!(app, automl_configuration_ml_models), 0);
    expect_not_found_detail(app.get(&path).await).await;
    expect_text(app.delete(&path).await, 404, "Configuration does not exist").await;
    expect_text(app.delete("/api/configurations/999/").await, 404, "Configuration does not exist").await;
    // The model itself is still there and can now be deleted.
    expect_empty(app.delete(&format!("/models/{m}")).await, 200).await;
});

db_test!(frameworks_in_configuration, |app| async move {
    let tf1 = app.create_model("tf1", "tf", false, None).await;
    let tf2 = app.create_model("tf2", "tf", false, None).await;
    let pth = app.create_model("pth", "pth", false, None).await;
    let mixed = app.create_configuration("mixed", &[tf1, pth, tf2]).await;
    let torch = app.create_configuration("torch", &[pth]).await;
    let empty = app.create_configuration("empty", &[]).await;
    let got = expect_json(app.get(&format!("/frameworksInConfiguration/{mixed}")).await, 200).await;
    assert_eq!(got.to_string(), r#"["pth","tf"]"#);
    let got = expect_json(app.get(&format!("/frameworksInConfiguration/{torch}")).await, 200).await;
    assert_eq!(got.to_string(), r#"["pth"]"#);
    let got = expect_json(app.get(&format!("/frameworksInConfiguration/{empty}")).await, 200).await;
    assert_eq!(got.to_string(), "[]");
    let (status, body) = same_under_all_spellings(&app, &format!("/frameworksInConfiguration/{mixed}")).await;
    assert_eq!((status, body.as_str()), (200, r#"["pth","tf"]"#));
    expect_text(app.get("/frameworksInConfiguration/999").await, 404, "Configuration does not exist").await;
    let res = app.post_json(&format!("/frameworksInConfiguration/{mixed}"), &json!({})).await;
    assert_eq!(res.status(), 405);
});

db_test!(distributed_configuration, |app| async move {
    let plain = app.create_model("plain", "tf", false, None).await;
    let root = app.create_model("root", "tf", true, None).await;
    let flat = app.create_configuration("flat", &[plain]).await;
    let dist = app.create_configuration("dist", &[plain, root]).await;
    let empty = app.create_configuration("empty", &[]).await;
    for (id, expected) in [(flat, false), (dist, true), (empty, false)] {
        let got = expect_json(app.get(&format!("/distributedConfiguration/{id}")).await, 200).await;
        assert_eq!(got, json!(expected));
    }
    let (status, body) = same_under_all_spellings(&app, &format!("/distributedConfiguration/{dist}")).await;
    assert_eq!((status, body.as_str()), (200, "true"));
    expect_text(app.get("/distributedConfiguration/999").await, 404, "Configuration does not exist").await;
});

db_test!(every_spelling_of_the_routes, |app| async move {
    let m = app.create_model("m", "tf", false, None).await;
    for (i, path) in
        ["/configurations", "/configurations/", "/api/configurations", "/api/configurations/"].iter().enumerate()
    {
        let res = app.post_json(path, &json!({"name": format!("c{i}"), "ml_models": [m]})).await;
        expect_empty(res, 201).await;
    }
    let (status, body) = same_under_all_spellings(&app, "/configurations").await;
    assert_eq!(status, 200);
    let list: Value = serde_json::from_str(&body).unwrap();
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["c3", "c2", "c1", "c0"]);
    let id = ids(&list)[0];
    let (status, _) = same_under_all_spellings(&app, &format!("/configurations/{id}")).await;
    assert_eq!(status, 200);
    expect_empty(
        app.put_json(&format!("/api/configurations/{id}/"), &json!({"name": "x", "ml_models": []})).await,
        200,
    )
    .await;
    let got =
        expect_json(app.patch_json(&format!("/api/configurations/{id}"), &json!({"description": "d"})).await, 200)
            .await;
    assert_eq!((&got["name"], &got["description"]), (&json!("x"), &json!("d")));
    expect_empty(app.delete(&format!("/api/configurations/{id}/")).await, 200).await;
    assert_eq!(count!(app, automl_configuration), 3);
});

db_test!(concurrent_creates_with_one_name, |app| async move {
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let client = app.client.clone();
        let url = app.url("/configurations/");
        tasks.push(tokio::spawn(async move {
            let res = client.post(url).json(&json!({"name": "same", "ml_models": []})).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }));
    }
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            (201, _) => created += 1,
            (status, body) => {
                assert_eq!((status, body.as_str()), (400, "A configuration named 'same' already exists."))
            }
        }
    }
    assert_eq!(created, 1);
    assert_eq!(count!(app, automl_configuration), 1);
});
