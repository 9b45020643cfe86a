//! Training: deploy a configuration (one Job per non-distributed model and one per distributed
//! chain), stop a result, and record the failures and disappearances of Jobs.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{stream, StreamExt};
use kafkaml_domain::deploy::DeploymentInput;
use kafkaml_domain::rules::{select_training_case, ModelRole, TrainingCase};
use kafkaml_domain::settings::{DeploymentRequest, DeploymentSettings};
use kafkaml_domain::{Framework, ResultStatus, Violation};
use kafkaml_executor::ExecutorKind;
use kafkaml_orchestration::plan::{job_of_result, plan_jobs, PlannedResult, TrainingFlags};
use kafkaml_orchestration::training::{federated_string_id, training_job, TrainingDeployment, TrainingUnit};
use kafkaml_orchestration::{Cluster, ClusterError, Job, JobEvent, JobFailure, JobGone};
use kafkaml_persistence::repo::deployments::{self, NewDeployment};
use kafkaml_persistence::repo::models::{self, ModelRow};
use kafkaml_persistence::repo::results;
use kafkaml_persistence::{write_transaction, DbConnection};

use crate::usecase::{Actor, Change, Ctx, Error, Missing};

/// The prefix of the validation messages of a deployment.
pub const INVALID: &str = "Deployment not valid";

/// Jobs created (or deleted) at once.
const CONCURRENCY: usize = 32;

/// A result of the deployment as the Job plan sees it.
fn planned(result_id: i32, model: &ModelRow) -> PlannedResult {
    PlannedResult {
        result_id,
        model_id: model.id,
        framework: model.framework,
        distributed: model.distributed,
        father_id: model.father_id,
    }
}

fn flags(settings: &DeploymentSettings) -> TrainingFlags {
    TrainingFlags {
        incremental: settings.incremental.incremental,
        federated: settings.federated.federated,
        blockchain: settings.federated.blockchain,
    }
}

/// Indefinite incremental training watches `monitoring_metric`: every non-distributed model must
/// use it.
fn check_monitoring_metric(settings: &DeploymentSettings, models: &[ModelRow]) -> Result<(), Error> {
    let incremental = &settings.incremental;
    if !(incremental.incremental && incremental.indefinite) {
        return Ok(());
    }
    let metric =
        incremental.monitoring_metric.as_deref().map(str::trim).filter(|m| !m.is_empty()).ok_or_else(|| {
            Error::invalid(INVALID, "monitoring_metric is required for indefinite incremental training.")
        })?;
    if models.iter().filter(|m| !m.distributed).any(|m| !m.code.contains(metric)) {
        return Err(Violation::MonitoringMetricMismatch.into());
    }
    Ok(())
}

/// Checks the kwargs of every framework present with its executor, concurrently.
async fn check_with_executors(ctx: &Ctx, request: &DeploymentRequest, frameworks: &[Framework]) -> Result<(), Error> {
    let batch = serde_json::json!(request.settings.fit.batch);
    let checks = frameworks.iter().map(|framework| {
        let kind = ExecutorKind::from(*framework);
        let kwargs = request.kwargs.of(*framework);
        let (executor, batch) = (ctx.services.executor.clone(), &batch);
        async move { (kind, executor.check_deploy_config(kind, batch, &kwargs.fit, &kwargs.val).await) }
    });
    for (kind, outcome) in futures_util::future::join_all(checks).await {
        if !outcome?.is_valid() {
            return Err(Violation::KwargsRefused(kind.name()).into());
        }
    }
    Ok(())
}

