//! The use cases on in-memory fakes of every outside service (each crate's `test-support`
//! feature) and a SQLite file: no socket, no server, no broker. The black-box suite in `tests/`
//! drives the same operations through HTTP against the real PostgreSQL, tansu, Mosquitto and the
//! fake Kubernetes API server; these pin the workflows' rules and compensations, fast.
#![expect(clippy::unwrap_used, reason = "the set-up helpers fail the test on an unexpected error")]

use std::sync::Arc;

use kafkaml_api::usecase::datasources::{publish_datasource, PublishDatasource};
use kafkaml_api::usecase::iot::{create_device, push_to_devices, PushToDevices};
use kafkaml_api::usecase::training::{deploy_training, record_job_failures, stop_training};
use kafkaml_api::usecase::{catalog, inference, Actor, Config, Ctx, Error, Missing};
use kafkaml_api::{Services, Settings};
use kafkaml_domain::deploy::{DeploymentInput, InferenceInput};
use kafkaml_domain::inputs::{parse, ConfigurationInput, DatasourceInput, ModelInput};
use kafkaml_domain::iot::{IotDeployInput, IotDeviceInput};
use kafkaml_domain::{ResultStatus, Violation};
use kafkaml_executor::fake::FakeExecutor;
use kafkaml_iot::fake::{unreachable as mqtt_unreachable, FakeTasmotaLink};
use kafkaml_iot::Broker;
use kafkaml_messaging::fake::FakePublisher;
use kafkaml_orchestration::fake::{FakeCluster, FakeConnector};
use kafkaml_orchestration::{ClusterError, JobFailure};
use kafkaml_persistence::repo::results;
use kafkaml_persistence::{ArtifactStore, DeviceFileStore};
use serde_json::{json, Value};

/// The one external cluster `KAFKAML_EXTERNAL_CLUSTERS` lists in [`world`].
const EXTERNAL: &str = "https://10.0.0.9:6443";

/// The REST API's caller while authentication is off.
const ANON: Actor = Actor::Anonymous;

/// The fakes a test inspects, and the context the use cases run with.
struct World {
    ctx: Arc<Ctx>,
    cluster: FakeCluster,
    connector: FakeConnector,
    executor: FakeExecutor,
    publisher: FakePublisher,
    tasmota: FakeTasmotaLink,
    _dir: tempfile::TempDir,
}

fn world() -> World {
    world_with(|_| {})
}

/// [`world`] with its resolved settings adjusted by `adjust`.
fn world_with(adjust: impl FnOnce(&mut Config)) -> World {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::defaults();
    settings.server.data_dir = dir.path().to_owned();
    settings.images.backend_url = Some("http://backend:8000".to_owned());
    settings.images.tensorflow_training = Some("kafkaml/training:tf".to_owned());
    settings.images.pytorch_training = Some("kafkaml/training:pth".to_owned());
    settings.images.tensorflow_inference = Some("kafkaml/inference:tf".to_owned());
    settings.kafka.bootstrap_servers = Some("kafka:9092".to_owned());
    settings.kafka.control_topic = Some("KAFKA_ML_CONTROL_TOPIC".to_owned());
    settings.kube.external_clusters = EXTERNAL.to_owned();
    let pool = kafkaml_api::app::open_database(&settings).unwrap();
    let (cluster, connector, executor) = (FakeCluster::new(), FakeConnector::new(), FakeExecutor::new());
    let (publisher, tasmota) = (FakePublisher::new("KAFKA_ML_CONTROL_TOPIC"), FakeTasmotaLink::new());
    let services = Services {
        executor: Arc::new(executor.clone()),
        cluster: Some(Arc::new(cluster.clone())),
        connector: Arc::new(connector.clone()),
        publisher: Some(Arc::new(publisher.clone())),
        predictions: None,
        tasmota: Arc::new(tasmota.clone()),
    };
    let store = ArtifactStore::open(dir.path()).unwrap();
    let device_files = DeviceFileStore::open(dir.path()).unwrap();
    let mut config = Config::from_settings(&settings);
    adjust(&mut config);
    let ctx = Arc::new(Ctx::new(pool, store, device_files, services, config));
    World { ctx, cluster, connector, executor, publisher, tasmota, _dir: dir }
}

fn body<T: serde::de::DeserializeOwned + validator::Validate>(v: Value) -> T {
    parse(v).unwrap()
}

