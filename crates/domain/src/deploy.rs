//! Bodies of the orchestration routes: `POST /deployments/` (docs/contract.md §3.7, §4.3, and what the web
//! UI's deployment form sends, §6.1) and `POST /results/inference/<id>` (docs/contract.md §3.13, §4.6).
//!
//! Numbers may come as JSON numbers or numeric strings (the web UI's text inputs, DRF's fields);
//! unknown fields are ignored. Optional settings distinguish "absent" (the model's default) from
//! `null` (stored as null) where the column is nullable, as DRF does.

use serde::de::{Deserializer, Error as _};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use crate::enums::{AggStrategy, InputFormat};
use crate::inputs::IdRef;
use crate::lenient::{
    int, no_id, null_as_empty, null_as_false, nullable_bool, nullable_int, nullable_number, number, one, some_number,
    some_text,
};
use crate::rules::kwargs_to_json;
use crate::settings::{
    Decimal, DeploymentRequest, DeploymentSettings, DistributedSettings, ExternalCluster, FederatedSettings,
    FitSettings, FrameworkKwargs, IncrementalSettings, InferenceRequest, InferenceSettings, Kwargs,
    SemiSupervisedSettings,
};

/// `data_restriction`: any JSON value, or a JSON document as text (what the web UI sends, design
/// §3 item 23), which is parsed; absent → `None`, `null` → `Some(None)`.
fn restriction<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Value>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Some(None)),
        Value::String(s) if s.trim().is_empty() => Ok(Some(Some(Value::Object(serde_json::Map::new())))),
        Value::String(s) => serde_json::from_str::<Value>(&s)
            .map(|v| Some(Some(v)))
            .map_err(|e| D::Error::custom(format!("the text is not a JSON document ({e})"))),
        other => Ok(Some(Some(other))),
    }
}

fn decimal_7_6(v: f64) -> Result<(), ValidationError> {
    crate::decimal::check(v, 7, 6).map_err(|m| ValidationError::new("decimal").with_message(m.into()))
}

fn decimal_15_10(v: f64) -> Result<(), ValidationError> {
    crate::decimal::check(v, 15, 10).map_err(|m| ValidationError::new("decimal").with_message(m.into()))
}

/// Most GPU memory (GB, or GPUs) a deployment or an inference may ask for per pod.
pub const MAX_GPUMEM: f64 = 64.0;

/// Most replicas any inference may have, whatever `KAFKAML_MAX_INFERENCE_REPLICAS` says (that
/// setting lowers it; its default is [`DEFAULT_MAX_INFERENCE_REPLICAS`]).
pub const MAX_INFERENCE_REPLICAS: i32 = 1000;

/// The default of `KAFKAML_MAX_INFERENCE_REPLICAS`.
pub const DEFAULT_MAX_INFERENCE_REPLICAS: i32 = 16;

fn replicas_range(v: i32) -> Result<(), ValidationError> {
    if v < 1 {
        return Err(
            ValidationError::new("range").with_message("Ensure this value is greater than or equal to 1.".into())
        );
    }
    check_replicas(v, MAX_INFERENCE_REPLICAS).map_err(|m| ValidationError::new("range").with_message(m.into()))
}

/// `replicas` within the back-end's cap `max` (`KAFKAML_MAX_INFERENCE_REPLICAS`); the error is the
/// field's message, as DRF words it.
pub fn check_replicas(replicas: i32, max: i32) -> Result<(), String> {
    if replicas > max {
        return Err(format!("Ensure this value is less than or equal to {max}."));
    }
    Ok(())
}

/// An id that must be given (not null, not 0).
fn required_id<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match IdRef::deserialize(d)? {
        IdRef(None) => Err(D::Error::custom("This field is required.")),
        IdRef(Some(id)) => Ok(id),
    }
}

