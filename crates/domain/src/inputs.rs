//! Request bodies with their validation rules (docs/contract.md §3; docs/decisions.md). Bodies are parsed with
//! [`parse`], which reports the path of a wrongly typed field, then checked with `validator`.
//! Unknown fields are ignored, as DRF does.

use serde::de::{DeserializeOwned, Deserializer};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use validator::{Validate, ValidationError, ValidationErrors};

use crate::enums::{Framework, InputFormat};
use crate::lenient::{no_id, not_blank, null_as_false, python_truthy};

/// Most items a list of a request body may hold (`ml_models`, `device_token`): more is a 400
/// naming the field, never a query with more variables than the database accepts (SQLite takes
/// 32 766). The OpenAPI document states it as `maxItems`.
pub const MAX_LIST_ITEMS: u64 = 1000;

/// Deserializes `value` into `T` and validates it; the error is a readable one-line message
/// (`name: ensure this field has no more than 30 characters`).
pub fn parse<T: DeserializeOwned + Validate>(value: Value) -> Result<T, String> {
    parse_by_field(value).map_err(|errors| {
        errors
            .into_iter()
            .map(|FieldError { field, message }| if field.is_empty() { message } else { format!("{field}: {message}") })
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// What is wrong with one field of a request (`field` is empty when the problem is the whole
/// request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name (its path for nested values, e.g. `kwargs.epochs`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// [`parse`] with the errors kept by field, for forms that show each next to its field. Every
/// missing or wrongly typed field is reported, as DRF does, not only the first: a field that fails
/// to deserialize is given a stand-in value and the body is read again (at most
/// [`MAX_FIELD_ERRORS`] times); validation then reports the other fields, sorted. A single error
/// reads as it always did (`missing field `code``, `name: Ensure this field has no more than 30
/// characters.`).
pub fn parse_by_field<T: DeserializeOwned + Validate>(value: Value) -> Result<T, Vec<FieldError>> {
    let mut value = value;
    let mut errors: Vec<FieldError> = Vec::new();
    // The top-level keys given a stand-in value: their validation errors would be about it.
    let mut stood_in: Vec<String> = Vec::new();
    for _ in 0..MAX_FIELD_ERRORS {
        let error = match deserialize::<T>(&value) {
            Ok(parsed) => {
                let mut invalid = parsed.validate().err().map(|e| by_field(&e)).unwrap_or_default();
                invalid.retain(|e| !stood_in.iter().any(|key| top_level(&e.field) == key));
                if errors.is_empty() && invalid.is_empty() {
                    return Ok(parsed);
                }
                errors.extend(invalid);
                return Err(errors);
            }
            Err(error) => error,
        };
        let key = error.key();
        errors.push(error.into_field_error());
        // A body that is wrong as a whole, or a field that keeps failing: nothing more to learn.
        let Some(key) = key.filter(|k| !stood_in.contains(k)) else { return Err(errors) };
        let Some(stand_in) = stand_in::<T>(&value, &key) else { return Err(errors) };
        if let Value::Object(fields) = &mut value {
            fields.insert(key.clone(), stand_in);
        }
        stood_in.push(key);
    }
    Err(errors)
}

/// Most fields one body is reported wrong for (each costs a reading of the body).
pub const MAX_FIELD_ERRORS: usize = 32;

/// A deserialization failure, with where it happened.
struct ReadError {
    /// The path (`name`, `kwargs.epochs`, `ml_models[0]`); empty for the body as a whole.
    path: String,
    message: String,
}

impl ReadError {
    /// The top-level key the failure is about: the path's first segment, or the field a `missing
    /// field` message names.
    fn key(&self) -> Option<String> {
        if self.path.is_empty() {
            let name = self.message.strip_prefix("missing field `")?.split('`').next()?;
            return Some(name.to_owned());
        }
        Some(top_level(&self.path).to_owned())
    }

    fn into_field_error(self) -> FieldError {
        FieldError { field: self.path, message: self.message }
    }
}

/// The first segment of a field path (`kwargs` of `kwargs.epochs`, `ml_models` of `ml_models[0]`).
fn top_level(path: &str) -> &str {
    path.split(['.', '[']).next().unwrap_or(path)
}

fn deserialize<T: DeserializeOwned>(value: &Value) -> Result<T, ReadError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        ReadError { path, message: e.into_inner().to_string() }
    })
}

