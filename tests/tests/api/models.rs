//! `/models/…`: list, create (executor check), validation, distributed father rules, retrieve,
//! PUT / PATCH / DELETE, the filtered lists and `/models/result/<resultId>`.

use kafkaml_persistence::repo::models::{self as model_repo, ModelFilter};
use kafkaml_tests::{db_test, DbKind, TestApp};
use serde_json::{json, Value};

use crate::resource_kit::{
    count, expect_empty, expect_json, expect_not_found_detail, expect_text, ids, model_body, same_under_all_spellings,
};

/// The JSON object GET /models/<id> answers for a model made by `TestApp::create_model`.
fn kit_model(id: i64, name: &str, framework: &str, distributed: bool, father: Option<(i64, &str)>) -> Value {
    let father = father.map(|(id, name)| json!({"id": id, "name": name})).unwrap_or(Value::Null);
    json!({"id": id, "code": format!("model = build_{name}()"), "name": name, "description": format!("{name} model"),
        "imports": "import x", "distributed": distributed, "father": father, "framework": framework})
}

fn check_request(code: &str, imports: &str, distributed: bool) -> String {
    json!({"imports_code": imports, "model_code": code, "distributed": distributed, "request_type": "check"})
        .to_string()
}

db_test!(list_is_in_id_order_with_father_references, |app| async move {
    assert_eq!(expect_json(app.get("/models/").await, 200).await, json!([]));
    let b = app.create_model("b_tf", "tf", false, None).await;
    let a = app.create_model("a_pth", "pth", false, None).await;
    let root = app.create_model("root", "tf", true, None).await;
    let child = app.create_model("child", "tf", true, Some(root)).await;
    let list = expect_json(app.get("/models/").await, 200).await;
    assert_eq!(
        list.to_string(),
        json!([
            kit_model(b, "b_tf", "tf", false, None),
            kit_model(a, "a_pth", "pth", false, None),
            kit_model(root, "root", "tf", true, None),
            kit_model(child, "child", "tf", true, Some((root, "root"))),
        ])
        .to_string()
    );
    assert!(b < a && a < root && root < child);
    assert!(list[0]["id"].is_i64() && list[0]["distributed"].is_boolean() && list[3]["father"]["id"].is_i64());
});

db_test!(create_answers_201_empty_after_the_executor_check, |app| async move {
    let res = app
        .post_json(
            "/models/",
            &json!({"name": "mnist", "description": "digits", "framework": "tf", "imports": "import tensorflow as tf",
                "code": "model = tf.keras.Sequential()", "distributed": false}),
        )
        .await;
    assert_eq!(res.headers().get("content-length").and_then(|v| v.to_str().ok()), Some("0"));
    expect_empty(res, 201).await;
    let requests = app.executor.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].0, "/exec_tf/");
    assert_eq!(
        requests[0].1.to_string(),
        check_request("model = tf.keras.Sequential()", "import tensorflow as tf", false)
    );

    // PyTorch goes to exec_pth/; absent `imports` and `distributed` are sent as "" and false.
    let res = app.post_json("/models/", &json!({"name": "torch", "framework": "pth", "code": "model = Net()"})).await;
    expect_empty(res, 201).await;
    let requests = app.executor.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].0, "/exec_pth/");
    assert_eq!(requests[1].1.to_string(), check_request("model = Net()", "", false));

    // A distributed model sends distributed: true.
    let res = app
        .post_json("/models/", &json!({"name": "dist", "framework": "tf", "code": "Dense(1)", "distributed": true}))
        .await;
    expect_empty(res, 201).await;
    assert_eq!(app.executor.requests()[2].1.to_string(), check_request("Dense(1)", "", true));

    let list = expect_json(app.get("/models/").await, 200).await;
    let first = list.as_array().unwrap().iter().find(|m| m["name"] == "mnist").unwrap();
    assert_eq!(
        first.to_string(),
        json!({"id": first["id"], "code": "model = tf.keras.Sequential()", "name": "mnist", "description": "digits",
            "imports": "import tensorflow as tf", "distributed": false, "father": null, "framework": "tf"})
        .to_string()
    );
    let torch = list.as_array().unwrap().iter().find(|m| m["name"] == "torch").unwrap();
    assert_eq!(
        (&torch["imports"], &torch["description"], &torch["framework"]),
        (&json!(""), &json!(""), &json!("pth"))
    );
    assert_eq!(count!(app, automl_mlmodel), 3);
});

