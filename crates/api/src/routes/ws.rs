//! `/ws/` (and `/api/ws/`): the live view of an inference output topic (docs/contract.md §4.10, §6.9).
//!
//! The client sends a text frame `{"topic": "<topic>", "classification": true|false}`; the server
//! then sends one text frame per new Kafka message of that topic: the arg-max index of its `values`
//! when `classification` is true, otherwise the raw value. A socket has at most one subscription:
//! a new request replaces the previous one, and closing the socket stops it (docs/contract.md §8 item 24).
//! Frames that are not such a request are answered with `{"error": "…"}` and the socket stays open.
//!
//! Browsers do not apply CORS to WebSockets, so an upgrade whose `Origin` is present and not
//! trusted ([`crate::cross_site::TrustedOrigins`]) is refused with 403; and a socket may read only
//! the output topics of known inferences (`output_topic`, `output_upper`) unless
//! `KAFKAML_WS_ANY_TOPIC` allows any topic — another topic is refused with an error frame, and no
//! consumer is created.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{get, web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, Session};
use kafkaml_messaging::{render_prediction, PredictionSource, PredictionStream};
use kafkaml_persistence::repo::inferences;
use serde_json::Value;
use tokio::sync::OwnedSemaphorePermit;

use crate::error::ApiError;
use crate::state::State;
use crate::usecase::{self, Ctx};

/// Largest frame accepted from a client (requests are tiny).
const MAX_FRAME: usize = 64 * 1024;
/// How often the server pings an idle client.
const HEARTBEAT: Duration = Duration::from_secs(20);
/// A client that sends nothing (not even a pong) for this long is disconnected.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Opens a prediction WebSocket. 403 when the `Origin` is not trusted; 503 when Kafka is not
/// configured or `KAFKAML_WS_MAX_CONNECTIONS` sockets are already open.
#[utoipa::path(tag = "inferences", operation_id = "predictions_socket",
    description = "WebSocket. Send `{\"topic\": \"<topic>\", \"classification\": true|false}` as a text frame; \
        receive one text frame per new message of the topic: the arg-max index of its `values` \
        (classification) or the raw message. A new request replaces the previous subscription. Only the \
        output topics of inferences may be read, unless KAFKAML_WS_ANY_TOPIC is set.",
    responses((status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket upgrade request"),
        (status = 403, body = String, description = "The Origin header names an untrusted site"),
        (status = 503, body = String, description = "Kafka not configured, or too many sockets")))]
#[get("/ws")]
pub async fn predictions_socket(
    state: State,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    if !state.ctx.config.origins.check(req.head()).allowed() {
        return Err(crate::cross_site::refused().into());
    }
    let source = state.ctx.services.predictions.clone().ok_or_else(|| {
        ApiError::Unavailable("Kafka is not configured: set BOOTSTRAP_SERVERS to view predictions.".to_owned())
    })?;
    let permit = state.ws_slots.clone().try_acquire_owned().map_err(|_| {
        ApiError::Unavailable(format!(
            "Too many prediction sockets are open ({}); try again later.",
            state.ws_max_connections
        ))
    })?;
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    let stream = stream.max_frame_size(MAX_FRAME).aggregate_continuations().max_continuation_size(MAX_FRAME);
    let topics = Topics { ctx: state.ctx.clone(), any: state.ws_any_topic };
    actix_web::rt::spawn(serve(session, stream, source, topics, permit));
    Ok(response)
}

/// A client request: which topic, and how to render its messages.
#[derive(Debug, PartialEq, Eq)]
struct Request {
    topic: String,
    classification: bool,
}

fn parse_request(text: &str) -> Result<Request, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("The request is not valid JSON ({e}); send {EXPECTED}."))?;
    let Value::Object(fields) = value else {
        return Err(format!("The request must be a JSON object; send {EXPECTED}."));
    };
    let topic = match fields.get("topic") {
        Some(Value::String(t)) if !t.trim().is_empty() => t.trim().to_owned(),
        _ => return Err(format!("topic: a non-empty string is required; send {EXPECTED}.")),
    };
    let classification = match fields.get("classification") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(format!("classification: must be true or false; send {EXPECTED}.")),
    };
    Ok(Request { topic, classification })
}

const EXPECTED: &str = r#"{"topic": "<topic>", "classification": true|false}"#;

fn error_frame(message: &str) -> String {
    serde_json::json!({ "error": message }).to_string()
}

/// Which topics a socket may read.
struct Topics {
    ctx: Arc<Ctx>,
    /// `KAFKAML_WS_ANY_TOPIC`.
    any: bool,
}

