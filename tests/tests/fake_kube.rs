//! The fake Kubernetes API server of the test kit, checked with kube-rs itself: what a real
//! client sends and expects must work against it.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "this crate is test code throughout, but clippy.toml's allow-*-in-tests only covers #[test] functions, not the helpers around them"
)]

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kafkaml_tests::fake_kube::{FakeKube, Kind};
use kube::api::{Api, DeleteParams, ListParams, PostParams, Preconditions, WatchEvent, WatchParams};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Client, Config};
use serde_json::json;

const NS: &str = "kafkaml";
const TOKEN: &str = "s3cr3t-token";

fn client_with(fake: &FakeKube, token: Option<&str>, read_timeout: Option<Duration>) -> Client {
    let mut config = Config::new(fake.url().parse().unwrap());
    config.default_namespace = NS.to_owned();
    config.auth_info.token = token.map(|t| t.to_owned().into());
    config.read_timeout = read_timeout;
    Client::try_from(config).unwrap()
}

fn client(fake: &FakeKube) -> Client {
    client_with(fake, Some(fake.token()), None)
}

fn job(name: &str, labels: serde_json::Value) -> Job {
    serde_json::from_value(json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "ttlSecondsAfterFinished": 60,
            "template": {"spec": {
                "restartPolicy": "OnFailure",
                "containers": [{"name": "training", "image": "kafkaml/tensorflow_model_training:latest",
                                "imagePullPolicy": "Always", "env": [{"name": "RESULT_ID", "value": "1"}]}],
            }},
        },
    }))
    .unwrap()
}

fn rc(name: &str) -> ReplicationController {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": "kafkaml", "kind": "inference"}},
        "spec": {"replicas": 2, "selector": {"app": name}, "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "inference", "image": "kafkaml/tensorflow_model_inference:latest"}]},
        }},
    }))
    .unwrap()
}

fn names<K: kube::Resource>(objects: &[K]) -> Vec<String> {
    objects.iter().map(|o| o.meta().name.clone().unwrap()).collect()
}

