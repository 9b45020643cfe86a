//! IoT devices through HTTP (docs/contract.md §4.8, §5.5): CRUD with write-only passwords, live status
//! against the real Mosquitto on 127.0.0.1:1883 with simulated Tasmota devices, deployments that
//! deliver the `Br` download program, token-addressed downloads, and a broker that refuses the
//! credentials (a password-protected Mosquitto started by the test).

use secrecy::ExposeSecret;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafkaml_iot::simulator::{local_broker, PasswordBroker, SimulatedTasmota};
use kafkaml_iot::Broker;
use kafkaml_persistence::repo::iot_devices;
use kafkaml_tests::{db_test, DbKind, TestApp};
use serde_json::{json, Value};

fn random_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_ascii_uppercase()
}

fn is_token(t: &str) -> bool {
    t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
}

/// The body the web UI's device form sends (the port as text).
fn device_body(name: &str, broker: &Broker, token: Option<&str>) -> Value {
    let mut body = json!({
        "friendly_name": name, "mqtt_address": broker.host, "mqtt_port": broker.port.to_string(),
        "mqtt_username": broker.username, "mqtt_password": broker.password.expose(),
    });
    if let Some(token) = token {
        body["token"] = json!(token);
    }
    body
}

async fn create_device(app: &TestApp, name: &str, broker: &Broker, token: Option<&str>) -> Value {
    let res = app.post_json("/iot-devices/", &device_body(name, broker, token)).await;
    assert_eq!(res.status(), 201, "create {name}: {}", res.text().await.unwrap());
    res.json().await.unwrap()
}

fn stored_password(app: &TestApp, id: i64) -> String {
    let mut conn = app.db.connect();
    iot_devices::find_row(&mut conn, id as i32).unwrap().unwrap().mqtt_password.expose_secret().to_owned()
}

async fn text(res: reqwest::Response) -> (u16, String) {
    (res.status().as_u16(), res.text().await.unwrap())
}