db_test!(executor_rejection_is_400_and_stores_nothing, |app| async move {
    let res = app.post_json("/models/", &model_body("bad", "tf", "model = fail_code")).await;
    expect_text(res, 400, "Model not valid: the TensorFlow executor could not build a model from its code.").await;
    let res = app.post_json("/models/", &model_body("bad", "pth", "model = fail_code")).await;
    expect_text(res, 400, "Model not valid: the PyTorch executor could not build a model from its code.").await;
    assert_eq!(app.executor.request_count(), 2);
    assert_eq!(count!(app, automl_mlmodel), 0);
    assert_eq!(expect_json(app.get("/models/").await, 200).await, json!([]));
});

async fn executor_down(kind: DbKind) {
    let app = TestApp::spawn_with(kind, |s| s.executors.tf_url = "http://127.0.0.1:1/".into()).await;
    let res = app.post_json("/models/", &model_body("m", "tf", "model = 1")).await;
    expect_text(res, 503, "TensorFlow executor at http://127.0.0.1:1/ is unreachable: connection refused").await;
    assert_eq!(count!(app, automl_mlmodel), 0);
    // The PyTorch executor is still the stub: pth models can be created.
    expect_empty(app.post_json("/models/", &model_body("p", "pth", "model = 1")).await, 201).await;
    // A PUT that changes the code of a tf model needs the (unreachable) executor too.
    let id = expect_json(app.get("/models/").await, 200).await[0]["id"].as_i64().unwrap();
    let res = app.put_json(&format!("/models/{id}"), &model_body("p", "tf", "model = 2")).await;
    assert_eq!(res.status(), 503);
    let model = expect_json(app.get(&format!("/models/{id}")).await, 200).await;
    assert_eq!((&model["framework"], &model["code"]), (&json!("pth"), &json!("model = 1")));
}

mod executor_down_is_503_and_stores_nothing {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::executor_down(super::DbKind::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::executor_down(super::DbKind::Postgres).await
    }
}

db_test!(invalid_bodies_are_400_with_a_message_and_store_nothing, |app| async move {
    let long = "x".repeat(31);
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"name": "m", "code": "c", "framework": "keras"}),
            "Information not valid: framework: unknown variant `keras`, expected `tf` or `pth`",
        ),
        (
            json!({"name": long, "code": "c", "framework": "tf"}),
            "Information not valid: name: Ensure this field has no more than 30 characters.",
        ),
        (
            json!({"name": "m", "code": "c", "framework": "tf", "description": "d".repeat(101)}),
            "Information not valid: description: Ensure this field has no more than 100 characters.",
        ),
        (
            json!({"name": "m", "code": "c", "framework": "tf", "description": null}),
            "Information not valid: description: invalid type: null, expected a string",
        ),
        (json!({"name": "m", "framework": "tf"}), "Information not valid: missing field `code`"),
        (json!({"name": "m", "code": "c"}), "Information not valid: missing field `framework`"),
        (json!({"code": "c", "framework": "tf"}), "Information not valid: missing field `name`"),
        (
            json!({"name": "  ", "code": "c", "framework": "tf"}),
            "Information not valid: name: This field may not be blank.",
        ),
        (
            json!({"name": "m", "code": "", "framework": "tf"}),
            "Information not valid: code: This field may not be blank.",
        ),
        (
            json!({"name": "m", "code": "c", "framework": null}),
            "Information not valid: framework: invalid type: null, expected string or map",
        ),
        (
            json!({"name": "m", "code": "c", "framework": "tf", "distributed": "yes"}),
            "Information not valid: distributed: invalid type: string \"yes\", expected a boolean",
        ),
        (
            json!({"name": "m", "code": "c", "framework": "tf", "distributed": true, "father": [1]}),
            "Information not valid: father: [1] is not a valid id",
        ),
        (json!(["m"]), "Information not valid: the body must be a JSON object."),
        // Every wrong field at once, as DRF names them (security review; issue 12).
        (json!({}), "Information not valid: missing field `name`; missing field `code`; missing field `framework`"),
        (
            json!({"name": long, "framework": "keras", "code": ""}),
            "Information not valid: framework: unknown variant `keras`, expected `tf` or `pth`; code: This field may \
             not be blank.; name: Ensure this field has no more than 30 characters.",
        ),
    ];
    for (body, message) in cases {
        let res = app.post_json("/models/", &body).await;
        expect_text(res, 400, message).await;
    }
    // A form is not JSON: 415 before the route (the reference: the decoder's 400), see cross_site.rs.
    let res = app.post_raw("/models/", "application/x-www-form-urlencoded", "name=m&code=c&framework=tf").await;
    expect_text(
        res,
        415,
        r#"Unsupported media type "application/x-www-form-urlencoded": send the body as application/json."#,
    )
    .await;
    let res = app.post_raw("/models/", "application/json", "").await;
    expect_text(res, 400, "Information not valid: the request body is empty; send a JSON object.").await;
    // Nothing reached the executor and nothing was stored.
    assert_eq!(app.executor.request_count(), 0);
    assert_eq!(count!(app, automl_mlmodel), 0);
});

