//! Reading an inference output topic live (docs/contract.md §4.10): the [`PredictionSource`] trait, its
//! rdkafka implementation [`KafkaPredictionSource`], and [`render_prediction`], which turns one
//! Kafka message into the text frame the web UI expects.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::Message;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

/// Messages buffered between a subscription and its reader; when the reader is slower, the
/// subscription stops reading from Kafka until there is room again.
const BUFFER: usize = 64;

/// Why a subscription could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscribeError {
    /// The topic name cannot be subscribed to.
    #[error("invalid topic name {0:?}")]
    InvalidTopic(String),
    /// The consumer could not be created or subscribed.
    #[error("Kafka consumer error: {0}")]
    Kafka(#[from] KafkaError),
}

/// A live subscription: the values of the messages published on a topic after it started, in
/// order. [`PredictionStream::close`] stops it and returns once its consumer has left its group and
/// closed; dropping it stops it too, with the consumer closing in the background.
#[derive(Debug)]
pub struct PredictionStream {
    rx: mpsc::Receiver<Vec<u8>>,
    /// Resolves (sent or dropped) once the subscription's resources are released.
    released: Option<oneshot::Receiver<()>>,
}

/// Held by a subscription's producer side until everything the subscription used is released;
/// dropping it lets [`PredictionStream::close`] return.
#[derive(Debug)]
pub struct Released(#[expect(dead_code, reason = "held for its drop, which signals the stream")] oneshot::Sender<()>);

impl PredictionStream {
    /// A stream fed by the returned sender (for implementations and fakes); `capacity` ≥ 1. It
    /// holds nothing to release: [`PredictionStream::close`] returns at once.
    pub fn channel(capacity: usize) -> (mpsc::Sender<Vec<u8>>, PredictionStream) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (tx, PredictionStream { rx, released: None })
    }

    /// A stream fed by the returned sender whose [`PredictionStream::close`] waits until the
    /// returned [`Released`] is dropped (by the implementation, once its consumer is closed).
    pub fn channel_with_release(capacity: usize) -> (mpsc::Sender<Vec<u8>>, Released, PredictionStream) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let (done, released) = oneshot::channel();
        (tx, Released(done), PredictionStream { rx, released: Some(released) })
    }

    /// The next message value; `None` once the subscription has ended.
    pub async fn next(&mut self) -> Option<Vec<u8>> {
        self.rx.recv().await
    }

    /// Stops the subscription and waits until its consumer is closed, so that a caller never holds
    /// more than one consumer at a time.
    pub async fn close(mut self) {
        self.rx.close();
        if let Some(released) = self.released.take() {
            // An error means the sender was dropped: released all the same.
            let _ = released.await;
        }
    }
}

/// Starts subscriptions to prediction topics. Implemented by [`KafkaPredictionSource`]; tests use
/// the in-memory `FakePredictionSource` of the `test-support` feature.
#[async_trait]
pub trait PredictionSource: Send + Sync + 'static {
    /// Subscribes to `topic`, reading only messages published from now on.
    async fn subscribe(&self, topic: &str) -> Result<PredictionStream, SubscribeError>;
}

/// Subscriptions backed by rdkafka: every subscription is a consumer of its own, in a fresh
/// consumer group (a random UUID), starting at the latest offsets and never committing, so every
/// socket sees every new message and none of the past.
#[derive(Debug, Clone)]
pub struct KafkaPredictionSource {
    bootstrap_servers: String,
    active: Arc<AtomicUsize>,
}

impl KafkaPredictionSource {
    /// A source reading from `bootstrap_servers`.
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        KafkaPredictionSource { bootstrap_servers: bootstrap_servers.into(), active: Arc::new(AtomicUsize::new(0)) }
    }

    /// How many subscriptions still hold a Kafka consumer.
    pub fn active_subscriptions(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }
}

