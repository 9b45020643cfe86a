//! Creating a deployment's Jobs all or none.

use std::sync::Arc;

use futures_util::{stream, StreamExt};
use kafkaml_orchestration::{Cluster, ClusterError, Job};

/// Jobs created at once.
const CONCURRENCY: usize = 32;

/// Creates every Job concurrently. When one fails, every Job of the list is deleted again — also
/// those whose creation timed out, which may exist — except one refused as already existing, which
/// is not ours; the first error is returned. When the cluster answered, the deletions are done
/// before returning; when it is unavailable (unreachable, too slow) they go on in the background,
/// so that the caller's answer is not delayed by another time limit.
pub async fn create_all_or_none(cluster: Arc<dyn Cluster>, jobs: Vec<Job>) -> Result<(), ClusterError> {
    let creator = cluster.as_ref();
    let outcomes: Vec<(String, Result<(), ClusterError>)> = stream::iter(jobs.iter())
        .map(|job| async move { (job.metadata.name.clone().unwrap_or_default(), creator.create_job(job).await) })
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
    if error.is_unavailable() {
        tokio::spawn(delete_all(cluster, to_delete));
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
