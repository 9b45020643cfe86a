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

/// Readiness: the database answers a query within [`READY_DEADLINE`]. The answer is fixed text;
/// the cause of a refusal goes to the log, never to the (unauthenticated) prober.
#[utoipa::path(tag = TAG, operation_id = "readyz", responses((status = 200, body = String), (status = 503, body = String)))]
#[get("/readyz")]
pub async fn readyz(state: State) -> ApiResult<HttpResponse> {
    let ping = state.db(|c| kafkaml_persistence::db::ping(c).map_err(|e| ApiError::Unavailable(e.to_string())));
    let cause = match actix_web::rt::time::timeout(READY_DEADLINE, ping).await {
        Ok(Ok(())) => return Ok(HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ready")),
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {} s", READY_DEADLINE.as_secs()),
    };
    tracing::warn!(cause, "not ready: the database does not answer");
    Err(ApiError::Unavailable(NOT_READY.to_owned()))
}

/// What `/readyz` answers while the database does not.
pub const NOT_READY: &str = "Not ready: the database does not answer.";
