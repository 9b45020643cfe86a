//! `/ws/` (and `/api/ws/`): the live view of an inference output topic (docs/contract.md §4.10, §6.9).
//!
//! The client sends a text frame `{"topic": "<topic>", "classification": true|false}`; the server
//! then sends one text frame per new Kafka message of that topic: the arg-max index of its `values`
//! when `classification` is true, otherwise the raw value. A socket has at most one subscription:
//! a new request replaces the previous one, and closing the socket stops it (docs/contract.md §8 item 24).
//! Frames that are not such a request are answered with `{"error": "…"}` and the socket stays open.
//!
//! Bounds (README, "Limits and security"): a socket holds at most one Kafka consumer at any time —
//! the previous one is closed before the next is created —; it may change its subscription
//! [`SUBSCRIBE_BURST`] times at once, then once per second (more requests are answered with an
//! error frame and ignored); consumers live or closing are capped globally
//! (`KAFKAML_WS_MAX_CONSUMERS`); one client address holds at most `KAFKAML_WS_MAX_PER_CLIENT`
//! sockets (more answer 429); and a socket without a subscription for `KAFKAML_WS_IDLE_TIMEOUT` is
//! closed.
//!
//! Browsers do not apply CORS to WebSockets, so an upgrade whose `Origin` is present and not
//! trusted ([`crate::cross_site::TrustedOrigins`]) is refused with 403; and a socket may read only
//! the output topics of known inferences (`output_topic`, `output_upper`) unless
//! `KAFKAML_WS_ANY_TOPIC` allows any topic — another topic is refused with an error frame, and no
//! consumer is created.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, Session};
use kafkaml_messaging::{render_prediction, valid_topic, PredictionSource, PredictionStream};
use kafkaml_persistence::repo::inferences;
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;
use crate::state::State;
use crate::usecase::{self, Ctx};

/// Largest frame accepted from a client (requests are tiny).
const MAX_FRAME: usize = 64 * 1024;
/// How often the server pings an idle client.
const HEARTBEAT: Duration = Duration::from_secs(20);
/// A client that sends nothing (not even a pong) for this long is disconnected.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);
/// Subscription changes a socket may make at once; then one per [`SUBSCRIBE_INTERVAL`].
pub const SUBSCRIBE_BURST: u32 = 3;
/// The pace of subscription changes after the burst.
pub const SUBSCRIBE_INTERVAL: Duration = Duration::from_secs(1);

/// The sockets each client address holds (`KAFKAML_WS_MAX_PER_CLIENT`).
#[derive(Debug)]
pub struct ClientSlots {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl ClientSlots {
    /// At most `max` sockets per address.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(ClientSlots { max, open: Mutex::new(HashMap::new()) })
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A slot for one more socket of `ip`; `None` when it holds `max` already.
    fn take(self: &Arc<Self>, ip: IpAddr) -> Option<ClientSlot> {
        let mut open = self.open();
        let count = open.entry(ip).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(ClientSlot { slots: self.clone(), ip })
    }
}

/// One socket of a client address, given back when dropped.
struct ClientSlot {
    slots: Arc<ClientSlots>,
    ip: IpAddr,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open();
        if let Some(count) = open.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// What a socket may hold and for how long, shared by all sockets.
pub struct SocketLimits {
    /// One permit per Kafka consumer, live or closing (`KAFKAML_WS_MAX_CONSUMERS`).
    pub consumers: Arc<Semaphore>,
    /// `KAFKAML_WS_MAX_CONSUMERS`, for the message that refuses one more.
    pub max_consumers: usize,
    /// Sockets per client address.
    pub clients: Arc<ClientSlots>,
    /// How long a socket may stay without a subscription (`KAFKAML_WS_IDLE_TIMEOUT`).
    pub idle_timeout: Duration,
}

/// Subscription changes allowed now: [`SUBSCRIBE_BURST`] at once, refilled one per
/// [`SUBSCRIBE_INTERVAL`].
struct ChangeBudget {
    tokens: u32,
    refilled: Instant,
}

impl ChangeBudget {
    fn new() -> Self {
        ChangeBudget { tokens: SUBSCRIBE_BURST, refilled: Instant::now() }
    }

