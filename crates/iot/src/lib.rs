//! Kafka-ML IoT: Tasmota devices over MQTT (docs/contract.md §4.8, §5.5).
//!
//! Kafka-ML pushes TinyML models to [Tasmota](https://tasmota.github.io/) boards. A device is
//! configured with a `Backlog` command ([`text::backlog`]) that gives it a token as its MQTT
//! topic under `kafkaml/iot/`; Kafka-ML then
//!
//! - probes whether it is online: connect to its broker, subscribe to
//!   `kafkaml/iot/<token>/stat/STATUS1`, publish `1` to `kafkaml/iot/<token>/cmnd/Status`, and
//!   wait a short window for the answer ([`TasmotaLink::probe`]; [`probe_all`] probes many
//!   devices concurrently, [`MAX_CONCURRENT_PROBES`] at a time, within one overall deadline);
//! - deploys a model: the device gets a one-line Berry program ([`text::download_program`]) as its
//!   `Br` command, published at QoS 1 ([`TasmotaLink::send_command`]), which makes it download
//!   its new `model.tflite` and `autoexec.be` from the back-end and restart.
//!
//! The calls sit behind the [`TasmotaLink`] trait so that callers can be tested with a fake;
//! [`MqttLink`] is the real implementation (rumqttc, one short-lived connection per call, every
//! step bounded in time). Failures are [`IotError`]s whose messages name the broker, never the
//! password. [`BrokerAllowList`] says which brokers devices may name (`KAFKAML_IOT_BROKERS`).
//!
//! With the `simulator` feature, `simulator` offers a simulated Tasmota device and a
//! password-protected Mosquitto for tests; with the `test-support` feature, `fake` offers
//! `FakeTasmotaLink`, an in-memory [`TasmotaLink`] with scripted answers per device token.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kafkaml_iot::IotError> {
//! use kafkaml_iot::{Broker, Device, MqttLink, Password, TasmotaLink};
//!
//! let device = Device {
//!     token: "5B8E6696".into(),
//!     friendly_name: "greenhouse".into(),
//!     broker: Broker { host: "127.0.0.1".into(), port: 1883, username: "u".into(), password: Password::new("p") },
//! };
//! let status = MqttLink::default().probe(&device).await?;
//! println!("{}", status.as_str());
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod allow;
mod device;
mod error;
#[cfg(any(test, feature = "test-support"))]
pub mod fake;
mod link;
mod mqtt;
#[cfg(any(test, feature = "simulator"))]
pub mod simulator;
pub mod text;

pub use allow::{BadBrokerPattern, BrokerAllowList};
pub use device::{broker_address, Broker, Device, Password, TOPIC_ROOT};
pub use error::IotError;
pub use kafkaml_domain::iot::DeviceStatus;
pub use link::{probe_all, TasmotaLink, BERRY_COMMAND, MAX_CONCURRENT_PROBES};
pub use mqtt::{MqttConfig, MqttLink, DEFAULT_PROBE_WINDOW, DEFAULT_TIMEOUT};

#[cfg(test)]
mod tests;
