//! Forms: the fields a table shows on its add and change pages, what a browser submitted, and
//! errors by field.
//!
//! A table turns the submitted fields into the same JSON body the REST API takes and parses it
//! with the API's own input type (`kafkaml_domain::inputs::parse_by_field`), then calls the same
//! use case: one set of rules for both doors. Errors come back next to their field.

use kafkaml_domain::inputs::{parse_by_field, FieldError};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::admin::auth::public_message;
use crate::error::ApiError;
use crate::usecase;

/// One choice of a select.
#[derive(Debug, Clone)]
pub struct Choice {
    /// The submitted value.
    pub value: String,
    /// What the visitor reads.
    pub label: String,
    /// Whether it is selected.
    pub selected: bool,
}

impl Choice {
    /// A choice, selected when `value` is among `current`.
    pub fn new(value: impl ToString, label: impl Into<String>, current: &[String]) -> Self {
        let value = value.to_string();
        let selected = current.contains(&value);
        Choice { value, label: label.into(), selected }
    }
}

/// One field of a form.
#[derive(Debug, Clone)]
pub struct Field {
    /// The submitted name (and the API's field name).
    pub name: &'static str,
    /// The label.
    pub label: &'static str,
    /// `text`, `number`, `email`, `date`, `textarea`, `checkbox`, `select`, `multiselect`,
    /// `password` (write-only) or `readonly`.
    pub kind: &'static str,
    /// The current value (text kinds).
    pub value: String,
    /// Whether a checkbox is ticked.
    pub checked: bool,
    /// The choices of a select.
    pub choices: Vec<Choice>,
    /// The `step` of a number (`any` for decimals).
    pub step: &'static str,
    /// Rows of a text area.
    pub rows: u16,
    /// Where a read-only value links to (a download), relative to the page.
    pub link: String,
    /// A hint under the field.
    pub help: &'static str,
    /// Whether the field must be filled.
    pub required: bool,
    /// What is wrong with the submitted value.
    pub error: Option<String>,
}

impl Field {
    fn new(name: &'static str, label: &'static str, kind: &'static str) -> Self {
        Field {
            name,
            label,
            kind,
            value: String::new(),
            checked: false,
            choices: Vec::new(),
            step: "",
            rows: 0,
            link: String::new(),
            help: "",
            required: false,
            error: None,
        }
    }

    /// A one-line text field.
    pub fn text(name: &'static str, label: &'static str, value: impl Into<String>) -> Self {
        Field { value: value.into(), ..Field::new(name, label, "text") }
    }

    /// An e-mail address.
    pub fn email(name: &'static str, label: &'static str, value: impl Into<String>) -> Self {
        Field { value: value.into(), ..Field::new(name, label, "email") }
    }

    /// A date (`YYYY-MM-DD`; the browser offers a calendar).
    pub fn date(name: &'static str, label: &'static str, value: impl Into<String>) -> Self {
        Field { value: value.into(), ..Field::new(name, label, "date") }
    }

    /// A multi-line text field.
    pub fn textarea(name: &'static str, label: &'static str, value: impl Into<String>, rows: u16) -> Self {
        Field { value: value.into(), rows, ..Field::new(name, label, "textarea") }
    }

    /// A whole number.
    pub fn integer(name: &'static str, label: &'static str, value: Option<i64>) -> Self {
        Field {
            value: value.map(|v| v.to_string()).unwrap_or_default(),
            step: "1",
            ..Field::new(name, label, "number")
        }
    }

    /// A decimal number.
    pub fn decimal(name: &'static str, label: &'static str, value: Option<f64>) -> Self {
        Field {
            value: value.map(|v| v.to_string()).unwrap_or_default(),
            step: "any",
            ..Field::new(name, label, "number")
        }
    }

    /// A tick box.
    pub fn checkbox(name: &'static str, label: &'static str, checked: bool) -> Self {
        Field { checked, ..Field::new(name, label, "checkbox") }
    }

    /// A choice of one.
    pub fn select(name: &'static str, label: &'static str, choices: Vec<Choice>) -> Self {
        Field { choices, ..Field::new(name, label, "select") }
    }

