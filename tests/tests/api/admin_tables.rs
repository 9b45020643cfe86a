//! The admin site's deployments, training results, datasources, inferences and IoT devices
//! tables over HTTP, on SQLite and PostgreSQL: their lists (rows, filters, search), their change
//! pages, their actions through the REST API's use cases (with their effect on rows, on the fake
//! Kubernetes cluster and in the audit trail), the rules' refusals in the rules' words, and
//! deletion with its confirmation page. Every link of every page is relative.

use std::time::{Duration, Instant};

use kafkaml_domain::ResultStatus;
use kafkaml_persistence::repo::{audit, deployments, inferences, iot_devices, results};
use kafkaml_tests::admin::{AdminClient, Page};
use kafkaml_tests::fake_kube::{FakeKube, Kind};
use kafkaml_tests::{db_test, DbKind, TestApp};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use crate::results::{
    insert_model, insert_model_with_father, seed_configuration, seed_models, set_status, trained_files, upload, IN_USE,
    MODEL_BYTES, PNG_BYTES,
};

const NS: &str = "kafkaml";

/// GET `path` and check that it is a page with relative links only.
async fn open(browser: &AdminClient, path: &str) -> Page {
    let page = browser.get(path).await;
    assert_eq!(page.status, 200, "GET {path}: {}", page.body);
    page.assert_relative_links();
    page
}

/// The ids of the rows of a list page, in order.
fn row_ids(page: &Page) -> Vec<String> {
    page.attrs("#result-list tbody tr", "data-id")
}

/// The cells (`td`) of row `id` of a list page (the first is the selection box, when the table
/// deletes).
fn cells(page: &Page, id: impl std::fmt::Display) -> Vec<String> {
    page.texts(&format!("#result-list tbody tr[data-id=\"{id}\"] td"))
}

/// The link of filter choice `label` on a list page.
fn filter_link(page: &Page, label: &str) -> String {
    let html = page.html();
    let selector = scraper::Selector::parse("#filters a").unwrap();
    html.select(&selector)
        .find(|a| a.text().collect::<String>().trim() == label)
        .and_then(|a| a.value().attr("href").map(str::to_owned))
        .unwrap_or_else(|| panic!("no filter choice {label} in {}", page.body))
}

/// The newest audit entry about `kind`.
fn last_entry(app: &TestApp, kind: &str) -> audit::Entry {
    audit::recent(&mut app.db.connect(), 200).unwrap().into_iter().find(|e| e.object_kind == kind).unwrap()
}

fn entries_of(app: &TestApp, kind: &str) -> Vec<audit::Entry> {
    let mut entries: Vec<audit::Entry> =
        audit::recent(&mut app.db.connect(), 200).unwrap().into_iter().filter(|e| e.object_kind == kind).collect();
    entries.reverse();
    entries
}

/// The newest audit entry about `kind` says that root did `action` to object `id`.
fn assert_audited(app: &TestApp, kind: &str, action: &str, id: i32) {
    let e = last_entry(app, kind);
    assert_eq!((e.actor.as_str(), e.action.as_str(), e.object_id), ("root", action, Some(id)), "{e:?}");
}

/// The application pointed at a fresh fake Kubernetes API server, with what training and
/// inference Jobs need.
async fn with_kube(kind: DbKind) -> (TestApp, FakeKube) {
    let kube = FakeKube::start("fake-token").await;
    let (url, token) = (kube.url(), kube.token().to_owned());
    let app = TestApp::spawn_with(kind, move |s| {
        s.kube.host = Some(url);
        s.kube.token = Some(token.into());
        s.kube.timeout_secs = 2;
        s.images.backend_url = Some("http://backend:8000".to_owned());
        s.kafka.bootstrap_servers = Some("kafka:9092".to_owned());
        s.kafka.control_topic = Some("KAFKA_ML_CONTROL_TOPIC".to_owned());
        s.images.tensorflow_training = Some("kafkaml/tf-training:test".to_owned());
        s.images.pytorch_training = Some("kafkaml/pth-training:test".to_owned());
        s.images.tensorflow_inference = Some("kafkaml/tf-inference:test".to_owned());
        s.images.pytorch_inference = Some("kafkaml/pth-inference:test".to_owned());
    })
    .await;
    (app, kube)
}

/// Deploys `configuration` through the REST API and returns its result ids by model name.
async fn deploy_through_api(app: &TestApp, configuration: i64) -> std::collections::HashMap<String, i32> {
    let body = json!({"configuration": configuration, "batch": 10, "gpumem": 0,
        "tf_kwargs_fit": "epochs=5", "tf_kwargs_val": "", "pth_kwargs_fit": "", "pth_kwargs_val": ""});
    let res = app.post_json("/deployments/", &body).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let deployments = app.get_json("/deployments/").await;
    deployments[0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["model"]["name"].as_str().unwrap().to_owned(), r["id"].as_i64().unwrap() as i32))
        .collect()
}

// --- index ------------------------------------------------------------------------------------

