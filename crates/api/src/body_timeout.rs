//! A request body that stops arriving times out (`KAFKAML_BODY_TIMEOUT`): every request's payload
//! is read through [`TimedPayload`], which fails when no byte came for the timeout while the
//! handler was waiting for one, and [`guard`] then answers `408` with a message, whatever the
//! handler made of the failure (a JSON body, `Bytes`, a multipart upload). The temporary files of
//! an upload cut short this way are removed by the upload's own clean-up.
//!
//! WebSocket upgrades are left alone: their payload is the socket's frames, which have their own
//! heartbeat and idle limits (`crate::routes::ws`).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse};
use bytes::Bytes;
use futures_util::Stream;

/// A payload whose next chunk must come within `timeout` of being asked for.
pub struct TimedPayload {
    inner: Payload,
    timeout: Duration,
    /// Armed while the reader waits; disarmed by each chunk.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Set when the timeout fired, for [`guard`].
    fired: Arc<AtomicBool>,
    done: bool,
}

impl TimedPayload {
    /// `inner`, timing out after `timeout` without a byte; `fired` is set when it does.
    pub fn new(inner: Payload, timeout: Duration, fired: Arc<AtomicBool>) -> Self {
        TimedPayload { inner, timeout, sleep: None, fired, done: false }
    }
}

impl Stream for TimedPayload {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(item) => {
                this.sleep = None;
                if item.is_none() {
                    this.done = true;
                }
                Poll::Ready(item)
            }
            Poll::Pending => {
                let timeout = this.timeout;
                let sleep = this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match sleep.as_mut().poll(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(()) => {
                        this.done = true;
                        this.sleep = None;
                        this.fired.store(true, Ordering::SeqCst);
                        let message = format!("no byte of the request body for {} s", timeout.as_secs());
                        Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            message,
                        )))))
                    }
                }
            }
        }
    }
}

/// A WebSocket upgrade (`GET` with `Upgrade`): no other `GET` handler reads a body.
fn is_upgrade(req: &ServiceRequest) -> bool {
    req.method() == actix_web::http::Method::GET && req.headers().contains_key(header::UPGRADE)
}

/// The 408 answer of a body that stopped arriving.
fn timed_out(timeout: Duration) -> HttpResponse {
    let detail = format!(
        "The request body stopped arriving: nothing was received for {} s (KAFKAML_BODY_TIMEOUT); nothing was \
         stored. Send the whole body without pausing.",
        timeout.as_secs()
    );
    HttpResponse::RequestTimeout()
        .insert_header((header::CONNECTION, "close"))
        .json(serde_json::json!({ "detail": detail }))
}

/// The middleware: reads the request's payload through a [`TimedPayload`] and turns the answer of
/// a request whose body timed out into `408 {"detail": …}`.
pub async fn guard(
    timeout: Duration,
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if is_upgrade(&req) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let fired = Arc::new(AtomicBool::new(false));
    let payload = TimedPayload::new(req.take_payload(), timeout, fired.clone());
    req.set_payload(Payload::from(Box::pin(payload) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>));
    let outcome = next.call(req).await;
    if !fired.load(Ordering::SeqCst) {
        return outcome.map(ServiceResponse::map_into_boxed_body);
    }
    tracing::info!(timeout_secs = timeout.as_secs(), "a request body stopped arriving: 408");
    match outcome {
        Ok(res) => {
            let (req, _) = res.into_parts();
            Ok(ServiceResponse::new(req, timed_out(timeout)))
        }
        // An error of an inner middleware: the same 408, as an error that renders it.
        Err(e) => {
            tracing::debug!(error = %e, "the handler failed after the body timed out");
            Err(actix_web::error::InternalError::from_response("request body timed out", timed_out(timeout)).into())
        }
    }
}
