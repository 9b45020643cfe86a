//! A stop waits for the clean-ups requests left running (`KAFKAML_SHUTDOWN_TIMEOUT`): the
//! deletions of the Jobs of a deployment whose creation found the cluster unavailable end before
//! `Application::run_until_stopped` returns.
#![expect(clippy::unwrap_used, reason = "test set-up")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::stream::{self, BoxStream, StreamExt};
use kafkaml_api::{Application, Services, Settings};
use kafkaml_executor::fake::FakeExecutor;
use kafkaml_iot::fake::FakeTasmotaLink;
use kafkaml_orchestration::fake::{unreachable, FakeConnector};
use kafkaml_orchestration::{Cluster, ClusterError, Deletion, Job, JobEvent, ReplicationController};
use serde_json::json;

/// A cluster that cannot create anything and whose Job deletions last until the server stopped
/// listening on `port`, and a little longer.
struct SlowCluster {
    port: std::sync::OnceLock<u16>,
    deleted: Arc<AtomicBool>,
}

#[async_trait]
impl Cluster for SlowCluster {
    fn describe(&self) -> String {
        "https://slow".to_owned()
    }

    async fn create_job(&self, _job: &Job) -> Result<(), ClusterError> {
        Err(unreachable("https://slow"))
    }

    async fn delete_job(&self, _name: &str) -> Result<Deletion, ClusterError> {
        let port = *self.port.get().unwrap();
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.deleted.store(true, Ordering::SeqCst);
        Ok(Deletion::Deleted)
    }

    async fn create_replication_controller(&self, _rc: &ReplicationController) -> Result<(), ClusterError> {
        Err(unreachable("https://slow"))
    }

    async fn delete_replication_controller(&self, _name: &str) -> Result<Deletion, ClusterError> {
        Ok(Deletion::NotFound)
    }

    fn job_events(&self) -> BoxStream<'static, JobEvent> {
        stream::pending().boxed()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_waits_for_the_background_deletions() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::defaults();
    settings.server.bind = "127.0.0.1:0".to_owned();
    settings.server.data_dir = dir.path().to_owned();
    settings.server.shutdown_timeout_secs = 20;
    settings.images.backend_url = Some("http://backend:8000".to_owned());
    settings.images.tensorflow_training = Some("kafkaml/training:tf".to_owned());
    let deleted = Arc::new(AtomicBool::new(false));
    let cluster = Arc::new(SlowCluster { port: std::sync::OnceLock::new(), deleted: deleted.clone() });
    let services = Services {
        executor: Arc::new(FakeExecutor::new()),
        cluster: Some(cluster.clone()),
        connector: Arc::new(FakeConnector::new()),
        publisher: None,
        predictions: None,
        tasmota: Arc::new(FakeTasmotaLink::new()),
    };
    let app = Application::build_with_services(settings, services).await.unwrap();
    let port = app.port();
    cluster.port.set(port).unwrap();
    let handle = app.handle();
    let running = tokio::spawn(app.run_until_stopped());

    let client = reqwest::Client::new();
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let res = client.post(url("/models/")).json(&json!({"name": "m", "code": "model = 1", "framework": "tf"})).send();
    assert_eq!(res.await.unwrap().status(), 201);
    let res = client.post(url("/configurations/")).json(&json!({"name": "c", "ml_models": [1]})).send();
    assert_eq!(res.await.unwrap().status(), 201);
    let res = client.post(url("/deployments/")).json(&json!({"configuration": 1, "gpumem": 0})).send();
    // The cluster is unavailable: 503 at once, the deletion of the Job goes on in the background.
    assert_eq!(res.await.unwrap().status(), 503);
    assert!(!deleted.load(Ordering::SeqCst));

    handle.stop(true).await;
    running.await.unwrap().unwrap();
    assert!(deleted.load(Ordering::SeqCst), "the process would have ended before the deletion");
}