/// A value for `key` with which `value` no longer fails on `key` (so the next reading finds the
/// next wrong field): the first of a few plain values, or a variant an "unknown variant" message
/// lists.
fn stand_in<T: DeserializeOwned>(value: &Value, key: &str) -> Option<Value> {
    let mut trial = value.clone();
    let mut candidates =
        vec![Value::from(1), Value::from("1"), Value::from(""), Value::Bool(false), Value::Array(vec![]), Value::Null];
    candidates.push(Value::Object(serde_json::Map::new()));
    let mut tried = 0;
    while tried < candidates.len() {
        let candidate = candidates[tried].clone();
        tried += 1;
        if let Value::Object(fields) = &mut trial {
            fields.insert(key.to_owned(), candidate.clone());
        }
        match deserialize::<T>(&trial) {
            Ok(_) => return Some(candidate),
            Err(e) if e.key().as_deref() != Some(key) => return Some(candidate),
            Err(e) => {
                // `unknown variant `x`, expected `tf` or `pth``: try the first variant named.
                if let Some(expected) = e.message.split_once("expected ").map(|(_, rest)| rest) {
                    if let Some(variant) = expected.split('`').nth(1) {
                        let variant = Value::from(variant);
                        if !candidates.contains(&variant) {
                            candidates.push(variant);
                        }
                    }
                }
            }
        }
    }
    None
}

/// Renders validation errors as `field: message; field: message`, fields sorted.
pub fn describe(errors: &ValidationErrors) -> String {
    by_field(errors).into_iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
}

fn by_field(errors: &ValidationErrors) -> Vec<FieldError> {
    let mut all: Vec<FieldError> = errors
        .field_errors()
        .iter()
        .flat_map(|(field, errs)| {
            errs.iter().map(move |e| FieldError {
                field: field.to_string(),
                message: e.message.as_ref().map(|m| m.to_string()).unwrap_or_else(|| e.code.to_string()),
            })
        })
        .collect();
    all.sort_by(|a, b| (&a.field, &a.message).cmp(&(&b.field, &b.message)));
    all
}

/// Accepts a field that is present (possibly `null`) as `Some(value)`; absent stays `None` via
/// `#[serde(default)]`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// An id given as a number, a numeric string, or an object with an `id` (what the web UI sends
/// for a model's `father`). `null` and `0` mean "none", as in the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRef(pub Option<i64>);

impl<'de> Deserialize<'de> for IdRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        id_of(&v).map(IdRef).map_err(serde::de::Error::custom)
    }
}

/// Reads an id from a JSON value: number, numeric string, `{"id": …}` or null.
pub fn id_of(v: &Value) -> Result<Option<i64>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .filter(|n| *n >= 0)
            .map(|n| if n == 0 { None } else { Some(n) })
            .ok_or_else(|| format!("{n} is not a valid id")),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(|n| if n == 0 { None } else { Some(n) })
            .ok_or_else(|| format!("\"{s}\" is not a valid id")),
        Value::Object(o) => match o.get("id") {
            None => Ok(None),
            Some(inner @ (Value::Object(_) | Value::Array(_) | Value::Bool(_))) => {
                Err(format!("{inner} is not a valid id"))
            }
            Some(inner) => id_of(inner),
        },
        other => Err(format!("{other} is not a valid id")),
    }
}

/// The document's schema of an [`IdRef`]: what [`id_of`] accepts — a non-negative integer, a
/// string of digits (or blank), an object whose `id` is one of those (the web UI sends the father
/// model itself), or `null`; `0`, blank and `null` mean none.
pub fn id_ref_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    let number = || {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Int64)))
            .minimum(Some(0))
    };
    let digits = || ObjectBuilder::new().schema_type(Type::String).pattern(Some(r"^\s*[0-9]*\s*$"));
    let inner = OneOfBuilder::new().item(number()).item(digits()).item(ObjectBuilder::new().schema_type(Type::Null));
    OneOfBuilder::new()
        .item(number())
        .item(digits())
        .item(ObjectBuilder::new().schema_type(Type::Object).property("id", inner))
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some("An id (`0` or `null`: none), a string of digits, or an object with such an `id`."))
        .into()
}

/// The document's schema of a datasource's `deployment`: a non-blank string, or a number (sent
/// as text).
pub fn deployment_ref_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).pattern(Some(r"\S")))
        .item(ObjectBuilder::new().schema_type(Type::Number))
        .description(Some("The deployment id, as text (a number is taken as its text)."))
        .into()
}

