//! How the back-end's pods are confined and sized, for training Jobs and inference controllers
//! alike: no service-account token, a restrictive container `securityContext`, optional CPU and
//! memory requests and limits, and (for Jobs) a deadline and the time a finished Job is kept.
//!
//! Kafka-ML's images run as root, so `runAsNonRoot` is only set when asked for
//! ([`WorkloadPolicy::run_as_non_root`]); everything else works with those images unchanged.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, Container, PodSpec, ResourceRequirements, SeccompProfile, SecurityContext,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// Default of [`WorkloadPolicy::ttl_seconds_after_finished`]: an hour, so a failure is still there
/// to be seen when the back-end was away for a while.
pub const DEFAULT_TTL_SECONDS_AFTER_FINISHED: i32 = 3600;

/// CPU and memory of one kind of container; `None` renders nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    /// `requests.cpu`, a Kubernetes quantity (`500m`, `2`).
    pub cpu_request: Option<String>,
    /// `limits.cpu`.
    pub cpu_limit: Option<String>,
    /// `requests.memory` (`512Mi`, `4Gi`).
    pub memory_request: Option<String>,
    /// `limits.memory`.
    pub memory_limit: Option<String>,
}

impl Resources {
    /// Sets the requests and limits that are given on `container`, keeping what it has (the GPU
    /// limit is added afterwards by [`crate::gpu::apply_gpu`]).
    pub fn apply(&self, container: &mut Container) {
        let mut put = |limits: bool, name: &str, value: &Option<String>| {
            let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) else { return };
            let resources = container.resources.get_or_insert_with(ResourceRequirements::default);
            let map = if limits { &mut resources.limits } else { &mut resources.requests };
            map.get_or_insert_with(BTreeMap::new).insert(name.to_owned(), Quantity(value.to_owned()));
        };
        put(false, "cpu", &self.cpu_request);
        put(false, "memory", &self.memory_request);
        put(true, "cpu", &self.cpu_limit);
        put(true, "memory", &self.memory_limit);
    }
}

/// The confinement and sizes of the back-end's pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadPolicy {
    /// `runAsNonRoot: true` on the containers (Kafka-ML's images run as root: off by default).
    pub run_as_non_root: bool,
    /// Requests and limits of training containers.
    pub training: Resources,
    /// Requests and limits of inference containers.
    pub inference: Resources,
    /// `activeDeadlineSeconds` of training Jobs (never on indefinite incremental trainings, which
    /// run until stopped); `None`: no deadline.
    pub active_deadline_seconds: Option<i64>,
    /// `ttlSecondsAfterFinished` of training Jobs.
    pub ttl_seconds_after_finished: i32,
}

impl Default for WorkloadPolicy {
    fn default() -> Self {
        Self {
            run_as_non_root: false,
            training: Resources::default(),
            inference: Resources::default(),
            active_deadline_seconds: None,
            ttl_seconds_after_finished: DEFAULT_TTL_SECONDS_AFTER_FINISHED,
        }
    }
}

impl WorkloadPolicy {
    /// The container `securityContext`: no privilege escalation, every capability dropped, the
    /// runtime's default seccomp profile, and `runAsNonRoot` when asked for.
    pub fn security_context(&self) -> SecurityContext {
        SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities { add: None, drop: Some(vec!["ALL".to_owned()]) }),
            seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".to_owned(), localhost_profile: None }),
            run_as_non_root: self.run_as_non_root.then_some(true),
            ..SecurityContext::default()
        }
    }

    /// Confines `pod` (no service-account token, the [`WorkloadPolicy::security_context`] on every
    /// container) and gives its containers `resources`.
    pub fn apply(&self, pod: &mut PodSpec, resources: &Resources) {
        pod.automount_service_account_token = Some(false);
        for container in &mut pod.containers {
            container.security_context = Some(self.security_context());
            resources.apply(container);
        }
    }
}

/// `true` when `text` is a Kubernetes quantity (`500m`, `1.5`, `2Gi`, `1e3`): what a setting of
/// [`Resources`] must be.
pub fn is_quantity(text: &str) -> bool {
    const SUFFIXES: [&str; 15] = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E"];
    let text = text.strip_prefix('+').unwrap_or(text);
    let number_end = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, suffix) = text.split_at(number_end);
    let digits = number.chars().filter(char::is_ascii_digit).count();
    if digits == 0 || number.matches('.').count() > 1 {
        return false;
    }
    if suffix.is_empty() || SUFFIXES.contains(&suffix) {
        return true;
    }
    // A decimal exponent: e or E, an optional sign, digits.
    let Some(exponent) = suffix.strip_prefix(['e', 'E']) else { return false };
    let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    !exponent.is_empty() && exponent.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quantities() {
        for good in ["1", "500m", "0.5", "2Gi", "512Mi", "1e3", "1E-2", "+1", ".5", "100k"] {
            assert!(is_quantity(good), "{good}");
        }
        for bad in ["", "m", "1.2.3", "1 Gi", "1gb", "-1", "1e", "2GiB", "abc", "1x"] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }

    #[test]
    fn nothing_set_renders_no_resources() {
        let mut pod = PodSpec { containers: vec![Container::default()], ..PodSpec::default() };
        WorkloadPolicy::default().apply(&mut pod, &Resources::default());
        assert_eq!(
            serde_json::to_value(&pod).unwrap(),
            json!({
                "automountServiceAccountToken": false,
                "containers": [{
                    "name": "",
                    "securityContext": {
                        "allowPrivilegeEscalation": false,
                        "capabilities": {"drop": ["ALL"]},
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                }],
            })
        );
    }

    #[test]
    fn resources_and_non_root_when_set() {
        let mut pod = PodSpec { containers: vec![Container::default()], ..PodSpec::default() };
        let policy = WorkloadPolicy { run_as_non_root: true, ..WorkloadPolicy::default() };
        let resources = Resources {
            cpu_request: Some("500m".into()),
            cpu_limit: None,
            memory_request: Some("1Gi".into()),
            memory_limit: Some("2Gi".into()),
        };
        policy.apply(&mut pod, &resources);
        let value = serde_json::to_value(&pod.containers[0]).unwrap();
        assert_eq!(value["securityContext"]["runAsNonRoot"], json!(true));
        assert_eq!(
            value["resources"],
            json!({"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}})
        );
    }
}
