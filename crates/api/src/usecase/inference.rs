//! Inferences: deploy one of a trained result as a ReplicationController, stop and delete it, and
//! suggest the input settings of a new one.

use kafkaml_domain::deploy::InferenceInput;
use kafkaml_domain::outputs::InferenceInfo;
use kafkaml_domain::{InferenceStatus, ResultStatus, Violation};
use kafkaml_executor::ModelCode;
use kafkaml_orchestration::inference::{inference_controller, inference_name, InferenceSpec};
use kafkaml_persistence::repo::inferences::{self, NewInference};
use kafkaml_persistence::repo::{datasources, models, results};
use kafkaml_persistence::write_transaction;
use serde_json::Value;

use crate::usecase::{Actor, Change, Ctx, Error, Missing};

/// The prefix of the validation messages of an inference.
pub const INVALID: &str = "Inference not valid";

/// Deploys an inference of finished result `result_id` in the default cluster, or in the external
/// cluster the body names, with at most `KAFKAML_MAX_INFERENCE_REPLICAS` replicas. When the
/// controller cannot be created nothing is stored, and when its creation may have happened
/// nonetheless (the cluster did not answer in time) it is deleted in the background. Returns the
/// new inference's id.
pub async fn deploy_inference(ctx: &Ctx, actor: &Actor, result_id: i32, input: InferenceInput) -> Result<i32, Error> {
    let request = input.resolve(result_id).map_err(|m| Error::invalid(INVALID, m))?;
    kafkaml_domain::deploy::check_replicas(request.settings.replicas, ctx.config.max_inference_replicas)
        .map_err(|m| Error::invalid(INVALID, format!("replicas: {m}")))?;
    let found =
        ctx.db(move |c| results::find_context(c, result_id)?.ok_or(Error::NotFound(Missing::TrainingResult))).await?;
    if found.result.status != ResultStatus::Finished {
        return Err(Violation::ResultNotFinished(found.result.status).into());
    }
    let model = &found.model;
    // Distributed models are served by TensorFlow's image.
    let framework = if model.distributed { kafkaml_domain::Framework::Tf } else { model.framework };
    let image = ctx.config.inference_images.of(framework)?.to_owned();
    let env = ctx.inference_environment()?;
    let cluster = ctx.cluster_for(request.settings.external.as_ref()).await?;
    let row = NewInference::deployed(result_id, &request.settings);
    let inference_id = ctx.db(move |c| Ok::<_, Error>(inferences::create(c, &row)?)).await?;
    let spec = InferenceSpec {
        inference_id,
        result_id,
        distributed: model.distributed,
        image,
        gpumem: request.gpumem,
        settings: &request.settings,
    };
    if let Err(e) = cluster.create_replication_controller(&inference_controller(&env, &spec)).await {
        if e.is_unavailable() {
            // A creation that timed out may have happened: delete what may exist, in the
            // background (tracked, so a stop waits for it), as the training rollback does.
            let (cluster, name) = (cluster.clone(), inference_name(inference_id));
            ctx.background.spawn(async move {
                match cluster.delete_replication_controller(&name).await {
                    Ok(deletion) => tracing::info!(controller = %name, ?deletion,
                        "deleted the controller of an inference whose creation failed"),
                    Err(error) => tracing::error!(controller = %name, error = %error,
                        "could not delete the controller of an inference whose creation failed"),
                }
            });
        }
        if let Err(rollback) = ctx.db(move |c| Ok::<_, Error>(inferences::remove(c, inference_id)?)).await {
            // Never hides the cluster's error, which is what the caller must see.
            tracing::error!(inference.id = inference_id, error = %rollback, cause = %e,
                "could not remove the row of an inference whose controller could not be created");
        }
        return Err(e.into());
    }
    let actor = actor.clone();
    // Recorded once the controller exists: an inference rolled back above leaves no entry.
    ctx.db(move |c| {
        let repr = format!("Inference {inference_id} of result {result_id}");
        Ok::<_, Error>(actor.record(c, &Change::new("add", "inferences", Some(inference_id), &repr))?)
    })
    .await?;
    tracing::info!(inference.id = inference_id, result.id = result_id, cluster = %cluster.describe(), "inference deployed");
    Ok(inference_id)
}

