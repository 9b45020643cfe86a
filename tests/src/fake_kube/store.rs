//! The objects per kind and namespace, their history and resource versions, creation and
//! deletion (with its options and cascades).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::DeleteOptions;
use serde_json::{json, Value};

use super::error::ApiError;
use super::http::{Fault, Query, RecordedRequest};
use super::selectors::Filter;
use super::watch::Watcher;
use super::Kind;

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
pub(super) struct HistoryEvent {
    pub(super) rv: u64,
    pub(super) kind: Kind,
    pub(super) namespace: String,
    pub(super) event_type: &'static str,
    pub(super) object: Value,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) last_rv: u64,
    pub(super) objects: BTreeMap<(Kind, String, String), Value>,
    pub(super) history: Vec<HistoryEvent>,
    pub(super) watchers: Vec<Watcher>,
    pub(super) requests: Vec<RecordedRequest>,
    pub(super) deletions: Vec<Deletion>,
    pub(super) faults: Vec<Fault>,
    pub(super) latency: Duration,
    pub(super) unresponsive: bool,
}

pub(super) struct Shared {
    pub(super) token: String,
    pub(super) addr: SocketAddr,
    pub(super) state: Mutex<State>,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(super) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub(super) fn name_of(object: &Value) -> &str {
    object["metadata"]["name"].as_str().unwrap_or_default()
}

impl State {
    pub(super) fn next_rv(&mut self) -> u64 {
        self.last_rv += 1;
        self.last_rv
    }

    pub(super) fn create(&mut self, kind: Kind, ns: &str, body: &[u8]) -> Result<Value, ApiError> {
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

    pub(super) fn get(&self, kind: Kind, ns: &str, name: &str) -> Result<Value, ApiError> {
        self.objects
            .get(&(kind, ns.to_owned(), name.to_owned()))
            .cloned()
            .ok_or_else(|| ApiError::not_found(kind, name))
    }

    pub(super) fn matching(&self, kind: Kind, ns: Option<&str>, filter: &Filter) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|((k, n, _), object)| *k == kind && ns.is_none_or(|ns| ns == n) && filter.matches(object))
            .map(|(_, object)| object.clone())
            .collect()
    }

    pub(super) fn list(&self, kind: Kind, ns: Option<&str>, filter: &Filter) -> Value {
        self.list_of(kind, self.matching(kind, ns, filter))
    }

    pub(super) fn list_of(&self, kind: Kind, items: Vec<Value>) -> Value {
        json!({
            "kind": format!("{}List", kind.name()),
            "apiVersion": kind.api_version(),
            "metadata": {"resourceVersion": self.last_rv.to_string()},
            "items": items,
        })
    }

    pub(super) fn delete(
        &mut self,
        kind: Kind,
        ns: &str,
        name: &str,
        options: &DeleteRequest,
    ) -> Result<Value, ApiError> {
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
    pub(super) fn cascade(&mut self, ns: &str, owner_uid: &Value, orphan: bool) {
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
}

/// The options of a `DELETE`: the `DeleteOptions` body, completed by the query.
pub(super) struct DeleteRequest {
    pub(super) options: Option<DeleteOptions>,
    pub(super) propagation_policy: Option<String>,
    pub(super) grace_period_seconds: Option<i64>,
    pub(super) orphan_dependents: Option<bool>,
    pub(super) dry_run: bool,
}

impl DeleteRequest {
    pub(super) fn parse(body: &[u8], query: &Query) -> Result<Self, ApiError> {
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
    pub(super) fn effective_policy(&self, kind: Kind) -> &str {
        match (&self.propagation_policy, self.orphan_dependents) {
            (Some(policy), _) => policy,
            (None, Some(true)) => "Orphan",
            (None, Some(false)) => "Background",
            (None, None) if kind == Kind::Pod => "Background",
            (None, None) => "Orphan",
        }
    }
}