/// Creates a deployment of a configuration and launches its training Jobs concurrently. Checked
/// first, in this order: the body, the cluster and `BACKEND_URL`, the configuration, the images
/// of its frameworks, the monitoring metric, the blockchain contract, and the kwargs with their
/// executors. When a Job cannot be created, the Jobs already created are deleted and nothing is
/// stored. Returns the new deployment's id.
pub async fn deploy_training(ctx: &Ctx, actor: &Actor, input: DeploymentInput) -> Result<i32, Error> {
    let request = input.resolve().map_err(|m| Error::invalid(INVALID, m))?;
    let cluster = ctx.cluster()?;
    let incremental = &request.settings.incremental;
    let env = ctx.training_environment(incremental.incremental && incremental.indefinite)?;
    let configuration = i32::try_from(request.configuration).map_err(|_| Error::NotFound(Missing::Configuration))?;
    let config_models = ctx
        .db(move |c| models::of_configuration(c, configuration)?.ok_or(Error::NotFound(Missing::Configuration)))
        .await?;
    if request.settings.federated.federated {
        // Kafka-ML's PyTorch training image trains only classic Jobs (docs/contract.md §5.3.2).
        if let Some(model) = config_models.iter().find(|m| m.framework == Framework::Pth) {
            return Err(Violation::FederatedPyTorch(model.name.clone()).into());
        }
    }
    let frameworks: Vec<Framework> =
        Framework::ALL.iter().copied().filter(|f| config_models.iter().any(|m| m.framework == *f)).collect();
    for framework in &frameworks {
        ctx.config.training_images.of(*framework)?;
    }
    let settings = &request.settings;
    check_monitoring_metric(settings, &config_models)?;
    let flags = flags(settings);
    let single_case =
        select_training_case(ModelRole::NonDistributed, flags.incremental, flags.federated, flags.blockchain);
    if single_case == Some(TrainingCase::SingleFederatedBlockchain) && config_models.iter().any(|m| !m.distributed) {
        ctx.config.blockchain_token.clone()?;
        ctx.config.blockchain_wallet.clone()?;
    }
    check_with_executors(ctx, &request, &frameworks).await?;

    let row = NewDeployment::new(configuration, kafkaml_domain::datetime::now(), settings);
    let created = ctx.db(move |c| Ok::<_, Error>(deployments::create(c, &row)?)).await?;
    let by_id: HashMap<i32, &ModelRow> = config_models.iter().map(|m| (m.id, m)).collect();
    let planned_results: Vec<PlannedResult> =
        created.results.iter().filter_map(|(r, m)| by_id.get(m).map(|model| planned(*r, model))).collect();
    let deployment = TrainingDeployment { id: created.id, settings, gpumem: request.gpumem };
    let mut jobs = Vec::new();
    for job in plan_jobs(&planned_results, flags) {
        let kwargs = request.kwargs.of(job.framework);
        let unit = TrainingUnit {
            image: ctx.config.training_images.of(job.framework)?.to_owned(),
            kwargs_fit: kwargs.fit.clone(),
            kwargs_val: kwargs.val.clone(),
            federated_string_id: federated_string_id(),
            job,
        };
        jobs.push(training_job(&env, &deployment, &unit));
    }
    let names: Vec<String> = jobs.iter().filter_map(|j| j.metadata.name.clone()).collect();
    // Until the rows are gone, the Jobs' deletion is the back-end's own, not a failure.
    let deleting = ctx.background.deleting_jobs(names);
    if let Err(e) = create_all_or_none(ctx, cluster, jobs).await {
        let ids: Vec<i32> = created.results.iter().map(|(r, _)| *r).collect();
        roll_back(ctx, created.id, ids, &e).await;
        drop(deleting);
        return Err(e.into());
    }
    drop(deleting);
    let (id, actor) = (created.id, actor.clone());
    // Recorded once the Jobs exist: a deployment rolled back above leaves no entry.
    ctx.db(move |c| {
        Ok::<_, Error>(actor.record(c, &Change::new("add", "deployments", Some(id), &format!("Deployment {id}")))?)
    })
    .await?;
    tracing::info!(deployment.id = created.id, results = created.results.len(), "deployment launched");
    Ok(created.id)
}

/// Who marks the results of a deployment failed when its rollback could not remove them.
pub const DEPLOYMENT_ROLLBACK: Actor = Actor::System("deployment rollback");

