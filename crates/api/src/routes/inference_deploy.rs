//! `POST /results/inference/<id>` (deploy an inference of a trained result) and
//! `POST /inferences/<id>` (stop it): the routes that drive inference ReplicationControllers
//! (contract §4.5, §4.6; design §3 items 5, 8, 10, 18).

use actix_web::{post, web, HttpResponse};
use kafkaml_domain::deploy::InferenceInput;
use kafkaml_domain::{InferenceStatus, ResultStatus};
use kafkaml_orchestration::inference::{inference_controller, inference_name, InferenceSpec};
use kafkaml_persistence::repo::inferences::{self, NewInference};
use kafkaml_persistence::repo::results;

use crate::cluster::{backend_url, inference_environment, inference_image};
use crate::error::{ApiError, ApiResult};
use crate::state::{json_body, typed, Id, State};

const TAG: &str = "inferences";
const INVALID: &str = "Inference not valid";

fn blank_to_none(value: &Option<String>) -> Option<String> {
    value.as_ref().map(|v| v.trim()).filter(|v| !v.is_empty()).map(str::to_owned)
}

fn new_inference(input: &InferenceInput, result_id: i32) -> NewInference {
    let now = kafkaml_domain::datetime::now();
    NewInference {
        status: InferenceStatus::Deployed.as_str().to_owned(),
        status_changed: now,
        model_result_id: Some(result_id),
        replicas: input.replicas,
        input_format: input.input_format.as_str().to_owned(),
        input_config: input.input_config.clone(),
        input_topic: input.input_topic.clone(),
        output_topic: input.output_topic.clone(),
        time: now,
        limit_: input.limit_value(),
        output_upper: input.output_upper.clone(),
        token: blank_to_none(&input.token),
        external_host: blank_to_none(&input.external_host),
        input_kafka_broker: input.input_kafka_broker.clone(),
        output_kafka_broker: input.output_kafka_broker.clone(),
        upper_kafka_broker: input.upper_kafka_broker.clone(),
    }
}

/// Deploys an inference of finished result `id` as a ReplicationController in the default cluster,
/// or in the external cluster given by `external_host` and `token` (write-only). A `model_result`
/// in the body must be `id`. When the controller cannot be created nothing is stored. 200 empty.
#[utoipa::path(tag = TAG, operation_id = "deploy_inference", params(("id" = i32, Path, description = "Training result id")),
    request_body = InferenceInput,
    responses((status = 200, description = "Deployed"), (status = 400, body = String), (status = 404, body = String),
        (status = 409, body = String), (status = 502, body = String), (status = 503, body = String)))]
#[post("/results/inference/{id}")]
pub async fn deploy_inference(state: State, id: Id, body: web::Bytes) -> ApiResult<HttpResponse> {
    let input: InferenceInput = typed(json_body(&body, INVALID)?, INVALID)?;
    input.check().map_err(|m| ApiError::bad_request(format!("{INVALID}: {m}")))?;
    if let Some(body_id) = input.model_result.0.filter(|b| *b != i64::from(id.0)) {
        return Err(ApiError::bad_request(format!(
            "{INVALID}: model_result {body_id} in the body is not the result {} of the URL.",
            id.0
        )));
    }
    let ctx = state
        .db(move |c| {
            results::find_context(c, id.0)?.ok_or_else(|| ApiError::not_found("Training result does not exist"))
        })
        .await?;
    if ctx.result.status() != Some(ResultStatus::Finished) {
        return Err(ApiError::bad_request(format!(
            "The training result is not finished (its status is {}): only trained models can serve inferences.",
            ctx.result.status
        )));
    }
    let image = inference_image(&state.settings, ctx.model.framework(), ctx.model.distributed)?;
    let env = inference_environment(&state.settings, backend_url(&state.settings)?);
    let cluster = state.cluster_for(input.external_cluster()).await?;
    let new = new_inference(&input, id.0);
    let inference_id = state.db(move |c| Ok(inferences::create(c, &new)?)).await?;
    let spec = InferenceSpec {
        inference_id,
        result_id: id.0,
        distributed: ctx.model.distributed,
        image,
        replicas: input.replicas,
        input_format: input.input_format.as_str().to_owned(),
        input_config: input.input_config.clone(),
        input_topic: input.input_topic.clone(),
        output_topic: input.output_topic.clone(),
        output_upper: input.output_upper.clone(),
        limit: input.limit_value(),
        input_kafka_broker: input.input_kafka_broker.clone(),
        output_kafka_broker: input.output_kafka_broker.clone(),
        upper_kafka_broker: input.upper_kafka_broker.clone(),
        gpumem: input.gpumem,
    };
    if let Err(e) = cluster.create_replication_controller(&inference_controller(&env, &spec)).await {
        state.db(move |c| Ok(inferences::remove(c, inference_id)?)).await?;
        return Err(e.into());
    }
    tracing::info!(inference.id = inference_id, result.id = id.0, cluster = %cluster.describe(), "inference deployed");
    Ok(HttpResponse::Ok().finish())
}

/// Stops a deployed inference: deletes its ReplicationController (in its external cluster when it
/// has one) and marks it `stopped`. 200 empty.
#[utoipa::path(tag = TAG, operation_id = "stop_inference", params(("id" = i32, Path)),
    responses((status = 200, description = "Stopped"), (status = 400, body = String), (status = 404, body = String),
        (status = 502, body = String), (status = 503, body = String)))]
#[post("/inferences/{id}")]
pub async fn stop_inference(state: State, id: Id) -> ApiResult<HttpResponse> {
    let row = state
        .db(move |c| inferences::find_row(c, id.0)?.ok_or_else(|| ApiError::not_found("Inference does not exist")))
        .await?;
    if row.fields.status != InferenceStatus::Deployed.as_str() {
        return Err(ApiError::bad_request(format!(
            "The inference is not running (its status is {}).",
            row.fields.status
        )));
    }
    let external = match (blank_to_none(&row.fields.external_host), blank_to_none(&row.fields.token)) {
        (Some(host), Some(token)) => Some((host, token)),
        _ => None,
    };
    let cluster = state.cluster_for(external.as_ref().map(|(h, t)| (h.as_str(), t.as_str()))).await?;
    let deletion = cluster.delete_replication_controller(&inference_name(id.0)).await?;
    state.db(move |c| Ok(inferences::set_status(c, id.0, InferenceStatus::Stopped)?)).await?;
    tracing::info!(inference.id = id.0, ?deletion, "inference stopped");
    Ok(HttpResponse::Ok().finish())
}
