//! Response bodies, field for field and in the order of the reference's serializers (docs/contract.md §3).
//! Secrets (an inference's `token`, a device's `mqtt_password`) are never part of them.

use std::borrow::Cow;

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::datetime::drf;
use crate::enums::{Framework, InferenceStatus, InputFormat, ResultStatus};
use crate::rules::pyjson::without_insignificant_whitespace;
use crate::settings::{
    DeploymentSettings, DistributedSettings, FederatedSettings, FitSettings, IncrementalSettings,
    SemiSupervisedSettings,
};

/// A nested model reference `{"id", "name"}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ModelRef {
    /// The model's id.
    pub id: i32,
    /// The model's name.
    pub name: String,
}

/// A nested configuration reference `{"id", "name"}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ConfigurationRef {
    /// The configuration's id.
    pub id: i32,
    /// The configuration's name.
    pub name: String,
}

/// A nested deployment reference `{"id", "time"}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DeploymentRef {
    /// The deployment's id.
    pub id: i32,
    /// When the deployment was created.
    #[serde(with = "drf")]
    #[schema(value_type = String, format = DateTime)]
    pub time: NaiveDateTime,
}

/// A model definition (docs/contract.md §3.2).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MlModel {
    /// The model's id.
    pub id: i32,
    /// The model's Python source code.
    pub code: String,
    /// Unique name, at most 30 characters.
    pub name: String,
    /// Free-text description, at most 100 characters.
    pub description: String,
    /// Python import lines run before `code`.
    pub imports: String,
    /// Whether the model is part of a distributed chain.
    pub distributed: bool,
    /// The upper model of a distributed model, or null for a root.
    pub father: Option<ModelRef>,
    /// The framework of `code`: `tf` or `pth`.
    pub framework: Framework,
}

/// A configuration with its models and deployments (docs/contract.md §3.4).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Configuration {
    /// The configuration's id.
    pub id: i32,
    /// Unique name, at most 30 characters.
    pub name: String,
    /// Free-text description, at most 100 characters.
    pub description: String,
    /// The models of the configuration.
    pub ml_models: Vec<ModelRef>,
    /// The deployments of the configuration.
    pub deployments: Vec<DeploymentRef>,
}

/// A training result as nested in a deployment (docs/contract.md §3.6).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ResultSummary {
    /// The result's id.
    pub id: i32,
    /// Where the training stands.
    pub status: ResultStatus,
    /// The trained model.
    pub model: ModelRef,
    /// When `status` last changed.
    #[serde(with = "drf")]
    #[schema(value_type = String, format = DateTime)]
    pub status_changed: NaiveDateTime,
}

/// A deployment (docs/contract.md §3.8): its settings in the reference's field order.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Deployment {
    /// The deployment's id.
    pub id: i32,
    /// The deployed configuration.
    pub configuration: ConfigurationRef,
    /// One training result per model of the configuration.
    pub results: Vec<ResultSummary>,
    /// Settings of distributed training.
    #[serde(flatten)]
    pub distributed: DistributedSettings,
    /// Settings of incremental (streaming) training.
    #[serde(flatten)]
    pub incremental: IncrementalSettings,
    /// Settings of semi-supervised training.
    #[serde(flatten)]
    pub semi_supervised: SemiSupervisedSettings,
    /// Settings of the fit and evaluation calls.
    #[serde(flatten)]
    pub fit: FitSettings,
    /// When the deployment was created.
    #[serde(with = "drf")]
    #[schema(value_type = String, format = DateTime)]
    pub time: NaiveDateTime,
    /// Settings of federated training.
    #[serde(flatten)]
    pub federated: FederatedSettings,
}

