//! Kafka end to end: `POST /datasources/kafka` against a real broker (tansu), the control logger's
//! round trip, the prediction WebSocket, and a broker that stops (docs/contract.md §4.7, §4.10, §5.2.1,
//! §6.5; decisions.md item 1, 19, 24).

use std::time::{Duration, Instant};

use crate::ws_client::{next_text, Socket};
use futures::{SinkExt, StreamExt};
use kafkaml_tests::kafka::{run_control_logger, unique_topic, Kafka, TansuBroker};
use kafkaml_tests::{db_test, DbKind, TestApp};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// The contract's datasource (§4.7), as the web UI's "deploy" dialog sends it.
fn datasource(deployment: &str) -> Value {
    json!({
        "input_format": "RAW", "deployment": deployment,
        "input_config": "{\"data_type\": \"uint8\", \"label_type\": \"uint8\", \"data_reshape\": \"28 28\", \"label_reshape\": \"\"}",
        "description": "Mnist", "topic": "automl:0:0:70000", "validation_rate": 0.1, "test_rate": 0.1,
        "total_msg": 70000, "time": "2024-05-01T10:00:00Z"
    })
}

/// The control message of [`datasource`] (docs/contract.md §4.7's verified example).
const EXPECTED_VALUE: &str = r#"{"input_format": "RAW", "input_config": {"data_type": "uint8", "label_type": "uint8", "data_reshape": "28 28", "label_reshape": ""}, "description": "Mnist", "topic": "automl:0:0:70000", "validation_rate": 0.1, "test_rate": 0.1, "total_msg": 70000}"#;

async fn spawn_kafka(kind: DbKind, bootstrap: &str, topic: &str, timeout_secs: u64) -> TestApp {
    let (bootstrap, topic) = (bootstrap.to_owned(), topic.to_owned());
    TestApp::spawn_with(kind, move |s| {
        s.kafka.bootstrap_servers = Some(bootstrap);
        s.kafka.control_topic = Some(topic);
        s.kafka.timeout_secs = timeout_secs;
    })
    .await
}

/// A configuration with one model, for deployments seeded with chosen ids.
async fn configuration(app: &TestApp) -> i64 {
    let model = app.create_model("m1", "tf", false, None).await;
    app.create_configuration("c1", &[model]).await
}

fn big_endian(key: &[u8]) -> u64 {
    key.iter().fold(0, |acc, b| (acc << 8) | u64::from(*b))
}

/// The fixtures of a `db_test!` on `kind`: the shared broker, a fresh control topic on it and an
/// application using both.
async fn with_kafka(kind: DbKind) -> (TestApp, Kafka, String) {
    let kafka = Kafka::from_env();
    let topic = unique_topic("control");
    kafka.create_topic(&topic, 1).await;
    let app = spawn_kafka(kind, &kafka.bootstrap, &topic, 5).await;
    (app, kafka, topic)
}

db_test!(publishes_keys_7_and_300_big_endian, fixtures = |kind| with_kafka(kind), |(app, kafka, topic)| async move {
    let config = configuration(&app).await;
    app.seed_deployment_with_id(config, 7);
    app.seed_deployment_with_id(config, 300);
    for id in ["7", "300"] {
        let res = app.post_json("/api/datasources/kafka/", &datasource(id)).await;
        assert_eq!(res.status(), 201, "deployment {id}");
        assert_eq!(res.text().await.unwrap(), "");
    }
    let messages = kafka.consume(&topic, 2, Duration::from_secs(20), Duration::from_secs(1)).await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[0].key.as_deref(), Some(&[7u8][..]));
    assert_eq!(messages[1].key.as_deref(), Some(&[1u8, 44][..]));
    assert_eq!(big_endian(messages[0].key.as_deref().unwrap()), 7);
    assert_eq!(big_endian(messages[1].key.as_deref().unwrap()), 300);
    for m in &messages {
        assert_eq!(m.text(), EXPECTED_VALUE);
    }
    // Publishing stores nothing: the control logger records datasources.
    assert_eq!(app.get_json("/datasources/").await, json!([]));
});