fn api_status(result: Result<impl std::fmt::Debug, kube::Error>) -> (u16, String) {
    match result {
        Err(kube::Error::Api(status)) => (status.code, status.reason.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn create_sets_server_fields_get_finds_it_and_duplicates_conflict() {
    let fake = FakeKube::start(TOKEN).await;
    let jobs: Api<Job> = Api::namespaced(client(&fake), NS);

    let created = jobs.create(&PostParams::default(), &job("result-1", json!({"app": "kafkaml"}))).await.unwrap();
    let meta = &created.metadata;
    assert_eq!(meta.name.as_deref(), Some("result-1"));
    assert_eq!(meta.namespace.as_deref(), Some(NS));
    assert_eq!(meta.uid.as_ref().unwrap().len(), 36);
    assert_eq!(meta.resource_version.as_deref(), Some("1"));
    assert_eq!(meta.generation, Some(1));
    assert!(meta.creation_timestamp.is_some());
    assert_eq!(created.status, Some(Default::default()));
    let container = &created.spec.as_ref().unwrap().template.spec.as_ref().unwrap().containers[0];
    assert_eq!(container.image_pull_policy.as_deref(), Some("Always"));

    assert_eq!(jobs.get("result-1").await.unwrap(), created);
    assert_eq!(fake.job(NS, "result-1"), Some(created.clone()));
    assert_eq!(fake.jobs(NS), vec![created]);
    assert_eq!(fake.jobs("other"), vec![]);

    let (code, reason) = api_status(jobs.create(&PostParams::default(), &job("result-1", json!({}))).await);
    assert_eq!((code, reason.as_str()), (409, "AlreadyExists"));
    let (code, reason) = api_status(jobs.get("missing").await);
    assert_eq!((code, reason.as_str()), (404, "NotFound"));
    assert_eq!(jobs.get_opt("missing").await.unwrap(), None);
    assert_eq!(fake.jobs(NS).len(), 1);

    // The same name in another namespace is another object.
    let other: Api<Job> = Api::namespaced(client(&fake), "other");
    other.create(&PostParams::default(), &job("result-1", json!({}))).await.unwrap();
    assert_eq!(names(&fake.jobs("other")), ["result-1"]);

    assert_eq!(
        fake.requests()[..3],
        [
            ("POST".to_owned(), "/apis/batch/v1/namespaces/kafkaml/jobs".to_owned()),
            ("GET".to_owned(), "/apis/batch/v1/namespaces/kafkaml/jobs/result-1".to_owned()),
            ("POST".to_owned(), "/apis/batch/v1/namespaces/kafkaml/jobs".to_owned()),
        ]
    );
    let first = &fake.recorded_requests()[0];
    assert_eq!(first.body.as_ref().unwrap()["metadata"]["name"], "result-1");
}

#[tokio::test]
async fn not_found_and_conflict_answers_are_kubernetes_status_objects() {
    let fake = FakeKube::start(TOKEN).await;
    let http = reqwest::Client::new();
    let url = format!("{}/apis/batch/v1/namespaces/{NS}/jobs", fake.url());
    let res = http.get(format!("{url}/nope")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": "jobs.batch \"nope\" not found", "reason": "NotFound",
               "details": {"name": "nope", "group": "batch", "kind": "jobs"}, "code": 404})
    );
    let body = serde_json::to_value(job("j", json!({}))).unwrap();
    assert_eq!(http.post(&url).bearer_auth(TOKEN).json(&body).send().await.unwrap().status(), 201);
    let res = http.post(&url).bearer_auth(TOKEN).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 409);
    let status: serde_json::Value = res.json().await.unwrap();
    assert_eq!(status["message"], "jobs.batch \"j\" already exists");
    assert_eq!(status["reason"], "AlreadyExists");

    // A body of the wrong kind or namespace is a bad request; a nameless one is invalid.
    let res = http.post(&url).bearer_auth(TOKEN).json(&json!({"kind": "Pod", "metadata": {"name": "p"}})).send().await;
    assert_eq!(res.unwrap().status(), 400);
    let res =
        http.post(&url).bearer_auth(TOKEN).json(&json!({"metadata": {"name": "p", "namespace": "x"}})).send().await;
    assert_eq!(res.unwrap().status(), 400);
    let res = http.post(&url).bearer_auth(TOKEN).json(&json!({"metadata": {}})).send().await.unwrap();
    assert_eq!(res.status(), 422);
    // A Job name must fit in a label value: 63 characters at most.
    let long = serde_json::to_value(job(&"j".repeat(64), json!({}))).unwrap();
    let res = http.post(&url).bearer_auth(TOKEN).json(&long).send().await.unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("must be no more than 63 characters"));
    let res = http.get(format!("{}/apis/apps/v1/namespaces/{NS}/deployments", fake.url())).bearer_auth(TOKEN).send();
    assert_eq!(res.await.unwrap().status(), 404);
    let res = http.put(format!("{url}/j")).bearer_auth(TOKEN).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(fake.jobs(NS).len(), 1);
}

