//! Resource bounds (README, "Limits and security" › "Resource bounds"): upload size and free disk
//! space, leftover temporary files, request bodies that stop arriving, prediction WebSockets
//! (consumers, subscription changes, sockets per client, idle sockets) and list lengths.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::SinkExt;
use kafkaml_messaging::fake::FakePredictionSource;
use kafkaml_tests::{db_test, DbKind, TestApp};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::results::{post_form, row, seed_tf, trained_files, upload_form};
use crate::ws_client::{next_text, Socket};

const MIB: usize = 1024 * 1024;

/// `{"detail": …}` of an answer, with its status.
async fn detail(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    (status, body["detail"].as_str().unwrap_or_else(|| panic!("no detail: {body}")).to_owned())
}

// --- uploads ---------------------------------------------------------------------------------

db_test!(
    an_upload_over_the_size_limit_is_413_and_leaves_no_file,
    settings = |s| {
        s.limits.max_upload_bytes = MIB as u64;
    },
    |app| async move {
        let s = seed_tf(&app, |_| {});
        let id = s.result();
        let before = row(&app, id).unwrap();
        let data = Some(r#"{"training_time": 1}"#);
        // The model and the confusion matrix count together.
        let half = vec![1_u8; MIB / 2 + 1];
        for form in [upload_form(Some(&vec![7_u8; 3 * MIB]), None, data), upload_form(Some(&half), Some(&half), data)] {
            let (status, message) = detail(post_form(&app, &format!("/results/{id}"), form).await).await;
            assert_eq!(status, 413);
            assert_eq!(
                message,
                "The upload is larger than 1048576 bytes (KAFKAML_MAX_UPLOAD_BYTES); nothing was stored."
            );
            assert_eq!(trained_files(&app), Vec::<String>::new(), "no partial file is left");
            assert_eq!(row(&app, id).unwrap(), before);
        }
        // Within the limit, it is stored.
        let res = post_form(&app, &format!("/results/{id}"), upload_form(Some(&vec![7_u8; MIB]), None, data)).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        assert_eq!(trained_files(&app), [format!("{id}.h5")]);
    }
);

db_test!(
    an_upload_that_would_fill_the_disk_is_507_and_leaves_no_file,
    settings = |s| {
        // More than any test machine has free.
        s.limits.min_free_disk_bytes = u64::MAX / 4;
    },
    |app| async move {
        let s = seed_tf(&app, |_| {});
        let id = s.result();
        let before = row(&app, id).unwrap();
        let form = upload_form(Some(b"model"), None, Some(r#"{"training_time": 1}"#));
        let (status, message) = detail(post_form(&app, &format!("/results/{id}"), form).await).await;
        assert_eq!(status, 507);
        assert!(
            message.starts_with("Not enough free disk space on the back-end's data volume to store this ("),
            "{message}"
        );
        assert!(message.contains("kept free by KAFKAML_MIN_FREE_DISK_BYTES); nothing was stored."), "{message}");
        assert_eq!(trained_files(&app), Vec::<String>::new());
        assert_eq!(row(&app, id).unwrap(), before);
    }
);

db_test!(
    leftover_temporary_files_are_removed_when_the_stores_open,
    settings = |s| {
        // What a crash mid-upload leaves behind (L10), in place before the application starts.
        let data = s.server.data_dir.clone();
        std::fs::create_dir_all(data.join("trained")).unwrap();
        std::fs::create_dir_all(data.join("devices/0000ABCD")).unwrap();
        std::fs::write(data.join("trained/.upload-0f1e023d.part"), vec![1_u8; 4096]).unwrap();
        std::fs::write(data.join("trained/5.h5"), b"a trained model").unwrap();
        std::fs::write(data.join("devices/0000ABCD/.model.tflite.part"), b"half").unwrap();
        std::fs::write(data.join("devices/0000ABCD/autoexec.be"), b"print(1)").unwrap();
    },
    |app| async move {
        assert_eq!(trained_files(&app), ["5.h5"]);
        let device: Vec<String> = std::fs::read_dir(app.data_dir.join("devices/0000ABCD"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(device, ["autoexec.be"]);
    }
);

// --- bodies that stop arriving -----------------------------------------------------------------

/// Sends `head` and the first bytes of a body it announces as longer, then waits for the answer
/// (within 30 s, far beyond the 1 s body timeout of these tests): status line and body.
async fn stalled_request(app: &TestApp, head: &str, first_bytes: &[u8]) -> (String, String) {
    let addr = app.address.strip_prefix("http://").unwrap().to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first_bytes).await.unwrap();
    stream.flush().await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer))
        .await
        .expect("the server answers a stalled body and closes the connection")
        .unwrap();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.lines().next().unwrap_or_default().to_owned(), body.to_owned())
}

const STALLED: &str =
    "The request body stopped arriving: nothing was received for 1 s (KAFKAML_BODY_TIMEOUT); nothing \
                       was stored. Send the whole body without pausing.";

db_test!(a_body_that_stops_arriving_is_408, settings = |s| s.limits.body_timeout = 1, |app| async move {
    // A JSON body (read whole by the handler) announced as 16 MB, of which 10 bytes come.
    let head = "POST /models/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
                Content-Length: 16000000\r\n\r\n";
    let (status, body) = stalled_request(&app, head, br#"{"name": "#).await;
    assert_eq!(status, "HTTP/1.1 408 Request Timeout");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), json!({ "detail": STALLED }));
    assert_eq!(app.get_json("/models/").await, json!([]));

    // A multipart upload that stops after its first chunk: 408, and its temporary file is gone.
    let s = seed_tf(&app, |_| {});
    let id = s.result();
    let before = row(&app, id).unwrap();
    let head = format!(
        "POST /results/{id} HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n\
         Content-Length: 900000000\r\n\r\n--XyZ\r\nContent-Disposition: form-data; name=\"trained_model\"; \
         filename=\"m.h5\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    let (status, body) = stalled_request(&app, &head, &[7_u8; 64 * 1024]).await;
    assert_eq!(status, "HTTP/1.1 408 Request Timeout");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), json!({ "detail": STALLED }));
    assert_eq!(trained_files(&app), Vec::<String>::new(), "the partial file is removed");
    assert_eq!(row(&app, id).unwrap(), before);

    // Metrics (a raw body read by the handler).
    let head = format!(
        "POST /results_metrics/{id} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: 5000\r\n\r\n"
    );
    let (status, _) = stalled_request(&app, &head, b"data=").await;
    assert_eq!(status, "HTTP/1.1 408 Request Timeout");

    // A body that keeps arriving, however slowly, is not cut.
    let body = json!({"name": "slow", "code": "model = build()", "framework": "tf", "imports": "import x"}).to_string();
    let addr = app.address.strip_prefix("http://").unwrap().to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /models/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nConnection: close\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let (first, rest) = body.as_bytes().split_at(body.len() / 2);
    stream.write_all(first).await.unwrap();
    // Four pauses of 40 % of the timeout: 1.6 s in all, more than the timeout itself.
    for i in 0..4 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        stream.write_all(&rest[i..=i]).await.unwrap();
    }
    stream.write_all(&rest[4..]).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
});