db_test!(duplicate_name_is_400_and_keeps_the_first, |app| async move {
    let id = app.create_model("dup", "tf", false, None).await;
    let res = app.post_json("/models/", &model_body("dup", "pth", "model = 2")).await;
    expect_text(res, 400, "A model named 'dup' already exists.").await;
    // Surrounding blanks are not part of the name.
    let res = app.post_json("/models/", &model_body(" dup ", "tf", "model = 2")).await;
    expect_text(res, 400, "A model named 'dup' already exists.").await;
    assert_eq!(count!(app, automl_mlmodel), 1);
    let model = expect_json(app.get(&format!("/models/{id}")).await, 200).await;
    assert_eq!(model.to_string(), kit_model(id, "dup", "tf", false, None).to_string());
});

db_test!(father_is_set_only_for_distributed_models, |app| async move {
    let root = app.create_model("root", "tf", true, None).await;
    // Not distributed: a father in the body is ignored.
    let plain = app.create_model("plain", "tf", false, Some(root)).await;
    let plain = expect_json(app.get(&format!("/models/{plain}")).await, 200).await;
    assert_eq!(plain["father"], Value::Null);
    // Distributed: the father is set, given as a number, a numeric string or an object.
    let child = app.create_model("child", "tf", true, Some(root)).await;
    let got = expect_json(app.get(&format!("/models/{child}")).await, 200).await;
    assert_eq!(got["father"].to_string(), json!({"id": root, "name": "root"}).to_string());
    let res = app
        .post_json(
            "/models/",
            &json!({"name": "grand", "framework": "tf", "code": "c", "distributed": true, "father": child.to_string()}),
        )
        .await;
    expect_empty(res, 201).await;
    let root2 = app.create_model("root2", "tf", true, None).await;
    let res = app
        .post_json(
            "/models/",
            &json!({"name": "child2", "framework": "tf", "code": "c", "distributed": true,
                "father": {"id": root2, "name": "root2"}}),
        )
        .await;
    expect_empty(res, 201).await;
    // null and 0 mean "no father".
    for (name, father) in [("solo1", Value::Null), ("solo2", json!(0))] {
        let res = app
            .post_json(
                "/models/",
                &json!({"name": name, "framework": "tf", "code": "c", "distributed": true, "father": father}),
            )
            .await;
        expect_empty(res, 201).await;
    }
    let list = expect_json(app.get("/models/").await, 200).await;
    let fathers: Vec<(String, Value)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap().to_owned(), m["father"]["id"].clone()))
        .collect();
    assert_eq!(
        fathers,
        vec![
            ("root".to_owned(), Value::Null),
            ("plain".to_owned(), Value::Null),
            ("child".to_owned(), json!(root)),
            ("grand".to_owned(), json!(child)),
            ("root2".to_owned(), Value::Null),
            ("child2".to_owned(), json!(root2)),
            ("solo1".to_owned(), Value::Null),
            ("solo2".to_owned(), Value::Null),
        ]
    );
});

