//! `/deployments/…`: training launches (creating them is the orchestration's part).

use actix_web::{delete, get, HttpResponse};
use kafkaml_domain::outputs::{Deployment, TrainingResult};
use kafkaml_persistence::repo::{configurations, deployments, results};

use crate::error::{ApiError, ApiResult};
use crate::state::{Id, State};

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
pub async fn delete_deployment(state: State, id: Id) -> ApiResult<HttpResponse> {
    state
        .db(move |c| deployments::delete(c, id.0).map_err(|e| ApiError::from_db(e, "Deployment does not exist")))
        .await?;
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
