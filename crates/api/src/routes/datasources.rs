//! `/datasources/`: data streams announced on the control topic, as logged by the control logger.

use actix_web::{get, post, web, HttpResponse};
use kafkaml_domain::inputs::DatasourceInput;
use kafkaml_domain::outputs::Datasource;
use kafkaml_persistence::repo::datasources::{self, NewDatasource};

use crate::error::{ApiError, ApiResult};
use crate::state::{json_body, typed, State};

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
#[utoipa::path(tag = TAG, operation_id = "create_datasource", request_body = DatasourceInput,
    responses((status = 201, body = Datasource), (status = 400, body = String)))]
#[post("/datasources")]
pub async fn create_datasource(state: State, body: web::Bytes) -> ApiResult<HttpResponse> {
    let input: DatasourceInput = typed(json_body(&body, "Datasource not valid")?, "Datasource not valid")?;
    let time = kafkaml_domain::datetime::parse(&input.time)
        .ok_or_else(|| ApiError::bad_request("Datasource not valid: time: not a date-time."))?;
    let new = NewDatasource {
        input_format: input.input_format.as_str().to_owned(),
        deployment: input.deployment,
        input_config: input.input_config,
        description: input.description,
        topic: input.topic,
        total_msg: input.total_msg,
        validation_rate: input.validation_rate,
        test_rate: input.test_rate,
        time,
    };
    let stored = state.db(move |c| Ok(datasources::create(c, &new)?)).await?;
    Ok(HttpResponse::Created().json(stored))
}
