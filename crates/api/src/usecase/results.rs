//! Training results: the untrained model a training pod fetches, the trained model it uploads,
//! its per-epoch metrics, and deleting a result with its files.

use std::path::PathBuf;

use bytes::Bytes;
use kafkaml_domain::inputs::{MetricsUpdate, ResultUpload};
use kafkaml_domain::Framework;
use kafkaml_executor::ModelCode;
use kafkaml_persistence::files::Artifact;
use kafkaml_persistence::repo::results::{self, ResultContext, StoredFiles};
use kafkaml_persistence::{write_transaction, ArtifactStore, DbError};

use crate::usecase::{Actor, Change, Ctx, Error, Missing};

/// The model a training pod starts from.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelForTraining {
    /// A TensorFlow model as HDF5 bytes, built by the executor (`None` when only its kind was asked).
    Tf(Option<Bytes>),
    /// A PyTorch model's code.
    Pth(String),
}

/// The model training pod of result `result_id` starts from. Unless `peek` (a `HEAD` request),
/// the TensorFlow executor builds the HDF5 file and the result becomes `deployed` (unless it is
/// `finished`).
pub async fn model_for_training(ctx: &Ctx, result_id: i32, peek: bool) -> Result<ModelForTraining, Error> {
    let found = find(ctx, result_id).await?;
    let model = found.model;
    let answer = match model.framework {
        Framework::Tf if peek => ModelForTraining::Tf(None),
        Framework::Tf => {
            let code = ModelCode::new(model.imports, model.code, model.distributed);
            ModelForTraining::Tf(Some(ctx.services.executor.load_model(&code).await?))
        }
        Framework::Pth => ModelForTraining::Pth(model.code),
    };
    if !peek {
        ctx.db(move |c| Ok::<_, Error>(results::mark_fetched(c, result_id)?)).await?;
    }
    Ok(answer)
}

/// A result with its model and deployment, or `NotFound`.
pub async fn find(ctx: &Ctx, result_id: i32) -> Result<ResultContext, Error> {
    ctx.db(move |c| results::find_context(c, result_id)?.ok_or(Error::NotFound(Missing::TrainingResult))).await
}

/// The result an upload goes to, refused before anything is received unless it accepts uploads
/// (`created` or `deployed`, or finished moments ago: `results::check_accepts_uploads`; the
/// upload's own transaction checks again).
pub async fn find_for_upload(ctx: &Ctx, result_id: i32) -> Result<ResultContext, Error> {
    let found = find(ctx, result_id).await?;
    results::check_accepts_uploads(found.result.status, found.result.status_changed, kafkaml_domain::datetime::now())?;
    Ok(found)
}

/// A trained model as received: files already streamed into the store's temporary files.
#[derive(Debug)]
pub struct TrainedUpload {
    /// The trained model file.
    pub model: PathBuf,
    /// The confusion matrix image, if sent.
    pub confusion_matrix: Option<PathBuf>,
    /// The metrics.
    pub metrics: ResultUpload,
}

/// Stores an upload of a `created` or `deployed` result (or one finished moments ago, whose pod
/// retries): metrics and files, and the result
/// becomes `finished` (with `"indefinite": true`, allowed for indefinite incremental trainings
/// only and up to `KAFKAML_MAX_RESULTS_PER_DEPLOYMENT` results, a new result of the same
/// deployment and model receives it). The files are
/// moved into place inside the transaction that records them, so nothing is kept when any step
/// fails. Returns the id of the result that received the upload.
pub async fn upload_trained_model(
    ctx: &Ctx,
    actor: &Actor,
    result_id: i32,
    upload: TrainedUpload,
) -> Result<i32, Error> {
    let store = ctx.store.clone();
    let actor = actor.clone();
    let max_results = ctx.config.max_results_per_deployment;
    let target = ctx
        .db(move |c| {
            let TrainedUpload { model: model_tmp, confusion_matrix: image_tmp, metrics } = upload;
            write_transaction(c, |c| {
                let target = results::finish_upload(
                    c,
                    result_id,
                    &metrics,
                    image_tmp.is_some(),
                    max_results,
                    |target, model| {
                        let artifact = Artifact::Model(model.framework);
                        store.commit(&model_tmp, target, artifact)?;
                        let image = match &image_tmp {
                            Some(tmp) => {
                                store.commit(tmp, target, Artifact::ConfusionMatrix)?;
                                Some(ArtifactStore::relative_name(target, Artifact::ConfusionMatrix))
                            }
                            None => None,
                        };
                        Ok(StoredFiles {
                            trained_model: ArtifactStore::relative_name(target, artifact),
                            confusion_mat_img: image,
                        })
                    },
                )
                .map_err(|e| match e {
                    DbError::Io(e) => Error::Internal(format!("storing the upload failed: {e}")),
                    other => Error::from_db(other, Missing::TrainingResult),
                })?;
                let fields = ["status", "metrics", "trained_model"];
                actor.record(
                    c,
                    &Change::new("upload", "results", Some(target), &format!("Result {target}")).fields(&fields),
                )?;
                Ok::<_, Error>(target)
            })
        })
        .await?;
    tracing::info!(result.id = result_id, target.id = target, "training result uploaded");
    Ok(target)
}

/// Replaces the per-epoch metrics the update gives, while the result is `created` or `deployed`.
pub async fn update_metrics(ctx: &Ctx, actor: &Actor, result_id: i32, update: MetricsUpdate) -> Result<(), Error> {
    let actor = actor.clone();
    ctx.db(move |c| {
        write_transaction(c, |c| {
            results::update_metrics(c, result_id, &update).map_err(|e| Error::from_db(e, Missing::TrainingResult))?;
            let given: Vec<&str> = [("train_metrics", &update.train_metrics), ("val_metrics", &update.val_metrics)]
                .into_iter()
                .filter_map(|(field, value)| value.is_some().then_some(field))
                .collect();
            let repr = format!("Result {result_id}");
            actor.record(c, &Change::new("metrics", "results", Some(result_id), &repr).fields(&given))?;
            Ok(())
        })
    })
    .await
}

/// Deletes a result that is not running, with all its files.
pub async fn delete_result(ctx: &Ctx, actor: &Actor, result_id: i32) -> Result<(), Error> {
    let actor = actor.clone();
    ctx.db(move |c| {
        write_transaction(c, |c| {
            results::delete(c, result_id).map_err(|e| Error::from_db(e, Missing::Result))?;
            actor.record(c, &Change::new("delete", "results", Some(result_id), &format!("Result {result_id}")))?;
            Ok::<_, Error>(())
        })
    })
    .await?;
    if let Err(e) = ctx.store.delete_all(result_id) {
        tracing::warn!(result.id = result_id, error = %e, "could not delete the result's files");
    }
    Ok(())
}
