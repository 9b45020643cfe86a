//! [`MqttLink`]: the device calls over MQTT 3.1.1 with rumqttc, one short-lived connection per
//! call, every step bounded in time.

use std::time::Duration;

use async_trait::async_trait;
use kafkaml_domain::iot::DeviceStatus;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Outgoing, Packet, QoS, SubscribeReasonCode};
use secrecy::ExposeSecret;
use tokio::time::Instant;

use crate::device::Device;
use crate::error::IotError;
use crate::link::TasmotaLink;

/// Default time a device has to answer the status request.
pub const DEFAULT_PROBE_WINDOW: Duration = Duration::from_millis(500);
/// Default bound on one whole exchange with a broker (connect, subscribe or publish, acknowledgement).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Keep-alive announced to the broker (the reference's value; connections are short-lived).
const KEEP_ALIVE: Duration = Duration::from_secs(60);
/// Time granted to a clean `DISCONNECT` after an exchange, in the background.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Timing of [`MqttLink`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MqttConfig {
    /// How long a probe waits for the device's `STATUS1` answer after asking (the reference: 0.5 s).
    pub probe_window: Duration,
    /// Bound on a whole exchange with a broker, connection included.
    pub timeout: Duration,
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig { probe_window: DEFAULT_PROBE_WINDOW, timeout: DEFAULT_TIMEOUT }
    }
}

/// The device calls over MQTT. Each call opens its own connection to the device's broker, with
/// the device's credentials and a fresh client id (`kafkaml-…`, never the device's own
/// `MqttClient`, so the device is not disconnected), and closes it afterwards.
#[derive(Debug, Clone, Default)]
pub struct MqttLink {
    config: MqttConfig,
}

impl MqttLink {
    /// A link with the given timing.
    pub fn new(config: MqttConfig) -> Self {
        MqttLink { config }
    }

    /// The timing in effect.
    pub fn config(&self) -> MqttConfig {
        self.config
    }

    fn connect(&self, device: &Device, purpose: &str) -> (AsyncClient, EventLoop) {
        let id = format!("kafkaml-{purpose}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let broker = &device.broker;
        let mut options = MqttOptions::new(id, broker.host.clone(), broker.port);
        options.set_credentials(broker.username.clone(), broker.password.expose_secret().to_owned());
        options.set_keep_alive(KEEP_ALIVE);
        options.set_clean_session(true);
        let (client, mut events) = AsyncClient::new(options, 8);
        // rumqttc's own bound is whole seconds; ours (below) is precise and fires first.
        events.network_options.set_connection_timeout(self.config.timeout.as_secs() + 1);
        (client, events)
    }
}

/// Sends `DISCONNECT` and lets the event loop flush it, in the background, within [`CLOSE_GRACE`],
/// unless the exchange ended in an error: the event loop would then connect again just to say
/// goodbye (a second connection per failed call), so the connection is only dropped.
fn close<T>(
    client: AsyncClient,
    mut events: EventLoop,
    outcome: &Result<Result<T, IotError>, tokio::time::error::Elapsed>,
) {
    if matches!(outcome, Ok(Err(_))) {
        return;
    }
    tokio::spawn(async move {
        if client.try_disconnect().is_err() {
            return;
        }
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            loop {
                match events.poll().await {
                    Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
    });
}

fn client_error(error: rumqttc::ClientError, device: &Device) -> IotError {
    IotError::Protocol { broker: device.broker.address(), reason: format!("the MQTT client stopped: {error}") }
}

#[async_trait]
impl TasmotaLink for MqttLink {
    async fn probe(&self, device: &Device) -> Result<DeviceStatus, IotError> {
        let broker = device.broker.address();
        let (client, mut events) = self.connect(device, "probe");
        let reply = device.status_reply_topic();
        let window = self.config.probe_window;
        let exchange = async {
            client.subscribe(reply.clone(), QoS::AtMostOnce).await.map_err(|e| client_error(e, device))?;
            let mut window_end: Option<Instant> = None;
            loop {
                let event = match window_end {
                    None => events.poll().await,
                    Some(end) => match tokio::time::timeout_at(end, events.poll()).await {
                        Ok(event) => event,
                        Err(_) => return Ok(DeviceStatus::Disconnected),
                    },
                };
                match event.map_err(|e| IotError::from_connection(e, &broker, &device.broker.username))? {
                    Event::Incoming(Packet::SubAck(ack)) => {
                        if ack.return_codes.iter().any(|c| matches!(c, SubscribeReasonCode::Failure)) {
                            return Err(IotError::Protocol {
                                broker: broker.clone(),
                                reason: format!("the broker refused the subscription to {reply}"),
                            });
                        }
                        client
                            .publish(device.status_request_topic(), QoS::AtMostOnce, false, "1")
                            .await
                            .map_err(|e| client_error(e, device))?;
                        window_end = Some(Instant::now() + window);
                    }
                    // A retained message is an old answer, not a sign of life.
                    Event::Incoming(Packet::Publish(p)) if p.topic == reply && !p.retain => {
                        return Ok(DeviceStatus::Connected);
                    }
                    _ => {}
                }
            }
        };
        let outcome = tokio::time::timeout(self.config.timeout, exchange).await;
        close(client, events, &outcome);
        let status = outcome.map_err(|_| IotError::Timeout { broker, after: self.config.timeout })??;
        tracing::debug!(device.token = ?device.token, status = status.as_str(), "device status probed");
        Ok(status)
    }

    async fn send_command(&self, device: &Device, command: &str, payload: &str) -> Result<(), IotError> {
        let broker = device.broker.address();
        let (client, mut events) = self.connect(device, "command");
        let topic = device.command_topic(command);
        let exchange = async {
            client
                .publish(topic.clone(), QoS::AtLeastOnce, false, payload.as_bytes().to_vec())
                .await
                .map_err(|e| client_error(e, device))?;
            loop {
                match events.poll().await.map_err(|e| IotError::from_connection(e, &broker, &device.broker.username))? {
                    Event::Incoming(Packet::PubAck(_)) => return Ok(()),
                    _ => continue,
                }
            }
        };
        let outcome = tokio::time::timeout(self.config.timeout, exchange).await;
        close(client, events, &outcome);
        outcome.map_err(|_| IotError::Timeout { broker, after: self.config.timeout })??;
        tracing::info!(device.token = ?device.token, %topic, bytes = payload.len(), "command delivered to the device's broker");
        Ok(())
    }
}