/// Removes the rows of deployment `id`, whose Jobs could not be created because of `cause`. When
/// they cannot be removed, the failure is logged (never replacing `cause`, which the caller
/// returns) and its results `ids` become `failed` with the reason, so none waits for a Job that
/// will never come.
async fn roll_back(ctx: &Ctx, id: i32, ids: Vec<i32>, cause: &ClusterError) {
    let Err(e) = ctx.db(move |c| Ok::<_, Error>(deployments::remove(c, id)?)).await else { return };
    tracing::error!(deployment.id = id, error = %e, cause = %cause,
        "could not remove the rows of a deployment whose Jobs could not be created; marking its results failed");
    let reason = format!("The training Jobs could not be created: {cause}");
    let marked = ctx.db(move |c| mark_failed(c, &DEPLOYMENT_ROLLBACK, &ids, &reason)).await;
    if let Err(e) = marked {
        tracing::error!(deployment.id = id, error = %e, "could not mark the results of a failed deployment failed");
    }
}

/// Stops a `created` or `deployed` training: deletes its Job whatever its case (for a distributed
/// chain, the chain's Job, and every result of the chain stops).
pub async fn stop_training(ctx: &Ctx, actor: &Actor, result_id: i32) -> Result<(), Error> {
    let (found, all) = ctx
        .db(move |c| {
            let found = results::find_context(c, result_id)?.ok_or(Error::NotFound(Missing::TrainingResult))?;
            let all = results::of_deployment(c, found.deployment.id)?;
            Ok::<_, Error>((found, all))
        })
        .await?;
    let running = [ResultStatus::Created, ResultStatus::Deployed];
    if !running.contains(&found.result.status) {
        return Err(Violation::ResultNotRunning(found.result.status).into());
    }
    let cluster = ctx.cluster()?;
    let planned_results: Vec<PlannedResult> = all.iter().map(|(r, m)| planned(r.id, m)).collect();
    let job = job_of_result(&planned_results, flags(&found.deployment.fields.into_settings()), result_id)
        .ok_or_else(|| Error::Internal(format!("no training Job for result {result_id}")))?;
    // Until the results are stopped, the Job's disappearance is not a failure.
    let _deleting = ctx.background.deleting_jobs([job.name()]);
    let deletion = cluster.delete_job(&job.name()).await?;
    let ids = job.result_ids.clone();
    let actor = actor.clone();
    ctx.db(move |c| {
        write_transaction(c, |c| {
            results::transition(c, &ids, &running, ResultStatus::Stopped, None)?;
            for id in &ids {
                actor.record(
                    c,
                    &Change::new("stop", "results", Some(*id), &format!("Result {id}")).fields(&["status"]),
                )?;
            }
            Ok::<_, Error>(())
        })
    })
    .await?;
    tracing::info!(result.id = result_id, job = %job.name(), ?deletion, "training stopped");
    Ok(())
}

/// Who marks the results of failed Jobs in the audit trail.
pub const JOB_WATCHER: Actor = Actor::System("job watcher");

/// How long the disappearance of a Job that had not failed waits before its results are marked
/// failed: a stop or a rollback (of any replica) changes or removes them meanwhile.
const VANISHED_JOB_SETTLE: Duration = Duration::from_secs(3);

/// Marks the `created` or `deployed` results among `ids` failed with `reason`, each with its
/// audit entry by `actor`, in one transaction; returns how many changed.
fn mark_failed(c: &mut DbConnection, actor: &Actor, ids: &[i32], reason: &str) -> Result<usize, Error> {
    let running = [ResultStatus::Created, ResultStatus::Deployed];
    write_transaction(c, |c| {
        let mut changed = 0;
        for id in ids {
            // One result at a time, to record only those that changed.
            if results::transition(c, &[*id], &running, ResultStatus::Failed, Some(reason))? > 0 {
                changed += 1;
                let repr = format!("Result {id}");
                let change = Change::new("fail", "results", Some(*id), &repr).fields(&["status", "status_reason"]);
                actor.record(c, &change)?;
            }
        }
        Ok(changed)
    })
}

