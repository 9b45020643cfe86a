//! JSON text formatted exactly as Python's `json.dumps(value)` with its default arguments.
//!
//! The reference back-end hands JSON produced by `json.dumps` to its clients in several places
//! (the `KWARGS_FIT` / `KWARGS_VAL` environment of training Jobs, text bodies such as
//! `/frameworksInConfiguration/<id>`), and some consumers compare or display that text as is.
//! [`python_json_dumps`] reproduces that formatting:
//!
//! * separators `", "` between items and `": "` between a key and its value
//!   (`{"epochs": 5, "shuffle": true}`, `[1, 2]`, `{}`, `[]`);
//! * integers without a fraction (`5`), floats as Python's `repr` writes them
//!   (`0.1`, `2.0`, `0.0001`, `1e-05`, `1e+16`);
//! * `ensure_ascii=True`: every character outside printable ASCII is escaped as `\uXXXX`
//!   (lowercase hex, UTF-16 surrogate pairs above U+FFFF); `"`, `\`, `\n`, `\r`, `\t`,
//!   `\b` and `\f` use their short escapes.

use serde_json::Value;
use std::fmt::Write as _;

/// Renders `value` as Python's `json.dumps(value)` would (default arguments), keeping the
/// stored key order of objects.
///
/// ```
/// use kafkaml_domain::rules::python_json_dumps;
/// use serde_json::json;
///
/// let v = json!({"epochs": 2, "shuffle": true, "validation_split": 0.1, "x": "a"});
/// assert_eq!(
///     python_json_dumps(&v),
///     r#"{"epochs": 2, "shuffle": true, "validation_split": 0.1, "x": "a"}"#
/// );
/// ```
pub fn python_json_dumps(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

/// Formats a finite `f64` as Python's `repr(float)` does (shortest round-trip digits; fixed
/// notation when the decimal exponent lies in `-4 < exp <= 16`, scientific notation otherwise).
///
/// Non-finite values (which JSON cannot carry) are written as Python's `json.dumps` writes them:
/// `NaN`, `Infinity`, `-Infinity`.
pub fn python_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    // Rust's `{:e}` yields the shortest round-trip digits, e.g. `1.2345e3`, `1e-7`, `-0e0`.
    let sci = format!("{x:e}");
    let (negative, sci) = match sci.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, sci.as_str()),
    };
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    // Position of the decimal point relative to the start of `digits` (value = 0.DIGITS × 10^decpt).
    let decpt = exponent + 1;

    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    if decpt > -4 && decpt <= 16 {
        if decpt <= 0 {
            out.push_str("0.");
            for _ in 0..(-decpt) {
                out.push('0');
            }
            out.push_str(&digits);
        } else {
            // `decpt` is in 1..=16 here.
            let point = usize::try_from(decpt).unwrap_or(0);
            if point >= digits.len() {
                out.push_str(&digits);
                for _ in digits.len()..point {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exponent < 0 { '-' } else { '+' });
        let _ = write!(out, "{:02}", exponent.unsigned_abs());
    }
    out
}

/// How a Python-style writer spells what differs between `json.dumps` and `repr()`: `null` /
/// `None`, `true` / `True`, and string quoting. Numbers and containers are written alike.
#[derive(Clone, Copy)]
pub struct PyStyle {
    /// The spelling of JSON `null`.
    pub null: &'static str,
    /// The spellings of `true` and `false`.
    pub bools: [&'static str; 2],
    /// Writes a string (also object keys).
    pub string: fn(&mut String, &str),
}

/// `json.dumps` (with its default `ensure_ascii`).
const JSON_DUMPS: PyStyle = PyStyle { null: "null", bools: ["true", "false"], string: write_string };

fn write_value(out: &mut String, value: &Value) {
    write_python_style(out, value, &JSON_DUMPS);
}

/// Writes `value` with Python's separators (`", "`, `": "`), keys in stored order, floats as
/// [`python_float_repr`], and the scalar spellings of `style`.
pub fn write_python_style(out: &mut String, value: &Value, style: &PyStyle) {
    match value {
        Value::Null => out.push_str(style.null),
        Value::Bool(b) => out.push_str(style.bools[usize::from(!*b)]),
        Value::Number(n) => {
            if n.is_i64() || n.is_u64() {
                out.push_str(&n.to_string());
            } else {
                match n.as_f64() {
                    Some(f) => out.push_str(&python_float_repr(f)),
                    None => out.push_str(&n.to_string()),
                }
            }
        }
        Value::String(s) => (style.string)(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_python_style(out, item, style);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                (style.string)(out, key);
                out.push_str(": ");
                write_python_style(out, item, style);
            }
            out.push('}');
        }
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// Parses JSON text as Python's `json.dumps` writes it: non-finite floats are spelled `NaN`,
/// `Infinity` and `-Infinity` (a diverged loss), which JSON has no words for. They are read as
/// `null`, so the upload of a diverged training is stored rather than refused (the training pods
/// retry a refused upload and then lose the model). Anything else that is not JSON stays an error.
pub fn parse_python_json(text: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice(text).or_else(|first| {
        let cleaned = non_finite_as_null(text).ok_or(first)?;
        serde_json::from_slice(&cleaned)
    })
}

/// `text` with `NaN`, `Infinity` and `-Infinity` outside strings replaced by `null`; `None` when
/// there are none.
fn non_finite_as_null(text: &[u8]) -> Option<Vec<u8>> {
    let mut replaced = false;
    let out = rewrite_outside_strings(text, |rest, _| {
        match [&b"NaN"[..], b"Infinity", b"-Infinity"].into_iter().find(|w| rest.starts_with(w)) {
            Some(word) => {
                replaced = true;
                Outside::Replace(word.len(), b"null")
            }
            None => Outside::Keep,
        }
    })?;
    replaced.then_some(out)
}

/// `text` without the whitespace outside JSON strings, which is insignificant in valid JSON
/// (`json.dumps` and PostgreSQL's `jsonb` write `{"loss": [0.5, 0.4]}`); strings, escapes
/// included, are copied as they are. `None` when whitespace separates two parts of a word (`1 2`,
/// `tru e`): such text is not JSON, and removing the space would make it so.
pub(crate) fn without_insignificant_whitespace(text: &str) -> Option<std::borrow::Cow<'_, str>> {
    use std::borrow::Cow;
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let is_word = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-');
    if !text.bytes().any(|b| is_space(&b)) {
        return Some(Cow::Borrowed(text));
    }
    let out = rewrite_outside_strings(text.as_bytes(), |rest, last_kept| {
        let run = rest.iter().take_while(|b| is_space(b)).count();
        if run == 0 {
            Outside::Keep
        } else if last_kept.is_some_and(|b| is_word(&b)) && rest.get(run).is_some_and(is_word) {
            Outside::Refuse
        } else {
            Outside::Skip(run)
        }
    })?;
    // Only ASCII bytes were dropped, so the kept bytes are still UTF-8.
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// What [`rewrite_outside_strings`] does at a byte outside JSON strings.
enum Outside {
    /// Copy the byte.
    Keep,
    /// Drop this many bytes.
    Skip(usize),
    /// Drop this many bytes and write the given ones instead.
    Replace(usize, &'static [u8]),
    /// Give up: the whole rewrite answers `None`.
    Refuse,
}

/// Copies `text`, asking `decide` at every byte outside JSON strings what to do; `decide` sees the
/// text from that byte on and the last byte written so far. Strings (from `"` to the closing `"`,
/// escapes included) are copied as they are. `None` when `decide` refuses.
fn rewrite_outside_strings(text: &[u8], mut decide: impl FnMut(&[u8], Option<u8>) -> Outside) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else {
            match decide(&text[i..], out.last().copied()) {
                Outside::Keep => {}
                Outside::Skip(n) => {
                    i += n;
                    continue;
                }
                Outside::Replace(n, with) => {
                    out.extend_from_slice(with);
                    i += n;
                    continue;
                }
                Outside::Refuse => return None,
            }
        }
        out.push(b);
        i += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {

    use super::*;
    use serde_json::json;

    #[test]
    fn scalars() {
        assert_eq!(python_json_dumps(&json!(null)), "null");
        assert_eq!(python_json_dumps(&json!(true)), "true");
        assert_eq!(python_json_dumps(&json!(false)), "false");
        assert_eq!(python_json_dumps(&json!(5)), "5");
        assert_eq!(python_json_dumps(&json!(-5)), "-5");
        assert_eq!(python_json_dumps(&json!(u64::MAX)), "18446744073709551615");
        assert_eq!(python_json_dumps(&json!(i64::MIN)), "-9223372036854775808");
        assert_eq!(python_json_dumps(&json!("a")), "\"a\"");
    }

    #[test]
    fn containers_use_python_separators() {
        assert_eq!(python_json_dumps(&json!({})), "{}");
        assert_eq!(python_json_dumps(&json!([])), "[]");
        assert_eq!(python_json_dumps(&json!([1, 2, 3])), "[1, 2, 3]");
        assert_eq!(
            python_json_dumps(&json!({"epochs": 5, "steps_per_epoch": 1000})),
            r#"{"epochs": 5, "steps_per_epoch": 1000}"#
        );
        assert_eq!(
            python_json_dumps(&json!({"a": {"b": [1, {"c": null}]}, "d": []})),
            r#"{"a": {"b": [1, {"c": null}]}, "d": []}"#
        );
        assert_eq!(python_json_dumps(&json!(["tf", "pth"])), r#"["tf", "pth"]"#);
    }

    #[test]
    fn object_keeps_insertion_order() {
        let mut map = serde_json::Map::new();
        map.insert("z".into(), json!(1));
        map.insert("a".into(), json!(2));
        assert_eq!(python_json_dumps(&Value::Object(map)), r#"{"z": 1, "a": 2}"#);
    }

    #[test]
    fn floats_match_python_repr() {
        let cases: &[(f64, &str)] = &[
            (0.1, "0.1"),
            (2.0, "2.0"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.5, "1.5"),
            (-2.5, "-2.5"),
            (0.001, "0.001"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.000123, "0.000123"),
            (0.0000123, "1.23e-05"),
            (1e-7, "1e-07"),
            (123.456, "123.456"),
            (1e15, "1000000000000000.0"),
            (1234567890123456.0, "1234567890123456.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1e100, "1e+100"),
            (1e-100, "1e-100"),
            (0.30000000000000004, "0.30000000000000004"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (100.0, "100.0"),
        ];
        for (x, expected) in cases {
            assert_eq!(python_float_repr(*x), *expected, "repr of {x}");
            assert_eq!(python_json_dumps(&json!(*x)), *expected, "dumps of {x}");
        }
    }

    #[test]
    fn non_finite_floats() {
        assert_eq!(python_float_repr(f64::NAN), "NaN");
        assert_eq!(python_float_repr(f64::INFINITY), "Infinity");
        assert_eq!(python_float_repr(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn strings_are_escaped_like_ensure_ascii() {
        assert_eq!(python_json_dumps(&json!("q\"b\\n\nr\rt\tb\u{8}f\u{c}")), r#""q\"b\\n\nr\rt\tb\bf\f""#);
        assert_eq!(python_json_dumps(&json!("\u{1}\u{1f}\u{7f}")), r#""\u0001\u001f\u007f""#);
        assert_eq!(python_json_dumps(&json!("café")), r#""caf\u00e9""#);
        assert_eq!(python_json_dumps(&json!("😀")), r#""\ud83d\ude00""#);
        assert_eq!(python_json_dumps(&json!("it's / ok")), r#""it's / ok""#);
        assert_eq!(python_json_dumps(&json!({"ké": 1})), r#"{"k\u00e9": 1}"#);
    }

    #[test]
    fn python_json_reads_non_finite_floats_as_null() {
        let v = parse_python_json(br#"{"loss": [0.5, NaN, Infinity, -Infinity], "x": -1}"#).unwrap();
        assert_eq!(v, json!({"loss": [0.5, null, null, null], "x": -1}));
        let v = parse_python_json(br#"{"s": "NaN \"Infinity\" \\", "t": NaN}"#).unwrap();
        assert_eq!(v, json!({"s": "NaN \"Infinity\" \\", "t": null}));
        assert_eq!(parse_python_json(b"[1, 2]").unwrap(), json!([1, 2]));
    }

    #[test]
    fn python_json_keeps_other_errors() {
        let e = parse_python_json(b"{\"a\": nan}").unwrap_err();
        assert_eq!(e.to_string(), "expected ident at line 1 column 8");
        let e = parse_python_json(b"{\"a\": NaN").unwrap_err();
        assert!(e.to_string().contains("EOF"), "{e}");
        assert!(parse_python_json(b"").is_err());
    }
}
