//! `automl_deployment`: training launches of a configuration.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use kafkaml_domain::outputs::{ConfigurationRef, Deployment, ModelRef, ResultSummary};
use kafkaml_domain::settings::{
    Decimal, DeploymentSettings, DistributedSettings, FederatedSettings, FitSettings, IncrementalSettings,
    SemiSupervisedSettings,
};
use kafkaml_domain::{AggStrategy, ResultStatus, Violation};
use serde_json::Value;

use crate::db::{gone, write_transaction, DbConnection};
use crate::error::{DbError, DbResult};
use crate::repo::text_to_json;
use crate::schema::{
    automl_configuration as cfg, automl_configuration_ml_models as links, automl_deployment as dep,
    automl_mlmodel as m, automl_trainingresult as r,
};
use crate::time::DbTime;
use crate::wire::Stored;
use crate::with_conn;

/// A row of `automl_deployment`.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = dep)]
pub struct DeploymentRow {
    /// The deployment's id.
    pub id: i32,
    /// The other columns.
    #[diesel(embed)]
    pub fields: NewDeployment,
}

/// The columns of a deployment. A `None` is stored as SQL `NULL` (what a client's `null` means),
/// never replaced by the column's default. Built from and turned back into the domain's
/// [`DeploymentSettings`] — the only two places that list the columns.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = dep, treat_none_as_default_value = false)]
pub struct NewDeployment {
    /// The batch size.
    pub batch: i32,
    /// Keyword arguments of `fit` for TensorFlow models, as the client wrote them.
    pub tf_kwargs_fit: String,
    /// Keyword arguments of `evaluate` for TensorFlow models.
    pub tf_kwargs_val: String,
    /// Keyword arguments of training for PyTorch models.
    pub pth_kwargs_fit: String,
    /// Keyword arguments of validation for PyTorch models.
    pub pth_kwargs_val: String,
    /// Whether to generate a confusion matrix (nullable).
    pub conf_mat_settings: Option<bool>,
    /// The deployed configuration.
    pub configuration_id: i32,
    /// When the deployment was created (UTC).
    #[diesel(deserialize_as = DbTime)]
    pub time: NaiveDateTime,
    /// The optimizer of distributed training.
    pub optimizer: String,
    /// The learning rate of distributed training.
    pub learning_rate: f64,
    /// The loss of distributed training.
    pub loss: String,
    /// The metrics of distributed training, comma-separated.
    pub metrics: String,
    /// Whether training is incremental (on a stream).
    pub incremental: bool,
    /// Whether incremental training runs without end.
    pub indefinite: bool,
    /// The stream timeout in milliseconds.
    pub stream_timeout: Option<i32>,
    /// The metric watched during incremental training.
    pub monitoring_metric: Option<String>,
    /// The direction of improvement of the monitored metric (`up` or `down`).
    pub change: Option<String>,
    /// The minimal improvement of the monitored metric.
    pub improvement: Option<f64>,
    /// Whether training is semi-supervised.
    pub unsupervised: bool,
    /// The rounds of semi-supervised training.
    pub unsupervised_rounds: Option<i32>,
    /// The confidence threshold of semi-supervised training.
    pub confidence: Option<f64>,
    /// Whether training is federated.
    pub federated: bool,
    /// The aggregation rounds of federated training.
    pub agg_rounds: Option<i32>,
    /// The minimal data per client of federated training.
    pub min_data: Option<i32>,
    /// The aggregation strategy of federated training.
    #[diesel(deserialize_as = Stored<AggStrategy>, serialize_as = Stored<AggStrategy>)]
    pub agg_strategy: AggStrategy,
    /// The data restriction of federated training, a JSON document as text.
    pub data_restriction: Option<String>,
    /// Whether federated aggregation is blockchain-based.
    pub blockchain: bool,
}

