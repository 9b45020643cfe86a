//! `/healthz` (the process answers) and `/readyz` (the database answers).

use actix_web::{get, HttpResponse};

use crate::error::{ApiError, ApiResult};
use crate::state::State;

const TAG: &str = "health";

/// Liveness: the process serves requests.
#[utoipa::path(tag = TAG, operation_id = "healthz", responses((status = 200, body = String)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ok")
}

/// Readiness: the database answers a query.
#[utoipa::path(tag = TAG, operation_id = "readyz", responses((status = 200, body = String), (status = 503, body = String)))]
#[get("/readyz")]
pub async fn readyz(state: State) -> ApiResult<HttpResponse> {
    state
        .db(|c| {
            kafkaml_persistence::db::ping(c)
                .map_err(|e| ApiError::Unavailable(format!("The database does not answer: {e}")))
        })
        .await
        .map_err(|e| match e {
            ApiError::Unavailable(m) => ApiError::Unavailable(m),
            other => ApiError::Unavailable(format!("The database does not answer: {other}")),
        })?;
    Ok(HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ready"))
}
