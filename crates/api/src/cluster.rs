//! How the settings reach Kubernetes clusters.

use kafkaml_orchestration::ClusterSettings;

use crate::settings::Settings;

/// How the settings reach clusters.
pub fn cluster_settings(settings: &Settings) -> ClusterSettings {
    ClusterSettings {
        host: settings.kube.host.clone(),
        token: settings.kube.token.clone(),
        kubeconfig: settings.kube.kubeconfig.clone(),
        ca_cert: settings.kube.ca_cert.clone(),
        insecure_skip_tls_verify: settings.kube.insecure_skip_tls_verify,
        namespace: settings.kube.namespace.clone(),
        timeout: settings.kube.timeout(),
    }
}