impl NewDeployment {
    /// The row of a deployment of `configuration_id` created at `time` with `settings`.
    pub fn new(configuration_id: i32, time: NaiveDateTime, settings: &DeploymentSettings) -> Self {
        // Exhaustive patterns: a setting added to the domain and not stored here does not compile.
        let DeploymentSettings { fit, distributed, incremental, semi_supervised, federated } = settings.clone();
        let FitSettings { batch, tf_kwargs_fit, tf_kwargs_val, pth_kwargs_fit, pth_kwargs_val, conf_mat_settings } =
            fit;
        let DistributedSettings { optimizer, learning_rate, loss, metrics } = distributed;
        let IncrementalSettings { incremental, indefinite, stream_timeout, monitoring_metric, change, improvement } =
            incremental;
        let SemiSupervisedSettings { unsupervised, unsupervised_rounds, confidence } = semi_supervised;
        let FederatedSettings { federated, agg_rounds, min_data, agg_strategy, data_restriction, blockchain } =
            federated;
        NewDeployment {
            batch,
            tf_kwargs_fit,
            tf_kwargs_val,
            pth_kwargs_fit,
            pth_kwargs_val,
            conf_mat_settings,
            configuration_id,
            time,
            optimizer,
            learning_rate: learning_rate.value,
            loss,
            metrics,
            incremental,
            indefinite,
            stream_timeout,
            monitoring_metric,
            change,
            improvement: improvement.map(|d| d.value),
            unsupervised,
            unsupervised_rounds,
            confidence: confidence.map(|d| d.value),
            federated,
            agg_rounds,
            min_data,
            agg_strategy,
            data_restriction: data_restriction.as_ref().map(Value::to_string),
            blockchain,
        }
    }

    /// A deployment of `configuration_id` created now with the reference's defaults.
    pub fn with_defaults(configuration_id: i32) -> Self {
        Self::new(configuration_id, kafkaml_domain::datetime::now(), &DeploymentSettings::default())
    }

    /// The stored settings.
    pub fn into_settings(self) -> DeploymentSettings {
        let f = self;
        DeploymentSettings {
            fit: FitSettings {
                batch: f.batch,
                tf_kwargs_fit: f.tf_kwargs_fit,
                tf_kwargs_val: f.tf_kwargs_val,
                pth_kwargs_fit: f.pth_kwargs_fit,
                pth_kwargs_val: f.pth_kwargs_val,
                conf_mat_settings: f.conf_mat_settings,
            },
            distributed: DistributedSettings {
                optimizer: f.optimizer,
                learning_rate: Decimal::given(f.learning_rate),
                loss: f.loss,
                metrics: f.metrics,
            },
            incremental: IncrementalSettings {
                incremental: f.incremental,
                indefinite: f.indefinite,
                stream_timeout: f.stream_timeout,
                monitoring_metric: f.monitoring_metric,
                change: f.change,
                improvement: f.improvement.map(Decimal::given),
            },
            semi_supervised: SemiSupervisedSettings {
                unsupervised: f.unsupervised,
                unsupervised_rounds: f.unsupervised_rounds,
                confidence: f.confidence.map(Decimal::given),
            },
            federated: FederatedSettings {
                federated: f.federated,
                agg_rounds: f.agg_rounds,
                min_data: f.min_data,
                agg_strategy: f.agg_strategy,
                data_restriction: text_to_json(f.data_restriction),
                blockchain: f.blockchain,
            },
        }
    }
}

/// The ids created by [`create`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedDeployment {
    /// The deployment.
    pub id: i32,
    /// One `(result id, model id)` per model of the configuration, in link order.
    pub results: Vec<(i32, i32)>,
}

/// Inserts a deployment and one `created` training result per model of its configuration, in one
/// transaction.
pub fn create(conn: &mut DbConnection, new: &NewDeployment) -> DbResult<CreatedDeployment> {
    write_transaction(conn, |conn| {
        let config_exists: i64 =
            with_conn!(conn, |c| cfg::table.filter(cfg::id.eq(new.configuration_id)).count().get_result(c))?;
        if config_exists == 0 {
            return Err(Violation::ConfigurationMissing(new.configuration_id.into()).into());
        }
        let id: i32 =
            with_conn!(conn, |c| diesel::insert_into(dep::table).values(new.clone()).returning(dep::id).get_result(c))?;
        let models: Vec<i32> = with_conn!(conn, |c| links::table
            .filter(links::configuration_id.eq(new.configuration_id))
            .select(links::mlmodel_id)
            .order(links::id.asc())
            .load(c))?;
        let mut results = Vec::with_capacity(models.len());
        for model in models {
            let rid: i32 = with_conn!(conn, |c| diesel::insert_into(r::table)
                .values((
                    r::status.eq(Stored(ResultStatus::Created)),
                    r::status_changed.eq(new.time),
                    r::deployment_id.eq(id),
                    r::model_id.eq(model),
                    r::trained_model.eq(""),
                ))
                .returning(r::id)
                .get_result(c))?;
            results.push((rid, model));
        }
        Ok(CreatedDeployment { id, results })
    })
}

