//! `POST /datasources/kafka`: publishes a known datasource to the control topic for a (new)
//! deployment (docs/contract.md §4.7, §5.2.1).

use actix_web::{post, web, HttpResponse};
use kafkaml_domain::inputs::DatasourceInput;
use serde_json::Value;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::{json_body, typed, State};
use crate::usecase::datasources::{publish_datasource as publish, PublishDatasource, INVALID};

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
pub async fn publish_datasource(state: State, caller: Caller, body: web::Bytes) -> ApiResult<HttpResponse> {
    let raw = json_body(&body, INVALID)?;
    // Validate as the serializer does; an `input_config` object is checked as its JSON text.
    let mut checked = raw.clone();
    if let Some(Value::Object(config)) = checked.get("input_config") {
        checked["input_config"] = Value::String(Value::Object(config.clone()).to_string());
    }
    let input: DatasourceInput = typed(checked, INVALID)?;
    let Value::Object(fields) = raw else {
        return Err(ApiError::bad_request(format!("{INVALID}: send a JSON object.")));
    };
    publish(&state.ctx, &caller.actor(), PublishDatasource { input, fields, stored: None }).await?;
    Ok(HttpResponse::Created().finish())
}