db_test!(admin_tables_are_all_on_the_index_in_order, |app| async move {
    let browser = AdminClient::superuser(&app, "/admin/").await;
    let index = open(&browser, "").await;
    assert_eq!(
        index.attrs("tbody tr", "id"),
        [
            "table-models",
            "table-configurations",
            "table-deployments",
            "table-results",
            "table-datasources",
            "table-inferences",
            "table-iot-devices",
            "table-users",
            "table-tokens"
        ]
    );
    // Machines write results, datasources and inferences; the other tables are added to here.
    assert_eq!(
        index.attrs("tbody tr a.add", "href"),
        ["models/add/", "configurations/add/", "deployments/add/", "iot-devices/add/", "users/add/", "tokens/add/"]
    );
    for slug in ["deployments", "results", "datasources", "inferences", "iot-devices"] {
        let list = open(&browser, &format!("{slug}/")).await;
        assert!(row_ids(&list).is_empty(), "{slug}");
    }
    for slug in ["results", "datasources", "inferences"] {
        assert_eq!(browser.get(&format!("{slug}/add/")).await.status, 404, "{slug}");
    }
});

// --- deployments ------------------------------------------------------------------------------

db_test!(admin_tables_deployments_are_listed_filtered_shown_and_deleted_after_their_results, |app| async move {
    let browser = AdminClient::superuser(&app, "/api/admin/").await;
    let plain = seed_models(&app, &[("a", "tf", "model = a", false)], |d| d.batch = 32);
    let federated = seed_models(&app, &[("b", "tf", "model = b", false)], |d| {
        d.federated = true;
        d.incremental = true;
    });
    let root = insert_model(&app, "root", "tf", "model = root", true);
    let child = insert_model_with_father(&app, "child", "tf", "model = child", true, Some(root));
    let chain = seed_configuration(&app, vec![root, child], |_| {});
    let list = open(&browser, "deployments/").await;
    let ids: Vec<String> = [chain.deployment, federated.deployment, plain.deployment].map(|d| d.to_string()).to_vec();
    assert_eq!(row_ids(&list), ids);
    let cfg_a = format!("cfg{}", plain.models[0]);
    let row = cells(&list, plain.deployment);
    assert_eq!(
        (row[1].as_str(), row[3].as_str(), row[4].as_str(), row[5].as_str()),
        (cfg_a.as_str(), "32", "plain", "1")
    );
    assert_eq!(cells(&list, federated.deployment)[4], "federated + incremental");
    assert_eq!(cells(&list, chain.deployment)[4..], ["distributed".to_owned(), "2".to_owned()]);
    // Filters by mode and configuration (through their links), search.
    let by_mode = open(&browser, &format!("deployments/{}", filter_link(&list, "federated + incremental"))).await;
    assert_eq!(row_ids(&by_mode), [federated.deployment.to_string()]);
    let by_cfg = open(&browser, &format!("deployments/{}", filter_link(&list, &cfg_a))).await;
    assert_eq!(row_ids(&by_cfg), [plain.deployment.to_string()]);
    assert_eq!(row_ids(&browser.get("deployments/?q=DISTRIBUTED").await), [chain.deployment.to_string()]);
    // The change page: every stored setting, read-only, and the results.
    let d = plain.deployment;
    let r = plain.result();
    let page = open(&browser, &format!("deployments/{d}/change/")).await;
    assert_eq!(page.text("#id_batch"), "32");
    assert_eq!(page.text("#id_mode"), "plain");
    assert_eq!(page.text("#id_optimizer"), "adam");
    assert_eq!(page.text("#id_stream_timeout"), "60000");
    assert_eq!(page.text("#id_agg_strategy"), "FedAvg");
    assert_eq!(page.text("#id_results"), format!("Training result {r} (model a, status created)"));
    assert_eq!(page.attrs("#id_results a", "href"), [format!("../../../results/?deployment={d}")]);
    assert_eq!(
        page.attrs("#id_configuration a", "href"),
        [format!("../../../configurations/{}/change/", configuration_of(&app, d))]
    );
    assert!(page.texts("#save").is_empty(), "read-only");
    assert!(page.texts("#object-form input[name=batch]").is_empty());
    assert_eq!(page.texts("#delete-link").len(), 1);
    assert_eq!(row_ids(&open(&browser, &format!("results/?deployment={d}")).await), [r.to_string()]);
    // Deleting: refused while it has results, in the rule's words; nothing is stopped.
    let confirm = open(&browser, &format!("deployments/{d}/delete/")).await;
    let doomed = confirm.texts("#deleted-objects li li");
    assert!(doomed[0].starts_with(&format!("Training result {r} (model a, status created)")), "{doomed:?}");
    assert!(doomed.iter().any(|t| t.contains("deleting stops no Kubernetes Job")), "{doomed:?}");
    let refused = browser.post(&format!("deployments/{d}/delete/"), &[]).await;
    assert_eq!(refused.status, 409);
    assert_eq!(
        refused.text("#delete-blocked li"),
        "Deployment cannot be deleted. Please delete its training results first."
    );
    assert!(deployments::find_row(&mut app.db.connect(), d).unwrap().is_some());
    // Once its result is deleted (through the results table), the deployment goes.
    set_status(&app, r, ResultStatus::Finished);
    let result_gone = browser.post(&format!("results/{r}/delete/"), &[]).await;
    assert_eq!(result_gone.status, 303, "{}", result_gone.body);
    let confirm = open(&browser, &format!("deployments/{d}/delete/")).await;
    assert!(confirm.texts("#deleted-objects li li").is_empty());
    let gone = browser.post(&format!("deployments/{d}/delete/"), &[]).await;
    assert_eq!((gone.status, gone.location.as_deref()), (303, Some("../../")));
    assert!(deployments::find_row(&mut app.db.connect(), d).unwrap().is_none());
    assert_audited(&app, "deployments", "delete", d);
    assert_audited(&app, "results", "delete", r);
    // Adding without a cluster: the use case's refusal above the form, nothing stored.
    let form = open(&browser, "deployments/add/").await;
    let configurations = form.attrs("#id_configuration option", "value");
    assert_eq!(configurations.len(), 4, "(choose one) and three configurations");
    let cfg = configurations[1].clone();
    let zero = browser.post("deployments/add/", &[("configuration", &cfg), ("gpumem", "0"), ("batch", "0")]).await;
    assert_eq!(zero.status, 400);
    assert_eq!(zero.text("#error-batch"), "Batch has to be greater than 0");
    assert_eq!(zero.attrs("#id_batch", "value"), ["0"]);
    let no_cluster =
        browser.post("deployments/add/", &[("configuration", &cfg), ("gpumem", "0"), ("batch", "4")]).await;
    assert_eq!(no_cluster.status, 400);
    assert!(no_cluster.text("#form-errors li").starts_with("Kubernetes is not configured"), "{}", no_cluster.body);
    assert_eq!(deployments::list(&mut app.db.connect(), None).unwrap().len(), 2);
});

