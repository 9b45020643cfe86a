//! Values as the reference back-end (Python) wrote them into Kubernetes manifests: `str()` of
//! JSON values, booleans `True` / `False`, `None`, and decimals as floats or quantized
//! `Decimal`s. The training images `eval` several of these texts, so the spelling matters.

use std::fmt::Write as _;

use kafkaml_domain::rules::{python_float_repr, write_python_style, PyStyle};
use serde_json::Value;

/// Python's `repr()` of a JSON value: `{'x': [1, 2.5, True, None, 'a']}`.
pub fn python_repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(&mut out, value);
    out
}

/// Python's `str()` of a JSON value: a string as it is, anything else as [`python_repr`].
pub fn python_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => python_repr(other),
    }
}

/// `True` / `False`.
pub fn python_bool(value: bool) -> &'static str {
    if value {
        "True"
    } else {
        "False"
    }
}

/// `str()` of an optional integer: the number or `None`.
pub fn python_int(value: Option<i32>) -> String {
    value.map_or_else(|| "None".to_owned(), |v| v.to_string())
}

/// A decimal setting of a deployment or inference, as Python's `str()` prints it.
///
/// The reference read these from the object it had just saved: a value the client left out is
/// the model's float default (`0.001`), a value the client sent went through DRF's
/// `DecimalField` and is a `Decimal` quantized to the column's places (`0.010000`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PyDecimal {
    /// `None` (a nullable column set to null).
    None,
    /// A float default, printed as Python's `repr(float)`: `0.001`, `0.9`.
    Float(f64),
    /// A quantized `Decimal`, printed with exactly `places` decimals: `0.010000`.
    Decimal {
        /// The value.
        value: f64,
        /// Decimal places of the column.
        places: usize,
    },
}

impl PyDecimal {
    /// The text Python's `str()` gives.
    pub fn to_python_str(self) -> String {
        match self {
            PyDecimal::None => "None".to_owned(),
            PyDecimal::Float(v) => python_float_repr(v),
            PyDecimal::Decimal { value, places } => format!("{value:.places$}"),
        }
    }
}

impl From<Option<kafkaml_domain::settings::Decimal>> for PyDecimal {
    /// A value the client gave is a `Decimal` of the columns' six places; a default a float.
    fn from(d: Option<kafkaml_domain::settings::Decimal>) -> Self {
        match d {
            None => PyDecimal::None,
            Some(d) if d.given => PyDecimal::Decimal { value: d.value, places: 6 },
            Some(d) => PyDecimal::Float(d.value),
        }
    }
}

/// A number as a Kubernetes quantity text: integers without a fraction (`2`), other values as
/// Python writes floats (`0.5`).
pub fn quantity_text(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        python_float_repr(value)
    }
}

/// Python's `repr()` spellings.
const REPR: PyStyle = PyStyle { null: "None", bools: ["True", "False"], string: write_str_repr };

fn write_repr(out: &mut String, value: &Value) {
    write_python_style(out, value, &REPR);
}

/// Python's `repr(str)`: single quotes unless the text holds `'` and no `"`; `\\`, `\n`, `\r`,
/// `\t` and the quote escaped; other control characters as `\xNN`.
fn write_str_repr(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if ('\u{80}'..='\u{a0}').contains(&c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn repr_of_containers() {
        assert_eq!(python_repr(&json!({"x": [1, 2]})), "{'x': [1, 2]}");
        assert_eq!(python_repr(&json!({})), "{}");
        assert_eq!(python_repr(&json!([])), "[]");
        assert_eq!(python_repr(&json!([true, false, null, 0.5, "a"])), "[True, False, None, 0.5, 'a']");
        assert_eq!(python_repr(&json!(["15", "14", "13"])), "['15', '14', '13']");
        assert_eq!(python_repr(&json!({"a": {"b": 2.0}})), "{'a': {'b': 2.0}}");
    }

    #[test]
    fn repr_of_strings() {
        assert_eq!(python_repr(&json!("it's")), "\"it's\"");
        assert_eq!(python_repr(&json!("say \"hi\"")), "'say \"hi\"'");
        assert_eq!(python_repr(&json!("both ' and \"")), "'both \\' and \"'");
        assert_eq!(python_repr(&json!("a\\b\nc\td\u{1}")), "'a\\\\b\\nc\\td\\x01'");
        assert_eq!(python_repr(&json!("café")), "'café'");
    }

    #[test]
    fn str_keeps_strings_as_they_are() {
        assert_eq!(python_str(&json!("{}")), "{}");
        assert_eq!(python_str(&json!({"x": [1, 2]})), "{'x': [1, 2]}");
        assert_eq!(python_str(&json!(null)), "None");
        assert_eq!(python_str(&json!(5)), "5");
    }

    #[test]
    fn scalars() {
        assert_eq!(python_bool(true), "True");
        assert_eq!(python_bool(false), "False");
        assert_eq!(python_int(Some(5)), "5");
        assert_eq!(python_int(None), "None");
    }

    #[test]
    fn decimals() {
        assert_eq!(PyDecimal::Float(0.001).to_python_str(), "0.001");
        assert_eq!(PyDecimal::Float(0.9).to_python_str(), "0.9");
        assert_eq!(PyDecimal::Decimal { value: 0.01, places: 6 }.to_python_str(), "0.010000");
        assert_eq!(PyDecimal::Decimal { value: 0.8, places: 6 }.to_python_str(), "0.800000");
        assert_eq!(PyDecimal::Decimal { value: 0.5, places: 10 }.to_python_str(), "0.5000000000");
        assert_eq!(PyDecimal::None.to_python_str(), "None");
    }

    #[test]
    fn quantities() {
        assert_eq!(quantity_text(2.0), "2");
        assert_eq!(quantity_text(1.0), "1");
        assert_eq!(quantity_text(0.5), "0.5");
        assert_eq!(quantity_text(2.25), "2.25");
    }
}
