//! In-memory fakes of [`ControlPublisher`] and [`PredictionSource`] for tests of callers (cargo
//! feature `test-support`): no broker, everything recorded.
//!
//! * [`FakePublisher`] records the control messages it acknowledged (key bytes and value) and can
//!   be made unavailable (every publication times out) or fail the next publications with any
//!   [`PublishError`].
//! * [`FakePredictionSource`] hands out subscriptions that receive what the test
//!   [pushes](FakePredictionSource::push) to their topic from then on, as a Kafka consumer that
//!   starts at the latest offset does; it records every subscription.
//!
//! Both are cheap handles over shared state: give a clone to the code under test and inspect the
//! original.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use kafkaml_messaging::fake::{FakePredictionSource, FakePublisher};
//! use kafkaml_messaging::{ControlMessage, ControlPublisher, PredictionSource};
//! use serde_json::json;
//!
//! let publisher = FakePublisher::new("control");
//! let body = json!({"topic": "data:0:0:10", "input_config": "{}"});
//! publisher.publish(&ControlMessage::from_request(300, body.as_object().unwrap()).unwrap()).await.unwrap();
//! assert_eq!(publisher.records(), [(vec![1, 44], r#"{"topic": "data:0:0:10", "input_config": {}}"#.to_owned())]);
//! publisher.set_unavailable(true);
//! assert!(publisher.publish(&publisher.published()[0]).await.is_err());
//!
//! let source = FakePredictionSource::new();
//! let mut stream = source.subscribe("out").await.unwrap();
//! assert_eq!(source.push("out", "0.9"), 1);
//! assert_eq!(stream.next().await.as_deref(), Some(&b"0.9"[..]));
//! # }
//! ```

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{mpsc, Notify};

use crate::message::ControlMessage;
use crate::predictions::{valid_topic, PredictionSource, PredictionStream, SubscribeError};
use crate::publisher::{ControlPublisher, PublishError};

/// The time limit an unavailable [`FakePublisher`] reports in its [`PublishError::Timeout`].
pub const FAKE_PUBLISH_TIMEOUT: Duration = Duration::from_secs(5);

/// Values a [`FakePredictionSource`] subscription buffers before [`FakePredictionSource::push`]
/// drops values for it.
pub const FAKE_SUBSCRIPTION_BUFFER: usize = 1024;

fn lock<T>(state: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the lock has failed already; the state is still usable.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Debug, Default)]
struct PublisherState {
    published: Vec<ControlMessage>,
    attempts: Vec<ControlMessage>,
    failing: VecDeque<PublishError>,
    fail_all: Option<PublishError>,
}

/// An in-memory [`ControlPublisher`]; see the [module documentation](self).
#[derive(Debug, Clone)]
pub struct FakePublisher {
    topic: String,
    state: Arc<Mutex<PublisherState>>,
}

impl FakePublisher {
    /// A working publisher to `topic`.
    pub fn new(topic: impl Into<String>) -> Self {
        Self { topic: topic.into(), state: Arc::default() }
    }

    /// The messages acknowledged, in order.
    pub fn published(&self) -> Vec<ControlMessage> {
        lock(&self.state).published.clone()
    }

    /// The messages acknowledged as Kafka records: key bytes and value text, in order.
    pub fn records(&self) -> Vec<(Vec<u8>, String)> {
        lock(&self.state).published.iter().map(|m| (m.key.clone(), m.value.clone())).collect()
    }

    /// Every message asked to be published, failed ones included, in order.
    pub fn attempts(&self) -> Vec<ControlMessage> {
        lock(&self.state).attempts.clone()
    }

    /// While `true`, every publication fails with [`PublishError::Timeout`] of
    /// [`FAKE_PUBLISH_TIMEOUT`] (a broker that is down); `false` works again.
    pub fn set_unavailable(&self, unavailable: bool) {
        lock(&self.state).fail_all = unavailable.then_some(PublishError::Timeout(FAKE_PUBLISH_TIMEOUT));
    }

    /// Every publication fails with `error` until [`FakePublisher::recover`].
    pub fn fail_all(&self, error: PublishError) {
        lock(&self.state).fail_all = Some(error);
    }

    /// The next `n` publications fail with `error`, then publishing works again.
    pub fn fail_next(&self, n: usize, error: PublishError) {
        lock(&self.state).failing.extend(std::iter::repeat_n(error, n));
    }

