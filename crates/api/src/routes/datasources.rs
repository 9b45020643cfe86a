//! `/datasources/`: data streams announced on the control topic, as logged by the control logger.

use actix_web::{get, post, web, HttpResponse};
use kafkaml_domain::inputs::DatasourceInput;
use kafkaml_domain::outputs::Datasource;
use kafkaml_persistence::repo::datasources;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::{json_body, typed, State};
use crate::usecase::datasources::{store_datasource, INVALID};

const TAG: &str = "datasources";

/// Lists datasources, newest first.
#[utoipa::path(tag = TAG, operation_id = "list_datasources", responses((status = 200, body = Vec<Datasource>)))]
#[get("/datasources")]
pub async fn list_datasources(state: State) -> ApiResult<HttpResponse> {
    let list = state.db(|c| Ok(datasources::list(c, None)?)).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Stores a datasource seen on the control topic (what the control logger posts). It is never
/// re-published. 201 with the stored object.
///
/// The control logger cannot send headers: with `KAFKAML_AUTH=on` it posts to
/// `/control-logger/<key>/datasources/` instead (its `BACKEND` is `backend:8000/control-logger/<key>`),
/// where the key in the path is an operator's API token.
#[utoipa::path(tag = TAG, operation_id = "create_datasource", request_body = DatasourceInput,
    responses((status = 201, body = Datasource), (status = 400, body = String)))]
#[post("/datasources")]
pub async fn create_datasource(state: State, caller: Caller, body: web::Bytes) -> ApiResult<HttpResponse> {
    let input: DatasourceInput = typed(json_body(&body, INVALID)?, INVALID)?;
    Ok(HttpResponse::Created().json(store_datasource(&state.ctx, &caller.actor(), input).await?))
}