db_test!(unknown_father_is_400_and_creates_no_row, |app| async move {
    let res = app
        .post_json(
            "/models/",
            &json!({"name": "orphan", "framework": "tf", "code": "c", "distributed": true, "father": 999}),
        )
        .await;
    expect_text(res, 400, "Father model 999 does not exist.").await;
    let res = app
        .post_json(
            "/models/",
            &json!({"name": "orphan", "framework": "tf", "code": "c", "distributed": true, "father": 99_999_999_999_i64}),
        )
        .await;
    expect_text(res, 400, "Father model 99999999999 does not exist.").await;
    assert_eq!(count!(app, automl_mlmodel), 0);
    // The name is still free.
    app.create_model("orphan", "tf", true, None).await;
});

db_test!(father_that_already_has_a_child_is_400, |app| async move {
    let root = app.create_model("root", "tf", true, None).await;
    let first = app.create_model("first", "tf", true, Some(root)).await;
    let res = app
        .post_json(
            "/models/",
            &json!({"name": "second", "framework": "tf", "code": "c", "distributed": true, "father": root}),
        )
        .await;
    expect_text(res, 400, &format!("Model {root} is already the father of model {first}.")).await;
    assert_eq!(count!(app, automl_mlmodel), 2);
    // Also on PUT: another model can not take the same father.
    let other = app.create_model("other", "tf", true, None).await;
    let mut body = model_body("other", "tf", "model = build_other()");
    body["distributed"] = json!(true);
    body["father"] = json!(root);
    let res = app.put_json(&format!("/models/{other}"), &body).await;
    expect_text(res, 400, &format!("Model {root} is already the father of model {first}.")).await;
    let got = expect_json(app.get(&format!("/models/{other}")).await, 200).await;
    assert_eq!(got["father"], Value::Null);
    // Re-stating the current father of the child is fine.
    let mut body = model_body("first", "tf", "model = build_first()");
    body["distributed"] = json!(true);
    body["father"] = json!(root);
    expect_empty(app.put_json(&format!("/models/{first}"), &body).await, 200).await;
});

db_test!(self_father_and_loops_are_400_on_put, |app| async move {
    let root = app.create_model("root", "tf", true, None).await;
    let child = app.create_model("child", "tf", true, Some(root)).await;
    let grand = app.create_model("grand", "tf", true, Some(child)).await;
    let mut body = model_body("root", "tf", "model = build_root()");
    body["distributed"] = json!(true);
    body["father"] = json!(root);
    expect_text(app.put_json(&format!("/models/{root}"), &body).await, 400, "A model can not be its own father.").await;
    // A descendant can not become the father: the chain would loop.
    body["father"] = json!(grand);
    let res = app.put_json(&format!("/models/{root}"), &body).await;
    expect_text(res, 400, &format!("Model {grand} can not be the father of model {root}: it descends from it.")).await;
    let res = app.patch_json(&format!("/models/{root}"), &json!({"father": child})).await;
    expect_text(res, 400, &format!("Model {child} can not be the father of model {root}: it descends from it.")).await;
    let fathers = expect_json(app.get("/models/fathers").await, 200).await;
    assert_eq!(ids(&fathers), vec![root]);
});

db_test!(get_one_and_not_found, |app| async move {
    let id = app.create_model("one", "pth", false, None).await;
    let got = expect_json(app.get(&format!("/models/{id}")).await, 200).await;
    assert_eq!(got.to_string(), kit_model(id, "one", "pth", false, None).to_string());
    for path in ["/models/999", "/models/999/", "/api/models/999", "/models/abc", "/models/-1", "/models/99999999999"] {
        // The same 404 for every unknown id, also one beyond the ids' range.
        expect_not_found_detail(app.get(path).await).await;
    }
});

