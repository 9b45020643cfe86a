//! The kinds of object the fake keeps and their names in paths and messages.

use std::fmt;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use serde::de::DeserializeOwned;
use serde_json::Value;

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

    pub(super) fn path_prefix(self) -> &'static [&'static str] {
        match self {
            Kind::Job => &["apis", "batch", "v1"],
            Kind::ReplicationController | Kind::Pod => &["api", "v1"],
        }
    }

    /// `jobs.batch` or `pods`, as in the API server's messages.
    pub(super) fn qualified(self) -> String {
        match self.group() {
            "" => self.plural().to_owned(),
            group => format!("{}.{group}", self.plural()),
        }
    }

    /// Parses `value` as an object of this kind and writes it back, as the API server does
    /// (unknown fields dropped, `apiVersion` and `kind` set).
    pub(super) fn normalise(self, value: Value) -> Result<Value, serde_json::Error> {
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