    /// Forgets every failure set: publishing works again.
    pub fn recover(&self) {
        let mut state = lock(&self.state);
        state.fail_all = None;
        state.failing.clear();
    }
}

#[async_trait]
impl ControlPublisher for FakePublisher {
    async fn publish(&self, message: &ControlMessage) -> Result<(), PublishError> {
        let mut state = lock(&self.state);
        state.attempts.push(message.clone());
        if let Some(error) = state.fail_all.clone().or_else(|| state.failing.pop_front()) {
            return Err(error);
        }
        state.published.push(message.clone());
        Ok(())
    }

    fn topic(&self) -> &str {
        &self.topic
    }
}

#[derive(Debug, Default)]
struct SourceState {
    subscriptions: Vec<String>,
    live: Vec<(String, mpsc::Sender<Vec<u8>>)>,
    error: Option<SubscribeError>,
}

impl SourceState {
    fn prune(&mut self) {
        self.live.retain(|(_, tx)| !tx.is_closed());
    }
}

/// An in-memory [`PredictionSource`]; see the [module documentation](self).
#[derive(Debug, Clone, Default)]
pub struct FakePredictionSource {
    state: Arc<Mutex<SourceState>>,
    subscribed: Arc<Notify>,
}

impl FakePredictionSource {
    /// A source without subscriptions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Delivers `value` to every live subscription of `topic`; returns how many it reached. As
    /// with Kafka, a subscription made later does not see it. A subscription whose reader lags
    /// [`FAKE_SUBSCRIPTION_BUFFER`] values behind misses it.
    pub fn push(&self, topic: &str, value: impl Into<Vec<u8>>) -> usize {
        let value = value.into();
        let mut state = lock(&self.state);
        state.prune();
        state.live.iter().filter(|(t, tx)| t == topic && tx.try_send(value.clone()).is_ok()).count()
    }

    /// Every topic subscribed to, in order, refused subscriptions excluded.
    pub fn subscriptions(&self) -> Vec<String> {
        lock(&self.state).subscriptions.clone()
    }

    /// How many subscriptions of `topic` are still read (not dropped).
    pub fn active_subscriptions(&self, topic: &str) -> usize {
        let mut state = lock(&self.state);
        state.prune();
        state.live.iter().filter(|(t, _)| t == topic).count()
    }

    /// Waits until `topic` has a live subscription; `false` when none came within `timeout`.
    pub async fn wait_for_subscription(&self, topic: &str, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.subscribed.notified();
            tokio::pin!(notified);
            // Registered before checking, so a subscription made in between is not missed.
            notified.as_mut().enable();
            if self.active_subscriptions(topic) > 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.active_subscriptions(topic) > 0;
            }
        }
    }

    /// Every subscription fails with `error` until [`FakePredictionSource::recover`].
    pub fn fail_with(&self, error: SubscribeError) {
        lock(&self.state).error = Some(error);
    }

    /// Forgets the error set with [`FakePredictionSource::fail_with`].
    pub fn recover(&self) {
        lock(&self.state).error = None;
    }

    /// Ends every live subscription (their streams yield `None`), as a source shutting down.
    pub fn close_all(&self) {
        lock(&self.state).live.clear();
    }
}

#[async_trait]
impl PredictionSource for FakePredictionSource {
    /// Refuses invalid topic names as the Kafka source does ([`SubscribeError::InvalidTopic`]).
    async fn subscribe(&self, topic: &str) -> Result<PredictionStream, SubscribeError> {
        if !valid_topic(topic) {
            return Err(SubscribeError::InvalidTopic(topic.to_owned()));
        }
        let (tx, stream) = PredictionStream::channel(FAKE_SUBSCRIPTION_BUFFER);
        {
            let mut state = lock(&self.state);
            if let Some(error) = &state.error {
                return Err(error.clone());
            }
            state.subscriptions.push(topic.to_owned());
            state.live.push((topic.to_owned(), tx));
        }
        self.subscribed.notify_waiters();
        Ok(stream)
    }
}

#[cfg(test)]
mod tests {

    use rdkafka::error::{KafkaError, RDKafkaErrorCode};
    use serde_json::json;

    use super::*;

    fn message(id: u64) -> ControlMessage {
        let body =
            json!({"input_format": "RAW", "deployment": id.to_string(), "input_config": "{}", "topic": "t:0:0:5"});
        ControlMessage::from_request(id, body.as_object().unwrap()).unwrap()
    }