/// Body of `POST /deployments/`: the deployment settings of docs/contract.md §3.7 plus `configuration`
/// and `gpumem`. Absent settings take the reference's defaults.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct DeploymentInput {
    /// The configuration to train (an id, or a numeric string).
    #[serde(deserialize_with = "required_id")]
    #[schema(minimum = 1)]
    pub configuration: i64,
    /// GPU memory per Job (the web UI sends GB); `> 0` asks for a GPU; at most 64.
    #[serde(deserialize_with = "number")]
    #[validate(range(max = MAX_GPUMEM, message = "Ensure this value is less than or equal to 64."))]
    #[schema(maximum = 64)]
    pub gpumem: f64,
    /// Batch size, greater than 0 (default 1).
    #[serde(default = "one", deserialize_with = "int")]
    #[validate(range(min = 1, message = "Batch has to be greater than 0"))]
    #[schema(minimum = 1)]
    pub batch: i32,
    /// Keyword arguments of `fit` for TensorFlow models (`epochs=5, steps_per_epoch=1000`).
    #[serde(default, deserialize_with = "null_as_empty")]
    #[schema(nullable = true)]
    #[validate(length(max = 100, message = "Ensure this field has no more than 100 characters."))]
    #[schema(max_length = 100)]
    pub tf_kwargs_fit: String,
    /// Keyword arguments of `evaluate` for TensorFlow models.
    #[serde(default, deserialize_with = "null_as_empty")]
    #[schema(nullable = true)]
    #[validate(length(max = 100, message = "Ensure this field has no more than 100 characters."))]
    #[schema(max_length = 100)]
    pub tf_kwargs_val: String,
    /// Keyword arguments of training for PyTorch models (`max_epochs=5`).
    #[serde(default, deserialize_with = "null_as_empty")]
    #[schema(nullable = true)]
    #[validate(length(max = 100, message = "Ensure this field has no more than 100 characters."))]
    #[schema(max_length = 100)]
    pub pth_kwargs_fit: String,
    /// Keyword arguments of validation for PyTorch models.
    #[serde(default, deserialize_with = "null_as_empty")]
    #[schema(nullable = true)]
    #[validate(length(max = 100, message = "Ensure this field has no more than 100 characters."))]
    #[schema(max_length = 100)]
    pub pth_kwargs_val: String,
    /// Generate a confusion matrix (default false; may be null).
    #[serde(default, deserialize_with = "nullable_bool")]
    #[schema(value_type = Option<bool>)]
    pub conf_mat_settings: Option<Option<bool>>,
    /// Optimizer of distributed training (default `adam`).
    #[serde(default, deserialize_with = "some_text")]
    #[schema(nullable = false)]
    pub optimizer: Option<String>,
    /// Learning rate of distributed training, `decimal(7,6)` (default 0.001).
    #[serde(default, deserialize_with = "some_number")]
    #[validate(custom(function = "decimal_7_6"))]
    #[schema(value_type = Option<f64>, nullable = false, minimum = -9.999999, maximum = 9.999999, multiple_of = 0.000001)]
    pub learning_rate: Option<f64>,
    /// Loss of distributed training (default `sparse_categorical_crossentropy`).
    #[serde(default, deserialize_with = "some_text")]
    #[schema(nullable = false)]
    pub loss: Option<String>,
    /// Metrics of distributed training, comma-separated (default `sparse_categorical_accuracy`).
    #[serde(default, deserialize_with = "some_text")]
    #[schema(nullable = false)]
    pub metrics: Option<String>,
    /// Incremental training on a stream.
    #[serde(default, deserialize_with = "null_as_false")]
    #[schema(nullable = true)]
    pub incremental: bool,
    /// Incremental training without end.
    #[serde(default, deserialize_with = "null_as_false")]
    #[schema(nullable = true)]
    pub indefinite: bool,
    /// Stream timeout in milliseconds (default 60000; may be null).
    #[serde(default, deserialize_with = "nullable_int")]
    #[schema(value_type = Option<i32>)]
    pub stream_timeout: Option<Option<i32>>,
    /// Metric watched by incremental training.
    #[serde(default)]
    pub monitoring_metric: Option<String>,
    /// `up` or `down`: the direction of improvement of the monitored metric.
    #[serde(default)]
    pub change: Option<String>,
    /// Minimal improvement, `decimal(7,6)` (default 0.05; may be null).
    #[serde(default, deserialize_with = "nullable_number")]
    #[validate(custom(function = "decimal_7_6"))]
    #[schema(value_type = Option<f64>, minimum = -9.999999, maximum = 9.999999, multiple_of = 0.000001)]
    pub improvement: Option<Option<f64>>,
    /// Semi-supervised training.
    #[serde(default, deserialize_with = "null_as_false")]
    #[schema(nullable = true)]
    pub unsupervised: bool,
    /// Rounds of semi-supervised training (default 5; may be null).
    #[serde(default, deserialize_with = "nullable_int")]
    #[schema(value_type = Option<i32>)]
    pub unsupervised_rounds: Option<Option<i32>>,
    /// Confidence threshold, `decimal(7,6)` (default 0.9; may be null).
    #[serde(default, deserialize_with = "nullable_number")]
    #[validate(custom(function = "decimal_7_6"))]
    #[schema(value_type = Option<f64>, minimum = -9.999999, maximum = 9.999999, multiple_of = 0.000001)]
    pub confidence: Option<Option<f64>>,
    /// Federated training.
    #[serde(default, deserialize_with = "null_as_false")]
    #[schema(nullable = true)]
    pub federated: bool,
    /// Aggregation rounds (default 15; may be null).
    #[serde(default, deserialize_with = "nullable_int")]
    #[schema(value_type = Option<i32>)]
    pub agg_rounds: Option<Option<i32>>,
    /// Minimal data per federated client (default 1000; may be null).
    #[serde(default, deserialize_with = "nullable_int")]
    #[schema(value_type = Option<i32>)]
    pub min_data: Option<Option<i32>>,
    /// Aggregation strategy (default `FedAvg`).
    #[serde(default)]
    pub agg_strategy: Option<AggStrategy>,
    /// Alias of `agg_strategy`, the name the web UI's form uses (decisions.md item 23);
    /// `agg_strategy` wins when both are given.
    #[serde(default)]
    pub strategy: Option<AggStrategy>,
    /// Data restriction of federated training: a JSON value or a JSON document as text
    /// (default `{}`; may be null).
    #[serde(default, deserialize_with = "restriction")]
    #[schema(value_type = Option<Object>)]
    pub data_restriction: Option<Option<Value>>,
    /// Blockchain-based federated aggregation.
    #[serde(default, deserialize_with = "null_as_false")]
    #[schema(nullable = true)]
    pub blockchain: bool,
}