/// Marks the running results of `ids` failed with `reason` as [`JOB_WATCHER`], logging the outcome.
async fn fail_results(ctx: &Ctx, job: &str, ids: Vec<i32>, reason: String) {
    let (logged_ids, logged_reason) = (ids.clone(), reason.clone());
    match ctx.db(move |c| mark_failed(c, &JOB_WATCHER, &ids, &reason)).await {
        Ok(0) => {}
        Ok(changed) => tracing::info!(job = %job, results = ?logged_ids, changed, reason = ?logged_reason,
            "training Job failed or disappeared; results marked failed"),
        Err(e) => tracing::warn!(job = %job, error = %e, "could not record a Job failure"),
    }
}

/// The reason of a Job that disappeared while its results waited for it.
pub fn disappeared(job: &str) -> String {
    format!("Job {job} disappeared")
}

/// Watches the cluster's training Jobs (`Cluster::job_events`) and marks `failed`, with the
/// reason, recording each in the audit trail as [`JOB_WATCHER`]:
///
/// - the results of a Job whose `Failed` condition is true (seen live, or in a list);
/// - the results of a Job that was deleted while they were still `created` or `deployed`
///   ("Job … disappeared"), unless the back-end is deleting it itself (a stop, a rollback), after
///   a short settling time in which another replica's stop changes them;
/// - at every complete list (at start, and after every watch error), the running results of
///   deployments older than `Config::job_creation_grace` whose Job is not in the list — it failed
///   or vanished while nobody watched; younger deployments are checked again once that age is
///   reached.
///
/// Only `created` and `deployed` results change, so `finished` and `stopped` ones are never
/// overwritten and repeated reports change nothing (and record nothing): every replica may run
/// this.
pub async fn record_job_failures(ctx: Arc<Ctx>, cluster: Arc<dyn Cluster>) {
    let mut events = cluster.job_events();
    // The Jobs that exist, while the watch is in step with the cluster.
    let mut known: Option<BTreeSet<String>> = None;
    let mut recheck: Option<tokio::time::Instant> = None;
    loop {
        let event = match (recheck, known.as_ref()) {
            (Some(at), Some(listed)) => {
                tokio::select! {
                    event = events.next() => event,
                    () = tokio::time::sleep_until(at) => {
                        recheck = reconcile(&ctx, listed).await;
                        continue;
                    }
                }
            }
            _ => events.next().await,
        };
        let Some(event) = event else { break };
        match event {
            JobEvent::Present { job_name, failure } => {
                if let Some(known) = known.as_mut() {
                    known.insert(job_name);
                }
                if let Some(JobFailure { job_name, result_ids, reason }) = failure {
                    fail_results(&ctx, &job_name, result_ids, reason).await;
                }
            }
            JobEvent::Gone(gone) => {
                if let Some(known) = known.as_mut() {
                    known.remove(&gone.job_name);
                }
                job_gone(&ctx, gone).await;
            }
            JobEvent::Listed(listed) => {
                recheck = reconcile(&ctx, &listed).await;
                known = Some(listed);
            }
            JobEvent::Interrupted => known = None,
        }
    }
}

/// A deleted Job: its failure when it had one, else (after [`VANISHED_JOB_SETTLE`], in the
/// background) its disappearance, unless the back-end is deleting it itself.
async fn job_gone(ctx: &Arc<Ctx>, gone: JobGone) {
    if let Some(JobFailure { job_name, result_ids, reason }) = gone.failure {
        fail_results(ctx, &job_name, result_ids, reason).await;
        return;
    }
    if ctx.background.is_deleting_job(&gone.job_name) {
        return;
    }
    let ctx = ctx.clone();
    tokio::spawn(async move {
        tokio::time::sleep(VANISHED_JOB_SETTLE).await;
        if ctx.background.is_deleting_job(&gone.job_name) {
            return;
        }
        let reason = disappeared(&gone.job_name);
        fail_results(&ctx, &gone.job_name, gone.result_ids, reason).await;
    });
}