db_test!(control_logger_round_trip_stores_the_datasource_once, fixtures = |kind| with_kafka(kind), |(
    app,
    kafka,
    topic,
)| async move {
    let config = configuration(&app).await;
    app.seed_deployment_with_id(config, 7);
    let res = app.post_json("/datasources/kafka", &datasource("7")).await;
    assert_eq!(res.status(), 201);
    let read = run_control_logger(&app, &kafka, &topic, 1).await;
    assert_eq!(read.len(), 1);
    let time = app.get_json("/datasources/").await[0]["time"].clone();
    assert_eq!(
        app.get_json("/datasources/").await,
        json!([{
            "input_format": "RAW", "deployment": "7",
            "input_config": "{\"data_type\": \"uint8\", \"label_type\": \"uint8\", \"data_reshape\": \"28 28\", \"label_reshape\": \"\"}",
            "description": "Mnist", "topic": "automl:0:0:70000", "validation_rate": 0.1, "test_rate": 0.1,
            "total_msg": 70000, "time": time
        }])
    );
    // `POST /datasources/` never re-publishes: the control topic still holds one message.
    let all = kafka.consume(&topic, 2, Duration::from_secs(3), Duration::from_secs(1)).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(app.get_json("/datasources/").await.as_array().unwrap().len(), 1);
});