impl DeploymentInput {
    /// The aggregation strategy in effect: `agg_strategy`, else `strategy`, else `FedAvg`.
    pub fn aggregation(&self) -> AggStrategy {
        self.agg_strategy.or(self.strategy).unwrap_or_default()
    }

    /// The request this body asks for: absent settings take their defaults, the kwargs of both
    /// frameworks are parsed (never evaluated). The error names the field that is not valid.
    pub fn resolve(self) -> Result<DeploymentRequest, String> {
        let kwargs = |fit: &str, val: &str, prefix: &str| -> Result<Kwargs, String> {
            let parse = |text: &str, field: &str| kwargs_to_json(text).map_err(|e| format!("{prefix}_{field}: {e}"));
            Ok(Kwargs { fit: parse(fit, "kwargs_fit")?, val: parse(val, "kwargs_val")? })
        };
        let kwargs = FrameworkKwargs {
            tf: kwargs(&self.tf_kwargs_fit, &self.tf_kwargs_val, "tf")?,
            pth: kwargs(&self.pth_kwargs_fit, &self.pth_kwargs_val, "pth")?,
        };
        let agg_strategy = self.aggregation();
        let d = DeploymentSettings::default();
        // `None`: absent (the default); `Some(None)`: sent as null (stored as null).
        let given = |sent: Option<Option<f64>>, default: Option<Decimal>| match sent {
            None => default,
            Some(value) => value.map(Decimal::given),
        };
        let settings = DeploymentSettings {
            fit: FitSettings {
                batch: self.batch,
                tf_kwargs_fit: self.tf_kwargs_fit,
                tf_kwargs_val: self.tf_kwargs_val,
                pth_kwargs_fit: self.pth_kwargs_fit,
                pth_kwargs_val: self.pth_kwargs_val,
                conf_mat_settings: self.conf_mat_settings.unwrap_or(d.fit.conf_mat_settings),
            },
            distributed: DistributedSettings {
                optimizer: self.optimizer.unwrap_or(d.distributed.optimizer),
                learning_rate: self.learning_rate.map_or(d.distributed.learning_rate, Decimal::given),
                loss: self.loss.unwrap_or(d.distributed.loss),
                metrics: self.metrics.unwrap_or(d.distributed.metrics),
            },
            incremental: IncrementalSettings {
                incremental: self.incremental,
                indefinite: self.indefinite,
                stream_timeout: self.stream_timeout.unwrap_or(d.incremental.stream_timeout),
                monitoring_metric: self.monitoring_metric,
                change: self.change,
                improvement: given(self.improvement, d.incremental.improvement),
            },
            semi_supervised: SemiSupervisedSettings {
                unsupervised: self.unsupervised,
                unsupervised_rounds: self.unsupervised_rounds.unwrap_or(d.semi_supervised.unsupervised_rounds),
                confidence: given(self.confidence, d.semi_supervised.confidence),
            },
            federated: FederatedSettings {
                federated: self.federated,
                agg_rounds: self.agg_rounds.unwrap_or(d.federated.agg_rounds),
                min_data: self.min_data.unwrap_or(d.federated.min_data),
                agg_strategy,
                data_restriction: self.data_restriction.unwrap_or(d.federated.data_restriction),
                blockchain: self.blockchain,
            },
        };
        Ok(DeploymentRequest { configuration: self.configuration, gpumem: self.gpumem, settings, kwargs })
    }
}

