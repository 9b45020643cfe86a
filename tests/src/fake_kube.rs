//! A fake Kubernetes API server for tests.
//!
//! [`FakeKube`] listens on `http://127.0.0.1:<free port>` (plain HTTP) and answers kube-rs
//! clients the way the real API server does, for the three kinds the back-end uses, kept in
//! memory per namespace:
//!
//! | kind | paths |
//! | --- | --- |
//! | [`Kind::Job`] (`batch/v1`) | `/apis/batch/v1/namespaces/{ns}/jobs[/{name}]`, `/apis/batch/v1/jobs` |
//! | [`Kind::ReplicationController`] (`v1`) | `/api/v1/namespaces/{ns}/replicationcontrollers[/{name}]`, `/api/v1/replicationcontrollers` |
//! | [`Kind::Pod`] (`v1`) | `/api/v1/namespaces/{ns}/pods[/{name}]`, `/api/v1/pods` |
//!
//! | request | answer |
//! | --- | --- |
//! | any request without `Authorization: Bearer <token>` | 401 `Status` `Unauthorized` |
//! | `POST` collection | 201 with the object as stored: `metadata.uid`, `resourceVersion`, `creationTimestamp`, `namespace` (and `generation: 1` for Jobs and RCs) set, `generateName` honoured, `status` reset as the API server does (`{}` for Jobs, `{"replicas":0}` for RCs, `{"phase":"Pending"}` for Pods); 409 `AlreadyExists`; 400 `BadRequest` for a body that is not a valid object of the kind or names another namespace; 422 `Invalid` without a name or for a Job name longer than 63 characters |
//! | `GET` item | 200 with the object; 404 `NotFound` |
//! | `GET` collection | 200 `JobList`/… with `metadata.resourceVersion`; `labelSelector` (`k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`, comma-separated) and `fieldSelector` (`path=v`, `path!=v` on any string field, e.g. `metadata.name`) filter it; `limit` is ignored (one page) |
//! | `GET` collection with `watch=true` or `watch=1` | 200 stream of newline-delimited `{"type":"ADDED"\|"MODIFIED"\|"DELETED"\|"BOOKMARK","object":…}`: with `resourceVersion` absent or `0`, first `ADDED` for every matching object; with `resourceVersion=N`, every change after `N` (the fake keeps its whole history, so never 410 Gone); with `sendInitialEvents=true`, the `ADDED` events then a `BOOKMARK` annotated `k8s.io/initial-events-end`; then live events until `timeoutSeconds` |
//! | `DELETE` item, body `DeleteOptions` (or query `propagationPolicy`/`gracePeriodSeconds`) | 200 with the object as at deletion (`deletionTimestamp` set; `finalizers: ["foregroundDeletion"]` for `Foreground`, `["orphan"]` for `Orphan`); 404; 409 when `preconditions` do not hold. The object is gone at once (a `MODIFIED` event first for `Foreground`/`Orphan`, then `DELETED`). Pods owned by the deleted object (`ownerReferences[].uid`) are deleted for `Background`/`Foreground`, and lose that owner reference for `Orphan` — the default of `batch/v1` Jobs and `v1` RCs, as in Kubernetes. `dryRun` deletes nothing |
//! | `DELETE` collection | 200 list of the deleted objects (same options and selectors as above) |
//! | `GET /version`, `/api`, `/apis`, `/apis/batch`, `/api/v1`, `/apis/batch/v1` | minimal discovery documents (Kubernetes v1.33) |
//! | anything else | 404 `NotFound` or 405 `MethodNotAllowed` `Status` |
//!
//! Every request is recorded ([`FakeKube::requests`], [`FakeKube::recorded_requests`]) and
//! every deletion with its options ([`FakeKube::deletions`], [`FakeKube::deletion_records`]).
//! A test drives the fake with [`FakeKube::set_latency`], [`FakeKube::fail_on`],
//! [`FakeKube::set_unresponsive`] and [`FakeKube::set_job_status`] (which emits a `MODIFIED`
//! watch event, e.g. to fail a Job with [`FakeKube::failed_job_status`]).
//!
//! The server is actix-web on its own thread with its own actix system, so tests on Tokio,
//! actix-rt or no runtime at all can use it; it stops (and ends every watch stream) when the
//! [`FakeKube`] is dropped.
//!
//! Not modelled: updates (`PUT`/`PATCH`, the `status` subresource), pagination (`limit` and
//! `continue`), periodic bookmarks, `410 Gone`, controllers (no Pod is created for a Job, no
//! status changes by itself), graceful deletion delays (everything is deleted at once), and
//! label-selector changes turning `MODIFIED` into `DELETED` for a watcher.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::http::header::AUTHORIZATION;
use actix_web::http::{KeepAlive, StatusCode};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use bytes::Bytes;
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus};
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::DeleteOptions;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, oneshot};

/// The Kubernetes version the fake claims to be.
pub const FAKE_VERSION: (&str, &str) = ("1", "33");

const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// A kind of object the fake keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `batch/v1` `Job`.
    Job,
    /// `v1` `ReplicationController`.
    ReplicationController,
    /// `v1` `Pod`.
    Pod,
}

impl Kind {
    /// Every kind the fake keeps.
    pub const ALL: [Kind; 3] = [Kind::Job, Kind::ReplicationController, Kind::Pod];

