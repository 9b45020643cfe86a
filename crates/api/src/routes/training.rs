//! `POST /deployments/` (launch a training) and `POST /results/stop/<id>` (stop one): the routes
//! that drive training Jobs (contract §4.3, §4.4; design §3 items 3, 7, 10–13, 23).

use actix_web::{post, web, HttpResponse};
use kafkaml_domain::deploy::DeploymentInput;
use kafkaml_domain::rules::{select_training_case, ModelRole, TrainingCase};
use kafkaml_domain::{Framework, ResultStatus};
use kafkaml_executor::ExecutorKind;
use kafkaml_orchestration::plan::{job_of_result, plan_jobs, PlannedResult, TrainingFlags};
use kafkaml_orchestration::training::{federated_string_id, training_job, TrainingUnit};
use kafkaml_persistence::repo::deployments;
use kafkaml_persistence::repo::models::{self, ModelRow};
use kafkaml_persistence::repo::results;

use crate::cluster::{backend_url, blockchain_token, training_environment, training_image};
use crate::error::{ApiError, ApiResult};
use crate::routes::training_input::{kwargs_of, new_deployment, planned, training_deployment, INVALID};
use crate::routes::training_jobs::create_all_or_none;
use crate::state::{json_body, typed, Id, State};

const TAG: &str = "deployments";

/// Checks the kwargs of every framework present with its executor, concurrently.
async fn check_with_executors(state: &State, input: &DeploymentInput, frameworks: &[Framework]) -> ApiResult<()> {
    let batch = serde_json::json!(input.batch);
    let mut checks = Vec::new();
    for framework in frameworks {
        let kind = ExecutorKind::from(*framework);
        let k = kwargs_of(input, *framework)?;
        let (executor, batch) = (state.executor.clone(), batch.clone());
        checks.push(async move { (kind, executor.check_deploy_config(kind, &batch, &k.fit, &k.val).await) });
    }
    for (kind, outcome) in futures_util::future::join_all(checks).await {
        if !outcome?.is_valid() {
            return Err(ApiError::bad_request(format!("Some {} arguments are not valid.", kind.name())));
        }
    }
    Ok(())
}

/// Indefinite incremental training watches `monitoring_metric`: every non-distributed model must use it.
fn check_monitoring_metric(input: &DeploymentInput, models: &[ModelRow]) -> ApiResult<()> {
    if !(input.incremental && input.indefinite) {
        return Ok(());
    }
    let metric = input.monitoring_metric.as_deref().map(str::trim).filter(|m| !m.is_empty()).ok_or_else(|| {
        ApiError::bad_request(format!("{INVALID}: monitoring_metric is required for indefinite incremental training."))
    })?;
    if models.iter().filter(|m| !m.distributed).any(|m| !m.code.contains(metric)) {
        return Err(ApiError::bad_request("Monitoring metric does not match."));
    }
    Ok(())
}

/// Creates a deployment of a configuration and launches its training Jobs — one per
/// non-distributed model and one per distributed chain — concurrently. The kwargs of the
/// frameworks present are parsed (never evaluated) and checked by their executor first. When a Job
/// cannot be created, the Jobs already created are deleted and nothing is stored. 201 empty.
#[utoipa::path(tag = TAG, operation_id = "create_deployment", request_body = DeploymentInput,
    responses((status = 201, description = "Deployed"), (status = 400, body = String), (status = 404, body = String),
        (status = 409, body = String), (status = 502, body = String), (status = 503, body = String)))]
