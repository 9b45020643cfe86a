//! Publishing control messages: the [`ControlPublisher`] trait and its rdkafka implementation,
//! [`KafkaControlPublisher`], plus [`ensure_topic`], which creates the control topic when the broker
//! lacks it.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use crate::message::ControlMessage;

/// Where and how to talk to Kafka.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaConfig {
    /// `bootstrap.servers`: comma-separated `host:port` list.
    pub bootstrap_servers: String,
    /// The Kafka-ML control topic.
    pub control_topic: String,
    /// The longest a publication (or a start-up topic check) may take, acknowledgement included.
    pub timeout: Duration,
}

/// Why a control message was not published. Every variant means "the broker did not take it";
/// callers answer 503.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// No acknowledgement within the configured time (broker down, slow or unreachable).
    #[error("the Kafka broker did not acknowledge the message within {0:?}")]
    Timeout(Duration),
    /// The broker or the client refused the message.
    #[error("Kafka refused the message: {0}")]
    Kafka(#[from] KafkaError),
    /// The message could not be handed to the client (its queue was closed).
    #[error("the Kafka producer is closed")]
    Closed,
}

/// Publishes control messages. Implemented by [`KafkaControlPublisher`]; tests use the in-memory
/// `FakePublisher` of the `test-support` feature.
#[async_trait]
pub trait ControlPublisher: Send + Sync + 'static {
    /// Publishes `message` to the control topic and returns once the broker acknowledged it, or
    /// with an error within a bounded time.
    async fn publish(&self, message: &ControlMessage) -> Result<(), PublishError>;

    /// The topic messages go to.
    fn topic(&self) -> &str;
}

/// The rdkafka control publisher: one long-lived `FutureProducer` shared by every request.
///
/// Delivery is bounded twice: librdkafka gives up on the message after `message.timeout.ms`
/// (= [`KafkaConfig::timeout`]), and [`ControlPublisher::publish`] stops waiting at the same deadline
/// even if librdkafka's report is late. Messages are sent as soon as they are queued
/// (`linger.ms=0`) and acknowledged by all in-sync replicas (`acks=all`).
pub struct KafkaControlPublisher {
    producer: FutureProducer,
    topic: String,
    timeout: Duration,
}

impl std::fmt::Debug for KafkaControlPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaControlPublisher").field("topic", &self.topic).field("timeout", &self.timeout).finish()
    }
}

fn millis(d: Duration) -> String {
    d.as_millis().clamp(1, i32::MAX as u128).to_string()
}

/// librdkafka refuses connection set-up timeouts under one second.
fn setup_millis(d: Duration) -> String {
    millis(d.max(Duration::from_secs(1)))
}

impl KafkaControlPublisher {
    /// Creates the producer. This does not contact the broker (librdkafka connects in the
    /// background), so it succeeds when the broker is down; it fails only on invalid settings.
    pub fn new(config: &KafkaConfig) -> Result<Self, KafkaError> {
        let timeout = millis(config.timeout);
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &config.bootstrap_servers)
            .set("client.id", "kafkaml-backend")
            .set("acks", "all")
            .set("linger.ms", "0")
            .set("message.timeout.ms", &timeout)
            .set("request.timeout.ms", &timeout)
            .set("socket.connection.setup.timeout.ms", setup_millis(config.timeout))
            .create()?;
        Ok(KafkaControlPublisher { producer, topic: config.control_topic.clone(), timeout: config.timeout })
    }
}

#[async_trait]
impl ControlPublisher for KafkaControlPublisher {
    async fn publish(&self, message: &ControlMessage) -> Result<(), PublishError> {
        let started = Instant::now();
        let record = FutureRecord::to(&self.topic).key(&message.key).payload(&message.value);
        // Never wait for room in a full queue: a full queue means the broker is not keeping up.
        let delivery = self.producer.send(record, Timeout::After(Duration::ZERO));
        let outcome = match tokio::time::timeout(self.timeout, delivery).await {
            Err(_) => Err(PublishError::Timeout(self.timeout)),
            Ok(Ok(_)) => Ok(()),
            Ok(Err((KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut), _))) => {
                Err(PublishError::Timeout(self.timeout))
            }
            Ok(Err((e, _))) => Err(PublishError::Kafka(e)),
        };
        match &outcome {
            Ok(()) => tracing::debug!(
                topic = %self.topic, deployment.id = message.deployment, elapsed_ms = started.elapsed().as_millis() as u64,
                "control message acknowledged"
            ),
            Err(e) => tracing::warn!(
                topic = %self.topic, deployment.id = message.deployment, error = %e, "control message not published"
            ),
        }
        outcome
    }

    fn topic(&self) -> &str {
        &self.topic
    }
}