    /// The kind's name, e.g. `Job`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Job => "Job",
            Kind::ReplicationController => "ReplicationController",
            Kind::Pod => "Pod",
        }
    }

    /// The resource name in paths, e.g. `jobs`.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Job => "jobs",
            Kind::ReplicationController => "replicationcontrollers",
            Kind::Pod => "pods",
        }
    }

    /// The API group (`batch`, or empty for the core group).
    pub fn group(self) -> &'static str {
        match self {
            Kind::Job => "batch",
            Kind::ReplicationController | Kind::Pod => "",
        }
    }

    /// The `apiVersion`, e.g. `batch/v1`.
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::Job => "batch/v1",
            Kind::ReplicationController | Kind::Pod => "v1",
        }
    }

    /// The kind named `text`: `Job`, `jobs`, `ReplicationController`, `rc`, `Pod`, `po`…,
    /// case-insensitively.
    pub fn parse(text: &str) -> Option<Kind> {
        match text.to_ascii_lowercase().as_str() {
            "job" | "jobs" => Some(Kind::Job),
            "replicationcontroller" | "replicationcontrollers" | "rc" => Some(Kind::ReplicationController),
            "pod" | "pods" | "po" => Some(Kind::Pod),
            _ => None,
        }
    }

    fn path_prefix(self) -> &'static [&'static str] {
        match self {
            Kind::Job => &["apis", "batch", "v1"],
            Kind::ReplicationController | Kind::Pod => &["api", "v1"],
        }
    }

    /// `jobs.batch` or `pods`, as in the API server's messages.
    fn qualified(self) -> String {
        match self.group() {
            "" => self.plural().to_owned(),
            group => format!("{}.{group}", self.plural()),
        }
    }

    /// Parses `value` as an object of this kind and writes it back, as the API server does
    /// (unknown fields dropped, `apiVersion` and `kind` set).
    fn normalise(self, value: Value) -> Result<Value, serde_json::Error> {
        fn round_trip<K: DeserializeOwned + serde::Serialize>(value: Value) -> Result<Value, serde_json::Error> {
            serde_json::to_value(serde_json::from_value::<K>(value)?)
        }
        match self {
            Kind::Job => round_trip::<Job>(value),
            Kind::ReplicationController => round_trip::<ReplicationController>(value),
            Kind::Pod => round_trip::<Pod>(value),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One request received by the fake.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The path without query, e.g. `/apis/batch/v1/namespaces/kafkaml/jobs`.
    pub path: String,
    /// The raw query string (without `?`), possibly empty.
    pub query: String,
    /// The body as JSON (`None` when empty; a JSON string of the text when not JSON).
    pub body: Option<Value>,
}

/// One deletion the fake carried out (or would have, for `dryRun`), with its options.
#[derive(Debug, Clone, PartialEq)]
pub struct Deletion {
    /// The kind of the deleted object.
    pub kind: Kind,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// `propagationPolicy` as the client sent it (body, else query), e.g. `Foreground`.
    pub propagation_policy: Option<String>,
    /// `gracePeriodSeconds` as the client sent it (body, else query).
    pub grace_period_seconds: Option<i64>,
    /// The `DeleteOptions` body, when there was one.
    pub options: Option<DeleteOptions>,
}

/// An event of the fake's history: what watchers are sent.
struct HistoryEvent {
    rv: u64,
    kind: Kind,
    namespace: String,
    event_type: &'static str,
    object: Value,
}

struct Watcher {
    kind: Kind,
    namespace: Option<String>,
    filter: Filter,
    tx: mpsc::UnboundedSender<Bytes>,
}

impl Watcher {
    fn wants(&self, kind: Kind, namespace: &str, object: &Value) -> bool {
        self.kind == kind && self.namespace.as_deref().is_none_or(|ns| ns == namespace) && self.filter.matches(object)
    }
}

struct Fault {
    method: String,
    kind: Kind,
    nth: usize,
    seen: usize,
    status: u16,
}

#[derive(Default)]
struct State {
    last_rv: u64,
    objects: BTreeMap<(Kind, String, String), Value>,
    history: Vec<HistoryEvent>,
    watchers: Vec<Watcher>,
    requests: Vec<RecordedRequest>,
    deletions: Vec<Deletion>,
    faults: Vec<Fault>,
    latency: Duration,
    unresponsive: bool,
}

struct Shared {
    token: String,
    addr: SocketAddr,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running fake API server; see the [module documentation](self).
pub struct FakeKube {
    addr: SocketAddr,
    shared: Arc<Shared>,
    handle: ServerHandle,
    /// Disconnected when the server thread ends.
    stopped: Mutex<std::sync::mpsc::Receiver<()>>,
}

impl fmt::Debug for FakeKube {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeKube").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl FakeKube {
    /// Starts a fake that accepts the bearer token `token`.
    ///
    /// # Panics
    /// When no port can be bound on 127.0.0.1 (a test environment failure).
    pub async fn start(token: impl Into<String>) -> FakeKube {
        Self::try_start(token).await.expect("the fake Kubernetes API server could not listen on 127.0.0.1")
    }

    /// Starts a fake that accepts the bearer token `token`; fails when no port can be bound.
    pub async fn try_start(token: impl Into<String>) -> io::Result<FakeKube> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared { token: token.into(), addr, state: Mutex::new(State::default()) });
        let (ready_tx, ready_rx) = oneshot::channel::<io::Result<ServerHandle>>();
        let data = web::Data::from(Arc::clone(&shared));
        let (stopped_tx, stopped) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new().name(format!("fake-kube-{}", addr.port())).spawn(move || {
            let _stopped_tx = stopped_tx;
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                        .default_service(web::to(dispatch))
                })
                .workers(2)
                .disable_signals()
                .shutdown_timeout(0)
                // Long keep-alive: a pooled client connection must not be closed under it.
                .keep_alive(KeepAlive::Timeout(Duration::from_secs(600)))
                .listen(listener);
                match server {
                    Ok(server) => {
                        let server = server.run();
                        let _ = ready_tx.send(Ok(server.handle()));
                        let _ = server.await;
                    }
                    Err(error) => {
                        let _ = ready_tx.send(Err(error));
                    }
                }
            });
        })?;
        let handle = ready_rx
            .await
            .map_err(|_| io::Error::other("the fake Kubernetes API server thread ended before listening"))??;
        Ok(FakeKube { addr, shared, handle, stopped: Mutex::new(stopped) })
    }

    /// The base URL, `http://127.0.0.1:PORT` (no trailing `/`): use it as `KUBE_HOST`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the fake listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bearer token the fake accepts: use it as `KUBE_TOKEN`.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// `KUBE_HOST` and `KUBE_TOKEN` for a process that should use this fake.
    pub fn env(&self) -> [(&'static str, String); 2] {
        [("KUBE_HOST", self.url()), ("KUBE_TOKEN", self.shared.token.clone())]
    }

    /// The Jobs of namespace `ns`, by name.
    pub fn jobs(&self, ns: &str) -> Vec<Job> {
        self.typed(Kind::Job, ns)
    }

    /// The Job `name` of namespace `ns`.
    pub fn job(&self, ns: &str, name: &str) -> Option<Job> {
        self.typed_one(Kind::Job, ns, name)
    }

    /// The ReplicationControllers of namespace `ns`, by name.
    pub fn rcs(&self, ns: &str) -> Vec<ReplicationController> {
        self.typed(Kind::ReplicationController, ns)
    }

    /// The ReplicationController `name` of namespace `ns`.
    pub fn rc(&self, ns: &str, name: &str) -> Option<ReplicationController> {
        self.typed_one(Kind::ReplicationController, ns, name)
    }

    /// The Pods of namespace `ns`, by name.
    pub fn pods(&self, ns: &str) -> Vec<Pod> {
        self.typed(Kind::Pod, ns)
    }

    /// The Pod `name` of namespace `ns`.
    pub fn pod(&self, ns: &str, name: &str) -> Option<Pod> {
        self.typed_one(Kind::Pod, ns, name)
    }

    /// Every stored object of `kind` in `ns` as the JSON the fake answers, by name.
    pub fn objects(&self, kind: Kind, ns: &str) -> Vec<Value> {
        self.shared
            .lock()
            .objects
            .iter()
            .filter(|((k, n, _), _)| *k == kind && n == ns)
            .map(|(_, object)| object.clone())
            .collect()
    }

    /// Stores `pod` in `ns` as if a controller had created it (metadata set, `ADDED` event sent),
    /// e.g. a Job's Pod with an owner reference to the Job; returns it as stored.
    ///
    /// # Panics
    /// When the Pod has no name, or one that exists.
    pub fn add_pod(&self, ns: &str, pod: Pod) -> Pod {
        let body = serde_json::to_vec(&pod).expect("a Pod serialises");
        let stored =
            self.shared.lock().create(Kind::Pod, ns, &body).unwrap_or_else(|e| panic!("add_pod: {}", e.message));
        serde_json::from_value(stored).expect("a stored Pod parses")
    }

    /// Every deletion so far as `(kind, namespace, name, propagationPolicy)`, in order.
    pub fn deletions(&self) -> Vec<(Kind, String, String, Option<String>)> {
        self.shared
            .lock()
            .deletions
            .iter()
            .map(|d| (d.kind, d.namespace.clone(), d.name.clone(), d.propagation_policy.clone()))
            .collect()
    }

    /// Every deletion so far with all its options, in order.
    pub fn deletion_records(&self) -> Vec<Deletion> {
        self.shared.lock().deletions.clone()
    }

    /// Every request so far as `(method, path)`, in arrival order (rejected ones included).
    pub fn requests(&self) -> Vec<(String, String)> {
        self.shared.lock().requests.iter().map(|r| (r.method.clone(), r.path.clone())).collect()
    }

    /// Every request so far, complete, in arrival order.
    pub fn recorded_requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Forgets the recorded requests and deletions.
    pub fn clear_requests(&self) {
        let mut state = self.shared.lock();
        state.requests.clear();
        state.deletions.clear();
    }

    /// Delays every later answer by `latency` (zero: answer at once). A watch stream's head is
    /// delayed, not its events.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().latency = latency;
    }

    /// Makes the `nth` (1-based) request with `method` (e.g. `POST`, case-insensitive) on `kind`
    /// counted from this call fail with `status` and a `Status` body, without effect; e.g.
    /// `fail_on("POST", Kind::Job, 3, 500)` fails the third Job creation. Each call adds one
    /// one-shot fault. `GET` counts gets, lists and watches alike. Note that kube-rs clients
    /// retry 429, 503 and 504 by default, so such a fault is usually invisible to them.
    pub fn fail_on(&self, method: &str, kind: Kind, nth: usize, status: u16) {
        self.shared.lock().faults.push(Fault { method: method.to_ascii_uppercase(), kind, nth, seen: 0, status });
    }

    /// While `true`, requests are accepted and read but never answered (a hung API server);
    /// requests already waiting stay unanswered after it is set back to `false`.
    pub fn set_unresponsive(&self, unresponsive: bool) {
        self.shared.lock().unresponsive = unresponsive;
    }

    /// Replaces the status of the Job `name` of `ns` (bumping its `resourceVersion`) and sends
    /// a `MODIFIED` watch event, as the Job controller would.
    ///
    /// # Panics
    /// When there is no such Job.
    pub fn set_job_status(&self, ns: &str, name: &str, status: JobStatus) {
        let status = serde_json::to_value(status).expect("a JobStatus serialises");
        let mut state = self.shared.lock();
        let rv = state.next_rv();
        let key = (Kind::Job, ns.to_owned(), name.to_owned());
        let object = state.objects.get_mut(&key).unwrap_or_else(|| panic!("set_job_status: no Job {ns}/{name}"));
        object["status"] = status;
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        let object = object.clone();
        state.emit(Kind::Job, ns, "MODIFIED", &object);
    }

    /// The status of a Job the Job controller gave up on: `failed: 1` and the conditions
    /// `FailureTarget` and `Failed` with `reason` (e.g. `BackoffLimitExceeded`,
    /// `DeadlineExceeded`) and `message`.
    pub fn failed_job_status(reason: &str, message: &str) -> JobStatus {
        let condition = |type_: &str| JobCondition {
            type_: type_.to_owned(),
            status: "True".to_owned(),
            reason: Some(reason.to_owned()),
            message: Some(message.to_owned()),
            ..JobCondition::default()
        };
        JobStatus {
            failed: Some(1),
            active: Some(0),
            conditions: Some(vec![condition("FailureTarget"), condition("Failed")]),
            ..JobStatus::default()
        }
    }

    /// How many watch streams on `kind` are open, e.g. to wait until a back-end's watcher is
    /// connected (a stream whose client went away counts until the fake notices, at the latest
    /// when it next has an event for it).
    pub fn open_watches(&self, kind: Kind) -> usize {
        self.shared.lock().watchers.iter().filter(|w| w.kind == kind && !w.tx.is_closed()).count()
    }

    fn typed<K: DeserializeOwned>(&self, kind: Kind, ns: &str) -> Vec<K> {
        self.objects(kind, ns).into_iter().map(|o| serde_json::from_value(o).expect("a stored object parses")).collect()
    }

    fn typed_one<K: DeserializeOwned>(&self, kind: Kind, ns: &str, name: &str) -> Option<K> {
        let object = self.shared.lock().objects.get(&(kind, ns.to_owned(), name.to_owned())).cloned()?;
        Some(serde_json::from_value(object).expect("a stored object parses"))
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        // Ends every watch stream, stops the server without waiting for open requests, and
        // waits (briefly) until it no longer listens.
        self.shared.lock().watchers.clear();
        drop(self.handle.stop(false));
        let stopped = self.stopped.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = stopped.recv_timeout(Duration::from_secs(5));
    }
}

