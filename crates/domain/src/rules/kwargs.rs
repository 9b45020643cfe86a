//! Parsing of training kwargs text such as `epochs=5, steps_per_epoch=1000`.
//!
//! A deployment carries four kwargs strings (`tf_kwargs_fit`, `tf_kwargs_val`, `pth_kwargs_fit`,
//! `pth_kwargs_val`) that end up, as JSON text, in the `KWARGS_FIT` / `KWARGS_VAL` environment of
//! the training Jobs. The reference back-end split the text on `,` and `=` and Python-`eval`ed
//! every value, which let anyone run code on the server (docs/contract.md §8 item 7). This module parses
//! the values as **literals only** and never evaluates anything (decisions.md item 7).
//!
//! Accepted grammar (whitespace around names, `=` and `,` is ignored; whitespace inside quoted
//! strings is kept):
//!
//! ```text
//! kwargs  := ""  |  pair ("," pair)*
//! pair    := name "=" literal
//! name    := [A-Za-z_][A-Za-z0-9_]*
//! literal := integer | float | "True" | "False" | "None" | 'text' | "text"
//! ```
//!
//! * integers follow Python's decimal literal rules (optional sign, `_` between digits, no
//!   leading zeros except for zero itself) and must fit in an `i64`;
//! * floats follow Python's float literal rules (`0.1`, `.5`, `1.`, `1e-3`, `2.5E+4`, optional
//!   sign) and must be finite;
//! * `True` / `False` become JSON booleans, `None` becomes JSON `null`;
//! * strings are single- or double-quoted, must not contain their own quote character or a
//!   backslash, and may contain `,` and `=`; string prefixes (`r''`, `b''`, `f''`) are refused.
//!
//! Everything else — names, calls, lists, dicts, expressions, a part without `=`, an empty name or
//! value, a repeated name, a trailing comma — is a [`KwargsError`]. Every input accepted by the
//! reference's validation regex [`REFERENCE_KWARGS_PATTERN`] whose values are literals is accepted
//! here, as are the reference's own examples that the regex cannot express
//! (`epochs=2,shuffle=True,validation_split=0.1,x='a'`).

use super::pyjson::python_json_dumps;
use serde_json::{Map, Number, Value};

/// The validation regex of the reference back-end's (dead) kwargs validators
/// [backend/automl/serializers.py]. Kept for reference and tests: the parser of this module accepts
/// a superset of the literal-valued inputs it matches (it also accepts `.`, quotes and signs in
/// values, which the reference's own examples use).
pub const REFERENCE_KWARGS_PATTERN: &str =
    r"^[A-Za-z0-9-_]*[ ]*=[ ]*[A-Za-z0-9-_]*[ ]*(,[ ]*[A-Za-z0-9-_]*[ ]*=[ ]*[A-Za-z0-9-_]*[ ]*)*$";

/// Why a kwargs string was refused. Every variant names the offending `name=value` part (trimmed)
/// so that the message can be shown to the user as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KwargsError {
    /// A part has no `=` (or is empty, e.g. after a trailing comma).
    #[error("invalid kwargs \"{part}\": expected name=value")]
    MissingEquals {
        /// The offending part.
        part: String,
    },
    /// The text before `=` is empty.
    #[error("invalid kwargs \"{part}\": missing argument name before '='")]
    EmptyName {
        /// The offending part.
        part: String,
    },
    /// The text before `=` is not a Python identifier.
    #[error("invalid kwargs \"{part}\": \"{name}\" is not a valid argument name")]
    InvalidName {
        /// The offending part.
        part: String,
        /// The refused name.
        name: String,
    },
    /// The text after `=` is empty.
    #[error("invalid kwargs \"{part}\": missing value after '='")]
    EmptyValue {
        /// The offending part.
        part: String,
    },
    /// The value is not one of the accepted literals.
    #[error(
        "invalid kwargs \"{part}\": {value} is not a literal \
         (expected an integer, a float, True, False, None or a quoted string)"
    )]
    InvalidValue {
        /// The offending part.
        part: String,
        /// The refused value text.
        value: String,
    },
    /// An integer literal does not fit in a signed 64-bit integer.
    #[error("invalid kwargs \"{part}\": integer {value} is out of range")]
    IntegerOutOfRange {
        /// The offending part.
        part: String,
        /// The refused value text.
        value: String,
    },
    /// A float literal overflows to infinity.
    #[error("invalid kwargs \"{part}\": float {value} is out of range")]
    FloatOutOfRange {
        /// The offending part.
        part: String,
        /// The refused value text.
        value: String,
    },
    /// A quoted string contains a backslash (escape sequences are not supported).
    #[error("invalid kwargs \"{part}\": backslashes are not allowed in strings")]
    BackslashInString {
        /// The offending part.
        part: String,
    },
    /// The same name appears twice.
    #[error("invalid kwargs \"{part}\": argument \"{name}\" is given more than once")]
    DuplicateName {
        /// The offending (second) part.
        part: String,
        /// The repeated name.
        name: String,
    },
}

