use kafkaml_tests::db_test;
use serde_json::json;

db_test!(model_round_trip, |app| async move {
    let id = app.create_model("m1", "tf", false, None).await;
    let model = app.get_json(&format!("/models/{id}")).await;
    assert_eq!(
        model.to_string(),
        json!({"id": id, "code": "model = build_m1()", "name": "m1", "description": "m1 model", "imports": "import x",
            "distributed": false, "father": null, "framework": "tf"})
        .to_string()
    );
});