/// Body of `POST /models/` and `PUT /models/<id>` (docs/contract.md §3.2, §4.1).
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct ModelInput {
    /// Unique name, at most 30 characters.
    #[validate(
        length(max = 30, message = "Ensure this field has no more than 30 characters."),
        custom(function = "not_blank")
    )]
    #[schema(min_length = 1, max_length = 30, pattern = r"\S")]
    pub name: String,
    /// Model source code; must define `model`.
    #[validate(custom(function = "not_blank"))]
    #[schema(min_length = 1, pattern = r"\S")]
    pub code: String,
    /// `tf` or `pth`.
    pub framework: Framework,
    /// At most 100 characters.
    #[serde(default)]
    #[validate(length(max = 100, message = "Ensure this field has no more than 100 characters."))]
    #[schema(max_length = 100)]
    pub description: String,
    /// Import lines run before `code`.
    #[serde(default)]
    pub imports: String,
    /// Part of a distributed chain.
    #[serde(default, deserialize_with = "null_as_false")]
    #[schema(nullable = true)]
    pub distributed: bool,
    /// The upper model of a distributed model: an id, `{"id": …}` or null.
    #[serde(default = "no_id")]
    #[schema(schema_with = id_ref_schema)]
    pub father: IdRef,
}

/// Body of `PATCH /models/<id>`: every field optional; no executor check (as the reference).
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
pub struct ModelPatch {
    /// New unique name, at most 30 characters.
    #[validate(
        length(max = 30, message = "Ensure this field has no more than 30 characters."),
        custom(function = "not_blank")
    )]
    #[schema(min_length = 1, max_length = 30, pattern = r"\S")]
    pub name: Option<String>,
    /// New model source code.
    #[validate(custom(function = "not_blank"))]
    #[schema(min_length = 1, pattern = r"\S")]
    pub code: Option<String>,
    /// New framework: `tf` or `pth`.
    pub framework: Option<Framework>,
    /// New description, at most 100 characters.
    #[validate(length(max = 100, message = "Ensure this field has no more than 100 characters."))]
    #[schema(max_length = 100)]
    pub description: Option<String>,
    /// New import lines run before `code`.
    pub imports: Option<String>,
    /// Whether the model is part of a distributed chain.
    pub distributed: Option<bool>,
    /// The new upper model of a distributed model: an id, `{"id": …}` or null (keeps the current one).
    #[schema(schema_with = id_ref_schema)]
    pub father: Option<IdRef>,
}

/// Body of `POST /configurations/` and `PUT /configurations/<id>` (docs/contract.md §4.2).
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct ConfigurationInput {
    /// Unique name, at most 30 characters.
    #[validate(
        length(max = 30, message = "Ensure this field has no more than 30 characters."),
        custom(function = "not_blank")
    )]
    #[schema(min_length = 1, max_length = 30, pattern = r"\S")]
    pub name: String,
    /// At most 100 characters.
    #[serde(default)]
    #[validate(length(max = 100, message = "Ensure this field has no more than 100 characters."))]
    #[schema(max_length = 100)]
    pub description: String,
    /// Model ids; a distributed root pulls in its whole chain. At most 1000.
    #[validate(length(max = MAX_LIST_ITEMS, message = "Ensure this field has no more than 1000 elements."))]
    #[schema(max_items = 1000)]
    pub ml_models: Vec<i64>,
}

/// Body of `PATCH /configurations/<id>`: an absent `ml_models` keeps the models (decisions.md item 21).
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
pub struct ConfigurationPatch {
    /// New unique name, at most 30 characters.
    #[validate(
        length(max = 30, message = "Ensure this field has no more than 30 characters."),
        custom(function = "not_blank")
    )]
    #[schema(min_length = 1, max_length = 30, pattern = r"\S")]
    pub name: Option<String>,
    /// New description, at most 100 characters.
    #[validate(length(max = 100, message = "Ensure this field has no more than 100 characters."))]
    #[schema(max_length = 100)]
    pub description: Option<String>,
    /// Model ids that replace the configuration's models; absent keeps them. At most 1000.
    #[validate(length(max = MAX_LIST_ITEMS, message = "Ensure this field has no more than 1000 elements."))]
    #[schema(max_items = 1000)]
    pub ml_models: Option<Vec<i64>>,
}

fn check_training_time(v: &Value) -> Result<(), ValidationError> {
    match number_of(v) {
        Ok(_) => Ok(()),
        Err(m) => Err(ValidationError::new("decimal").with_message(m.into())),
    }
}