/// Body of `POST /results/inference/<id>`: how to run an inference of a trained result.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct InferenceInput {
    /// The result to serve; optional, but when given it must be the result of the URL (docs/decisions.md
    /// item 18).
    #[serde(default = "no_id")]
    #[schema(value_type = Option<i64>)]
    pub model_result: IdRef,
    /// GPU memory per pod (the web UI sends GB); `> 0` asks for a GPU; at most 64.
    #[serde(deserialize_with = "number")]
    #[validate(range(max = MAX_GPUMEM, message = "Ensure this value is less than or equal to 64."))]
    #[schema(maximum = 64)]
    pub gpumem: f64,
    /// Pod replicas, at least 1 (default 1), at most the back-end's `KAFKAML_MAX_INFERENCE_REPLICAS`
    /// (default 16; never more than 1000).
    #[serde(default = "one", deserialize_with = "int")]
    #[validate(custom(function = "replicas_range"))]
    #[schema(minimum = 1, maximum = 1000)]
    pub replicas: i32,
    /// Encoding of the input records (default `RAW`).
    #[serde(default)]
    pub input_format: InputFormat,
    /// Decoding settings of the input records, a JSON document as text.
    #[serde(default, deserialize_with = "null_as_empty")]
    #[schema(nullable = true)]
    pub input_config: String,
    /// Topic the inference reads.
    #[serde(default, deserialize_with = "null_as_empty")]
    #[schema(nullable = true)]
    pub input_topic: String,
    /// Topic the inference writes its predictions to.
    #[serde(default, deserialize_with = "null_as_empty")]
    #[schema(nullable = true)]
    pub output_topic: String,
    /// Topic towards the upper model (distributed early exit).
    #[serde(default, deserialize_with = "null_as_empty")]
    #[schema(nullable = true)]
    pub output_upper: String,
    /// Early-exit confidence threshold of distributed models, `decimal(15,10)`.
    #[serde(default, deserialize_with = "nullable_number")]
    #[schema(value_type = Option<f64>, minimum = -99999.9999999999, maximum = 99999.9999999999, multiple_of = 0.0000000001)]
    pub limit: Option<Option<f64>>,
    /// Bearer token of an external cluster (write-only: never returned).
    #[serde(default)]
    #[schema(write_only)]
    pub token: Option<String>,
    /// API URL of an external cluster to run the inference in (with `token`).
    #[serde(default)]
    pub external_host: Option<String>,
    /// Brokers of the input topic (default `BOOTSTRAP_SERVERS`).
    #[serde(default)]
    pub input_kafka_broker: Option<String>,
    /// Brokers of the output topic (default `BOOTSTRAP_SERVERS`).
    #[serde(default)]
    pub output_kafka_broker: Option<String>,
    /// Brokers of the upper topic (default `BOOTSTRAP_SERVERS`).
    #[serde(default)]
    pub upper_kafka_broker: Option<String>,
}