/// Decrements the active count when the subscription task has closed its consumer.
struct ActiveGuard(Arc<AtomicUsize>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether Kafka accepts `topic` as a topic name (ASCII letters, digits, `.`, `_`, `-`; at most
/// 249 characters; not `.` or `..`).
pub fn valid_topic(topic: &str) -> bool {
    !topic.is_empty()
        && topic.len() <= 249
        && topic != "."
        && topic != ".."
        && topic.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

#[async_trait]
impl PredictionSource for KafkaPredictionSource {
    async fn subscribe(&self, topic: &str) -> Result<PredictionStream, SubscribeError> {
        if !valid_topic(topic) {
            return Err(SubscribeError::InvalidTopic(topic.to_owned()));
        }
        let group = uuid::Uuid::new_v4().to_string();
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap_servers)
            .set("client.id", "kafkaml-backend-ws")
            .set("group.id", &group)
            .set("auto.offset.reset", "latest")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("fetch.wait.max.ms", "100")
            .set("queued.max.messages.kbytes", "1024")
            // Notice topics created after the subscription (an inference's output topic) soon.
            .set("topic.metadata.refresh.interval.ms", "5000")
            .create()?;
        consumer.subscribe(&[topic])?;
        let (tx, released, stream) = PredictionStream::channel_with_release(BUFFER);
        self.active.fetch_add(1, Ordering::SeqCst);
        let guard = ActiveGuard(self.active.clone());
        let topic = topic.to_owned();
        tracing::debug!(?topic, ?group, "prediction subscription started");
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tx.closed() => break,
                    received = consumer.recv() => match received {
                        Ok(message) => {
                            let value = message.payload().unwrap_or_default().to_vec();
                            if tx.send(value).await.is_err() {
                                break;
                            }
                        }
                        Err(e) => {
                            tracing::debug!(?topic, error = %e, "prediction subscription: Kafka error");
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    },
                }
            }
            tracing::debug!(?topic, ?group, "prediction subscription stopped");
            // Closing leaves the consumer group, which blocks: keep it off the async workers.
            let _ = tokio::task::spawn_blocking(move || {
                drop(consumer);
                drop(guard);
                // Last: `PredictionStream::close` returns once the consumer is gone.
                drop(released);
            })
            .await;
        });
        Ok(stream)
    }
}

/// The text frame sent to the web UI for one message value (docs/contract.md §4.10): with
/// `classification`, the index of the largest element of the message's JSON `values` array (nested
/// arrays are flattened, the first of equal maxima wins, as `numpy.argmax`), as a decimal string;
/// otherwise the value itself as UTF-8 text. `None` when the value does not fit (not UTF-8, or no
/// numeric `values`): such messages are skipped.
///
/// ```
/// use kafkaml_messaging::render_prediction;
/// let value = br#"{"values": [0.1, 0.7, 0.2]}"#;
/// assert_eq!(render_prediction(value, true).as_deref(), Some("1"));
/// assert_eq!(render_prediction(value, false).as_deref(), Some(r#"{"values": [0.1, 0.7, 0.2]}"#));
/// ```
pub fn render_prediction(value: &[u8], classification: bool) -> Option<String> {
    let text = std::str::from_utf8(value).ok()?;
    if !classification {
        return Some(text.to_owned());
    }
    let parsed: Value = serde_json::from_str(text).ok()?;
    let mut flat = Vec::new();
    flatten(parsed.get("values")?, &mut flat)?;
    let mut best: Option<(usize, f64)> = None;
    for (i, x) in flat.into_iter().enumerate() {
        if best.is_none_or(|(_, b)| x > b) {
            best = Some((i, x));
        }
    }
    best.map(|(i, _)| i.to_string())
}