/// What [`ensure_topic`] found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicStatus {
    /// The broker already had the topic.
    Existed,
    /// The topic was created (one partition, replication factor `min(3, brokers)`).
    Created,
}

/// Why [`ensure_topic`] could not make sure the topic exists.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    /// The broker did not answer in time or refused the request.
    #[error(transparent)]
    Kafka(#[from] KafkaError),
    /// The topic creation was refused.
    #[error("creating topic {0} failed: {1}")]
    Create(String, RDKafkaErrorCode),
    /// The blocking admin task failed.
    #[error("the topic check could not run: {0}")]
    Task(String),
}

/// Creates `config.control_topic` when the broker lacks it (many brokers do not auto-create
/// topics). One partition keeps the control messages in order; the replication factor is
/// `min(3, number of brokers)`. Takes at most about `2 × config.timeout`; an error means the
/// broker is down or refused (the caller logs it and goes on).
///
/// The blocking admin calls run on a thread of their own rather than tokio's blocking pool: a
/// runtime that shuts down while the broker is unreachable does not wait for them.
pub async fn ensure_topic(config: &KafkaConfig) -> Result<TopicStatus, TopicError> {
    let config = config.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("kafkaml-topic-check".to_owned())
        .spawn(move || {
            let _ = tx.send(ensure_topic_blocking(&config));
        })
        .map_err(|e| TopicError::Task(e.to_string()))?;
    rx.await.map_err(|_| TopicError::Task("the topic check thread ended without an answer".to_owned()))?
}