db_test!(the_admin_re_sends_a_logged_datasource_to_the_broker, fixtures = |kind| with_kafka(kind), |(
    app,
    kafka,
    topic,
)| async move {
    let config = configuration(&app).await;
    app.seed_deployment_with_id(config, 7);
    // Logged by the control logger, then re-sent from its admin page.
    assert_eq!(app.post_json("/datasources/", &datasource("7")).await.status(), 201);
    let id = kafkaml_persistence::repo::datasources::list_with_ids(&mut app.db.connect(), None).unwrap()[0].0;
    let browser = kafkaml_tests::admin::AdminClient::superuser(&app, "/api/admin/").await;
    let done = browser.post(&format!("datasources/{id}/do/resend/"), &[]).await;
    assert_eq!((done.status, done.location.as_deref()), (303, Some("../../change/")));
    let messages = kafka.consume(&topic, 1, Duration::from_secs(20), Duration::ZERO).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].key.as_deref(), Some(&[7u8][..]));
    assert_eq!(messages[0].text(), EXPECTED_VALUE);
    // The re-send is in the datasource's history, by the user who asked for it (the control
    // logger's anonymous POST left no entry).
    let history = browser.get(&format!("datasources/{id}/history/")).await;
    let rows = history.texts("#history tbody tr");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("root") && rows[0].contains("resend"), "{rows:?}");
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_topic_is_created_at_start_up() {
    let kafka = Kafka::from_env();
    let topic = unique_topic("control-new");
    assert!(!kafka.topic_exists(&topic).await);
    let app = spawn_kafka(DbKind::Sqlite, &kafka.bootstrap, &topic, 5).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while !kafka.topic_exists(&topic).await {
        assert!(Instant::now() < deadline, "the application did not create {topic}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let config = configuration(&app).await;
    app.seed_deployment_with_id(config, 1);
    assert_eq!(app.post_json("/datasources/kafka", &datasource("1")).await.status(), 201);
    let messages = kafka.consume(&topic, 1, Duration::from_secs(20), Duration::ZERO).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].key.as_deref(), Some(&[1u8][..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_broker_answers_503_within_the_timeout_and_stores_nothing() {
    let mut broker = TansuBroker::start().await;
    let topic = unique_topic("control");
    broker.kafka().create_topic(&topic, 1).await;
    let app = spawn_kafka(DbKind::Sqlite, &broker.bootstrap, &topic, 2).await;
    let config = configuration(&app).await;
    app.seed_deployment_with_id(config, 1);
    assert_eq!(app.post_json("/datasources/kafka", &datasource("1")).await.status(), 201);

    broker.stop();
    let started = Instant::now();
    let res = app.post_json("/datasources/kafka", &datasource("1")).await;
    let elapsed = started.elapsed();
    assert_eq!(res.status(), 503);
    let body = res.text().await.unwrap();
    assert!(body.starts_with(&format!("The datasource was not published to {topic}: ")), "{body}");
    assert!(elapsed < Duration::from_millis(2_500), "answered after {elapsed:?}");
    assert_eq!(app.get_json("/datasources/").await, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_goes_on_when_the_broker_is_down() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = spawn_kafka(DbKind::Sqlite, &format!("127.0.0.1:{port}"), "control", 1).await;
    assert_eq!(app.get("/models/").await.status(), 200);
    let config = configuration(&app).await;
    app.seed_deployment_with_id(config, 1);
    let started = Instant::now();
    let res = app.post_json("/datasources/kafka", &datasource("1")).await;
    assert_eq!(res.status(), 503);
    assert!(started.elapsed() < Duration::from_millis(1_500), "answered after {:?}", started.elapsed());
}

kafkaml_tests::db_test!(datasource_kafka_input_errors, |app| async move {
    let config = configuration(&app).await;
    app.seed_deployment_with_id(config, 7);
    let post = |body: Value| {
        let app = &app;
        async move {
            let res = app.post_json("/datasources/kafka", &body).await;
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    assert_eq!(post(datasource("8")).await, (404, "Deployment does not exist".to_owned()));
    let mut no_topic = datasource("7");
    no_topic.as_object_mut().unwrap().remove("topic");
    let (status, text) = post(no_topic).await;
    assert_eq!(status, 400);
    assert!(text.starts_with("Datasource not valid: "), "{text}");
    let mut bad_config = datasource("7");
    bad_config["input_config"] = json!("{not json");
    let (status, text) = post(bad_config).await;
    assert_eq!(status, 400);
    assert!(text.starts_with("Datasource not valid: input_config: not valid JSON ("), "{text}");
    let (status, text) = post(datasource("seven")).await;
    assert_eq!((status, text.as_str()), (400, "Datasource not valid: deployment: \"seven\" is not a deployment id."));
    let mut no_time = datasource("7");
    no_time.as_object_mut().unwrap().remove("time");
    assert_eq!(post(no_time).await.0, 400);
    let res = app.post_raw("/datasources/kafka", "application/json", "[]").await;
    assert_eq!(res.status(), 400);
    // Valid, but this application has no Kafka settings.
    assert_eq!(
        post(datasource("7")).await,
        (503, "Kafka is not configured: set BOOTSTRAP_SERVERS and CONTROL_TOPIC.".to_owned())
    );
    assert_eq!(app.get("/datasources/kafka").await.status(), 405);
    assert_eq!(app.get_json("/datasources/").await, json!([]));
});

// --- WebSocket -------------------------------------------------------------------------------

fn ws_url(app: &TestApp, path: &str) -> String {
    format!("{}{path}", app.address.replacen("http://", "ws://", 1))
}

async fn connect(app: &TestApp, path: &str) -> Socket {
    let (socket, res) = tokio_tungstenite::connect_async(ws_url(app, path)).await.unwrap();
    assert_eq!(res.status(), 101);
    socket
}

async fn send(socket: &mut Socket, text: &str) {
    socket.send(WsMessage::text(text)).await.unwrap();
}

/// Produces `value` on `topic` every 300 ms until `accept` takes a frame (the subscription's
/// consumer group joins in the background, so the first messages may predate it); frames `accept`
/// refuses are skipped. Returns the accepted frame.
async fn produce_until(
    kafka: &Kafka,
    socket: &mut Socket,
    topic: &str,
    value: &str,
    mut accept: impl FnMut(&str) -> bool,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "no prediction frame from {topic} within 30 s");
        kafka.produce(topic, None, value.as_bytes()).await;
        while let Some(frame) = next_text(socket, Duration::from_millis(300)).await {
            if accept(&frame) {
                return frame;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_streams_predictions_and_replaces_subscriptions() {
    let kafka = Kafka::from_env();
    let (first, second) = (unique_topic("out-a"), unique_topic("out-b"));
    kafka.create_topic(&first, 1).await;
    kafka.create_topic(&second, 1).await;
    // Messages from before a subscription are never sent.
    kafka.produce(&first, None, br#"{"values": [9, 0, 0]}"#).await;
    let app = spawn_kafka(DbKind::Sqlite, &kafka.bootstrap, &unique_topic("control"), 5).await;
    // Sockets read the output topics of inferences only.
    app.seed_inference(None, "deployed", |new| new.output_topic = first.clone());
    app.seed_inference(None, "deployed", |new| new.output_topic = second.clone());
    let mut socket = connect(&app, "/ws/").await;

    // Bad frames get an error frame; the socket stays usable.
    send(&mut socket, "hello").await;
    let error: Value = serde_json::from_str(&next_text(&mut socket, Duration::from_secs(5)).await.unwrap()).unwrap();
    assert!(error["error"].as_str().unwrap().starts_with("The request is not valid JSON"), "{error}");
    socket.send(WsMessage::binary(vec![1, 2, 3])).await.unwrap();
    let error: Value = serde_json::from_str(&next_text(&mut socket, Duration::from_secs(5)).await.unwrap()).unwrap();
    assert!(error["error"].as_str().unwrap().starts_with("Binary frames are not understood"), "{error}");

    // Classification: the arg-max index.
    send(&mut socket, &json!({"topic": first, "classification": true}).to_string()).await;
    let frame = produce_until(&kafka, &mut socket, &first, r#"{"values": [0.1, 0.7, 0.2]}"#, |_| true).await;
    assert_eq!(frame, "1");

    // A new request replaces the subscription: nothing more from the first topic, raw values from
    // the second. ("1" frames may still be in flight from before the switch.)
    send(&mut socket, &json!({"topic": second, "classification": false}).to_string()).await;
    let raw = r#"{"values": [0.5, 0.25]}"#;
    let mut seen_after_switch = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let frame = loop {
        assert!(Instant::now() < deadline, "no raw frame from {second}: {seen_after_switch:?}");
        kafka.produce(&first, None, br#"{"values": [0.1, 0.2, 0.9]}"#).await;
        kafka.produce(&second, None, raw.as_bytes()).await;
        if let Some(f) = next_text(&mut socket, Duration::from_millis(300)).await {
            if f != "1" {
                break f;
            }
            seen_after_switch.push(f);
        }
    };
    assert_eq!(frame, raw);
    // Keep reading a little: every frame is from the second topic.
    kafka.produce(&first, None, br#"{"values": [0.1, 0.2, 0.9]}"#).await;
    kafka.produce(&second, None, raw.as_bytes()).await;
    while let Some(f) = next_text(&mut socket, Duration::from_secs(1)).await {
        assert_eq!(f, raw);
    }

    // `/api/ws/` is the same endpoint (what the web UI's nginx proxies); closing is clean.
    let mut other = connect(&app, "/api/ws/").await;
    send(&mut other, &json!({"topic": second, "classification": true}).to_string()).await;
    let frame = produce_until(&kafka, &mut other, &second, raw, |f| f != raw).await;
    assert_eq!(frame, "0");
    other.close(None).await.unwrap();
    socket.close(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_without_kafka_is_503() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    match tokio_tungstenite::connect_async(ws_url(&app, "/ws/")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status(), 503);
            let body = String::from_utf8(res.body().clone().unwrap_or_default()).unwrap();
            assert_eq!(body, "Kafka is not configured: set BOOTSTRAP_SERVERS to view predictions.");
        }
        other => panic!("expected a 503, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_connections_are_bounded() {
    // No subscription is made, so no broker is needed.
    let app = TestApp::spawn_with(DbKind::Sqlite, |s| {
        s.kafka.bootstrap_servers = Some("127.0.0.1:1".into());
        s.server.ws_max_connections = 1;
    })
    .await;
    let mut first = connect(&app, "/ws/").await;
    match tokio_tungstenite::connect_async(ws_url(&app, "/ws/")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), 503),
        other => panic!("expected a 503, got {other:?}"),
    }
    first.close(None).await.unwrap();
    while first.next().await.is_some() {}
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match tokio_tungstenite::connect_async(ws_url(&app, "/ws/")).await {
            Ok(_) => break,
            Err(e) => assert!(Instant::now() < deadline, "the slot was not released: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
