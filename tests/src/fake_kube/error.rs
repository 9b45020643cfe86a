//! The `Status` answers of failed API calls.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::{json, Map, Value};

use super::Kind;

/// A failed API call: the `Status` the fake answers.
#[derive(Debug)]
pub(super) struct ApiError {
    pub(super) code: u16,
    pub(super) reason: &'static str,
    pub(super) message: String,
    pub(super) details: Option<Value>,
}

impl ApiError {
    pub(super) fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError { code, reason, message: message.into(), details: None }
    }

    pub(super) fn about(mut self, kind: Kind, name: &str) -> Self {
        let mut details = Map::new();
        details.insert("name".to_owned(), json!(name));
        if !kind.group().is_empty() {
            details.insert("group".to_owned(), json!(kind.group()));
        }
        details.insert("kind".to_owned(), json!(kind.plural()));
        self.details = Some(Value::Object(details));
        self
    }

    pub(super) fn with_reason(mut self, reason: &'static str, code: u16) -> Self {
        self.reason = reason;
        self.code = code;
        self
    }

    pub(super) fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, "BadRequest", message)
    }

    pub(super) fn not_found(kind: Kind, name: &str) -> Self {
        ApiError::new(404, "NotFound", format!("{} \"{name}\" not found", kind.qualified())).about(kind, name)
    }

    pub(super) fn response(&self) -> HttpResponse {
        let mut body = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason,
        });
        if let Some(details) = &self.details {
            body["details"] = details.clone();
        }
        body["code"] = json!(self.code);
        let status = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        HttpResponse::build(status).json(body)
    }
}

/// The `Status` reason Kubernetes gives with an HTTP status.
pub(super) fn reason_for(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        410 => "Expired",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    }
}