/// A configuration of `n` TensorFlow models; returns its id.
async fn configuration(w: &World, n: usize) -> i32 {
    let mut ids = Vec::new();
    for i in 0..n {
        let model = body::<ModelInput>(json!({"name": format!("m{i}"), "code": "model = 1", "framework": "tf"}));
        ids.push(catalog::create_model(&w.ctx, &ANON, model).await.unwrap());
    }
    let input = body::<ConfigurationInput>(json!({"name": "c", "ml_models": ids}));
    catalog::create_configuration(&w.ctx, &ANON, input).await.unwrap()
}

async fn result_ids(w: &World, deployment: i32) -> Vec<i32> {
    w.ctx
        .db(move |c| Ok::<_, Error>(results::of_deployment(c, deployment)?))
        .await
        .unwrap()
        .iter()
        .map(|(r, _)| r.id)
        .collect()
}

#[tokio::test]
async fn a_deployment_stores_its_results_and_creates_one_job_per_model() {
    let w = world();
    let cfg = configuration(&w, 2).await;
    let input =
        body::<DeploymentInput>(json!({"configuration": cfg, "gpumem": 0, "batch": 4, "tf_kwargs_fit": "epochs=2"}));
    let id = deploy_training(&w.ctx, &ANON, input).await.unwrap();
    let ids = result_ids(&w, id).await;
    assert_eq!(ids.len(), 2);
    let mut names = w.cluster.job_names();
    names.sort();
    let mut expected: Vec<String> = ids.iter().map(|r| format!("model-training-{r}")).collect();
    expected.sort();
    assert_eq!(names, expected);
    let env = w.cluster.jobs()[0].spec.clone().unwrap().template.spec.unwrap().containers[0].env.clone().unwrap();
    let get = |name: &str| env.iter().find(|v| v.name == name).and_then(|v| v.value.clone());
    assert_eq!(get("DEPLOYMENT_ID"), Some(id.to_string()));
    assert_eq!(get("BATCH").as_deref(), Some("4"));
    assert_eq!(get("KWARGS_FIT").as_deref(), Some(r#"{"epochs": 2}"#));
}

#[tokio::test]
async fn a_job_the_cluster_refuses_undoes_the_whole_deployment() {
    let w = world();
    let cfg = configuration(&w, 3).await;
    w.cluster.fail_next_creates(1, ClusterError::AlreadyExists { kind: "Job", name: "x".to_owned() });
    let input = body::<DeploymentInput>(json!({"configuration": cfg, "gpumem": 0}));
    let err = deploy_training(&w.ctx, &ANON, input).await.unwrap_err();
    assert!(matches!(err, Error::Cluster(ClusterError::AlreadyExists { .. })), "{err:?}");
    // The Jobs that were created are deleted again, and no deployment is stored.
    assert_eq!(w.cluster.job_names(), Vec::<String>::new());
    assert_eq!(w.cluster.deleted_jobs().len(), 2);
    let deployments =
        w.ctx.db(|c| Ok::<_, Error>(kafkaml_persistence::repo::deployments::list(c, None)?)).await.unwrap();
    assert!(deployments.is_empty());
}

#[tokio::test]
async fn kwargs_an_executor_refuses_stop_the_deployment_before_anything_is_stored() {
    let w = world();
    let cfg = configuration(&w, 1).await;
    w.executor
        .set_deploy_config_check(kafkaml_executor::ExecutorKind::TensorFlow, kafkaml_executor::CheckOutcome::Invalid);
    let input = body::<DeploymentInput>(json!({"configuration": cfg, "gpumem": 0}));
    let err = deploy_training(&w.ctx, &ANON, input).await.unwrap_err();
    assert!(matches!(err, Error::Rule(Violation::KwargsRefused("TensorFlow"))), "{err:?}");
    assert!(w.cluster.created_jobs().is_empty());
}

#[tokio::test]
async fn stopping_deletes_the_job_and_only_running_results_stop() {
    let w = world();
    let cfg = configuration(&w, 1).await;
    let id = deploy_training(&w.ctx, &ANON, body(json!({"configuration": cfg, "gpumem": 0}))).await.unwrap();
    let result = result_ids(&w, id).await[0];
    stop_training(&w.ctx, &ANON, result).await.unwrap();
    assert_eq!(w.cluster.deleted_jobs(), [format!("model-training-{result}")]);
    let err = stop_training(&w.ctx, &ANON, result).await.unwrap_err();
    assert!(matches!(err, Error::Rule(Violation::ResultNotRunning(ResultStatus::Stopped))), "{err:?}");
    assert!(matches!(stop_training(&w.ctx, &ANON, 999).await.unwrap_err(), Error::NotFound(Missing::TrainingResult)));
}

#[tokio::test]
async fn a_failed_job_marks_its_results_failed_with_the_reason() {
    let w = world();
    let cfg = configuration(&w, 1).await;
    let id = deploy_training(&w.ctx, &ANON, body(json!({"configuration": cfg, "gpumem": 0}))).await.unwrap();
    let result = result_ids(&w, id).await[0];
    let watcher = tokio::spawn(record_job_failures(w.ctx.clone(), Arc::new(w.cluster.clone())));
    w.cluster.push_failure(JobFailure {
        job_name: format!("model-training-{result}"),
        result_ids: vec![result],
        reason: "BackoffLimitExceeded".to_owned(),
    });
    let mut status = None;
    for _ in 0..100 {
        let found = w.ctx.db(move |c| Ok::<_, Error>(results::find_context(c, result)?)).await.unwrap().unwrap();
        if found.result.status == ResultStatus::Failed {
            status = found.result.status_reason;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    watcher.abort();
    assert_eq!(status.as_deref(), Some("BackoffLimitExceeded"));
}

#[tokio::test]
async fn an_external_cluster_that_cannot_be_used_is_a_bad_request_and_nothing_is_stored() {
    let w = world();
    let cfg = configuration(&w, 1).await;
    let id = deploy_training(&w.ctx, &ANON, body(json!({"configuration": cfg, "gpumem": 0}))).await.unwrap();
    let result = result_ids(&w, id).await[0];
    w.ctx.db(move |c| Ok::<_, Error>(results::set_status(c, result, ResultStatus::Finished, None)?)).await.unwrap();
    w.connector.fail_with(ClusterError::Config("no such CA".to_owned()));
    let input = body::<InferenceInput>(json!({"gpumem": 0, "external_host": EXTERNAL, "token": "t"}));
    let err = inference::deploy_inference(&w.ctx, &ANON, result, input).await.unwrap_err();
    assert!(
        matches!(&err, Error::ExternalCluster { host, reason } if host == EXTERNAL && reason.contains("no such CA")),
        "{err:?}"
    );
    assert_eq!(w.connector.requests().len(), 1);
    let list = w.ctx.db(|c| Ok::<_, Error>(kafkaml_persistence::repo::inferences::list(c)?)).await.unwrap();
    assert!(list.is_empty());
    // A cluster that is not listed is refused before the connector is asked.
    w.connector.recover();
    for host in ["https://k:6443", "https://10.0.0.9:6444", "http://10.0.0.9:6443", "https://169.254.169.254"] {
        let input = body::<InferenceInput>(json!({"gpumem": 0, "external_host": host, "token": "t"}));
        let err = inference::deploy_inference(&w.ctx, &ANON, result, input).await.unwrap_err();
        assert!(
            matches!(&err, Error::ExternalCluster { reason, .. } if reason.contains("KAFKAML_EXTERNAL_CLUSTERS")),
            "{host}: {err:?}"
        );
    }
    assert_eq!(w.connector.requests().len(), 1, "no connection to an unlisted cluster");
    // The listed one works.
    let input = body::<InferenceInput>(json!({"gpumem": 0, "external_host": EXTERNAL, "token": "t"}));
    inference::deploy_inference(&w.ctx, &ANON, result, input).await.unwrap();
    assert_eq!(w.connector.cluster(EXTERNAL).unwrap().replication_controllers().len(), 1);
    assert_eq!(w.connector.requests().len(), 2);
    // Stopping an inference whose cluster is not (or no longer) listed sends nothing either.
    let input = body::<InferenceInput>(json!({"gpumem": 0, "external_host": "http://169.254.169.254", "token": "t"}));
    let row =
        kafkaml_persistence::repo::inferences::NewInference::deployed(result, &input.resolve(result).unwrap().settings);
    let id = w.ctx.db(move |c| Ok::<_, Error>(kafkaml_persistence::repo::inferences::create(c, &row)?)).await.unwrap();
    let err = inference::stop_inference(&w.ctx, &ANON, id).await.unwrap_err();
    assert!(matches!(&err, Error::ExternalCluster { host, .. } if host == "http://169.254.169.254"), "{err:?}");
    assert_eq!(w.connector.requests().len(), 2, "no connection to an unlisted cluster");
}

#[tokio::test]
async fn publishing_a_datasource_sends_the_control_message_and_reports_a_broker_that_does_not_answer() {
    let w = world();
    let cfg = configuration(&w, 1).await;
    let id = deploy_training(&w.ctx, &ANON, body(json!({"configuration": cfg, "gpumem": 0}))).await.unwrap();
    let fields = json!({"deployment": id.to_string(), "topic": "data", "input_format": "RAW", "description": "d",
        "input_config": {"data_type": "uint8"}, "validation_rate": 0.1, "test_rate": 0.1, "total_msg": 10,
        "time": "2026-12-03T08:00:00Z"});
    let mut checked = fields.clone();
    checked["input_config"] = json!(r#"{"data_type": "uint8"}"#);
    let publish = || PublishDatasource {
        input: body::<DatasourceInput>(checked.clone()),
        fields: fields.as_object().unwrap().clone(),
        stored: None,
    };
    publish_datasource(&w.ctx, &ANON, publish()).await.unwrap();
    let records = w.publisher.records();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].0,
        u32::try_from(id).unwrap().to_be_bytes().into_iter().skip_while(|b| *b == 0).collect::<Vec<_>>()
    );
    assert!(records[0].1.contains(r#""topic": "data""#), "{}", records[0].1);
    w.publisher.set_unavailable(true);
    assert!(matches!(publish_datasource(&w.ctx, &ANON, publish()).await.unwrap_err(), Error::NotPublished { .. }));
}

#[tokio::test]
async fn a_push_to_devices_stores_the_files_for_all_and_names_the_device_the_command_missed() {
    let w = world();
    let cfg = configuration(&w, 1).await;
    let id = deploy_training(&w.ctx, &ANON, body(json!({"configuration": cfg, "gpumem": 0}))).await.unwrap();
    let result = result_ids(&w, id).await[0];
    std::fs::write(
        w.ctx.store.path(result, kafkaml_persistence::files::Artifact::Model(kafkaml_domain::Framework::Tf)),
        b"h5",
    )
    .unwrap();
    w.executor.set_tflite(&b"tflite"[..]);
    let mut tokens = Vec::new();
    for name in ["a", "b"] {
        let device =
            body::<IotDeviceInput>(json!({"friendly_name": name, "mqtt_address": "127.0.0.1", "mqtt_port": 1883,
            "mqtt_username": "u", "mqtt_password": "p"}));
        tokens.push(create_device(&w.ctx, &ANON, device).await.unwrap().token);
    }
    let broker = Broker {
        host: "127.0.0.1".to_owned(),
        port: 1883,
        username: "u".to_owned(),
        password: kafkaml_iot::Password::new("p"),
    };
    w.tasmota.set_send_outcome(tokens[1].clone(), Err(mqtt_unreachable(&broker)));
    let push = PushToDevices {
        result_id: result,
        input: body::<IotDeployInput>(json!({"device_token": tokens, "code": "print(1)"})),
        origin: Some("http://ui.example:4200".to_owned()),
    };
    let err = push_to_devices(&w.ctx, &ANON, push).await.unwrap_err();
    let Error::NotDelivered(message) = err else { panic!("{err:?}") };
    assert!(
        message.contains(&format!("b ({})", tokens[1]))
            && message.contains(&format!("Delivered to: a ({})", tokens[0])),
        "{message}"
    );
    for token in &tokens {
        let path = w.ctx.device_files.path(token, kafkaml_persistence::DeviceFile::Model).unwrap();
        assert_eq!(std::fs::read(path).unwrap(), b"tflite");
    }
    assert_eq!(w.tasmota.commands_to(&tokens[0]).len(), 1);
}

/// The audit trail as (action, kind, object id, repr, fields, user id), oldest first.
async fn trail(w: &World) -> Vec<(String, String, Option<i32>, String, String, Option<i32>)> {
    let mut entries = w.ctx.db(|c| Ok::<_, Error>(kafkaml_persistence::repo::audit::recent(c, 100)?)).await.unwrap();
    entries.reverse();
    entries
        .into_iter()
        .map(|e| (e.action, e.object_kind, e.object_id, e.object_repr, e.changed_fields, e.user_id))
        .collect()
}

#[tokio::test]
async fn a_users_changes_land_in_the_audit_trail_with_the_fields_that_changed() {
    let w = world();
    let account = kafkaml_api::usecase::accounts::NewAccount {
        username: "ann".to_owned(),
        email: String::new(),
        password: "tall green tree 7".to_owned().into(),
        is_staff: true,
        is_superuser: false,
        role: kafkaml_domain::Role::Operator,
    };
    let ann = kafkaml_api::usecase::accounts::create_user(&w.ctx, &Actor::System("test"), account).await.unwrap();
    let (ann, uid) = (ann.actor(), Some(ann.id));
    let input = |description: &str| {
        body::<ModelInput>(json!({"name": "m", "code": "model = 1", "framework": "tf", "description": description}))
    };
    let id = catalog::create_model(&w.ctx, &ann, input("first")).await.unwrap();
    let current = catalog::find_model(&w.ctx, id, Missing::Model).await.unwrap();
    catalog::update_model(&w.ctx, &ann, current, input("second")).await.unwrap();
    // A refused change leaves no entry: it rolls back with the change.
    let duplicate = catalog::create_model(&w.ctx, &ann, input("again")).await.unwrap_err();
    assert_eq!(duplicate.to_string(), "A model named 'm' already exists.");
    catalog::delete_model(&w.ctx, &ann, id).await.unwrap();
    let device = body::<IotDeviceInput>(json!({"friendly_name": "d", "mqtt_address": "127.0.0.1", "mqtt_port": 1883,
        "mqtt_username": "u", "mqtt_password": "secret-value"}));
    let device = create_device(&w.ctx, &ann, device).await.unwrap();
    kafkaml_api::usecase::iot::delete_device(&w.ctx, &ann, device.id).await.unwrap();
    let cfg = configuration(&w, 1).await;
    let deployment = deploy_training(&w.ctx, &ann, body(json!({"configuration": cfg, "gpumem": 0}))).await.unwrap();
    let result = result_ids(&w, deployment).await[0];
    stop_training(&w.ctx, &ann, result).await.unwrap();

    let mut trail = trail(&w).await;
    let created = trail.remove(0);
    assert_eq!((created.0.as_str(), created.1.as_str(), created.5), ("add", "users", None));
    let s = |v: &str| v.to_owned();
    assert_eq!(
        trail,
        vec![
            (
                s("add"),
                s("models"),
                Some(id),
                s("m"),
                s("name,description,imports,code,distributed,framework,father"),
                uid
            ),
            (s("change"), s("models"), Some(id), s("m"), s("description"), uid),
            (s("delete"), s("models"), Some(id), s("m"), s(""), uid),
            (
                s("add"),
                s("iot-devices"),
                Some(device.id),
                s("d"),
                s("friendly_name,token,mqtt_address,mqtt_port,mqtt_username,mqtt_password"),
                uid
            ),
            (s("delete"), s("iot-devices"), Some(device.id), s("d"), s(""), uid),
            (s("add"), s("deployments"), Some(deployment), format!("Deployment {deployment}"), s(""), uid),
            (s("stop"), s("results"), Some(result), format!("Result {result}"), s("status"), uid),
        ]
    );
    assert!(!format!("{trail:?}").contains("secret-value"));
}

#[tokio::test]
async fn anonymous_changes_are_not_recorded() {
    let w = world();
    configuration(&w, 2).await;
    assert!(trail(&w).await.is_empty());
}

/// A staff user `name` and the actor of their changes.
async fn user(w: &World, name: &str) -> (Actor, Option<i32>) {
    let account = kafkaml_api::usecase::accounts::NewAccount {
        username: name.to_owned(),
        email: String::new(),
        password: "tall green tree 7".to_owned().into(),
        is_staff: true,
        is_superuser: false,
        role: kafkaml_domain::Role::Operator,
    };
    let created = kafkaml_api::usecase::accounts::create_user(&w.ctx, &Actor::System("test"), account).await.unwrap();
    (created.actor(), Some(created.id))
}

/// The trail's entries about `kind` as (action, object id, repr, fields), oldest first.
async fn trail_of(w: &World, kind: &str) -> Vec<(String, Option<i32>, String, String)> {
    trail(w)
        .await
        .into_iter()
        .filter(|e| e.1 == kind)
        .map(|(action, _, id, repr, fields, _)| (action, id, repr, fields))
        .collect()
}

#[tokio::test]
async fn changes_list_only_the_fields_whose_value_changed() {
    let w = world();
    let (bob, _) = user(&w, "bob").await;
    let s = |v: &str| v.to_owned();
    // Models: a patch that gives a field its current value does not name it.
    let model = body::<ModelInput>(json!({"name": "m", "code": "model = 1", "framework": "tf"}));
    let id = catalog::create_model(&w.ctx, &bob, model).await.unwrap();
    let current = catalog::find_model(&w.ctx, id, Missing::Model).await.unwrap();
    let patch = body::<kafkaml_domain::inputs::ModelPatch>(json!({"name": "m", "code": "model = 2", "imports": "x"}));
    catalog::patch_model(&w.ctx, &bob, current, patch).await.unwrap();
    let current = catalog::find_model(&w.ctx, id, Missing::Model).await.unwrap();
    let same = body::<ModelInput>(json!({"name": "m", "code": "model = 2", "imports": "x", "framework": "tf"}));
    catalog::update_model(&w.ctx, &bob, current, same).await.unwrap();
    let models = trail_of(&w, "models").await;
    assert_eq!(
        models[1..],
        [(s("change"), Some(id), s("m"), s("imports,code")), (s("change"), Some(id), s("m"), s(""))]
    );

    // Configurations: the models as a set, the name the repr.
    let other = catalog::create_model(
        &w.ctx,
        &bob,
        body::<ModelInput>(json!({"name": "n", "code": "model = 1", "framework": "tf"})),
    )
    .await
    .unwrap();
    let input = body::<ConfigurationInput>(json!({"name": "c", "description": "d", "ml_models": [id, other]}));
    let cfg = catalog::create_configuration(&w.ctx, &bob, input).await.unwrap();
    let reordered = body::<ConfigurationInput>(json!({"name": "c2", "description": "d", "ml_models": [other, id]}));
    catalog::update_configuration(&w.ctx, &bob, cfg, reordered).await.unwrap();
    let patch = body::<kafkaml_domain::inputs::ConfigurationPatch>(json!({"description": "e", "ml_models": [id]}));
    catalog::patch_configuration(&w.ctx, &bob, cfg, patch).await.unwrap();
    // Refused (a model no one has): rolled back with its entry.
    let patch = body::<kafkaml_domain::inputs::ConfigurationPatch>(json!({"name": "c3", "ml_models": [999]}));
    catalog::patch_configuration(&w.ctx, &bob, cfg, patch).await.unwrap_err();
    catalog::delete_configuration(&w.ctx, &bob, cfg).await.unwrap();
    assert_eq!(
        trail_of(&w, "configurations").await,
        [
            (s("add"), Some(cfg), s("c"), s("name,description,ml_models")),
            (s("change"), Some(cfg), s("c2"), s("name")),
            (s("change"), Some(cfg), s("c2"), s("description,ml_models")),
            (s("delete"), Some(cfg), s("c2"), s("")),
        ]
    );

    // Devices: a new password is named, never shown; a name another device has is refused and
    // leaves no entry.
    let device = |name: &str| {
        body::<IotDeviceInput>(json!({"friendly_name": name, "mqtt_address": "127.0.0.1", "mqtt_port": 1883,
            "mqtt_username": "u", "mqtt_password": "first-secret"}))
    };
    let d = create_device(&w.ctx, &bob, device("d")).await.unwrap();
    create_device(&w.ctx, &bob, device("e")).await.unwrap();
    let patch = |v: Value| kafkaml_api::usecase::iot::patch(body::<kafkaml_domain::iot::IotDevicePatch>(v));
    let update = |changes| kafkaml_api::usecase::iot::update_device(&w.ctx, &bob, d.id, changes);
    update(patch(json!({"mqtt_port": 1884, "mqtt_password": "second-secret", "mqtt_username": "u"}))).await.unwrap();
    update(patch(json!({"friendly_name": "e"}))).await.unwrap_err();
    update(patch(json!({"friendly_name": "d2"}))).await.unwrap();
    let devices = trail_of(&w, "iot-devices").await;
    assert_eq!(
        devices[2..],
        [
            (s("change"), Some(d.id), s("d"), s("mqtt_port,mqtt_password")),
            (s("change"), Some(d.id), s("d2"), s("friendly_name")),
        ]
    );
    assert!(!format!("{:?}", trail(&w).await).contains("secret"));
}

#[tokio::test]
async fn workflows_record_their_object_and_what_they_changed() {
    let w = world();
    let (bob, uid) = user(&w, "bob").await;
    let s = |v: &str| v.to_owned();
    let cfg = configuration(&w, 1).await;
    let deployment = deploy_training(&w.ctx, &bob, body(json!({"configuration": cfg, "gpumem": 0}))).await.unwrap();
    let result = result_ids(&w, deployment).await[0];
    let metrics = body::<kafkaml_domain::inputs::MetricsUpdate>(json!({"train_metrics": {"loss": [0.5]}}));
    kafkaml_api::usecase::results::update_metrics(&w.ctx, &bob, result, metrics).await.unwrap();
    let datasource = body::<DatasourceInput>(json!({"deployment": deployment.to_string(), "topic": "data",
        "input_format": "RAW", "time": "2026-12-03T08:00:00Z"}));
    kafkaml_api::usecase::datasources::store_datasource(&w.ctx, &bob, datasource).await.unwrap();
    stop_training(&w.ctx, &bob, result).await.unwrap();
    kafkaml_api::usecase::results::delete_result(&w.ctx, &bob, result).await.unwrap();
    catalog::delete_deployment(&w.ctx, &bob, deployment).await.unwrap();

    let trail = trail(&w).await;
    assert!(trail.iter().filter(|e| e.1 != "users").all(|e| e.5 == uid), "{trail:?}");
    let ds = trail.iter().find(|e| e.1 == "datasources").unwrap();
    assert_eq!(ds.0, "add");
    assert!(ds.2.is_some() && ds.3 == format!("Datasource {}: data of deployment {deployment}", ds.2.unwrap()));
    assert!(ds.4.split(',').any(|f| f == "topic"), "{ds:?}");
    let result_repr = format!("Result {result}");
    assert_eq!(
        trail_of(&w, "results").await,
        [
            (s("metrics"), Some(result), result_repr.clone(), s("train_metrics")),
            (s("stop"), Some(result), result_repr.clone(), s("status")),
            (s("delete"), Some(result), result_repr, s("")),
        ]
    );
    assert_eq!(
        trail_of(&w, "deployments").await,
        [
            (s("add"), Some(deployment), format!("Deployment {deployment}"), s("")),
            (s("delete"), Some(deployment), format!("Deployment {deployment}"), s("")),
        ]
    );
}

#[tokio::test]
async fn the_job_watcher_records_each_result_it_marks_failed_once() {
    let w = world();
    let cfg = configuration(&w, 1).await;
    let id = deploy_training(&w.ctx, &ANON, body(json!({"configuration": cfg, "gpumem": 0}))).await.unwrap();
    let result = result_ids(&w, id).await[0];
    let watcher = tokio::spawn(record_job_failures(w.ctx.clone(), Arc::new(w.cluster.clone())));
    let failure = || JobFailure {
        job_name: format!("model-training-{result}"),
        result_ids: vec![result],
        reason: "BackoffLimitExceeded".to_owned(),
    };
    // Reported twice (as every replica's watcher would): one change, one entry.
    w.cluster.push_failure(failure());
    w.cluster.push_failure(failure());
    let recent = || w.ctx.db(|c| Ok::<_, Error>(kafkaml_persistence::repo::audit::recent(c, 100)?));
    for _ in 0..100 {
        if !recent().await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    watcher.abort();
    let entries = recent().await.unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let e = &entries[0];
    assert_eq!(
        (e.actor.as_str(), e.user_id, e.action.as_str(), e.object_kind.as_str(), e.object_id),
        ("job watcher", None, "fail", "results", Some(result))
    );
    assert_eq!(
        (e.object_repr.as_str(), e.changed_fields.as_str()),
        (format!("Result {result}").as_str(), "status,status_reason")
    );
}

#[tokio::test]
async fn anonymous_workflows_are_not_recorded_either() {
    let w = world();
    let cfg = configuration(&w, 1).await;
    let deployment = deploy_training(&w.ctx, &ANON, body(json!({"configuration": cfg, "gpumem": 0}))).await.unwrap();
    let result = result_ids(&w, deployment).await[0];
    let metrics = body::<kafkaml_domain::inputs::MetricsUpdate>(json!({"val_metrics": {"loss": [0.5]}}));
    kafkaml_api::usecase::results::update_metrics(&w.ctx, &ANON, result, metrics).await.unwrap();
    stop_training(&w.ctx, &ANON, result).await.unwrap();
    let device = body::<IotDeviceInput>(json!({"friendly_name": "d", "mqtt_address": "127.0.0.1", "mqtt_port": 1883,
        "mqtt_username": "u", "mqtt_password": "p"}));
    let device = create_device(&w.ctx, &ANON, device).await.unwrap();
    kafkaml_api::usecase::iot::delete_device(&w.ctx, &ANON, device.id).await.unwrap();
    kafkaml_api::usecase::results::delete_result(&w.ctx, &ANON, result).await.unwrap();
    catalog::delete_deployment(&w.ctx, &ANON, deployment).await.unwrap();
    assert!(trail(&w).await.is_empty());
}

/// The status and reason of result `id`, polled until `done` holds (at most 10 s).
async fn poll_result(w: &World, id: i32, done: impl Fn(ResultStatus) -> bool) -> (ResultStatus, Option<String>) {
    let mut last = None;
    for _ in 0..500 {
        let found = w.ctx.db(move |c| Ok::<_, Error>(results::find_context(c, id)?)).await.unwrap().unwrap();
        let now = (found.result.status, found.result.status_reason);
        if done(now.0) {
            return now;
        }
        last = Some(now);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("result {id} stayed {last:?}");
}

#[tokio::test]
async fn the_first_list_fails_the_results_whose_job_is_gone_once_past_the_grace() {
    let w = world_with(|config| config.job_creation_grace = std::time::Duration::from_secs(1));
    let cfg = configuration(&w, 2).await;
    let id = deploy_training(&w.ctx, &ANON, body(json!({"configuration": cfg, "gpumem": 0}))).await.unwrap();
    let results = result_ids(&w, id).await;
    // One Job vanished before the watcher started; the other is there.
    assert!(w.cluster.vanish_job(&format!("model-training-{}", results[0])));
    let watcher = tokio::spawn(record_job_failures(w.ctx.clone(), Arc::new(w.cluster.clone())));
    // The deployment is younger than the grace at the first list: looked at again once older.
    let (status, reason) = poll_result(&w, results[0], |s| s == ResultStatus::Failed).await;
    assert_eq!(
        (status, reason),
        (ResultStatus::Failed, Some(format!("Job model-training-{} disappeared", results[0])))
    );
    let (status, _) = poll_result(&w, results[1], |_| true).await;
    assert_eq!(status, ResultStatus::Created);
    watcher.abort();
}

#[tokio::test]
async fn a_stopped_training_is_not_taken_for_a_vanished_one() {
    let w = world();
    let cfg = configuration(&w, 2).await;
    let watcher = tokio::spawn(record_job_failures(w.ctx.clone(), Arc::new(w.cluster.clone())));
    let id = deploy_training(&w.ctx, &ANON, body(json!({"configuration": cfg, "gpumem": 0}))).await.unwrap();
    let results = result_ids(&w, id).await;
    // The back-end deletes the first Job itself (a stop); someone else deletes the second.
    stop_training(&w.ctx, &ANON, results[0]).await.unwrap();
    assert!(w.cluster.vanish_job(&format!("model-training-{}", results[1])));
    let (_, reason) = poll_result(&w, results[1], |s| s == ResultStatus::Failed).await;
    assert_eq!(reason, Some(format!("Job model-training-{} disappeared", results[1])));
    // Its deletion was reported first: settled by now, and the result stays stopped.
    let (status, _) = poll_result(&w, results[0], |_| true).await;
    assert_eq!(status, ResultStatus::Stopped);
    watcher.abort();
}

#[tokio::test]
async fn background_deletions_of_a_failed_deployment_are_tracked_until_done() {
    let w = world();
    let cfg = configuration(&w, 2).await;
    w.cluster.fail_next_creates(1, kafkaml_orchestration::fake::unreachable("https://fake"));
    let input = body::<DeploymentInput>(json!({"configuration": cfg, "gpumem": 0}));
    let err = deploy_training(&w.ctx, &ANON, input).await.unwrap_err();
    assert!(matches!(&err, Error::Cluster(e) if e.is_unavailable()), "{err:?}");
    // The cluster was unavailable: the deletions go on in the background, which a stop awaits.
    assert!(w.ctx.background.drain(std::time::Duration::from_secs(5)).await);
    assert_eq!(w.ctx.background.running(), 0);
    assert_eq!(w.cluster.job_names(), Vec::<String>::new());
    assert_eq!(w.cluster.deleted_jobs().len(), 1);
}

#[tokio::test]
async fn an_inference_whose_controller_creation_timed_out_is_deleted_in_the_background() {
    let w = world();
    let cfg = configuration(&w, 1).await;
    let id = deploy_training(&w.ctx, &ANON, body(json!({"configuration": cfg, "gpumem": 0}))).await.unwrap();
    let result = result_ids(&w, id).await[0];
    w.ctx.db(move |c| Ok::<_, Error>(results::set_status(c, result, ResultStatus::Finished, None)?)).await.unwrap();
    w.cluster.fail_next_creates(1, kafkaml_orchestration::fake::unreachable("https://fake"));
    let input = body::<InferenceInput>(json!({"gpumem": 0, "input_topic": "in", "output_topic": "out"}));
    let err = inference::deploy_inference(&w.ctx, &ANON, result, input).await.unwrap_err();
    assert!(matches!(&err, Error::Cluster(e) if e.is_unavailable()), "{err:?}");
    assert!(w.ctx.background.drain(std::time::Duration::from_secs(5)).await);
    let deletions: Vec<_> = w
        .cluster
        .calls()
        .into_iter()
        .filter(|c| matches!(c, kafkaml_orchestration::fake::ClusterCall::DeleteReplicationController(_)))
        .collect();
    assert_eq!(deletions.len(), 1, "{deletions:?}");
    let list = w.ctx.db(|c| Ok::<_, Error>(kafkaml_persistence::repo::inferences::list(c)?)).await.unwrap();
    assert!(list.is_empty());
}
