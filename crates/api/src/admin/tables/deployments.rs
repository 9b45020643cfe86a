//! Deployments: trainings launched from a configuration. Adding one deploys a training exactly as
//! `POST /deployments/` does (`training::deploy_training`: the body's validation, the cluster,
//! the executors' kwargs check, the Jobs); a stored deployment is read-only, and it can be deleted
//! only once its training results were deleted (`catalog::delete_deployment`).

use std::collections::HashSet;

use kafkaml_domain::deploy::DeploymentInput;
use kafkaml_domain::settings::{FederatedSettings, IncrementalSettings, SemiSupervisedSettings};
use kafkaml_domain::{AggStrategy, ResultStatus};
use kafkaml_persistence::repo::configurations;
use kafkaml_persistence::repo::counts::Counts;
use kafkaml_persistence::repo::deployments::{self, NewDeployment};
use kafkaml_persistence::repo::models::{self, ModelFilter};
use kafkaml_persistence::repo::results;
use serde_json::Value;

use crate::admin::form::{Body, Choice, Field, FormErrors, Submitted};
use crate::admin::list::{Filter, Row};
use crate::admin::tables::{when, AdminTable, Editor};
use crate::admin::view::Doomed;
use crate::usecase::{catalog, training, Actor, Ctx, Error};

/// The deployments table.
pub struct Deployments;

const FILTERS: &[Filter] =
    &[Filter { key: "configuration", label: "configuration" }, Filter { key: "mode", label: "training mode" }];

/// The fields of the add form, in the order of `POST /deployments/`'s body.
const FIELDS: &[&str] = &[
    "configuration",
    "gpumem",
    "batch",
    "tf_kwargs_fit",
    "tf_kwargs_val",
    "pth_kwargs_fit",
    "pth_kwargs_val",
    "conf_mat_settings",
    "optimizer",
    "learning_rate",
    "loss",
    "metrics",
    "incremental",
    "indefinite",
    "stream_timeout",
    "monitoring_metric",
    "change",
    "improvement",
    "unsupervised",
    "unsupervised_rounds",
    "confidence",
    "federated",
    "agg_rounds",
    "min_data",
    "agg_strategy",
    "data_restriction",
    "blockchain",
];