impl KwargsError {
    /// The `name=value` part (trimmed) that was refused.
    pub fn part(&self) -> &str {
        match self {
            Self::MissingEquals { part }
            | Self::EmptyName { part }
            | Self::InvalidName { part, .. }
            | Self::EmptyValue { part }
            | Self::InvalidValue { part, .. }
            | Self::IntegerOutOfRange { part, .. }
            | Self::FloatOutOfRange { part, .. }
            | Self::BackslashInString { part }
            | Self::DuplicateName { part, .. } => part,
        }
    }
}

/// Parses a kwargs string into an ordered map of literal values, without evaluating anything.
///
/// An empty or blank string gives an empty map. See the [module documentation](self) for the
/// accepted grammar.
///
/// ```
/// use kafkaml_domain::rules::parse_kwargs;
/// use serde_json::json;
///
/// let map = parse_kwargs("epochs=2, shuffle=True, validation_split=0.1, x='a'").unwrap();
/// assert_eq!(
///     serde_json::Value::Object(map),
///     json!({"epochs": 2, "shuffle": true, "validation_split": 0.1, "x": "a"})
/// );
/// assert!(parse_kwargs("epochs=__import__('os').getpid()").is_err());
/// ```
pub fn parse_kwargs(s: &str) -> Result<Map<String, Value>, KwargsError> {
    let mut map = Map::new();
    if s.trim().is_empty() {
        return Ok(map);
    }
    for raw_part in split_outside_quotes(s, ',') {
        let part = raw_part.trim();
        let Some((name, value)) = split_once_outside_quotes(part, '=') else {
            return Err(KwargsError::MissingEquals { part: part.to_owned() });
        };
        let name = name.trim();
        let value = value.trim();
        if name.is_empty() {
            return Err(KwargsError::EmptyName { part: part.to_owned() });
        }
        if !is_identifier(name) {
            return Err(KwargsError::InvalidName { part: part.to_owned(), name: name.to_owned() });
        }
        if value.is_empty() {
            return Err(KwargsError::EmptyValue { part: part.to_owned() });
        }
        let literal = parse_literal(part, value)?;
        if map.contains_key(name) {
            return Err(KwargsError::DuplicateName { part: part.to_owned(), name: name.to_owned() });
        }
        map.insert(name.to_owned(), literal);
    }
    Ok(map)
}

/// Parses a kwargs string and renders it as JSON text formatted like Python's `json.dumps`
/// (`{"epochs": 2, "shuffle": true}`; `{}` for an empty string) — the value the training Jobs
/// receive in `KWARGS_FIT` / `KWARGS_VAL` and the executors in `kwargs_fit` / `kwargs_val`.
///
/// ```
/// use kafkaml_domain::rules::kwargs_to_json;
///
/// assert_eq!(
///     kwargs_to_json("epochs=5, steps_per_epoch=1000").unwrap(),
///     r#"{"epochs": 5, "steps_per_epoch": 1000}"#
/// );
/// assert_eq!(kwargs_to_json("").unwrap(), "{}");
/// ```
pub fn kwargs_to_json(s: &str) -> Result<String, KwargsError> {
    parse_kwargs(s).map(|map| python_json_dumps(&Value::Object(map)))
}

/// Splits `s` on `sep` where it does not sit inside a single- or double-quoted string.
fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == sep => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            None => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// Splits `s` at the first `sep` that does not sit inside a quoted string.
fn split_once_outside_quotes(s: &str, sep: char) -> Option<(&str, &str)> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == sep => return Some((&s[..i], &s[i + c.len_utf8()..])),
            None => {}
        }
    }
    None
}

