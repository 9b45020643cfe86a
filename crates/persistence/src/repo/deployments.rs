//! `automl_deployment`: training launches of a configuration.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use kafkaml_domain::outputs::{ConfigurationRef, Deployment, ModelRef, ResultSummary};

use crate::db::{write_transaction, DbConnection};
use crate::error::{DbError, DbResult};
use crate::repo::text_to_json;
use crate::schema::{
    automl_configuration as cfg, automl_configuration_ml_models as links, automl_deployment as dep,
    automl_mlmodel as m, automl_trainingresult as r,
};
use crate::time::DbTime;
use crate::with_conn;

/// A row of `automl_deployment`.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = dep)]
pub struct DeploymentRow {
    pub id: i32,
    #[diesel(embed)]
    pub fields: NewDeployment,
}

/// The settings of a new deployment. A `None` is stored as SQL `NULL` (what a client's `null`
/// means), never replaced by the column's default.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = dep, treat_none_as_default_value = false)]
pub struct NewDeployment {
    pub batch: i32,
    pub tf_kwargs_fit: String,
    pub tf_kwargs_val: String,
    pub pth_kwargs_fit: String,
    pub pth_kwargs_val: String,
    pub conf_mat_settings: Option<bool>,
    pub configuration_id: i32,
    #[diesel(deserialize_as = DbTime)]
    pub time: NaiveDateTime,
    pub optimizer: String,
    pub learning_rate: f64,
    pub loss: String,
    pub metrics: String,
    pub incremental: bool,
    pub indefinite: bool,
    pub stream_timeout: Option<i32>,
    pub monitoring_metric: Option<String>,
    pub change: Option<String>,
    pub improvement: Option<f64>,
    pub unsupervised: bool,
    pub unsupervised_rounds: Option<i32>,
    pub confidence: Option<f64>,
    pub federated: bool,
    pub agg_rounds: Option<i32>,
    pub min_data: Option<i32>,
    pub agg_strategy: String,
    pub data_restriction: Option<String>,
    pub blockchain: bool,
}

impl NewDeployment {
    /// A deployment of `configuration_id` with the reference's defaults.
    pub fn with_defaults(configuration_id: i32) -> Self {
        NewDeployment {
            batch: 1,
            tf_kwargs_fit: String::new(),
            tf_kwargs_val: String::new(),
            pth_kwargs_fit: String::new(),
            pth_kwargs_val: String::new(),
            conf_mat_settings: Some(false),
            configuration_id,
            time: kafkaml_domain::datetime::now(),
            optimizer: "adam".to_owned(),
            learning_rate: 0.001,
            loss: "sparse_categorical_crossentropy".to_owned(),
            metrics: "sparse_categorical_accuracy".to_owned(),
            incremental: false,
            indefinite: false,
            stream_timeout: Some(60000),
            monitoring_metric: None,
            change: None,
            improvement: Some(0.05),
            unsupervised: false,
            unsupervised_rounds: Some(5),
            confidence: Some(0.9),
            federated: false,
            agg_rounds: Some(15),
            min_data: Some(1000),
            agg_strategy: "FedAvg".to_owned(),
            data_restriction: Some("{}".to_owned()),
            blockchain: false,
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
            return Err(DbError::Rule(format!("Configuration {} does not exist.", new.configuration_id)));
        }
        let id: i32 =
            with_conn!(conn, |c| diesel::insert_into(dep::table).values(new).returning(dep::id).get_result(c))?;
        let models: Vec<i32> = with_conn!(conn, |c| links::table
            .filter(links::configuration_id.eq(new.configuration_id))
            .select(links::mlmodel_id)
            .order(links::id.asc())
            .load(c))?;
        let mut results = Vec::with_capacity(models.len());
        for model in models {
            let rid: i32 = with_conn!(conn, |c| diesel::insert_into(r::table)
                .values((
                    r::status.eq("created"),
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
    let f = row.fields;
    Deployment {
        id: row.id,
        configuration,
        results,
        optimizer: f.optimizer,
        learning_rate: f.learning_rate,
        loss: f.loss,
        metrics: f.metrics,
        incremental: f.incremental,
        indefinite: f.indefinite,
        stream_timeout: f.stream_timeout,
        monitoring_metric: f.monitoring_metric,
        change: f.change,
        improvement: f.improvement,
        unsupervised: f.unsupervised,
        unsupervised_rounds: f.unsupervised_rounds,
        confidence: f.confidence,
        batch: f.batch,
        tf_kwargs_fit: f.tf_kwargs_fit,
        tf_kwargs_val: f.tf_kwargs_val,
        pth_kwargs_fit: f.pth_kwargs_fit,
        pth_kwargs_val: f.pth_kwargs_val,
        conf_mat_settings: f.conf_mat_settings,
        time: f.time,
        federated: f.federated,
        agg_rounds: f.agg_rounds,
        min_data: f.min_data,
        agg_strategy: f.agg_strategy,
        data_restriction: text_to_json(f.data_restriction),
        blockchain: f.blockchain,
    }
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
    type SummaryRow = (i32, i32, String, DbTime, i32, String);
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
            status,
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
            return Err(DbError::Rule(
                "Deployment cannot be deleted. Please delete its training results first.".to_owned(),
            ));
        }
        with_conn!(conn, |c| diesel::delete(dep::table.find(id)).execute(c))?;
        Ok(())
    })
}

/// Removes a deployment with its training results in one transaction, whatever their status (the
/// compensation of a deployment whose Jobs could not be created). Inferences of the results keep
/// their row with `model_result = null`.
pub fn remove(conn: &mut DbConnection, id: i32) -> DbResult<()> {
    use crate::schema::automl_inference as inf;
    conn.transaction(|conn| {
        let results: Vec<i32> = with_conn!(conn, |c| r::table.filter(r::deployment_id.eq(id)).select(r::id).load(c))?;
        with_conn!(conn, |c| diesel::update(inf::table.filter(inf::model_result_id.eq_any(&results)))
            .set(inf::model_result_id.eq(None::<i32>))
            .execute(c))?;
        with_conn!(conn, |c| diesel::delete(r::table.filter(r::deployment_id.eq(id))).execute(c))?;
        with_conn!(conn, |c| diesel::delete(dep::table.find(id)).execute(c))?;
        Ok(())
    })
}