/// A failed API call: the `Status` the fake answers.
#[derive(Debug)]
struct ApiError {
    code: u16,
    reason: &'static str,
    message: String,
    details: Option<Value>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError { code, reason, message: message.into(), details: None }
    }

    fn about(mut self, kind: Kind, name: &str) -> Self {
        let mut details = Map::new();
        details.insert("name".to_owned(), json!(name));
        if !kind.group().is_empty() {
            details.insert("group".to_owned(), json!(kind.group()));
        }
        details.insert("kind".to_owned(), json!(kind.plural()));
        self.details = Some(Value::Object(details));
        self
    }

    fn with_reason(mut self, reason: &'static str, code: u16) -> Self {
        self.reason = reason;
        self.code = code;
        self
    }

    fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, "BadRequest", message)
    }

    fn not_found(kind: Kind, name: &str) -> Self {
        ApiError::new(404, "NotFound", format!("{} \"{name}\" not found", kind.qualified())).about(kind, name)
    }

    fn response(&self) -> HttpResponse {
        let mut body = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason,
        });
        if let Some(details) = &self.details {
            body["details"] = details.clone();
        }
        body["code"] = json!(self.code);
        let status = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        HttpResponse::build(status).json(body)
    }
}

/// The `Status` reason Kubernetes gives with an HTTP status.
fn reason_for(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        410 => "Expired",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn event_line(event_type: &str, object: &Value) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": event_type, "object": object})).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

fn name_of(object: &Value) -> &str {
    object["metadata"]["name"].as_str().unwrap_or_default()
}

impl State {
    fn next_rv(&mut self) -> u64 {
        self.last_rv += 1;
        self.last_rv
    }

    /// Records an event and sends it to the watchers that want it.
    fn emit(&mut self, kind: Kind, namespace: &str, event_type: &'static str, object: &Value) {
        let line = event_line(event_type, object);
        self.watchers.retain(|w| {
            if w.wants(kind, namespace, object) {
                w.tx.send(line.clone()).is_ok()
            } else {
                !w.tx.is_closed()
            }
        });
        let rv = object["metadata"]["resourceVersion"].as_str().and_then(|rv| rv.parse().ok()).unwrap_or(self.last_rv);
        self.history.push(HistoryEvent {
            rv,
            kind,
            namespace: namespace.to_owned(),
            event_type,
            object: object.clone(),
        });
    }

    /// Counts the request against the faults; the status of the fault it triggers, if any.
    fn fault(&mut self, method: &str, kind: Kind) -> Option<u16> {
        let index = self.faults.iter_mut().position(|f| {
            if f.kind == kind && f.method == method {
                f.seen += 1;
                f.seen >= f.nth
            } else {
                false
            }
        })?;
        // Later faults must count this request too.
        for f in self.faults.iter_mut().skip(index + 1) {
            if f.kind == kind && f.method == method {
                f.seen += 1;
            }
        }
        Some(self.faults.remove(index).status)
    }

    fn create(&mut self, kind: Kind, ns: &str, body: &[u8]) -> Result<Value, ApiError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("the body of the request was in an unknown format: {e}")))?;
        if !value.is_object() {
            return Err(ApiError::bad_request("the body of the request is not an object"));
        }
        for (field, expected) in [("apiVersion", kind.api_version()), ("kind", kind.name())] {
            if let Some(given) = value.get(field).and_then(Value::as_str) {
                if given != expected {
                    return Err(ApiError::bad_request(format!(
                        "the {field} in the data ({given}) does not match the expected {field} ({expected})"
                    )));
                }
            }
        }
        let mut object = kind.normalise(value).map_err(|e| ApiError::bad_request(format!("invalid {}: {e}", kind)))?;
        if !object["metadata"].is_object() {
            object["metadata"] = json!({});
        }
        if let Some(given) = object["metadata"]["namespace"].as_str() {
            if given != ns {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
        }
        let name = match (object["metadata"]["name"].as_str(), object["metadata"]["generateName"].as_str()) {
            (Some(name), _) if !name.is_empty() => name.to_owned(),
            (_, Some(prefix)) if !prefix.is_empty() => {
                let suffix = uuid::Uuid::new_v4().simple().to_string();
                format!("{prefix}{}", &suffix[..5])
            }
            _ => {
                return Err(ApiError::new(
                    422,
                    "Invalid",
                    format!(
                        "{}.{} \"\" is invalid: metadata.name: Required value: name or generateName is required",
                        kind.name(),
                        kind.group()
                    ),
                )
                .about(kind, ""))
            }
        };
        if kind == Kind::Job && name.len() > 63 {
            // The Job controller copies the name into the pods' `job-name` label: a label value.
            return Err(ApiError::new(
                422,
                "Invalid",
                format!(
                    "Job.batch \"{name}\" is invalid: spec.template.labels: Invalid value: \"{name}\": \
                     must be no more than 63 characters"
                ),
            )
            .about(kind, &name));
        }
        let key = (kind, ns.to_owned(), name.clone());
        if self.objects.contains_key(&key) {
            return Err(ApiError::new(409, "AlreadyExists", format!("{} \"{name}\" already exists", kind.qualified()))
                .about(kind, &name));
        }
        let rv = self.next_rv();
        let metadata = &mut object["metadata"];
        metadata["name"] = json!(name);
        metadata["namespace"] = json!(ns);
        metadata["uid"] = json!(uuid::Uuid::new_v4().to_string());
        metadata["resourceVersion"] = json!(rv.to_string());
        if kind != Kind::Pod {
            metadata["generation"] = json!(1);
        }
        metadata["creationTimestamp"] = json!(now());
        if let Some(metadata) = metadata.as_object_mut() {
            for server_set in ["deletionTimestamp", "deletionGracePeriodSeconds"] {
                metadata.remove(server_set);
            }
        }
        object["status"] = match kind {
            Kind::Job => json!({}),
            Kind::ReplicationController => json!({"replicas": 0}),
            Kind::Pod => json!({"phase": "Pending"}),
        };
        self.objects.insert(key, object.clone());
        self.emit(kind, ns, "ADDED", &object);
        Ok(object)
    }

    fn get(&self, kind: Kind, ns: &str, name: &str) -> Result<Value, ApiError> {
        self.objects
            .get(&(kind, ns.to_owned(), name.to_owned()))
            .cloned()
            .ok_or_else(|| ApiError::not_found(kind, name))
    }

    fn matching(&self, kind: Kind, ns: Option<&str>, filter: &Filter) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|((k, n, _), object)| *k == kind && ns.is_none_or(|ns| ns == n) && filter.matches(object))
            .map(|(_, object)| object.clone())
            .collect()
    }

    fn list(&self, kind: Kind, ns: Option<&str>, filter: &Filter) -> Value {
        self.list_of(kind, self.matching(kind, ns, filter))
    }

    fn list_of(&self, kind: Kind, items: Vec<Value>) -> Value {
        json!({
            "kind": format!("{}List", kind.name()),
            "apiVersion": kind.api_version(),
            "metadata": {"resourceVersion": self.last_rv.to_string()},
            "items": items,
        })
    }

    fn delete(&mut self, kind: Kind, ns: &str, name: &str, options: &DeleteRequest) -> Result<Value, ApiError> {
        let key = (kind, ns.to_owned(), name.to_owned());
        let mut object = self.objects.get(&key).cloned().ok_or_else(|| ApiError::not_found(kind, name))?;
        if let Some(pre) = options.options.as_ref().and_then(|o| o.preconditions.as_ref()) {
            let meta = &object["metadata"];
            let uid_ok = pre.uid.as_deref().is_none_or(|uid| meta["uid"] == uid);
            let rv_ok = pre.resource_version.as_deref().is_none_or(|rv| meta["resourceVersion"] == rv);
            if !uid_ok || !rv_ok {
                return Err(ApiError::new(
                    409,
                    "Conflict",
                    format!(
                        "Operation cannot be fulfilled on {} \"{name}\": the precondition does not hold",
                        kind.qualified()
                    ),
                )
                .about(kind, name));
            }
        }
        let policy = options.effective_policy(kind);
        object["metadata"]["deletionTimestamp"] = json!(now());
        object["metadata"]["deletionGracePeriodSeconds"] = json!(options.grace_period_seconds.unwrap_or(0));
        let finalizer = match policy {
            "Foreground" => Some("foregroundDeletion"),
            "Orphan" => Some("orphan"),
            _ => None,
        };
        if let Some(finalizer) = finalizer {
            match object["metadata"]["finalizers"].as_array_mut() {
                Some(finalizers) => finalizers.push(json!(finalizer)),
                None => object["metadata"]["finalizers"] = json!([finalizer]),
            }
        }
        if options.dry_run {
            return Ok(object);
        }
        self.deletions.push(Deletion {
            kind,
            namespace: ns.to_owned(),
            name: name.to_owned(),
            propagation_policy: options.propagation_policy.clone(),
            grace_period_seconds: options.grace_period_seconds,
            options: options.options.clone(),
        });
        if finalizer.is_some() {
            let rv = self.next_rv();
            object["metadata"]["resourceVersion"] = json!(rv.to_string());
            self.emit(kind, ns, "MODIFIED", &object);
        }
        let uid = object["metadata"]["uid"].clone();
        self.cascade(ns, &uid, policy == "Orphan");
        self.objects.remove(&key);
        let rv = self.next_rv();
        let mut deleted = object.clone();
        deleted["metadata"]["resourceVersion"] = json!(rv.to_string());
        self.emit(kind, ns, "DELETED", &deleted);
        Ok(object)
    }

    /// Deletes the Pods of `ns` owned by `owner_uid`, or removes that owner reference (`orphan`).
    fn cascade(&mut self, ns: &str, owner_uid: &Value, orphan: bool) {
        let owned: Vec<(Kind, String, String)> = self
            .objects
            .iter()
            .filter(|((k, n, _), pod)| {
                *k == Kind::Pod
                    && n == ns
                    && pod["metadata"]["ownerReferences"]
                        .as_array()
                        .is_some_and(|refs| refs.iter().any(|r| r["uid"] == *owner_uid))
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in owned {
            let rv = self.next_rv();
            let Some(mut pod) = self.objects.remove(&key) else { continue };
            pod["metadata"]["resourceVersion"] = json!(rv.to_string());
            if orphan {
                if let Some(refs) = pod["metadata"]["ownerReferences"].as_array_mut() {
                    refs.retain(|r| r["uid"] != *owner_uid);
                }
                self.objects.insert(key, pod.clone());
                self.emit(Kind::Pod, ns, "MODIFIED", &pod);
            } else {
                pod["metadata"]["deletionTimestamp"] = json!(now());
                self.emit(Kind::Pod, ns, "DELETED", &pod);
            }
        }
    }

    /// Opens a watch: queues the initial events and registers the watcher.
    fn watch(
        &mut self,
        kind: Kind,
        ns: Option<&str>,
        filter: Filter,
        query: &Query,
    ) -> Result<mpsc::UnboundedReceiver<Bytes>, ApiError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let send_initial = query.get("sendInitialEvents") == Some("true");
        let since = match query.get("resourceVersion") {
            None | Some("") | Some("0") => None,
            Some(rv) => Some(rv.parse::<u64>().map_err(|_| {
                ApiError::bad_request(format!("invalid resource version {rv:?}")).with_reason("Invalid", 422)
            })?),
        };
        match since {
            Some(since) if !send_initial => {
                for event in &self.history {
                    if event.rv > since
                        && event.kind == kind
                        && ns.is_none_or(|ns| ns == event.namespace)
                        && filter.matches(&event.object)
                    {
                        let _ = tx.send(event_line(event.event_type, &event.object));
                    }
                }
            }
            _ => {
                for object in self.matching(kind, ns, &filter) {
                    let _ = tx.send(event_line("ADDED", &object));
                }
                if send_initial {
                    let bookmark = json!({
                        "kind": kind.name(), "apiVersion": kind.api_version(),
                        "metadata": {
                            "resourceVersion": self.last_rv.to_string(),
                            "annotations": {"k8s.io/initial-events-end": "true"},
                        },
                    });
                    let _ = tx.send(event_line("BOOKMARK", &bookmark));
                }
            }
        }
        self.watchers.push(Watcher { kind, namespace: ns.map(str::to_owned), filter, tx });
        Ok(rx)
    }
}