/// `[A-Za-z_][A-Za-z0-9_]*`
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses one literal value (already trimmed and non-empty).
fn parse_literal(part: &str, value: &str) -> Result<Value, KwargsError> {
    match value {
        "True" => return Ok(Value::Bool(true)),
        "False" => return Ok(Value::Bool(false)),
        "None" => return Ok(Value::Null),
        _ => {}
    }
    if let Some(quote) = value.chars().next().filter(|c| *c == '\'' || *c == '"') {
        let inner =
            value.strip_prefix(quote).and_then(|rest| rest.strip_suffix(quote)).filter(|inner| !inner.contains(quote));
        return match inner {
            Some(inner) if inner.contains('\\') => Err(KwargsError::BackslashInString { part: part.to_owned() }),
            Some(inner) => Ok(Value::String(inner.to_owned())),
            None => Err(invalid_value(part, value)),
        };
    }
    match classify_number(value) {
        Some(NumberKind::Integer) => {
            let digits: String = value.chars().filter(|c| *c != '_').collect();
            digits
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| KwargsError::IntegerOutOfRange { part: part.to_owned(), value: value.to_owned() })
        }
        Some(NumberKind::Float) => {
            let digits: String = value.chars().filter(|c| *c != '_').collect();
            let x: f64 = digits.parse().map_err(|_| invalid_value(part, value))?;
            Number::from_f64(x)
                .map(Value::Number)
                .ok_or_else(|| KwargsError::FloatOutOfRange { part: part.to_owned(), value: value.to_owned() })
        }
        None => Err(invalid_value(part, value)),
    }
}

fn invalid_value(part: &str, value: &str) -> KwargsError {
    KwargsError::InvalidValue { part: part.to_owned(), value: value.to_owned() }
}

/// What kind of Python numeric literal a text is.
#[derive(Debug, PartialEq, Eq)]
enum NumberKind {
    Integer,
    Float,
}

/// Recognises an optionally signed Python decimal integer or float literal.
fn classify_number(s: &str) -> Option<NumberKind> {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let int_start = i;
    let int_end = digit_part(b, i);
    let has_int = int_end.is_some();
    i = int_end.unwrap_or(i);
    let mut is_float = false;

    if b.get(i) == Some(&b'.') {
        is_float = true;
        i += 1;
        match digit_part(b, i) {
            Some(end) => i = end,
            None if has_int => {}
            None => return None,
        }
    } else if !has_int {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        is_float = true;
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        i = digit_part(b, i)?;
    }
    if i != b.len() {
        return None;
    }
    if is_float {
        return Some(NumberKind::Float);
    }
    // Python refuses leading zeros in non-zero decimal integers (`007` is a SyntaxError).
    let digits = &b[int_start..i];
    if digits.first() == Some(&b'0') && digits.iter().any(|d| d.is_ascii_digit() && *d != b'0') {
        return None;
    }
    Some(NumberKind::Integer)
}

