//! `/deployments/…`: training launches.

use actix_web::{delete, get, post, web, HttpResponse};
use kafkaml_domain::deploy::DeploymentInput;
use kafkaml_domain::outputs::{Deployment, TrainingResult};
use kafkaml_persistence::repo::{configurations, deployments, results};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::{json_body, typed, Id, State};
use crate::usecase::catalog::delete_deployment as remove_deployment;
use crate::usecase::training::{deploy_training, INVALID};

const TAG: &str = "deployments";

/// Lists deployments, newest first, with their results.
#[utoipa::path(tag = TAG, operation_id = "list_deployments", responses((status = 200, body = Vec<Deployment>)))]
#[get("/deployments")]
pub async fn list_deployments(state: State) -> ApiResult<HttpResponse> {
    let list = state.db(|c| Ok(deployments::list(c, None)?)).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// The deployments of **configuration** `id`, newest first.
#[utoipa::path(tag = TAG, operation_id = "deployments_of_configuration", params(("id" = i32, Path, description = "Configuration id")),
    responses((status = 200, body = Vec<Deployment>), (status = 404, body = String)))]
#[get("/deployments/{id}")]
pub async fn deployments_of_configuration(state: State, id: Id) -> ApiResult<HttpResponse> {
    let list = state
        .db(move |c| {
            if !configurations::exists(c, id.0)? {
                return Err(ApiError::not_found("Configuration does not exist"));
            }
            Ok(deployments::list(c, Some(id.0))?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Deletes **deployment** `id` once its training results are deleted. 200 empty.
#[utoipa::path(tag = TAG, operation_id = "delete_deployment", params(("id" = i32, Path, description = "Deployment id")),
    responses((status = 200, description = "Deleted"), (status = 400, body = String), (status = 404, body = String)))]
#[delete("/deployments/{id}")]
pub async fn delete_deployment(state: State, caller: Caller, id: Id) -> ApiResult<HttpResponse> {
    remove_deployment(&state.ctx, &caller.actor(), id.0).await?;
    Ok(HttpResponse::Ok().finish())
}

/// The training results of deployment `id`, most recently changed first.
#[utoipa::path(tag = TAG, operation_id = "results_of_deployment", params(("id" = i32, Path, description = "Deployment id")),
    responses((status = 200, body = Vec<TrainingResult>), (status = 404, body = String)))]
#[get("/deployments/results/{id}")]
pub async fn results_of_deployment(state: State, id: Id) -> ApiResult<HttpResponse> {
    let list = state
        .db(move |c| {
            if deployments::find_row(c, id.0)?.is_none() {
                return Err(ApiError::not_found("Deployment does not exist"));
            }
            Ok(results::list(c, Some(id.0), None)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Creates a deployment of a configuration and launches its training Jobs — one per
/// non-distributed model and one per distributed chain — concurrently. The kwargs of the
/// frameworks present are parsed (never evaluated) and checked by their executor first. When a Job
/// cannot be created, the Jobs already created are deleted and nothing is stored. 201 empty.
#[utoipa::path(tag = TAG, operation_id = "create_deployment", request_body = DeploymentInput,
    responses((status = 201, description = "Deployed"), (status = 400, body = String), (status = 404, body = String),
        (status = 409, body = String), (status = 502, body = String), (status = 503, body = String)))]
#[post("/deployments")]
pub async fn create_deployment(state: State, caller: Caller, body: web::Bytes) -> ApiResult<HttpResponse> {
    let input: DeploymentInput = typed(json_body(&body, INVALID)?, INVALID)?;
    deploy_training(&state.ctx, &caller.actor(), input).await?;
    Ok(HttpResponse::Created().finish())
}
