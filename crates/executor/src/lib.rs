//! HTTP client of the Kafka-ML code executor services (docs/contract.md §5.1).
//!
//! Kafka-ML validates model source code by sending it to two small services, the TensorFlow
//! executor (`TFEXECUTOR_URL`, default `http://localhost:8001/`) and the PyTorch executor
//! (`PTHEXECUTOR_URL`, default `http://localhost:8002/`). They compile the code, build toy models
//! and answer with a status code (checks), an HDF5 file (`load_model`), a text
//! (`input_shape`) or a TFLite model (`convert_to_tflite`, for IoT devices).
//!
//! This crate hides those calls behind the [`Executor`] trait, so callers can be tested with an
//! in-process fake, and provides the real implementation, [`HttpExecutor`], with bounded
//! connect and request timeouts. Failures are [`ExecutorError`]s whose messages can be shown to
//! a user; [`ExecutorError::is_unavailable`] tells a 503 (executor down or too slow) from a 502
//! (executor answered something unusable).
//!
//! With the `stub` feature, `stub::StubExecutor` is a tiny executor server for tests of other
//! crates (HTTP on a loopback port); with the `test-support` feature, `fake::FakeExecutor` is an
//! in-memory [`Executor`] with scripted answers that records its calls.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kafkaml_executor::ExecutorError> {
//! use kafkaml_executor::{Executor, ExecutorConfig, ExecutorKind, HttpExecutor, ModelCode};
//!
//! let executor = HttpExecutor::new(ExecutorConfig::default())?;
//! let code = ModelCode::new("import tensorflow as tf", "model = tf.keras.Sequential()", false);
//! let outcome = executor.check(ExecutorKind::TensorFlow, &code).await?;
//! assert!(outcome.is_valid());
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod error;
#[cfg(any(test, feature = "test-support"))]
pub mod fake;
mod http;
mod model;
#[cfg(any(test, feature = "stub"))]
pub mod stub;

pub use error::ExecutorError;
pub use http::{
    CaBundle, ExecutorConfig, HttpExecutor, CONVERT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_PTH_URL,
    DEFAULT_REQUEST_TIMEOUT, DEFAULT_TF_URL,
};
pub use model::{CheckOutcome, Executor, ExecutorKind, Int8Quantization, ModelCode, RequestType, TfliteConversion};

#[cfg(test)]
mod tests;