    /// Takes one change; `false` when none is left.
    fn take(&mut self, now: Instant) -> bool {
        let earned = now.duration_since(self.refilled).as_millis() / SUBSCRIBE_INTERVAL.as_millis().max(1);
        if earned > 0 {
            let earned = u32::try_from(earned).unwrap_or(u32::MAX);
            self.tokens = self.tokens.saturating_add(earned).min(SUBSCRIBE_BURST);
            self.refilled += SUBSCRIBE_INTERVAL * earned;
        }
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }
}

/// Opens a prediction WebSocket. 403 when the `Origin` is not trusted; 503 when Kafka is not
/// configured or `KAFKAML_WS_MAX_CONNECTIONS` sockets are already open; 429 when the client's
/// address holds `KAFKAML_WS_MAX_PER_CLIENT` sockets.
#[utoipa::path(tag = "inferences", operation_id = "predictions_socket",
    description = "WebSocket. Send `{\"topic\": \"<topic>\", \"classification\": true|false}` as a text frame; \
        receive one text frame per new message of the topic: the arg-max index of its `values` \
        (classification) or the raw message. A new request replaces the previous subscription. Only the \
        output topics of inferences may be read, unless KAFKAML_WS_ANY_TOPIC is set. A socket changes its \
        subscription at most 3 times at once, then once per second (more requests get an error frame), and \
        is closed after KAFKAML_WS_IDLE_TIMEOUT seconds without a subscription.",
    responses((status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket upgrade request"),
        (status = 403, body = String, description = "The Origin header names an untrusted site"),
        (status = 429, body = String, description = "This client holds KAFKAML_WS_MAX_PER_CLIENT sockets already"),
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
    let limits = &state.ws_limits;
    let client = match req.peer_addr() {
        Some(peer) => Some(limits.clients.take(peer.ip()).ok_or_else(|| {
            ApiError::Text(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "This client has {} prediction sockets open already (KAFKAML_WS_MAX_PER_CLIENT); close one first.",
                    limits.clients.max
                ),
            )
        })?),
        None => None,
    };
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    let stream = stream.max_frame_size(MAX_FRAME).aggregate_continuations().max_continuation_size(MAX_FRAME);
    let topics = Topics { ctx: state.ctx.clone(), any: state.ws_any_topic };
    let held = Held {
        consumers: limits.consumers.clone(),
        max_consumers: limits.max_consumers,
        idle_timeout: limits.idle_timeout,
        _socket: permit,
        _client: client,
    };
    actix_web::rt::spawn(serve(session, stream, source, topics, held));
    Ok(response)
}

/// What a socket holds while it is served, and the limits it lives by.
struct Held {
    consumers: Arc<Semaphore>,
    max_consumers: usize,
    idle_timeout: Duration,
    _socket: OwnedSemaphorePermit,
    _client: Option<ClientSlot>,
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

/// The current subscription of a socket, with its consumer's permit.
struct Subscription {
    topic: String,
    classification: bool,
    stream: PredictionStream,
    _consumer: OwnedSemaphorePermit,
}

impl Subscription {
    /// Stops the subscription; returns once its consumer is closed, then gives its permit back.
    async fn close(self) {
        self.stream.close().await;
    }
}

/// Closes the current subscription, if any (see [`Subscription::close`]).
async fn unsubscribe(current: &mut Option<Subscription>) {
    if let Some(sub) = current.take() {
        sub.close().await;
    }
}

/// Starts the subscription `request` asks for, after closing the current one: `Err` is the error
/// frame's message (the current subscription is kept when the request is refused before that).
async fn resubscribe(
    current: &mut Option<Subscription>,
    request: Request,
    source: &dyn PredictionSource,
    topics: &Topics,
    budget: &mut ChangeBudget,
    held: &Held,
) -> Result<(), String> {
    // A refused topic leaves the current subscription as it is.
    topics.check(&request.topic).await?;
    if !valid_topic(&request.topic) {
        return Err(format!("Cannot subscribe to {}: invalid topic name {:?}.", request.topic, request.topic));
    }
    if !budget.take(Instant::now()) {
        return Err(format!(
            "Too many subscription changes: at most {SUBSCRIBE_BURST} at once, then one per second; the request \
             for {} is ignored.",
            request.topic
        ));
    }
    // The previous consumer is closed before the next is created: one per socket at any time.
    unsubscribe(current).await;
    let permit = held.consumers.clone().try_acquire_owned().map_err(|_| {
        tracing::warn!(max = held.max_consumers, "prediction socket: every Kafka consumer slot is taken");
        format!(
            "Cannot subscribe to {}: {} prediction subscriptions are open already (KAFKAML_WS_MAX_CONSUMERS); \
             try again later.",
            request.topic, held.max_consumers
        )
    })?;
    match source.subscribe(&request.topic).await {
        Ok(stream) => {
            tracing::info!(topic = ?request.topic, classification = request.classification, "prediction socket subscribed");
            *current = Some(Subscription {
                topic: request.topic,
                classification: request.classification,
                stream,
                _consumer: permit,
            });
            Ok(())
        }
        Err(e) => {
            tracing::warn!(topic = ?request.topic, error = %e, "prediction subscription failed");
            Err(format!("Cannot subscribe to {}: {e}.", request.topic))
        }
    }
}

async fn next_value(current: &mut Option<Subscription>) -> Option<Vec<u8>> {
    match current {
        Some(sub) => sub.stream.next().await,
        None => std::future::pending().await,
    }
}

/// Waits until `deadline` when the socket has no subscription (`unsubscribed`); else for ever.
async fn idle(unsubscribed: bool, deadline: tokio::time::Instant) {
    if unsubscribed {
        tokio::time::sleep_until(deadline).await
    } else {
        std::future::pending().await
    }
}

/// Serves one socket until the client leaves or stays without a subscription too long; what it
/// holds is released when it returns, its consumer closed first.
async fn serve(
    mut session: Session,
    mut frames: AggregatedMessageStream,
    source: Arc<dyn PredictionSource>,
    topics: Topics,
    held: Held,
) {
    let mut current: Option<Subscription> = None;
    let mut budget = ChangeBudget::new();
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    let mut last_seen = Instant::now();
    let mut idle_until = tokio::time::Instant::now() + held.idle_timeout;
    let close: Option<CloseReason> = loop {
        let unsubscribed = current.is_none();
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
                    Some(Ok(AggregatedMessage::Text(text))) => {
                        let outcome = match parse_request(&text) {
                            Err(message) => Err(message),
                            Ok(request) => {
                                resubscribe(&mut current, request, source.as_ref(), &topics, &mut budget, &held).await
                            }
                        };
                        // The idle time counts from the end of the last subscription (or the
                        // upgrade), not from each frame.
                        if !unsubscribed && current.is_none() {
                            idle_until = tokio::time::Instant::now() + held.idle_timeout;
                        }
                        match outcome {
                            Ok(()) => Ok(()),
                            Err(message) => session.text(error_frame(&message)).await,
                        }
                    }
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
                    unsubscribe(&mut current).await;
                    idle_until = tokio::time::Instant::now() + held.idle_timeout;
                    session.text(error_frame(&format!("The subscription to {topic} ended."))).await
                }
            },
            () = idle(unsubscribed, idle_until) => {
                tracing::debug!("prediction socket: no subscription, closing");
                break Some(CloseReason {
                    code: CloseCode::Policy,
                    description: Some(format!(
                        "No subscription for {} s (KAFKAML_WS_IDLE_TIMEOUT).",
                        held.idle_timeout.as_secs()
                    )),
                });
            }
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
    unsubscribe(&mut current).await;
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

    #[test]
    fn subscription_changes_come_in_a_burst_then_one_per_second() {
        let start = Instant::now();
        let mut budget = ChangeBudget { tokens: SUBSCRIBE_BURST, refilled: start };
        assert!((0..SUBSCRIBE_BURST).all(|_| budget.take(start)));
        assert!(!budget.take(start));
        assert!(!budget.take(start + Duration::from_millis(999)));
        assert!(budget.take(start + Duration::from_millis(1000)));
        assert!(!budget.take(start + Duration::from_millis(1500)));
        assert!(budget.take(start + Duration::from_millis(2000)));
        // A long pause refills the burst, no more.
        let later = start + Duration::from_secs(60);
        assert!((0..SUBSCRIBE_BURST).all(|_| budget.take(later)));
        assert!(!budget.take(later));
    }

    #[test]
    fn a_client_address_holds_a_bounded_number_of_sockets() {
        let slots = ClientSlots::new(2);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let first = slots.take(a).unwrap();
        let _second = slots.take(a).unwrap();
        assert!(slots.take(a).is_none());
        let _other = slots.take(b).unwrap();
        drop(first);
        let _third = slots.take(a).unwrap();
        assert!(slots.take(a).is_none());
    }
}