/// The options of a `DELETE`: the `DeleteOptions` body, completed by the query.
struct DeleteRequest {
    options: Option<DeleteOptions>,
    propagation_policy: Option<String>,
    grace_period_seconds: Option<i64>,
    orphan_dependents: Option<bool>,
    dry_run: bool,
}

impl DeleteRequest {
    fn parse(body: &[u8], query: &Query) -> Result<Self, ApiError> {
        let options = if body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            Some(
                serde_json::from_slice::<DeleteOptions>(body)
                    .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?,
            )
        };
        let from_body = options.clone().unwrap_or_default();
        let grace_period_seconds = match from_body.grace_period_seconds {
            Some(seconds) => Some(seconds),
            None => match query.get("gracePeriodSeconds") {
                Some(text) => Some(
                    text.parse().map_err(|_| ApiError::bad_request(format!("invalid gracePeriodSeconds {text:?}")))?,
                ),
                None => None,
            },
        };
        Ok(DeleteRequest {
            propagation_policy: from_body
                .propagation_policy
                .or_else(|| query.get("propagationPolicy").map(str::to_owned)),
            grace_period_seconds,
            orphan_dependents: from_body
                .orphan_dependents
                .or_else(|| query.get("orphanDependents").map(|v| v == "true")),
            dry_run: from_body.dry_run.is_some_and(|d| !d.is_empty()) || query.get("dryRun").is_some(),
            options,
        })
    }

    /// The policy in force: the one asked for, else the kind's default (`Orphan` for `batch/v1`
    /// Jobs and `v1` RCs, as in Kubernetes; `Background` for Pods).
    fn effective_policy(&self, kind: Kind) -> &str {
        match (&self.propagation_policy, self.orphan_dependents) {
            (Some(policy), _) => policy,
            (None, Some(true)) => "Orphan",
            (None, Some(false)) => "Background",
            (None, None) if kind == Kind::Pod => "Background",
            (None, None) => "Orphan",
        }
    }
}

