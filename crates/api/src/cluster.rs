//! How the settings reach Kubernetes clusters.

use std::time::Duration;

use kafkaml_orchestration::ClusterSettings;

use crate::settings::Settings;

/// How the settings reach clusters.
pub fn cluster_settings(settings: &Settings) -> ClusterSettings {
    ClusterSettings {
        host: settings.kube_host.clone(),
        token: settings.kube_token.as_ref().map(|t| t.expose().to_owned()),
        kubeconfig: settings.kubeconfig.clone(),
        ca_cert: settings.kube_ca_cert.clone(),
        insecure_skip_tls_verify: settings.kube_insecure_skip_tls_verify,
        namespace: settings.kube_namespace.clone(),
        timeout: Duration::from_secs(settings.kube_timeout.max(1)),
    }
}
