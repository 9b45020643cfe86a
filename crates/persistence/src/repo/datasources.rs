//! `automl_datasource`: data stream announcements logged from the control topic.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use kafkaml_domain::outputs::Datasource;
use kafkaml_domain::InputFormat;

use crate::db::DbConnection;
use crate::error::DbResult;
use crate::schema::automl_datasource as ds;
use crate::time::DbTime;
use crate::wire::Stored;
use crate::with_conn;

/// A datasource: to store, and as read back (the table's `id` is never shown). A `None` is stored
/// as SQL `NULL`.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = ds, treat_none_as_default_value = false)]
pub struct NewDatasource {
    /// Encoding of the stream's records (`RAW`, `AVRO`, …).
    #[diesel(deserialize_as = Stored<InputFormat>, serialize_as = Stored<InputFormat>)]
    pub input_format: InputFormat,
    /// The deployment the stream trains, as the control message wrote its id.
    pub deployment: String,
    /// Decoding settings of the records, a JSON document as text.
    pub input_config: String,
    /// Free text from the data sink.
    pub description: String,
    /// The Kafka topic of the data (with partition and offsets in the control message's ranges).
    pub topic: String,
    /// Number of records sent.
    pub total_msg: Option<i64>,
    /// Share of the records used for validation.
    pub validation_rate: Option<f64>,
    /// Share of the records used for testing.
    pub test_rate: Option<f64>,
    /// When the data sink announced the stream.
    #[diesel(deserialize_as = DbTime)]
    pub time: NaiveDateTime,
}

impl From<NewDatasource> for Datasource {
    fn from(r: NewDatasource) -> Self {
        Datasource {
            input_format: r.input_format,
            deployment: r.deployment,
            input_config: r.input_config,
            description: r.description,
            topic: r.topic,
            validation_rate: r.validation_rate,
            test_rate: r.test_rate,
            total_msg: r.total_msg,
            time: r.time,
        }
    }
}

/// Stores a datasource and returns its id (for the audit trail) and the datasource as the API
/// renders it.
pub fn create(conn: &mut DbConnection, new: &NewDatasource) -> DbResult<(i32, Datasource)> {
    let (id, row): (i32, NewDatasource) = with_conn!(conn, |c| diesel::insert_into(ds::table)
        .values(new.clone())
        .returning((ds::id, NewDatasource::as_returning()))
        .get_result(c))?;
    Ok((id, row.into()))
}

/// Lists datasources, newest first (one statement); `deployment` filters by deployment id text.
pub fn list(conn: &mut DbConnection, deployment: Option<&str>) -> DbResult<Vec<Datasource>> {
    let rows: Vec<NewDatasource> = with_conn!(conn, |c| {
        let mut q = ds::table.select(NewDatasource::as_select()).order((ds::time.desc(), ds::id.desc())).into_boxed();
        if let Some(d) = deployment {
            q = q.filter(ds::deployment.eq(d));
        }
        q.load(c)
    })?;
    Ok(rows.into_iter().map(Datasource::from).collect())
}

/// Datasources with their ids (all, or the one with id `only`), newest first (one statement):
/// what the admin site lists and re-sends.
pub fn list_with_ids(conn: &mut DbConnection, only: Option<i32>) -> DbResult<Vec<(i32, Datasource)>> {
    let rows: Vec<(i32, NewDatasource)> = with_conn!(conn, |c| {
        let mut q =
            ds::table.select((ds::id, NewDatasource::as_select())).order((ds::time.desc(), ds::id.desc())).into_boxed();
        if let Some(id) = only {
            q = q.filter(ds::id.eq(id));
        }
        q.load(c)
    })?;
    Ok(rows.into_iter().map(|(id, row)| (id, Datasource::from(row))).collect())
}