db_test!(put_checks_code_only_when_code_or_framework_changed, |app| async move {
    let id = app.create_model("m", "tf", false, None).await;
    assert_eq!(app.executor.request_count(), 1);
    // Name, description and imports change: no executor call.
    let body = json!({"name": "renamed", "description": "new text", "framework": "tf", "imports": "import y",
        "code": "model = build_m()", "distributed": false, "father": null});
    expect_empty(app.put_json(&format!("/models/{id}"), &body).await, 200).await;
    assert_eq!(app.executor.request_count(), 1);
    let got = expect_json(app.get(&format!("/models/{id}")).await, 200).await;
    assert_eq!(
        got.to_string(),
        json!({"id": id, "code": "model = build_m()", "name": "renamed", "description": "new text", "imports": "import y",
            "distributed": false, "father": null, "framework": "tf"})
        .to_string()
    );
    // Code changes: checked again, with the new imports and code.
    let mut body = body;
    body["code"] = json!("model = v2()");
    expect_empty(app.put_json(&format!("/models/{id}"), &body).await, 200).await;
    let requests = app.executor.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].0, "/exec_tf/");
    assert_eq!(requests[1].1.to_string(), check_request("model = v2()", "import y", false));
    // Framework changes: checked by the new framework's executor.
    body["framework"] = json!("pth");
    expect_empty(app.put_json(&format!("/models/{id}"), &body).await, 200).await;
    let requests = app.executor.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[2].0, "/exec_pth/");
    // Rejected code: 400 and the row is unchanged.
    body["code"] = json!("model = fail_code");
    body["name"] = json!("not-saved");
    let res = app.put_json(&format!("/models/{id}"), &body).await;
    expect_text(res, 400, "Model not valid: the PyTorch executor could not build a model from its code.").await;
    let got = expect_json(app.get(&format!("/models/{id}")).await, 200).await;
    assert_eq!(
        (&got["name"], &got["code"], &got["framework"]),
        (&json!("renamed"), &json!("model = v2()"), &json!("pth"))
    );
});

db_test!(put_errors, |app| async move {
    let a = app.create_model("a", "tf", false, None).await;
    app.create_model("b", "tf", false, None).await;
    // Unknown id: 404 text, whatever the body.
    expect_text(app.put_json("/models/999", &model_body("x", "tf", "c")).await, 404, "Model does not exist").await;
    expect_text(app.put_json("/models/999", &json!({})).await, 404, "Model does not exist").await;
    // Invalid body.
    let res = app.put_json(&format!("/models/{a}"), &json!({"name": "a", "code": "c"})).await;
    expect_text(res, 400, "Information not valid: missing field `framework`").await;
    let res = app.put_json(&format!("/models/{a}"), &json!({"name": "a", "code": "c", "framework": "keras"})).await;
    expect_text(res, 400, "Information not valid: framework: unknown variant `keras`, expected `tf` or `pth`").await;
    // Another model's name.
    let res = app.put_json(&format!("/models/{a}"), &model_body("b", "tf", "model = build_a()")).await;
    expect_text(res, 400, "A model named 'b' already exists.").await;
    let got = expect_json(app.get(&format!("/models/{a}")).await, 200).await;
    assert_eq!(got.to_string(), kit_model(a, "a", "tf", false, None).to_string());
    // Unknown father on a distributed model: nothing changes.
    let mut body = model_body("a2", "tf", "model = build_a()");
    body["distributed"] = json!(true);
    body["father"] = json!(999);
    expect_text(app.put_json(&format!("/models/{a}"), &body).await, 400, "Father model 999 does not exist.").await;
    let got = expect_json(app.get(&format!("/models/{a}")).await, 200).await;
    assert_eq!(got.to_string(), kit_model(a, "a", "tf", false, None).to_string());
});

