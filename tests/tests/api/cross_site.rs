//! Defences against cross-site requests, whatever the authentication settings (security review
//! H2, M4): a JSON body must say `application/json` (415), an unsafe method from an untrusted
//! `Origin` is refused (403) before any handler runs, and the prediction WebSocket checks the
//! `Origin` and reads only the output topics of inferences. (L3 is in `iot.rs`.)

use std::sync::Arc;
use std::time::Duration;

use crate::ws_client::{next_text, Socket};
use futures::SinkExt;
use kafkaml_messaging::fake::FakePredictionSource;
use kafkaml_tests::{db_test, DbKind, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const EVIL: &str = "http://evil.example";
const REFUSED: &str = "Forbidden: cross-site request refused. The Origin header names neither this site nor a \
                       trusted web UI (FRONTEND_URL).";
const TEXT_PLAIN_415: &str = r#"Unsupported media type "text/plain": send the body as application/json."#;

/// Sends `method path` with `headers` and `body` (no body when empty; no `Content-Type` unless
/// given); returns the status and the text.
async fn send(app: &TestApp, method: Method, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let mut req = app.client.request(method, app.url(path));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    if !body.is_empty() {
        req = req.body(body.to_owned());
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

fn names(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap().to_owned()).collect()
}

db_test!(a_json_body_sent_as_another_type_is_415_and_changes_nothing, |app| async move {
    // The review's T1 body, as a "simple" cross-site request would send it (text/plain).
    let model = r#"{"name":"m1","code":"model = 1","framework":"tf"}"#;
    let (status, text) = send(&app, Method::POST, "/models/", &[("Content-Type", "text/plain")], model).await;
    assert_eq!((status, text.as_str()), (415, TEXT_PLAIN_415));
    let (status, text) =
        send(&app, Method::POST, "/api/models", &[("Content-Type", "text/plain;charset=UTF-8")], model).await;
    assert_eq!(
        (status, text.as_str()),
        (415, r#"Unsupported media type "text/plain;charset=UTF-8": send the body as application/json."#)
    );
    let (status, text) = send(&app, Method::POST, "/models/", &[], model).await;
    assert_eq!(
        (status, text.as_str()),
        (415, "Unsupported media type: the body has no Content-Type; send it as application/json.")
    );
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    assert_eq!(send(&app, Method::POST, "/models/", &form, model).await.0, 415);
    assert_eq!(app.get_json("/models/").await, json!([]));
    assert!(app.executor.raw_requests().is_empty(), "the executor was never asked");

    // JSON, in each of its spellings, is taken.
    for (i, ctype) in
        ["application/json", "application/json; charset=utf-8", "Application/JSON", "application/vnd.kml+json"]
            .into_iter()
            .enumerate()
    {
        let body = format!(r#"{{"name":"m{i}","code":"model = 1","framework":"tf"}}"#);
        let (status, text) = send(&app, Method::POST, "/models/", &[("Content-Type", ctype)], &body).await;
        assert_eq!(status, 201, "{ctype}: {text}");
    }
    assert_eq!(names(&app.get_json("/models/").await).len(), 4);

    // A change by another type changes nothing either; an empty body still gets the route's own 400.
    let id = app.get_json("/models/").await[0]["id"].as_i64().unwrap();
    let before = app.get_json(&format!("/models/{id}")).await;
    for method in [Method::PUT, Method::PATCH] {
        let body = r#"{"name":"renamed","code":"model = 2","framework":"tf"}"#;
        let (status, text) =
            send(&app, method.clone(), &format!("/models/{id}"), &[("Content-Type", "text/plain")], body).await;
        assert_eq!((status, text.as_str()), (415, TEXT_PLAIN_415), "{method}");
    }
    assert_eq!(app.get_json(&format!("/models/{id}")).await, before);
    assert_eq!(send(&app, Method::POST, "/models/", &[("Content-Type", "text/plain")], "").await.0, 400);
});

db_test!(every_route_documented_as_json_refuses_other_types_and_uploads_keep_theirs, |app| async move {
    let document = app.get_json("/api-docs/openapi.json").await;
    let mut json_routes = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(types) = op["requestBody"]["content"].as_object() else { continue };
            if types.keys().all(|t| t == "application/json") {
                json_routes.push((method.to_ascii_uppercase(), path.replace("{id}", "1")));
            }
        }
    }
    assert!(json_routes.len() >= 14, "{json_routes:?}");
    for (method, path) in &json_routes {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let (status, text) = send(&app, method.clone(), path, &[("Content-Type", "text/plain")], "{}").await;
        assert_eq!((status, text.as_str()), (415, TEXT_PLAIN_415), "{method} {path}");
    }
    // The training pods' uploads are not JSON routes: they answer in their own terms.
    let (status, text) = send(&app, Method::POST, "/results/1", &[("Content-Type", "text/plain")], "x").await;
    assert_ne!(status, 415, "{text}");
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let (status, text) = send(&app, Method::POST, "/results_metrics/1", &form, "data=%7B%7D").await;
    assert_ne!(status, 415, "{text}");
    for list in ["/models/", "/configurations/", "/deployments/", "/inferences/", "/datasources/", "/iot-devices/"] {
        assert_eq!(app.get_json(list).await, json!([]), "{list}");
    }
});

db_test!(unsafe_requests_from_another_origin_are_403_before_any_handler, |app| async move {
    // The review's T1, exactly.
    let model = r#"{"name":"m1","code":"model = 1","framework":"tf"}"#;
    let evil_text = [("Content-Type", "text/plain"), ("Origin", EVIL)];
    let (status, text) = send(&app, Method::POST, "/models/", &evil_text, model).await;
    assert_eq!((status, text.as_str()), (403, REFUSED));
    // Whatever the body's type, and for `Origin: null` (sandboxed frames, file pages).
    for origin in [EVIL, "null", "http://localhost:4201", "https://localhost:4200", "http://127.0.0.1.evil.example"] {
        let headers = [("Content-Type", "application/json"), ("Origin", origin)];
        let (status, text) = send(&app, Method::POST, "/models/", &headers, model).await;
        assert_eq!((status, text.as_str()), (403, REFUSED), "{origin}");
    }
    assert_eq!(app.get_json("/models/").await, json!([]));
    assert!(app.executor.raw_requests().is_empty(), "the executor was never asked");

    // Trusted: the web UI's origins (development and FRONTEND_URL) and the back-end's own origin.
    let own = app.address.clone();
    let own_https = own.replacen("http://", "https://", 1);
    for (i, origin) in
        ["http://localhost:4200", "http://localhost", own.as_str(), own_https.as_str()].into_iter().enumerate()
    {
        let body = format!(r#"{{"name":"ok{i}","code":"model = 1","framework":"tf"}}"#);
        let headers = [("Content-Type", "application/json"), ("Origin", origin)];
        let (status, text) = send(&app, Method::POST, "/models/", &headers, &body).await;
        assert_eq!(status, 201, "{origin}: {text}");
    }
    let model_id = app.get_json("/models/").await[0]["id"].as_i64().unwrap();
    let before = app.get_json(&format!("/models/{model_id}")).await;
    for method in [Method::PUT, Method::PATCH, Method::DELETE] {
        let headers = [("Content-Type", "application/json"), ("Origin", EVIL)];
        let (status, text) = send(&app, method.clone(), &format!("/models/{model_id}"), &headers, model).await;
        assert_eq!((status, text.as_str()), (403, REFUSED), "{method}");
    }
    assert_eq!(app.get_json(&format!("/models/{model_id}")).await, before);
    // Reading is not refused (CORS keeps the answer from the other page).
    let res = app.client.get(app.url("/models/")).header("Origin", EVIL).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("access-control-allow-origin").is_none());

    // The bodiless stops (review H2): refused before their handler looks anything up.
    let configuration = app.create_configuration("c1", &[model_id]).await;
    let (_, results) = app.seed_deployment(configuration, |_| {});
    let inference = app.seed_inference(Some(results[0] as i32), "deployed", |_| {});
    for path in
        [format!("/results/stop/{}", results[0]), format!("/inferences/{inference}"), "/results/stop/99999".into()]
    {
        let (status, text) = send(&app, Method::POST, &path, &[("Origin", EVIL)], "").await;
        assert_eq!((status, text.as_str()), (403, REFUSED), "{path}");
    }
    let (status, text) = send(&app, Method::DELETE, &format!("/results/{}", results[0]), &[("Origin", EVIL)], "").await;
    assert_eq!((status, text.as_str()), (403, REFUSED));
    let listed = app.get_json("/results/").await;
    assert_eq!(listed[0]["status"], "created", "{listed}");
    assert_eq!(app.get_json(&format!("/inferences/{inference}")).await["status"], "deployed");
});

// --- the prediction WebSocket (M4) -------------------------------------------------------------

/// An application whose predictions come from an in-memory source (no broker), with
/// `KAFKAML_WS_ANY_TOPIC` as given.
async fn with_predictions(kind: DbKind, any_topic: bool) -> (TestApp, FakePredictionSource) {
    let fake = FakePredictionSource::new();
    let source = fake.clone();
    let app = TestApp::spawn_with_services(
        kind,
        move |s| s.server.ws_any_topic = any_topic,
        move |services| services.predictions = Some(Arc::new(source)),
    )
    .await;
    (app, fake)
}

fn ws_url(app: &TestApp) -> String {
    format!("{}/ws/", app.address.replacen("http://", "ws://", 1))
}

/// Opens `/ws/` with `origin`, or fails with the HTTP answer's status and body.
async fn open_socket(app: &TestApp, origin: Option<&str>) -> Result<Socket, (u16, String)> {
    let mut request = ws_url(app).into_client_request().unwrap();
    if let Some(origin) = origin {
        request.headers_mut().insert("Origin", origin.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, res)) => {
            assert_eq!(res.status(), 101);
            Ok(socket)
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            Err((res.status().as_u16(), String::from_utf8(res.body().clone().unwrap_or_default()).unwrap()))
        }
        Err(other) => panic!("the upgrade failed: {other}"),
    }
}

async fn ask(socket: &mut Socket, request: Value) {
    socket.send(WsMessage::text(request.to_string())).await.unwrap();
}

db_test!(a_websocket_upgrade_from_another_origin_is_403, fixtures = |kind| with_predictions(kind, false), |(
    app,
    _fake,
)| async move {
    // The review's T11, exactly.
    let res = app
        .client
        .get(app.url("/ws/"))
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("Origin", EVIL)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(res.text().await.unwrap(), REFUSED);
    for origin in [EVIL, "null", "http://localhost:4201"] {
        assert_eq!(open_socket(&app, Some(origin)).await.err(), Some((403, REFUSED.to_owned())), "{origin}");
    }
    // The web UI (its origins), this site, and clients that send no Origin open sockets.
    let own = app.address.clone();
    for origin in [Some("http://localhost:4200"), Some("http://localhost"), Some(own.as_str()), None] {
        let socket = open_socket(&app, origin).await;
        assert!(socket.is_ok(), "{origin:?}: {:?}", socket.err());
        socket.unwrap().close(None).await.unwrap();
    }
});

db_test!(
    a_websocket_reads_only_the_output_topics_of_inferences,
    fixtures = |kind| with_predictions(kind, false),
    |(app, fake)| async move {
        app.seed_inference(None, "deployed", |new| {
            new.output_topic = "preds-out".to_owned();
            new.output_upper = "preds-upper".to_owned();
        });
        let mut socket = open_socket(&app, Some("http://localhost:4200")).await.unwrap();

        // Any other topic (the control topic, training data) is refused, and nothing is subscribed.
        for topic in ["control", "in", "automl:0:0:70000", "preds-out-2"] {
            ask(&mut socket, json!({"topic": topic, "classification": true})).await;
            let frame: Value =
                serde_json::from_str(&next_text(&mut socket, Duration::from_secs(5)).await.unwrap()).unwrap();
            assert_eq!(
                frame,
                json!({"error": format!("Cannot subscribe to {topic}: it is not the output topic of an inference.")})
            );
        }
        assert!(fake.subscriptions().is_empty(), "{:?}", fake.subscriptions());

        // The inference's output topic streams; a refused request afterwards keeps it.
        ask(&mut socket, json!({"topic": "preds-out", "classification": true})).await;
        assert!(fake.wait_for_subscription("preds-out", Duration::from_secs(5)).await);
        assert_eq!(fake.push("preds-out", r#"{"values": [0.1, 0.7, 0.2]}"#), 1);
        assert_eq!(next_text(&mut socket, Duration::from_secs(5)).await.as_deref(), Some("1"));
        ask(&mut socket, json!({"topic": "control"})).await;
        assert!(next_text(&mut socket, Duration::from_secs(5)).await.unwrap().contains("not the output topic"));
        assert_eq!(fake.push("preds-out", r#"{"values": [0.9, 0.1]}"#), 1);
        assert_eq!(next_text(&mut socket, Duration::from_secs(5)).await.as_deref(), Some("0"));

        // The upper model's topic of a distributed inference is an output too.
        ask(&mut socket, json!({"topic": "preds-upper"})).await;
        assert!(fake.wait_for_subscription("preds-upper", Duration::from_secs(5)).await);
        assert_eq!(fake.subscriptions(), ["preds-out", "preds-upper"]);
        socket.close(None).await.unwrap();
    }
);

db_test!(any_topic_may_be_read_when_the_setting_allows_it, fixtures = |kind| with_predictions(kind, true), |(
    app,
    fake,
)| async move {
    let mut socket = open_socket(&app, None).await.unwrap();
    ask(&mut socket, json!({"topic": "anything-at-all"})).await;
    assert!(fake.wait_for_subscription("anything-at-all", Duration::from_secs(5)).await);
    // Still a valid Kafka name.
    ask(&mut socket, json!({"topic": "not a topic"})).await;
    let frame = next_text(&mut socket, Duration::from_secs(5)).await.unwrap();
    assert!(frame.starts_with(r#"{"error":"Cannot subscribe to not a topic"#), "{frame}");
    assert_eq!(fake.subscriptions(), ["anything-at-all"]);
    socket.close(None).await.unwrap();
});