/// Stops a deployed inference: deletes its ReplicationController (in its external cluster when it
/// has one) and marks it `stopped`.
pub async fn stop_inference(ctx: &Ctx, actor: &Actor, id: i32) -> Result<(), Error> {
    let row = ctx.db(move |c| inferences::find_row(c, id)?.ok_or(Error::NotFound(Missing::Inference))).await?;
    if row.fields.status != InferenceStatus::Deployed {
        return Err(Violation::InferenceNotRunning(row.fields.status).into());
    }
    let cluster = ctx.cluster_for(row.fields.external().as_ref()).await?;
    let deletion = cluster.delete_replication_controller(&inference_name(id)).await?;
    let actor = actor.clone();
    ctx.db(move |c| {
        write_transaction(c, |c| {
            inferences::set_status(c, id, InferenceStatus::Stopped)?;
            actor.record(
                c,
                &Change::new("stop", "inferences", Some(id), &format!("Inference {id}")).fields(&["status"]),
            )?;
            Ok::<_, Error>(())
        })
    })
    .await?;
    tracing::info!(inference.id = id, ?deletion, "inference stopped");
    Ok(())
}

/// Deletes a stopped inference (its row only).
pub async fn delete_inference(ctx: &Ctx, actor: &Actor, id: i32) -> Result<(), Error> {
    let actor = actor.clone();
    ctx.db(move |c| {
        write_transaction(c, |c| {
            inferences::delete(c, id).map_err(|e| Error::from_db(e, Missing::Inference))?;
            actor.record(c, &Change::new("delete", "inferences", Some(id), &format!("Inference {id}")))?;
            Ok(())
        })
    })
    .await
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

/// Suggested `input_format` and `input_config` for deploying an inference of result `result_id`:
/// those of its newest inference, else of the newest datasource of its deployment (for a model
/// that feeds a child model, with `data_reshape` from the model's input shape, which the executor
/// computes), else empty strings.
pub async fn suggest_inference_input(ctx: &Ctx, result_id: i32) -> Result<InferenceInfo, Error> {
    let suggestion = ctx
        .db(move |c| {
            let found = results::find_context(c, result_id)?.ok_or(Error::NotFound(Missing::TrainingResult))?;
            if let Some(inf) = inferences::latest_for_result(c, result_id)? {
                let info = InferenceInfo {
                    input_format: inf.fields.input_format.as_str().to_owned(),
                    input_config: inf.fields.input_config,
                };
                return Ok::<_, Error>(Suggestion::Ready(info));
            }
            let deployment = found.result.deployment_id.to_string();
            let Some(ds) = datasources::list(c, Some(&deployment))?.into_iter().next() else {
                return Ok(Suggestion::Ready(InferenceInfo {
                    input_format: String::new(),
                    input_config: String::new(),
                }));
            };
            if !models::has_child(c, found.model.id)? {
                return Ok(Suggestion::Ready(InferenceInfo {
                    input_format: ds.input_format.as_str().to_owned(),
                    input_config: ds.input_config,
                }));
            }
            let code = ModelCode::new(found.model.imports, found.model.code, found.model.distributed);
            Ok(Suggestion::NeedsShape { format: ds.input_format.as_str().to_owned(), config: ds.input_config, code })
        })
        .await?;
    let (format, config, code) = match suggestion {
        Suggestion::Ready(info) => return Ok(info),
        Suggestion::NeedsShape { format, config, code } => (format, config, code),
    };
    let shape = ctx.services.executor.input_shape(&code).await?;
    let reshape = data_reshape_of(&shape).ok_or(Error::ShapeWithoutDimensions(shape))?;
    // A stored config that is not a JSON object starts afresh (the datasource's text is kept only
    // when it can be extended).
    let mut cfg = match serde_json::from_str::<Value>(&config) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    cfg.insert("data_reshape".to_owned(), Value::String(reshape));
    cfg.insert("data_type".to_owned(), Value::String("float32".to_owned()));
    let config = kafkaml_domain::rules::python_json_dumps(&Value::Object(cfg));
    Ok(InferenceInfo { input_format: format, input_config: config })
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