db_test!(put_father_rules, |app| async move {
    let root = app.create_model("root", "tf", true, None).await;
    let child = app.create_model("child", "tf", true, Some(root)).await;
    let path = format!("/models/{child}");
    // Distributed without a father in the body keeps the father.
    let mut body = model_body("child", "tf", "model = build_child()");
    body["distributed"] = json!(true);
    expect_empty(app.put_json(&path, &body).await, 200).await;
    assert_eq!(expect_json(app.get(&path).await, 200).await["father"]["id"], json!(root));
    // The web UI sends the father as an object on edit.
    body["father"] = json!({"id": root, "name": "root"});
    expect_empty(app.put_json(&path, &body).await, 200).await;
    assert_eq!(expect_json(app.get(&path).await, 200).await["father"]["id"], json!(root));
    // Not distributed any more: the father is cleared, even when one is sent.
    body["distributed"] = json!(false);
    expect_empty(app.put_json(&path, &body).await, 200).await;
    assert_eq!(expect_json(app.get(&path).await, 200).await["father"], Value::Null);
    // The root can take a new child now.
    let other = app.create_model("other", "tf", true, Some(root)).await;
    assert_eq!(expect_json(app.get(&format!("/models/{other}")).await, 200).await["father"]["id"], json!(root));
});

db_test!(patch_answers_the_object_and_keeps_the_father, |app| async move {
    let root = app.create_model("root", "tf", true, None).await;
    let child = app.create_model("child", "tf", true, Some(root)).await;
    let path = format!("/models/{child}");
    let before = app.executor.request_count();
    let got = expect_json(app.patch_json(&path, &json!({"description": "patched"})).await, 200).await;
    let mut expected = kit_model(child, "child", "tf", true, Some((root, "root")));
    expected["description"] = json!("patched");
    assert_eq!(got.to_string(), expected.to_string());
    assert_eq!(app.executor.request_count(), before, "no executor call without a code change");
    // A null father keeps the father too.
    let got = expect_json(app.patch_json(&path, &json!({"name": "kid", "father": null})).await, 200).await;
    assert_eq!(got["father"].to_string(), json!({"id": root, "name": "root"}).to_string());
    assert_eq!(got["name"], "kid");
    // distributed: false clears it.
    let got = expect_json(app.patch_json(&path, &json!({"distributed": false})).await, 200).await;
    assert_eq!((&got["distributed"], &got["father"]), (&json!(false), &Value::Null));
    assert_eq!(expect_json(app.get(&path).await, 200).await, got);
    // A code change is checked by the executor; a rejected one changes nothing.
    let got = expect_json(app.patch_json(&path, &json!({"code": "model = new()"})).await, 200).await;
    assert_eq!(got["code"], "model = new()");
    assert_eq!(app.executor.request_count(), before + 1);
    let res = app.patch_json(&path, &json!({"code": "fail_code", "name": "nope"})).await;
    expect_text(res, 400, "Model not valid: the TensorFlow executor could not build a model from its code.").await;
    let got = expect_json(app.get(&path).await, 200).await;
    assert_eq!((&got["code"], &got["name"]), (&json!("model = new()"), &json!("kid")));
    // Errors.
    expect_not_found_detail(app.patch_json("/models/999", &json!({"name": "x"})).await).await;
    let res = app.patch_json(&path, &json!({"framework": "keras"})).await;
    expect_text(res, 400, "Information not valid: framework: unknown variant `keras`, expected `tf` or `pth`").await;
    let res = app.patch_json(&path, &json!({"name": "root"})).await;
    expect_text(res, 400, "A model named 'root' already exists.").await;
});

