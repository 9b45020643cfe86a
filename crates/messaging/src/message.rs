//! The control message of a datasource (docs/contract.md §4.7, §5.2.1): its key and its value.

use kafkaml_domain::rules::python_json_dumps;
use serde_json::{Map, Value};

/// A message for the control topic: the deployment it is meant for (the key) and the datasource
/// announcement (the value, JSON text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlMessage {
    /// The deployment id the key encodes.
    pub deployment: u64,
    /// The key: [`deployment_key`] of `deployment`.
    pub key: Vec<u8>,
    /// The value: UTF-8 JSON text, formatted as Python's `json.dumps`.
    pub value: String,
}

/// Why a request cannot become a control message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// `input_config` is missing.
    #[error("input_config: this field is required (JSON text of an object).")]
    MissingInputConfig,
    /// `input_config` is text that is not JSON.
    #[error("input_config: not valid JSON ({0}).")]
    InputConfigNotJson(String),
    /// `input_config` is JSON but not an object.
    #[error("input_config: must be a JSON object, not {0}.")]
    InputConfigNotObject(&'static str),
}

/// The key of a control message: the deployment id as an unsigned big-endian integer in as few
/// bytes as it needs, at least one (`0..=255` → 1 byte, `256..=65535` → 2 bytes, …). Every consumer
/// of the control topic decodes keys with `int.from_bytes(key, "big")`, so ids above 255 work too
/// (the reference's `bytes([id])` stops at 255, docs/contract.md §8 item 19).
///
/// ```
/// use kafkaml_messaging::deployment_key;
/// assert_eq!(deployment_key(7), vec![7]);
/// assert_eq!(deployment_key(300), vec![1, 44]);
/// ```
pub fn deployment_key(id: u64) -> Vec<u8> {
    let bytes = id.to_be_bytes();
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len() - 1);
    bytes[first..].to_vec()
}

