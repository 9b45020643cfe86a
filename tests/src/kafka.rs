//! Kafka helpers of the test kit: the test broker (`KAFKAML_TEST_KAFKA`, a `tansu` started by
//! `scripts/services.sh`), private `tansu` brokers a test may stop, topic creation, producing,
//! consuming, and a stand-in for the Kafka-ML control logger (docs/contract.md §6.5).

use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;
use serde_json::Value;

use crate::TestApp;

/// The broker address the test command provides (`scripts/test.sh` exports it).
pub const DEFAULT_TEST_KAFKA: &str = "127.0.0.1:19092";

fn answers(address: &str) -> bool {
    address
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .map(|a| TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_ok())
        .unwrap_or(false)
}

/// A missing test service is a failure, never a skip.
fn missing(what: &str) -> ! {
    panic!("{what} is required for this test (run scripts/test.sh, which starts it)");
}

/// A message read back from a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The key, when the message has one.
    pub key: Option<Vec<u8>>,
    /// The value.
    pub value: Vec<u8>,
    /// The message timestamp, in milliseconds since the epoch.
    pub timestamp_ms: Option<i64>,
}

impl Received {
    /// The value as UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8(self.value.clone()).unwrap()
    }
}

/// A Kafka-protocol broker the tests talk to.
#[derive(Debug, Clone)]
pub struct Kafka {
    /// `host:port` for `bootstrap.servers`.
    pub bootstrap: String,
}

/// A topic name no other test uses.
pub fn unique_topic(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

impl Kafka {
    /// The shared test broker: `KAFKAML_TEST_KAFKA`, else `127.0.0.1:19092`. Panics when it does
    /// not answer.
    pub fn from_env() -> Kafka {
        let bootstrap = std::env::var("KAFKAML_TEST_KAFKA")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_TEST_KAFKA.to_owned());
        if !answers(&bootstrap) {
            missing(&format!("a Kafka broker at {bootstrap} (KAFKAML_TEST_KAFKA)"));
        }
        Kafka { bootstrap }
    }

    fn admin(&self) -> AdminClient<DefaultClientContext> {
        ClientConfig::new().set("bootstrap.servers", &self.bootstrap).create().unwrap()
    }

    /// Creates `topic` with `partitions` partitions (replication 1); an existing topic is fine.
    pub async fn create_topic(&self, topic: &str, partitions: i32) {
        let admin = self.admin();
        let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
        let opts = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
        let results = admin.create_topics([&new], &opts).await.unwrap();
        for r in results {
            match r {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => panic!("creating topic {name}: {code}"),
            }
        }
    }

    /// Whether the broker lists `topic`.
    pub async fn topic_exists(&self, topic: &str) -> bool {
        let admin = self.admin();
        let topic = topic.to_owned();
        tokio::task::spawn_blocking(move || {
            let md = admin.inner().fetch_metadata(None, Duration::from_secs(5)).unwrap();
            md.topics().iter().any(|t| t.name() == topic && t.error().is_none())
        })
        .await
        .unwrap()
    }

    /// A producer for this broker.
    pub fn producer(&self) -> FutureProducer {
        ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .set("linger.ms", "0")
            .set("message.timeout.ms", "10000")
            .create()
            .unwrap()
    }

    /// Produces one message and waits for its acknowledgement.
    pub async fn produce(&self, topic: &str, key: Option<&[u8]>, value: &[u8]) {
        let producer = self.producer();
        let mut record = FutureRecord::to(topic).payload(value);
        if let Some(k) = key {
            record = record.key(k);
        }
        producer.send(record, Duration::from_secs(10)).await.map_err(|(e, _)| e).unwrap();
    }

    /// A consumer of `topic` in a fresh group, from the earliest offset.
    pub fn consumer(&self, topic: &str, group: &str) -> StreamConsumer {
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .set("group.id", group)
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", "100")
            .create()
            .unwrap();
        consumer.subscribe(&[topic]).unwrap();
        consumer
    }

    /// Reads `topic` from the beginning until `count` messages arrived or `within` passed; then
    /// keeps listening for `settle` more to catch extra messages. Returns what was read.
    pub async fn consume(&self, topic: &str, count: usize, within: Duration, settle: Duration) -> Vec<Received> {
        let consumer = self.consumer(topic, &unique_topic("reader"));
        let mut out = Vec::new();
        let deadline = Instant::now() + within;
        loop {
            let wait = if out.len() >= count { settle } else { deadline.saturating_duration_since(Instant::now()) };
            if wait.is_zero() {
                break;
            }
            match tokio::time::timeout(wait, consumer.recv()).await {
                Ok(Ok(m)) => out.push(Received {
                    key: m.key().map(<[u8]>::to_vec),
                    value: m.payload().unwrap_or_default().to_vec(),
                    timestamp_ms: m.timestamp().to_millis(),
                }),
                Ok(Err(e)) => eprintln!("consumer error (ignored): {e}"),
                Err(_) => break,
            }
        }
        tokio::task::spawn_blocking(move || drop(consumer)).await.unwrap();
        out
    }
}

