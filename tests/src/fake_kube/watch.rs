//! Watch streams: the watchers, their events, and the history they are replayed from.

use bytes::Bytes;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::error::ApiError;
use super::http::Query;
use super::selectors::Filter;
use super::store::{HistoryEvent, State};
use super::Kind;

pub(super) struct Watcher {
    pub(super) kind: Kind,
    pub(super) namespace: Option<String>,
    pub(super) filter: Filter,
    pub(super) tx: mpsc::UnboundedSender<Bytes>,
}

impl Watcher {
    pub(super) fn wants(&self, kind: Kind, namespace: &str, object: &Value) -> bool {
        self.kind == kind && self.namespace.as_deref().is_none_or(|ns| ns == namespace) && self.filter.matches(object)
    }
}

pub(super) fn event_line(event_type: &str, object: &Value) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": event_type, "object": object})).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

impl State {
    /// Records an event and sends it to the watchers that want it.
    pub(super) fn emit(&mut self, kind: Kind, namespace: &str, event_type: &'static str, object: &Value) {
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

    /// Opens a watch: queues the initial events and registers the watcher.
    pub(super) fn watch(
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
