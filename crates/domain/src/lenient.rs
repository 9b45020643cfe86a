//! Lenient readers of request fields, shared by every request type: the reference's clients
//! (the web UI's text inputs, DRF's fields, the Python pods) send numbers as strings, `null` for
//! "nothing", and booleans in several spellings. One function per behaviour, named after it, for
//! `#[serde(deserialize_with = "…")]` and `#[validate(custom(function = "…"))]`.

use serde::de::{Deserializer, Error as _};
use serde::Deserialize;
use serde_json::Value;
use validator::ValidationError;

use crate::inputs::IdRef;

fn number_from(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite())
}

/// A JSON number that is a whole number (`2` or `2.0`, as JSON Schema's `integer`), as an `i64`.
pub(crate) fn whole(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64))
}

fn int_from(v: &Value) -> Result<i32, String> {
    let n = match v {
        Value::Number(n) => whole(n),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    let n = n.ok_or_else(|| "A valid integer is required.".to_owned())?;
    i32::try_from(n).map_err(|_| "Ensure this value is a 32-bit integer.".to_owned())
}

/// A required number (JSON number or numeric string).
pub(crate) fn number<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = Value::deserialize(d)?;
    number_from(&v).ok_or_else(|| D::Error::custom("A valid number is required."))
}

/// An integer (JSON number or numeric string); `null` is refused.
pub(crate) fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    int_from(&Value::deserialize(d)?).map_err(D::Error::custom)
}

/// A present decimal of a non-nullable column: `null` is refused.
pub(crate) fn some_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    number(d).map(Some)
}

/// A decimal of a nullable column: absent → `None`, `null` → `Some(None)`.
pub(crate) fn nullable_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<f64>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Some(None)),
        v => number_from(&v).map(|n| Some(Some(n))).ok_or_else(|| D::Error::custom("A valid number is required.")),
    }
}

/// An integer of a nullable column: absent → `None`, `null` → `Some(None)`.
pub(crate) fn nullable_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i32>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Some(None)),
        v => int_from(&v).map(|n| Some(Some(n))).map_err(D::Error::custom),
    }
}

/// A boolean of a nullable column: absent → `None`, `null` → `Some(None)`.
pub(crate) fn nullable_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<bool>>, D::Error> {
    Option::<bool>::deserialize(d).map(Some)
}

/// A boolean; `null` reads as `false`.
pub(crate) fn null_as_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

/// A text; `null` reads as `""`.
pub(crate) fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// An optional whole number (`2` or `2.0`, as JSON Schema's `integer`); `null` is none.
pub(crate) fn some_whole<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::de::{Error, Unexpected};
    let v = Option::<Value>::deserialize(d)?;
    let unexpected = match &v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => match whole(n) {
            Some(n) => return Ok(Some(n)),
            None => Unexpected::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Some(Value::String(s)) => Unexpected::Str(s),
        Some(Value::Bool(b)) => Unexpected::Bool(*b),
        Some(Value::Array(_)) => Unexpected::Seq,
        Some(Value::Object(_)) => Unexpected::Map,
    };
    Err(D::Error::invalid_type(unexpected, &"i64"))
}

/// A present text of a non-nullable column: `null` is refused.
pub(crate) fn some_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

pub(crate) fn one() -> i32 {
    1
}

pub(crate) fn no_id() -> IdRef {
    IdRef(None)
}

/// "This field may not be blank." for text that is empty once trimmed.
pub(crate) fn not_blank(s: &str) -> Result<(), ValidationError> {
    if s.trim().is_empty() {
        return Err(ValidationError::new("blank").with_message("This field may not be blank.".into()));
    }
    Ok(())
}

/// A boolean as Python's `bool()` reads a JSON value: `null`, `false`, `0`, `""`, `"false"`,
/// `"False"`, `"0"`, `[]` and `{}` are false.
pub(crate) fn python_truthy<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => false,
        Value::Bool(b) => b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty() && s != "false" && s != "False" && s != "0",
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    })
}

/// A switch as a form sends it: `true`, a non-zero number, or `"true"`, `"True"`, `"1"`, `"on"`;
/// anything else is off.
pub(crate) fn switch_on<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => matches!(s.trim(), "true" | "True" | "1" | "on"),
        _ => false,
    })
}
