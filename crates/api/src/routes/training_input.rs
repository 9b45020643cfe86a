//! From a `POST /deployments/` body to the stored deployment and the values its Jobs receive.

use kafkaml_domain::deploy::DeploymentInput;
use kafkaml_domain::rules::kwargs_to_json;
use kafkaml_domain::Framework;
use kafkaml_orchestration::plan::PlannedResult;
use kafkaml_orchestration::python::PyDecimal;
use kafkaml_orchestration::training::TrainingDeployment;
use kafkaml_persistence::repo::deployments::NewDeployment;
use kafkaml_persistence::repo::models::ModelRow;

use crate::error::{ApiError, ApiResult};

/// The prefix of the 400 messages of the route.
pub const INVALID: &str = "Deployment not valid";

/// The JSON kwargs texts of one framework.
pub struct Kwargs {
    /// `KWARGS_FIT` / `kwargs_fit`.
    pub fit: String,
    /// `KWARGS_VAL` / `kwargs_val`.
    pub val: String,
}

fn kwargs(fit: &str, val: &str, prefix: &str) -> ApiResult<Kwargs> {
    let parse = |text: &str, field: &str| {
        kwargs_to_json(text).map_err(|e| ApiError::bad_request(format!("{INVALID}: {prefix}_{field}: {e}")))
    };
    Ok(Kwargs { fit: parse(fit, "kwargs_fit")?, val: parse(val, "kwargs_val")? })
}

/// The kwargs of `framework`, parsed as literals (never evaluated) and rendered as JSON text.
pub fn kwargs_of(input: &DeploymentInput, framework: Framework) -> ApiResult<Kwargs> {
    match framework {
        Framework::Tf => kwargs(&input.tf_kwargs_fit, &input.tf_kwargs_val, "tf"),
        Framework::Pth => kwargs(&input.pth_kwargs_fit, &input.pth_kwargs_val, "pth"),
    }
}

/// The row to store.
pub fn new_deployment(input: &DeploymentInput, configuration: i32) -> NewDeployment {
    let mut new = NewDeployment::with_defaults(configuration);
    new.batch = input.batch;
    new.tf_kwargs_fit.clone_from(&input.tf_kwargs_fit);
    new.tf_kwargs_val.clone_from(&input.tf_kwargs_val);
    new.pth_kwargs_fit.clone_from(&input.pth_kwargs_fit);
    new.pth_kwargs_val.clone_from(&input.pth_kwargs_val);
    new.conf_mat_settings = input.conf_mat_settings.unwrap_or(new.conf_mat_settings);
    new.optimizer = input.optimizer.clone().unwrap_or(new.optimizer);
    new.learning_rate = input.learning_rate.unwrap_or(new.learning_rate);
    new.loss = input.loss.clone().unwrap_or(new.loss);
    new.metrics = input.metrics.clone().unwrap_or(new.metrics);
    new.incremental = input.incremental;
    new.indefinite = input.indefinite;
    new.stream_timeout = input.stream_timeout.unwrap_or(new.stream_timeout);
    new.monitoring_metric.clone_from(&input.monitoring_metric);
    new.change.clone_from(&input.change);
    new.improvement = input.improvement.unwrap_or(new.improvement);
    new.unsupervised = input.unsupervised;
    new.unsupervised_rounds = input.unsupervised_rounds.unwrap_or(new.unsupervised_rounds);
    new.confidence = input.confidence.unwrap_or(new.confidence);
    new.federated = input.federated;
    new.agg_rounds = input.agg_rounds.unwrap_or(new.agg_rounds);
    new.min_data = input.min_data.unwrap_or(new.min_data);
    new.agg_strategy = input.aggregation().as_str().to_owned();
    new.data_restriction = match &input.data_restriction {
        None => new.data_restriction,
        Some(v) => v.as_ref().map(serde_json::Value::to_string),
    };
    new.blockchain = input.blockchain;
    new
}

/// A decimal as the reference printed it: the float default when absent, the quantized value
/// when sent, `None` when sent as null.
fn decimal(sent: Option<Option<f64>>, default: f64) -> PyDecimal {
    match sent {
        None => PyDecimal::Float(default),
        Some(None) => PyDecimal::None,
        Some(Some(value)) => PyDecimal::Decimal { value, places: 6 },
    }
}

/// What the deployment's Jobs receive.
pub fn training_deployment(input: &DeploymentInput, id: i32, new: &NewDeployment) -> TrainingDeployment {
    TrainingDeployment {
        id,
        batch: new.batch,
        conf_mat_settings: new.conf_mat_settings,
        optimizer: new.optimizer.clone(),
        learning_rate: decimal(input.learning_rate.map(Some), 0.001),
        loss: new.loss.clone(),
        metrics: new.metrics.clone(),
        unsupervised: new.unsupervised,
        unsupervised_rounds: new.unsupervised_rounds,
        confidence: decimal(input.confidence, 0.9),
        indefinite: new.indefinite,
        stream_timeout: new.stream_timeout,
        monitoring_metric: new.monitoring_metric.clone(),
        change: new.change.clone(),
        improvement: decimal(input.improvement, 0.05),
        agg_rounds: new.agg_rounds,
        min_data: new.min_data,
        agg_strategy: new.agg_strategy.clone(),
        data_restriction: input.data_restriction.clone().unwrap_or_else(|| Some(serde_json::json!({}))),
        gpumem: input.gpumem,
    }
}

/// A result of the deployment as the Job plan sees it.
pub fn planned(result_id: i32, model: &ModelRow) -> PlannedResult {
    PlannedResult {
        result_id,
        model_id: model.id,
        framework: model.framework(),
        distributed: model.distributed,
        father_id: model.father_id,
    }
}