// --- prediction WebSockets -----------------------------------------------------------------------

async fn with_predictions(
    kind: DbKind,
    adjust: impl FnOnce(&mut kafkaml_api::Settings),
) -> (TestApp, FakePredictionSource) {
    let fake = FakePredictionSource::new();
    let source = fake.clone();
    let app = TestApp::spawn_with_services(
        kind,
        move |s| {
            s.server.ws_any_topic = true;
            adjust(s);
        },
        move |services| services.predictions = Some(Arc::new(source)),
    )
    .await;
    (app, fake)
}

/// Opens `/ws/`, or gives the HTTP answer's status and body.
async fn open_socket(app: &TestApp) -> Result<Socket, (u16, String)> {
    let url = format!("{}/ws/", app.address.replacen("http://", "ws://", 1));
    match tokio_tungstenite::connect_async(url).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            Err((res.status().as_u16(), String::from_utf8(res.body().clone().unwrap_or_default()).unwrap()))
        }
        Err(other) => panic!("the upgrade failed: {other}"),
    }
}

async fn ask(socket: &mut Socket, request: Value) {
    socket.send(WsMessage::text(request.to_string())).await.unwrap();
}

/// The threads of this test process (the application runs in it).
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

db_test!(
    request_frames_on_one_socket_are_bounded,
    fixtures = |kind| with_predictions(kind, |_| {}),
    |(app, fake)| async move {
        let mut socket = open_socket(&app).await.unwrap();
        ask(&mut socket, json!({"topic": "t0"})).await;
        assert!(fake.wait_for_subscription("t0", Duration::from_secs(5)).await);
        let threads_before = threads();
        let started = Instant::now();
        // The review's T12: 300 request frames, as fast as they go.
        for i in 1..300 {
            ask(&mut socket, json!({"topic": format!("t{i}")})).await;
        }
        socket.send(WsMessage::text("end")).await.unwrap();
        let mut refused = 0;
        loop {
            let frame: Value =
                serde_json::from_str(&next_text(&mut socket, Duration::from_secs(20)).await.unwrap()).unwrap();
            let error = frame["error"].as_str().unwrap().to_owned();
            if error.starts_with("The request is not valid JSON") {
                break;
            }
            assert!(
                error.starts_with("Too many subscription changes: at most 3 at once, then one per second"),
                "{error}"
            );
            refused += 1;
        }
        let elapsed = started.elapsed().as_secs() as usize;
        let made = fake.subscriptions().len();
        // The first, the burst after it, then one a second.
        assert!(made <= 1 + 3 + elapsed + 1, "{made} consumers in {elapsed} s");
        assert_eq!(made - 1 + refused, 299, "every frame is either a change or refused");
        // One live consumer, the last one made.
        let last = fake.subscriptions().last().unwrap().clone();
        assert_eq!(fake.active_subscriptions(&last), 1);
        let live: usize = fake.subscriptions().iter().map(|t| fake.active_subscriptions(t)).sum();
        assert_eq!(live, 1, "{:?}", fake.subscriptions());
        assert!(threads() <= threads_before + 2, "threads went from {threads_before} to {}", threads());
        socket.close(None).await.unwrap();
    }
);

