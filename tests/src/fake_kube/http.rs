//! The actix-web side: every request is recorded, delayed, authenticated, failed on purpose or
//! routed to the store; discovery documents.

use std::time::Duration;

use actix_web::http::header::AUTHORIZATION;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::error::{reason_for, ApiError};
use super::selectors::Filter;
use super::store::{name_of, DeleteRequest, Shared, State};
use super::{Kind, FAKE_VERSION};

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

pub(super) struct Fault {
    pub(super) method: String,
    pub(super) kind: Kind,
    pub(super) nth: usize,
    pub(super) seen: usize,
    pub(super) status: u16,
}

impl State {
    /// Counts the request against the faults; the status of the fault it triggers, if any.
    pub(super) fn fault(&mut self, method: &str, kind: Kind) -> Option<u16> {
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
}

/// Parsed query parameters.
pub(super) struct Query(Vec<(String, String)>);

impl Query {
    pub(super) fn parse(text: &str) -> Query {
        Query(serde_urlencoded::from_str(text).unwrap_or_default())
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
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
pub(super) async fn dispatch(request: HttpRequest, body: Bytes, shared: web::Data<Shared>) -> HttpResponse {
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
