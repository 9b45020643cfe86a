//! `/inferences/…` and `GET /results/inference/<id>` (deploying and stopping inferences is the
//! orchestration's part).

use actix_web::{delete, get, HttpResponse};
use kafkaml_domain::outputs::{Inference, InferenceInfo};
use kafkaml_executor::ModelCode;
use kafkaml_persistence::repo::{datasources, inferences, models, results};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::state::{Id, State};

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

/// Deletes a stopped inference (its row only). 200 empty.
#[utoipa::path(tag = TAG, operation_id = "delete_inference", params(("id" = i32, Path)),
    responses((status = 200, description = "Deleted"), (status = 400, body = String), (status = 404, body = String)))]
#[delete("/inferences/{id}")]
pub async fn delete_inference(state: State, id: Id) -> ApiResult<HttpResponse> {
    state
        .db(move |c| inferences::delete(c, id.0).map_err(|e| ApiError::from_db(e, "Inference does not exist")))
        .await?;
    Ok(HttpResponse::Ok().finish())
}

/// `(None, 28, 28)` → `28 28`: the part after the batch dimension, without commas.
pub fn data_reshape_of(shape: &str) -> Option<String> {
    let start = shape.find(", ")? + 2;
    let end = start + shape[start..].find(')')?;
    let dims = shape[start..end].replace(',', "");
    let dims = dims.split_whitespace().collect::<Vec<_>>().join(" ");
    (!dims.is_empty()).then_some(dims)
}

enum Suggestion {
    Ready(InferenceInfo),
    NeedsShape { format: String, config: String, code: ModelCode },
}

/// Suggested `input_format` and `input_config` for deploying an inference of result `id`: those of
/// its newest inference, else of the newest datasource of its deployment (for a model that feeds
/// a child model, with `data_reshape` from the model's input shape), else empty strings.
#[utoipa::path(tag = TAG, operation_id = "inference_info_of_result", params(("id" = i32, Path, description = "Training result id")),
    responses((status = 200, body = InferenceInfo), (status = 404, body = String), (status = 502, body = String)))]
#[get("/results/inference/{id}")]
pub async fn inference_info(state: State, id: Id) -> ApiResult<HttpResponse> {
    let suggestion = state
        .db(move |c| {
            let ctx =
                results::find_context(c, id.0)?.ok_or_else(|| ApiError::not_found("Training result does not exist"))?;
            if let Some(inf) = inferences::latest_for_result(c, id.0)? {
                return Ok(Suggestion::Ready(InferenceInfo {
                    input_format: inf.fields.input_format,
                    input_config: inf.fields.input_config,
                }));
            }
            let deployment = ctx.result.deployment_id.to_string();
            let Some(ds) = datasources::list(c, Some(&deployment))?.into_iter().next() else {
                return Ok(Suggestion::Ready(InferenceInfo {
                    input_format: String::new(),
                    input_config: String::new(),
                }));
            };
            let has_child = models::child_map(c)?.contains_key(&ctx.model.id);
            if !has_child {
                return Ok(Suggestion::Ready(InferenceInfo {
                    input_format: ds.input_format,
                    input_config: ds.input_config,
                }));
            }
            let code = ModelCode::new(ctx.model.imports, ctx.model.code, ctx.model.distributed);
            Ok(Suggestion::NeedsShape { format: ds.input_format, config: ds.input_config, code })
        })
        .await?;
    let info = match suggestion {
        Suggestion::Ready(info) => info,
        Suggestion::NeedsShape { format, config, code } => {
            let shape = state.executor.input_shape(&code).await?;
            let reshape = data_reshape_of(&shape).ok_or_else(|| {
                ApiError::BadGateway(format!(
                    "The model's input shape {shape} has no dimensions to reshape the data to."
                ))
            })?;
            let mut cfg: serde_json::Map<String, Value> = serde_json::from_str(&config).unwrap_or_default();
            cfg.insert("data_reshape".to_owned(), Value::String(reshape));
            cfg.insert("data_type".to_owned(), Value::String("float32".to_owned()));
            let config = kafkaml_domain::rules::python_json_dumps(&Value::Object(cfg));
            InferenceInfo { input_format: format, input_config: config }
        }
    };
    Ok(HttpResponse::Ok().json(info))
}

#[cfg(test)]
mod tests {
    use super::data_reshape_of;

    #[test]
    fn reshape_from_shape() {
        assert_eq!(data_reshape_of("(None, 28, 28)").as_deref(), Some("28 28"));
        assert_eq!(data_reshape_of("(None, 784)").as_deref(), Some("784"));
        assert_eq!(data_reshape_of("(None,)"), None);
        assert_eq!(data_reshape_of("garbage"), None);
    }
}
