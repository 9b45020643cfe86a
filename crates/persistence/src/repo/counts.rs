//! Row counts of every table (the admin's index), one `COUNT(*)` each.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::DbResult;
use crate::schema::{
    automl_configuration, automl_datasource, automl_deployment, automl_inference, automl_iotdevice, automl_mlmodel,
    automl_trainingresult, kafkaml_token, kafkaml_user,
};
use crate::with_conn;

/// How many rows each table holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Model definitions.
    pub models: i64,
    /// Configurations.
    pub configurations: i64,
    /// Deployments.
    pub deployments: i64,
    /// Training results.
    pub results: i64,
    /// Datasources.
    pub datasources: i64,
    /// Inferences.
    pub inferences: i64,
    /// IoT devices.
    pub iot_devices: i64,
    /// Users.
    pub users: i64,
    /// API tokens.
    pub tokens: i64,
}

/// Counts the rows of every table.
pub fn all(conn: &mut DbConnection) -> DbResult<Counts> {
    Ok(with_conn!(conn, |c| (|| -> Result<Counts, diesel::result::Error> {
        Ok(Counts {
            models: automl_mlmodel::table.count().get_result(c)?,
            configurations: automl_configuration::table.count().get_result(c)?,
            deployments: automl_deployment::table.count().get_result(c)?,
            results: automl_trainingresult::table.count().get_result(c)?,
            datasources: automl_datasource::table.count().get_result(c)?,
            inferences: automl_inference::table.count().get_result(c)?,
            iot_devices: automl_iotdevice::table.count().get_result(c)?,
            users: kafkaml_user::table.count().get_result(c)?,
            tokens: kafkaml_token::table.count().get_result(c)?,
        })
    })())?)
}
