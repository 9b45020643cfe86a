//! `automl_trainingresult`: one model's training within a deployment.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use kafkaml_domain::inputs::{number_of, MetricsUpdate, ResultUpload};
use kafkaml_domain::outputs::{DeploymentRef, ModelRef, TrainingResult};
use kafkaml_domain::{ResultStatus, Violation};
use serde_json::Value;

use crate::db::{gone, write_transaction, DbConnection};
use crate::error::{DbError, DbResult};
use crate::repo::deployments::DeploymentRow;
use crate::repo::models::ModelRow;
use crate::repo::{json_to_text, text_to_json, text_to_raw};
use crate::schema::{automl_deployment as dep, automl_mlmodel as m, automl_trainingresult as r};
use crate::time::DbTime;
use crate::wire::Stored;
use crate::with_conn;

/// A row of `automl_trainingresult`.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = r)]
pub struct ResultRow {
    /// The result's id.
    pub id: i32,
    /// Where the training stands.
    #[diesel(deserialize_as = Stored<ResultStatus>)]
    pub status: ResultStatus,
    /// When `status` last changed (UTC).
    #[diesel(deserialize_as = DbTime)]
    pub status_changed: NaiveDateTime,
    /// The deployment the training belongs to.
    pub deployment_id: i32,
    /// The trained model.
    pub model_id: i32,
    /// Training metrics, a JSON document as text.
    pub train_metrics: Option<String>,
    /// Validation metrics, a JSON document as text.
    pub val_metrics: Option<String>,
    /// Test metrics, a JSON document as text.
    pub test_metrics: Option<String>,
    /// The confusion matrix, a JSON document as text.
    pub confusion_matrix: Option<String>,
    /// The training duration in seconds.
    pub training_time: Option<f64>,
    /// The trained model's file in the artifact store, `""` before the upload.
    pub trained_model: String,
    /// The confusion-matrix image's file in the artifact store.
    pub confusion_mat_img: Option<String>,
    /// Why the result failed.
    pub status_reason: Option<String>,
}

/// A result with its model and deployment, read in one statement.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultContext {
    /// The result.
    pub result: ResultRow,
    /// Its model.
    pub model: ModelRow,
    /// Its deployment.
    pub deployment: DeploymentRow,
}

type ListRow = (ResultRow, DbTime, i32, String);

fn into_output((row, dep_time, model_id, model_name): ListRow) -> TrainingResult {
    TrainingResult {
        id: row.id,
        status: row.status,
        status_changed: row.status_changed,
        deployment: DeploymentRef { id: row.deployment_id, time: dep_time.0 },
        model: ModelRef { id: model_id, name: model_name },
        train_metrics: text_to_raw(row.train_metrics),
        val_metrics: text_to_raw(row.val_metrics),
        test_metrics: text_to_raw(row.test_metrics),
        confusion_matrix: text_to_raw(row.confusion_matrix),
        training_time: row.training_time,
        status_reason: row.status_reason,
    }
}

/// Lists results (all, or one deployment's, or one), most recently changed first, in one statement.
pub fn list(conn: &mut DbConnection, deployment: Option<i32>, only: Option<i32>) -> DbResult<Vec<TrainingResult>> {
    let rows: Vec<ListRow> = with_conn!(conn, |c| {
        let mut q = r::table
            .inner_join(dep::table)
            .inner_join(m::table)
            .select((ResultRow::as_select(), dep::time, m::id, m::name))
            .order((r::status_changed.desc(), r::id.desc()))
            .into_boxed();
        if let Some(d) = deployment {
            q = q.filter(r::deployment_id.eq(d));
        }
        if let Some(id) = only {
            q = q.filter(r::id.eq(id));
        }
        q.load(c)
    })?;
    Ok(rows.into_iter().map(into_output).collect())
}

/// The results of model `model_id` as `(result, deployment)` ids, oldest first (what goes with
/// the model when it is deleted).
pub fn of_model(conn: &mut DbConnection, model_id: i32) -> DbResult<Vec<(i32, i32)>> {
    Ok(with_conn!(conn, |c| r::table
        .filter(r::model_id.eq(model_id))
        .select((r::id, r::deployment_id))
        .order(r::id.asc())
        .load(c))?)
}

