//! Shared application state and the small helpers every handler uses.

use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use kafkaml_persistence::DbConnection;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::usecase::Ctx;

/// What the handlers share, behind `web::Data`: the use cases' context and what only HTTP needs.
pub struct AppState {
    /// The use cases' context.
    pub ctx: Arc<Ctx>,
    /// One permit per open prediction WebSocket (`KAFKAML_WS_MAX_CONNECTIONS`).
    pub ws_slots: Arc<tokio::sync::Semaphore>,
    /// `KAFKAML_WS_MAX_CONNECTIONS`, for the message that refuses one more.
    pub ws_max_connections: usize,
    /// `KAFKAML_WS_ANY_TOPIC`: sockets may read any topic, not only inferences' outputs.
    pub ws_any_topic: bool,
    /// Consumers, sockets per client and idle time of prediction WebSockets.
    pub ws_limits: crate::routes::ws::SocketLimits,
    /// Bound on all status probes of one device list (`KAFKAML_IOT_PROBE_DEADLINE_MS`).
    pub probe_deadline: Duration,
}

/// The state as handlers receive it.
pub type State = web::Data<AppState>;

impl AppState {
    /// Runs a read on a pooled connection (see [`Ctx::db`]).
    pub async fn db<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
    {
        self.ctx.db(f).await
    }
}

/// A numeric path id (`<int:pk>` in the reference). A value that names no row — not a decimal
/// integer, negative, zero or beyond the ids' range (`/results/99999999999999999999`) — is
/// [`Id::UNKNOWN`]: the handler looks it up like any other id and answers the same 404 as for an
/// unknown id, the one the OpenAPI document describes for the route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Id(pub i32);

impl Id {
    /// The id of no object (every row's id is positive).
    pub const UNKNOWN: Id = Id(-1);

    /// The id `raw` (a path segment) names: a positive decimal `i32`, else [`Id::UNKNOWN`].
    pub fn parse(raw: &str) -> Id {
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Id::UNKNOWN;
        }
        raw.parse::<i32>().ok().filter(|n| *n > 0).map_or(Id::UNKNOWN, Id)
    }
}

impl FromRequest for Id {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Id::parse(req.match_info().get("id").unwrap_or_default())))
    }
}

/// Marks a request that arrived as `HEAD`: handlers with side effects skip them.
#[derive(Debug, Clone, Copy)]
pub struct IsHead;

/// Whether the request arrived as `HEAD`.
pub fn is_head(req: &HttpRequest) -> bool {
    req.extensions().get::<IsHead>().is_some()
}

/// Parses a raw JSON body into a JSON value; `prefix` starts the 400 message.
pub fn json_body(body: &[u8], prefix: &str) -> ApiResult<Value> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ApiError::bad_request(format!("{prefix}: the request body is empty; send a JSON object.")));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("{prefix}: the body is not valid JSON ({e}).")))?;
    let Some(fields) = v.as_object() else {
        return Err(ApiError::bad_request(format!("{prefix}: the body must be a JSON object.")));
    };
    // As DRF's `ProhibitNullCharactersValidator`: no text column can hold U+0000 on PostgreSQL.
    if let Some((field, _)) = fields.iter().find(|(_, value)| holds_nul(value)) {
        return Err(ApiError::bad_request(format!("{prefix}: {field}: Null characters are not allowed.")));
    }
    Ok(v)
}

/// Whether a JSON value holds U+0000 in a string, at any depth.
fn holds_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(fields) => fields.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// Parses and validates a typed body from a JSON value; `prefix` starts the 400 message.
pub fn typed<T: serde::de::DeserializeOwned + validator::Validate>(v: Value, prefix: &str) -> ApiResult<T> {
    kafkaml_domain::inputs::parse(v).map_err(|m| ApiError::bad_request(format!("{prefix}: {m}")))
}

#[cfg(test)]
mod tests {
    use super::Id;

    #[test]
    fn null_characters_are_refused_in_any_field() {
        let e = super::json_body(br#"{"name": "ok", "topic": "a\u0000b"}"#, "Datasource not valid").unwrap_err();
        assert_eq!(e.to_string(), "Datasource not valid: topic: Null characters are not allowed.");
        let e = super::json_body(br#"{"ml_models": [1], "x": {"y": ["\u0000"]}}"#, "P").unwrap_err();
        assert_eq!(e.to_string(), "P: x: Null characters are not allowed.");
        assert!(super::json_body(br#"{"name": "a\\u0000b"}"#, "P").is_ok(), "an escaped backslash is text");
    }

    #[test]
    fn ids_that_name_no_row_are_unknown_ids() {
        assert_eq!(Id::parse("7"), Id(7));
        assert_eq!(Id::parse("007"), Id(7));
        assert_eq!(Id::parse("2147483647"), Id(i32::MAX));
        for unknown in
            ["2147483648", "99999999999999999999", "0", "-1", "-99999999999999999999", "", "abc", "1.5", "+1", " 1"]
        {
            assert_eq!(Id::parse(unknown), Id::UNKNOWN, "{unknown:?}");
        }
    }
}