#[tokio::test]
async fn list_filters_by_namespace_and_label_selector() {
    let fake = FakeKube::start(TOKEN).await;
    let jobs: Api<Job> = Api::namespaced(client(&fake), NS);
    let pp = PostParams::default();
    jobs.create(&pp, &job("a", json!({"app": "kafkaml", "deployment": "1", "tier": "train"}))).await.unwrap();
    jobs.create(&pp, &job("b", json!({"app": "kafkaml", "deployment": "2"}))).await.unwrap();
    jobs.create(&pp, &job("c", json!({"app": "other"}))).await.unwrap();
    Api::<Job>::namespaced(client(&fake), "elsewhere").create(&pp, &job("d", json!({"app": "kafkaml"}))).await.unwrap();

    let list = |selector: &str| {
        let jobs = jobs.clone();
        let params = ListParams::default().labels(selector);
        async move { names(&jobs.list(&params).await.unwrap().items) }
    };
    assert_eq!(list("").await, ["a", "b", "c"]);
    assert_eq!(list("app=kafkaml").await, ["a", "b"]);
    assert_eq!(list("app=kafkaml,deployment=2").await, ["b"]);
    assert_eq!(list("app==kafkaml,tier").await, ["a"]);
    assert_eq!(list("app,!tier").await, ["b", "c"]);
    assert_eq!(list("app!=kafkaml").await, ["c"]);
    assert_eq!(list("deployment in (1,2)").await, ["a", "b"]);
    assert_eq!(list("deployment notin (1)").await, ["b", "c"]);
    assert_eq!(list("app=none").await, Vec::<String>::new());

    let listed = jobs.list(&ListParams::default().fields("metadata.name=b")).await.unwrap();
    assert_eq!(names(&listed.items), ["b"]);
    assert_eq!(listed.metadata.resource_version.as_deref(), Some("4"));

    let all: Api<Job> = Api::all(client(&fake));
    assert_eq!(names(&all.list(&ListParams::default().labels("app=kafkaml")).await.unwrap().items), ["d", "a", "b"]);

    let (code, _) = api_status(jobs.list(&ListParams::default().labels("a b")).await);
    assert_eq!(code, 400);
    let last = fake.recorded_requests().pop().unwrap();
    assert_eq!(last.path, "/apis/batch/v1/namespaces/kafkaml/jobs");
    assert!(last.query.contains("labelSelector=a+b"), "{}", last.query);
}

#[tokio::test]
async fn delete_records_propagation_and_answers_404_afterwards() {
    let fake = FakeKube::start(TOKEN).await;
    let jobs: Api<Job> = Api::namespaced(client(&fake), NS);
    let created = jobs.create(&PostParams::default(), &job("result-7", json!({"app": "kafkaml"}))).await.unwrap();

    let deleted = jobs.delete("result-7", &DeleteParams::foreground()).await.unwrap().left().unwrap();
    assert_eq!(deleted.metadata.uid, created.metadata.uid);
    assert!(deleted.metadata.deletion_timestamp.is_some());
    assert_eq!(deleted.metadata.finalizers, Some(vec!["foregroundDeletion".to_owned()]));
    assert_eq!(fake.job(NS, "result-7"), None);
    assert_eq!(fake.deletions(), [(Kind::Job, NS.to_owned(), "result-7".to_owned(), Some("Foreground".to_owned()))]);

    let (code, reason) = api_status(jobs.get("result-7").await);
    assert_eq!((code, reason.as_str()), (404, "NotFound"));
    let (code, reason) = api_status(jobs.delete("result-7", &DeleteParams::foreground()).await);
    assert_eq!((code, reason.as_str()), (404, "NotFound"));
    assert_eq!(fake.deletions().len(), 1);

    jobs.create(&PostParams::default(), &job("result-8", json!({}))).await.unwrap();
    let params = DeleteParams { grace_period_seconds: Some(0), ..DeleteParams::background() };
    jobs.delete("result-8", &params).await.unwrap();
    let record = fake.deletion_records().pop().unwrap();
    assert_eq!(
        (record.kind, record.name.as_str(), record.propagation_policy.as_deref(), record.grace_period_seconds),
        (Kind::Job, "result-8", Some("Background"), Some(0))
    );
    assert_eq!(record.options.unwrap().propagation_policy.as_deref(), Some("Background"));

    // Preconditions and dry runs.
    let kept = jobs.create(&PostParams::default(), &job("kept", json!({}))).await.unwrap();
    let params = DeleteParams {
        preconditions: Some(Preconditions { uid: Some("not-the-uid".to_owned()), resource_version: None }),
        ..DeleteParams::default()
    };
    let (code, reason) = api_status(jobs.delete("kept", &params).await);
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    jobs.delete("kept", &DeleteParams { dry_run: true, ..DeleteParams::default() }).await.unwrap();
    assert_eq!(fake.job(NS, "kept"), Some(kept));
    assert_eq!(fake.deletions().len(), 2);
}