/// One deployment row.
pub fn find_row(conn: &mut DbConnection, id: i32) -> DbResult<Option<DeploymentRow>> {
    Ok(with_conn!(conn, |c| dep::table.find(id).select(DeploymentRow::as_select()).first(c).optional())?)
}

fn into_output(row: DeploymentRow, configuration: ConfigurationRef, results: Vec<ResultSummary>) -> Deployment {
    let time = row.fields.time;
    Deployment::new(row.id, configuration, results, time, row.fields.into_settings())
}

/// Lists deployments (all, or those of one configuration), newest first, with their results, in
/// two statements.
pub fn list(conn: &mut DbConnection, configuration: Option<i32>) -> DbResult<Vec<Deployment>> {
    let rows: Vec<(DeploymentRow, String)> = with_conn!(conn, |c| {
        let mut q = dep::table
            .inner_join(cfg::table)
            .select((DeploymentRow::as_select(), cfg::name))
            .order((dep::time.desc(), dep::id.desc()))
            .into_boxed();
        if let Some(id) = configuration {
            q = q.filter(dep::configuration_id.eq(id));
        }
        q.load(c)
    })?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    type SummaryRow = (i32, i32, Stored<ResultStatus>, DbTime, i32, String);
    let results: Vec<SummaryRow> = with_conn!(conn, |c| {
        let mut q = r::table
            .inner_join(m::table)
            .inner_join(dep::table)
            .select((r::deployment_id, r::id, r::status, r::status_changed, m::id, m::name))
            .order((r::status_changed.desc(), r::id.desc()))
            .into_boxed();
        if let Some(id) = configuration {
            q = q.filter(dep::configuration_id.eq(id));
        }
        q.load(c)
    })?;
    let mut by_deployment: HashMap<i32, Vec<ResultSummary>> = HashMap::new();
    for (deployment, id, status, status_changed, model_id, model_name) in results {
        by_deployment.entry(deployment).or_default().push(ResultSummary {
            id,
            status: status.0,
            model: ModelRef { id: model_id, name: model_name },
            status_changed: status_changed.0,
        });
    }
    Ok(rows
        .into_iter()
        .map(|(row, name)| {
            let configuration = ConfigurationRef { id: row.fields.configuration_id, name };
            let results = by_deployment.remove(&row.id).unwrap_or_default();
            into_output(row, configuration, results)
        })
        .collect())
}

/// Deletes a deployment that has no training results left.
pub fn delete(conn: &mut DbConnection, id: i32) -> DbResult<()> {
    write_transaction(conn, |conn| {
        if find_row(conn, id)?.is_none() {
            return Err(DbError::NotFound);
        }
        let results: i64 = with_conn!(conn, |c| r::table.filter(r::deployment_id.eq(id)).count().get_result(c))?;
        if results > 0 {
            return Err(Violation::DeploymentHasResults.into());
        }
        gone(with_conn!(conn, |c| diesel::delete(dep::table.find(id)).execute(c))?)
    })
}

/// Removes a deployment with its training results in one transaction, whatever their status (the
/// compensation of a deployment whose Jobs could not be created). Inferences of the results keep
/// their row with `model_result = null`.
pub fn remove(conn: &mut DbConnection, id: i32) -> DbResult<()> {
    use crate::schema::automl_inference as inf;
    write_transaction(conn, |conn| {
        let results: Vec<i32> = with_conn!(conn, |c| r::table.filter(r::deployment_id.eq(id)).select(r::id).load(c))?;
        with_conn!(conn, |c| diesel::update(inf::table.filter(inf::model_result_id.eq_any(&results)))
            .set(inf::model_result_id.eq(None::<i32>))
            .execute(c))?;
        with_conn!(conn, |c| diesel::delete(r::table.filter(r::deployment_id.eq(id))).execute(c))?;
        with_conn!(conn, |c| diesel::delete(dep::table.find(id)).execute(c))?;
        Ok(())
    })
}
