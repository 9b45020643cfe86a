//! The kube calls, checked with a mock API server (`tower_test::mock::pair`) that asserts method,
//! path and body and answers like the API server.

use std::time::Duration;

use http::{Request, Response, StatusCode};
use kube::client::Body;
use serde_json::{json, Value};
use tower_test::mock::{self, Handle};

use super::*;
use crate::watch::JobFailure;

type MockHandle = Handle<Request<Body>, Response<Body>>;

fn mocked(timeout: Duration) -> (KubeCluster, MockHandle) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "kafkaml");
    (KubeCluster::new(client, "kafkaml", "https://mock", timeout), handle)
}

/// Answers the next request after checking it; returns the request's JSON body.
async fn answer(handle: &mut MockHandle, method: &str, path: &str, status: u16, body: Value) -> Value {
    let (request, send) = handle.next_request().await.expect("a request");
    assert_eq!(request.method().as_str(), method);
    assert_eq!(request.uri().path(), path, "{}", request.uri());
    let bytes = request.into_body().collect_bytes().await.unwrap();
    let sent = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() };
    let response = Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap();
    send.send_response(response);
    sent
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason, "message": message})
}

fn job(name: &str) -> Job {
    serde_json::from_value(json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "kafkaml-backend"}},
        "spec": {"template": {"spec": {"containers": [{"name": "training", "image": "img"}], "restartPolicy": "OnFailure"}}},
    }))
    .unwrap()
}

const JOBS: &str = "/apis/batch/v1/namespaces/kafkaml/jobs";
const RCS: &str = "/api/v1/namespaces/kafkaml/replicationcontrollers";

#[tokio::test]
async fn create_job_posts_the_manifest() {
    let (cluster, mut handle) = mocked(Duration::from_secs(5));
    let manifest = job("model-training-1");
    let expected = serde_json::to_value(&manifest).unwrap();
    let server = tokio::spawn(async move {
        let sent = answer(&mut handle, "POST", JOBS, 201, expected.clone()).await;
        assert_eq!(sent, expected);
    });
    cluster.create_job(&manifest).await.unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn create_job_conflict_is_already_exists() {
    let (cluster, mut handle) = mocked(Duration::from_secs(5));
    let server = tokio::spawn(async move {
        answer(
            &mut handle,
            "POST",
            JOBS,
            409,
            status(409, "AlreadyExists", "jobs \"model-training-1\" already exists"),
        )
        .await;
    });
    let err = cluster.create_job(&job("model-training-1")).await.unwrap_err();
    assert!(matches!(&err, ClusterError::AlreadyExists { kind: "Job", name } if name == "model-training-1"), "{err:?}");
    assert_eq!(err.to_string(), "Job model-training-1 already exists in the cluster");
    assert!(!err.is_unavailable());
    server.await.unwrap();
}

#[tokio::test]
async fn refusals_keep_the_api_message_for_logs_only() {
    let (cluster, mut handle) = mocked(Duration::from_secs(5));
    let server = tokio::spawn(async move {
        answer(&mut handle, "POST", JOBS, 403, status(403, "Forbidden", "jobs.batch is forbidden")).await;
        answer(&mut handle, "POST", JOBS, 503, status(503, "ServiceUnavailable", "etcd is down")).await;
        // Not a Status: kube takes the whole body as the message.
        let (_, send) = handle.next_request().await.expect("a request");
        send.send_response(
            Response::builder()
                .status(StatusCode::NOT_FOUND)
                .header("content-type", "text/plain")
                .body(Body::from(b"INTERNAL-SECRET-12345".to_vec()))
                .unwrap(),
        );
    });
    let err = cluster.create_job(&job("j")).await.unwrap_err();
    assert_eq!(err.to_string(), "the Kubernetes API refused to create Job j (HTTP 403)");
    assert!(
        matches!(&err, ClusterError::Rejected { status: 403, message, .. } if message == "jobs.batch is forbidden"),
        "{err:?}"
    );
    assert!(!err.is_unavailable());
    let err = cluster.create_job(&job("j")).await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    let err = cluster.create_job(&job("j")).await.unwrap_err();
    assert_eq!(err.to_string(), "the Kubernetes API refused to create Job j (HTTP 404)");
    assert!(matches!(&err, ClusterError::Rejected { message, .. } if message.contains("INTERNAL-SECRET")), "{err:?}");
    server.await.unwrap();
}

#[test]
fn external_clusters_never_skip_tls_verification() {
    let mut s = settings();
    s.insecure_skip_tls_verify = true;
    s.ca_cert = Some("/etc/ca.pem".into());
    let connector = KubeConnector::new(s);
    assert!(!connector.settings.insecure_skip_tls_verify);
    assert_eq!(connector.settings.ca_cert.as_deref(), Some(std::path::Path::new("/etc/ca.pem")));
}

#[tokio::test]
async fn delete_job_is_foreground_with_grace_period() {
    let (cluster, mut handle) = mocked(Duration::from_secs(5));
    let server = tokio::spawn(async move {
        let path = format!("{JOBS}/model-training-1");
        let sent =
            answer(&mut handle, "DELETE", &path, 200, serde_json::to_value(job("model-training-1")).unwrap()).await;
        assert_eq!(sent["propagationPolicy"], "Foreground");
        assert_eq!(sent["gracePeriodSeconds"], 5);
        answer(&mut handle, "DELETE", &path, 404, status(404, "NotFound", "jobs \"model-training-1\" not found")).await;
    });
    assert_eq!(cluster.delete_job("model-training-1").await.unwrap(), Deletion::Deleted);
    assert_eq!(cluster.delete_job("model-training-1").await.unwrap(), Deletion::NotFound);
    server.await.unwrap();
}

#[tokio::test]
async fn replication_controllers() {
    let (cluster, mut handle) = mocked(Duration::from_secs(5));
    let rc: ReplicationController = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "model-inference-2"},
        "spec": {"replicas": 1, "selector": {"app": "inference2"}},
    }))
    .unwrap();
    let expected = serde_json::to_value(&rc).unwrap();
    let server = tokio::spawn(async move {
        let sent = answer(&mut handle, "POST", RCS, 201, expected.clone()).await;
        assert_eq!(sent, expected);
        let sent = answer(&mut handle, "DELETE", &format!("{RCS}/model-inference-2"), 200, expected.clone()).await;
        assert_eq!(sent["propagationPolicy"], "Foreground");
        answer(&mut handle, "DELETE", &format!("{RCS}/model-inference-3"), 404, status(404, "NotFound", "x")).await;
    });
    cluster.create_replication_controller(&rc).await.unwrap();
    assert_eq!(cluster.delete_replication_controller("model-inference-2").await.unwrap(), Deletion::Deleted);
    assert_eq!(cluster.delete_replication_controller("model-inference-3").await.unwrap(), Deletion::NotFound);
    server.await.unwrap();
}