/// The configuration a deployment deploys.
fn configuration_of(app: &TestApp, deployment: i32) -> i32 {
    deployments::find_row(&mut app.db.connect(), deployment).unwrap().unwrap().fields.configuration_id
}

db_test!(
    admin_tables_adding_a_deployment_launches_its_training_as_the_api_does,
    fixtures = |kind| with_kube(kind),
    |(app, kube)| async move {
        let browser = AdminClient::superuser(&app, "/admin/").await;
        let model = app.create_model("mnist", "tf", false, None).await;
        let cfg = app.create_configuration("mnist", &[model]).await.to_string();
        // The API's kwargs parsing, next to its field.
        let bad = browser
            .post("deployments/add/", &[("configuration", &cfg), ("gpumem", "0"), ("tf_kwargs_fit", "epochs")])
            .await;
        assert_eq!(bad.status, 400, "{}", bad.body);
        assert!(!bad.text("#error-tf_kwargs_fit").is_empty());
        assert_eq!(bad.attrs("#id_tf_kwargs_fit", "value"), ["epochs"]);
        assert!(kube.jobs(NS).is_empty());
        let added = browser
            .post(
                "deployments/add/",
                &[
                    ("configuration", &cfg),
                    ("gpumem", "0"),
                    ("batch", "10"),
                    ("tf_kwargs_fit", "epochs=5, steps_per_epoch=1000"),
                    ("incremental", "on"),
                    ("stream_timeout", "1000"),
                    ("monitoring_metric", ""),
                ],
            )
            .await;
        assert_eq!((added.status, added.location.as_deref()), (303, Some("../")), "{}", added.body);
        let stored = app.get_json("/deployments/").await;
        assert_eq!(stored.as_array().unwrap().len(), 1);
        let d = &stored[0];
        assert_eq!(
            (d["batch"].clone(), d["incremental"].clone(), d["stream_timeout"].clone()),
            (json!(10), json!(true), json!(1000))
        );
        assert_eq!(d["tf_kwargs_fit"], "epochs=5, steps_per_epoch=1000");
        assert_eq!(d["optimizer"], "adam", "an empty optional field takes the API's default");
        let result = d["results"][0]["id"].as_i64().unwrap();
        assert!(kube.job(NS, &format!("incremental-model-training-{result}")).is_some());
        let id = d["id"].as_i64().unwrap() as i32;
        assert_audited(&app, "deployments", "add", id);
        let list = open(&browser, "deployments/").await;
        assert!(list.text(".message").contains("was added"), "{}", list.body);
        assert_eq!(cells(&list, id)[4], "incremental");
    }
);

// --- training results -------------------------------------------------------------------------