fn ensure_topic_blocking(config: &KafkaConfig) -> Result<TopicStatus, TopicError> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &config.bootstrap_servers)
        .set("client.id", "kafkaml-backend-admin")
        .set("socket.connection.setup.timeout.ms", setup_millis(config.timeout))
        .create()?;
    // Listing every topic never triggers the broker's auto-creation (naming one may).
    let metadata = admin.inner().fetch_metadata(None, config.timeout)?;
    if metadata.topics().iter().any(|t| t.name() == config.control_topic && t.error().is_none()) {
        return Ok(TopicStatus::Existed);
    }
    let replication = (metadata.brokers().len() as i32).clamp(1, 3);
    let topic = NewTopic::new(&config.control_topic, 1, TopicReplication::Fixed(replication));
    let options = AdminOptions::new().request_timeout(Some(config.timeout)).operation_timeout(Some(config.timeout));
    let results = futures::executor::block_on(admin.create_topics([&topic], &options))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => return Err(TopicError::Create(name, code)),
        }
    }
    Ok(TopicStatus::Created)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::decode_deployment_key;
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::mocking::MockCluster;
    use rdkafka::Message;
    use serde_json::json;

    fn config(bootstrap: String, topic: &str, timeout: Duration) -> KafkaConfig {
        KafkaConfig { bootstrap_servers: bootstrap, control_topic: topic.to_owned(), timeout }
    }

    fn message(id: u64) -> ControlMessage {
        let body = json!({"input_format": "RAW", "deployment": id.to_string(), "input_config": "{\"data_type\": \"uint8\"}",
            "topic": "data:0:0:10", "time": "2024-05-01T10:00:00Z"});
        ControlMessage::from_request(id, body.as_object().unwrap()).unwrap()
    }

    async fn read_one(bootstrap: &str, topic: &str) -> (Vec<u8>, String) {
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", "test-reader")
            .set("auto.offset.reset", "earliest")
            .create()
            .unwrap();
        consumer.subscribe(&[topic]).unwrap();
        let msg = tokio::time::timeout(Duration::from_secs(20), consumer.recv()).await.unwrap().unwrap();
        (msg.key().unwrap().to_vec(), String::from_utf8(msg.payload().unwrap().to_vec()).unwrap())
    }

    // MockCluster is !Send: it lives in the test body, on the current-thread runtime.
    #[tokio::test]
    async fn publishes_key_and_value_and_waits_for_the_ack() {
        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic("control", 1, 1).unwrap();
        let publisher =
            KafkaControlPublisher::new(&config(cluster.bootstrap_servers(), "control", Duration::from_secs(5)))
                .unwrap();
        assert_eq!(publisher.topic(), "control");
        publisher.publish(&message(300)).await.unwrap();
        let (key, value) = read_one(&cluster.bootstrap_servers(), "control").await;
        assert_eq!(key, vec![1, 44]);
        assert_eq!(decode_deployment_key(&key), Some(300));
        assert_eq!(value, r#"{"input_format": "RAW", "input_config": {"data_type": "uint8"}, "topic": "data:0:0:10"}"#);
    }

    #[tokio::test]
    async fn broker_down_is_an_error_within_the_timeout() {
        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic("control", 1, 1).unwrap();
        let timeout = Duration::from_millis(800);
        let publisher = KafkaControlPublisher::new(&config(cluster.bootstrap_servers(), "control", timeout)).unwrap();
        publisher.publish(&message(1)).await.unwrap();
        cluster.broker_down(1).unwrap();
        let started = Instant::now();
        let err = publisher.publish(&message(2)).await.unwrap_err();
        let elapsed = started.elapsed();
        assert!(matches!(err, PublishError::Timeout(t) if t == timeout), "{err:?}");
        assert!(elapsed >= timeout / 2 && elapsed < timeout + Duration::from_millis(300), "took {elapsed:?}");
        // The producer is long-lived: once the broker is back, publishing works again.
        cluster.broker_up(1).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match publisher.publish(&message(3)).await {
                Ok(()) => break,
                Err(e) if Instant::now() < deadline => tracing::debug!(%e, "retrying"),
                Err(e) => panic!("the producer did not recover: {e}"),
            }
        }
    }

    #[tokio::test]
    async fn a_slow_broker_is_an_error_within_the_timeout() {
        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic("control", 1, 1).unwrap();
        let timeout = Duration::from_millis(600);
        let publisher = KafkaControlPublisher::new(&config(cluster.bootstrap_servers(), "control", timeout)).unwrap();
        publisher.publish(&message(1)).await.unwrap();
        cluster.broker_round_trip_time(1, Duration::from_secs(3)).unwrap();
        let started = Instant::now();
        let err = publisher.publish(&message(2)).await.unwrap_err();
        assert!(matches!(err, PublishError::Timeout(_)), "{err:?}");
        assert!(started.elapsed() < timeout + Duration::from_millis(300), "took {:?}", started.elapsed());
    }

    #[tokio::test]
    async fn unreachable_bootstrap_servers_fail_within_the_timeout() {
        // Nothing listens on port 1 of the loopback interface.
        let timeout = Duration::from_millis(500);
        let publisher = KafkaControlPublisher::new(&config("127.0.0.1:1".into(), "control", timeout)).unwrap();
        let started = Instant::now();
        assert!(publisher.publish(&message(1)).await.is_err());
        assert!(started.elapsed() < timeout + Duration::from_millis(300), "took {:?}", started.elapsed());
        let started = Instant::now();
        assert!(ensure_topic(&config("127.0.0.1:1".into(), "control", timeout)).await.is_err());
        assert!(started.elapsed() < timeout * 3, "took {:?}", started.elapsed());
    }

    #[tokio::test]
    async fn ensure_topic_finds_an_existing_topic() {
        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic("kafkaml-control", 1, 1).unwrap();
        let cfg = config(cluster.bootstrap_servers(), "kafkaml-control", Duration::from_secs(5));
        assert_eq!(ensure_topic(&cfg).await.unwrap(), TopicStatus::Existed);
        // The mock cluster has no CreateTopics: a missing topic is an error within the bound (the
        // creation itself is tested end to end against tansu).
        let cfg = config(cluster.bootstrap_servers(), "missing", Duration::from_secs(1));
        let started = Instant::now();
        assert!(ensure_topic(&cfg).await.is_err());
        assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    }
}
