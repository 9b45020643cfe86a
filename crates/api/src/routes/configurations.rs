//! `/configurations/…`, `/frameworksInConfiguration/<id>`, `/distributedConfiguration/<id>`.

use actix_web::{delete, get, patch, post, put, web, HttpResponse};
use kafkaml_domain::inputs::{ConfigurationInput, ConfigurationPatch};
use kafkaml_domain::outputs::Configuration;
use kafkaml_persistence::repo::configurations;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::{json_body, typed, Id, State};
use crate::usecase::catalog::{self, INVALID};

const TAG: &str = "configurations";
const NOT_FOUND: &str = "Configuration does not exist";

/// Lists configurations, newest first, with their models and deployments.
#[utoipa::path(tag = TAG, operation_id = "list_configurations", responses((status = 200, body = Vec<Configuration>)))]
#[get("/configurations")]
pub async fn list_configurations(state: State) -> ApiResult<HttpResponse> {
    let list = state.db(|c| Ok(configurations::load(c, None)?)).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Creates a configuration; selecting a distributed root adds its whole chain. 201 empty.
#[utoipa::path(tag = TAG, operation_id = "create_configuration", request_body = ConfigurationInput,
    responses((status = 201, description = "Created"), (status = 400, body = String)))]
#[post("/configurations")]
pub async fn create_configuration(state: State, caller: Caller, body: web::Bytes) -> ApiResult<HttpResponse> {
    let input: ConfigurationInput = typed(json_body(&body, "Configuration not valid")?, "Configuration not valid")?;
    catalog::create_configuration(&state.ctx, &caller.actor(), input).await?;
    Ok(HttpResponse::Created().finish())
}

/// One configuration.
#[utoipa::path(tag = TAG, operation_id = "get_configuration", params(("id" = i32, Path)),
    responses((status = 200, body = Configuration), (status = 404, description = "Not found")))]
#[get("/configurations/{id}")]
pub async fn get_configuration(state: State, id: Id) -> ApiResult<HttpResponse> {
    let cfg = state.db(move |c| Ok(configurations::get(c, id.0)?)).await?.ok_or_else(ApiError::not_found_detail)?;
    Ok(HttpResponse::Ok().json(cfg))
}

/// Replaces a configuration's name, description and models (chains expanded). 200 empty.
#[utoipa::path(tag = TAG, operation_id = "update_configuration", params(("id" = i32, Path)), request_body = ConfigurationInput,
    responses((status = 200, description = "Updated"), (status = 400, body = String), (status = 404, body = String)))]
#[put("/configurations/{id}")]
pub async fn update_configuration(state: State, caller: Caller, id: Id, body: web::Bytes) -> ApiResult<HttpResponse> {
    // An unknown id is answered before the body is looked at.
    if !catalog::configuration_exists(&state.ctx, id.0).await? {
        return Err(ApiError::not_found(NOT_FOUND));
    }
    let input: ConfigurationInput = typed(json_body(&body, INVALID)?, INVALID)?;
    catalog::update_configuration(&state.ctx, &caller.actor(), id.0, input).await?;
    Ok(HttpResponse::Ok().finish())
}

/// Changes some fields of a configuration; models are kept unless `ml_models` is given.
#[utoipa::path(tag = TAG, operation_id = "patch_configuration", params(("id" = i32, Path)), request_body = ConfigurationPatch,
    responses((status = 200, body = Configuration), (status = 400, body = String), (status = 404, description = "Not found")))]
#[patch("/configurations/{id}")]
pub async fn patch_configuration(state: State, caller: Caller, id: Id, body: web::Bytes) -> ApiResult<HttpResponse> {
    if !catalog::configuration_exists(&state.ctx, id.0).await? {
        return Err(ApiError::not_found_detail());
    }
    let patch: ConfigurationPatch = typed(json_body(&body, INVALID)?, INVALID)?;
    Ok(HttpResponse::Ok().json(catalog::patch_configuration(&state.ctx, &caller.actor(), id.0, patch).await?))
}

/// Deletes a configuration without deployments. 200 empty.
#[utoipa::path(tag = TAG, operation_id = "delete_configuration", params(("id" = i32, Path)),
    responses((status = 200, description = "Deleted"), (status = 400, body = String), (status = 404, body = String)))]
#[delete("/configurations/{id}")]
pub async fn delete_configuration(state: State, caller: Caller, id: Id) -> ApiResult<HttpResponse> {
    catalog::delete_configuration(&state.ctx, &caller.actor(), id.0).await?;
    Ok(HttpResponse::Ok().finish())
}

/// The distinct frameworks (`tf`, `pth`) of a configuration's models, sorted.
#[utoipa::path(tag = TAG, operation_id = "frameworks_in_configuration", params(("id" = i32, Path)),
    responses((status = 200, body = Vec<String>), (status = 404, body = String)))]
#[get("/frameworksInConfiguration/{id}")]
pub async fn frameworks_in_configuration(state: State, id: Id) -> ApiResult<HttpResponse> {
    let traits = state.db(move |c| Ok(configurations::model_traits(c, id.0)?)).await?;
    let (frameworks, _) = traits.ok_or_else(|| ApiError::not_found(NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(frameworks))
}

/// Whether any model of the configuration is distributed (`true`/`false`).
#[utoipa::path(tag = TAG, operation_id = "distributed_configuration", params(("id" = i32, Path)),
    responses((status = 200, body = bool, content_type = "application/json"), (status = 404, body = String)))]
#[get("/distributedConfiguration/{id}")]
pub async fn distributed_configuration(state: State, id: Id) -> ApiResult<HttpResponse> {
    let traits = state.db(move |c| Ok(configurations::model_traits(c, id.0)?)).await?;
    let (_, distributed) = traits.ok_or_else(|| ApiError::not_found(NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(distributed))
}
