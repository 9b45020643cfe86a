//! Datasources: data streams announced on the control topic, stored by the control logger, so
//! read-only here and never added. The action "re-send" publishes a datasource to the control
//! topic again for its deployment, exactly as `POST /datasources/kafka` does with the row
//! `GET /datasources/` answers for it (`datasources::publish_datasource`).

use kafkaml_domain::inputs::{parse, DatasourceInput};
use kafkaml_domain::outputs::Datasource;
use kafkaml_persistence::repo::counts::Counts;
use kafkaml_persistence::repo::datasources;
use serde_json::Value;

use crate::admin::form::{Field, FormErrors, Submitted};
use crate::admin::list::{Cell, Filter, Row};
use crate::admin::tables::{when, AdminTable, Editor, ObjectAction};
use crate::admin::view::Doomed;
use crate::usecase::datasources::{publish_datasource, PublishDatasource, INVALID};
use crate::usecase::{Actor, Ctx, Error};

/// The datasources table.
pub struct Datasources;

const FILTERS: &[Filter] =
    &[Filter { key: "deployment", label: "deployment" }, Filter { key: "input_format", label: "input format" }];

const RESEND: ObjectAction = ObjectAction { name: "resend", label: "Re-send to the control topic" };

fn rate(v: Option<f64>) -> Cell {
    Cell { text: v.map(|v| v.to_string()).unwrap_or_default(), number: v }
}

fn messages(v: Option<i64>) -> Cell {
    #[expect(clippy::cast_precision_loss, reason = "a message count only sorts by this number")]
    let number = v.map(|n| n as f64);
    Cell { text: v.map(|n| n.to_string()).unwrap_or_default(), number }
}

async fn find(ctx: &Ctx, id: i32) -> Result<Option<Datasource>, Error> {
    let mut found = ctx.db(move |c| Ok::<_, Error>(datasources::list_with_ids(c, Some(id))?)).await?;
    Ok(found.pop().map(|(_, ds)| ds))
}

/// The body `POST /datasources/kafka` would receive for `ds` (the web UI sends a row of
/// `GET /datasources/`), read as that route reads it.
fn publication(id: i32, ds: &Datasource) -> Result<PublishDatasource, Error> {
    let raw = serde_json::to_value(ds).map_err(|e| Error::Internal(format!("datasource as JSON: {e}")))?;
    let mut checked = raw.clone();
    if let Some(Value::Object(config)) = checked.get("input_config") {
        checked["input_config"] = Value::String(Value::Object(config.clone()).to_string());
    }
    let input: DatasourceInput = parse(checked).map_err(|m| Error::invalid(INVALID, m))?;
    let Value::Object(fields) = raw else {
        return Err(Error::Internal("a datasource is not a JSON object".to_owned()));
    };
    Ok(PublishDatasource { input, fields, stored: Some(id) })
}