#[tokio::test]
async fn deleting_a_job_cascades_to_its_pods_unless_orphaned() {
    let fake = FakeKube::start(TOKEN).await;
    let client = client(&fake);
    let jobs: Api<Job> = Api::namespaced(client.clone(), NS);
    let pods: Api<Pod> = Api::namespaced(client, NS);
    for name in ["cascade", "orphaned"] {
        let created = jobs.create(&PostParams::default(), &job(name, json!({}))).await.unwrap();
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": format!("{name}-pod"), "labels": {"job-name": name}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        }))
        .unwrap();
        let mut pod = pod;
        pod.metadata.owner_references = Some(vec![OwnerReference {
            api_version: "batch/v1".to_owned(),
            kind: "Job".to_owned(),
            name: name.to_owned(),
            uid: created.metadata.uid.clone().unwrap(),
            controller: Some(true),
            ..OwnerReference::default()
        }]);
        let stored = fake.add_pod(NS, pod);
        assert_eq!(stored.status.unwrap().phase.as_deref(), Some("Pending"));
    }
    let listed = pods.list(&ListParams::default().labels("job-name=cascade")).await.unwrap();
    assert_eq!(names(&listed.items), ["cascade-pod"]);

    jobs.delete("cascade", &DeleteParams::foreground()).await.unwrap();
    assert_eq!(fake.pod(NS, "cascade-pod"), None);
    // `batch/v1` Jobs orphan their Pods when no policy is given, as in Kubernetes.
    jobs.delete("orphaned", &DeleteParams::default()).await.unwrap();
    let orphan = fake.pod(NS, "orphaned-pod").unwrap();
    assert_eq!(orphan.metadata.owner_references, Some(vec![]));
    assert_eq!(names(&fake.pods(NS)), ["orphaned-pod"]);
    assert_eq!(
        fake.deletions(),
        [
            (Kind::Job, NS.to_owned(), "cascade".to_owned(), Some("Foreground".to_owned())),
            (Kind::Job, NS.to_owned(), "orphaned".to_owned(), None),
        ]
    );
    pods.delete("orphaned-pod", &DeleteParams::default()).await.unwrap();
    assert_eq!(fake.pods(NS), vec![]);
}

#[tokio::test]
async fn replication_controllers_are_created_listed_and_deleted() {
    let fake = FakeKube::start(TOKEN).await;
    let rcs: Api<ReplicationController> = Api::namespaced(client(&fake), NS);
    let created = rcs.create(&PostParams::default(), &rc("inference-3")).await.unwrap();
    assert_eq!(created.status.as_ref().unwrap().replicas, 0);
    assert_eq!(created.spec.as_ref().unwrap().replicas, Some(2));
    let (code, _) = api_status(rcs.create(&PostParams::default(), &rc("inference-3")).await);
    assert_eq!(code, 409);
    rcs.create(&PostParams::default(), &rc("inference-4")).await.unwrap();
    assert_eq!(
        names(&rcs.list(&ListParams::default().labels("kind=inference")).await.unwrap().items),
        ["inference-3", "inference-4"]
    );
    assert_eq!(fake.rc(NS, "inference-3"), Some(created));

    rcs.delete("inference-3", &DeleteParams::background()).await.unwrap();
    assert_eq!(names(&fake.rcs(NS)), ["inference-4"]);
    let deleted =
        rcs.delete_collection(&DeleteParams::foreground(), &ListParams::default().labels("app=kafkaml")).await;
    assert_eq!(names(&deleted.unwrap().left().unwrap().items), ["inference-4"]);
    assert_eq!(fake.rcs(NS), vec![]);
    assert_eq!(
        fake.deletions(),
        [
            (Kind::ReplicationController, NS.to_owned(), "inference-3".to_owned(), Some("Background".to_owned())),
            (Kind::ReplicationController, NS.to_owned(), "inference-4".to_owned(), Some("Foreground".to_owned())),
        ]
    );
    assert!(fake
        .requests()
        .contains(&("DELETE".to_owned(), "/api/v1/namespaces/kafkaml/replicationcontrollers".to_owned())));
}

async fn next<S: futures::Stream + Unpin>(stream: &mut S) -> S::Item {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an event within 10 s")
        .expect("an open stream")
}