impl Deployment {
    /// The answer for a stored deployment.
    pub fn new(
        id: i32,
        configuration: ConfigurationRef,
        results: Vec<ResultSummary>,
        time: NaiveDateTime,
        settings: DeploymentSettings,
    ) -> Self {
        let DeploymentSettings { fit, distributed, incremental, semi_supervised, federated } = settings;
        Deployment { id, configuration, results, distributed, incremental, semi_supervised, fit, time, federated }
    }
}

/// A JSON document stored as text and sent as it is stored, without parsing it into a tree and
/// writing it again (the metrics of 1,000 results are most of `GET /results/`).
#[derive(Debug, Clone)]
pub struct JsonText(Box<serde_json::value::RawValue>);

impl JsonText {
    /// Wraps stored text; text that is not JSON becomes a JSON string holding it. Compact text
    /// (what the back-end writes) is kept as it is; text with whitespace is re-written compactly
    /// so that answers always use compact separators. Either way the text is parsed once.
    pub fn from_stored(text: String) -> Self {
        use serde_json::value::RawValue;
        let as_string =
            |text: &str| JsonText(serde_json::value::to_raw_value(text).unwrap_or_else(|_| RawValue::NULL.to_owned()));
        match without_insignificant_whitespace(&text) {
            // Already compact: validated where it is, copied once.
            Some(Cow::Borrowed(_)) => match serde_json::from_str::<&RawValue>(&text) {
                Ok(raw) => JsonText(raw.to_owned()),
                Err(_) => as_string(&text),
            },
            Some(Cow::Owned(compact)) => {
                RawValue::from_string(compact).map(JsonText).unwrap_or_else(|_| as_string(&text))
            }
            None => as_string(&text),
        }
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// The document as a JSON tree.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.0.get()).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod json_text_tests {
    use super::JsonText;

    #[test]
    fn stored_text_is_sent_compact() {
        assert_eq!(JsonText::from_stored(r#"{"loss":[0.5,0.4]}"#.to_owned()).get(), r#"{"loss":[0.5,0.4]}"#);
        assert_eq!(JsonText::from_stored(r#"{"loss": [0.5, 0.4]}"#.to_owned()).get(), r#"{"loss":[0.5,0.4]}"#);
        assert_eq!(JsonText::from_stored("not json".to_owned()).get(), r#""not json""#);
        assert_eq!(JsonText::from_stored(r#"{"b":1,"a":2}"#.to_owned()).to_value().to_string(), r#"{"b":1,"a":2}"#);
        // Whitespace inside strings (escaped quotes and backslashes included) is kept.
        assert_eq!(
            JsonText::from_stored("{ \"a b\" : [ \"x \\\" y\" , \"z\\\\\" ] ,\n\t\"c\": null }".to_owned()).get(),
            r#"{"a b":["x \" y","z\\"],"c":null}"#
        );
        // Text that is not JSON is sent as a JSON string of the text as stored.
        assert_eq!(JsonText::from_stored("nan is not json".to_owned()).get(), r#""nan is not json""#);
        assert_eq!(JsonText::from_stored("{\"a\": tru e}".to_owned()).get(), r#""{\"a\": tru e}""#);
        assert_eq!(JsonText::from_stored("1 2".to_owned()).get(), r#""1 2""#);
        assert_eq!(JsonText::from_stored(" 12 ".to_owned()).get(), "12");
        assert_eq!(JsonText::from_stored("- 1".to_owned()).get(), r#""- 1""#);
        assert_eq!(JsonText::from_stored("[1, 2] x".to_owned()).get(), r#""[1, 2] x""#);
        assert_eq!(JsonText::from_stored("nan".to_owned()).get(), r#""nan""#);
        assert_eq!(JsonText::from_stored(r#"{ "ñ a" : "é\tb" }"#.to_owned()).get(), r#"{"ñ a":"é\tb"}"#);
        assert_eq!(JsonText::from_stored("[ -1.5e3 , true ,null ]".to_owned()).get(), "[-1.5e3,true,null]");
    }
}

impl PartialEq for JsonText {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Serialize for JsonText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// A training result (docs/contract.md §3.11). `status_reason` says why a result `failed`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TrainingResult {
    /// The result's id.
    pub id: i32,
    /// Where the training stands.
    pub status: ResultStatus,
    /// When `status` last changed.
    #[serde(with = "drf")]
    #[schema(value_type = String, format = DateTime)]
    pub status_changed: NaiveDateTime,
    /// The deployment the training belongs to.
    pub deployment: DeploymentRef,
    /// The trained model.
    pub model: ModelRef,
    /// Training metrics, normally `{metric: [per-epoch values]}`.
    #[schema(value_type = Object)]
    pub train_metrics: Option<JsonText>,
    /// Validation metrics, in the shape of `train_metrics`.
    #[schema(value_type = Object)]
    pub val_metrics: Option<JsonText>,
    /// Test metrics, e.g. `{metric: [value]}`.
    #[schema(value_type = Object)]
    pub test_metrics: Option<JsonText>,
    /// The confusion matrix, a list of lists of integers.
    #[schema(value_type = Object)]
    pub confusion_matrix: Option<JsonText>,
    /// Training duration in seconds.
    pub training_time: Option<f64>,
    /// Why the result failed; present only for a `failed` result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
}

/// A datasource announcement (docs/contract.md §3.12; no `id`, as in the reference).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Datasource {
    /// Format of the stream's messages.
    pub input_format: InputFormat,
    /// The deployment id, as a string.
    pub deployment: String,
    /// A JSON document, as text.
    pub input_config: String,
    /// Free-text description of the stream.
    pub description: String,
    /// `topic:partition:offset[:length][,…]`.
    pub topic: String,
    /// Fraction of the messages used for validation.
    pub validation_rate: Option<f64>,
    /// Fraction of the messages used for testing.
    pub test_rate: Option<f64>,
    /// Number of messages in the stream.
    pub total_msg: Option<i64>,
    /// When the stream was announced.
    #[serde(with = "drf")]
    #[schema(value_type = String, format = DateTime)]
    pub time: NaiveDateTime,
}

/// An inference (docs/contract.md §3.14, without the write-only `token`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Inference {
    /// The inference's id.
    pub id: i32,
    /// The training result whose model is served, or null once it is deleted.
    pub model_result: Option<i32>,
    /// Number of inference pods.
    pub replicas: i32,
    /// Format of the input messages.
    pub input_format: InputFormat,
    /// A JSON document, as text, that describes the input messages.
    pub input_config: String,
    /// Kafka topic the inference reads from.
    pub input_topic: String,
    /// Kafka topic the inference writes its predictions to.
    pub output_topic: String,
    /// When the inference was created.
    #[serde(with = "drf")]
    #[schema(value_type = String, format = DateTime)]
    pub time: NaiveDateTime,
    /// Whether the inference is deployed or stopped.
    pub status: InferenceStatus,
    /// When `status` last changed.
    #[serde(with = "drf")]
    #[schema(value_type = String, format = DateTime)]
    pub status_changed: NaiveDateTime,
    /// Early-exit threshold of a distributed model, or null.
    pub limit: Option<f64>,
    /// Kafka topic towards the upper (father) model of a distributed model.
    pub output_upper: String,
    /// API URL of an external Kubernetes cluster, or null.
    pub external_host: Option<String>,
    /// Kafka broker of the input topic, or null for the default broker.
    pub input_kafka_broker: Option<String>,
    /// Kafka broker of the output topic, or null for the default broker.
    pub output_kafka_broker: Option<String>,
    /// Kafka broker of the upper model's topic, or null for the default broker.
    pub upper_kafka_broker: Option<String>,
}

/// Suggested input settings for deploying an inference of a result (docs/contract.md §4.6).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct InferenceInfo {
    /// Suggested input format.
    pub input_format: String,
    /// Suggested input configuration, a JSON document as text.
    pub input_config: String,
}
