//! Creating a deployment's Jobs all or none.

use futures_util::{stream, StreamExt};
use kafkaml_orchestration::{Cluster, ClusterError, Job};

/// Jobs created at once.
const CONCURRENCY: usize = 32;

/// Creates every Job concurrently. When one fails, every Job of the list is deleted again — also
/// those whose creation timed out, which may exist — except one refused as already existing, which
/// is not ours; the first error is returned.
pub async fn create_all_or_none(cluster: &dyn Cluster, jobs: Vec<Job>) -> Result<(), ClusterError> {
    let outcomes: Vec<(String, Result<(), ClusterError>)> = stream::iter(jobs.iter())
        .map(|job| async move { (job.metadata.name.clone().unwrap_or_default(), cluster.create_job(job).await) })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut first_error = None;
    let mut to_delete = Vec::new();
    for (name, outcome) in outcomes {
        match outcome {
            Ok(()) => to_delete.push(name),
            Err(ClusterError::AlreadyExists { kind, name }) => {
                first_error.get_or_insert(ClusterError::AlreadyExists { kind, name });
            }
            Err(e) => {
                to_delete.push(name);
                first_error.get_or_insert(e);
            }
        }
    }
    let Some(error) = first_error else { return Ok(()) };
    tracing::warn!(error = %error, jobs = to_delete.len(), "a training Job could not be created; deleting the others");
    let deletions: Vec<(String, Result<_, ClusterError>)> = stream::iter(to_delete)
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
    Err(error)
}