/// One result as the API renders it.
pub fn get(conn: &mut DbConnection, id: i32) -> DbResult<Option<TrainingResult>> {
    Ok(list(conn, None, Some(id))?.pop())
}

/// A result with its model and deployment.
pub fn find_context(conn: &mut DbConnection, id: i32) -> DbResult<Option<ResultContext>> {
    let row: Option<(ResultRow, ModelRow, DeploymentRow)> = with_conn!(conn, |c| r::table
        .inner_join(m::table)
        .inner_join(dep::table)
        .filter(r::id.eq(id))
        .select((ResultRow::as_select(), ModelRow::as_select(), DeploymentRow::as_select()))
        .first(c)
        .optional())?;
    Ok(row.map(|(result, model, deployment)| ResultContext { result, model, deployment }))
}

/// Sets a result's status (and `status_changed` when it changes) with an optional reason.
pub fn set_status(conn: &mut DbConnection, id: i32, status: ResultStatus, reason: Option<&str>) -> DbResult<()> {
    let now = kafkaml_domain::datetime::now();
    let changed = with_conn!(conn, |c| diesel::update(r::table.find(id).filter(r::status.ne(Stored(status))))
        .set((r::status.eq(Stored(status)), r::status_changed.eq(now), r::status_reason.eq(reason)))
        .execute(c))?;
    if changed == 0 {
        let exists: i64 = with_conn!(conn, |c| r::table.filter(r::id.eq(id)).count().get_result(c))?;
        if exists == 0 {
            return Err(DbError::NotFound);
        }
    }
    Ok(())
}

/// Records that a training pod fetched its model: status `deployed` unless `finished`.
pub fn mark_fetched(conn: &mut DbConnection, id: i32) -> DbResult<()> {
    let now = kafkaml_domain::datetime::now();
    with_conn!(conn, |c| diesel::update(
        r::table
            .find(id)
            .filter(r::status.ne(Stored(ResultStatus::Finished)))
            .filter(r::status.ne(Stored(ResultStatus::Deployed)))
    )
    .set((r::status.eq(Stored(ResultStatus::Deployed)), r::status_changed.eq(now), r::status_reason.eq(None::<String>)))
    .execute(c))?;
    Ok(())
}

/// Replaces the per-epoch metrics that are present in `update`, while the result accepts uploads
/// ([`check_accepts_uploads`]).
pub fn update_metrics(conn: &mut DbConnection, id: i32, update: &MetricsUpdate) -> DbResult<()> {
    write_transaction(conn, |conn| {
        let found: Option<(Stored<ResultStatus>, DbTime)> =
            with_conn!(conn, |c| r::table.find(id).select((r::status, r::status_changed)).first(c).optional())?;
        let (status, changed) = found.ok_or(DbError::NotFound)?;
        check_accepts_uploads(status.0, changed.0, kafkaml_domain::datetime::now())?;
        if let Some(v) = &update.train_metrics {
            with_conn!(conn, |c| diesel::update(r::table.find(id))
                .set(r::train_metrics.eq(json_to_text(v)))
                .execute(c))?;
        }
        if let Some(v) = &update.val_metrics {
            with_conn!(conn, |c| diesel::update(r::table.find(id)).set(r::val_metrics.eq(json_to_text(v))).execute(c))?;
        }
        Ok(())
    })
}

fn has_test_metrics(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    }
}

/// What an upload changes in its result's row: the metrics sent (`Some(None)` stores SQL `NULL`,
/// `None` leaves the column), the files, and the `finished` status.
#[derive(AsChangeset)]
#[diesel(table_name = r)]
struct UploadChanges<'a> {
    train_metrics: Option<Option<String>>,
    val_metrics: Option<Option<String>>,
    test_metrics: Option<Option<String>>,
    confusion_matrix: Option<Option<String>>,
    training_time: Option<Option<f64>>,
    trained_model: &'a str,
    confusion_mat_img: Option<&'a str>,
    status: Stored<ResultStatus>,
    status_changed: NaiveDateTime,
    status_reason: Option<Option<String>>,
}

