//! Inferences: trained models served by a ReplicationController, deployed from a training result
//! through the REST API (`POST /results/inference/<id>`), so read-only here. Actions: stop a
//! deployed inference (`inference::stop_inference`, as `POST /inferences/<id>`); delete a stopped
//! one (`inference::delete_inference`, as `DELETE /inferences/<id>`: its row only).

use kafkaml_domain::InferenceStatus;
use kafkaml_persistence::repo::counts::Counts;
use kafkaml_persistence::repo::inferences;

use crate::admin::form::{Field, FormErrors, Submitted};
use crate::admin::list::{Filter, Row};
use crate::admin::tables::{when, AdminTable, Editor, ObjectAction};
use crate::admin::view::Doomed;
use crate::usecase::{inference, Actor, Ctx, Error};

/// The inferences table.
pub struct Inferences;

const FILTERS: &[Filter] =
    &[Filter { key: "status", label: "status" }, Filter { key: "result", label: "training result" }];

const STOP: ObjectAction = ObjectAction { name: "stop", label: "Stop the inference" };

fn opt(v: Option<impl ToString>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

#[async_trait::async_trait]
impl AdminTable for Inferences {
    fn slug(&self) -> &'static str {
        "inferences"
    }
    fn title(&self) -> &'static str {
        "Inferences"
    }
    fn singular(&self) -> &'static str {
        "inference"
    }
    fn columns(&self) -> &'static [&'static str] {
        &["Id", "Training result", "Status", "Replicas", "Input topic", "Output topic", "Time", "External cluster"]
    }
    fn filters(&self) -> &'static [Filter] {
        FILTERS
    }
    fn can_add(&self) -> bool {
        false
    }
    fn count(&self, counts: &Counts) -> i64 {
        counts.inferences
    }

    async fn rows(&self, ctx: &Ctx) -> Result<Vec<Row>, Error> {
        let list = ctx.db(|c| Ok::<_, Error>(inferences::list(c)?)).await?;
        Ok(list
            .into_iter()
            .map(|i| Row {
                id: i.id,
                search: vec![i.input_topic.clone(), i.output_topic.clone(), i.output_upper.clone()],
                facets: vec![
                    i.status.to_string(),
                    i.model_result.map_or_else(|| "(deleted)".to_owned(), |r| r.to_string()),
                ],
                cells: vec![
                    i.id.into(),
                    i.model_result.map_or_else(|| "(deleted)".into(), Into::into),
                    i.status.as_str().into(),
                    i.replicas.into(),
                    i.input_topic.into(),
                    i.output_topic.into(),
                    when(&i.time).into(),
                    opt(i.external_host).into(),
                ],
            })
            .collect())
    }

    async fn editor(&self, ctx: &Ctx, id: Option<i32>) -> Result<Option<Editor>, Error> {
        let Some(id) = id else { return Ok(None) };
        let Some(row) = ctx.db(move |c| Ok::<_, Error>(inferences::find_row(c, id)?)).await? else {
            return Ok(None);
        };
        let f = row.fields;
        let result = match f.model_result_id {
            Some(r) => Field::readonly("model_result", "Training result", r.to_string())
                .link(format!("../../../results/{r}/change/")),
            None => Field::readonly("model_result", "Training result", "(deleted)"),
        };
        let default_brokers = "(the back-end's)";
        let broker =
            |b: &Option<String>| b.clone().filter(|b| !b.is_empty()).unwrap_or_else(|| default_brokers.to_owned());
        Ok(Some(Editor {
            repr: format!("{id} ({} → {})", f.input_topic, f.output_topic),
            fields: vec![
                result,
                Field::readonly("status", "Status", f.status.as_str()),
                Field::readonly("status_changed", "Status changed", when(&f.status_changed)),
                Field::readonly("time", "Time", when(&f.time)),
                Field::readonly("replicas", "Replicas", f.replicas.to_string()),
                Field::readonly("input_format", "Input format", f.input_format.as_str()),
                Field::readonly("input_config", "Input configuration", f.input_config.clone()),
                Field::readonly("input_topic", "Input topic", f.input_topic.clone()),
                Field::readonly("output_topic", "Output topic", f.output_topic.clone()),
                Field::readonly("output_upper", "Upper topic (distributed)", f.output_upper.clone()),
                Field::readonly("limit", "Limit (distributed)", opt(f.limit_)),
                Field::readonly("input_kafka_broker", "Input brokers", broker(&f.input_kafka_broker)),
                Field::readonly("output_kafka_broker", "Output brokers", broker(&f.output_kafka_broker)),
                Field::readonly("upper_kafka_broker", "Upper brokers", broker(&f.upper_kafka_broker)),
                Field::readonly(
                    "external_host",
                    "External cluster",
                    f.external_host.clone().unwrap_or_else(|| "(the default cluster)".to_owned()),
                )
                .help(if f.token.is_some() { "Its token is stored (write-only)." } else { "" }),
            ],
            editable: false,
            actions: if f.status == InferenceStatus::Deployed { vec![STOP] } else { Vec::new() },
        }))
    }

    async fn save(&self, _ctx: &Ctx, _actor: &Actor, _id: Option<i32>, _form: &Submitted) -> Result<i32, FormErrors> {
        Err(FormErrors::field("", "Inferences are deployed from a training result, not edited."))
    }

    async fn doomed(&self, ctx: &Ctx, id: i32) -> Result<Option<Doomed>, Error> {
        let Some(row) = ctx.db(move |c| Ok::<_, Error>(inferences::find_row(c, id)?)).await? else {
            return Ok(None);
        };
        let f = row.fields;
        let of = f.model_result_id.map(|r| format!(" of training result {r}")).unwrap_or_default();
        let mut consequences = vec!["Only its row: the training result and its files stay".to_owned()];
        if f.status == InferenceStatus::Deployed {
            consequences.push(
                "It is still deployed, and deleting stops no ReplicationController: stop the inference first"
                    .to_owned(),
            );
        }
        Ok(Some(Doomed { repr: format!("Inference {id}{of} ({})", f.status), consequences }))
    }

    async fn delete(&self, ctx: &Ctx, actor: &Actor, id: i32) -> Result<(), Error> {
        inference::delete_inference(ctx, actor, id).await
    }

    async fn act(&self, ctx: &Ctx, actor: &Actor, id: i32, name: &str) -> Result<Option<String>, Error> {
        match name {
            "stop" => {
                inference::stop_inference(ctx, actor, id).await?;
                Ok(Some(format!("Inference {id} was stopped: its ReplicationController was deleted.")))
            }
            _ => Ok(None),
        }
    }
}