    /// A choice of several.
    pub fn multiselect(name: &'static str, label: &'static str, choices: Vec<Choice>) -> Self {
        Field { choices, ..Field::new(name, label, "multiselect") }
    }

    /// A secret: never shown; left empty it keeps the stored value.
    pub fn password(name: &'static str, label: &'static str) -> Self {
        Field { help: "Write-only: leave empty to keep the stored value.", ..Field::new(name, label, "password") }
    }

    /// A value the machine writes, shown but not editable.
    pub fn readonly(name: &'static str, label: &'static str, value: impl Into<String>) -> Self {
        Field { value: value.into(), ..Field::new(name, label, "readonly") }
    }

    /// The same field, required.
    pub fn required(self) -> Self {
        Field { required: true, ..self }
    }

    /// The same field with a hint.
    pub fn help(self, help: &'static str) -> Self {
        Field { help, ..self }
    }

    /// The same read-only field linking to `href`.
    pub fn link(self, href: impl Into<String>) -> Self {
        Field { link: href.into(), ..self }
    }

    /// Shows what the visitor submitted instead of the stored value (after an error).
    fn refill(&mut self, submitted: &Submitted) {
        match self.kind {
            "readonly" | "password" => {}
            "checkbox" => self.checked = submitted.checked(self.name),
            "select" | "multiselect" => {
                let chosen: Vec<&str> = submitted.all(self.name);
                for choice in &mut self.choices {
                    choice.selected = chosen.contains(&choice.value.as_str());
                }
            }
            _ => self.value = submitted.get(self.name).to_owned(),
        }
    }
}

/// The fields of a submitted form, in order (`application/x-www-form-urlencoded`).
#[derive(Debug, Clone, Default)]
pub struct Submitted(Vec<(String, String)>);

impl Submitted {
    /// Parses a form body; a body that is not a form is an empty form.
    pub fn parse(body: &[u8]) -> Self {
        Submitted(serde_urlencoded::from_bytes(body).unwrap_or_default())
    }

