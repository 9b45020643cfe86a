//! Work the back-end does besides answering requests: the clean-ups a request leaves running
//! (deleting the Jobs of a deployment that could not be launched, the controller of an inference
//! whose creation timed out) and the Jobs it is deleting itself.
//!
//! The clean-ups are tracked, so a stop waits for them (up to `KAFKAML_SHUTDOWN_TIMEOUT`) instead
//! of dropping them; the Jobs being deleted are known, so the Job watcher does not take their
//! disappearance for a failure.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio_util::task::TaskTracker;

/// The background work of one application; see the [module documentation](self).
#[derive(Debug)]
pub struct Background {
    tasks: TaskTracker,
    /// The runtime the work runs on: the one the application was built on, not the HTTP worker's
    /// that spawns it (actix-web's workers have runtimes of their own, stopped with the server,
    /// which would drop the work unfinished).
    runtime: Option<tokio::runtime::Handle>,
    /// Names of the Jobs being deleted by the back-end, with how many deletions of each are under
    /// way.
    deleting: Arc<Mutex<HashMap<String, usize>>>,
}

impl Default for Background {
    fn default() -> Self {
        Self::new()
    }
}

impl Background {
    /// Background work on the current Tokio runtime (the one it is made on), if any; else on
    /// the runtime of whoever spawns it.
    pub fn new() -> Self {
        Self {
            tasks: TaskTracker::new(),
            runtime: tokio::runtime::Handle::try_current().ok(),
            deleting: Arc::default(),
        }
    }

    /// Runs `work` in the background, tracked until it ends.
    pub fn spawn<F>(&self, work: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match &self.runtime {
            Some(runtime) => drop(self.tasks.spawn_on(work, runtime)),
            None => drop(self.tasks.spawn(work)),
        }
    }

    /// How many tracked tasks are still running.
    pub fn running(&self) -> usize {
        self.tasks.len()
    }

    /// Waits until every tracked task has ended, at most `timeout`; `false` when some were still
    /// running then. Tasks spawned meanwhile are waited for too.
    pub async fn drain(&self, timeout: Duration) -> bool {
        self.tasks.close();
        let done = tokio::time::timeout(timeout, self.tasks.wait()).await.is_ok();
        self.tasks.reopen();
        done
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, usize>> {
        self.deleting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks the Jobs `names` as being deleted by the back-end until the returned guard is
    /// dropped (after the rows that wait for them have changed).
    pub fn deleting_jobs(&self, names: impl IntoIterator<Item = String>) -> Deleting {
        let names: Vec<String> = names.into_iter().collect();
        let mut deleting = self.lock();
        for name in &names {
            *deleting.entry(name.clone()).or_default() += 1;
        }
        Deleting { deleting: self.deleting.clone(), names }
    }

    /// Whether the back-end is deleting the Job `name` itself right now.
    pub fn is_deleting_job(&self, name: &str) -> bool {
        self.lock().contains_key(name)
    }
}

/// Jobs being deleted by the back-end, until dropped; made by [`Background::deleting_jobs`].
#[derive(Debug)]
pub struct Deleting {
    deleting: Arc<Mutex<HashMap<String, usize>>>,
    names: Vec<String>,
}

impl Drop for Deleting {
    fn drop(&mut self) {
        let mut deleting = self.deleting.lock().unwrap_or_else(PoisonError::into_inner);
        for name in &self.names {
            if let Some(count) = deleting.get_mut(name) {
                *count -= 1;
                if *count == 0 {
                    deleting.remove(name);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drain_waits_for_tracked_work_within_the_timeout() {
        let background = Background::new();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        background.spawn(async move {
            let _ = rx.await;
        });
        assert_eq!(background.running(), 1);
        assert!(!background.drain(Duration::from_millis(20)).await, "still running");
        tx.send(()).unwrap();
        assert!(background.drain(Duration::from_secs(5)).await);
        assert_eq!(background.running(), 0);
    }

    #[test]
    fn jobs_being_deleted_are_known_until_every_guard_is_dropped() {
        let background = Background::default();
        let first = background.deleting_jobs(["a".to_owned(), "b".to_owned()]);
        let second = background.deleting_jobs(["a".to_owned()]);
        assert!(background.is_deleting_job("a") && background.is_deleting_job("b"));
        drop(first);
        assert!(background.is_deleting_job("a") && !background.is_deleting_job("b"));
        drop(second);
        assert!(!background.is_deleting_job("a"));
    }
}