db_test!(device_crud_keeps_the_password_write_only, |app| async move {
    let broker = Broker { username: "plant".into(), password: kafkaml_iot::Password::new("pw-1"), ..local_broker() };
    let created = create_device(&app, "greenhouse", &broker, None).await;
    let id = created["id"].as_i64().unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(is_token(&token), "{token}");
    assert_eq!(
        created.to_string(),
        json!({"id": id, "friendly_name": "greenhouse", "token": token, "mqtt_address": "127.0.0.1",
            "mqtt_port": 1883, "mqtt_username": "plant"})
        .to_string()
    );
    let folder = app.data_dir.join("devices").join(&token);
    assert!(folder.is_dir(), "{}", folder.display());
    assert_eq!(stored_password(&app, id), "pw-1");

    assert_eq!(app.get_json(&format!("/iot-devices/{id}")).await, created);
    assert_eq!(app.get_json(&format!("/api/iot-devices/{id}/")).await, created);

    // PUT without password nor token keeps both; so does the edit form's empty password field
    // (the broker stays the same: a new one needs the password, see
    // `a_new_broker_needs_the_password_in_the_same_request`).
    let res = app
        .put_json(
            &format!("/iot-devices/{id}"),
            &json!({"friendly_name": "greenhouse-2", "mqtt_address": "127.0.0.1", "mqtt_port": 1883, "mqtt_username": "plant"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .put_json(
            &format!("/iot-devices/{id}"),
            &json!({"friendly_name": "greenhouse-2", "mqtt_address": "127.0.0.1", "mqtt_port": "1883",
                "mqtt_username": "plant", "mqtt_password": "", "token": ""}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["friendly_name"], "greenhouse-2");
    assert_eq!(updated["mqtt_port"], 1883);
    assert_eq!(updated["token"], token.as_str());
    assert!(updated.get("mqtt_password").is_none());
    assert_eq!(stored_password(&app, id), "pw-1");

    // PATCH the password, then the token: the folder follows the token.
    let res = app.patch_json(&format!("/iot-devices/{id}"), &json!({"mqtt_password": "pw-2"})).await;
    assert_eq!(res.status(), 200);
    assert!(!res.text().await.unwrap().contains("pw-2"));
    assert_eq!(stored_password(&app, id), "pw-2");
    let new_token = random_token();
    let res = app.patch_json(&format!("/iot-devices/{id}"), &json!({"token": new_token.to_ascii_lowercase()})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["token"], new_token.as_str());
    assert!(!folder.exists());
    assert!(app.data_dir.join("devices").join(&new_token).is_dir());

    // DELETE: 204 empty, folder gone, then 404.
    let res = app.delete(&format!("/iot-devices/{id}")).await;
    assert_eq!(text(res).await, (204, String::new()));
    assert!(!app.data_dir.join("devices").join(&new_token).exists());
    let res = app.get(&format!("/iot-devices/{id}")).await;
    assert_eq!(text(res).await, (404, r#"{"detail":"Not found."}"#.to_owned()));
    let res = app.delete(&format!("/iot-devices/{id}")).await;
    assert_eq!(res.status(), 404);
    let mut conn = app.db.connect();
    assert!(iot_devices::list(&mut conn).unwrap().is_empty());
});

db_test!(device_errors_duplicates_and_bad_input, |app| async move {
    let broker = local_broker();
    let first = create_device(&app, "dev1", &broker, Some("0000abcd")).await;
    assert_eq!(first["token"], "0000ABCD");
    let second = create_device(&app, "dev2", &broker, None).await;

    let cases = [
        (device_body("dev1", &broker, None), "An IoT device named 'dev1' already exists."),
        (device_body("dev3", &broker, Some("0000ABCD")), "An IoT device with the token '0000ABCD' already exists."),
        (
            device_body("dev3", &broker, Some("12345")),
            "Information not valid: token: Ensure this field is 8 hexadecimal characters (0-9, A-F).",
        ),
        (
            json!({"friendly_name": "dev3", "mqtt_address": "h", "mqtt_port": 1883, "mqtt_username": "u"}),
            "Information not valid: mqtt_password: This field is required.",
        ),
        (
            json!({"friendly_name": "dev3", "mqtt_address": "h", "mqtt_port": 1883, "mqtt_username": "u", "mqtt_password": ""}),
            "Information not valid: mqtt_password: This field is required.",
        ),
        (
            json!({"friendly_name": "dev3", "mqtt_address": "h", "mqtt_port": "x", "mqtt_username": "u", "mqtt_password": "p"}),
            "Information not valid: mqtt_port: A valid integer is required.",
        ),
        (
            json!({"friendly_name": "a".repeat(31), "mqtt_address": "h", "mqtt_port": 1, "mqtt_username": "u", "mqtt_password": "p"}),
            "Information not valid: friendly_name: Ensure this field has no more than 30 characters.",
        ),
        (
            json!({"friendly_name": "d", "mqtt_address": "h", "mqtt_port": 1, "mqtt_username": "u", "mqtt_password": "p; Reset 1"}),
            "Information not valid: mqtt_password: Must not contain ';' or control characters (Tasmota's Backlog separates commands with ';').",
        ),
        (
            json!({"friendly_name": "d"}),
            "Information not valid: missing field `mqtt_address`; missing field `mqtt_port`; missing field \
             `mqtt_username`",
        ),
    ];
    for (body, message) in cases {
        let res = app.post_json("/iot-devices/", &body).await;
        assert_eq!(text(res).await, (400, message.to_owned()), "{body}");
    }
    let res = app.post_raw("/iot-devices/", "application/json", "not json").await;
    assert_eq!(res.status(), 400);

    // Updates that collide with the other device.
    let id2 = second["id"].as_i64().unwrap();
    let res = app.put_json(&format!("/iot-devices/{id2}"), &device_body("dev1", &broker, None)).await;
    assert_eq!(text(res).await, (400, "An IoT device named 'dev1' already exists.".to_owned()));
    let res = app.patch_json(&format!("/iot-devices/{id2}"), &json!({"token": "0000ABCD"})).await;
    assert_eq!(text(res).await, (400, "An IoT device with the token '0000ABCD' already exists.".to_owned()));
    // Its own name and token are no conflict.
    let res =
        app.put_json(&format!("/iot-devices/{id2}"), &device_body("dev2", &broker, second["token"].as_str())).await;
    assert_eq!(res.status(), 200);

    for (method, path) in [("PUT", "/iot-devices/999"), ("PATCH", "/iot-devices/999"), ("GET", "/iot-devices/abc")] {
        let res = match method {
            "PUT" => app.put_json(path, &device_body("x", &broker, None)).await,
            "PATCH" => app.patch_json(path, &json!({"friendly_name": "x"})).await,
            _ => app.get(path).await,
        };
        assert_eq!(text(res).await, (404, r#"{"detail":"Not found."}"#.to_owned()), "{method} {path}");
    }
    let mut conn = app.db.connect();
    assert_eq!(iot_devices::list(&mut conn).unwrap().len(), 2);
});

db_test!(the_list_shows_live_status_and_the_backlog_without_the_password, |app| async move {
    let broker = Broker { password: kafkaml_iot::Password::new("s3cret-pw"), ..local_broker() };
    let online = SimulatedTasmota::start(&random_token(), broker.clone()).await;
    let offline_token = random_token();
    // Created out of order: the list is by friendly name.
    create_device(&app, "b-offline", &broker, Some(&offline_token)).await;
    create_device(&app, "a-online", &broker, Some(&online.device().token)).await;

    let started = Instant::now();
    let list = app.get_json("/iot-devices/").await;
    let elapsed = started.elapsed();
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    let on = &online.device().token;
    assert_eq!(list[0]["friendly_name"], "a-online");
    assert_eq!(list[0]["status"], "connected");
    assert_eq!(
        list[0]["backlog"],
        format!(
            "Backlog DeviceName {on}; FriendlyName a-online; MqttHost 127.0.0.1; MqttPort 1883; MqttUser kafkaml; \
             MqttPassword <password>; Topic {on}; FullTopic kafkaml/iot/%topic%/%prefix%/ ; MqttClient {on}; \
             Hostname {on}; SetOption53 1 "
        )
    );
    let keys: Vec<&str> = list[0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["id", "friendly_name", "token", "mqtt_address", "mqtt_port", "mqtt_username", "status", "backlog"]
    );
    assert_eq!(list[1]["friendly_name"], "b-offline");
    assert_eq!(list[1]["status"], "disconnected");
    assert!(!serde_json::to_string(&list).unwrap().contains("s3cret-pw"));
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
    // The device was asked once, with payload 1.
    let asked: Vec<_> = online.received().into_iter().filter(|c| c.command == "Status").collect();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].payload, "1");

    // The web UI's path answers the same; HEAD probes nobody.
    let via_api = app.get_json("/api/iot-devices").await;
    assert_eq!(via_api[0]["status"], "connected");
    let head = app.client.head(app.url("/iot-devices/")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(online.received().iter().filter(|c| c.command == "Status").count(), 2);
});

db_test!(twenty_devices_of_which_nineteen_never_answer_list_within_the_deadline, |app| async move {
    let online = SimulatedTasmota::start(&random_token(), local_broker()).await;
    create_device(&app, "dev-07", &local_broker(), Some(&online.device().token)).await;
    for i in (0..20).filter(|i| *i != 7) {
        create_device(&app, &format!("dev-{i:02}"), &local_broker(), None).await;
    }
    let mut timings = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let list = app.get_json("/iot-devices/").await;
        timings.push(started.elapsed());
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 20);
        let connected: Vec<&str> =
            list.iter().filter(|d| d["status"] == "connected").map(|d| d["friendly_name"].as_str().unwrap()).collect();
        assert_eq!(connected, ["dev-07"]);
    }
    // The deadline is 1.5 s by default; concurrent probes need about one 0.5 s window.
    for t in &timings {
        assert!(*t < Duration::from_millis(1500), "{timings:?}");
    }
    println!("GET /iot-devices/ with 20 devices (19 silent): {timings:?}");

    // When every device answers, the list does not wait for the window.
    let list = app.get_json("/iot-devices/").await;
    let mut devices = vec![online];
    for d in list.as_array().unwrap().iter().filter(|d| d["friendly_name"] != "dev-07") {
        devices.push(SimulatedTasmota::start(d["token"].as_str().unwrap(), local_broker()).await);
    }
    let started = Instant::now();
    let list = app.get_json("/iot-devices/").await;
    let all_answer = started.elapsed();
    assert!(list.as_array().unwrap().iter().all(|d| d["status"] == "connected"), "{list}");
    assert!(all_answer < Duration::from_millis(450), "{all_answer:?}");
    println!("GET /iot-devices/ with 20 devices (all answer): {all_answer:?}");
});

/// A trained TensorFlow (or PyTorch) model for result tests: model, configuration, deployment and
/// the upload of the training pod. Returns the result id and the uploaded bytes.
async fn trained_result(app: &TestApp, framework: &str, model: &[u8]) -> (i64, Vec<u8>) {
    let name = format!("m-{}", &random_token()[..6]).to_ascii_lowercase();
    let model_id = app.create_model(&name, framework, false, None).await;
    let configuration = app.create_configuration(&format!("c-{name}"), &[model_id]).await;
    let (_, results) = app.seed_deployment(configuration, |_| {});
    let id = results[0];
    let form = reqwest::multipart::Form::new()
        .part("trained_model", reqwest::multipart::Part::bytes(model.to_vec()).file_name("model.h5"))
        .text("data", r#"{"train_metrics": {"loss": [0.5]}}"#);
    let res = app.client.post(app.url(&format!("/results/{id}"))).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    (id, model.to_vec())
}

/// The reference's download program for `base` and `token`, written out.
fn expected_program(base: &str, token: &str) -> String {
    format!(
        "def urlfetch(url,file); if file==nil; import string; file=string.split(url,'/').pop(); end; \
         var wc=webclient(); wc.begin(url); var st=wc.GET(); if st!=200 st = 'connection_error'; \
         print('status: '+str(st)); end; st='Fetched '+str(wc.write_file(file)); print(url,st); wc.close(); \
         return st; end; tasmota.cmd('UfsDelete autoexec.be'); tasmota.cmd('UfsDelete model.tflite'); \
         urlfetch('{base}/api/iot-devices/{token}/autoexec.be'); \
         urlfetch('{base}/api/iot-devices/{token}/model.tflite'); tasmota.cmd('Restart 1');"
    )
}

/// The URLs a Berry program fetches.
fn fetched_urls(program: &str) -> Vec<String> {
    program.split("urlfetch('").skip(1).filter_map(|rest| rest.split('\'').next()).map(str::to_owned).collect()
}

/// Runs a test body on SQLite and PostgreSQL with `FRONTEND_URL` = the server's own address, so
/// the download links of a deployment point back at it (as the web UI's `/api` proxy would).
macro_rules! self_served_test {
    ($name:ident, |$app:ident| $body:expr) => {
        mod $name {
            use super::*;

            async fn run($app: TestApp) {
                $body.await
            }

            async fn spawn(kind: DbKind) -> TestApp {
                let port = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
                TestApp::spawn_with(kind, |s| {
                    s.server.bind = format!("127.0.0.1:{port}");
                    s.server.frontend_url = format!("http://127.0.0.1:{port}/");
                })
                .await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(spawn(DbKind::Sqlite).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run(spawn(DbKind::Postgres).await).await
            }
        }
    };
}

self_served_test!(a_deployment_delivers_the_download_program_and_the_device_fetches_both_files, |app| async move {
    let sim = SimulatedTasmota::start(&random_token(), local_broker()).await;
    let token = sim.device().token.clone();
    create_device(&app, "edge-1", &local_broker(), Some(&token)).await;
    let (result, h5) = trained_result(&app, "tf", b"\x89HDF\r\n\x1a\ntrained weights").await;
    let script = "import mqtt\nprint('model ready')\n";

    let res = app
        .post_json(
            &format!("/api/results/inference-iot/{result}"),
            &json!({"device_token": [token], "code": script, "applyIntQuant": false, "model_result": result}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!([{"token": token, "friendly_name": "edge-1", "delivered": true, "error": null}])
    );

    // The executor converted the uploaded model, with the reference's form.
    let conversions: Vec<_> =
        app.executor.raw_requests().into_iter().filter(|r| r.path == "/convert_to_tflite/").collect();
    assert_eq!(conversions.len(), 1);
    let parts = conversions[0].form_parts().unwrap();
    assert_eq!(conversions[0].form_field("applyQuantization").as_deref(), Some("False"));
    assert_eq!(conversions[0].form_field("quantizationType").as_deref(), Some(""));
    let file = parts.iter().find(|p| p.name == format!("{result}.h5")).unwrap();
    assert_eq!(&file.body[..], &h5[..]);

    // The device got exactly the reference's program, QoS 1, not retained.
    let br = sim.wait_for("Br", Duration::from_secs(5)).await.expect("the device receives Br");
    let base = app.address.clone();
    assert_eq!(br.payload, expected_program(&base, &token));
    assert_eq!((br.qos, br.retain), (1, false));

    // ... and downloads both files by token, as its program says.
    let urls = fetched_urls(&br.payload);
    assert_eq!(
        urls,
        [format!("{base}/api/iot-devices/{token}/autoexec.be"), format!("{base}/api/iot-devices/{token}/model.tflite"),]
    );
    let res = app.client.get(&urls[0]).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/octet-stream");
    assert_eq!(res.headers()["content-disposition"], "attachment; filename*=UTF-8''autoexec.be");
    assert_eq!(res.text().await.unwrap(), script);
    let res = app.client.get(&urls[1]).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-disposition"], "attachment; filename*=UTF-8''model.tflite");
    let mut expected = kafkaml_executor::stub::TFLITE_PREFIX.to_vec();
    expected.extend_from_slice(&h5);
    assert_eq!(&res.bytes().await.unwrap()[..], &expected[..]);
    // Also without the /api prefix.
    assert_eq!(app.get(&format!("/iot-devices/{token}/model.tflite")).await.status(), 200);

    // A request from the web UI's development origin uses that origin for the links.
    let res = app
        .client
        .post(app.url(&format!("/results/inference-iot/{result}")))
        .header("Origin", "http://localhost:4200")
        .json(&json!({"device_token": [token.to_ascii_lowercase()], "code": script}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let deadline = Instant::now() + Duration::from_secs(5);
    let programs = loop {
        let programs: Vec<String> =
            sim.received().into_iter().filter(|c| c.command == "Br").map(|c| c.payload).collect();
        if programs.len() == 2 || Instant::now() > deadline {
            break programs;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(programs.len(), 2);
    assert_eq!(programs[1], expected_program("http://localhost:4200", &token));
});

self_served_test!(a_broker_that_refuses_the_credentials_is_reported_per_device, |app| async move {
    let secured = PasswordBroker::start("tasmota", "right");
    let good = SimulatedTasmota::start(&random_token(), local_broker()).await;
    let refused_token = random_token();
    let wrong = Broker { password: kafkaml_iot::Password::new("wrong"), ..secured.broker() };
    let refused_id = create_device(&app, "refused", &wrong, Some(&refused_token)).await["id"].as_i64().unwrap();
    create_device(&app, "reached", &local_broker(), Some(&good.device().token)).await;
    let (result, _) = trained_result(&app, "tf", b"h5 bytes").await;

    let res = app
        .post_json(
            &format!("/results/inference-iot/{result}"),
            &json!({"device_token": [refused_token, good.device().token], "code": "print(1)"}),
        )
        .await;
    let (status, message) = text(res).await;
    assert_eq!(status, 502);
    assert_eq!(
        message,
        format!(
            "The model was stored for every device, but the download command did not reach 1 of 2 devices: \
             refused ({refused_token}): the MQTT broker 127.0.0.1:{} refused the credentials of user 'tasmota' \
             (not authorised). Delivered to: reached ({}).",
            secured.port(),
            good.device().token
        )
    );
    assert!(!message.contains("wrong"));
    assert!(good.wait_for("Br", Duration::from_secs(5)).await.is_some());
    // Both devices have their files (the refused one can still be updated by hand).
    for token in [refused_token.as_str(), good.device().token.as_str()] {
        assert_eq!(app.get(&format!("/iot-devices/{token}/autoexec.be")).await.text().await.unwrap(), "print(1)");
    }
    // The list shows the refused device as disconnected.
    let list = app.get_json("/iot-devices/").await;
    let status_of =
        |name: &str| list.as_array().unwrap().iter().find(|d| d["friendly_name"] == name).unwrap()["status"].clone();
    assert_eq!(status_of("refused"), "disconnected");
    assert_eq!(status_of("reached"), "connected");

    // With the right password the same broker takes the command.
    let listening = SimulatedTasmota::start(&refused_token, secured.broker()).await;
    let res = app.patch_json(&format!("/iot-devices/{refused_id}"), &json!({"mqtt_password": "right"})).await;
    assert_eq!(res.status(), 200);
    let res = app
        .post_json(
            &format!("/results/inference-iot/{result}"),
            &json!({"device_token": [refused_token], "code": "print(2)"}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let br = listening.wait_for("Br", Duration::from_secs(5)).await.expect("delivered with the right password");
    assert_eq!(br.payload, expected_program(&app.address, &refused_token));
});

db_test!(deployment_errors_are_explicit, |app| async move {
    let broker = local_broker();
    let device = create_device(&app, "dev", &broker, None).await;
    let token = device["token"].as_str().unwrap().to_owned();
    let (tf, _) = trained_result(&app, "tf", b"h5").await;
    let post = |id: i64, body: Value| {
        let app = &app;
        async move { text(app.post_json(&format!("/results/inference-iot/{id}"), &body).await).await }
    };

    assert_eq!(
        post(tf, json!({"device_token": [token]})).await,
        (400, "Missing required fields: 'code' or 'device_token'.".to_owned())
    );
    assert_eq!(
        post(tf, json!({"device_token": [], "code": "x"})).await,
        (400, "Missing required fields: 'code' or 'device_token'.".to_owned())
    );
    assert_eq!(
        post(tf, json!({"device_token": [token], "code": "x", "model_result": tf + 1})).await,
        (400, format!("Information not valid: model_result {} differs from the result {tf} of the URL.", tf + 1))
    );
    assert_eq!(
        post(9999, json!({"device_token": [token], "code": "x"})).await,
        (404, "Model result not found.".to_owned())
    );
    assert_eq!(
        post(tf, json!({"device_token": ["FFFFFFFF"], "code": "x"})).await,
        (404, "No valid devices found.".to_owned())
    );
    assert_eq!(
        post(tf, json!({"device_token": [token, "FFFFFFFF"], "code": "x"})).await,
        (404, "No device has the token FFFFFFFF; nothing was deployed.".to_owned())
    );
    assert_eq!(
        post(tf, json!({"device_token": [token], "code": "x", "applyIntQuant": true})).await,
        (
            503,
            "int8 quantization reads the deployment's data from Kafka: set BOOTSTRAP_SERVERS and CONTROL_TOPIC."
                .to_owned()
        )
    );

    // A PyTorch result cannot be converted; a result without an uploaded model has no file.
    let (pth, _) = trained_result(&app, "pth", b"torch").await;
    assert_eq!(
        post(pth, json!({"device_token": [token], "code": "x"})).await,
        (400, format!("Only TensorFlow models can be converted to TFLite; result {pth} holds a PyTorch model."))
    );
    let model_id = app.create_model("untrained", "tf", false, None).await;
    let configuration = app.create_configuration("c-untrained", &[model_id]).await;
    let (_, untrained) = app.seed_deployment(configuration, |_| {});
    assert_eq!(
        post(untrained[0], json!({"device_token": [token], "code": "x"})).await,
        (404, "Model file not found.".to_owned())
    );

    // The executor refuses the model.
    let (bad, _) = trained_result(&app, "tf", b"fail_code").await;
    assert_eq!(
        post(bad, json!({"device_token": [token], "code": "x"})).await,
        (
            400,
            "Model conversion failed: TensorFlow executor answered HTTP 400: the model could not be converted"
                .to_owned()
        )
    );
    // Nothing was stored for the device by any of these.
    let res = app.get(&format!("/iot-devices/{token}/model.tflite")).await;
    assert_eq!(text(res).await, (404, format!("Device {token} has no model.tflite yet: deploy a model to it first.")));
    let res = app.get(&format!("/api/iot-devices/{token}/autoexec.be")).await;
    assert_eq!(res.status(), 404);
    let res = app.get("/iot-devices/FFFFFFFF/model.tflite").await;
    assert_eq!(text(res).await, (404, r#"{"detail":"Not found."}"#.to_owned()));
});

db_test!(a_device_whose_broker_is_down_is_reported, |app| async move {
    let port = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
    let down = Broker { port, ..local_broker() };
    let device = create_device(&app, "unplugged", &down, None).await;
    let token = device["token"].as_str().unwrap().to_owned();
    let (result, _) = trained_result(&app, "tf", b"h5").await;
    let res =
        app.post_json(&format!("/results/inference-iot/{result}"), &json!({"device_token": token, "code": "x"})).await;
    assert_eq!(
        text(res).await,
        (
            502,
            format!(
                "The model was stored for every device, but the download command did not reach 1 of 1 devices: \
                 unplugged ({token}): the MQTT broker 127.0.0.1:{port} is unreachable: connection refused."
            )
        )
    );
    let list = app.get_json("/iot-devices/").await;
    assert_eq!(list[0]["status"], "disconnected");
});

// --- limits on what devices make the back-end connect to (review M5, M7, L3) --------------------

/// A TCP listener standing in for an MQTT broker: it counts connections (and the most open at
/// once), keeps the first bytes of each (the MQTT `CONNECT`, with client id and credentials), and
/// then either holds the connection without a word until the client leaves or closes it at once.
struct CountingBroker {
    port: u16,
    state: Arc<Mutex<Counts>>,
}

#[derive(Default)]
struct Counts {
    connections: usize,
    open: usize,
    peak: usize,
    first_bytes: Vec<Vec<u8>>,
}

impl CountingBroker {
    async fn start(hold: bool) -> CountingBroker {
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(Counts::default()));
        let counts = state.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                {
                    let mut c = counts.lock().unwrap();
                    c.connections += 1;
                    c.open += 1;
                    c.peak = c.peak.max(c.open);
                }
                let counts = counts.clone();
                tokio::spawn(async move {
                    let mut first = Vec::new();
                    let mut buf = [0u8; 512];
                    // The CONNECT comes at once; read what came within a moment.
                    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(200), socket.read(&mut buf)).await
                    {
                        if n == 0 {
                            break;
                        }
                        first.extend_from_slice(&buf[..n]);
                        if first.len() > 16 {
                            break;
                        }
                    }
                    counts.lock().unwrap().first_bytes.push(first);
                    if hold {
                        while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
                    }
                    drop(socket);
                    counts.lock().unwrap().open -= 1;
                });
            }
        });
        CountingBroker { port, state }
    }

    fn connections(&self) -> usize {
        self.state.lock().unwrap().connections
    }

    fn peak(&self) -> usize {
        self.state.lock().unwrap().peak
    }

    /// The distinct MQTT client ids of the connections (one per probe).
    fn client_ids(&self) -> std::collections::BTreeSet<String> {
        const PREFIX: &[u8] = b"kafkaml-probe-";
        let state = self.state.lock().unwrap();
        state
            .first_bytes
            .iter()
            .filter_map(|b| {
                let at = b.windows(PREFIX.len()).position(|w| w == PREFIX)?;
                b.get(at..at + PREFIX.len() + 12).map(|id| String::from_utf8_lossy(id).into_owned())
            })
            .collect()
    }

    /// Whether any connection sent `text` (e.g. a password in its `CONNECT`).
    fn received(&self, text: &str) -> bool {
        let state = self.state.lock().unwrap();
        state.first_bytes.iter().any(|b| b.windows(text.len()).any(|w| w == text.as_bytes()))
    }
}

/// Stores `count` devices named `dev-000`… at `127.0.0.1:port` straight into the database (as
/// many registrations would).
fn seed_devices(app: &TestApp, count: usize, port: u16) {
    let mut conn = app.db.connect();
    for i in 0..count {
        let new = iot_devices::NewIotDevice {
            token: None,
            friendly_name: format!("dev-{i:03}"),
            mqtt_address: "127.0.0.1".to_owned(),
            mqtt_port: i32::from(port),
            mqtt_username: "u".to_owned(),
            mqtt_password: "p".to_owned(),
        };
        iot_devices::create(&mut conn, &new, |_| Ok(())).unwrap();
    }
}

async fn timed_list(app: &TestApp) -> (Vec<Value>, Duration) {
    let started = Instant::now();
    let res = app.get("/iot-devices/").await;
    let elapsed = started.elapsed();
    assert_eq!(res.status(), 200);
    (res.json::<Vec<Value>>().await.unwrap(), elapsed)
}

db_test!(one_list_of_300_devices_probes_at_most_100_brokers, |app| async move {
    // The review's T7: 300 devices at one listener (which closes each connection at once), then
    // one GET /iot-devices/ (569 connections before).
    let broker = CountingBroker::start(false).await;
    seed_devices(&app, 300, broker.port);
    let (list, elapsed) = timed_list(&app).await;
    assert_eq!(list.len(), 300);
    assert!(list.iter().all(|d| d["status"] == "disconnected"));
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    // KAFKAML_IOT_MAX_PROBED_DEVICES (100): the first 100 in list order, one connection each.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(broker.client_ids().len(), 100);
    assert_eq!(broker.connections(), 100);
    assert!(broker.peak() <= kafkaml_iot::MAX_CONCURRENT_PROBES, "{}", broker.peak());
});

db_test!(brokers_that_never_answer_hold_at_most_32_connections_at_once, |app| async move {
    let broker = CountingBroker::start(true).await;
    seed_devices(&app, 300, broker.port);
    let (list, elapsed) = timed_list(&app).await;
    assert_eq!(list.len(), 300);
    assert!(list.iter().all(|d| d["status"] == "disconnected"));
    // Within the deadline (1.5 s), however many devices wait their turn.
    assert!(elapsed < Duration::from_millis(2500), "{elapsed:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The probes that started held their connection until the deadline; the others never started.
    assert_eq!(broker.peak(), kafkaml_iot::MAX_CONCURRENT_PROBES);
    assert_eq!(broker.connections(), kafkaml_iot::MAX_CONCURRENT_PROBES);
    assert_eq!(broker.client_ids().len(), kafkaml_iot::MAX_CONCURRENT_PROBES);
});

db_test!(the_number_of_probed_devices_is_a_setting, settings = |s| s.iot.max_probed_devices = 5, |app| async move {
    let broker = CountingBroker::start(false).await;
    seed_devices(&app, 20, broker.port);
    let (list, _) = timed_list(&app).await;
    assert_eq!(list.len(), 20);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(broker.client_ids().len(), 5);
});

db_test!(a_new_broker_needs_the_password_in_the_same_request, |app| async move {
    // The review's T6: a device with a secret password on one port, then only its port changed
    // towards a listener that records what it receives.
    let sniffer = CountingBroker::start(false).await;
    let old_port = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
    let res = app
        .post_json(
            "/iot-devices/",
            &json!({"friendly_name": "dev1", "mqtt_address": "127.0.0.1", "mqtt_port": old_port,
                "mqtt_username": "u", "mqtt_password": "S3cretMqttPw"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let path = format!("/iot-devices/{id}");
    let required = |field: &str| {
        format!(
            "Information not valid: mqtt_password: This field is required when {field} changes (the stored password \
             is never sent to another broker or user)."
        )
    };
    let res = app.patch_json(&path, &json!({"mqtt_port": sniffer.port})).await;
    assert_eq!(text(res).await, (400, required("mqtt_port")));
    let res = app.patch_json(&path, &json!({"mqtt_address": "localhost"})).await;
    assert_eq!(text(res).await, (400, required("mqtt_address")));
    let res = app.patch_json(&path, &json!({"mqtt_username": "v", "mqtt_password": ""})).await;
    assert_eq!(text(res).await, (400, required("mqtt_username")));
    let moved =
        json!({"friendly_name": "dev1", "mqtt_address": "127.0.0.1", "mqtt_port": sniffer.port, "mqtt_username": "u"});
    assert_eq!(text(app.put_json(&path, &moved).await).await, (400, required("mqtt_port")));
    let row = iot_devices::find_row(&mut app.db.connect(), id as i32).unwrap().unwrap();
    assert_eq!((row.mqtt_port, row.mqtt_password.expose_secret()), (i32::from(old_port), "S3cretMqttPw"));
    assert_eq!(app.get("/iot-devices/").await.status(), 200);
    assert_eq!(sniffer.connections(), 0);

    // The same values, or other fields, need no password.
    let res = app
        .patch_json(&path, &json!({"mqtt_port": old_port, "mqtt_address": "127.0.0.1", "friendly_name": "dev2"}))
        .await;
    assert_eq!(res.status(), 200);
    // With a new password the device moves, and only that password reaches the new broker.
    let res = app.patch_json(&path, &json!({"mqtt_port": sniffer.port, "mqtt_password": "n3w-pw"})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.get("/iot-devices/").await.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(sniffer.connections() >= 1);
    assert!(sniffer.received("n3w-pw"));
    assert!(!sniffer.received("S3cretMqttPw"));
});

db_test!(
    devices_may_name_only_allowed_brokers,
    settings = |s| s.iot.brokers = "127.0.0.1:1883, *.mqtt.example:*".parse().unwrap(),
    |app| async move {
        let refused = |address: &str| {
            format!(
                "Information not valid: mqtt_address: The MQTT broker {address} is not allowed (KAFKAML_IOT_BROKERS)."
            )
        };
        let device = create_device(&app, "allowed", &local_broker(), None).await;
        let body = |name: &str, host: &str, port: u16| json!({"friendly_name": name, "mqtt_address": host, "mqtt_port": port, "mqtt_username": "u", "mqtt_password": "p"});
        for (host, port, address) in [
            ("127.0.0.1", 1884, "127.0.0.1:1884"),
            ("localhost", 1883, "localhost:1883"),
            ("mqtt.example", 1883, "mqtt.example:1883"),
            ("::1", 1883, "[::1]:1883"),
        ] {
            let res = app.post_json("/iot-devices/", &body("refused", host, port)).await;
            assert_eq!(text(res).await, (400, refused(address)), "{host}:{port}");
        }
        let res = app.post_json("/iot-devices/", &body("subdomain", "a.mqtt.example", 8883)).await;
        assert_eq!(res.status(), 201);
        // Moving to a broker off the list is refused too, password or not.
        let id = device["id"].as_i64().unwrap();
        let res =
            app.patch_json(&format!("/iot-devices/{id}"), &json!({"mqtt_port": 1884, "mqtt_password": "x"})).await;
        assert_eq!(text(res).await, (400, refused("127.0.0.1:1884")));
        assert_eq!(app.get_json(&format!("/iot-devices/{id}")).await["mqtt_port"], 1883);

        // A device stored before the list was set is never contacted: not probed, not pushed to.
        let listener = CountingBroker::start(true).await;
        seed_devices(&app, 1, listener.port);
        let legacy = iot_devices::list(&mut app.db.connect())
            .unwrap()
            .into_iter()
            .find(|d| d.friendly_name == "dev-000")
            .unwrap();
        let (list, _) = timed_list(&app).await;
        assert_eq!(list.len(), 3);
        assert!(list.iter().all(|d| d["status"] == "disconnected"), "{list:?}");
        let (result, _) = trained_result(&app, "tf", b"h5").await;
        let res = app
            .post_json(
                &format!("/results/inference-iot/{result}"),
                &json!({"device_token": [legacy.token], "code": "x"}),
            )
            .await;
        assert_eq!(
            text(res).await,
            (
                400,
                format!(
                    "The MQTT broker of dev-000 ({}) is not allowed (KAFKAML_IOT_BROKERS); nothing was deployed.",
                    legacy.token
                )
            )
        );
        assert_eq!(app.get(&format!("/iot-devices/{}/autoexec.be", legacy.token)).await.status(), 404);
        assert!(app.executor.raw_requests().iter().all(|r| r.path != "/convert_to_tflite/"));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(listener.connections(), 0);
    }
);

db_test!(
    the_download_base_is_a_trusted_origin_or_frontend_url,
    settings = |s| s.server.frontend_url = "http://kml-ui.example/".to_owned(),
    |app| async move {
        let sim = SimulatedTasmota::start(&random_token(), local_broker()).await;
        let token = sim.device().token.clone();
        create_device(&app, "edge", &local_broker(), Some(&token)).await;
        let (result, _) = trained_result(&app, "tf", b"h5").await;
        let url = app.url(&format!("/results/inference-iot/{result}"));
        let body = json!({"device_token": [token], "code": "print(\"attacker berry code\")", "model_result": result});

        // The review's T6b: a text/plain push from another site. Refused; nothing reaches the device.
        let res = app
            .client
            .post(&url)
            .header("Content-Type", "text/plain")
            .header("Origin", "http://evil.example")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        let res = app.client.post(&url).header("Origin", "http://evil.example").json(&body).send().await.unwrap();
        assert_eq!(res.status(), 403);
        let res =
            app.client.post(&url).header("Content-Type", "text/plain").body(body.to_string()).send().await.unwrap();
        assert_eq!(res.status(), 415);
        assert!(sim.wait_for("Br", Duration::from_millis(500)).await.is_none());
        assert_eq!(app.get(&format!("/iot-devices/{token}/autoexec.be")).await.status(), 404);

        // No Origin (a script): FRONTEND_URL. The web UI's origin, or this site's: that origin.
        let own = app.address.clone();
        for (origin, base) in [
            (None, "http://kml-ui.example"),
            (Some("http://localhost:4200"), "http://localhost:4200"),
            (Some(own.as_str()), own.as_str()),
        ] {
            let mut req = app.client.post(&url).json(&body);
            if let Some(origin) = origin {
                req = req.header("Origin", origin);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 200, "{origin:?}: {}", res.text().await.unwrap());
            let deadline = Instant::now() + Duration::from_secs(5);
            let program = loop {
                let last = sim.received().into_iter().rev().find(|c| c.command == "Br");
                if let Some(br) = last.filter(|br| br.payload.contains(&format!("urlfetch('{base}/"))) {
                    break br.payload;
                }
                assert!(Instant::now() < deadline, "no program for {base}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            assert_eq!(program, expected_program(base, &token));
        }
    }
);