#[tokio::test]
async fn the_runtime_watcher_sees_a_job_fail() {
    let fake = FakeKube::start(TOKEN).await;
    let jobs: Api<Job> = Api::namespaced(client(&fake), NS);
    jobs.create(&PostParams::default(), &job("result-1", json!({"app": "kafkaml"}))).await.unwrap();
    jobs.create(&PostParams::default(), &job("not-ours", json!({"app": "other"}))).await.unwrap();

    let mut applied = watcher(jobs.clone(), watcher::Config::default().labels("app=kafkaml")).applied_objects().boxed();
    let first = next(&mut applied).await.unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("result-1"));
    assert_eq!(first.status, Some(Default::default()));

    // The watcher has listed but not yet watched (it watches when polled again): it resumes
    // from the list's resourceVersion, so it must still see this change.
    assert_eq!(fake.open_watches(Kind::Job), 0);
    fake.set_job_status(NS, "not-ours", FakeKube::failed_job_status("BackoffLimitExceeded", "ignored"));
    let status = FakeKube::failed_job_status("BackoffLimitExceeded", "Job has reached the specified backoff limit");
    fake.set_job_status(NS, "result-1", status.clone());
    let failed = next(&mut applied).await.unwrap();
    assert_eq!(failed.metadata.name.as_deref(), Some("result-1"));
    assert_eq!(failed.status, Some(status));
    let conditions = failed.status.unwrap().conditions.unwrap();
    let condition = conditions.iter().find(|c| c.type_ == "Failed").unwrap();
    assert_eq!(
        (condition.status.as_str(), condition.reason.as_deref(), condition.message.as_deref()),
        ("True", Some("BackoffLimitExceeded"), Some("Job has reached the specified backoff limit"))
    );
    assert_ne!(failed.metadata.resource_version, first.metadata.resource_version);
    assert_eq!(
        fake.job(NS, "result-1").unwrap().status,
        Some(FakeKube::failed_job_status("BackoffLimitExceeded", "Job has reached the specified backoff limit"))
    );
    let watch = fake.recorded_requests().into_iter().find(|r| r.query.contains("watch=true")).unwrap();
    assert!(watch.query.contains("labelSelector=app%3Dkafkaml"), "{}", watch.query);
}

#[tokio::test]
async fn the_streaming_list_watcher_gets_initial_events_and_a_bookmark() {
    let fake = FakeKube::start(TOKEN).await;
    let jobs: Api<Job> = Api::namespaced(client(&fake), NS);
    jobs.create(&PostParams::default(), &job("old", json!({"app": "kafkaml"}))).await.unwrap();
    let mut events = watcher(jobs.clone(), watcher::Config::default().streaming_lists()).boxed();
    assert!(matches!(next(&mut events).await.unwrap(), watcher::Event::Init));
    assert!(
        matches!(next(&mut events).await.unwrap(), watcher::Event::InitApply(j) if j.metadata.name.as_deref() == Some("old"))
    );
    assert!(matches!(next(&mut events).await.unwrap(), watcher::Event::InitDone));
    jobs.create(&PostParams::default(), &job("new", json!({}))).await.unwrap();
    assert!(
        matches!(next(&mut events).await.unwrap(), watcher::Event::Apply(j) if j.metadata.name.as_deref() == Some("new"))
    );
    jobs.delete("old", &DeleteParams::background()).await.unwrap();
    assert!(
        matches!(next(&mut events).await.unwrap(), watcher::Event::Delete(j) if j.metadata.name.as_deref() == Some("old"))
    );
}

