//! `/models/…`: model definitions, checked by the executors before they are stored.

use actix_web::{delete, get, patch, post, put, web, HttpResponse};
use kafkaml_domain::inputs::{ModelInput, ModelPatch};
use kafkaml_domain::outputs::MlModel;
use kafkaml_persistence::repo::models::{self, ModelFilter};
use kafkaml_persistence::repo::results;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::{json_body, typed, Id, State};
use crate::usecase::catalog::{self, INVALID};
use crate::usecase::Missing;

const TAG: &str = "models";

/// Lists every model.
#[utoipa::path(tag = TAG, operation_id = "list_models", responses((status = 200, body = Vec<MlModel>)))]
#[get("/models")]
pub async fn list_models(state: State) -> ApiResult<HttpResponse> {
    let list = state.db(|c| Ok(models::list(c, ModelFilter::All)?)).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Creates a model after the executor of its framework validated its code. 201 with an empty body.
#[utoipa::path(tag = TAG, operation_id = "create_model", request_body = ModelInput,
    responses((status = 201, description = "Created"), (status = 400, description = "Invalid model", body = String),
        (status = 502, description = "Executor failed"), (status = 503, description = "Executor unreachable")))]
#[post("/models")]
pub async fn create_model(state: State, caller: Caller, body: web::Bytes) -> ApiResult<HttpResponse> {
    let input: ModelInput = typed(json_body(&body, INVALID)?, INVALID)?;
    catalog::create_model(&state.ctx, &caller.actor(), input).await?;
    Ok(HttpResponse::Created().finish())
}

/// Lists the models that are part of a distributed chain.
#[utoipa::path(tag = TAG, operation_id = "list_distributed_models", responses((status = 200, body = Vec<MlModel>)))]
#[get("/models/distributed")]
pub async fn list_distributed(state: State) -> ApiResult<HttpResponse> {
    let list = state.db(|c| Ok(models::list(c, ModelFilter::Distributed)?)).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Lists the models without a father (non-distributed models and chain roots).
#[utoipa::path(tag = TAG, operation_id = "list_father_models", responses((status = 200, body = Vec<MlModel>)))]
#[get("/models/fathers")]
pub async fn list_fathers(state: State) -> ApiResult<HttpResponse> {
    let list = state.db(|c| Ok(models::list(c, ModelFilter::Fathers)?)).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// One model.
#[utoipa::path(tag = TAG, operation_id = "get_model", params(("id" = i32, Path)),
    responses((status = 200, body = MlModel), (status = 404, description = "Not found")))]
#[get("/models/{id}")]
pub async fn get_model(state: State, id: Id) -> ApiResult<HttpResponse> {
    let model = state.db(move |c| Ok(models::get(c, id.0)?)).await?.ok_or_else(ApiError::not_found_detail)?;
    Ok(HttpResponse::Ok().json(model))
}

/// Replaces a model; its code is checked again when code or framework changed. 200 empty.
#[utoipa::path(tag = TAG, operation_id = "update_model", params(("id" = i32, Path)), request_body = ModelInput,
    responses((status = 200, description = "Updated"), (status = 400, body = String), (status = 404, body = String)))]
#[put("/models/{id}")]
pub async fn update_model(state: State, caller: Caller, id: Id, body: web::Bytes) -> ApiResult<HttpResponse> {
    // An unknown id is answered before the body is looked at.
    let current = catalog::find_model(&state.ctx, id.0, Missing::Model).await?;
    let input: ModelInput = typed(json_body(&body, INVALID)?, INVALID)?;
    catalog::update_model(&state.ctx, &caller.actor(), current, input).await?;
    Ok(HttpResponse::Ok().finish())
}

/// Changes some fields of a model and answers the updated model. A changed code or framework is
/// checked by the executor, as with `PUT`.
#[utoipa::path(tag = TAG, operation_id = "patch_model", params(("id" = i32, Path)), request_body = ModelPatch,
    responses((status = 200, body = MlModel), (status = 400, body = String), (status = 404, description = "Not found")))]
#[patch("/models/{id}")]
pub async fn patch_model(state: State, caller: Caller, id: Id, body: web::Bytes) -> ApiResult<HttpResponse> {
    let current = catalog::find_model(&state.ctx, id.0, Missing::Object).await?;
    let patch: ModelPatch = typed(json_body(&body, INVALID)?, INVALID)?;
    Ok(HttpResponse::Ok().json(catalog::patch_model(&state.ctx, &caller.actor(), current, patch).await?))
}

/// Deletes a model that no configuration uses, with its training results and their files. 200 empty.
#[utoipa::path(tag = TAG, operation_id = "delete_model", params(("id" = i32, Path)),
    responses((status = 200, description = "Deleted"), (status = 400, body = String), (status = 404, body = String)))]
#[delete("/models/{id}")]
pub async fn delete_model(state: State, caller: Caller, id: Id) -> ApiResult<HttpResponse> {
    catalog::delete_model(&state.ctx, &caller.actor(), id.0).await?;
    Ok(HttpResponse::Ok().finish())
}

/// The model of training result `id` (what the inference and IoT forms read).
#[utoipa::path(tag = TAG, operation_id = "get_model_of_result", params(("id" = i32, Path, description = "Training result id")),
    responses((status = 200, body = MlModel), (status = 404, body = String)))]
#[get("/models/result/{id}")]
pub async fn model_of_result(state: State, id: Id) -> ApiResult<HttpResponse> {
    let model = state
        .db(move |c| {
            let ctx =
                results::find_context(c, id.0)?.ok_or_else(|| ApiError::not_found("Training result does not exist"))?;
            models::get(c, ctx.model.id)?.ok_or_else(|| ApiError::not_found("Training result does not exist"))
        })
        .await?;
    Ok(HttpResponse::Ok().json(model))
}