impl InferenceInput {
    /// The request this body asks for, to serve result `result_id` (the result of the URL): checks
    /// what `validator` cannot express — a `model_result` in the body must be `result_id`, the
    /// limit's precision, and `external_host` and `token` come together. The error says what is
    /// wrong.
    pub fn resolve(self, result_id: i32) -> Result<InferenceRequest, String> {
        if let Some(body_id) = self.model_result.0.filter(|b| *b != i64::from(result_id)) {
            return Err(format!("model_result {body_id} in the body is not the result {result_id} of the URL."));
        }
        let limit = self.limit.flatten();
        if let Some(limit) = limit {
            decimal_15_10(limit).map_err(|e| format!("limit: {}", e.message.unwrap_or_default()))?;
        }
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|v| v.trim().is_empty());
        if blank(&self.external_host) != blank(&self.token) {
            return Err("external_host and token: give both to run the inference in an external cluster, or neither."
                .to_owned());
        }
        let settings = InferenceSettings {
            replicas: self.replicas,
            input_format: self.input_format,
            input_config: self.input_config,
            input_topic: self.input_topic,
            output_topic: self.output_topic,
            output_upper: self.output_upper,
            limit,
            external: ExternalCluster::of(self.external_host.as_deref(), self.token.as_deref()),
            input_kafka_broker: self.input_kafka_broker,
            output_kafka_broker: self.output_kafka_broker,
            upper_kafka_broker: self.upper_kafka_broker,
        };
        Ok(InferenceRequest { gpumem: self.gpumem, settings })
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::inputs::parse;
    use serde_json::json;

    fn web_ui_body() -> Value {
        // What the web UI's deployment form sends for a TensorFlow configuration.
        json!({
            "configuration": 3, "batch": 10, "gpumem": 0, "tf_kwargs_fit": "epochs=5", "tf_kwargs_val": "",
            "pth_kwargs_fit": "", "pth_kwargs_val": "", "unsupervised": false, "incremental": false,
            "federated": false, "conf_mat_settings": false, "strategy": "FedAdam", "data_restriction": "{\"x\": [1]}",
            "agg_rounds": 3, "min_data": 5, "unknown": "ignored"
        })
    }

    #[test]
    fn web_ui_form() {
        let d: DeploymentInput = parse(web_ui_body()).unwrap();
        assert_eq!(d.configuration, 3);
        assert_eq!(d.batch, 10);
        assert_eq!(d.gpumem, 0.0);
        assert_eq!(d.aggregation(), AggStrategy::FedAdam);
        assert_eq!(d.data_restriction, Some(Some(json!({"x": [1]}))));
        assert_eq!(d.conf_mat_settings, Some(Some(false)));
        assert_eq!(d.agg_rounds, Some(Some(3)));
        assert_eq!(d.unsupervised_rounds, None);
        assert_eq!(d.learning_rate, None);
    }