impl Topics {
    /// `Ok` when `topic` may be read; otherwise the error frame's message.
    async fn check(&self, topic: &str) -> Result<(), String> {
        if self.any {
            return Ok(());
        }
        let wanted = topic.to_owned();
        match self.ctx.db(move |c| Ok::<_, usecase::Error>(inferences::is_output_topic(c, &wanted)?)).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(format!("Cannot subscribe to {topic}: it is not the output topic of an inference.")),
            Err(e) => {
                tracing::warn!(topic = ?topic, error = %e, "prediction socket: could not look the topic up");
                Err(format!("Cannot subscribe to {topic} now: the database is unavailable; try again."))
            }
        }
    }
}

/// The current subscription of a socket.
struct Subscription {
    topic: String,
    classification: bool,
    stream: PredictionStream,
}

async fn next_value(current: &mut Option<Subscription>) -> Option<Vec<u8>> {
    match current {
        Some(sub) => sub.stream.next().await,
        None => std::future::pending().await,
    }
}

/// Serves one socket until the client leaves; the permit is released when it returns.
async fn serve(
    mut session: Session,
    mut frames: AggregatedMessageStream,
    source: Arc<dyn PredictionSource>,
    topics: Topics,
    _permit: OwnedSemaphorePermit,
) {
    let mut current: Option<Subscription> = None;
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    let mut last_seen = Instant::now();
    let close: Option<CloseReason> = loop {
        let sent = tokio::select! {
            frame = frames.recv() => {
                last_seen = Instant::now();
                match frame {
                    None => break None,
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "prediction socket: protocol error");
                        break Some(CloseCode::Protocol.into());
                    }
                    Some(Ok(AggregatedMessage::Close(reason))) => break reason,
                    Some(Ok(AggregatedMessage::Ping(bytes))) => session.pong(&bytes).await,
                    Some(Ok(AggregatedMessage::Pong(_))) => Ok(()),
                    Some(Ok(AggregatedMessage::Binary(_))) => {
                        session.text(error_frame(&format!("Binary frames are not understood; send {EXPECTED} as text."))).await
                    }
                    Some(Ok(AggregatedMessage::Text(text))) => match parse_request(&text) {
                        Err(message) => session.text(error_frame(&message)).await,
                        // A refused topic leaves the current subscription as it is.
                        Ok(request) => match topics.check(&request.topic).await {
                            Err(message) => session.text(error_frame(&message)).await,
                            Ok(()) => {
                                // Stop the previous subscription before starting the next one.
                                current = None;
                                match source.subscribe(&request.topic).await {
                                    Ok(stream) => {
                                        tracing::info!(topic = ?request.topic, classification = request.classification,
                                            "prediction socket subscribed");
                                        current = Some(Subscription {
                                            topic: request.topic,
                                            classification: request.classification,
                                            stream,
                                        });
                                        Ok(())
                                    }
                                    Err(e) => {
                                        tracing::warn!(topic = ?request.topic, error = %e, "prediction subscription failed");
                                        session.text(error_frame(&format!("Cannot subscribe to {}: {e}.", request.topic))).await
                                    }
                                }
                            }
                        },
                    },
                }
            }
            value = next_value(&mut current) => match (value, current.as_ref()) {
                (Some(value), Some(sub)) => match render_prediction(&value, sub.classification) {
                    Some(frame) => session.text(frame).await,
                    None => {
                        tracing::debug!(topic = ?sub.topic, "prediction skipped: not a rendering message");
                        Ok(())
                    }
                },
                (_, sub) => {
                    let topic = sub.map(|s| s.topic.clone()).unwrap_or_default();
                    current = None;
                    session.text(error_frame(&format!("The subscription to {topic} ended."))).await
                }
            },
            _ = heartbeat.tick() => {
                if last_seen.elapsed() > CLIENT_TIMEOUT {
                    tracing::debug!("prediction socket: client silent, closing");
                    break Some(CloseCode::Away.into());
                }
                session.ping(b"").await
            }
        };
        if sent.is_err() {
            // The connection is gone.
            break None;
        }
    };
    drop(current);
    let _ = session.close(close).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_parsed() {
        assert_eq!(
            parse_request(r#"{"topic": "out", "classification": true}"#),
            Ok(Request { topic: "out".into(), classification: true })
        );
        assert_eq!(parse_request(r#"{"topic": " out "}"#), Ok(Request { topic: "out".into(), classification: false }));
        assert!(parse_request("nope").is_err_and(|e| e.starts_with("The request is not valid JSON")));
        assert!(parse_request("[1]").is_err_and(|e| e.starts_with("The request must be a JSON object")));
        assert!(parse_request(r#"{"topic": ""}"#).is_err_and(|e| e.starts_with("topic:")));
        assert!(parse_request(r#"{"topic": 3}"#).is_err_and(|e| e.starts_with("topic:")));
        assert!(parse_request(r#"{"topic": "t", "classification": "yes"}"#)
            .is_err_and(|e| e.starts_with("classification:")));
        assert_eq!(error_frame("bad \"x\""), r#"{"error":"bad \"x\""}"#);
    }
}
