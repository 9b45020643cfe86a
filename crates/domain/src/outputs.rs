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
    pub id: i32,
    pub name: String,
}

/// A nested configuration reference `{"id", "name"}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ConfigurationRef {
    pub id: i32,
    pub name: String,
}

/// A nested deployment reference `{"id", "time"}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DeploymentRef {
    pub id: i32,
    #[serde(with = "drf")]
    #[schema(value_type = String, format = DateTime)]
    pub time: NaiveDateTime,
}

/// A model definition (docs/contract.md §3.2).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MlModel {
    pub id: i32,
    pub code: String,
    pub name: String,
    pub description: String,
    pub imports: String,
    pub distributed: bool,
    pub father: Option<ModelRef>,
    pub framework: Framework,
}

/// A configuration with its models and deployments (docs/contract.md §3.4).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Configuration {
    pub id: i32,
    pub name: String,
    pub description: String,
    pub ml_models: Vec<ModelRef>,
    pub deployments: Vec<DeploymentRef>,
}

/// A training result as nested in a deployment (docs/contract.md §3.6).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ResultSummary {
    pub id: i32,
    pub status: ResultStatus,
    pub model: ModelRef,
    #[serde(with = "drf")]
    #[schema(value_type = String, format = DateTime)]
    pub status_changed: NaiveDateTime,
}

/// A deployment (docs/contract.md §3.8): its settings in the reference's field order.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Deployment {
    pub id: i32,
    pub configuration: ConfigurationRef,
    pub results: Vec<ResultSummary>,
    #[serde(flatten)]
    pub distributed: DistributedSettings,
    #[serde(flatten)]
    pub incremental: IncrementalSettings,
    #[serde(flatten)]
    pub semi_supervised: SemiSupervisedSettings,
    #[serde(flatten)]
    pub fit: FitSettings,
    #[serde(with = "drf")]
    #[schema(value_type = String, format = DateTime)]
    pub time: NaiveDateTime,
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
    pub id: i32,
    pub status: ResultStatus,
    #[serde(with = "drf")]
    #[schema(value_type = String, format = DateTime)]
    pub status_changed: NaiveDateTime,
    pub deployment: DeploymentRef,
    pub model: ModelRef,
    #[schema(value_type = Object)]
    pub train_metrics: Option<JsonText>,
    #[schema(value_type = Object)]
    pub val_metrics: Option<JsonText>,
    #[schema(value_type = Object)]
    pub test_metrics: Option<JsonText>,
    #[schema(value_type = Object)]
    pub confusion_matrix: Option<JsonText>,
    pub training_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
}

/// A datasource announcement (docs/contract.md §3.12; no `id`, as in the reference).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Datasource {
    pub input_format: String,
    pub deployment: String,
    pub input_config: String,
    pub description: String,
    pub topic: String,
    pub validation_rate: Option<f64>,
    pub test_rate: Option<f64>,
    pub total_msg: Option<i64>,
    #[serde(with = "drf")]
    #[schema(value_type = String, format = DateTime)]
    pub time: NaiveDateTime,
}

/// An inference (docs/contract.md §3.14, without the write-only `token`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Inference {
    pub id: i32,
    pub model_result: Option<i32>,
    pub replicas: i32,
    pub input_format: InputFormat,
    pub input_config: String,
    pub input_topic: String,
    pub output_topic: String,
    #[serde(with = "drf")]
    #[schema(value_type = String, format = DateTime)]
    pub time: NaiveDateTime,
    pub status: InferenceStatus,
    #[serde(with = "drf")]
    #[schema(value_type = String, format = DateTime)]
    pub status_changed: NaiveDateTime,
    pub limit: Option<f64>,
    pub output_upper: String,
    pub external_host: Option<String>,
    pub input_kafka_broker: Option<String>,
    pub output_kafka_broker: Option<String>,
    pub upper_kafka_broker: Option<String>,
}

/// Suggested input settings for deploying an inference of a result (docs/contract.md §4.6).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct InferenceInfo {
    pub input_format: String,
    pub input_config: String,
}