    #[tokio::test]
    async fn publisher_records_keys_and_values() {
        let fake = FakePublisher::new("kafkaml-control");
        let publisher: Arc<dyn ControlPublisher> = Arc::new(fake.clone());
        assert_eq!(publisher.topic(), "kafkaml-control");
        publisher.publish(&message(7)).await.unwrap();
        publisher.publish(&message(300)).await.unwrap();
        assert_eq!(fake.published(), [message(7), message(300)]);
        let value = r#"{"input_format": "RAW", "input_config": {}, "topic": "t:0:0:5"}"#.to_owned();
        assert_eq!(fake.records(), [(vec![7], value.clone()), (vec![1, 44], value)]);
    }

    #[tokio::test]
    async fn publisher_can_be_unavailable_or_fail_the_next_messages() {
        let fake = FakePublisher::new("c");
        fake.set_unavailable(true);
        assert_eq!(fake.publish(&message(1)).await.unwrap_err(), PublishError::Timeout(FAKE_PUBLISH_TIMEOUT));
        fake.set_unavailable(false);
        fake.fail_next(2, PublishError::Closed);
        fake.publish(&message(2)).await.unwrap_err();
        assert_eq!(fake.publish(&message(3)).await.unwrap_err(), PublishError::Closed);
        fake.publish(&message(4)).await.unwrap();
        let refused = PublishError::Kafka(KafkaError::MessageProduction(RDKafkaErrorCode::TopicAuthorizationFailed));
        fake.fail_all(refused.clone());
        assert_eq!(fake.publish(&message(5)).await.unwrap_err(), refused);
        fake.recover();
        fake.publish(&message(6)).await.unwrap();
        assert_eq!(fake.published(), [message(4), message(6)]);
        assert_eq!(fake.attempts().iter().map(|m| m.deployment).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6]);
    }

    #[tokio::test]
    async fn subscriptions_receive_what_is_pushed_to_their_topic_from_then_on() {
        let fake = FakePredictionSource::new();
        let source: Arc<dyn PredictionSource> = Arc::new(fake.clone());
        assert_eq!(fake.push("out", "lost"), 0);
        let mut a = source.subscribe("out").await.unwrap();
        let mut b = source.subscribe("out").await.unwrap();
        let mut other = source.subscribe("other").await.unwrap();
        assert_eq!(fake.push("out", r#"{"values": [0.1, 0.9]}"#), 2);
        assert_eq!(fake.push("other", vec![0xff]), 1);
        assert_eq!(a.next().await.unwrap(), br#"{"values": [0.1, 0.9]}"#);
        assert_eq!(b.next().await.unwrap(), br#"{"values": [0.1, 0.9]}"#);
        assert_eq!(other.next().await.unwrap(), [0xff]);
        assert_eq!(fake.subscriptions(), ["out", "out", "other"]);
        assert_eq!(fake.active_subscriptions("out"), 2);
        drop(b);
        assert_eq!(fake.active_subscriptions("out"), 1);
        assert_eq!(fake.push("out", "x"), 1);
        fake.close_all();
        assert_eq!(a.next().await.unwrap(), b"x");
        assert_eq!(a.next().await, None);
    }

    #[tokio::test]
    async fn subscriptions_can_be_refused() {
        let fake = FakePredictionSource::new();
        assert_eq!(fake.subscribe("a b").await.unwrap_err(), SubscribeError::InvalidTopic("a b".into()));
        let down = SubscribeError::Kafka(KafkaError::Subscription("broker down".into()));
        fake.fail_with(down.clone());
        assert_eq!(fake.subscribe("out").await.unwrap_err(), down);
        fake.recover();
        assert!(fake.subscribe("out").await.is_ok());
        assert_eq!(fake.subscriptions(), ["out"]);
    }

    #[tokio::test]
    async fn a_test_can_wait_for_the_subscription() {
        let fake = FakePredictionSource::new();
        assert!(!fake.wait_for_subscription("out", Duration::from_millis(20)).await);
        let subscriber = fake.clone();
        let task = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let mut stream = subscriber.subscribe("out").await.unwrap();
            stream.next().await
        });
        assert!(fake.wait_for_subscription("out", Duration::from_secs(5)).await);
        assert_eq!(fake.push("out", "1"), 1);
        assert_eq!(task.await.unwrap().unwrap(), b"1");
    }
}
