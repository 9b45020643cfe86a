//! `automl_inference`: inference deployments of trained results.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use kafkaml_domain::outputs::Inference;
use kafkaml_domain::settings::{ExternalCluster, InferenceSettings};
use kafkaml_domain::{InferenceStatus, InputFormat, Violation};
use secrecy::ExposeSecret;

use crate::db::{gone, write_transaction, DbConnection};
use crate::error::{DbError, DbResult};
use crate::schema::automl_inference as inf;
use crate::wire::Stored;
use crate::with_conn;

/// A row of `automl_inference`. `token` is write-only: it never leaves through the API.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = inf)]
pub struct InferenceRow {
    /// The inference's id.
    pub id: i32,
    /// The other columns.
    #[diesel(embed)]
    pub fields: NewInference,
}

/// An inference to store (its id is assigned by the database). A `None` is stored as SQL `NULL`.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = inf, treat_none_as_default_value = false)]
pub struct NewInference {
    /// Whether the inference is deployed or stopped.
    #[diesel(deserialize_as = Stored<InferenceStatus>, serialize_as = Stored<InferenceStatus>)]
    pub status: InferenceStatus,
    /// When `status` last changed (UTC).
    pub status_changed: NaiveDateTime,
    /// The training result served, `NULL` once it is deleted.
    pub model_result_id: Option<i32>,
    /// The number of pod replicas.
    pub replicas: i32,
    /// The encoding of the input records.
    #[diesel(deserialize_as = Stored<InputFormat>, serialize_as = Stored<InputFormat>)]
    pub input_format: InputFormat,
    /// Decoding settings of the input records, a JSON document as text.
    pub input_config: String,
    /// The Kafka topic the inference reads.
    pub input_topic: String,
    /// The Kafka topic the predictions go to.
    pub output_topic: String,
    /// When the inference was created (UTC).
    pub time: NaiveDateTime,
    /// Column `limit`: the early-exit confidence threshold of distributed models.
    pub limit_: Option<f64>,
    /// The Kafka topic towards the upper model (distributed early exit).
    pub output_upper: String,
    /// The bearer token of the external cluster (write-only).
    pub token: Option<String>,
    /// The API URL of the external cluster, `NULL` for the default cluster.
    pub external_host: Option<String>,
    /// Brokers of the input topic, `NULL` for the default ones.
    pub input_kafka_broker: Option<String>,
    /// Brokers of the output topic, `NULL` for the default ones.
    pub output_kafka_broker: Option<String>,
    /// Brokers of the upper topic, `NULL` for the default ones.
    pub upper_kafka_broker: Option<String>,
}

impl NewInference {
    /// The row of a `deployed` inference of result `result_id` with `settings`, created now.
    pub fn deployed(result_id: i32, settings: &InferenceSettings) -> Self {
        let now = kafkaml_domain::datetime::now();
        let s = settings.clone();
        let (external_host, token) = match s.external {
            // The token is stored as given (write-only: never answered), to reach the cluster again.
            Some(ExternalCluster { host, token }) => (Some(host), Some(token.expose_secret().to_owned())),
            None => (None, None),
        };
        NewInference {
            status: InferenceStatus::Deployed,
            status_changed: now,
            model_result_id: Some(result_id),
            replicas: s.replicas,
            input_format: s.input_format,
            input_config: s.input_config,
            input_topic: s.input_topic,
            output_topic: s.output_topic,
            time: now,
            limit_: s.limit,
            output_upper: s.output_upper,
            token,
            external_host,
            input_kafka_broker: s.input_kafka_broker,
            output_kafka_broker: s.output_kafka_broker,
            upper_kafka_broker: s.upper_kafka_broker,
        }
    }

    /// The external cluster the inference runs in, if any.
    pub fn external(&self) -> Option<ExternalCluster> {
        ExternalCluster::of(self.external_host.as_deref(), self.token.as_deref())
    }
}