db_test!(admin_tables_results_show_the_live_state_and_stop_their_training, fixtures = |kind| with_kube(kind), |(
    app,
    kube,
)| async move {
    let browser = AdminClient::superuser(&app, "/api/admin/").await;
    let a = app.create_model("a", "tf", false, None).await;
    let b = app.create_model("b", "tf", false, None).await;
    let cfg = app.create_configuration("ab", &[a, b]).await;
    let ids = deploy_through_api(&app, cfg).await;
    let (ra, rb) = (ids["a"], ids["b"]);
    let list = open(&browser, "results/").await;
    let mut listed = row_ids(&list);
    listed.sort();
    assert_eq!(listed, [ra.to_string(), rb.to_string()]);
    // The failure watcher's reason is the live state of the row.
    let deadline = Instant::now() + Duration::from_secs(10);
    while kube.open_watches(Kind::Job) == 0 {
        assert!(Instant::now() < deadline, "the back-end never watched Jobs");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kube.set_job_status(
        NS,
        &format!("model-training-{rb}"),
        FakeKube::failed_job_status("BackoffLimitExceeded", "Job has reached the specified backoff limit"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while results::find_context(&mut app.db.connect(), rb).unwrap().unwrap().result.status != ResultStatus::Failed {
        assert!(Instant::now() < deadline, "result {rb} never failed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let list = open(&browser, "results/").await;
    let failed = open(&browser, &format!("results/{}", filter_link(&list, "failed"))).await;
    assert_eq!(row_ids(&failed), [rb.to_string()]);
    let row = cells(&failed, rb);
    assert_eq!((row[1].as_str(), row[3].as_str()), ("b", "failed"));
    assert_eq!(
        row[4],
        format!("Job model-training-{rb} failed: BackoffLimitExceeded: Job has reached the specified backoff limit")
    );
    assert_eq!(row_ids(&browser.get("results/?q=backofflimit").await), [rb.to_string()]);
    assert_eq!(row_ids(&browser.get(&format!("results/{}", filter_link(&list, "a"))).await), [ra.to_string()]);
    // A failed result offers no stop.
    assert!(open(&browser, &format!("results/{rb}/change/")).await.texts("#action-stop").is_empty());
    // The change page of a running result: read-only, with its stop button.
    let page = open(&browser, &format!("results/{ra}/change/")).await;
    assert_eq!(page.text("#id_status"), "created");
    assert_eq!(page.attrs("#id_model a", "href"), [format!("../../../models/{a}/change/")]);
    assert!(page.texts("#save").is_empty());
    assert_eq!(page.attrs("form.inline[action=\"../do/stop/\"]", "method"), ["post"]);
    assert_eq!(page.text("#id_trained_model"), "");
    // Stop: the use case deletes its Job and the result is stopped.
    kube.clear_requests();
    let stopped = browser.post(&format!("results/{ra}/do/stop/"), &[]).await;
    assert_eq!((stopped.status, stopped.location.as_deref()), (303, Some("../../change/")));
    let deleted: Vec<String> = kube.deletion_records().into_iter().map(|d| d.name).collect();
    assert_eq!(deleted, [format!("model-training-{ra}")]);
    assert!(kube.job(NS, &format!("model-training-{ra}")).is_none());
    let after = open(&browser, &format!("results/{ra}/change/")).await;
    assert_eq!(
        after.text(".message"),
        format!("Training result {ra} was stopped: its Kubernetes Job was deleted (with every result it trained).")
    );
    assert_eq!(after.text("#id_status"), "stopped");
    assert!(after.texts("#action-stop").is_empty());
    assert_audited(&app, "results", "stop", ra);
    // Stopping again: the rule's words, nothing changes.
    assert_eq!(browser.post(&format!("results/{ra}/do/stop/"), &[]).await.status, 303);
    assert_eq!(
        open(&browser, &format!("results/{ra}/change/")).await.text(".message"),
        "The training result is not running (its status is stopped): only created or deployed results can be stopped."
    );
    assert_eq!(browser.post(&format!("results/{ra}/do/explode/"), &[]).await.status, 404);
    assert_eq!(entries_of(&app, "results").iter().filter(|e| e.action == "stop").count(), 1);
});

db_test!(admin_tables_a_result_links_its_files_and_deletes_them_with_it, |app| async move {
    let browser = AdminClient::superuser(&app, "/api/admin/").await;
    let s = seed_models(&app, &[("cm", "tf", "model = cm", false)], |d| d.conf_mat_settings = Some(true));
    let id = s.result();
    let data = json!({"train_metrics": {"loss": [0.5]}, "test_metrics": {"loss": [0.3]},
        "confusion_matrix": [[5, 1], [0, 4]], "training_time": 1.5});
    assert_eq!(upload(&app, id, Some(PNG_BYTES), &data).await.status(), 200);
    let inference = app.seed_inference(Some(id), "stopped", |_| {});
    let running = seed_models(&app, &[("run", "tf", "model = run", false)], |_| {}).result();
    let page = open(&browser, &format!("results/{id}/change/")).await;
    assert_eq!(page.text("#id_status"), "finished");
    assert!(page.texts("#action-stop").is_empty());
    assert_eq!(page.text("#id_training_time"), "1.500 s");
    assert_eq!(serde_json::from_str::<Value>(&page.text("#id_confusion_matrix")).unwrap(), json!([[5, 1], [0, 4]]));
    assert_eq!(serde_json::from_str::<Value>(&page.text("#id_train_metrics")).unwrap(), json!({"loss": [0.5]}));
    // Downloads through the REST API's routes, relative to the page: under /api/ here.
    let here = reqwest::Url::parse(&format!("{}results/{id}/change/", browser.base())).unwrap();
    for (selector, route, bytes) in [
        ("#id_trained_model a", format!("../../../../results/model/{id}"), MODEL_BYTES),
        ("#id_confusion_mat_img a", format!("../../../../results/confusion_matrix/{id}"), PNG_BYTES),
    ] {
        assert_eq!(page.attrs(selector, "href"), [route.as_str()]);
        let url = here.join(&route).unwrap();
        assert!(url.path().starts_with("/api/results/"), "{url}");
        let res = app.client.get(url).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.bytes().await.unwrap().as_ref(), bytes);
    }
    // A running result is not deleted: the rule's words on the confirmation page.
    let refused = browser.post(&format!("results/{running}/delete/"), &[]).await;
    assert_eq!(refused.status, 409);
    assert_eq!(refused.text("#delete-blocked li"), IN_USE);
    // What goes with a result: its files; its inferences stay.
    let confirm = open(&browser, &format!("results/{id}/delete/")).await;
    assert_eq!(confirm.texts("#deleted-objects > li").len(), 1);
    assert_eq!(
        confirm.texts("#deleted-objects li li"),
        [
            format!("Its trained model file trained/{id}.h5"),
            format!("Its confusion matrix image trained/{id}.png"),
            format!("Inference {inference} (stopped) is kept, without its training result"),
        ]
    );
    let gone = browser.post(&format!("results/{id}/delete/"), &[]).await;
    assert_eq!((gone.status, gone.location.as_deref()), (303, Some("../../")));
    assert!(results::find_context(&mut app.db.connect(), id).unwrap().is_none());
    assert!(trained_files(&app).is_empty(), "{:?}", trained_files(&app));
    let kept = inferences::find_row(&mut app.db.connect(), inference).unwrap().unwrap();
    assert_eq!(kept.fields.model_result_id, None);
    assert_audited(&app, "results", "delete", id);
    // Without a cluster, stopping says so.
    let stop = browser.post(&format!("results/{running}/do/stop/"), &[]).await;
    assert_eq!(stop.status, 303);
    let message = open(&browser, &format!("results/{running}/change/")).await.text(".message");
    assert!(message.starts_with("Kubernetes is not configured"), "{message}");
    let history = open(&browser, &format!("results/{id}/history/")).await;
    assert_eq!(history.texts("#history tbody tr").len(), 1);
});

// --- datasources ------------------------------------------------------------------------------

/// Stores a datasource as the control logger does (`POST /datasources/`).
async fn log_datasource(app: &TestApp, deployment: &str, format: &str, topic: &str, description: &str) {
    let body = json!({"topic": topic, "input_format": format, "description": description,
        "validation_rate": 0.1, "test_rate": 0.1, "total_msg": 70000,
        "input_config": "{\"data_type\": \"uint8\"}", "deployment": deployment, "time": "2024-05-01T10:00:00"});
    let res = app.post_json("/datasources/", &body).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
}

/// The admin ids of the stored datasources, newest first.
fn datasource_ids(app: &TestApp) -> Vec<i32> {
    kafkaml_persistence::repo::datasources::list_with_ids(&mut app.db.connect(), None)
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

db_test!(admin_tables_datasources_are_read_only_and_resent_through_the_use_case, |app| async move {
    let browser = AdminClient::superuser(&app, "/admin/").await;
    let s = seed_models(&app, &[("m", "tf", "model = m", false)], |_| {});
    let deployment = s.deployment.to_string();
    log_datasource(&app, &deployment, "RAW", "automl:0:0:70000", "Mnist").await;
    log_datasource(&app, "999", "AVRO", "sensors:0:0:10", "Sensors").await;
    let ids = datasource_ids(&app);
    let (sensors, mnist) = (ids[0], ids[1]);
    let list = open(&browser, "datasources/").await;
    assert_eq!(row_ids(&list).len(), 2);
    assert!(list.texts("#add-link").is_empty() && list.texts("select[name=action]").is_empty());
    assert_eq!(cells(&list, mnist)[..3], [deployment.clone(), "automl:0:0:70000".to_owned(), "RAW".to_owned()]);
    let avro = open(&browser, &format!("datasources/{}", filter_link(&list, "AVRO"))).await;
    assert_eq!(row_ids(&avro), [sensors.to_string()]);
    let by_deployment = open(&browser, &format!("datasources/{}", filter_link(&list, &deployment))).await;
    assert_eq!(row_ids(&by_deployment), [mnist.to_string()]);
    assert_eq!(row_ids(&browser.get("datasources/?q=mnist").await), [mnist.to_string()]);
    assert_eq!(row_ids(&browser.get("datasources/?q=sensors%3A0").await), [sensors.to_string()]);
    // The change page: read-only, no deletion, the re-send action.
    let page = open(&browser, &format!("datasources/{mnist}/change/")).await;
    assert_eq!(page.text("#id_topic"), "automl:0:0:70000");
    assert_eq!(page.text("#id_input_config"), "{\"data_type\": \"uint8\"}");
    assert_eq!(page.attrs("#id_deployment a", "href"), [format!("../../../deployments/{deployment}/change/")]);
    assert!(page.texts("#save").is_empty() && page.texts("#delete-link").is_empty());
    assert_eq!(page.texts("#action-resend").len(), 1);
    assert_eq!(browser.get(&format!("datasources/{mnist}/delete/")).await.status, 404);
    // Without Kafka, the use case's words.
    let resent = browser.post(&format!("datasources/{mnist}/do/resend/"), &[]).await;
    assert_eq!((resent.status, resent.location.as_deref()), (303, Some("../../change/")));
    assert_eq!(
        open(&browser, &format!("datasources/{mnist}/change/")).await.text(".message"),
        "Kafka is not configured: set BOOTSTRAP_SERVERS and CONTROL_TOPIC."
    );
    assert!(entries_of(&app, "datasources").is_empty());
    assert_eq!(datasource_ids(&app).len(), 2, "re-sending stores nothing");
});

db_test!(
    admin_tables_resending_a_datasource_goes_to_the_publisher_of_the_control_topic,
    settings = |s| {
        // A broker that never answers: the publication is attempted and times out.
        s.kafka.bootstrap_servers = Some("127.0.0.1:9".to_owned());
        s.kafka.control_topic = Some("control".to_owned());
        s.kafka.timeout_secs = 1;
    },
    |app| async move {
        let browser = AdminClient::superuser(&app, "/admin/").await;
        let s = seed_models(&app, &[("m", "tf", "model = m", false)], |_| {});
        log_datasource(&app, &s.deployment.to_string(), "RAW", "automl:0:0:70000", "Mnist").await;
        log_datasource(&app, "999", "RAW", "gone:0:0:1", "Of a deleted deployment").await;
        let ids = datasource_ids(&app);
        let (orphan, mnist) = (ids[0], ids[1]);
        browser.post(&format!("datasources/{orphan}/do/resend/"), &[]).await;
        assert_eq!(
            open(&browser, &format!("datasources/{orphan}/change/")).await.text(".message"),
            "Deployment does not exist"
        );
        browser.post(&format!("datasources/{mnist}/do/resend/"), &[]).await;
        let message = open(&browser, &format!("datasources/{mnist}/change/")).await.text(".message");
        assert!(message.starts_with("The datasource was not published to control:"), "{message}");
        assert!(entries_of(&app, "datasources").is_empty());
    }
);

// --- inferences -------------------------------------------------------------------------------

db_test!(
    admin_tables_inferences_are_stopped_and_deleted_through_the_use_cases,
    fixtures = |kind| with_kube(kind),
    |(app, kube)| async move {
        let browser = AdminClient::superuser(&app, "/api/admin/").await;
        let m = app.create_model("served", "tf", false, None).await;
        let cfg = app.create_configuration("served", &[m]).await;
        let r = deploy_through_api(&app, cfg).await["served"];
        set_status(&app, r, ResultStatus::Finished);
        let form = json!({"model_result": r, "gpumem": 0, "replicas": 2, "input_format": "RAW",
            "input_config": "{}", "input_topic": "in", "output_topic": "out"});
        let res = app.post_json(&format!("/results/inference/{r}"), &form).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let deployed = app.get_json("/inferences/").await[0]["id"].as_i64().unwrap() as i32;
        let rc = format!("model-inference-{deployed}");
        assert!(kube.rc(NS, &rc).is_some());
        let orphan = app.seed_inference(None, "stopped", |i| {
            i.input_topic = "sensors".to_owned();
            i.external_host = Some("https://k8s.example:6443".to_owned());
        });
        let list = open(&browser, "inferences/").await;
        assert_eq!(row_ids(&list), [orphan.to_string(), deployed.to_string()]);
        let row = cells(&list, deployed);
        assert_eq!(row[1..6], [r.to_string(), "deployed".into(), "2".into(), "in".into(), "out".into()]);
        let orphan_row = cells(&list, orphan);
        assert_eq!((orphan_row[1].as_str(), orphan_row[7].as_str()), ("(deleted)", "https://k8s.example:6443"));
        let running = open(&browser, &format!("inferences/{}", filter_link(&list, "deployed"))).await;
        assert_eq!(row_ids(&running), [deployed.to_string()]);
        let of_result = open(&browser, &format!("inferences/{}", filter_link(&list, &r.to_string()))).await;
        assert_eq!(row_ids(&of_result), [deployed.to_string()]);
        assert_eq!(row_ids(&browser.get("inferences/?q=SENSORS").await), [orphan.to_string()]);
        // The change page: read-only, the stop button while deployed.
        let page = open(&browser, &format!("inferences/{deployed}/change/")).await;
        assert_eq!(page.text("#id_status"), "deployed");
        assert_eq!(page.text("#id_replicas"), "2");
        assert_eq!(page.text("#id_external_host"), "(the default cluster)");
        assert_eq!(page.attrs("#id_model_result a", "href"), [format!("../../../results/{r}/change/")]);
        assert_eq!(page.texts("#action-stop").len(), 1);
        assert!(page.texts("#save").is_empty());
        // Deleting a deployed inference: refused in the rule's words; nothing stopped.
        let confirm = open(&browser, &format!("inferences/{deployed}/delete/")).await;
        let doomed = confirm.texts("#deleted-objects li li");
        assert!(doomed.iter().any(|t| t.contains("deleting stops no ReplicationController")), "{doomed:?}");
        let refused = browser.post(&format!("inferences/{deployed}/delete/"), &[]).await;
        assert_eq!(refused.status, 409);
        assert_eq!(refused.text("#delete-blocked li"), "Inference in use, please stop it before delete.");
        assert!(kube.rc(NS, &rc).is_some());
        // Stop: its ReplicationController goes, the row is stopped, the audit trail says who.
        let stopped = browser.post(&format!("inferences/{deployed}/do/stop/"), &[]).await;
        assert_eq!((stopped.status, stopped.location.as_deref()), (303, Some("../../change/")));
        assert!(kube.rc(NS, &rc).is_none());
        assert_eq!(
            kube.deletions(),
            [(Kind::ReplicationController, NS.to_owned(), rc.clone(), Some("Foreground".to_owned()))]
        );
        let after = open(&browser, &format!("inferences/{deployed}/change/")).await;
        assert_eq!(
            after.text(".message"),
            format!("Inference {deployed} was stopped: its ReplicationController was deleted.")
        );
        assert_eq!(after.text("#id_status"), "stopped");
        assert!(after.texts("#action-stop").is_empty());
        assert_audited(&app, "inferences", "stop", deployed);
        browser.post(&format!("inferences/{deployed}/do/stop/"), &[]).await;
        assert_eq!(
            open(&browser, &format!("inferences/{deployed}/change/")).await.text(".message"),
            "The inference is not running (its status is stopped)."
        );
        // Stopped, it is deleted; "delete selected" confirms first.
        let gone = browser.post(&format!("inferences/{deployed}/delete/"), &[]).await;
        assert_eq!((gone.status, gone.location.as_deref()), (303, Some("../../")));
        assert!(inferences::find_row(&mut app.db.connect(), deployed).unwrap().is_none());
        assert_audited(&app, "inferences", "delete", deployed);
        let orphan_id = orphan.to_string();
        let confirm = browser.post("inferences/", &[("action", "delete_selected"), ("ids", &orphan_id)]).await;
        assert_eq!(confirm.status, 200);
        let doomed = confirm.texts("#deleted-objects > li");
        assert_eq!(doomed.len(), 1);
        assert!(doomed[0].starts_with(&format!("Inference {orphan} (stopped)")), "{doomed:?}");
        let done = browser
            .post("inferences/", &[("action", "delete_selected"), ("ids", &orphan_id), ("confirm", "yes")])
            .await;
        assert_eq!(done.status, 303);
        assert!(inferences::find_row(&mut app.db.connect(), orphan).unwrap().is_none());
        assert_eq!(open(&browser, "inferences/").await.text(".message"), "Deleted 1 inference.");
    }
);

// --- IoT devices ------------------------------------------------------------------------------

fn device_form<'a>(name: &'a str, token: &'a str, port: &'a str, password: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("friendly_name", name),
        ("token", token),
        ("mqtt_address", "broker.local"),
        ("mqtt_port", port),
        ("mqtt_username", "tasmota"),
        ("mqtt_password", password),
    ]
}

fn device(app: &TestApp, name: &str) -> iot_devices::IotDeviceRow {
    iot_devices::list(&mut app.db.connect()).unwrap().into_iter().find(|d| d.friendly_name == name).unwrap()
}

db_test!(admin_tables_iot_devices_keep_a_write_only_password, |app| async move {
    let browser = AdminClient::superuser(&app, "/admin/").await;
    let form = open(&browser, "iot-devices/add/").await;
    assert_eq!(form.attrs("#id_mqtt_password", "type"), ["password"]);
    assert_eq!(form.attrs("#id_mqtt_port", "value"), ["1883"]);
    // The API's rules, next to their fields.
    let no_password = browser.post("iot-devices/add/", &device_form("door", "", "1883", "")).await;
    assert_eq!(no_password.status, 400);
    assert_eq!(no_password.text("#error-mqtt_password"), "This field is required.");
    assert_eq!(no_password.attrs("#id_friendly_name", "value"), ["door"]);
    let bad_port = browser.post("iot-devices/add/", &device_form("door", "", "70000", "s3cret-pass")).await;
    assert_eq!(bad_port.text("#error-mqtt_port"), "Ensure this value is a TCP port (1 to 65535).");
    assert!(!bad_port.body.contains("s3cret-pass"), "a password is never sent back");
    let bad_token = browser.post("iot-devices/add/", &device_form("door", "XYZ", "1883", "s3cret-pass")).await;
    assert_eq!(bad_token.text("#error-token"), "Ensure this field is 8 hexadecimal characters (0-9, A-F).");
    assert!(iot_devices::list(&mut app.db.connect()).unwrap().is_empty());
    // Added with a generated token and its files folder.
    let added = browser.post("iot-devices/add/", &device_form("door", "", "1883", "s3cret-pass")).await;
    assert_eq!((added.status, added.location.as_deref()), (303, Some("../")), "{}", added.body);
    let door = device(&app, "door");
    assert!(kafkaml_domain::iot::is_token(&door.token), "{}", door.token);
    assert_eq!(door.mqtt_password.expose_secret(), "s3cret-pass");
    assert!(app.data_dir.join("devices").join(&door.token).is_dir());
    let list = open(&browser, "iot-devices/").await;
    assert_eq!(list.texts("#result-list tbody th"), ["door"]);
    assert_eq!(
        cells(&list, door.id)[1..],
        [door.token.clone(), "broker.local".into(), "1883".into(), "tasmota".into()]
    );
    assert_eq!(list.texts("#result-list tbody th").len(), 1);
    let by_token = browser.get(&format!("iot-devices/?q={}", door.token.to_lowercase())).await;
    assert_eq!(by_token.texts("#result-list tbody th"), ["door"]);
    assert!(row_ids(&browser.get("iot-devices/?q=nothing-like-it").await).is_empty());
    // Changed without a password: the stored one stays.
    let id = door.id;
    let page = open(&browser, &format!("iot-devices/{id}/change/")).await;
    assert!(!page.body.contains("s3cret-pass"));
    assert!(page.attrs("#id_mqtt_password", "value").is_empty());
    assert_eq!(page.attrs("#id_token", "value"), [door.token.as_str()]);
    let changed =
        browser.post(&format!("iot-devices/{id}/change/"), &device_form("front door", &door.token, "1883", "")).await;
    assert_eq!((changed.status, changed.location.as_deref()), (303, Some("../../")), "{}", changed.body);
    let front = device(&app, "front door");
    assert_eq!((front.mqtt_port, front.mqtt_password.expose_secret()), (1883, "s3cret-pass"));
    // Another broker port without the password is refused next to the password (the stored one
    // never goes to another broker: review M7), and changes nothing.
    let moved =
        browser.post(&format!("iot-devices/{id}/change/"), &device_form("front door", &door.token, "1884", "")).await;
    assert_eq!(moved.status, 400, "{}", moved.body);
    assert_eq!(
        moved.text("#error-mqtt_password"),
        "This field is required when mqtt_port changes (the stored password is never sent to another broker or user)."
    );
    assert_eq!(device(&app, "front door").mqtt_port, 1883);
    // With one, it is replaced; an empty token keeps the stored one.
    let changed =
        browser.post(&format!("iot-devices/{id}/change/"), &device_form("front door", "", "1884", "n3w-pass")).await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    let front = device(&app, "front door");
    assert_eq!((front.token.as_str(), front.mqtt_password.expose_secret()), (door.token.as_str(), "n3w-pass"));
    // A name another device has: the rule's words next to the name.
    assert_eq!(browser.post("iot-devices/add/", &device_form("back door", "", "1883", "pw")).await.status, 303);
    let back = device(&app, "back door");
    let taken =
        browser.post(&format!("iot-devices/{}/change/", back.id), &device_form("front door", "", "1883", "")).await;
    assert_eq!(taken.status, 400);
    assert_eq!(taken.text("#error-friendly_name"), "An IoT device named 'front door' already exists.");
    // Deleted with its folder.
    let confirm = open(&browser, &format!("iot-devices/{id}/delete/")).await;
    assert_eq!(confirm.texts("#deleted-objects > li").len(), 1);
    assert!(confirm.text("#deleted-objects li li").starts_with(&format!("Its files folder {}/", door.token)));
    let gone = browser.post(&format!("iot-devices/{id}/delete/"), &[]).await;
    assert_eq!((gone.status, gone.location.as_deref()), (303, Some("../../")));
    assert!(iot_devices::find_row(&mut app.db.connect(), id).unwrap().is_none());
    assert!(!app.data_dir.join("devices").join(&door.token).exists());
    // The audit trail: who did what, never a password.
    let entries = entries_of(&app, "iot-devices");
    let actions: Vec<(&str, Option<i32>)> = entries.iter().map(|e| (e.action.as_str(), e.object_id)).collect();
    assert_eq!(
        actions,
        [("add", Some(id)), ("change", Some(id)), ("change", Some(id)), ("add", Some(back.id)), ("delete", Some(id))]
    );
    assert!(entries.iter().all(|e| e.actor == "root"));
    for e in &entries {
        for secret in ["s3cret-pass", "n3w-pass", "pw"] {
            assert!(!e.object_repr.contains(secret) && !e.changed_fields.split(',').any(|f| f == secret), "{e:?}");
        }
    }
});