    #[test]
    fn absent_null_and_values_differ() {
        let d: DeploymentInput = parse(json!({
            "configuration": "3", "gpumem": "1.5", "improvement": null, "confidence": "0.8", "learning_rate": 0.01,
            "stream_timeout": null, "data_restriction": {"a": 1}, "agg_strategy": "FedOpt", "strategy": "FedYogi",
            "batch": "4"
        }))
        .unwrap();
        assert_eq!(d.configuration, 3);
        assert_eq!(d.gpumem, 1.5);
        assert_eq!(d.batch, 4);
        assert_eq!(d.improvement, Some(None));
        assert_eq!(d.confidence, Some(Some(0.8)));
        assert_eq!(d.learning_rate, Some(0.01));
        assert_eq!(d.stream_timeout, Some(None));
        assert_eq!(d.data_restriction, Some(Some(json!({"a": 1}))));
        assert_eq!(d.aggregation(), AggStrategy::FedOpt);
        let d: DeploymentInput = parse(json!({"configuration": 1, "gpumem": 0, "data_restriction": ""})).unwrap();
        assert_eq!(d.data_restriction, Some(Some(json!({}))));
        assert_eq!(d.batch, 1);
        assert_eq!(d.tf_kwargs_fit, "");
    }

    #[test]
    fn refusals() {
        let refuse = |body: Value| parse::<DeploymentInput>(body).unwrap_err();
        assert_eq!(refuse(json!({"configuration": 1})), "missing field `gpumem`");
        assert_eq!(refuse(json!({"gpumem": 0})), "missing field `configuration`");
        assert_eq!(refuse(json!({"configuration": null, "gpumem": 0})), "configuration: This field is required.");
        assert_eq!(
            refuse(json!({"configuration": 1, "gpumem": 0, "batch": 0})),
            "batch: Batch has to be greater than 0"
        );
        assert_eq!(
            refuse(json!({"configuration": 1, "gpumem": 0, "learning_rate": 0.1234567})),
            "learning_rate: Ensure that there are no more than 6 decimal places."
        );
        assert!(refuse(json!({"configuration": 1, "gpumem": "x"})).starts_with("gpumem: A valid number is required."));
        assert!(refuse(json!({"configuration": 1, "gpumem": 0, "agg_strategy": "Best"}))
            .starts_with("agg_strategy: unknown variant `Best`"));
        assert!(refuse(json!({"configuration": 1, "gpumem": 0, "data_restriction": "{x"}))
            .starts_with("data_restriction: the text is not a JSON document"));
        assert_eq!(
            refuse(json!({"configuration": 1, "gpumem": 0, "tf_kwargs_fit": "x".repeat(101)})),
            "tf_kwargs_fit: Ensure this field has no more than 100 characters."
        );
        assert!(refuse(json!({"configuration": 1, "gpumem": 0, "optimizer": null}))
            .starts_with("optimizer: invalid type: null"));
    }