/// Reads a decimal given as a number, a numeric string or null (DRF `DecimalField`).
pub fn number_of(v: &Value) -> Result<Option<f64>, String> {
    let n = match v {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    let n = n.filter(|n| n.is_finite()).ok_or_else(|| "A valid number is required.".to_owned())?;
    crate::decimal::check(n, 14, 4)?;
    Ok(Some(n))
}

/// The JSON document in the `data` field of `POST /results/<id>` (docs/contract.md §3.9). A key that is
/// present replaces the stored value (also with `null`); an absent key keeps it.
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
pub struct ResultUpload {
    /// Training metrics, normally `{metric: [per-epoch values]}`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Object)]
    pub train_metrics: Option<Value>,
    /// Validation metrics, in the shape of `train_metrics`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Object)]
    pub val_metrics: Option<Value>,
    /// Test metrics, e.g. `{metric: [value]}`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Object)]
    pub test_metrics: Option<Value>,
    /// The confusion matrix, a list of lists of integers.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Object)]
    pub confusion_matrix: Option<Value>,
    /// Seconds, at most 4 decimal places; a number or a numeric string.
    #[serde(default, deserialize_with = "present")]
    #[validate(custom(function = "check_training_time"))]
    #[schema(value_type = Option<f64>)]
    pub training_time: Option<Value>,
    /// When true the upload creates a new result (indefinite incremental training).
    #[serde(default, deserialize_with = "python_truthy")]
    pub indefinite: bool,
}

/// The JSON document in the `data` field of `POST /results_metrics/<id>` (docs/contract.md §3.10).
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
pub struct MetricsUpdate {
    /// Training metrics so far, normally `{metric: [per-epoch values]}`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Object)]
    pub train_metrics: Option<Value>,
    /// Validation metrics so far, in the shape of `train_metrics`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Object)]
    pub val_metrics: Option<Value>,
}

fn rate(v: f64) -> Result<(), ValidationError> {
    crate::decimal::check(v, 7, 6).map_err(|m| ValidationError::new("decimal").with_message(m.into()))
}

fn datetime_text(s: &str) -> Result<(), ValidationError> {
    match crate::datetime::parse(s) {
        Some(_) => Ok(()),
        None => Err(ValidationError::new("datetime").with_message(
            "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].".into(),
        )),
    }
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!("invalid type: {other}, expected a string"))),
    }
}