db_test!(delete_rules, |app| async move {
    let root = app.create_model("root", "tf", true, None).await;
    let child = app.create_model("child", "tf", true, Some(root)).await;
    let plain = app.create_model("plain", "tf", false, None).await;
    let cfg = app.create_configuration("cfg", &[plain]).await;
    expect_text(
        app.delete(&format!("/models/{plain}")).await,
        400,
        "Model cannot be deleted since it is used in a configuration. Consider to delete the configuration.",
    )
    .await;
    assert_eq!(count!(app, automl_mlmodel), 3);
    expect_empty(app.delete(&format!("/configurations/{cfg}")).await, 200).await;
    expect_empty(app.delete(&format!("/models/{plain}")).await, 200).await;
    expect_not_found_detail(app.get(&format!("/models/{plain}")).await).await;
    // Deleting a father: its child becomes a root.
    expect_empty(app.delete(&format!("/models/{root}")).await, 200).await;
    let got = expect_json(app.get(&format!("/models/{child}")).await, 200).await;
    assert_eq!(got.to_string(), kit_model(child, "child", "tf", true, None).to_string());
    expect_text(app.delete(&format!("/models/{root}")).await, 404, "Model does not exist").await;
    expect_text(app.delete("/models/999").await, 404, "Model does not exist").await;
    assert_eq!(ids(&expect_json(app.get("/models/").await, 200).await), vec![child]);
});

db_test!(delete_removes_the_results_of_the_model, |app| async move {
    let keep = app.create_model("keep", "tf", false, None).await;
    let gone = app.create_model("gone", "tf", false, None).await;
    let cfg = app.create_configuration("cfg", &[keep, gone]).await;
    let (_, results) = app.seed_deployment(cfg, |_| {});
    assert_eq!(results.len(), 2);
    // The model leaves the configuration, then can be deleted with its results.
    expect_empty(
        app.put_json(&format!("/configurations/{cfg}"), &json!({"name": "cfg", "ml_models": [keep]})).await,
        200,
    )
    .await;
    // The results' files and an inference of the deleted model's result.
    let trained = app.data_dir.join("trained");
    for ext in ["h5", "pth", "png"] {
        std::fs::write(trained.join(format!("{}.{ext}", results[1])), b"x").unwrap();
    }
    std::fs::write(trained.join(format!("{}.h5", results[0])), b"kept").unwrap();
    let inference = app.seed_inference(Some(results[1] as i32), "stopped", |_| {});
    expect_empty(app.delete(&format!("/models/{gone}")).await, 200).await;
    assert_eq!(count!(app, automl_trainingresult), 1);
    let left = expect_json(app.get("/results/").await, 200).await;
    assert_eq!(left[0]["model"]["id"], json!(keep));
    for ext in ["h5", "pth", "png"] {
        assert!(!trained.join(format!("{}.{ext}", results[1])).exists(), "{ext} file left behind");
    }
    assert!(trained.join(format!("{}.h5", results[0])).exists());
    let got = expect_json(app.get(&format!("/inferences/{inference}")).await, 200).await;
    assert_eq!(got["model_result"], Value::Null);
});

db_test!(distributed_and_fathers_lists, |app| async move {
    let plain = app.create_model("plain", "tf", false, None).await;
    let root = app.create_model("root", "tf", true, None).await;
    let child = app.create_model("child", "tf", true, Some(root)).await;
    let grand = app.create_model("grand", "tf", true, Some(child)).await;
    let torch = app.create_model("torch", "pth", false, None).await;
    let distributed = expect_json(app.get("/models/distributed").await, 200).await;
    assert_eq!(
        distributed.to_string(),
        json!([
            kit_model(root, "root", "tf", true, None),
            kit_model(child, "child", "tf", true, Some((root, "root"))),
            kit_model(grand, "grand", "tf", true, Some((child, "child"))),
        ])
        .to_string()
    );
    let fathers = expect_json(app.get("/models/fathers").await, 200).await;
    assert_eq!(
        fathers.to_string(),
        json!([
            kit_model(plain, "plain", "tf", false, None),
            kit_model(root, "root", "tf", true, None),
            kit_model(torch, "torch", "pth", false, None),
        ])
        .to_string()
    );
    // The same through every spelling.
    for path in ["/models/distributed", "/models/fathers"] {
        let (status, body) = same_under_all_spellings(&app, path).await;
        assert_eq!(status, 200);
        assert_eq!(body, expect_json(app.get(path).await, 200).await.to_string());
    }
});

