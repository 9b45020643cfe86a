//! Publish a datasource control message with `kafkaml-messaging` alone.
//!
//! A service that produces training data for a Kafka-ML deployment announces it on the control
//! topic, exactly as `POST /datasources/kafka` of the back-end does: the key is the deployment id
//! in minimal big-endian bytes, the value the datasource as Python's `json.dumps` writes it. The
//! training Job of that deployment reads the announcement and starts consuming `--data-topic`.
//!
//! ```text
//! cargo run -p kafkaml-examples --example publish_datasource -- \
//!     --bootstrap-servers localhost:9092 --control-topic KAFKA_ML_CONTROL_TOPIC \
//!     --deployment 1 --data-topic automl:0:0:70000 --total-msg 70000
//! ```
//!
//! Every option can also come from the environment (`BOOTSTRAP_SERVERS`, `CONTROL_TOPIC`, … as
//! the back-end reads them; see `--help`). Everything is bounded in time: without a broker the
//! program fails after about `--timeout-ms` (twice that with `--create-topic`), never hangs.

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use kafkaml_messaging::{
    decode_deployment_key, ensure_topic, ControlMessage, ControlPublisher, KafkaConfig, KafkaControlPublisher,
};
use serde_json::json;

/// Publishes one datasource control message and waits for the broker's acknowledgement.
#[derive(Debug, Parser)]
struct Args {
    /// Kafka bootstrap servers, `host:port[,host:port…]`.
    #[arg(long, env = "BOOTSTRAP_SERVERS", default_value = "localhost:9092")]
    bootstrap_servers: String,

    /// The Kafka-ML control topic.
    #[arg(long, env = "CONTROL_TOPIC", default_value = "KAFKA_ML_CONTROL_TOPIC")]
    control_topic: String,

    /// The deployment the data is for (the message key).
    #[arg(long, env = "DEPLOYMENT_ID", default_value_t = 1)]
    deployment: u64,

    /// Where the data is: `topic:partition:offset:length`.
    #[arg(long, env = "DATA_TOPIC", default_value = "automl:0:0:70000")]
    data_topic: String,

    /// How many messages the data topic holds for this datasource.
    #[arg(long, default_value_t = 70_000)]
    total_msg: u64,

    /// The longest the publication may take, acknowledgement included, in milliseconds.
    #[arg(long, env = "KAFKAML_KAFKA_TIMEOUT_MS", default_value_t = 5_000)]
    timeout_ms: u64,

    /// Create the control topic first when the broker lacks it.
    #[arg(long)]
    create_topic: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = KafkaConfig {
        bootstrap_servers: args.bootstrap_servers.clone(),
        control_topic: args.control_topic.clone(),
        timeout: Duration::from_millis(args.timeout_ms.max(1)),
    };

    // The datasource as the web UI posts it; `deployment` and `time` are left out of the value.
    let body = json!({
        "input_format": "RAW",
        "deployment": args.deployment.to_string(),
        "input_config": r#"{"data_type": "uint8", "label_type": "uint8", "data_reshape": "28 28", "label_reshape": ""}"#,
        "description": "published by the publish_datasource example",
        "topic": args.data_topic,
        "validation_rate": 0.1,
        "test_rate": 0.1,
        "total_msg": args.total_msg,
    });
    let fields = body.as_object().context("the datasource is a JSON object")?;
    let message = ControlMessage::from_request(args.deployment, fields).context("building the control message")?;

    if args.create_topic {
        let status = ensure_topic(&config).await.with_context(|| {
            format!("making sure topic {} exists on {}", config.control_topic, config.bootstrap_servers)
        })?;
        println!("control topic {}: {status:?}", config.control_topic);
    }

    // Creating the producer does not contact the broker; `publish` waits at most `config.timeout`.
    let publisher = KafkaControlPublisher::new(&config).context("creating the Kafka producer")?;
    publisher
        .publish(&message)
        .await
        .with_context(|| format!("publishing to {} on {}", publisher.topic(), config.bootstrap_servers))?;

    println!(
        "published to {}: key {:?} (deployment {:?}), value {}",
        publisher.topic(),
        message.key,
        decode_deployment_key(&message.key),
        message.value
    );
    Ok(())
}