/// Decodes a key as the control topic's consumers do (`int.from_bytes(key, "big")`); `None` when it
/// is empty or longer than 8 bytes.
pub fn decode_deployment_key(key: &[u8]) -> Option<u64> {
    if key.is_empty() || key.len() > 8 {
        return None;
    }
    Some(key.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl ControlMessage {
    /// Builds the message `POST /datasources/kafka` publishes for `deployment` from its (already
    /// validated) request body: the body minus `deployment` and `time`, with `input_config` parsed
    /// from JSON text into an object in its place; every other key, unknown ones included, is kept
    /// in request order. An `input_config` that already is an object is taken as it is.
    ///
    /// ```
    /// use kafkaml_messaging::ControlMessage;
    /// use serde_json::json;
    ///
    /// let body = json!({"input_format": "RAW", "deployment": "1",
    ///     "input_config": "{\"data_type\": \"uint8\"}", "topic": "automl:0:0:10", "time": "2024-05-01T10:00:00Z"});
    /// let msg = ControlMessage::from_request(1, body.as_object().unwrap()).unwrap();
    /// assert_eq!(msg.key, vec![1]);
    /// assert_eq!(msg.value, r#"{"input_format": "RAW", "input_config": {"data_type": "uint8"}, "topic": "automl:0:0:10"}"#);
    /// ```
    pub fn from_request(deployment: u64, body: &Map<String, Value>) -> Result<Self, MessageError> {
        let mut value = Map::with_capacity(body.len());
        let mut has_config = false;
        for (k, v) in body {
            match k.as_str() {
                "deployment" | "time" => {}
                "input_config" => {
                    has_config = true;
                    let parsed = match v {
                        Value::String(text) => serde_json::from_str::<Value>(text)
                            .map_err(|e| MessageError::InputConfigNotJson(e.to_string()))?,
                        other => other.clone(),
                    };
                    if !parsed.is_object() {
                        return Err(MessageError::InputConfigNotObject(kind(&parsed)));
                    }
                    value.insert(k.clone(), parsed);
                }
                _ => {
                    value.insert(k.clone(), v.clone());
                }
            }
        }
        if !has_config {
            return Err(MessageError::MissingInputConfig);
        }
        Ok(ControlMessage {
            deployment,
            key: deployment_key(deployment),
            value: python_json_dumps(&Value::Object(value)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_minimal_big_endian() {
        assert_eq!(deployment_key(0), vec![0]);
        assert_eq!(deployment_key(1), vec![1]);
        assert_eq!(deployment_key(255), vec![255]);
        assert_eq!(deployment_key(256), vec![1, 0]);
        assert_eq!(deployment_key(300), vec![1, 44]);
        assert_eq!(deployment_key(65_535), vec![255, 255]);
        assert_eq!(deployment_key(65_536), vec![1, 0, 0]);
        assert_eq!(deployment_key(i32::MAX as u64), vec![0x7f, 0xff, 0xff, 0xff]);
        assert_eq!(deployment_key(u64::MAX), vec![255; 8]);
        for id in [0, 7, 255, 256, 300, 70_000, 16_777_216, u64::MAX] {
            assert_eq!(decode_deployment_key(&deployment_key(id)), Some(id));
        }
        assert_eq!(decode_deployment_key(&[]), None);
        assert_eq!(decode_deployment_key(&[0; 9]), None);
    }

    #[test]
    fn value_is_the_request_minus_deployment_and_time() {
        // The contract's verified example (§4.7), in the order the web UI sends a datasource row.
        let body = json!({
            "input_format": "RAW", "deployment": "1",
            "input_config": "{\"data_type\": \"uint8\", \"label_type\": \"uint8\", \"data_reshape\": \"28 28\", \"label_reshape\": \"\"}",
            "description": "Mnist", "topic": "automl:0:0:70000", "validation_rate": 0.1, "test_rate": 0.1,
            "total_msg": 70000, "time": "2024-05-01T10:00:00Z"
        });
        let msg = ControlMessage::from_request(1, body.as_object().unwrap()).unwrap();
        assert_eq!(msg.key, vec![1]);
        assert_eq!(
            msg.value,
            r#"{"input_format": "RAW", "input_config": {"data_type": "uint8", "label_type": "uint8", "data_reshape": "28 28", "label_reshape": ""}, "description": "Mnist", "topic": "automl:0:0:70000", "validation_rate": 0.1, "test_rate": 0.1, "total_msg": 70000}"#
        );
    }

    #[test]
    fn unknown_keys_are_kept_in_request_order() {
        let body = json!({
            "time": "2024-05-01T10:00:00", "unsupervised_topic": null, "topic": "t",
            "input_config": {"data_scheme": "é"}, "deployment": 300, "dataset_restrictions": {}, "incremental": false,
            "validation_rate": 2.0
        });
        let msg = ControlMessage::from_request(300, body.as_object().unwrap()).unwrap();
        assert_eq!(msg.key, vec![1, 44]);
        assert_eq!(
            msg.value,
            r#"{"unsupervised_topic": null, "topic": "t", "input_config": {"data_scheme": "\u00e9"}, "dataset_restrictions": {}, "incremental": false, "validation_rate": 2.0}"#
        );
    }

    #[test]
    fn input_config_must_be_json_text_of_an_object() {
        let msg =
            |v: Value| ControlMessage::from_request(1, json!({"topic": "t", "input_config": v}).as_object().unwrap());
        assert!(matches!(msg(json!("{nope")), Err(MessageError::InputConfigNotJson(_))));
        assert!(matches!(msg(json!("")), Err(MessageError::InputConfigNotJson(_))));
        assert_eq!(msg(json!("[1, 2]")), Err(MessageError::InputConfigNotObject("an array")));
        assert_eq!(msg(json!(3)), Err(MessageError::InputConfigNotObject("a number")));
        assert_eq!(
            ControlMessage::from_request(1, json!({"topic": "t"}).as_object().unwrap()),
            Err(MessageError::MissingInputConfig)
        );
        assert_eq!(
            MessageError::InputConfigNotJson("EOF while parsing a value at line 1 column 0".into()).to_string(),
            "input_config: not valid JSON (EOF while parsing a value at line 1 column 0)."
        );
    }
}
