//! `POST /datasources/kafka`: publishes a known datasource to the control topic for a (new)
//! deployment (contract §4.7, §5.2.1), and the Kafka clients the application starts with.

use std::sync::Arc;

use actix_web::{post, web, HttpResponse};
use kafkaml_domain::inputs::DatasourceInput;
use kafkaml_messaging::{
    ensure_topic, ControlMessage, ControlPublisher, KafkaConfig, KafkaControlPublisher, KafkaPredictionSource,
    PredictionSource, TopicStatus,
};
use kafkaml_persistence::repo::deployments;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::settings::Settings;
use crate::state::{json_body, typed, State};

const INVALID: &str = "Datasource not valid";

/// The Kafka clients of the application.
#[derive(Default)]
pub struct KafkaClients {
    /// The control publisher (`BOOTSTRAP_SERVERS` and `CONTROL_TOPIC` set).
    pub publisher: Option<Arc<dyn ControlPublisher>>,
    /// The prediction source of the WebSocket (`BOOTSTRAP_SERVERS` set).
    pub predictions: Option<Arc<dyn PredictionSource>>,
}

/// The Kafka clients from `BOOTSTRAP_SERVERS` and `CONTROL_TOPIC`. When the publisher exists, a
/// background task creates the control topic if the broker lacks it, and only warns when the
/// broker does not answer: start-up never waits for Kafka.
pub fn connect(settings: &Settings) -> anyhow::Result<KafkaClients> {
    let set = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let Some(bootstrap_servers) = set(&settings.kafka.bootstrap_servers) else {
        tracing::info!("BOOTSTRAP_SERVERS is not set: Kafka endpoints answer 503");
        return Ok(KafkaClients::default());
    };
    let predictions: Arc<dyn PredictionSource> = Arc::new(KafkaPredictionSource::new(bootstrap_servers.clone()));
    let Some(control_topic) = set(&settings.kafka.control_topic) else {
        tracing::info!("CONTROL_TOPIC is not set: POST /datasources/kafka answers 503");
        return Ok(KafkaClients { publisher: None, predictions: Some(predictions) });
    };
    let config = KafkaConfig { bootstrap_servers, control_topic, timeout: settings.kafka.timeout() };
    let publisher = KafkaControlPublisher::new(&config)?;
    tokio::spawn(async move {
        match ensure_topic(&config).await {
            Ok(TopicStatus::Created) => tracing::info!(topic = %config.control_topic, "created the control topic"),
            Ok(TopicStatus::Existed) => tracing::debug!(topic = %config.control_topic, "the control topic exists"),
            Err(e) => tracing::warn!(
                topic = %config.control_topic, bootstrap_servers = %config.bootstrap_servers, error = %e,
                "could not make sure the control topic exists; going on"
            ),
        }
    });
    Ok(KafkaClients { publisher: Some(Arc::new(publisher)), predictions: Some(predictions) })
}

/// The deployment id of the body: a non-negative integer (as text or a number).
fn deployment_id(text: &str) -> ApiResult<i32> {
    text.trim()
        .parse::<i32>()
        .ok()
        .filter(|id| *id >= 0)
        .ok_or_else(|| ApiError::bad_request(format!("{INVALID}: deployment: \"{text}\" is not a deployment id.")))
}

/// Publishes a datasource (a row of `GET /datasources/` with `deployment` set to the target
/// deployment) to the control topic: key = the deployment id in minimal big-endian bytes, value =
/// the body minus `deployment` and `time` with `input_config` as an object (`json.dumps` format).
/// 201 empty once the broker acknowledged it; 503 when Kafka is not configured or the broker does
/// not acknowledge within `KAFKAML_KAFKA_TIMEOUT` seconds. Nothing is stored: the control logger
/// records the datasource through `POST /datasources/` when it reads the message.
#[utoipa::path(tag = "datasources", operation_id = "publish_datasource", request_body = DatasourceInput,
    responses((status = 201, description = "Published and acknowledged by the broker"),
        (status = 400, body = String, description = "Invalid datasource"),
        (status = 404, body = String, description = "Unknown deployment"),
        (status = 503, body = String, description = "Kafka not configured, down or slow")))]
#[post("/datasources/kafka")]
pub async fn publish_datasource(state: State, body: web::Bytes) -> ApiResult<HttpResponse> {
    let raw = json_body(&body, INVALID)?;
    // Validate as the serializer does; an `input_config` object is checked as its JSON text.
    let mut checked = raw.clone();
    if let Some(Value::Object(config)) = checked.get("input_config") {
        let text = Value::String(Value::Object(config.clone()).to_string());
        checked["input_config"] = text;
    }
    let input: DatasourceInput = typed(checked, INVALID)?;
    let id = deployment_id(&input.deployment)?;
    let fields = raw.as_object().ok_or_else(|| ApiError::bad_request(format!("{INVALID}: send a JSON object.")))?;
    let message = ControlMessage::from_request(id as u64, fields)
        .map_err(|e| ApiError::bad_request(format!("{INVALID}: {e}")))?;
    let exists = state.db(move |c| Ok(deployments::find_row(c, id)?.is_some())).await?;
    if !exists {
        return Err(ApiError::not_found("Deployment does not exist"));
    }
    let publisher = state.publisher.as_ref().ok_or_else(|| {
        ApiError::Unavailable("Kafka is not configured: set BOOTSTRAP_SERVERS and CONTROL_TOPIC.".to_owned())
    })?;
    publisher.publish(&message).await.map_err(|e| {
        ApiError::Unavailable(format!("The datasource was not published to {}: {e}.", publisher.topic()))
    })?;
    tracing::info!(deployment.id = id, topic = %publisher.topic(), "datasource published to the control topic");
    Ok(HttpResponse::Created().finish())
}