/// Python's `digitpart`: `digit (["_"] digit)*` starting at `i`; returns the end index.
fn digit_part(b: &[u8], mut i: usize) -> Option<usize> {
    if !b.get(i)?.is_ascii_digit() {
        return None;
    }
    i += 1;
    loop {
        match b.get(i) {
            Some(d) if d.is_ascii_digit() => i += 1,
            Some(b'_') if b.get(i + 1).is_some_and(u8::is_ascii_digit) => i += 2,
            _ => return Some(i),
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use serde_json::json;

    fn parsed(s: &str) -> Value {
        Value::Object(parse_kwargs(s).unwrap_or_else(|e| panic!("{s:?} refused: {e}")))
    }

    fn refused(s: &str) -> KwargsError {
        match parse_kwargs(s) {
            Ok(map) => panic!("{s:?} accepted as {map:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn empty_and_blank_give_empty_map() {
        assert_eq!(parsed(""), json!({}));
        assert_eq!(parsed("   "), json!({}));
        assert_eq!(parsed("\t\n"), json!({}));
        assert_eq!(kwargs_to_json("").unwrap(), "{}");
    }

    #[test]
    fn reference_examples() {
        assert_eq!(
            kwargs_to_json("epochs=2,shuffle=True,validation_split=0.1,x='a'").unwrap(),
            r#"{"epochs": 2, "shuffle": true, "validation_split": 0.1, "x": "a"}"#
        );
        assert_eq!(
            kwargs_to_json("epochs=5, steps_per_epoch=1000").unwrap(),
            r#"{"epochs": 5, "steps_per_epoch": 1000}"#
        );
        assert_eq!(kwargs_to_json("epochs=1").unwrap(), r#"{"epochs": 1}"#);
    }

    #[test]
    fn keeps_order_of_arguments() {
        let map = parse_kwargs("z=1, a=2, m=3").unwrap();
        let keys: Vec<&str> = map.keys().map(String::as_str).collect();
        assert_eq!(keys, ["z", "a", "m"]);
    }

    #[test]
    fn whitespace_around_separators_is_ignored() {
        assert_eq!(parsed("  epochs =  5 ,steps_per_epoch= 1000  "), json!({"epochs": 5, "steps_per_epoch": 1000}));
        assert_eq!(parsed("a\t=\t1"), json!({"a": 1}));
    }

    #[test]
    fn integers() {
        assert_eq!(parsed("a=0"), json!({"a": 0}));
        assert_eq!(parsed("a=00"), json!({"a": 0}));
        assert_eq!(parsed("a=-7"), json!({"a": -7}));
        assert_eq!(parsed("a=+7"), json!({"a": 7}));
        assert_eq!(parsed("a=1_000"), json!({"a": 1000}));
        assert_eq!(parsed("a=9223372036854775807"), json!({"a": 9_223_372_036_854_775_807_i64}));
        assert_eq!(parsed("a=-9223372036854775808"), json!({"a": i64::MIN}));
        assert!(parsed("a=5")["a"].is_i64());
    }

    #[test]
    fn integers_out_of_range_are_refused() {
        let e = refused("a=9223372036854775808");
        assert!(matches!(e, KwargsError::IntegerOutOfRange { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            "invalid kwargs \"a=9223372036854775808\": integer 9223372036854775808 is out of range"
        );
        assert!(matches!(refused("a=-9223372036854775809"), KwargsError::IntegerOutOfRange { .. }));
    }

    #[test]
    fn malformed_integers_are_refused() {
        for s in ["a=007", "a=1__0", "a=1_", "a=_1", "a=--1", "a=- 1", "a=0x10", "a=1j", "a=1 0"] {
            assert!(matches!(refused(s), KwargsError::InvalidValue { .. }), "{s:?}");
        }
    }

    #[test]
    fn floats() {
        assert_eq!(parsed("a=0.1"), json!({"a": 0.1}));
        assert_eq!(parsed("a=.5"), json!({"a": 0.5}));
        assert_eq!(parsed("a=1."), json!({"a": 1.0}));
        assert_eq!(parsed("a=1e-3"), json!({"a": 0.001}));
        assert_eq!(parsed("a=2.5E+4"), json!({"a": 25000.0}));
        assert_eq!(parsed("a=-0.25"), json!({"a": -0.25}));
        assert_eq!(parsed("a=1_0.5"), json!({"a": 10.5}));
        assert_eq!(parsed("a=01.5"), json!({"a": 1.5}));
        assert!(parsed("a=2.0")["a"].is_f64());
        assert_eq!(kwargs_to_json("a=2.0").unwrap(), r#"{"a": 2.0}"#);
        assert_eq!(kwargs_to_json("a=1e-3").unwrap(), r#"{"a": 0.001}"#);
        assert_eq!(kwargs_to_json("a=1e-5").unwrap(), r#"{"a": 1e-05}"#);
        assert_eq!(kwargs_to_json("a=1e20").unwrap(), r#"{"a": 1e+20}"#);
    }

    #[test]
    fn malformed_or_infinite_floats_are_refused() {
        for s in ["a=.", "a=1e", "a=1e+", "a=e5", "a=1.2.3", "a=inf", "a=nan", "a=._5"] {
            assert!(matches!(refused(s), KwargsError::InvalidValue { .. }), "{s:?}");
        }
        assert!(matches!(refused("a=1e999"), KwargsError::FloatOutOfRange { .. }));
    }

    #[test]
    fn booleans_and_none() {
        assert_eq!(parsed("a=True, b=False, c=None"), json!({"a": true, "b": false, "c": null}));
        assert_eq!(kwargs_to_json("a=True,b=False,c=None").unwrap(), r#"{"a": true, "b": false, "c": null}"#);
        for s in ["a=true", "a=false", "a=none", "a=null", "a=TRUE"] {
            assert!(matches!(refused(s), KwargsError::InvalidValue { .. }), "{s:?}");
        }
    }

    #[test]
    fn quoted_strings() {
        assert_eq!(parsed("x='a'"), json!({"x": "a"}));
        assert_eq!(parsed("x=\"a\""), json!({"x": "a"}));
        assert_eq!(parsed("x=''"), json!({"x": ""}));
        assert_eq!(parsed("x='it\"s'"), json!({"x": "it\"s"}));
        assert_eq!(parsed("x=\"it's\""), json!({"x": "it's"}));
        // Spaces, commas and '=' inside quotes are kept.
        assert_eq!(parsed("x = ' a, b=c ' , y=1"), json!({"x": " a, b=c ", "y": 1}));
        assert_eq!(kwargs_to_json("x='café'").unwrap(), r#"{"x": "caf\u00e9"}"#);
    }

    #[test]
    fn malformed_strings_are_refused() {
        for s in [
            "x='a",
            "x=a'",
            "x='a\"",
            "x='a'b'",
            "x='a''b'",
            "x='a' 'b'",
            "x=r'a'",
            "x=b'a'",
            "x=f'{1+1}'",
            "x='a'.upper()",
        ] {
            assert!(matches!(refused(s), KwargsError::InvalidValue { .. }), "{s:?}");
        }
        assert_eq!(refused("x='a\\nb'"), KwargsError::BackslashInString { part: "x='a\\nb'".into() });
    }

    #[test]
    fn code_injection_is_refused_not_evaluated() {
        let e = refused("epochs=__import__('os').getpid()");
        assert_eq!(
            e,
            KwargsError::InvalidValue {
                part: "epochs=__import__('os').getpid()".into(),
                value: "__import__('os').getpid()".into(),
            }
        );
        assert_eq!(
            e.to_string(),
            "invalid kwargs \"epochs=__import__('os').getpid()\": __import__('os').getpid() is not \
             a literal (expected an integer, a float, True, False, None or a quoted string)"
        );
        for s in [
            "epochs=1, x=__import__('os').system('rm -rf /')",
            "x=open('/etc/passwd').read()",
            "x=exec('1')",
            "x=eval('1')",
            "x=lambda: 1",
            "x=1+1",
            "x=2*3",
            "x=[1, 2]",
            "x=(1, 2)",
            "x={'a': 1}",
            "x=os",
            "x=epochs",
            "x=__builtins__",
        ] {
            assert!(parse_kwargs(s).is_err(), "{s:?} should be refused");
        }
    }

    #[test]
    fn structural_errors() {
        assert_eq!(refused("epochs"), KwargsError::MissingEquals { part: "epochs".into() });
        assert_eq!(refused("epochs").to_string(), "invalid kwargs \"epochs\": expected name=value");
        assert_eq!(refused("epochs=5,"), KwargsError::MissingEquals { part: "".into() });
        assert_eq!(refused(",epochs=5"), KwargsError::MissingEquals { part: "".into() });
        assert_eq!(refused("a=1,,b=2"), KwargsError::MissingEquals { part: "".into() });
        assert_eq!(refused("=5"), KwargsError::EmptyName { part: "=5".into() });
        assert_eq!(refused("epochs="), KwargsError::EmptyValue { part: "epochs=".into() });
        assert_eq!(refused("epochs= , b=1").to_string(), "invalid kwargs \"epochs=\": missing value after '='");
        assert_eq!(refused("a=1=2"), KwargsError::InvalidValue { part: "a=1=2".into(), value: "1=2".into() });
    }

    #[test]
    fn names_must_be_identifiers() {
        for (s, name) in
            [("1a=1", "1a"), ("a-b=1", "a-b"), ("a b=1", "a b"), ("a.b=1", "a.b"), ("'a'=1", "'a'"), ("é=1", "é")]
        {
            assert_eq!(refused(s), KwargsError::InvalidName { part: s.into(), name: name.into() });
        }
        assert_eq!(parsed("_a1=1, B_2=2"), json!({"_a1": 1, "B_2": 2}));
        assert_eq!(refused("a-b=1").to_string(), "invalid kwargs \"a-b=1\": \"a-b\" is not a valid argument name");
    }

    #[test]
    fn duplicate_names_are_refused() {
        let e = refused("epochs=1, epochs=2");
        assert_eq!(e, KwargsError::DuplicateName { part: "epochs=2".into(), name: "epochs".into() });
        assert_eq!(e.to_string(), "invalid kwargs \"epochs=2\": argument \"epochs\" is given more than once");
        assert_eq!(e.part(), "epochs=2");
    }

    #[test]
    fn accepts_literal_inputs_matching_the_reference_regex() {
        let regex = regex::Regex::new(REFERENCE_KWARGS_PATTERN).unwrap();
        for s in [
            "epochs=5",
            "epochs=5, steps_per_epoch=1000",
            "epochs = 5 , shuffle = True",
            "a=None,b=False,c=0",
            "verbose=2,epochs=10,steps_per_epoch=100,validation_steps=5",
        ] {
            assert!(regex.is_match(s), "{s:?} should match the reference regex");
            assert!(parse_kwargs(s).is_ok(), "{s:?} should be accepted");
        }
        // Regex-conforming, but a bare name or nothing is not a literal.
        for s in ["a=b", "a=", "=", "a-b=1"] {
            assert!(regex.is_match(s), "{s:?} should match the reference regex");
            assert!(parse_kwargs(s).is_err(), "{s:?} should be refused");
        }
        // The reference's own example goes beyond the regex.
        assert!(!regex.is_match("epochs=2,shuffle=True,validation_split=0.1,x='a'"));
    }
}
