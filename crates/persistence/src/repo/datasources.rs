//! `automl_datasource`: data stream announcements logged from the control topic.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use kafkaml_domain::outputs::Datasource;

use crate::db::DbConnection;
use crate::error::DbResult;
use crate::schema::automl_datasource as ds;
use crate::with_conn;

/// A datasource to store. A `None` is stored as SQL `NULL`.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = ds, treat_none_as_default_value = false)]
pub struct NewDatasource {
    /// Format of the stream's messages, in its wire spelling (`RAW`, `AVRO`, `JSON`, `TELEGRAF_STR_JSON`).
    pub input_format: String,
    /// The deployment id, as text (not a foreign key).
    pub deployment: String,
    /// A JSON document, as text.
    pub input_config: String,
    /// Free-text description of the stream.
    pub description: String,
    /// `topic:partition:offset[:length][,…]`.
    pub topic: String,
    /// Number of messages in the stream.
    pub total_msg: Option<i64>,
    /// Fraction of the messages used for validation.
    pub validation_rate: Option<f64>,
    /// Fraction of the messages used for testing.
    pub test_rate: Option<f64>,
    /// When the stream was announced (UTC).
    pub time: NaiveDateTime,
}

type Row = (String, String, String, String, String, Option<f64>, Option<f64>, Option<i64>, NaiveDateTime);

fn columns() -> (
    ds::input_format,
    ds::deployment,
    ds::input_config,
    ds::description,
    ds::topic,
    ds::validation_rate,
    ds::test_rate,
    ds::total_msg,
    ds::time,
) {
    (
        ds::input_format,
        ds::deployment,
        ds::input_config,
        ds::description,
        ds::topic,
        ds::validation_rate,
        ds::test_rate,
        ds::total_msg,
        ds::time,
    )
}

fn into_output(r: Row) -> Datasource {
    let (input_format, deployment, input_config, description, topic, validation_rate, test_rate, total_msg, time) = r;
    Datasource {
        input_format,
        deployment,
        input_config,
        description,
        topic,
        validation_rate,
        test_rate,
        total_msg,
        time,
    }
}

/// Stores a datasource and returns it as the API renders it.
pub fn create(conn: &mut DbConnection, new: &NewDatasource) -> DbResult<Datasource> {
    let row: Row = with_conn!(conn, |c| diesel::insert_into(ds::table).values(new).returning(columns()).get_result(c))?;
    Ok(into_output(row))
}

/// Lists datasources, newest first (one statement); `deployment` filters by deployment id text.
pub fn list(conn: &mut DbConnection, deployment: Option<&str>) -> DbResult<Vec<Datasource>> {
    let rows: Vec<Row> = with_conn!(conn, |c| {
        let mut q = ds::table.select(columns()).order((ds::time.desc(), ds::id.desc())).into_boxed();
        if let Some(d) = deployment {
            q = q.filter(ds::deployment.eq(d));
        }
        q.load(c)
    })?;
    Ok(rows.into_iter().map(into_output).collect())
}