    /// The first value of `name`, or `""`.
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name` (multiple selects, check boxes of a list).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    /// Whether a check box was ticked.
    pub fn checked(&self, name: &str) -> bool {
        matches!(self.get(name), "on" | "true" | "1")
    }

    /// The ids among the values of `name`.
    pub fn ids(&self, name: &str) -> Vec<i32> {
        self.all(name).into_iter().filter_map(|v| v.parse().ok()).collect()
    }
}

/// Why a form was refused: messages by field, and messages about the whole form.
#[derive(Debug, Default)]
pub struct FormErrors {
    /// Messages next to fields.
    pub fields: Vec<FieldError>,
    /// Messages above the form.
    pub general: Vec<String>,
}

impl FormErrors {
    /// One message about field `name`.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        FormErrors { fields: vec![FieldError { field: name.to_owned(), message: message.into() }], general: Vec::new() }
    }

    /// Puts each message next to its field in `fields` (a message of a field the form does not
    /// show goes above the form) and refills the fields with what was submitted.
    pub fn apply(self, fields: &mut [Field], submitted: &Submitted) -> Vec<String> {
        let mut general = self.general;
        for field in fields.iter_mut() {
            field.refill(submitted);
        }
        for error in self.fields {
            let root = error.field.split(['.', '[']).next().unwrap_or_default();
            match fields.iter_mut().find(|f| f.name == root && !root.is_empty()) {
                Some(field) => field.error = Some(error.message),
                None if error.field.is_empty() => general.push(error.message),
                None => general.push(format!("{}: {}", error.field, error.message)),
            }
        }
        if general.is_empty() && fields.iter().any(|f| f.error.is_some()) {
            general.push("See the fields marked below.".to_owned());
        }
        general
    }
}

impl FormErrors {
    /// A use case's refusal, next to its field when its message names one of `fields`
    /// (`"batch: must be positive"`), above the form otherwise.
    pub fn placed(e: usecase::Error, fields: &[&str]) -> Self {
        if let usecase::Error::Invalid { message, .. } = &e {
            if let Some((field, text)) = message.split_once(": ") {
                if let Some(name) = fields.iter().find(|f| **f == field) {
                    return FormErrors::field(name, text);
                }
            }
        }
        e.into()
    }
}

impl From<usecase::Error> for FormErrors {
    fn from(e: usecase::Error) -> Self {
        let api = ApiError::from(e);
        FormErrors { fields: Vec::new(), general: vec![public_message(&api)] }
    }
}

impl From<Vec<FieldError>> for FormErrors {
    fn from(fields: Vec<FieldError>) -> Self {
        FormErrors { fields, general: Vec::new() }
    }
}

/// Builds the JSON body of the REST API from submitted fields, one conversion per field.
#[derive(Debug, Default)]
pub struct Body(Map<String, Value>);

impl Body {
    /// An empty body.
    pub fn new() -> Self {
        Body::default()
    }

    /// A text field, as given.
    pub fn text(mut self, submitted: &Submitted, name: &str) -> Self {
        self.0.insert(name.to_owned(), Value::String(submitted.get(name).to_owned()));
        self
    }

    /// A check box, as a boolean.
    pub fn flag(mut self, submitted: &Submitted, name: &str) -> Self {
        self.0.insert(name.to_owned(), Value::Bool(submitted.checked(name)));
        self
    }

    /// A number field: empty is absent; text that is not a number is sent as text, so that the
    /// API's parser names the field.
    pub fn number(mut self, submitted: &Submitted, name: &str) -> Self {
        let raw = submitted.get(name).trim();
        if raw.is_empty() {
            return self;
        }
        let value = raw
            .parse::<i64>()
            .map(Value::from)
            .ok()
            .or_else(|| raw.parse::<f64>().ok().and_then(|f| serde_json::Number::from_f64(f).map(Value::Number)))
            .unwrap_or_else(|| Value::String(raw.to_owned()));
        self.0.insert(name.to_owned(), value);
        self
    }

    /// A select of one id: empty is `null`.
    pub fn id(mut self, submitted: &Submitted, name: &str) -> Self {
        let raw = submitted.get(name).trim();
        let value = raw.parse::<i64>().map_or(Value::Null, Value::from);
        self.0.insert(name.to_owned(), value);
        self
    }

    /// A select of several ids.
    pub fn ids(mut self, submitted: &Submitted, name: &str) -> Self {
        let ids: Vec<Value> =
            submitted.all(name).into_iter().filter_map(|v| v.parse::<i64>().ok()).map(Value::from).collect();
        self.0.insert(name.to_owned(), Value::Array(ids));
        self
    }

    /// Any value.
    pub fn value(mut self, name: &str, value: Value) -> Self {
        self.0.insert(name.to_owned(), value);
        self
    }

    /// Parses the body with the API's input type: its serde and validator rules.
    pub fn parse<T: DeserializeOwned + validator::Validate>(self) -> Result<T, FormErrors> {
        parse_by_field(Value::Object(self.0)).map_err(FormErrors::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submitted_forms_read_values_checks_and_ids() {
        let form = Submitted::parse(b"name=a%20b&distributed=on&ml_models=3&ml_models=x&ml_models=5");
        assert_eq!(form.get("name"), "a b");
        assert!(form.checked("distributed"));
        assert!(!form.checked("other"));
        assert_eq!(form.ids("ml_models"), vec![3, 5]);
    }

    #[test]
    fn errors_land_next_to_their_fields_and_refill_the_form() {
        let mut fields =
            vec![Field::text("name", "Name", "stored"), Field::checkbox("distributed", "Distributed", true)];
        let submitted = Submitted::parse(b"name=typed");
        let mut errors = FormErrors::field("name", "Too long.");
        errors.fields.push(FieldError { field: "kwargs.x".into(), message: "bad".into() });
        let general = errors.apply(&mut fields, &submitted);
        assert_eq!(fields[0].value, "typed");
        assert_eq!(fields[0].error.as_deref(), Some("Too long."));
        assert!(!fields[1].checked);
        assert_eq!(general, vec!["kwargs.x: bad".to_owned()]);
    }
}