/// A datasource announcement: body of `POST /datasources/` (the control logger) and
/// `POST /datasources/kafka` (docs/contract.md §3.12).
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct DatasourceInput {
    /// Format of the stream's messages; `RAW` when absent.
    #[serde(default)]
    pub input_format: InputFormat,
    /// The deployment id, as a string.
    #[serde(deserialize_with = "string_or_number")]
    #[validate(custom(function = "not_blank"))]
    #[schema(schema_with = deployment_ref_schema)]
    pub deployment: String,
    /// A JSON document, as text.
    #[serde(default)]
    pub input_config: String,
    /// Free-text description of the stream.
    #[serde(default)]
    pub description: String,
    /// `topic:partition:offset[:length][,…]`.
    #[validate(custom(function = "not_blank"))]
    #[schema(min_length = 1, pattern = r"\S")]
    pub topic: String,
    /// Fraction of the messages used for validation (at most 7 digits, 6 of them decimals).
    #[serde(default)]
    #[validate(custom(function = "rate"))]
    #[schema(minimum = -9.999999, maximum = 9.999999, multiple_of = 0.000001)]
    pub validation_rate: Option<f64>,
    /// Fraction of the messages used for testing (at most 7 digits, 6 of them decimals).
    #[serde(default)]
    #[validate(custom(function = "rate"))]
    #[schema(minimum = -9.999999, maximum = 9.999999, multiple_of = 0.000001)]
    pub test_rate: Option<f64>,
    /// Number of messages in the stream.
    #[serde(default, deserialize_with = "crate::lenient::some_whole")]
    pub total_msg: Option<i64>,
    /// ISO 8601; naive values are UTC.
    #[validate(custom(function = "datetime_text"))]
    #[schema(format = DateTime, example = "2024-05-01T10:00:00Z")]
    pub time: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn model_input_rules() {
        let m: ModelInput = parse(json!({"name": "a", "code": "model=1", "framework": "tf", "extra": 1})).unwrap();
        assert_eq!(m.father, IdRef(None));
        assert!(!m.distributed);
        let m: ModelInput =
            parse(json!({"name": "a", "code": "c", "framework": "tf", "father": {"id": 3, "name": "f"}})).unwrap();
        assert_eq!(m.father, IdRef(Some(3)));
        let e = parse::<ModelInput>(json!({"name": "a", "code": "c", "framework": "keras"})).unwrap_err();
        assert!(e.starts_with("framework: unknown variant `keras`"), "{e}");
        let e = parse::<ModelInput>(json!({"name": "a", "framework": "tf"})).unwrap_err();
        assert_eq!(e, "missing field `code`");
        let e = parse::<ModelInput>(json!({"name": "x".repeat(31), "code": "c", "framework": "tf"})).unwrap_err();
        assert_eq!(e, "name: Ensure this field has no more than 30 characters.");
        let e =
            parse::<ModelInput>(json!({"name": "a", "code": "c", "framework": "tf", "description": null})).unwrap_err();
        assert!(e.starts_with("description: invalid type: null"), "{e}");
    }

    #[test]
    fn lists_are_capped() {
        let ids = |n: i64| (1..=n).collect::<Vec<_>>();
        let c: ConfigurationInput = parse(json!({"name": "c", "ml_models": ids(1000)})).unwrap();
        assert_eq!(c.ml_models.len() as u64, MAX_LIST_ITEMS);
        let e = parse::<ConfigurationInput>(json!({"name": "c", "ml_models": ids(1001)})).unwrap_err();
        assert_eq!(e, "ml_models: Ensure this field has no more than 1000 elements.");
        let e = parse::<ConfigurationPatch>(json!({"ml_models": ids(40_000)})).unwrap_err();
        assert_eq!(e, "ml_models: Ensure this field has no more than 1000 elements.");
        assert!(parse::<ConfigurationPatch>(json!({})).is_ok());
        let tokens: Vec<String> = (0..1001).map(|i| format!("{i:08X}")).collect();
        let e = parse::<crate::iot::IotDeployInput>(json!({"device_token": tokens, "code": "x"})).unwrap_err();
        assert_eq!(e, "device_token: Ensure this field has no more than 1000 elements.");
    }

    #[test]
    fn every_missing_or_invalid_field_is_named_at_once() {
        let e = parse::<ModelInput>(json!({})).unwrap_err();
        assert_eq!(e, "missing field `name`; missing field `code`; missing field `framework`");
        let e =
            parse::<ModelInput>(json!({"name": "x".repeat(31), "framework": "keras", "description": 3})).unwrap_err();
        assert_eq!(
            e,
            "framework: unknown variant `keras`, expected `tf` or `pth`; description: invalid type: integer `3`, \
             expected a string; missing field `code`; name: Ensure this field has no more than 30 characters."
        );
        // By field, for forms.
        let errors = parse_by_field::<ConfigurationInput>(json!({"name": " ", "ml_models": "x"})).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["ml_models", "name"], "{errors:?}");
        // Nested paths keep their place; deployment bodies with their lenient fields.
        let e = parse::<ConfigurationInput>(json!({"name": "c", "ml_models": [1, "two"]})).unwrap_err();
        assert_eq!(e, "ml_models[1]: invalid type: string \"two\", expected i64");
        let e = parse::<crate::deploy::DeploymentInput>(json!({"batch": "many"})).unwrap_err();
        assert!(e.contains("missing field `configuration`") && e.contains("missing field `gpumem`"), "{e}");
        assert!(e.starts_with("batch: "), "{e}");
    }

    #[test]
    fn result_upload_distinguishes_null_from_absent() {
        let u: ResultUpload = parse(json!({"test_metrics": null, "training_time": "3.5"})).unwrap();
        assert_eq!(u.test_metrics, Some(Value::Null));
        assert_eq!(u.train_metrics, None);
        assert_eq!(number_of(u.training_time.as_ref().unwrap()).unwrap(), Some(3.5));
        assert!(parse::<ResultUpload>(json!({"training_time": 1.23456})).is_err());
        assert!(parse::<ResultUpload>(json!({"training_time": "abc"})).is_err());
    }

    #[test]
    fn datasource_rules() {
        let d: DatasourceInput =
            parse(json!({"deployment": 7, "topic": "t:0:0:10", "time": "2024-05-01T10:00:00"})).unwrap();
        assert_eq!(d.deployment, "7");
        assert_eq!(d.input_format, InputFormat::Raw);
        let e = parse::<DatasourceInput>(json!({"deployment": "1", "topic": "t", "time": "x"})).unwrap_err();
        assert!(e.starts_with("time: Datetime has wrong format"), "{e}");
        let e = parse::<DatasourceInput>(
            json!({"deployment": "1", "topic": "t", "time": "2024-05-01T10:00:00", "validation_rate": 0.33333333}),
        )
        .unwrap_err();
        assert_eq!(e, "validation_rate: Ensure that there are no more than 7 digits in total.");
    }
}
