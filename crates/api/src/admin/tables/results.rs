//! Training results: written by the training pods and the Job failure watcher, so read-only here,
//! with their live state (status and the reason a Job failed), their metrics, and download links to
//! their files through the REST API's routes. Actions: stop a running training
//! (`training::stop_training`, as `POST /results/stop/<id>`); delete a result that is not running
//! with its files (`results::delete_result`, as `DELETE /results/<id>`).

use kafkaml_domain::ResultStatus;
use kafkaml_persistence::repo::counts::Counts;
use kafkaml_persistence::repo::{inferences, results};

use crate::admin::form::{Field, FormErrors, Submitted};
use crate::admin::list::{Cell, Filter, Row};
use crate::admin::tables::{when, AdminTable, Editor, ObjectAction};
use crate::admin::view::Doomed;
use crate::usecase::{results as usecase, training, Actor, Ctx, Error};

/// The training results table.
pub struct Results;

const FILTERS: &[Filter] = &[
    Filter { key: "status", label: "status" },
    Filter { key: "deployment", label: "deployment" },
    Filter { key: "model", label: "model" },
];

const STOP: ObjectAction = ObjectAction { name: "stop", label: "Stop the training" };

/// The REST API's root seen from a change page (`<root>/results/<id>/change/`): four levels up,
/// under `/admin/` and `/api/admin/` alike.
const API_ROOT: &str = "../../../../";

fn running(status: ResultStatus) -> bool {
    matches!(status, ResultStatus::Created | ResultStatus::Deployed)
}

fn seconds(time: Option<f64>) -> Cell {
    Cell { text: time.map(|t| format!("{t:.3} s")).unwrap_or_default(), number: time }
}

#[async_trait::async_trait]
impl AdminTable for Results {
    fn slug(&self) -> &'static str {
        "results"
    }
    fn title(&self) -> &'static str {
        "Training results"
    }
    fn singular(&self) -> &'static str {
        "training result"
    }
    fn columns(&self) -> &'static [&'static str] {
        &["Id", "Model", "Deployment", "Status", "Status reason", "Training time", "Status changed"]
    }
    fn filters(&self) -> &'static [Filter] {
        FILTERS
    }
    fn can_add(&self) -> bool {
        false
    }
    fn count(&self, counts: &Counts) -> i64 {
        counts.results
    }

    async fn rows(&self, ctx: &Ctx) -> Result<Vec<Row>, Error> {
        let list = ctx.db(|c| Ok::<_, Error>(results::list(c, None, None)?)).await?;
        Ok(list
            .into_iter()
            .map(|r| {
                let reason = r.status_reason.clone().unwrap_or_default();
                Row {
                    id: r.id,
                    search: vec![r.model.name.clone(), reason.clone()],
                    facets: vec![r.status.to_string(), r.deployment.id.to_string(), r.model.name.clone()],
                    cells: vec![
                        r.id.into(),
                        r.model.name.into(),
                        r.deployment.id.into(),
                        r.status.as_str().into(),
                        reason.into(),
                        seconds(r.training_time),
                        when(&r.status_changed).into(),
                    ],
                }
            })
            .collect())
    }

    async fn editor(&self, ctx: &Ctx, id: Option<i32>) -> Result<Option<Editor>, Error> {
        let Some(id) = id else { return Ok(None) };
        let Some(found) = ctx.db(move |c| Ok::<_, Error>(results::find_context(c, id)?)).await? else {
            return Ok(None);
        };
        let (r, model, deployment) = (found.result, found.model, found.deployment);
        let json = |v: &Option<String>| v.clone().unwrap_or_default();
        let mut fields = vec![
            Field::readonly("model", "Model", format!("{} ({})", model.name, model.id))
                .link(format!("../../../models/{}/change/", model.id)),
            Field::readonly(
                "deployment",
                "Deployment",
                format!("{} ({})", deployment.id, when(&deployment.fields.time)),
            )
            .link(format!("../../../deployments/{}/change/", deployment.id)),
            Field::readonly("status", "Status", r.status.as_str()),
            Field::readonly("status_reason", "Status reason", r.status_reason.clone().unwrap_or_default())
                .help("Why the training Job failed, as the cluster reported it."),
            Field::readonly("status_changed", "Status changed", when(&r.status_changed)),
            Field::readonly("training_time", "Training time", seconds(r.training_time).text),
            Field::readonly("train_metrics", "Training metrics", json(&r.train_metrics)),
            Field::readonly("val_metrics", "Validation metrics", json(&r.val_metrics)),
            Field::readonly("test_metrics", "Test metrics", json(&r.test_metrics)),
            Field::readonly("confusion_matrix", "Confusion matrix", json(&r.confusion_matrix)),
        ];
        fields.push(if r.trained_model.is_empty() {
            Field::readonly("trained_model", "Trained model", "").help("Not uploaded yet.")
        } else {
            Field::readonly("trained_model", "Trained model", r.trained_model.clone())
                .link(format!("{API_ROOT}results/model/{id}"))
        });
        if let Some(image) = r.confusion_mat_img.as_ref().filter(|p| !p.is_empty()) {
            fields.push(
                Field::readonly("confusion_mat_img", "Confusion matrix image", image.clone())
                    .link(format!("{API_ROOT}results/confusion_matrix/{id}")),
            );
        }
        Ok(Some(Editor {
            repr: format!("{id} ({})", model.name),
            fields,
            editable: false,
            actions: if running(r.status) { vec![STOP] } else { Vec::new() },
        }))
    }

    async fn save(&self, _ctx: &Ctx, _actor: &Actor, _id: Option<i32>, _form: &Submitted) -> Result<i32, FormErrors> {
        Err(FormErrors::field("", "Training results are written by the training pods, not edited."))
    }

    async fn doomed(&self, ctx: &Ctx, id: i32) -> Result<Option<Doomed>, Error> {
        ctx.db(move |c| {
            let Some(found) = results::find_context(c, id)? else { return Ok(None) };
            let r = &found.result;
            let mut consequences = Vec::new();
            if !r.trained_model.is_empty() {
                consequences.push(format!("Its trained model file {}", r.trained_model));
            }
            if let Some(image) = r.confusion_mat_img.as_ref().filter(|p| !p.is_empty()) {
                consequences.push(format!("Its confusion matrix image {image}"));
            }
            for inference in inferences::list(c)?.into_iter().filter(|i| i.model_result == Some(id)) {
                consequences.push(format!(
                    "Inference {} ({}) is kept, without its training result",
                    inference.id, inference.status
                ));
            }
            Ok::<_, Error>(Some(Doomed {
                repr: format!(
                    "Training result {id} (model {}, deployment {}, status {})",
                    found.model.name, found.deployment.id, r.status
                ),
                consequences,
            }))
        })
        .await
    }

    async fn delete(&self, ctx: &Ctx, actor: &Actor, id: i32) -> Result<(), Error> {
        usecase::delete_result(ctx, actor, id).await
    }

    async fn act(&self, ctx: &Ctx, actor: &Actor, id: i32, name: &str) -> Result<Option<String>, Error> {
        match name {
            "stop" => {
                training::stop_training(ctx, actor, id).await?;
                Ok(Some(format!(
                    "Training result {id} was stopped: its Kubernetes Job was deleted (with every result it trained)."
                )))
            }
            _ => Ok(None),
        }
    }
}