db_test!(
    consumers_are_capped_globally,
    fixtures = |kind| with_predictions(kind, |s| s.limits.ws_max_consumers = 1),
    |(app, fake)| async move {
        let mut first = open_socket(&app).await.unwrap();
        let mut second = open_socket(&app).await.unwrap();
        ask(&mut first, json!({"topic": "one"})).await;
        assert!(fake.wait_for_subscription("one", Duration::from_secs(5)).await);
        ask(&mut second, json!({"topic": "two"})).await;
        let frame: Value =
            serde_json::from_str(&next_text(&mut second, Duration::from_secs(5)).await.unwrap()).unwrap();
        assert_eq!(
            frame,
            json!({"error": "Cannot subscribe to two: 1 prediction subscriptions are open already (KAFKAML_WS_MAX_CONSUMERS); try again later."})
        );
        assert_eq!(fake.subscriptions(), ["one"]);
        // A socket may still change its own subscription: its old consumer gives the slot back first.
        ask(&mut first, json!({"topic": "three"})).await;
        assert!(fake.wait_for_subscription("three", Duration::from_secs(5)).await);
        assert_eq!(fake.active_subscriptions("one"), 0);
        // Once the first socket is gone, the slot is free.
        first.close(None).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            ask(&mut second, json!({"topic": "two"})).await;
            if fake.wait_for_subscription("two", Duration::from_millis(500)).await {
                break;
            }
            let _ = next_text(&mut second, Duration::from_millis(100)).await;
            assert!(Instant::now() < deadline, "the slot was not given back");
            tokio::time::sleep(Duration::from_millis(1000)).await;
        }
        second.close(None).await.unwrap();
    }
);

