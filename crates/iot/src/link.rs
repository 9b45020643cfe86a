//! The device calls as a trait, and the concurrent status probe of many devices.

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use kafkaml_domain::iot::DeviceStatus;
use tokio::time::Instant;

use crate::device::Device;
use crate::error::IotError;

/// The Tasmota command that runs a Berry program.
pub const BERRY_COMMAND: &str = "Br";

/// Most status probes [`probe_all`] runs at once: one list of many devices opens at most this many
/// broker connections together (each probe holds one).
pub const MAX_CONCURRENT_PROBES: usize = 32;

/// What Kafka-ML asks of a Tasmota device over its MQTT broker (docs/contract.md §5.5).
///
/// [`crate::MqttLink`] is the real implementation; tests of callers can implement this trait with
/// an in-process fake.
#[async_trait]
pub trait TasmotaLink: Send + Sync {
    /// Connects to the device's broker with its credentials, subscribes to
    /// `kafkaml/iot/<token>/stat/STATUS1`, publishes `1` to `kafkaml/iot/<token>/cmnd/Status`
    /// and waits a short window for the answer: [`DeviceStatus::Connected`] when it came.
    async fn probe(&self, device: &Device) -> Result<DeviceStatus, IotError>;

    /// Publishes `payload` to `kafkaml/iot/<token>/cmnd/<command>` at QoS 1 (not retained) with
    /// the device's credentials; returns once the broker acknowledged it.
    async fn send_command(&self, device: &Device, command: &str, payload: &str) -> Result<(), IotError>;
}

/// Probes every device, [`MAX_CONCURRENT_PROBES`] at a time; a device whose probe fails or has
/// not finished (or started) `deadline` after the call is [`DeviceStatus::Disconnected`]. The
/// answer comes within `deadline` whatever the number of devices and however their brokers
/// behave. Statuses are in `devices` order.
pub async fn probe_all(link: &dyn TasmotaLink, devices: &[Device], deadline: Duration) -> Vec<DeviceStatus> {
    let end = Instant::now() + deadline;
    let probes = devices.iter().map(|device| async move {
        // A probe whose turn comes after the deadline opens no connection.
        if Instant::now() >= end {
            tracing::debug!(device.token = ?device.token, "device status probe not started: no time left");
            return DeviceStatus::Disconnected;
        }
        match tokio::time::timeout_at(end, link.probe(device)).await {
            Ok(Ok(status)) => status,
            Ok(Err(error)) => {
                tracing::debug!(device.token = ?device.token, %error, "device status probe failed");
                DeviceStatus::Disconnected
            }
            Err(_) => {
                tracing::debug!(device.token = ?device.token, "device status probe ran out of time");
                DeviceStatus::Disconnected
            }
        }
    });
    futures::stream::iter(probes).buffered(MAX_CONCURRENT_PROBES).collect().await
}
