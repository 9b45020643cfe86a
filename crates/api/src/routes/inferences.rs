//! `/inferences/…`, and the inference routes under a training result: `GET /results/inference/<id>`
//! (suggested input settings) and `POST /results/inference/<id>` (deploy one).

use actix_web::{delete, get, post, web, HttpResponse};
use kafkaml_domain::deploy::InferenceInput;
use kafkaml_domain::outputs::{Inference, InferenceInfo};
use kafkaml_persistence::repo::inferences;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::{json_body, typed, Id, State};
use crate::usecase::inference::{self as usecase, INVALID};

const TAG: &str = "inferences";

/// Lists inferences, newest first (the external cluster `token` is never included).
#[utoipa::path(tag = TAG, operation_id = "list_inferences", responses((status = 200, body = Vec<Inference>)))]
#[get("/inferences")]
pub async fn list_inferences(state: State) -> ApiResult<HttpResponse> {
    let list = state.db(|c| Ok(inferences::list(c)?)).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// One inference.
#[utoipa::path(tag = TAG, operation_id = "get_inference", params(("id" = i32, Path)),
    responses((status = 200, body = Inference), (status = 404, description = "Not found")))]
#[get("/inferences/{id}")]
pub async fn get_inference(state: State, id: Id) -> ApiResult<HttpResponse> {
    let row = state.db(move |c| Ok(inferences::find_row(c, id.0)?)).await?.ok_or_else(ApiError::not_found_detail)?;
    Ok(HttpResponse::Ok().json(Inference::from(row)))
}

/// Stops a deployed inference: deletes its ReplicationController (in its external cluster when it
/// has one) and marks it `stopped`. 200 empty.
#[utoipa::path(tag = TAG, operation_id = "stop_inference", params(("id" = i32, Path)),
    responses((status = 200, description = "Stopped"), (status = 400, body = String), (status = 404, body = String),
        (status = 502, body = String), (status = 503, body = String)))]
#[post("/inferences/{id}")]
pub async fn stop_inference(state: State, caller: Caller, id: Id) -> ApiResult<HttpResponse> {
    usecase::stop_inference(&state.ctx, &caller.actor(), id.0).await?;
    Ok(HttpResponse::Ok().finish())
}

/// Deletes a stopped inference (its row only). 200 empty.
#[utoipa::path(tag = TAG, operation_id = "delete_inference", params(("id" = i32, Path)),
    responses((status = 200, description = "Deleted"), (status = 400, body = String), (status = 404, body = String)))]
#[delete("/inferences/{id}")]
pub async fn delete_inference(state: State, caller: Caller, id: Id) -> ApiResult<HttpResponse> {
    usecase::delete_inference(&state.ctx, &caller.actor(), id.0).await?;
    Ok(HttpResponse::Ok().finish())
}

/// Suggested `input_format` and `input_config` for deploying an inference of result `id`: those of
/// its newest inference, else of the newest datasource of its deployment (for a model that feeds
/// a child model, with `data_reshape` from the model's input shape), else empty strings.
#[utoipa::path(tag = TAG, operation_id = "inference_info_of_result", params(("id" = i32, Path, description = "Training result id")),
    responses((status = 200, body = InferenceInfo), (status = 404, body = String), (status = 502, body = String)))]
#[get("/results/inference/{id}")]
pub async fn inference_info(state: State, id: Id) -> ApiResult<HttpResponse> {
    let info: InferenceInfo = usecase::suggest_inference_input(&state.ctx, id.0).await?;
    Ok(HttpResponse::Ok().json(info))
}

/// Deploys an inference of finished result `id` as a ReplicationController in the default cluster,
/// or in the external cluster given by `external_host` and `token` (write-only). A `model_result`
/// in the body must be `id`. When the controller cannot be created nothing is stored. 200 empty.
#[utoipa::path(tag = TAG, operation_id = "deploy_inference", params(("id" = i32, Path, description = "Training result id")),
    request_body = InferenceInput,
    responses((status = 200, description = "Deployed"), (status = 400, body = String), (status = 404, body = String),
        (status = 409, body = String), (status = 502, body = String), (status = 503, body = String)))]
#[post("/results/inference/{id}")]
pub async fn deploy_inference(state: State, caller: Caller, id: Id, body: web::Bytes) -> ApiResult<HttpResponse> {
    let input: InferenceInput = typed(json_body(&body, INVALID)?, INVALID)?;
    usecase::deploy_inference(&state.ctx, &caller.actor(), id.0, input).await?;
    Ok(HttpResponse::Ok().finish())
}