    #[test]
    fn inference_form() {
        let i: InferenceInput = parse(json!({
            "model_result": 4, "gpumem": 0, "replicas": 2, "input_format": "RAW", "input_config": "{}",
            "input_topic": "in", "output_topic": "out", "external_host": "", "token": "", "limit": null
        }))
        .unwrap();
        assert_eq!(i.model_result, IdRef(Some(4)));
        assert_eq!(i.replicas, 2);
        let r = i.resolve(4).unwrap();
        assert_eq!(r.settings.external, None);
        assert_eq!(r.settings.limit, None);
        assert_eq!(r.settings.replicas, 2);
        let i: InferenceInput =
            parse(json!({"gpumem": 1, "external_host": "https://k:6443", "token": "t", "limit": "0.5"})).unwrap();
        assert_eq!(i.model_result, IdRef(None));
        let r = i.resolve(9).unwrap();
        assert_eq!(r.settings.external, Some(ExternalCluster { host: "https://k:6443".to_owned(), token: "t".into() }));
        assert_eq!(r.settings.limit, Some(0.5));
        assert_eq!(r.gpumem, 1.0);
        let i: InferenceInput = parse(json!({"gpumem": 0, "external_host": "https://k:6443"})).unwrap();
        assert!(i.resolve(1).unwrap_err().starts_with("external_host and token"));
        let i: InferenceInput = parse(json!({"gpumem": 0, "limit": 0.12345678901})).unwrap();
        assert_eq!(i.resolve(1).unwrap_err(), "limit: Ensure that there are no more than 10 decimal places.");
        let i: InferenceInput = parse(json!({"gpumem": 0, "model_result": 3})).unwrap();
        assert_eq!(i.resolve(4).unwrap_err(), "model_result 3 in the body is not the result 4 of the URL.");
        assert!(parse::<InferenceInput>(json!({"gpumem": 0, "input_format": "XML"}))
            .unwrap_err()
            .starts_with("input_format: unknown variant `XML`"));
        assert_eq!(
            parse::<InferenceInput>(json!({"gpumem": 0, "replicas": 0})).unwrap_err(),
            "replicas: Ensure this value is greater than or equal to 1."
        );
        assert_eq!(
            parse::<InferenceInput>(json!({"gpumem": 0, "replicas": 2147483647})).unwrap_err(),
            "replicas: Ensure this value is less than or equal to 1000."
        );
        assert_eq!(
            parse::<InferenceInput>(json!({"gpumem": 1e15})).unwrap_err(),
            "gpumem: Ensure this value is less than or equal to 64."
        );
        assert_eq!(
            parse::<DeploymentInput>(json!({"configuration": 1, "gpumem": 65})).unwrap_err(),
            "gpumem: Ensure this value is less than or equal to 64."
        );
        assert!(parse::<InferenceInput>(json!({"gpumem": 64, "replicas": 1000})).is_ok());
        assert_eq!(check_replicas(17, 16).unwrap_err(), "Ensure this value is less than or equal to 16.");
        assert_eq!(check_replicas(16, 16), Ok(()));
    }

    #[test]
    fn resolving_takes_the_defaults_once_and_keeps_what_was_given() {
        let r = parse::<DeploymentInput>(json!({"configuration": 2, "gpumem": 0})).unwrap().resolve().unwrap();
        assert_eq!(r.configuration, 2);
        assert_eq!(r.settings, DeploymentSettings::default());
        assert_eq!(r.kwargs.tf, Kwargs { fit: "{}".to_owned(), val: "{}".to_owned() });
        let r = parse::<DeploymentInput>(json!({
            "configuration": 2, "gpumem": 1, "learning_rate": 0.01, "improvement": null, "confidence": 0.5,
            "stream_timeout": null, "tf_kwargs_fit": "epochs=5", "strategy": "FedYogi", "data_restriction": null
        }))
        .unwrap()
        .resolve()
        .unwrap();
        let s = &r.settings;
        assert_eq!(s.distributed.learning_rate, Decimal::given(0.01));
        assert_eq!(s.incremental.improvement, None);
        assert_eq!(s.incremental.stream_timeout, None);
        assert_eq!(s.semi_supervised.confidence, Some(Decimal::given(0.5)));
        assert_eq!(s.federated.agg_strategy, AggStrategy::FedYogi);
        assert_eq!(s.federated.data_restriction, None);
        assert_eq!(s.fit.tf_kwargs_fit, "epochs=5");
        assert_eq!(r.kwargs.of(crate::Framework::Tf).fit, r#"{"epochs": 5}"#);
        let refused = parse::<DeploymentInput>(json!({"configuration": 2, "gpumem": 0, "pth_kwargs_val": "x=import"}))
            .unwrap()
            .resolve()
            .unwrap_err();
        assert!(refused.starts_with("pth_kwargs_val: "), "{refused}");
    }
}
