//! Datasources: data streams announced on the control topic. The control logger stores what it
//! reads there; a user re-sends a known datasource to the control topic for a (new) deployment.

use kafkaml_domain::inputs::DatasourceInput;
use kafkaml_domain::outputs::Datasource;
use kafkaml_messaging::ControlMessage;
use kafkaml_persistence::repo::datasources::{self, NewDatasource};
use kafkaml_persistence::repo::deployments;
use kafkaml_persistence::write_transaction;
use serde_json::{Map, Value};

use crate::usecase::{Actor, Change, Ctx, Error, Missing};

/// The prefix of the validation messages of datasources.
pub const INVALID: &str = "Datasource not valid";

/// Stores a datasource as announced (it is never re-published).
pub async fn store_datasource(ctx: &Ctx, actor: &Actor, input: DatasourceInput) -> Result<Datasource, Error> {
    let time = kafkaml_domain::datetime::parse(&input.time)
        .ok_or_else(|| Error::invalid(INVALID, "time: not a date-time."))?;
    let new = NewDatasource {
        input_format: input.input_format,
        deployment: input.deployment,
        input_config: input.input_config,
        description: input.description,
        topic: input.topic,
        total_msg: input.total_msg,
        validation_rate: input.validation_rate,
        test_rate: input.test_rate,
        time,
    };
    let actor = actor.clone();
    ctx.db(move |c| {
        write_transaction(c, |c| {
            let (id, stored) = datasources::create(c, &new)?;
            let repr = format!("Datasource {id}: {} of deployment {}", stored.topic, stored.deployment);
            let given = [
                "input_format",
                "deployment",
                "input_config",
                "description",
                "topic",
                "total_msg",
                "validation_rate",
                "test_rate",
                "time",
            ];
            actor.record(c, &Change::new("add", "datasources", Some(id), &repr).fields(&given))?;
            Ok::<_, Error>(stored)
        })
    })
    .await
}

/// A datasource to publish: the validated body and its fields as sent (the control message keeps
/// them as they came, `input_config` as an object).
#[derive(Debug)]
pub struct PublishDatasource {
    /// The validated body.
    pub input: DatasourceInput,
    /// The body's fields as sent.
    pub fields: Map<String, Value>,
    /// The stored datasource being re-sent, when the caller knows it (the admin's action): the
    /// audit entry then belongs to that datasource's history.
    pub stored: Option<i32>,
}

/// Publishes a datasource to the control topic for its deployment and waits for the broker's
/// acknowledgement (within `KAFKAML_KAFKA_TIMEOUT`).
pub async fn publish_datasource(ctx: &Ctx, actor: &Actor, publish: PublishDatasource) -> Result<(), Error> {
    let text = publish.input.deployment;
    let id = text
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|id| *id >= 0)
        .ok_or_else(|| Error::invalid(INVALID, format!("deployment: \"{text}\" is not a deployment id.")))?;
    let message = ControlMessage::from_request(id.unsigned_abs().into(), &publish.fields)
        .map_err(|e| Error::invalid(INVALID, e.to_string()))?;
    let exists = ctx.db(move |c| Ok::<_, Error>(deployments::find_row(c, id)?.is_some())).await?;
    if !exists {
        return Err(Error::NotFound(Missing::Deployment));
    }
    let publisher = ctx.services.publisher.as_ref().ok_or(Error::KafkaNotConfigured)?;
    publisher
        .publish(&message)
        .await
        .map_err(|error| Error::NotPublished { topic: publisher.topic().to_owned(), error })?;
    let (actor, topic, stored) = (actor.clone(), publish.input.topic.clone(), publish.stored);
    // The change is the control message: recorded once the broker acknowledged it.
    ctx.db(move |c| {
        let repr = format!("Datasource {topic} to deployment {id}");
        Ok::<_, Error>(actor.record(c, &Change::new("resend", "datasources", stored, &repr))?)
    })
    .await?;
    tracing::info!(deployment.id = id, topic = %publisher.topic(), "datasource published to the control topic");
    Ok(())
}