#[tokio::test]
async fn calls_time_out() {
    let (cluster, mut handle) = mocked(Duration::from_millis(100));
    // The server takes the request and never answers.
    let server = tokio::spawn(async move {
        let pending = handle.next_request().await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        drop(pending);
    });
    let started = std::time::Instant::now();
    let err = cluster.create_job(&job("slow")).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(matches!(err, ClusterError::Timeout { .. }), "{err:?}");
    assert!(err.is_unavailable());
    assert_eq!(err.to_string(), "the Kubernetes API at https://mock did not answer within 0.1 s (create Job slow)");
    server.abort();
}

fn job_list(items: serde_json::Value) -> Response<Body> {
    let list = json!({
        "apiVersion": "batch/v1", "kind": "JobList", "metadata": {"resourceVersion": "10"}, "items": items,
    });
    Response::builder().status(200).body(Body::from(serde_json::to_vec(&list).unwrap())).unwrap()
}

#[tokio::test]
async fn watcher_reports_listed_and_failed_jobs() {
    let (cluster, mut handle) = mocked(Duration::from_secs(5));
    let events = cluster.job_events();
    let server = tokio::spawn(async move {
        let (request, send) = handle.next_request().await.unwrap();
        assert_eq!(request.method(), "GET");
        assert_eq!(request.uri().path(), JOBS);
        let query = request.uri().query().unwrap_or_default().to_owned();
        assert!(
            query.contains("labelSelector=app.kubernetes.io%2Fcomponent%3Dtraining%2Capp.kubernetes.io%2Fmanaged-by%3Dkafkaml-backend"),
            "{query}"
        );
        send.send_response(job_list(json!([
            {"metadata": {"name": "model-training-1", "labels": {"app.kubernetes.io/managed-by": "kafkaml-backend"},
                "annotations": {"kafkaml.io/result-ids": "1"}},
             "status": {"conditions": [{"type": "Complete", "status": "True"}]}},
            {"metadata": {"name": "model-training-2", "labels": {"app.kubernetes.io/managed-by": "kafkaml-backend"},
                "annotations": {"kafkaml.io/result-ids": "2"}},
             "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
                "message": "Job was active longer than specified deadline"}]}},
        ])));
        // Keep the watch request open until the test is done.
        let pending = handle.next_request().await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(pending);
    });
    let first: Vec<JobEvent> = tokio::time::timeout(Duration::from_secs(5), events.take(3).collect()).await.unwrap();
    assert_eq!(
        first,
        vec![
            JobEvent::Present { job_name: "model-training-1".to_owned(), failure: None },
            JobEvent::Present {
                job_name: "model-training-2".to_owned(),
                failure: Some(JobFailure {
                    job_name: "model-training-2".to_owned(),
                    result_ids: vec![2],
                    reason: "Job model-training-2 failed: DeadlineExceeded: Job was active longer than specified \
                             deadline"
                        .to_owned(),
                }),
            },
            JobEvent::Listed(["model-training-1".to_owned(), "model-training-2".to_owned()].into()),
        ]
    );
    server.abort();
}