db_test!(
    one_client_cannot_take_every_socket,
    fixtures = |kind| with_predictions(kind, |s| {
        s.server.ws_max_connections = 10;
        s.limits.ws_max_per_client = 2;
    }),
    |(app, _fake)| async move {
        let first = open_socket(&app).await.unwrap();
        let _second = open_socket(&app).await.unwrap();
        let refused = open_socket(&app).await.err();
        assert_eq!(
            refused,
            Some((
                429,
                "This client has 2 prediction sockets open already (KAFKAML_WS_MAX_PER_CLIENT); close one first."
                    .to_owned()
            ))
        );
        drop(first);
        let deadline = Instant::now() + Duration::from_secs(10);
        while open_socket(&app).await.is_err() {
            assert!(Instant::now() < deadline, "the closed socket's slot was not given back");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
);

db_test!(
    a_socket_without_a_subscription_is_closed,
    fixtures = |kind| with_predictions(kind, |s| {
        s.limits.ws_idle_timeout = 1;
    }),
    |(app, fake)| async move {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
        let mut idle = open_socket(&app).await.unwrap();
        let mut busy = open_socket(&app).await.unwrap();
        ask(&mut busy, json!({"topic": "live"})).await;
        assert!(fake.wait_for_subscription("live", Duration::from_secs(5)).await);
        // Frames that subscribe to nothing do not keep a socket open.
        idle.send(WsMessage::text("hello")).await.unwrap();
        let closed = loop {
            match tokio::time::timeout(Duration::from_secs(20), idle.next()).await.expect("closed within 20 s") {
                Some(Ok(WsMessage::Close(frame))) => break frame.unwrap(),
                Some(Ok(_)) => continue,
                other => panic!("unexpected: {other:?}"),
            }
        };
        assert_eq!(closed.code, CloseCode::Policy);
        assert_eq!(closed.reason.as_str(), "No subscription for 1 s (KAFKAML_WS_IDLE_TIMEOUT).");
        // The subscribed socket stays and streams.
        assert_eq!(fake.push("live", "42"), 1);
        assert_eq!(next_text(&mut busy, Duration::from_secs(5)).await.as_deref(), Some("42"));
    }
);

// --- lists in requests -------------------------------------------------------------------------

db_test!(lists_in_requests_are_capped, |app| async move {
    let too_many = |n: i64| (1..=n).collect::<Vec<_>>();
    let message = "ml_models: Ensure this field has no more than 1000 elements.";
    for n in [1001, 40_000] {
        let res = app.post_json("/configurations/", &json!({"name": "big", "ml_models": too_many(n)})).await;
        let (status, text) = (res.status().as_u16(), res.text().await.unwrap());
        assert_eq!(status, 400, "{n}: {text}");
        assert!(text.contains(message), "{text}");
    }
    // 1000 is fine as far as the cap goes (the models do not exist).
    let res = app.post_json("/configurations/", &json!({"name": "big", "ml_models": too_many(1000)})).await;
    let text = res.text().await.unwrap();
    assert!(!text.contains("1000 elements"), "{text}");
    let model = app.create_model("m", "tf", false, None).await;
    let configuration = app.create_configuration("c", &[model]).await;
    for (method, body) in [
        (reqwest::Method::PUT, json!({"name": "c", "ml_models": too_many(40_000)})),
        (reqwest::Method::PATCH, json!({"ml_models": too_many(40_000)})),
    ] {
        let res =
            app.client.request(method.clone(), app.url(&format!("/configurations/{configuration}"))).json(&body).send();
        let res = res.await.unwrap();
        let (status, text) = (res.status().as_u16(), res.text().await.unwrap());
        assert_eq!(status, 400, "{method}: {text}");
        assert!(text.contains(message), "{method}: {text}");
    }
    let tokens: Vec<String> = (0..40_000).map(|i| format!("{i:08X}")).collect();
    let res = app.post_json("/results/inference-iot/1", &json!({"device_token": tokens, "code": "print(1)"})).await;
    let (status, text) = (res.status().as_u16(), res.text().await.unwrap());
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("device_token: Ensure this field has no more than 1000 elements."), "{text}");

    // The OpenAPI document states the caps.
    let spec = app.get_json("/api-docs/openapi.json").await;
    let schemas = &spec["components"]["schemas"];
    for (schema, field) in
        [("ConfigurationInput", "ml_models"), ("ConfigurationPatch", "ml_models"), ("IotDeployInput", "device_token")]
    {
        assert_eq!(schemas[schema]["properties"][field]["maxItems"], 1000, "{schema}.{field}");
    }
});