#[tokio::test]
async fn a_raw_watch_streams_added_modified_and_deleted_events() {
    let fake = FakeKube::start(TOKEN).await;
    let jobs: Api<Job> = Api::namespaced(client(&fake), NS);
    jobs.create(&PostParams::default(), &job("existing", json!({}))).await.unwrap();

    let mut events = jobs.watch(&WatchParams::default().timeout(30), "0").await.unwrap().boxed();
    assert_eq!((fake.open_watches(Kind::Job), fake.open_watches(Kind::Pod)), (1, 0));
    let name = |event: WatchEvent<Job>| match event {
        WatchEvent::Added(j) => ("ADDED", j.metadata.name.unwrap()),
        WatchEvent::Modified(j) => ("MODIFIED", j.metadata.name.unwrap()),
        WatchEvent::Deleted(j) => ("DELETED", j.metadata.name.unwrap()),
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(name(next(&mut events).await.unwrap()), ("ADDED", "existing".to_owned()));
    jobs.create(&PostParams::default(), &job("live", json!({}))).await.unwrap();
    assert_eq!(name(next(&mut events).await.unwrap()), ("ADDED", "live".to_owned()));
    fake.set_job_status(NS, "live", FakeKube::failed_job_status("DeadlineExceeded", "too slow"));
    assert_eq!(name(next(&mut events).await.unwrap()), ("MODIFIED", "live".to_owned()));
    jobs.delete("live", &DeleteParams::foreground()).await.unwrap();
    assert_eq!(name(next(&mut events).await.unwrap()), ("MODIFIED", "live".to_owned()));
    assert_eq!(name(next(&mut events).await.unwrap()), ("DELETED", "live".to_owned()));

    // From a resource version: only what happened after it.
    let rv = jobs.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap();
    jobs.create(&PostParams::default(), &job("later", json!({}))).await.unwrap();
    let mut since = jobs.watch(&WatchParams::default(), &rv).await.unwrap().boxed();
    assert_eq!(name(next(&mut since).await.unwrap()), ("ADDED", "later".to_owned()));

    // `timeoutSeconds` ends the stream.
    let mut short = jobs.watch(&WatchParams::default().timeout(1), "0").await.unwrap().boxed();
    let mut seen = Vec::new();
    while let Some(event) = tokio::time::timeout(Duration::from_secs(10), short.next()).await.unwrap() {
        seen.push(name(event.unwrap()).1);
    }
    assert_eq!(seen, ["existing", "later"]);
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let fake = FakeKube::start(TOKEN).await;
    let jobs: Api<Job> = Api::namespaced(client(&fake), NS);
    jobs.create(&PostParams::default(), &job("a", json!({}))).await.unwrap();
    // Two answers, each delayed: a lower bound, which load cannot break.
    fake.set_latency(Duration::from_millis(1000));
    let started = Instant::now();
    jobs.get("a").await.unwrap();
    jobs.list(&ListParams::default()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(2000), "{:?}", started.elapsed());
    // Without latency an answer comes well within one delay: the latency is large enough
    // that a loaded CI's scheduling noise stays far below it.
    fake.set_latency(Duration::ZERO);
    let started = Instant::now();
    jobs.get("a").await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(1000), "{:?}", started.elapsed());
}