/// How a deployment trains, in words: `plain`, or the kinds it combines (`distributed`,
/// `federated`, `incremental`, `semi-supervised`). Distributed training is a property of the
/// configuration's models (a chain), the others are stored settings.
fn training_mode(
    distributed: bool,
    federated: &FederatedSettings,
    incremental: &IncrementalSettings,
    semi_supervised: &SemiSupervisedSettings,
) -> String {
    let mut parts: Vec<&str> = Vec::new();
    if distributed {
        parts.push("distributed");
    }
    if federated.federated {
        parts.push(if federated.blockchain { "federated (blockchain)" } else { "federated" });
    }
    if incremental.incremental {
        parts.push("incremental");
    }
    if semi_supervised.unsupervised {
        parts.push("semi-supervised");
    }
    if parts.is_empty() {
        "plain".to_owned()
    } else {
        parts.join(" + ")
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

/// A text field of the form: left empty, the API's default applies (absent from the body).
fn given_text(body: Body, form: &Submitted, name: &str) -> Body {
    let text = form.get(name).trim();
    if text.is_empty() {
        body
    } else {
        body.value(name, Value::String(text.to_owned()))
    }
}

fn add_fields(configurations: Vec<Choice>) -> Vec<Field> {
    let strategies = std::iter::once(Choice::new("", "(default: FedAvg)", &[String::new()]))
        .chain(AggStrategy::ALL.iter().map(|s| Choice::new(s.as_str(), s.as_str(), &[])))
        .collect();
    let change = vec![
        Choice::new("", "(none)", &[String::new()]),
        Choice::new("up", "up", &[]),
        Choice::new("down", "down", &[]),
    ];
    vec![
        Field::select("configuration", "Configuration", configurations).required(),
        Field::decimal("gpumem", "GPU memory (GB)", Some(0.0)).required().help("0: no GPU."),
        Field::integer("batch", "Batch", None).help("Greater than 0; empty: 1."),
        Field::text("tf_kwargs_fit", "TensorFlow fit kwargs", "").help("e.g. epochs=5, steps_per_epoch=1000"),
        Field::text("tf_kwargs_val", "TensorFlow evaluation kwargs", ""),
        Field::text("pth_kwargs_fit", "PyTorch training kwargs", "").help("e.g. max_epochs=5"),
        Field::text("pth_kwargs_val", "PyTorch validation kwargs", ""),
        Field::checkbox("conf_mat_settings", "Confusion matrix", false),
        Field::text("optimizer", "Optimizer (distributed)", "").help("Empty: adam."),
        Field::decimal("learning_rate", "Learning rate (distributed)", None).help("Empty: 0.001."),
        Field::text("loss", "Loss (distributed)", "").help("Empty: sparse_categorical_crossentropy."),
        Field::text("metrics", "Metrics (distributed)", "")
            .help("Comma-separated; empty: sparse_categorical_accuracy."),
        Field::checkbox("incremental", "Incremental", false),
        Field::checkbox("indefinite", "Indefinite (incremental)", false),
        Field::integer("stream_timeout", "Stream timeout in ms (incremental)", None).help("Empty: 60000."),
        Field::text("monitoring_metric", "Monitoring metric (incremental)", "")
            .help("Required for indefinite training."),
        Field::select("change", "Change (incremental)", change).help("The direction of improvement."),
        Field::decimal("improvement", "Improvement (incremental)", None).help("Empty: 0.05."),
        Field::checkbox("unsupervised", "Semi-supervised", false),
        Field::integer("unsupervised_rounds", "Rounds (semi-supervised)", None).help("Empty: 5."),
        Field::decimal("confidence", "Confidence (semi-supervised)", None).help("Empty: 0.9."),
        Field::checkbox("federated", "Federated", false),
        Field::integer("agg_rounds", "Aggregation rounds (federated)", None).help("Empty: 15."),
        Field::integer("min_data", "Minimal data per client (federated)", None).help("Empty: 1000."),
        Field::select("agg_strategy", "Aggregation strategy (federated)", strategies),
        Field::textarea("data_restriction", "Data restriction (federated)", "", 3).help("A JSON document; empty: {}."),
        Field::checkbox("blockchain", "Blockchain (federated)", false),
    ]
}

fn stored_fields(
    id: i32,
    configuration: &str,
    mode: String,
    row: &NewDeployment,
    trained: &[(results::ResultRow, models::ModelRow)],
) -> Vec<Field> {
    let results_text = trained
        .iter()
        .map(|(r, m)| format!("Training result {} (model {}, status {})", r.id, m.name, r.status))
        .collect::<Vec<_>>()
        .join(", ");
    let results_field = Field::readonly("results", "Training results", results_text);
    let results_field = if trained.is_empty() {
        results_field
    } else {
        results_field.link(format!("../../../results/?deployment={id}"))
    };
    vec![
        Field::readonly("configuration", "Configuration", configuration)
            .link(format!("../../../configurations/{}/change/", row.configuration_id)),
        Field::readonly("time", "Time", when(&row.time)),
        Field::readonly("mode", "Training mode", mode),
        results_field,
        Field::readonly("batch", "Batch", row.batch.to_string()),
        Field::readonly("tf_kwargs_fit", "TensorFlow fit kwargs", row.tf_kwargs_fit.clone()),
        Field::readonly("tf_kwargs_val", "TensorFlow evaluation kwargs", row.tf_kwargs_val.clone()),
        Field::readonly("pth_kwargs_fit", "PyTorch training kwargs", row.pth_kwargs_fit.clone()),
        Field::readonly("pth_kwargs_val", "PyTorch validation kwargs", row.pth_kwargs_val.clone()),
        Field::readonly("conf_mat_settings", "Confusion matrix", opt(row.conf_mat_settings.map(yes_no))),
        Field::readonly("optimizer", "Optimizer (distributed)", row.optimizer.clone()),
        Field::readonly("learning_rate", "Learning rate (distributed)", row.learning_rate.to_string()),
        Field::readonly("loss", "Loss (distributed)", row.loss.clone()),
        Field::readonly("metrics", "Metrics (distributed)", row.metrics.clone()),
        Field::readonly("incremental", "Incremental", yes_no(row.incremental)),
        Field::readonly("indefinite", "Indefinite (incremental)", yes_no(row.indefinite)),
        Field::readonly("stream_timeout", "Stream timeout in ms (incremental)", opt(row.stream_timeout)),
        Field::readonly("monitoring_metric", "Monitoring metric (incremental)", opt(row.monitoring_metric.clone())),
        Field::readonly("change", "Change (incremental)", opt(row.change.clone())),
        Field::readonly("improvement", "Improvement (incremental)", opt(row.improvement)),
        Field::readonly("unsupervised", "Semi-supervised", yes_no(row.unsupervised)),
        Field::readonly("unsupervised_rounds", "Rounds (semi-supervised)", opt(row.unsupervised_rounds)),
        Field::readonly("confidence", "Confidence (semi-supervised)", opt(row.confidence)),
        Field::readonly("federated", "Federated", yes_no(row.federated)),
        Field::readonly("agg_rounds", "Aggregation rounds (federated)", opt(row.agg_rounds)),
        Field::readonly("min_data", "Minimal data per client (federated)", opt(row.min_data)),
        Field::readonly("agg_strategy", "Aggregation strategy (federated)", row.agg_strategy.as_str()),
        Field::readonly("data_restriction", "Data restriction (federated)", opt(row.data_restriction.clone())),
        Field::readonly("blockchain", "Blockchain (federated)", yes_no(row.blockchain)),
    ]
}

#[async_trait::async_trait]
impl AdminTable for Deployments {
    fn slug(&self) -> &'static str {
        "deployments"
    }
    fn title(&self) -> &'static str {
        "Deployments"
    }
    fn singular(&self) -> &'static str {
        "deployment"
    }
    fn columns(&self) -> &'static [&'static str] {
        &["Id", "Configuration", "Time", "Batch", "Training mode", "Results"]
    }
    fn filters(&self) -> &'static [Filter] {
        FILTERS
    }
    fn count(&self, counts: &Counts) -> i64 {
        counts.deployments
    }

    async fn rows(&self, ctx: &Ctx) -> Result<Vec<Row>, Error> {
        let (list, distributed) = ctx
            .db(|c| {
                let list = deployments::list(c, None)?;
                let distributed: HashSet<i32> =
                    models::list(c, ModelFilter::Distributed)?.into_iter().map(|m| m.id).collect();
                Ok::<_, Error>((list, distributed))
            })
            .await?;
        Ok(list
            .into_iter()
            .map(|d| {
                let chain = d.results.iter().any(|r| distributed.contains(&r.model.id));
                let mode = training_mode(chain, &d.federated, &d.incremental, &d.semi_supervised);
                let results = i32::try_from(d.results.len()).unwrap_or(i32::MAX);
                Row {
                    id: d.id,
                    search: vec![d.configuration.name.clone(), mode.clone()],
                    facets: vec![d.configuration.name.clone(), mode.clone()],
                    cells: vec![
                        d.id.into(),
                        d.configuration.name.into(),
                        when(&d.time).into(),
                        d.fit.batch.into(),
                        mode.into(),
                        results.into(),
                    ],
                }
            })
            .collect())
    }

    async fn editor(&self, ctx: &Ctx, id: Option<i32>) -> Result<Option<Editor>, Error> {
        let Some(id) = id else {
            let all = ctx.db(|c| Ok::<_, Error>(configurations::load(c, None)?)).await?;
            let mut choices = vec![Choice::new("", "(choose one)", &[String::new()])];
            choices.extend(all.iter().map(|cfg| Choice::new(cfg.id, format!("{} ({})", cfg.name, cfg.id), &[])));
            return Ok(Some(Editor {
                repr: String::new(),
                fields: add_fields(choices),
                editable: true,
                actions: Vec::new(),
            }));
        };
        let found = ctx
            .db(move |c| {
                let Some(row) = deployments::find_row(c, id)? else { return Ok::<_, Error>(None) };
                let configuration =
                    configurations::get(c, row.fields.configuration_id)?.map(|cfg| cfg.name).unwrap_or_default();
                let trained = results::of_deployment(c, id)?;
                Ok(Some((row, configuration, trained)))
            })
            .await?;
        let Some((row, configuration, trained)) = found else { return Ok(None) };
        let distributed = trained.iter().any(|(_, m)| m.distributed);
        let settings = row.fields.clone().into_settings();
        let mode = training_mode(distributed, &settings.federated, &settings.incremental, &settings.semi_supervised);
        Ok(Some(Editor {
            repr: format!("{id} ({configuration})"),
            fields: stored_fields(id, &configuration, mode, &row.fields, &trained),
            editable: false,
            actions: Vec::new(),
        }))
    }

    async fn save(&self, ctx: &Ctx, actor: &Actor, id: Option<i32>, form: &Submitted) -> Result<i32, FormErrors> {
        if id.is_some() {
            return Err(FormErrors::field("", "A deployment can not be changed."));
        }
        let mut body = Body::new().id(form, "configuration").number(form, "gpumem").number(form, "batch");
        for name in ["tf_kwargs_fit", "tf_kwargs_val", "pth_kwargs_fit", "pth_kwargs_val"] {
            body = body.text(form, name);
        }
        for name in ["conf_mat_settings", "incremental", "indefinite", "unsupervised", "federated", "blockchain"] {
            body = body.flag(form, name);
        }
        for name in [
            "learning_rate",
            "stream_timeout",
            "improvement",
            "unsupervised_rounds",
            "confidence",
            "agg_rounds",
            "min_data",
        ] {
            body = body.number(form, name);
        }
        for name in ["optimizer", "loss", "metrics", "monitoring_metric", "change", "agg_strategy", "data_restriction"]
        {
            body = given_text(body, form, name);
        }
        let input: DeploymentInput = body.parse()?;
        training::deploy_training(ctx, actor, input).await.map_err(|e| FormErrors::placed(e, FIELDS))
    }

    async fn doomed(&self, ctx: &Ctx, id: i32) -> Result<Option<Doomed>, Error> {
        ctx.db(move |c| {
            let Some(row) = deployments::find_row(c, id)? else { return Ok(None) };
            let configuration =
                configurations::get(c, row.fields.configuration_id)?.map(|cfg| cfg.name).unwrap_or_default();
            let mut consequences = Vec::new();
            for (r, m) in results::of_deployment(c, id)? {
                consequences.push(format!(
                    "Training result {} (model {}, status {}): not deleted with the deployment; it must be deleted \
                     first",
                    r.id, m.name, r.status
                ));
                if !r.trained_model.is_empty() {
                    consequences.push(format!(
                        "Its trained model file {} goes with the result, when the result is deleted",
                        r.trained_model
                    ));
                }
                if matches!(r.status, ResultStatus::Created | ResultStatus::Deployed) {
                    consequences.push(format!(
                        "Training result {} is still {}: deleting stops no Kubernetes Job; stop it first",
                        r.id, r.status
                    ));
                }
            }
            Ok::<_, Error>(Some(Doomed { repr: format!("Deployment {id} ({configuration})"), consequences }))
        })
        .await
    }

    async fn delete(&self, ctx: &Ctx, actor: &Actor, id: i32) -> Result<(), Error> {
        catalog::delete_deployment(ctx, actor, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_modes_name_what_the_settings_combine() {
        let mut s = kafkaml_domain::settings::DeploymentSettings::default();
        let mode = |d: bool, s: &kafkaml_domain::settings::DeploymentSettings| {
            training_mode(d, &s.federated, &s.incremental, &s.semi_supervised)
        };
        assert_eq!(mode(false, &s), "plain");
        assert_eq!(mode(true, &s), "distributed");
        s.incremental.incremental = true;
        s.federated.federated = true;
        assert_eq!(mode(false, &s), "federated + incremental");
        s.federated.blockchain = true;
        s.incremental.incremental = false;
        s.semi_supervised.unsupervised = true;
        assert_eq!(mode(true, &s), "distributed + federated (blockchain) + semi-supervised");
    }

    #[test]
    fn invalid_messages_naming_a_field_land_next_to_it() {
        let e = Error::invalid("Deployment not valid", "tf_kwargs_fit: not a keyword argument");
        let errors = FormErrors::placed(e, FIELDS);
        assert_eq!(
            (errors.fields[0].field.as_str(), errors.fields[0].message.as_str()),
            ("tf_kwargs_fit", "not a keyword argument")
        );
        let e = Error::invalid("Deployment not valid", "other: x");
        assert!(FormErrors::placed(e, FIELDS).fields.is_empty());
    }
}