/// The stored file names a committed upload produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFiles {
    /// `trained/<id>.h5|.pth`.
    pub trained_model: String,
    /// `trained/<id>.png` when an image was uploaded.
    pub confusion_mat_img: Option<String>,
}

/// Seconds a `finished` result still accepts uploads and metrics: the training images retry an
/// upload until they read `200` (10 tries, 5 s apart), and a distributed chain posts every member
/// again when one of its uploads failed, so the upload that finished a result may come again.
pub const UPLOAD_RETRY_GRACE_SECONDS: i64 = 300;

/// Training pods upload results and metrics only while the training runs: the result is
/// `created` or `deployed`, or became `finished` less than [`UPLOAD_RETRY_GRACE_SECONDS`] before
/// `now` (its pod retrying). Afterwards, and when stopped or failed, it keeps what it has.
pub fn check_accepts_uploads(
    status: ResultStatus,
    status_changed: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<(), Violation> {
    match status {
        ResultStatus::Created | ResultStatus::Deployed => Ok(()),
        ResultStatus::Finished if (now - status_changed).num_seconds() < UPLOAD_RETRY_GRACE_SECONDS => Ok(()),
        other => Err(Violation::ResultNotAcceptingUploads(other)),
    }
}

/// Applies a final training upload (docs/contract.md §4.4 `POST /results/<id>`) in one transaction.
/// The result must accept uploads ([`check_accepts_uploads`]). With `indefinite` — accepted only
/// when the deployment is an indefinite incremental training, and while it has fewer than
/// `max_results` results — a new result of the same deployment and model receives it. The
/// metrics are saved; the confusion-matrix image is required when the deployment asks for one,
/// the model is not distributed and test metrics are not empty (decisions.md item 22);
/// `commit_files` moves the streamed files into place under the target id; the status becomes
/// `finished`. Returns the target result's id. Nothing is written when any step fails.
pub fn finish_upload<F>(
    conn: &mut DbConnection,
    id: i32,
    upload: &ResultUpload,
    has_confusion_image: bool,
    max_results: u32,
    commit_files: F,
) -> DbResult<i32>
where
    F: FnOnce(i32, &ModelRow) -> DbResult<StoredFiles>,
{
    write_transaction(conn, |conn| {
        let ctx = find_context(conn, id)?.ok_or(DbError::NotFound)?;
        let now = kafkaml_domain::datetime::now();
        check_accepts_uploads(ctx.result.status, ctx.result.status_changed, now)?;
        let deployment = ctx.result.deployment_id;
        if upload.indefinite {
            if !(ctx.deployment.fields.incremental && ctx.deployment.fields.indefinite) {
                return Err(Violation::NotIndefinite(deployment).into());
            }
            let count: i64 =
                with_conn!(conn, |c| r::table.filter(r::deployment_id.eq(deployment)).count().get_result(c))?;
            if count >= i64::from(max_results) {
                return Err(Violation::TooManyResults { deployment, max: max_results }.into());
            }
        }
        let target = if upload.indefinite {
            with_conn!(conn, |c| diesel::insert_into(r::table)
                .values((
                    r::status.eq(Stored(ResultStatus::Created)),
                    r::status_changed.eq(now),
                    r::deployment_id.eq(ctx.result.deployment_id),
                    r::model_id.eq(ctx.result.model_id),
                    r::trained_model.eq(""),
                ))
                .returning(r::id)
                .get_result::<i32>(c))?
        } else {
            id
        };
        let stored_test = if upload.indefinite { None } else { text_to_json(ctx.result.test_metrics.clone()) };
        let test_metrics = upload.test_metrics.as_ref().or(stored_test.as_ref());
        let image_required = ctx.deployment.fields.conf_mat_settings == Some(true)
            && !ctx.model.distributed
            && has_test_metrics(test_metrics);
        if image_required && !has_confusion_image {
            return Err(Violation::ConfusionMatrixImageMissing.into());
        }
        let training_time = match &upload.training_time {
            Some(v) => Some(number_of(v).map_err(Violation::Invalid)?),
            None => None,
        };
        let files = commit_files(target, &ctx.model)?;
        // `status_changed` follows changes of `status` only (the reference's MonitorField): a
        // retried upload of a finished result keeps its place in the lists (and its grace).
        let status_changed = if !upload.indefinite && ctx.result.status == ResultStatus::Finished {
            ctx.result.status_changed
        } else {
            now
        };
        let metric = |v: &Option<Value>| v.as_ref().map(json_to_text);
        let changes = UploadChanges {
            train_metrics: metric(&upload.train_metrics),
            val_metrics: metric(&upload.val_metrics),
            test_metrics: metric(&upload.test_metrics),
            confusion_matrix: metric(&upload.confusion_matrix),
            training_time,
            trained_model: &files.trained_model,
            confusion_mat_img: files.confusion_mat_img.as_deref(),
            status: Stored(ResultStatus::Finished),
            status_changed,
            status_reason: Some(None),
        };
        with_conn!(conn, |c| diesel::update(r::table.find(target)).set(&changes).execute(c))?;
        Ok(target)
    })
}

/// Deletes a result that is not running (`finished`, `stopped` or `failed`). Inferences of it keep
/// their row with `model_result = null`. The caller deletes its files afterwards.
pub fn delete(conn: &mut DbConnection, id: i32) -> DbResult<()> {
    write_transaction(conn, |conn| {
        let status: Option<Stored<ResultStatus>> =
            with_conn!(conn, |c| r::table.find(id).select(r::status).first(c).optional())?;
        let status = status.ok_or(DbError::NotFound)?.0;
        if !matches!(status, ResultStatus::Finished | ResultStatus::Stopped | ResultStatus::Failed) {
            return Err(Violation::ResultInUse.into());
        }
        use crate::schema::automl_inference as inf;
        with_conn!(conn, |c| diesel::update(inf::table.filter(inf::model_result_id.eq(id)))
            .set(inf::model_result_id.eq(None::<i32>))
            .execute(c))?;
        gone(with_conn!(conn, |c| diesel::delete(r::table.find(id)).execute(c))?)
    })
}

/// Every result of a deployment with its model, in id order (one statement).
pub fn of_deployment(conn: &mut DbConnection, deployment_id: i32) -> DbResult<Vec<(ResultRow, ModelRow)>> {
    Ok(with_conn!(conn, |c| r::table
        .inner_join(m::table)
        .filter(r::deployment_id.eq(deployment_id))
        .order(r::id.asc())
        .select((ResultRow::as_select(), ModelRow::as_select()))
        .load(c))?)
}

/// A deployment with every result of it and their models.
pub type DeploymentResults = (DeploymentRow, Vec<(ResultRow, ModelRow)>);

/// Every deployment that has a `created` or `deployed` result, in id order, with all its results
/// and their models (what the Job reconciliation plans the Jobs of).
pub fn running_deployments(conn: &mut DbConnection) -> DbResult<Vec<DeploymentResults>> {
    let running = [Stored(ResultStatus::Created), Stored(ResultStatus::Deployed)];
    let ids: Vec<i32> = with_conn!(conn, |c| r::table
        .filter(r::status.eq_any(&running))
        .select(r::deployment_id)
        .distinct()
        .order(r::deployment_id.asc())
        .load(c))?;
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(row) = crate::repo::deployments::find_row(conn, id)? {
            found.push((row, of_deployment(conn, id)?));
        }
    }
    Ok(found)
}

/// Moves the results among `ids` whose status is one of `from` to `to` (with `reason`, or none),
/// in one statement; others are left alone, so repeating it changes nothing. Returns how many
/// changed.
pub fn transition(
    conn: &mut DbConnection,
    ids: &[i32],
    from: &[ResultStatus],
    to: ResultStatus,
    reason: Option<&str>,
) -> DbResult<usize> {
    let now = kafkaml_domain::datetime::now();
    let from: Vec<Stored<ResultStatus>> = from.iter().copied().map(Stored).collect();
    Ok(with_conn!(conn, |c| diesel::update(r::table.filter(r::id.eq_any(ids)).filter(r::status.eq_any(&from)))
        .set((r::status.eq(Stored(to)), r::status_changed.eq(now), r::status_reason.eq(reason)))
        .execute(c))?)
}