#[tokio::test]
async fn an_unresponsive_server_makes_the_client_time_out() {
    let fake = FakeKube::start(TOKEN).await;
    let jobs: Api<Job> = Api::namespaced(client_with(&fake, Some(TOKEN), Some(Duration::from_millis(500))), NS);
    fake.set_unresponsive(true);
    let started = Instant::now();
    let result = jobs.get("a").await;
    assert!(result.is_err(), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    // The request reached the fake, which never answered it.
    assert_eq!(fake.requests(), [("GET".to_owned(), "/apis/batch/v1/namespaces/kafkaml/jobs/a".to_owned())]);
    fake.set_unresponsive(false);
    let (code, _) = api_status(jobs.get("a").await);
    assert_eq!(code, 404);
}

#[tokio::test]
async fn an_injected_failure_hits_exactly_the_nth_job_creation() {
    let fake = FakeKube::start(TOKEN).await;
    let jobs: Api<Job> = Api::namespaced(client(&fake), NS);
    fake.fail_on("POST", Kind::Job, 3, 500);
    let mut outcomes = Vec::new();
    for i in 1..=5 {
        outcomes.push(match jobs.create(&PostParams::default(), &job(&format!("job-{i}"), json!({}))).await {
            Ok(_) => (200, String::new()),
            Err(kube::Error::Api(status)) => (status.code, status.reason.clone()),
            Err(other) => panic!("{other:?}"),
        });
    }
    assert_eq!(outcomes[2], (500, "InternalError".to_owned()));
    assert!(outcomes.iter().enumerate().all(|(i, o)| i == 2 || o.0 == 200), "{outcomes:?}");
    assert_eq!(names(&fake.jobs(NS)), ["job-1", "job-2", "job-4", "job-5"]);

    // kube-rs retries 503 by itself: the fault is seen by the fake, not by the caller.
    fake.fail_on("post", Kind::Job, 1, 503);
    jobs.create(&PostParams::default(), &job("retried", json!({}))).await.unwrap();
    let posts = fake.requests().into_iter().filter(|(m, _)| m == "POST").count();
    assert_eq!(posts, 7);

    // Other methods and kinds are counted separately.
    fake.fail_on("DELETE", Kind::Job, 2, 500);
    jobs.delete("job-1", &DeleteParams::default()).await.unwrap();
    let (code, _) = api_status(jobs.delete("job-2", &DeleteParams::default()).await);
    assert_eq!(code, 500);
    assert!(fake.job(NS, "job-2").is_some());
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_unauthorized() {
    let fake = FakeKube::start(TOKEN).await;
    for token in [Some("wrong"), None] {
        let jobs: Api<Job> = Api::namespaced(client_with(&fake, token, None), NS);
        let (code, reason) = api_status(jobs.create(&PostParams::default(), &job("x", json!({}))).await);
        assert_eq!((code, reason.as_str()), (401, "Unauthorized"));
        let (code, _) = api_status(jobs.list(&ListParams::default()).await);
        assert_eq!(code, 401);
    }
    assert_eq!(fake.jobs(NS), vec![]);
    assert_eq!(fake.requests().len(), 4);
}

#[tokio::test]
async fn version_and_discovery_answer() {
    let fake = FakeKube::start(TOKEN).await;
    let client = client(&fake);
    let info = client.apiserver_version().await.unwrap();
    assert_eq!((info.major.as_str(), info.minor.as_str()), ("1", "33"));
    let (resource, capabilities) =
        kube::discovery::pinned_kind(&client, &kube::api::GroupVersionKind::gvk("batch", "v1", "Job")).await.unwrap();
    assert_eq!(resource.plural, "jobs");
    assert_eq!(capabilities.scope, kube::discovery::Scope::Namespaced);
    let discovery = kube::Discovery::new(client).run().await.unwrap();
    assert!(discovery.has_group("batch"));
    let core = discovery.get("").unwrap();
    let kinds: Vec<String> = core.recommended_resources().into_iter().map(|(r, _)| r.kind).collect();
    assert_eq!(kinds, ["Pod", "ReplicationController"]);
}

#[actix_web::test]
async fn it_serves_tests_running_on_actix_rt() {
    let fake = FakeKube::start(TOKEN).await;
    let jobs: Api<Job> = Api::namespaced(client(&fake), NS);
    jobs.create(&PostParams::default(), &job("on-actix", json!({}))).await.unwrap();
    assert_eq!(names(&fake.jobs(NS)), ["on-actix"]);
    let [(host_var, host), (token_var, token)] = fake.env();
    assert_eq!((host_var, token_var), ("KUBE_HOST", "KUBE_TOKEN"));
    assert_eq!((host, token.as_str()), (format!("http://{}", fake.addr()), TOKEN));
}

#[tokio::test]
async fn dropping_the_fake_stops_it_and_ends_watches() {
    let fake = FakeKube::start(TOKEN).await;
    let url = fake.url();
    let jobs: Api<Job> = Api::namespaced(client(&fake), NS);
    let mut events = jobs.watch(&WatchParams::default(), "0").await.unwrap().boxed();
    drop(fake);
    let end = tokio::time::timeout(Duration::from_secs(10), events.try_next()).await.expect("the stream ends");
    assert!(matches!(end, Ok(None) | Err(_)), "{end:?}");
    let refused = reqwest::Client::new().get(format!("{url}/version")).timeout(Duration::from_secs(5)).send().await;
    assert!(refused.is_err());
}