#[tokio::test]
async fn watcher_lists_again_after_an_error() {
    let (cluster, mut handle) = mocked(Duration::from_secs(5));
    let events = cluster.job_events();
    let server = tokio::spawn(async move {
        let (request, send) = handle.next_request().await.unwrap();
        assert!(!request.uri().query().unwrap_or_default().contains("watch=true"));
        send.send_response(job_list(json!([])));
        // The watch fails: the API answers 500.
        let (request, send) = handle.next_request().await.unwrap();
        assert!(request.uri().query().unwrap_or_default().contains("watch=true"), "{:?}", request.uri());
        let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 500,
            "reason": "InternalError", "message": "boom"});
        send.send_response(Response::builder().status(500).body(Body::from(status.to_string().into_bytes())).unwrap());
        // A new list, not a watch resumed from the old resource version.
        let (request, send) = handle.next_request().await.unwrap();
        assert!(!request.uri().query().unwrap_or_default().contains("watch=true"), "{:?}", request.uri());
        send.send_response(job_list(json!([
            {"metadata": {"name": "model-training-3", "labels": {"app.kubernetes.io/managed-by": "kafkaml-backend"},
                "annotations": {"kafkaml.io/result-ids": "3"}}},
        ])));
        let pending = handle.next_request().await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(pending);
    });
    let seen: Vec<JobEvent> = tokio::time::timeout(Duration::from_secs(5), events.take(4).collect()).await.unwrap();
    assert_eq!(
        seen,
        vec![
            JobEvent::Listed(Default::default()),
            JobEvent::Interrupted,
            JobEvent::Present { job_name: "model-training-3".to_owned(), failure: None },
            JobEvent::Listed(["model-training-3".to_owned()].into()),
        ]
    );
    server.abort();
}

fn settings() -> ClusterSettings {
    ClusterSettings { namespace: "kafkaml".to_owned(), timeout: Duration::from_secs(2), ..ClusterSettings::default() }
}

#[tokio::test]
async fn nothing_configured_is_none() {
    if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
        return; // running inside a pod: the in-cluster account is a configuration.
    }
    assert!(KubeCluster::from_settings(&settings()).await.unwrap().is_none());
}

#[tokio::test]
async fn unreachable_host_is_unavailable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut s = settings();
    s.host = Some(format!("http://127.0.0.1:{port}"));
    s.token = Some("secret-token".into());
    let cluster = KubeCluster::from_settings(&s).await.unwrap().unwrap();
    assert_eq!(cluster.describe(), format!("http://127.0.0.1:{port}"));
    let err = cluster.create_job(&job("j")).await.unwrap_err();
    assert!(matches!(err, ClusterError::Unreachable { .. }), "{err:?}");
    assert!(err.is_unavailable());
    assert!(!format!("{s:?}").contains("secret-token"));
}

#[tokio::test]
async fn missing_ca_file_is_a_configuration_error() {
    let mut s = settings();
    s.host = Some("https://10.0.0.1:6443".to_owned());
    s.ca_cert = Some("/nonexistent/ca.pem".into());
    let err = KubeCluster::from_settings(&s).await.unwrap_err();
    assert!(matches!(err, ClusterError::Config(_)), "{err:?}");
    let err = KubeConnector::new(s).connect("https://10.0.0.1:6443", "t").await.err().unwrap();
    assert!(matches!(err, ClusterError::Config(_)), "{err:?}");
}

#[tokio::test]
async fn kubeconfig_file_is_read() {
    let dir = std::env::temp_dir().join(format!("kafkaml-kubeconfig-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:1\n\
         users:\n- name: u\n  user:\n    token: abc\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n\
         current-context: x\n",
    )
    .unwrap();
    let mut s = settings();
    s.kubeconfig = Some(path);
    let cluster = KubeCluster::from_settings(&s).await.unwrap().unwrap();
    assert_eq!(cluster.describe(), "http://127.0.0.1:1");
    s.kubeconfig = Some(dir.join("missing"));
    assert!(matches!(KubeCluster::from_settings(&s).await, Err(ClusterError::Config(_))));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_pinned_connection_goes_to_the_address_not_to_the_name() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let accepted = tokio::spawn(async move { listener.accept().await.is_ok() });
    // The name cannot resolve: only the pinned address can be reached.
    let host = format!("http://kafkaml-test.invalid:{}/prefix/", address.port());
    let cluster = KubeConnector::new(settings()).connect_at(&host, address, "t").await.unwrap();
    assert_eq!(cluster.describe(), format!("http://{address}/prefix"));
    let err = cluster.create_job(&job("j")).await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(accepted.await.unwrap(), "the pinned address was reached");
    // TLS keeps the name: the kubeconfig names it as the server to verify.
    let kubeconfig = pinned_kubeconfig("https://k8s.example.com:6443", Some(address), None, &settings()).unwrap();
    let cluster = kubeconfig.clusters[0].cluster.as_ref().unwrap();
    assert_eq!(cluster.server.as_deref(), Some(format!("https://{address}").as_str()));
    assert_eq!(cluster.tls_server_name.as_deref(), Some("k8s.example.com"));
}
