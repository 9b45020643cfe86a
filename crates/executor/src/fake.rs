//! An in-memory [`Executor`] for tests of callers (cargo feature `test-support`): no HTTP, scripted
//! answers, and a record of every call with its arguments. For tests of the HTTP client itself,
//! or of a whole server, use the `stub` feature's executor server instead.
//!
//! Out of the box every check is [`CheckOutcome::Valid`], `input_shape` answers
//! [`FAKE_INPUT_SHAPE`], `load_model` [`FAKE_MODEL`] and `convert_to_tflite` [`FAKE_TFLITE`].
//! A test changes those answers, queues outcomes or errors for the next calls, or makes every
//! call fail as an unreachable executor ([`FakeExecutor::set_unavailable`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use kafkaml_executor::fake::{ExecutorCall, FakeExecutor, Method};
//! use kafkaml_executor::{CheckOutcome, Executor, ExecutorKind, ModelCode};
//!
//! let executor = FakeExecutor::new();
//! let code = ModelCode::new("", "model = build()", false);
//! executor.set_check(ExecutorKind::PyTorch, CheckOutcome::Invalid);
//! assert_eq!(executor.check(ExecutorKind::PyTorch, &code).await.unwrap(), CheckOutcome::Invalid);
//! assert_eq!(executor.calls(), [ExecutorCall::Check { kind: ExecutorKind::PyTorch, code: code.clone() }]);
//!
//! executor.set_unavailable(true);
//! assert!(executor.input_shape(&code).await.unwrap_err().is_unavailable());
//! # }
//! ```

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::{CheckOutcome, Executor, ExecutorError, ExecutorKind, ModelCode, TfliteConversion};

/// What `input_shape` answers unless told otherwise.
pub const FAKE_INPUT_SHAPE: &str = "(None, 28, 28)";
/// What `load_model` answers unless told otherwise (the HDF5 signature and a marker).
pub const FAKE_MODEL: &[u8] = b"\x89HDF\r\n\x1a\nfake-model";
/// What `convert_to_tflite` answers unless told otherwise (the TFLite identifier and a marker).
pub const FAKE_TFLITE: &[u8] = b"\x1c\0\0\0TFL3fake-tflite";
/// The base URL named in the fake's errors.
pub const FAKE_EXECUTOR_URL: &str = "http://fake-executor.invalid/";
/// The time limit named in the errors of an unavailable fake.
pub const FAKE_TIMEOUT: Duration = Duration::from_secs(60);

/// The error of an executor that did not answer in time; [`ExecutorError::is_unavailable`] is
/// `true` for it.
pub fn unavailable(kind: ExecutorKind) -> ExecutorError {
    ExecutorError::Timeout { executor: kind, url: FAKE_EXECUTOR_URL.to_owned(), after: FAKE_TIMEOUT }
}

/// The error of an executor that answered `status` with `body` where an answer was needed
/// ([`ExecutorError::is_unavailable`] is `false`).
pub fn rejected(kind: ExecutorKind, status: u16, body: &str) -> ExecutorError {
    ExecutorError::Rejected { executor: kind, status, body: body.to_owned() }
}

/// The methods of [`Executor`], to aim a queued failure at one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// [`Executor::check`].
    Check,
    /// [`Executor::load_model`].
    LoadModel,
    /// [`Executor::input_shape`].
    InputShape,
    /// [`Executor::check_deploy_config`].
    CheckDeployConfig,
    /// [`Executor::convert_to_tflite`].
    ConvertToTflite,
}

/// One call made to a [`FakeExecutor`], with its arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecutorCall {
    /// [`Executor::check`].
    Check {
        /// The executor asked.
        kind: ExecutorKind,
        /// The code sent.
        code: ModelCode,
    },
    /// [`Executor::load_model`].
    LoadModel {
        /// The code sent.
        code: ModelCode,
    },
    /// [`Executor::input_shape`].
    InputShape {
        /// The code sent.
        code: ModelCode,
    },
    /// [`Executor::check_deploy_config`].
    CheckDeployConfig {
        /// The executor asked.
        kind: ExecutorKind,
        /// `batch`, as given.
        batch: serde_json::Value,
        /// `kwargs_fit`, JSON text.
        kwargs_fit: String,
        /// `kwargs_val`, JSON text.
        kwargs_val: String,
    },
    /// [`Executor::convert_to_tflite`].
    ConvertToTflite {
        /// The conversion asked.
        conversion: TfliteConversion,
    },
}

#[derive(Debug, Default)]
struct ExecutorState {
    checks: HashMap<ExecutorKind, CheckOutcome>,
    queued_checks: HashMap<ExecutorKind, VecDeque<CheckOutcome>>,
    deploy_configs: HashMap<ExecutorKind, CheckOutcome>,
    input_shape: Option<String>,
    model: Option<Bytes>,
    tflite: Option<Bytes>,
    failures: HashMap<Method, VecDeque<ExecutorError>>,
    unavailable: bool,
    calls: Vec<ExecutorCall>,
}