db_test!(model_of_a_result, |app| async move {
    let root = app.create_model("root", "tf", true, None).await;
    let child = app.create_model("child", "tf", true, Some(root)).await;
    let cfg = app.create_configuration("cfg", &[root]).await;
    let (_, results) = app.seed_deployment(cfg, |_| {});
    assert_eq!(results.len(), 2);
    let got = expect_json(app.get(&format!("/models/result/{}", results[1])).await, 200).await;
    assert_eq!(got.to_string(), kit_model(child, "child", "tf", true, Some((root, "root"))).to_string());
    let got = expect_json(app.get(&format!("/api/models/result/{}/", results[0])).await, 200).await;
    assert_eq!(got.to_string(), kit_model(root, "root", "tf", true, None).to_string());
    expect_text(app.get("/models/result/999").await, 404, "Training result does not exist").await;
    expect_text(app.get("/models/result/abc").await, 404, "Training result does not exist").await;
});

db_test!(every_spelling_of_the_routes, |app| async move {
    for (i, path) in ["/models", "/models/", "/api/models", "/api/models/"].iter().enumerate() {
        let res = app.post_json(path, &model_body(&format!("m{i}"), "tf", "model = 1")).await;
        expect_empty(res, 201).await;
    }
    let (status, body) = same_under_all_spellings(&app, "/models").await;
    assert_eq!(status, 200);
    let list: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 4);
    let id = ids(&list)[0];
    let (status, one) = same_under_all_spellings(&app, &format!("/models/{id}")).await;
    assert_eq!((status, serde_json::from_str::<Value>(&one).unwrap()), (200, list[0].clone()));
    let put = model_body("renamed", "tf", "model = 1");
    expect_empty(app.put_json(&format!("/api/models/{id}/"), &put).await, 200).await;
    let got = expect_json(app.patch_json(&format!("/api/models/{id}"), &json!({"description": "d"})).await, 200).await;
    assert_eq!((&got["name"], &got["description"]), (&json!("renamed"), &json!("d")));
    expect_empty(app.delete(&format!("/api/models/{id}/")).await, 200).await;
    let mut conn = crate::resource_kit::conn(&app);
    assert_eq!(model_repo::list(&mut conn, ModelFilter::All).unwrap().len(), 3);
    // POST on one model is not allowed.
    let res = app.post_json(&format!("/models/{}", ids(&list)[1]), &json!({})).await;
    let body = expect_json(res, 405).await;
    assert_eq!(body.to_string(), r#"{"detail":"Method \"POST\" not allowed."}"#);
});

db_test!(concurrent_creates_are_all_answered_cleanly, |app| async move {
    // Distinct names: every one is created.
    let mut tasks = Vec::new();
    for i in 0..12 {
        let client = app.client.clone();
        let url = app.url("/models/");
        tasks.push(tokio::spawn(async move {
            let res = client.post(url).json(&model_body(&format!("m{i}"), "tf", "model = 1")).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), (201, String::new()));
    }
    assert_eq!(count!(app, automl_mlmodel), 12);
    // One name: exactly one is created, the others are told why.
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let client = app.client.clone();
        let url = app.url("/models/");
        tasks.push(tokio::spawn(async move {
            let res = client.post(url).json(&model_body("same", "tf", "model = 1")).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }));
    }
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            (201, _) => created += 1,
            (status, body) => assert_eq!((status, body.as_str()), (400, "A model named 'same' already exists.")),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(count!(app, automl_mlmodel), 13);
});

db_test!(concurrent_children_of_one_father, |app| async move {
    let root = app.create_model("root", "tf", true, None).await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let client = app.client.clone();
        let url = app.url("/models/");
        let body =
            json!({"name": format!("child{i}"), "framework": "tf", "code": "c", "distributed": true, "father": root});
        tasks.push(tokio::spawn(async move {
            let res = client.post(url).json(&body).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }));
    }
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            (201, _) => created += 1,
            (400, body) => assert!(body.starts_with(&format!("Model {root} is already the father of ")), "{body}"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(count!(app, automl_mlmodel), 2);
    let distributed = expect_json(app.get("/models/distributed").await, 200).await;
    assert_eq!(distributed[1]["father"]["id"], json!(root));
});
