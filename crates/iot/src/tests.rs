//! [`MqttLink`] against the real Mosquitto on 127.0.0.1:1883, a password-protected Mosquitto
//! started by the test, and peers that misbehave.

use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

use crate::simulator::{local_broker, PasswordBroker, SimulatedTasmota, STATUS1_PAYLOAD};
use crate::{probe_all, Broker, Device, DeviceStatus, IotError, MqttConfig, MqttLink, Password, TasmotaLink};

fn token() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_ascii_uppercase()
}

fn device_on(broker: Broker) -> Device {
    let token = token();
    Device { friendly_name: format!("dev-{token}"), token, broker }
}

/// A port nothing listens on: bound, then released.
fn closed_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port()
}

fn link() -> MqttLink {
    MqttLink::new(MqttConfig { probe_window: Duration::from_millis(500), timeout: Duration::from_secs(3) })
}

#[tokio::test]
async fn a_device_that_answers_is_connected_and_fast() {
    let sim = SimulatedTasmota::start(&token(), local_broker()).await;
    let started = Instant::now();
    let status = link().probe(sim.device()).await.unwrap();
    assert_eq!(status, DeviceStatus::Connected);
    // It returns as soon as the answer arrives, not at the end of the window.
    assert!(started.elapsed() < Duration::from_millis(400), "{:?}", started.elapsed());
    let status_requests: Vec<_> = sim.received().into_iter().filter(|c| c.command == "Status").collect();
    assert_eq!(status_requests.len(), 1);
    assert_eq!(status_requests[0].payload, "1");
}

#[tokio::test]
async fn a_device_that_is_absent_is_disconnected_after_the_window() {
    let device = device_on(local_broker());
    let started = Instant::now();
    let status = link().probe(&device).await.unwrap();
    assert_eq!(status, DeviceStatus::Disconnected);
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(500) && elapsed < Duration::from_millis(1500), "{elapsed:?}");
}

async fn wait_for_puback(events: &mut rumqttc::EventLoop) {
    loop {
        if let Event::Incoming(Packet::PubAck(_)) = events.poll().await.unwrap() {
            return;
        }
    }
}

#[tokio::test]
async fn a_retained_old_answer_is_not_a_sign_of_life() {
    let device = device_on(local_broker());
    let (client, mut events) =
        AsyncClient::new(MqttOptions::new(format!("retainer-{}", device.token), "127.0.0.1", 1883), 8);
    client.publish(device.status_reply_topic(), QoS::AtLeastOnce, true, STATUS1_PAYLOAD).await.unwrap();
    wait_for_puback(&mut events).await;
    // The retained answer is on the broker: a new subscriber gets it at once, with the retain flag.
    let probed = link().probe(&device).await.unwrap();
    // Remove it again.
    client.publish(device.status_reply_topic(), QoS::AtLeastOnce, true, Vec::<u8>::new()).await.unwrap();
    wait_for_puback(&mut events).await;
    assert_eq!(probed, DeviceStatus::Disconnected);
}

#[tokio::test]
async fn twenty_devices_of_which_nineteen_never_answer_are_probed_within_the_deadline() {
    let sim = SimulatedTasmota::start(&token(), local_broker()).await;
    let mut devices: Vec<Device> = (0..19).map(|_| device_on(local_broker())).collect();
    devices.insert(7, sim.device().clone());
    let deadline = Duration::from_millis(1500);
    let started = Instant::now();
    let statuses = probe_all(&link(), &devices, deadline).await;
    let elapsed = started.elapsed();
    assert!(elapsed < deadline + Duration::from_millis(100), "{elapsed:?}");
    // Concurrent: one window, not twenty.
    assert!(elapsed < Duration::from_millis(1200), "{elapsed:?}");
    let connected: Vec<usize> =
        statuses.iter().enumerate().filter(|(_, s)| **s == DeviceStatus::Connected).map(|(i, _)| i).collect();
    assert_eq!(connected, [7]);
    assert_eq!(statuses.len(), 20);
}

#[tokio::test]
async fn a_broker_that_never_answers_cannot_hold_the_list_beyond_the_deadline() {
    // Accepts TCP connections and never says a word.
    let silent = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let accept = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let broker = Broker { port, ..local_broker() };
    let devices: Vec<Device> = (0..5).map(|_| device_on(broker.clone())).collect();
    let started = Instant::now();
    let statuses = probe_all(&link(), &devices, Duration::from_millis(700)).await;
    assert!(started.elapsed() < Duration::from_millis(900), "{:?}", started.elapsed());
    assert!(statuses.iter().all(|s| *s == DeviceStatus::Disconnected));

    let error = link().probe(&devices[0]).await.unwrap_err();
    assert!(matches!(error, IotError::Timeout { .. }), "{error}");
    assert_eq!(error.to_string(), format!("the MQTT broker 127.0.0.1:{port} did not answer within 3000 ms"));
    accept.abort();
}

#[tokio::test]
async fn an_unreachable_broker_is_an_error_that_names_it() {
    let port = closed_port();
    let device = device_on(Broker { port, ..local_broker() });
    let error = link().probe(&device).await.unwrap_err();
    assert_eq!(error.to_string(), format!("the MQTT broker 127.0.0.1:{port} is unreachable: connection refused"));
    assert!(error.is_unavailable());
    let error = link().send_command(&device, "Br", "print(1)").await.unwrap_err();
    assert!(matches!(error, IotError::Unreachable { .. }), "{error}");
}

#[tokio::test]
async fn a_command_reaches_the_device_at_qos_1_not_retained() {
    let sim = SimulatedTasmota::start(&token(), local_broker()).await;
    let program = "tasmota.cmd('Restart 1');";
    link().send_command(sim.device(), "Br", program).await.unwrap();
    let received = sim.wait_for("Br", Duration::from_secs(3)).await.expect("the device receives Br");
    assert_eq!(received.payload, program);
    assert_eq!(received.qos, 1);
    assert!(!received.retain);
}

#[tokio::test]
async fn a_broker_that_refuses_the_credentials_is_reported() {
    let secured = PasswordBroker::start("tasmota", "right-password");
    // The right credentials work, for the device and for the back-end.
    let sim = SimulatedTasmota::start(&token(), secured.broker()).await;
    assert_eq!(link().probe(sim.device()).await.unwrap(), DeviceStatus::Connected);
    link().send_command(sim.device(), "Br", "print('hi')").await.unwrap();
    assert_eq!(sim.wait_for("Br", Duration::from_secs(3)).await.unwrap().payload, "print('hi')");

    let wrong = Device {
        broker: Broker { password: Password::new("wrong-password"), ..secured.broker() },
        ..sim.device().clone()
    };
    let error = link().probe(&wrong).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "the MQTT broker 127.0.0.1:{} refused the credentials of user 'tasmota' (not authorised)",
            secured.port()
        )
    );
    assert!(!error.to_string().contains("wrong-password"));
    assert!(!error.is_unavailable());
    let error = link().send_command(&wrong, "Br", "print(1)").await.unwrap_err();
    assert!(matches!(error, IotError::Refused { .. }), "{error}");
    assert_eq!(probe_all(&link(), &[wrong], Duration::from_secs(1)).await, [DeviceStatus::Disconnected]);
}
