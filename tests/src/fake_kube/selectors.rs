//! Label and field selectors (`labelSelector`, `fieldSelector`).

use serde_json::Value;

use super::error::ApiError;
use super::http::Query;

/// A label and field selector.
#[derive(Debug, Clone, Default)]
pub(super) struct Filter {
    labels: Vec<LabelRequirement>,
    fields: Vec<(String, bool, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum LabelRequirement {
    Equals(String, String),
    NotEquals(String, String),
    Exists(String),
    NotExists(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

impl Filter {
    pub(super) fn parse(query: &Query) -> Result<Filter, ApiError> {
        let labels = match query.get("labelSelector") {
            Some(text) => parse_label_selector(text).map_err(ApiError::bad_request)?,
            None => Vec::new(),
        };
        let fields = match query.get("fieldSelector") {
            Some(text) => parse_field_selector(text).map_err(ApiError::bad_request)?,
            None => Vec::new(),
        };
        Ok(Filter { labels, fields })
    }

    pub(super) fn matches(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        let label = |key: &str| labels.get(key).and_then(Value::as_str);
        let labels_ok = self.labels.iter().all(|requirement| match requirement {
            LabelRequirement::Equals(k, v) => label(k) == Some(v.as_str()),
            LabelRequirement::NotEquals(k, v) => label(k) != Some(v.as_str()),
            LabelRequirement::Exists(k) => label(k).is_some(),
            LabelRequirement::NotExists(k) => label(k).is_none(),
            LabelRequirement::In(k, values) => label(k).is_some_and(|l| values.iter().any(|v| v == l)),
            LabelRequirement::NotIn(k, values) => label(k).is_none_or(|l| values.iter().all(|v| v != l)),
        });
        labels_ok
            && self.fields.iter().all(|(path, equal, value)| {
                let found =
                    path.split('.').try_fold(object, |v, part| v.get(part)).and_then(Value::as_str).unwrap_or("");
                (found == value) == *equal
            })
    }
}

/// Splits a selector on the commas outside parentheses.
fn split_terms(text: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let (mut depth, mut start) = (0_usize, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                terms.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(text[start..].trim());
    terms.into_iter().filter(|t| !t.is_empty()).collect()
}

fn selector_key(key: &str) -> Result<String, String> {
    let key = key.trim();
    if key.is_empty() || key.contains(char::is_whitespace) || key.contains(['=', '!', '(', ')']) {
        Err(format!("unable to parse requirement: invalid label key {key:?}"))
    } else {
        Ok(key.to_owned())
    }
}

fn parse_label_selector(text: &str) -> Result<Vec<LabelRequirement>, String> {
    split_terms(text)
        .into_iter()
        .map(|term| {
            if let Some(key) = term.strip_prefix('!') {
                return Ok(LabelRequirement::NotExists(selector_key(key)?));
            }
            if let (Some(open), true) = (term.find('('), term.ends_with(')')) {
                let mut head = term[..open].split_whitespace();
                let (key, operator) = (head.next().unwrap_or_default(), head.next().unwrap_or_default());
                let values: Vec<String> = term[open + 1..term.len() - 1]
                    .split(',')
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .collect();
                return match operator {
                    "in" => Ok(LabelRequirement::In(selector_key(key)?, values)),
                    "notin" => Ok(LabelRequirement::NotIn(selector_key(key)?, values)),
                    _ => Err(format!("unable to parse requirement: unknown operator in {term:?}")),
                };
            }
            if let Some((key, value)) = term.split_once("!=") {
                Ok(LabelRequirement::NotEquals(selector_key(key)?, value.trim().to_owned()))
            } else if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
                Ok(LabelRequirement::Equals(selector_key(key)?, value.trim().to_owned()))
            } else {
                Ok(LabelRequirement::Exists(selector_key(term)?))
            }
        })
        .collect()
}

fn parse_field_selector(text: &str) -> Result<Vec<(String, bool, String)>, String> {
    split_terms(text)
        .into_iter()
        .map(|term| {
            let (path, equal, value) = if let Some((path, value)) = term.split_once("!=") {
                (path, false, value)
            } else if let Some((path, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
                (path, true, value)
            } else {
                return Err(format!("invalid selector: {term:?}; can't understand it"));
            };
            Ok((selector_key(path)?, equal, value.trim().to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map};

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Value {
        let labels: Map<String, Value> = pairs.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
        json!({"metadata": {"name": "x", "labels": labels}})
    }

    fn selects(selector: &str, object: &Value) -> bool {
        Filter { labels: parse_label_selector(selector).unwrap(), fields: Vec::new() }.matches(object)
    }

    #[test]
    fn label_selectors_follow_kubernetes_syntax() {
        let object = labels(&[("app", "kafkaml"), ("tier", "train")]);
        assert!(selects("app=kafkaml", &object));
        assert!(selects("app==kafkaml,tier", &object));
        assert!(selects("app!=other, !missing", &object));
        assert!(selects("tier in (train, infer)", &object));
        assert!(selects("tier notin (infer),missing notin (a)", &object));
        assert!(!selects("app=other", &object));
        assert!(!selects("missing", &object));
        assert!(!selects("!tier", &object));
        assert!(!selects("tier in (infer)", &object));
        assert!(selects("", &object));
        assert_eq!(
            parse_label_selector("a in (x,y),b").unwrap(),
            vec![LabelRequirement::In("a".into(), vec!["x".into(), "y".into()]), LabelRequirement::Exists("b".into())]
        );
        assert!(parse_label_selector("a b").is_err());
        assert!(parse_label_selector("a within (x)").is_err());
    }

    #[test]
    fn field_selectors_compare_string_fields() {
        let object = labels(&[]);
        let fields = parse_field_selector("metadata.name=x").unwrap();
        assert!(Filter { labels: Vec::new(), fields }.matches(&object));
        let fields = parse_field_selector("metadata.name!=x").unwrap();
        assert!(!Filter { labels: Vec::new(), fields }.matches(&object));
        assert!(parse_field_selector("metadata.name").is_err());
    }
}