/// Parsed query parameters.
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(text: &str) -> Query {
        Query(serde_urlencoded::from_str(text).unwrap_or_default())
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A label and field selector.
#[derive(Debug, Clone, Default)]
struct Filter {
    labels: Vec<LabelRequirement>,
    fields: Vec<(String, bool, String)>,
}

#[derive(Debug, Clone, PartialEq)]
enum LabelRequirement {
    Equals(String, String),
    NotEquals(String, String),
    Exists(String),
    NotExists(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

impl Filter {
    fn parse(query: &Query) -> Result<Filter, ApiError> {
        let labels = match query.get("labelSelector") {
            Some(text) => parse_label_selector(text).map_err(ApiError::bad_request)?,
            None => Vec::new(),
        };
        let fields = match query.get("fieldSelector") {
            Some(text) => parse_field_selector(text).map_err(ApiError::bad_request)?,
            None => Vec::new(),
        };
        Ok(Filter { labels, fields })
    }

    fn matches(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        let label = |key: &str| labels.get(key).and_then(Value::as_str);
        let labels_ok = self.labels.iter().all(|requirement| match requirement {
            LabelRequirement::Equals(k, v) => label(k) == Some(v.as_str()),
            LabelRequirement::NotEquals(k, v) => label(k) != Some(v.as_str()),
            LabelRequirement::Exists(k) => label(k).is_some(),
            LabelRequirement::NotExists(k) => label(k).is_none(),
            LabelRequirement::In(k, values) => label(k).is_some_and(|l| values.iter().any(|v| v == l)),
            LabelRequirement::NotIn(k, values) => label(k).is_none_or(|l| values.iter().all(|v| v != l)),
        });
        labels_ok
            && self.fields.iter().all(|(path, equal, value)| {
                let found =
                    path.split('.').try_fold(object, |v, part| v.get(part)).and_then(Value::as_str).unwrap_or("");
                (found == value) == *equal
            })
    }
}

/// Splits a selector on the commas outside parentheses.
fn split_terms(text: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let (mut depth, mut start) = (0_usize, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                terms.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(text[start..].trim());
    terms.into_iter().filter(|t| !t.is_empty()).collect()
}

fn selector_key(key: &str) -> Result<String, String> {
    let key = key.trim();
    if key.is_empty() || key.contains(char::is_whitespace) || key.contains(['=', '!', '(', ')']) {
        Err(format!("unable to parse requirement: invalid label key {key:?}"))
    } else {
        Ok(key.to_owned())
    }
}

fn parse_label_selector(text: &str) -> Result<Vec<LabelRequirement>, String> {
    split_terms(text)
        .into_iter()
        .map(|term| {
            if let Some(key) = term.strip_prefix('!') {
                return Ok(LabelRequirement::NotExists(selector_key(key)?));
            }
            if let (Some(open), true) = (term.find('('), term.ends_with(')')) {
                let mut head = term[..open].split_whitespace();
                let (key, operator) = (head.next().unwrap_or_default(), head.next().unwrap_or_default());
                let values: Vec<String> = term[open + 1..term.len() - 1]
                    .split(',')
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .collect();
                return match operator {
                    "in" => Ok(LabelRequirement::In(selector_key(key)?, values)),
                    "notin" => Ok(LabelRequirement::NotIn(selector_key(key)?, values)),
                    _ => Err(format!("unable to parse requirement: unknown operator in {term:?}")),
                };
            }
            if let Some((key, value)) = term.split_once("!=") {
                Ok(LabelRequirement::NotEquals(selector_key(key)?, value.trim().to_owned()))
            } else if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
                Ok(LabelRequirement::Equals(selector_key(key)?, value.trim().to_owned()))
            } else {
                Ok(LabelRequirement::Exists(selector_key(term)?))
            }
        })
        .collect()
}

fn parse_field_selector(text: &str) -> Result<Vec<(String, bool, String)>, String> {
    split_terms(text)
        .into_iter()
        .map(|term| {
            let (path, equal, value) = if let Some((path, value)) = term.split_once("!=") {
                (path, false, value)
            } else if let Some((path, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
                (path, true, value)
            } else {
                return Err(format!("invalid selector: {term:?}; can't understand it"));
            };
            Ok((selector_key(path)?, equal, value.trim().to_owned()))
        })
        .collect()
}

/// What a path names.
enum Route {
    Version,
    CoreVersions,
    GroupList,
    BatchGroup,
    CoreResources,
    BatchResources,
    Collection(Kind, Option<String>),
    Item(Kind, String, String),
    Unknown,
}

fn route(path: &str) -> Route {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let kind_at = |prefix: &[&str], plural: &str| {
        Kind::ALL.into_iter().find(|k| k.path_prefix() == prefix && k.plural() == plural)
    };
    match segments.as_slice() {
        ["version"] => Route::Version,
        ["api"] => Route::CoreVersions,
        ["apis"] => Route::GroupList,
        ["apis", "batch"] => Route::BatchGroup,
        ["api", "v1"] => Route::CoreResources,
        ["apis", "batch", "v1"] => Route::BatchResources,
        [prefix @ .., "namespaces", ns, plural] => match kind_at(prefix, plural) {
            Some(kind) => Route::Collection(kind, Some((*ns).to_owned())),
            None => Route::Unknown,
        },
        [prefix @ .., "namespaces", ns, plural, name] => match kind_at(prefix, plural) {
            Some(kind) => Route::Item(kind, (*ns).to_owned(), (*name).to_owned()),
            None => Route::Unknown,
        },
        [prefix @ .., plural] => match kind_at(prefix, plural) {
            Some(kind) => Route::Collection(kind, None),
            None => Route::Unknown,
        },
        [] => Route::Unknown,
    }
}

fn authorised(request: &HttpRequest, token: &str) -> bool {
    request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .is_some_and(|(scheme, given)| scheme.eq_ignore_ascii_case("bearer") && given.trim() == token)
}

/// Every request goes through here: record, unresponsive, latency, authentication, faults, route.
async fn dispatch(request: HttpRequest, body: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let method = request.method().as_str().to_owned();
    let recorded = RecordedRequest {
        method: method.clone(),
        path: request.path().to_owned(),
        query: request.query_string().to_owned(),
        body: if body.is_empty() {
            None
        } else {
            Some(
                serde_json::from_slice(&body)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned())),
            )
        },
    };
    let (latency, unresponsive) = {
        let mut state = shared.lock();
        state.requests.push(recorded);
        (state.latency, state.unresponsive)
    };
    if unresponsive {
        std::future::pending::<()>().await;
    }
    if !latency.is_zero() {
        actix_web::rt::time::sleep(latency).await;
    }
    if !authorised(&request, &shared.token) {
        return ApiError::new(401, "Unauthorized", "Unauthorized").response();
    }
    let query = Query::parse(request.query_string());
    match answer(&shared, &method, request.path(), &query, &body) {
        Ok(Answer::Json(code, value)) => {
            HttpResponse::build(StatusCode::from_u16(code).unwrap_or(StatusCode::OK)).json(value)
        }
        Ok(Answer::Watch(rx, timeout)) => {
            let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
            let events = futures::stream::unfold(rx, move |mut rx| async move {
                let next = match deadline {
                    Some(deadline) => tokio::time::timeout_at(deadline, rx.recv()).await.ok().flatten(),
                    None => rx.recv().await,
                };
                next.map(|line| (Ok::<_, actix_web::Error>(line), rx))
            });
            HttpResponse::Ok().content_type("application/json").streaming(events)
        }
        Err(error) => error.response(),
    }
}

enum Answer {
    Json(u16, Value),
    Watch(mpsc::UnboundedReceiver<Bytes>, Option<Duration>),
}

fn answer(shared: &Shared, method: &str, path: &str, query: &Query, body: &[u8]) -> Result<Answer, ApiError> {
    let not_allowed = || {
        ApiError::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow this method ({method}) on the requested resource"),
        )
    };
    let discovery = |value: Value| if method == "GET" { Ok(Answer::Json(200, value)) } else { Err(not_allowed()) };
    let (kind, ns, name) = match route(path) {
        Route::Version => return discovery(version_info()),
        Route::CoreVersions => {
            return discovery(json!({
                "kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": shared.addr.to_string()}],
            }))
        }
        Route::GroupList => {
            return discovery(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [batch_group()]}))
        }
        Route::BatchGroup => return discovery(batch_group()),
        Route::CoreResources => return discovery(resource_list("v1", &[Kind::Pod, Kind::ReplicationController])),
        Route::BatchResources => return discovery(resource_list("batch/v1", &[Kind::Job])),
        Route::Unknown => {
            return Err(ApiError::new(404, "NotFound", "the server could not find the requested resource"));
        }
        Route::Collection(kind, ns) => (kind, ns, None),
        Route::Item(kind, ns, name) => (kind, Some(ns), Some(name)),
    };
    let mut state = shared.lock();
    if let Some(code) = state.fault(method, kind) {
        let target = name.as_deref().unwrap_or_default();
        return Err(
            ApiError::new(code, reason_for(code), format!("injected failure of {method} {path}")).about(kind, target)
        );
    }
    let ns = ns.as_deref();
    match (method, ns, name.as_deref()) {
        ("GET", _, Some(name)) => Ok(Answer::Json(200, state.get(kind, ns.unwrap_or_default(), name)?)),
        ("GET", ns, None) => {
            let filter = Filter::parse(query)?;
            if matches!(query.get("watch"), Some("true" | "1")) {
                let timeout = match query.get("timeoutSeconds") {
                    Some(text) => Some(Duration::from_secs(
                        text.parse().map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds {text:?}")))?,
                    )),
                    None => None,
                };
                Ok(Answer::Watch(state.watch(kind, ns, filter, query)?, timeout))
            } else {
                Ok(Answer::Json(200, state.list(kind, ns, &filter)))
            }
        }
        ("POST", Some(ns), None) => Ok(Answer::Json(201, state.create(kind, ns, body)?)),
        ("DELETE", Some(ns), Some(name)) => {
            let options = DeleteRequest::parse(body, query)?;
            Ok(Answer::Json(200, state.delete(kind, ns, name, &options)?))
        }
        ("DELETE", Some(ns), None) => {
            let options = DeleteRequest::parse(body, query)?;
            let filter = Filter::parse(query)?;
            let mut deleted = Vec::new();
            for object in state.matching(kind, Some(ns), &filter) {
                deleted.push(state.delete(kind, ns, name_of(&object), &options)?);
            }
            Ok(Answer::Json(200, state.list_of(kind, deleted)))
        }
        _ => Err(not_allowed()),
    }
}

