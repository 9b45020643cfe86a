//! `/healthz` (the process answers) and `/readyz` (the database answers).

use std::time::Duration;

use actix_web::{get, HttpResponse};

use crate::error::{ApiError, ApiResult};
use crate::state::State;

const TAG: &str = "health";

/// How long `/readyz` waits for the database: less than a probe's usual timeout, so an
/// unreachable database reads as "not ready" rather than as a probe that never answers.
pub const READY_DEADLINE: Duration = Duration::from_secs(2);

/// Liveness: the process serves requests.
#[utoipa::path(tag = TAG, operation_id = "healthz", responses((status = 200, body = String)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ok")
}

/// Readiness: the database answers a query within [`READY_DEADLINE`].
#[utoipa::path(tag = TAG, operation_id = "readyz", responses((status = 200, body = String), (status = 503, body = String)))]
#[get("/readyz")]
pub async fn readyz(state: State) -> ApiResult<HttpResponse> {
    let ping = state.db(|c| {
        kafkaml_persistence::db::ping(c)
            .map_err(|e| ApiError::Unavailable(format!("The database does not answer: {e}")))
    });
    actix_web::rt::time::timeout(READY_DEADLINE, ping)
        .await
        .map_err(|_| {
            ApiError::Unavailable(format!("The database does not answer within {} s.", READY_DEADLINE.as_secs()))
        })?
        .map_err(|e| match e {
            ApiError::Unavailable(m) => ApiError::Unavailable(m),
            other => ApiError::Unavailable(format!("The database does not answer: {other}")),
        })?;
    Ok(HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ready"))
}