#[async_trait::async_trait]
impl AdminTable for Datasources {
    fn slug(&self) -> &'static str {
        "datasources"
    }
    fn title(&self) -> &'static str {
        "Datasources"
    }
    fn singular(&self) -> &'static str {
        "datasource"
    }
    fn columns(&self) -> &'static [&'static str] {
        &[
            "Id",
            "Deployment",
            "Topic",
            "Input format",
            "Messages",
            "Validation rate",
            "Test rate",
            "Time",
            "Description",
        ]
    }
    fn filters(&self) -> &'static [Filter] {
        FILTERS
    }
    fn can_add(&self) -> bool {
        false
    }
    fn can_delete(&self) -> bool {
        false
    }
    fn count(&self, counts: &Counts) -> i64 {
        counts.datasources
    }

    async fn rows(&self, ctx: &Ctx) -> Result<Vec<Row>, Error> {
        let list = ctx.db(|c| Ok::<_, Error>(datasources::list_with_ids(c, None)?)).await?;
        Ok(list
            .into_iter()
            .map(|(id, ds)| Row {
                id,
                search: vec![ds.topic.clone(), ds.description.clone()],
                facets: vec![ds.deployment.clone(), ds.input_format.as_str().to_owned()],
                cells: vec![
                    id.into(),
                    match ds.deployment.trim().parse::<i32>() {
                        Ok(d) => d.into(),
                        Err(_) => ds.deployment.into(),
                    },
                    ds.topic.into(),
                    ds.input_format.as_str().into(),
                    messages(ds.total_msg),
                    rate(ds.validation_rate),
                    rate(ds.test_rate),
                    when(&ds.time).into(),
                    ds.description.into(),
                ],
            })
            .collect())
    }

    async fn editor(&self, ctx: &Ctx, id: Option<i32>) -> Result<Option<Editor>, Error> {
        let Some(id) = id else { return Ok(None) };
        let Some(ds) = find(ctx, id).await? else { return Ok(None) };
        let deployment = Field::readonly("deployment", "Deployment", ds.deployment.clone());
        let deployment = match ds.deployment.trim().parse::<i32>() {
            Ok(d) => deployment.link(format!("../../../deployments/{d}/change/")),
            Err(_) => deployment,
        };
        Ok(Some(Editor {
            repr: format!("{id} ({})", ds.topic),
            fields: vec![
                deployment,
                Field::readonly("topic", "Topic", ds.topic.clone()).help("topic:partition:offset[:length][,…]"),
                Field::readonly("input_format", "Input format", ds.input_format.as_str()),
                Field::readonly("input_config", "Input configuration", ds.input_config.clone()),
                Field::readonly("description", "Description", ds.description.clone()),
                Field::readonly("total_msg", "Messages", messages(ds.total_msg).text),
                Field::readonly("validation_rate", "Validation rate", rate(ds.validation_rate).text),
                Field::readonly("test_rate", "Test rate", rate(ds.test_rate).text),
                Field::readonly("time", "Time", when(&ds.time)),
            ],
            editable: false,
            actions: vec![RESEND],
        }))
    }

    async fn save(&self, _ctx: &Ctx, _actor: &Actor, _id: Option<i32>, _form: &Submitted) -> Result<i32, FormErrors> {
        Err(FormErrors::field("", "Datasources are stored by the control logger, not edited."))
    }

    async fn doomed(&self, _ctx: &Ctx, _id: i32) -> Result<Option<Doomed>, Error> {
        Ok(None)
    }

    async fn delete(&self, _ctx: &Ctx, _actor: &Actor, _id: i32) -> Result<(), Error> {
        Err(Error::BadRequest("Datasources are not deleted here.".to_owned()))
    }

    async fn act(&self, ctx: &Ctx, actor: &Actor, id: i32, name: &str) -> Result<Option<String>, Error> {
        if name != "resend" {
            return Ok(None);
        }
        let Some(ds) = find(ctx, id).await? else { return Ok(None) };
        let (deployment, topic) = (ds.deployment.clone(), ds.topic.clone());
        publish_datasource(ctx, actor, publication(id, &ds)?).await?;
        Ok(Some(format!(
            "Datasource {id} ({topic}) was re-sent to the control topic for deployment {deployment} (the control \
             logger stores it again when it reads it)."
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_datasource_is_published_as_the_web_ui_sends_its_row() {
        let ds = Datasource {
            input_format: kafkaml_domain::InputFormat::Raw,
            deployment: "7".to_owned(),
            input_config: "{\"data_type\": \"uint8\"}".to_owned(),
            description: "Mnist".to_owned(),
            topic: "automl:0:0:70000".to_owned(),
            validation_rate: Some(0.1),
            test_rate: Some(0.1),
            total_msg: Some(70000),
            time: chrono::NaiveDate::from_ymd_opt(2024, 5, 1).and_then(|d| d.and_hms_opt(10, 0, 0)).unwrap_or_default(),
        };
        let publish = match publication(3, &ds) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        assert_eq!((publish.input.deployment.as_str(), publish.stored), ("7", Some(3)));
        assert_eq!(publish.input.topic, "automl:0:0:70000");
        let keys: Vec<&str> = publish.fields.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "input_format",
                "deployment",
                "input_config",
                "description",
                "topic",
                "validation_rate",
                "test_rate",
                "total_msg",
                "time"
            ]
        );
    }
}