fn flatten(v: &Value, out: &mut Vec<f64>) -> Option<()> {
    match v {
        Value::Number(n) => out.push(n.as_f64()?),
        Value::Bool(b) => out.push(if *b { 1.0 } else { 0.0 }),
        Value::Array(items) => {
            for item in items {
                flatten(item, out)?;
            }
        }
        _ => return None,
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::mocking::MockCluster;
    use rdkafka::producer::{FutureProducer, FutureRecord};
    use std::time::Instant;

    #[test]
    fn classification_frames_are_the_arg_max() {
        let r = |s: &str| render_prediction(s.as_bytes(), true);
        assert_eq!(r(r#"{"values": [0.1, 0.7, 0.2]}"#).as_deref(), Some("1"));
        assert_eq!(r(r#"{"values": [3, 1, 3]}"#).as_deref(), Some("0"));
        assert_eq!(r(r#"{"values": [[0.1, 0.2], [0.9, 0.3]]}"#).as_deref(), Some("2"));
        assert_eq!(r(r#"{"values": [-5]}"#).as_deref(), Some("0"));
        assert_eq!(r(r#"{"values": []}"#), None);
        assert_eq!(r(r#"{"values": ["a"]}"#), None);
        assert_eq!(r(r#"{"other": [1]}"#), None);
        assert_eq!(r("not json"), None);
        assert_eq!(render_prediction(&[0xff, 0xfe], false), None);
        assert_eq!(render_prediction(b"anything", false).as_deref(), Some("anything"));
    }

    #[test]
    fn topic_names_are_checked() {
        assert!(valid_topic("inference-out_1.v2"));
        for bad in ["", ".", "..", "a b", "a/b", "é"] {
            assert!(!valid_topic(bad), "{bad:?}");
        }
    }

    async fn produce(producer: &FutureProducer, topic: &str, value: &str) {
        producer.send(FutureRecord::<(), _>::to(topic).payload(value), Duration::from_secs(5)).await.unwrap();
    }

    #[tokio::test]
    async fn subscriptions_read_new_messages_and_stop_when_dropped() {
        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic("predictions", 1, 1).unwrap();
        let producer: FutureProducer =
            ClientConfig::new().set("bootstrap.servers", cluster.bootstrap_servers()).create().unwrap();
        produce(&producer, "predictions", "old").await;
        let source = KafkaPredictionSource::new(cluster.bootstrap_servers());
        let mut stream = source.subscribe("predictions").await.unwrap();
        assert_eq!(source.active_subscriptions(), 1);
        // The group joins in the background: publish until the first new message arrives.
        let deadline = Instant::now() + Duration::from_secs(30);
        let first = loop {
            produce(&producer, "predictions", "new").await;
            if let Ok(Some(v)) = tokio::time::timeout(Duration::from_millis(500), stream.next()).await {
                break v;
            }
            assert!(Instant::now() < deadline, "no message within 30 s");
        };
        assert_eq!(first, b"new");
        drop(stream);
        let deadline = Instant::now() + Duration::from_secs(20);
        while source.active_subscriptions() > 0 {
            assert!(Instant::now() < deadline, "the consumer was not closed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test]
    async fn close_returns_once_the_consumer_is_closed() {
        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic("predictions", 1, 1).unwrap();
        let source = KafkaPredictionSource::new(cluster.bootstrap_servers());
        for _ in 0..3 {
            let stream = source.subscribe("predictions").await.unwrap();
            assert_eq!(source.active_subscriptions(), 1);
            stream.close().await;
            // Not "soon": already.
            assert_eq!(source.active_subscriptions(), 0);
        }
        let (_tx, stream) = PredictionStream::channel(1);
        stream.close().await;
        let (tx, released, stream) = PredictionStream::channel_with_release(1);
        let closing = tokio::spawn(stream.close());
        tx.closed().await;
        assert!(!closing.is_finished());
        drop(released);
        closing.await.unwrap();
    }

    #[tokio::test]
    async fn invalid_topics_are_refused() {
        let source = KafkaPredictionSource::new("127.0.0.1:1");
        assert!(matches!(source.subscribe("a b").await, Err(SubscribeError::InvalidTopic(_))));
        assert_eq!(source.active_subscriptions(), 0);
    }
}