fn lock<T>(state: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the lock has failed already; the state is still usable.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An in-memory [`Executor`]; see the [module documentation](self). A cheap handle over shared
/// state: give a clone to the code under test and inspect the original.
#[derive(Debug, Clone, Default)]
pub struct FakeExecutor {
    state: Arc<Mutex<ExecutorState>>,
}

impl FakeExecutor {
    /// An executor that finds every model and configuration valid.
    pub fn new() -> Self {
        Self::default()
    }

    /// `check` on `kind` answers `outcome` from now on (after any queued outcome).
    pub fn set_check(&self, kind: ExecutorKind, outcome: CheckOutcome) {
        lock(&self.state).checks.insert(kind, outcome);
    }

    /// The next `check` calls on `kind` answer `outcomes`, in order; then the answer set with
    /// [`FakeExecutor::set_check`] again.
    pub fn queue_checks(&self, kind: ExecutorKind, outcomes: impl IntoIterator<Item = CheckOutcome>) {
        lock(&self.state).queued_checks.entry(kind).or_default().extend(outcomes);
    }

    /// `check_deploy_config` on `kind` answers `outcome`.
    pub fn set_deploy_config_check(&self, kind: ExecutorKind, outcome: CheckOutcome) {
        lock(&self.state).deploy_configs.insert(kind, outcome);
    }

    /// `input_shape` answers `shape`.
    pub fn set_input_shape(&self, shape: impl Into<String>) {
        lock(&self.state).input_shape = Some(shape.into());
    }

    /// `load_model` answers `model`.
    pub fn set_model(&self, model: impl Into<Bytes>) {
        lock(&self.state).model = Some(model.into());
    }

    /// `convert_to_tflite` answers `tflite`.
    pub fn set_tflite(&self, tflite: impl Into<Bytes>) {
        lock(&self.state).tflite = Some(tflite.into());
    }

    /// The next call of `method` fails with `error` (errors queue up: one per call).
    pub fn fail_next(&self, method: Method, error: ExecutorError) {
        lock(&self.state).failures.entry(method).or_default().push_back(error);
    }

    /// While `true`, every call fails with [`unavailable()`] (the executor asked is named);
    /// `false` answers again.
    pub fn set_unavailable(&self, unavailable: bool) {
        lock(&self.state).unavailable = unavailable;
    }

    /// Every call made, in order, with its arguments.
    pub fn calls(&self) -> Vec<ExecutorCall> {
        lock(&self.state).calls.clone()
    }

    /// Records `call` and gives the error it must end with, if any.
    fn begin(&self, call: ExecutorCall, method: Method, kind: ExecutorKind) -> Result<(), ExecutorError> {
        let mut state = lock(&self.state);
        state.calls.push(call);
        if state.unavailable {
            return Err(unavailable(kind));
        }
        match state.failures.get_mut(&method).and_then(VecDeque::pop_front) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl Executor for FakeExecutor {
    async fn check(&self, kind: ExecutorKind, code: &ModelCode) -> Result<CheckOutcome, ExecutorError> {
        self.begin(ExecutorCall::Check { kind, code: code.clone() }, Method::Check, kind)?;
        let mut state = lock(&self.state);
        let queued = state.queued_checks.get_mut(&kind).and_then(VecDeque::pop_front);
        Ok(queued.or_else(|| state.checks.get(&kind).copied()).unwrap_or(CheckOutcome::Valid))
    }

    async fn load_model(&self, code: &ModelCode) -> Result<Bytes, ExecutorError> {
        self.begin(ExecutorCall::LoadModel { code: code.clone() }, Method::LoadModel, ExecutorKind::TensorFlow)?;
        Ok(lock(&self.state).model.clone().unwrap_or_else(|| Bytes::from_static(FAKE_MODEL)))
    }

    async fn input_shape(&self, code: &ModelCode) -> Result<String, ExecutorError> {
        self.begin(ExecutorCall::InputShape { code: code.clone() }, Method::InputShape, ExecutorKind::TensorFlow)?;
        Ok(lock(&self.state).input_shape.clone().unwrap_or_else(|| FAKE_INPUT_SHAPE.to_owned()))
    }

    async fn check_deploy_config(
        &self,
        kind: ExecutorKind,
        batch: &serde_json::Value,
        kwargs_fit_json: &str,
        kwargs_val_json: &str,
    ) -> Result<CheckOutcome, ExecutorError> {
        let call = ExecutorCall::CheckDeployConfig {
            kind,
            batch: batch.clone(),
            kwargs_fit: kwargs_fit_json.to_owned(),
            kwargs_val: kwargs_val_json.to_owned(),
        };
        self.begin(call, Method::CheckDeployConfig, kind)?;
        Ok(lock(&self.state).deploy_configs.get(&kind).copied().unwrap_or(CheckOutcome::Valid))
    }

    async fn convert_to_tflite(&self, conversion: &TfliteConversion) -> Result<Bytes, ExecutorError> {
        let call = ExecutorCall::ConvertToTflite { conversion: conversion.clone() };
        self.begin(call, Method::ConvertToTflite, ExecutorKind::TensorFlow)?;
        Ok(lock(&self.state).tflite.clone().unwrap_or_else(|| Bytes::from_static(FAKE_TFLITE)))
    }
}

#[cfg(test)]
mod tests {

    use serde_json::json;

    use super::*;
    use crate::Int8Quantization;

    fn code(text: &str) -> ModelCode {
        ModelCode::new("import tensorflow as tf", text, false)
    }

    #[tokio::test]
    async fn answers_valid_and_the_default_artefacts_out_of_the_box() {
        let executor = FakeExecutor::new();
        let dynamic: Arc<dyn Executor> = Arc::new(executor.clone());
        assert_eq!(dynamic.check(ExecutorKind::TensorFlow, &code("a")).await.unwrap(), CheckOutcome::Valid);
        assert_eq!(dynamic.load_model(&code("b")).await.unwrap(), FAKE_MODEL);
        assert_eq!(dynamic.input_shape(&code("c")).await.unwrap(), FAKE_INPUT_SHAPE);
        let valid = dynamic.check_deploy_config(ExecutorKind::PyTorch, &json!(10), "{\"epochs\": 5}", "{}").await;
        assert_eq!(valid.unwrap(), CheckOutcome::Valid);
        let conversion = TfliteConversion {
            result_id: 4,
            model: Bytes::from_static(b"h5"),
            quantization: Some(Int8Quantization {
                deployment_id: 2,
                control_topic: "control".into(),
                bootstrap_servers: "kafka:9092".into(),
            }),
        };
        assert_eq!(dynamic.convert_to_tflite(&conversion).await.unwrap(), FAKE_TFLITE);
        assert_eq!(
            executor.calls(),
            [
                ExecutorCall::Check { kind: ExecutorKind::TensorFlow, code: code("a") },
                ExecutorCall::LoadModel { code: code("b") },
                ExecutorCall::InputShape { code: code("c") },
                ExecutorCall::CheckDeployConfig {
                    kind: ExecutorKind::PyTorch,
                    batch: json!(10),
                    kwargs_fit: "{\"epochs\": 5}".into(),
                    kwargs_val: "{}".into(),
                },
                ExecutorCall::ConvertToTflite { conversion },
            ]
        );
    }

    #[tokio::test]
    async fn scripted_answers() {
        let executor = FakeExecutor::new();
        executor.set_check(ExecutorKind::TensorFlow, CheckOutcome::Invalid);
        executor.queue_checks(ExecutorKind::TensorFlow, [CheckOutcome::Valid, CheckOutcome::Valid]);
        executor.set_deploy_config_check(ExecutorKind::TensorFlow, CheckOutcome::Invalid);
        executor.set_input_shape("(None, 10)");
        executor.set_model(Bytes::from_static(b"model"));
        executor.set_tflite(b"tflite".to_vec());
        let tf = ExecutorKind::TensorFlow;
        let outcomes = [
            executor.check(tf, &code("x")).await.unwrap(),
            executor.check(tf, &code("x")).await.unwrap(),
            executor.check(tf, &code("x")).await.unwrap(),
            executor.check(ExecutorKind::PyTorch, &code("x")).await.unwrap(),
        ];
        assert_eq!(outcomes, [CheckOutcome::Valid, CheckOutcome::Valid, CheckOutcome::Invalid, CheckOutcome::Valid]);
        assert_eq!(executor.check_deploy_config(tf, &json!(1), "{}", "{}").await.unwrap(), CheckOutcome::Invalid);
        assert_eq!(executor.input_shape(&code("x")).await.unwrap(), "(None, 10)");
        assert_eq!(executor.load_model(&code("x")).await.unwrap(), &b"model"[..]);
        let conversion = TfliteConversion { result_id: 1, model: Bytes::new(), quantization: None };
        assert_eq!(executor.convert_to_tflite(&conversion).await.unwrap(), &b"tflite"[..]);
    }

    #[tokio::test]
    async fn errors_once_per_queued_failure_or_all_while_unavailable() {
        let executor = FakeExecutor::new();
        executor.fail_next(Method::InputShape, rejected(ExecutorKind::TensorFlow, 500, "Traceback"));
        let err = executor.input_shape(&code("x")).await.unwrap_err();
        assert_eq!(err.to_string(), "TensorFlow executor answered HTTP 500: Traceback");
        assert!(!err.is_unavailable());
        assert_eq!(executor.input_shape(&code("x")).await.unwrap(), FAKE_INPUT_SHAPE);

        executor.set_unavailable(true);
        let err = executor.check(ExecutorKind::PyTorch, &code("x")).await.unwrap_err();
        assert!(err.is_unavailable());
        assert_eq!(err.executor(), Some(ExecutorKind::PyTorch));
        assert_eq!(err.to_string(), "PyTorch executor at http://fake-executor.invalid/ did not answer within 60 s");
        assert!(executor.load_model(&code("x")).await.is_err());
        executor.set_unavailable(false);
        assert!(executor.load_model(&code("x")).await.is_ok());
        assert_eq!(executor.calls().len(), 5);
    }
}
