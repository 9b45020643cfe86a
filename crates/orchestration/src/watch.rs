//! Job tracking, which the reference lacks: a training Job whose `Failed` condition is true
//! (back-off limit, deadline, evicted pods, …) turns its results `failed`, with the condition's
//! reason, and so does a Job that disappears while its results still wait for it. [`failure_of`]
//! and [`gone_of`] read that from a Job; [`crate::Cluster::job_events`] reports the [`JobEvent`]s:
//! the kube watcher of [`crate::KubeCluster`] lists the Jobs at start and again after every
//! watch error, so a Job that failed or vanished while nobody watched is still seen.

use std::collections::BTreeSet;

use k8s_openapi::api::batch::v1::Job;

use crate::labels::{split_ids, MANAGED_BY_LABEL, MANAGED_BY_VALUE, RESULT_IDS_ANNOTATION, RESULT_ID_LABEL};

/// A failed training Job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    /// The Job's name.
    pub job_name: String,
    /// The results it trains (root to leaf for a chain).
    pub result_ids: Vec<i32>,
    /// Why it failed, for users: `Job model-training-1 failed: BackoffLimitExceeded: Job has
    /// reached the specified backoff limit`.
    pub reason: String,
}

/// A training Job that was deleted (by its time-to-live, by the back-end, or by anyone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobGone {
    /// The Job's name.
    pub job_name: String,
    /// The results it trained.
    pub result_ids: Vec<i32>,
    /// Its failure, when it had failed before it was deleted.
    pub failure: Option<JobFailure>,
}

/// What the watch of the back-end's training Jobs reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobEvent {
    /// A training Job exists (created, changed, or found by a list), with its failure when its
    /// `Failed` condition is true.
    Present {
        /// The Job's name.
        job_name: String,
        /// Its failure, if it failed.
        failure: Option<JobFailure>,
    },
    /// A training Job was deleted.
    Gone(JobGone),
    /// A list of the training Jobs completed — at start and after every watch error — with the
    /// name of every one that exists now: one that is not there has disappeared, even when its
    /// deletion was never seen.
    Listed(BTreeSet<String>),
    /// The watch broke: events may be missed until the next [`JobEvent::Listed`].
    Interrupted,
}

/// The results of `job` if it is one of the back-end's Jobs (annotation, else label).
fn result_ids_of(job: &Job) -> Option<Vec<i32>> {
    let meta = &job.metadata;
    let labels = meta.labels.as_ref()?;
    if labels.get(MANAGED_BY_LABEL).map(String::as_str) != Some(MANAGED_BY_VALUE) {
        return None;
    }
    let mut result_ids =
        meta.annotations.as_ref().and_then(|a| a.get(RESULT_IDS_ANNOTATION)).map(|t| split_ids(t)).unwrap_or_default();
    if result_ids.is_empty() {
        result_ids = labels.get(RESULT_ID_LABEL).map(|t| split_ids(t)).unwrap_or_default();
    }
    (!result_ids.is_empty()).then_some(result_ids)
}

/// The deletion of `job`, if it is one of the back-end's Jobs.
pub fn gone_of(job: &Job) -> Option<JobGone> {
    let result_ids = result_ids_of(job)?;
    Some(JobGone { job_name: job.metadata.name.clone().unwrap_or_default(), result_ids, failure: failure_of(job) })
}

/// The event of a Job that exists: [`JobEvent::Present`] with its failure.
pub fn present_of(job: &Job) -> JobEvent {
    JobEvent::Present { job_name: job.metadata.name.clone().unwrap_or_default(), failure: failure_of(job) }
}

/// The failure of `job`, if it is one of the back-end's Jobs and its `Failed` condition is true.
pub fn failure_of(job: &Job) -> Option<JobFailure> {
    let meta = &job.metadata;
    let condition =
        job.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "Failed" && c.status == "True")?;
    let result_ids = result_ids_of(job)?;
    let job_name = meta.name.clone().unwrap_or_default();
    let mut reason = format!("Job {job_name} failed");
    for part in [condition.reason.as_deref(), condition.message.as_deref()].into_iter().flatten() {
        if !part.trim().is_empty() {
            reason.push_str(": ");
            reason.push_str(part.trim());
        }
    }
    Some(JobFailure { job_name, result_ids, reason })
}

#[cfg(test)]
mod tests {

    use super::*;
    use serde_json::json;

    fn job(value: serde_json::Value) -> Job {
        serde_json::from_value(value).unwrap()
    }

    fn labelled(conditions: serde_json::Value) -> Job {
        job(json!({
            "metadata": {
                "name": "distributed-model-training-13-14-15",
                "labels": {"app.kubernetes.io/managed-by": "kafkaml-backend", "kafkaml.io/result-id": "13"},
                "annotations": {"kafkaml.io/result-ids": "13,14,15"},
            },
            "status": {"conditions": conditions},
        }))
    }

    #[test]
    fn failed_condition_gives_a_failure_of_every_result() {
        let j = labelled(json!([
            {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded"},
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
             "message": "Job has reached the specified backoff limit"},
        ]));
        assert_eq!(
            failure_of(&j),
            Some(JobFailure {
                job_name: "distributed-model-training-13-14-15".to_owned(),
                result_ids: vec![13, 14, 15],
                reason: "Job distributed-model-training-13-14-15 failed: BackoffLimitExceeded: Job has reached the \
                         specified backoff limit"
                    .to_owned(),
            })
        );
    }

    #[test]
    fn other_jobs_and_states_are_ignored() {
        assert_eq!(failure_of(&labelled(json!([{"type": "Complete", "status": "True"}]))), None);
        assert_eq!(failure_of(&labelled(json!([{"type": "Failed", "status": "False"}]))), None);
        assert_eq!(failure_of(&labelled(json!([]))), None);
        let foreign = job(json!({
            "metadata": {"name": "x", "labels": {"kafkaml.io/result-id": "1"}},
            "status": {"conditions": [{"type": "Failed", "status": "True"}]},
        }));
        assert_eq!(failure_of(&foreign), None);
        assert_eq!(failure_of(&job(json!({"metadata": {"name": "bare"}}))), None);
    }

    #[test]
    fn label_is_the_fallback_and_reason_may_be_missing() {
        let j = job(json!({
            "metadata": {"name": "model-training-7",
                "labels": {"app.kubernetes.io/managed-by": "kafkaml-backend", "kafkaml.io/result-id": "7"}},
            "status": {"conditions": [{"type": "Failed", "status": "True"}]},
        }));
        let f = failure_of(&j).unwrap();
        assert_eq!(f.result_ids, vec![7]);
        assert_eq!(f.reason, "Job model-training-7 failed");
    }

    #[test]
    fn a_deleted_job_reports_its_results_and_its_failure_if_any() {
        let running = labelled(json!([]));
        assert_eq!(
            gone_of(&running),
            Some(JobGone {
                job_name: "distributed-model-training-13-14-15".to_owned(),
                result_ids: vec![13, 14, 15],
                failure: None
            })
        );
        let failed = labelled(json!([{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]));
        let gone = gone_of(&failed).unwrap();
        assert_eq!(gone.failure.unwrap().reason, "Job distributed-model-training-13-14-15 failed: DeadlineExceeded");
        assert_eq!(gone_of(&job(json!({"metadata": {"name": "x", "labels": {"kafkaml.io/result-id": "1"}}}))), None);
        assert_eq!(
            present_of(&running),
            JobEvent::Present { job_name: "distributed-model-training-13-14-15".to_owned(), failure: None }
        );
    }
}