fn version_info() -> Value {
    let (major, minor) = FAKE_VERSION;
    json!({
        "major": major, "minor": minor, "gitVersion": format!("v{major}.{minor}.0-fake"),
        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "2025-04-23T00:00:00Z", "goVersion": "go1.24.2", "compiler": "gc", "platform": "linux/amd64",
    })
}

fn batch_group() -> Value {
    let version = json!({"groupVersion": "batch/v1", "version": "v1"});
    json!({"kind": "APIGroup", "apiVersion": "v1", "name": "batch", "versions": [version.clone()], "preferredVersion": version})
}

fn resource_list(group_version: &str, kinds: &[Kind]) -> Value {
    let resources: Vec<Value> = kinds
        .iter()
        .map(|kind| {
            json!({
                "name": kind.plural(), "singularName": kind.name().to_ascii_lowercase(), "namespaced": true,
                "kind": kind.name(), "verbs": ["create", "delete", "deletecollection", "get", "list", "watch"],
            })
        })
        .collect();
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Value {
        let labels: Map<String, Value> = pairs.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
        json!({"metadata": {"name": "x", "labels": labels}})
    }

    fn selects(selector: &str, object: &Value) -> bool {
        Filter { labels: parse_label_selector(selector).unwrap(), fields: Vec::new() }.matches(object)
    }

    #[test]
    fn label_selectors_follow_kubernetes_syntax() {
        let object = labels(&[("app", "kafkaml"), ("tier", "train")]);
        assert!(selects("app=kafkaml", &object));
        assert!(selects("app==kafkaml,tier", &object));
        assert!(selects("app!=other, !missing", &object));
        assert!(selects("tier in (train, infer)", &object));
        assert!(selects("tier notin (infer),missing notin (a)", &object));
        assert!(!selects("app=other", &object));
        assert!(!selects("missing", &object));
        assert!(!selects("!tier", &object));
        assert!(!selects("tier in (infer)", &object));
        assert!(selects("", &object));
        assert_eq!(
            parse_label_selector("a in (x,y),b").unwrap(),
            vec![LabelRequirement::In("a".into(), vec!["x".into(), "y".into()]), LabelRequirement::Exists("b".into())]
        );
        assert!(parse_label_selector("a b").is_err());
        assert!(parse_label_selector("a within (x)").is_err());
    }

    #[test]
    fn field_selectors_compare_string_fields() {
        let object = labels(&[]);
        let fields = parse_field_selector("metadata.name=x").unwrap();
        assert!(Filter { labels: Vec::new(), fields }.matches(&object));
        let fields = parse_field_selector("metadata.name!=x").unwrap();
        assert!(!Filter { labels: Vec::new(), fields }.matches(&object));
        assert!(parse_field_selector("metadata.name").is_err());
    }

    #[test]
    fn routes_name_kinds_namespaces_and_names() {
        assert!(
            matches!(route("/apis/batch/v1/namespaces/ns/jobs"), Route::Collection(Kind::Job, Some(ns)) if ns == "ns")
        );
        assert!(
            matches!(route("/api/v1/namespaces/ns/pods/p"), Route::Item(Kind::Pod, ns, n) if ns == "ns" && n == "p")
        );
        assert!(matches!(
            route("/api/v1/replicationcontrollers"),
            Route::Collection(Kind::ReplicationController, None)
        ));
        assert!(matches!(route("/api/v1/namespaces/ns/jobs"), Route::Unknown));
        assert!(matches!(route("/apis/batch/v1/namespaces/ns/pods"), Route::Unknown));
        assert!(matches!(route("/version"), Route::Version));
        assert!(matches!(route("/"), Route::Unknown));
    }

    #[test]
    fn faults_fire_once_on_the_nth_matching_request() {
        let mut state = State::default();
        state.faults.push(Fault { method: "POST".into(), kind: Kind::Job, nth: 2, seen: 0, status: 500 });
        assert_eq!(state.fault("POST", Kind::Pod), None);
        assert_eq!(state.fault("GET", Kind::Job), None);
        assert_eq!(state.fault("POST", Kind::Job), None);
        assert_eq!(state.fault("POST", Kind::Job), Some(500));
        assert_eq!(state.fault("POST", Kind::Job), None);
    }
}