impl From<InferenceRow> for Inference {
    fn from(r: InferenceRow) -> Self {
        let f = r.fields;
        Inference {
            id: r.id,
            model_result: f.model_result_id,
            replicas: f.replicas,
            input_format: f.input_format,
            input_config: f.input_config,
            input_topic: f.input_topic,
            output_topic: f.output_topic,
            time: f.time,
            status: f.status,
            status_changed: f.status_changed,
            limit: f.limit_,
            output_upper: f.output_upper,
            external_host: f.external_host,
            input_kafka_broker: f.input_kafka_broker,
            output_kafka_broker: f.output_kafka_broker,
            upper_kafka_broker: f.upper_kafka_broker,
        }
    }
}

/// Stores an inference and returns its id.
pub fn create(conn: &mut DbConnection, new: &NewInference) -> DbResult<i32> {
    Ok(with_conn!(conn, |c| diesel::insert_into(inf::table).values(new.clone()).returning(inf::id).get_result(c))?)
}

/// Lists inferences newest first (one statement).
pub fn list(conn: &mut DbConnection) -> DbResult<Vec<Inference>> {
    let rows: Vec<InferenceRow> = with_conn!(conn, |c| inf::table
        .select(InferenceRow::as_select())
        .order((inf::time.desc(), inf::id.desc()))
        .load(c))?;
    Ok(rows.into_iter().map(Inference::from).collect())
}

/// One inference row (with its token, for cluster access).
pub fn find_row(conn: &mut DbConnection, id: i32) -> DbResult<Option<InferenceRow>> {
    Ok(with_conn!(conn, |c| inf::table.find(id).select(InferenceRow::as_select()).first(c).optional())?)
}

/// The newest inference of a result, if any.
pub fn latest_for_result(conn: &mut DbConnection, result_id: i32) -> DbResult<Option<InferenceRow>> {
    Ok(with_conn!(conn, |c| inf::table
        .filter(inf::model_result_id.eq(result_id))
        .select(InferenceRow::as_select())
        .order((inf::time.desc(), inf::id.desc()))
        .first(c)
        .optional())?)
}

/// Whether `topic` is the output topic (`output_topic`) or the upper model's topic
/// (`output_upper`) of any inference (what a prediction WebSocket may read).
pub fn is_output_topic(conn: &mut DbConnection, topic: &str) -> DbResult<bool> {
    let found: i64 = with_conn!(conn, |c| inf::table
        .filter(inf::output_topic.eq(topic).or(inf::output_upper.eq(topic)))
        .count()
        .get_result(c))?;
    Ok(found > 0)
}

/// Sets an inference's status (and `status_changed` when it changes).
pub fn set_status(conn: &mut DbConnection, id: i32, status: InferenceStatus) -> DbResult<()> {
    let now = kafkaml_domain::datetime::now();
    with_conn!(conn, |c| diesel::update(inf::table.find(id).filter(inf::status.ne(Stored(status))))
        .set((inf::status.eq(Stored(status)), inf::status_changed.eq(now)))
        .execute(c))?;
    Ok(())
}

/// Deletes a stopped inference (the row only).
pub fn delete(conn: &mut DbConnection, id: i32) -> DbResult<()> {
    write_transaction(conn, |conn| {
        let row = find_row(conn, id)?.ok_or(DbError::NotFound)?;
        if row.fields.status != InferenceStatus::Stopped {
            return Err(Violation::InferenceInUse.into());
        }
        gone(with_conn!(conn, |c| diesel::delete(inf::table.find(id)).execute(c))?)
    })
}

/// Removes an inference row whatever its status (the compensation of an inference whose
/// ReplicationController could not be created).
pub fn remove(conn: &mut DbConnection, id: i32) -> DbResult<()> {
    with_conn!(conn, |c| diesel::delete(inf::table.find(id)).execute(c))?;
    Ok(())
}
