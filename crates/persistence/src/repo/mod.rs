//! Repositories: one module per table family. Every function takes `&mut DbConnection`; list
//! queries use a fixed number of statements whatever the number of rows.

pub mod audit;
pub mod configurations;
pub mod counts;
pub mod datasources;
pub mod deployments;
pub mod inferences;
pub mod iot_devices;
pub mod models;
pub mod results;
pub mod sessions;
pub mod tokens;
pub mod users;

use serde_json::Value;

/// Stores a JSON value as text; JSON `null` becomes SQL `NULL`.
pub(crate) fn json_to_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Reads a JSON text column back; text that is not JSON is returned as a JSON string.
pub(crate) fn text_to_json(t: Option<String>) -> Option<Value> {
    t.map(|t| serde_json::from_str(&t).unwrap_or(Value::String(t)))
}

/// Reads a JSON text column back without parsing it into a tree.
pub(crate) fn text_to_raw(t: Option<String>) -> Option<kafkaml_domain::outputs::JsonText> {
    t.map(kafkaml_domain::outputs::JsonText::from_stored)
}

/// Narrows an id from the API (`i64`) to the column type; ids outside the range do not exist.
pub fn narrow_id(id: i64) -> Option<i32> {
    i32::try_from(id).ok()
}