/// The body the Kafka-ML control logger posts to `/datasources/` for a control message
/// (docs/contract.md §6.5): `deployment` = the key decoded big-endian, as text; `input_config` re-serialised
/// to JSON text by `json.dumps`; `time` = the message timestamp in UTC as `YYYY-MM-DDTHH:MM:SS`; every other key
/// kept.
pub fn control_logger_body(message: &Received) -> Value {
    let key = message.key.as_deref().expect("control messages have a key");
    let deployment = key.iter().fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
    let Value::Object(mut body) = serde_json::from_slice::<Value>(&message.value).unwrap() else {
        panic!("a control message is a JSON object")
    };
    body.insert("deployment".into(), Value::String(deployment.to_string()));
    if let Some(config) = body.get("input_config").cloned() {
        body.insert("input_config".into(), Value::String(kafkaml_domain::rules::python_json_dumps(&config)));
    }
    let millis = message.timestamp_ms.unwrap_or_default();
    let time = chrono::DateTime::from_timestamp_millis(millis).unwrap().naive_utc();
    body.insert("time".into(), Value::String(time.format("%Y-%m-%dT%H:%M:%S").to_string()));
    Value::Object(body)
}

/// Plays the control logger once: reads every message of the control topic (waiting up to `within`
/// for `expected` of them) and posts each to the application's `/datasources/`, as the real logger
/// does. Returns the messages read.
pub async fn run_control_logger(app: &TestApp, kafka: &Kafka, topic: &str, expected: usize) -> Vec<Received> {
    let messages = kafka.consume(topic, expected, Duration::from_secs(30), Duration::from_secs(1)).await;
    for m in &messages {
        let res = app.post_json("/datasources/", &control_logger_body(m)).await;
        assert!(res.status().is_success(), "the control logger's POST failed: {}", res.text().await.unwrap());
    }
    messages
}

/// The `tansu` binary: `KAFKAML_TEST_TANSU`, else `tansu` on `PATH`, else `~/.cargo/bin/tansu`.
pub fn tansu_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("KAFKAML_TEST_TANSU") {
        return Some(PathBuf::from(p));
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("tansu"))
        .find(|p| p.is_file());
    on_path.or_else(|| {
        let home = PathBuf::from(std::env::var_os("HOME")?);
        Some(home.join(".cargo/bin/tansu")).filter(|p| p.is_file())
    })
}

/// A private `tansu` broker (in-memory storage) on a free loopback port, for tests that stop it.
/// Killed when dropped.
pub struct TansuBroker {
    /// `127.0.0.1:PORT`.
    pub bootstrap: String,
    child: Option<Child>,
}

impl TansuBroker {
    /// Starts a broker and waits until it answers. Panics when the binary is missing.
    pub async fn start() -> TansuBroker {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut broker = TansuBroker { bootstrap: format!("127.0.0.1:{port}"), child: None };
        broker.restart().await;
        broker
    }

    /// Starts the broker again on the same address (after [`TansuBroker::stop`]), empty: its
    /// storage is in memory, so topics must be created again. Waits until it answers.
    pub async fn restart(&mut self) {
        self.stop();
        let Some(binary) = tansu_binary() else {
            missing("the tansu binary (cargo install tansu --locked --features dynostore)");
        };
        let url = format!("tcp://{}", self.bootstrap);
        let child = Command::new(&binary)
            .args(["--storage-engine", "memory://tansu/", "--listener-url", &url, "--advertised-listener-url", &url])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !answers(&self.bootstrap) {
            assert!(Instant::now() < deadline, "tansu did not start on {}", self.bootstrap);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// This broker as a [`Kafka`].
    pub fn kafka(&self) -> Kafka {
        Kafka { bootstrap: self.bootstrap.clone() }
    }

    /// Kills the broker and waits until its port no longer answers.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while answers(&self.bootstrap) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TansuBroker {
    fn drop(&mut self) {
        self.stop();
    }
}

impl TestApp {
    /// Stores a deployment with the given id (and no training results) directly in the database.
    pub fn seed_deployment_with_id(&self, configuration: i64, id: i64) {
        use diesel::connection::SimpleConnection;
        let mut conn = self.db.connect();
        conn.batch_execute(&format!(
            "INSERT INTO automl_deployment (id, configuration_id, time) VALUES ({id}, {configuration}, '2024-05-01 10:00:00')"
        ))
        .unwrap();
    }
}
