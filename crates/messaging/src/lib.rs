//! Kafka-ML messaging: the Kafka side of the back-end.
//!
//! * [`ControlMessage`] — the datasource announcement `POST /datasources/kafka` puts on the control
//!   topic (docs/contract.md §4.7, §5.2.1): key = the deployment id in minimal big-endian bytes
//!   ([`deployment_key`]), value = the request minus `deployment` and `time`, formatted as Python's
//!   `json.dumps`.
//! * [`ControlPublisher`] — publishes control messages and waits, for a bounded time, for the
//!   broker's acknowledgement; [`KafkaControlPublisher`] is the rdkafka implementation (one
//!   long-lived producer). [`ensure_topic`] creates the control topic when the broker lacks it.
//! * [`PredictionSource`] — live subscriptions to inference output topics for the WebSocket
//!   (docs/contract.md §4.10); [`KafkaPredictionSource`] gives each subscription its own consumer group and
//!   reads only new messages; [`render_prediction`] turns a message into the frame the web UI reads.
//! * `fake` (cargo feature `test-support`) — `FakePublisher` and `FakePredictionSource`, in-memory
//!   implementations of the two traits for tests of callers.
//!
//! A service of its own can publish a datasource with this crate alone: see
//! `examples/examples/publish_datasource.rs` in the repository.

#![warn(missing_docs)]

#[cfg(any(test, feature = "test-support"))]
pub mod fake;

pub mod message;
pub mod predictions;
pub mod publisher;

pub use message::{decode_deployment_key, deployment_key, ControlMessage, MessageError};
pub use predictions::{
    render_prediction, valid_topic, KafkaPredictionSource, PredictionSource, PredictionStream, Released, SubscribeError,
};
pub use publisher::{
    ensure_topic, ControlPublisher, KafkaConfig, KafkaControlPublisher, PublishError, TopicError, TopicStatus,
};