#[post("/deployments")]
pub async fn create_deployment(state: State, body: web::Bytes) -> ApiResult<HttpResponse> {
    let input: DeploymentInput = typed(json_body(&body, INVALID)?, INVALID)?;
    for framework in Framework::ALL {
        kwargs_of(&input, *framework)?;
    }
    let cluster = state.cluster()?;
    let backend = backend_url(&state.settings)?;
    let configuration =
        i32::try_from(input.configuration_id()).map_err(|_| ApiError::not_found("Configuration does not exist"))?;
    let config_models = state
        .db(move |c| {
            models::of_configuration(c, configuration)?
                .ok_or_else(|| ApiError::not_found("Configuration does not exist"))
        })
        .await?;
    let frameworks: Vec<Framework> =
        Framework::ALL.iter().copied().filter(|f| config_models.iter().any(|m| m.framework() == *f)).collect();
    for framework in &frameworks {
        training_image(&state.settings, *framework)?;
    }
    check_monitoring_metric(&input, &config_models)?;
    let new = new_deployment(&input, configuration);
    let single_case = select_training_case(ModelRole::NonDistributed, new.incremental, new.federated, new.blockchain);
    if single_case == Some(TrainingCase::SingleFederatedBlockchain) && config_models.iter().any(|m| !m.distributed) {
        blockchain_token(&state.settings)?;
    }
    check_with_executors(&state, &input, &frameworks).await?;

    let to_store = new.clone();
    let created = state.db(move |c| Ok(deployments::create(c, &to_store)?)).await?;
    let by_id: std::collections::HashMap<i32, &ModelRow> = config_models.iter().map(|m| (m.id, m)).collect();
    let planned_results: Vec<PlannedResult> =
        created.results.iter().filter_map(|(r, m)| by_id.get(m).map(|model| planned(*r, model))).collect();
    let flags = TrainingFlags { incremental: new.incremental, federated: new.federated, blockchain: new.blockchain };
    let env = training_environment(&state.settings, backend);
    let deployment = training_deployment(&input, created.id, &new);
    let mut jobs = Vec::new();
    for job in plan_jobs(&planned_results, flags) {
        let k = kwargs_of(&input, job.framework)?;
        let image = training_image(&state.settings, job.framework)?;
        let unit = TrainingUnit {
            job,
            image,
            kwargs_fit: k.fit,
            kwargs_val: k.val,
            federated_string_id: federated_string_id(),
        };
        jobs.push(training_job(&env, &deployment, &unit));
    }
    if let Err(e) = create_all_or_none(cluster, jobs).await {
        let id = created.id;
        state.db(move |c| Ok(deployments::remove(c, id)?)).await?;
        return Err(e.into());
    }
    tracing::info!(deployment.id = created.id, results = created.results.len(), "deployment launched");
    Ok(HttpResponse::Created().finish())
}

/// Stops a `created` or `deployed` training: deletes its Job whatever its case (for a distributed
/// chain, the chain's Job, and every result of the chain stops). 200 empty.
#[utoipa::path(tag = "results", operation_id = "stop_training", params(("id" = i32, Path, description = "Training result id")),
    responses((status = 200, description = "Stopped"), (status = 400, body = String), (status = 404, body = String),
        (status = 502, body = String), (status = 503, body = String)))]
#[post("/results/stop/{id}")]
pub async fn stop_training(state: State, id: Id) -> ApiResult<HttpResponse> {
    let (ctx, all) = state
        .db(move |c| {
            let ctx =
                results::find_context(c, id.0)?.ok_or_else(|| ApiError::not_found("Training result does not exist"))?;
            let all = results::of_deployment(c, ctx.deployment.id)?;
            Ok((ctx, all))
        })
        .await?;
    let running = [ResultStatus::Created, ResultStatus::Deployed];
    if !ctx.result.status().is_some_and(|s| running.contains(&s)) {
        return Err(ApiError::bad_request(format!(
            "The training result is not running (its status is {}): only created or deployed results can be stopped.",
            ctx.result.status
        )));
    }
    let cluster = state.cluster()?;
    let d = &ctx.deployment;
    let flags = TrainingFlags {
        incremental: d.fields.incremental,
        federated: d.fields.federated,
        blockchain: d.fields.blockchain,
    };
    let planned_results: Vec<PlannedResult> = all.iter().map(|(r, m)| planned(r.id, m)).collect();
    let job = job_of_result(&planned_results, flags, id.0)
        .ok_or_else(|| ApiError::Internal(format!("no training Job for result {}", id.0)))?;
    let deletion = cluster.delete_job(&job.name()).await?;
    let ids = job.result_ids.clone();
    state.db(move |c| Ok(results::transition(c, &ids, &running, ResultStatus::Stopped, None)?)).await?;
    tracing::info!(result.id = id.0, job = %job.name(), ?deletion, "training stopped");
    Ok(HttpResponse::Ok().finish())
}