/// Marks failed the running results of deployments older than the grace whose Job is not among
/// `listed` (nor being deleted by the back-end); returns when to look again at the younger ones.
async fn reconcile(ctx: &Ctx, listed: &BTreeSet<String>) -> Option<tokio::time::Instant> {
    let deployments = match ctx.db(|c| Ok::<_, Error>(results::running_deployments(c)?)).await {
        Ok(deployments) => deployments,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the running trainings to reconcile them with the Jobs");
            // Try again a little later.
            return Some(tokio::time::Instant::now() + Duration::from_secs(30));
        }
    };
    let now = kafkaml_domain::datetime::now();
    let grace = ctx.config.job_creation_grace;
    let running = [ResultStatus::Created, ResultStatus::Deployed];
    let mut next: Option<Duration> = None;
    for (deployment, all) in deployments {
        let age = (now - deployment.fields.time).to_std().unwrap_or_default();
        let waiting: HashSet<i32> =
            all.iter().filter(|(r, _)| running.contains(&r.status)).map(|(r, _)| r.id).collect();
        let planned_results: Vec<PlannedResult> = all.iter().map(|(r, m)| planned(r.id, m)).collect();
        for job in plan_jobs(&planned_results, flags(&deployment.fields.clone().into_settings())) {
            let name = job.name();
            if !job.result_ids.iter().any(|id| waiting.contains(id))
                || listed.contains(&name)
                || ctx.background.is_deleting_job(&name)
            {
                continue;
            }
            if age < grace {
                let left = grace - age;
                next = Some(next.map_or(left, |n| n.min(left)));
                continue;
            }
            let reason = disappeared(&name);
            fail_results(ctx, &name, job.result_ids, reason).await;
        }
    }
    next.map(|left| tokio::time::Instant::now() + left + Duration::from_secs(1))
}

/// Creates every Job concurrently. When one fails, every Job of the list is deleted again — also
/// those whose creation timed out, which may exist — except one refused as already existing, which
/// is not ours; the first error is returned. When the cluster answered, the deletions are done
/// before returning; when it is unavailable (unreachable, too slow) they go on in the background
/// (tracked by `Ctx::background`), so that the caller's answer is not delayed by another time
/// limit.
async fn create_all_or_none(ctx: &Ctx, cluster: Arc<dyn Cluster>, jobs: Vec<Job>) -> Result<(), ClusterError> {
    let creator = cluster.as_ref();
    // The creations are built before they are streamed: a closure over `&Job` inside the stream
    // would make this future not provably `Send` (rust-lang/rust#102211), which the admin needs.
    let creations: Vec<_> = jobs
        .iter()
        .map(|job| async move { (job.metadata.name.clone().unwrap_or_default(), creator.create_job(job).await) })
        .collect();
    let outcomes: Vec<(String, Result<(), ClusterError>)> =
        stream::iter(creations).buffer_unordered(CONCURRENCY).collect().await;
    let mut first_error = None;
    let mut to_delete = Vec::new();
    for (name, outcome) in outcomes {
        match outcome {
            Ok(()) => to_delete.push(name),
            Err(e @ ClusterError::AlreadyExists { .. }) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                to_delete.push(name);
                first_error.get_or_insert(e);
            }
        }
    }
    let Some(error) = first_error else { return Ok(()) };
    tracing::warn!(error = %error, jobs = to_delete.len(), "a training Job could not be created; deleting the others");
    if error.is_unavailable() {
        // Tracked: a stop of the back-end waits for it (`KAFKAML_SHUTDOWN_TIMEOUT`).
        let deleting = ctx.background.deleting_jobs(to_delete.clone());
        ctx.background.spawn(async move {
            delete_all(cluster, to_delete).await;
            drop(deleting);
        });
    } else {
        delete_all(cluster, to_delete).await;
    }
    Err(error)
}

/// Deletes the named Jobs concurrently, logging failures.
async fn delete_all(cluster: Arc<dyn Cluster>, names: Vec<String>) {
    let cluster = cluster.as_ref();
    let deletions: Vec<(String, Result<_, ClusterError>)> = stream::iter(names)
        .map(|name| async move {
            let outcome = cluster.delete_job(&name).await;
            (name, outcome)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for (name, outcome) in deletions {
        if let Err(e) = outcome {
            tracing::error!(job = %name, error = %e, "could not delete a Job of a failed deployment");
        }
    }
}
