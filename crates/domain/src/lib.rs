//! Kafka-ML domain: entities, enums, the REST API's request and response types (serde + utoipa +
//! validator) and the pure rules of the control plane (kwargs parsing, distributed-chain expansion,
//! chart building, training-case selection).
//!
//! This crate knows nothing of HTTP frameworks, databases, Kubernetes or Kafka.

#![warn(missing_docs)]

pub mod cause;
pub mod datetime;
pub mod decimal;
pub mod deploy;
pub mod enums;
pub mod inputs;
pub mod iot;
mod lenient;
pub mod outputs;
pub mod password;
pub mod rules;
pub mod settings;
pub mod violation;

pub use enums::{AggStrategy, Framework, InferenceStatus, InputFormat, ResultStatus, Role, WireEnum};
pub use violation::{Named, Violation};
