//! The inference ReplicationController (docs/contract.md §5.3.5): `model-inference-<inference id>`, the
//! reference's environment for non-distributed and distributed models, brokers defaulting to
//! `BOOTSTRAP_SERVERS`, `imagePullPolicy: Always` on the container and the GPU patch (which the
//! reference broke, decisions.md item 5). `MODEL_URL` and `MODEL_ARCH_URL` end in the result's
//! serving `?token=` when the environment has a [`PodSigner`].

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, EnvVar, PodSpec, PodTemplateSpec, ReplicationController, ReplicationControllerSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use kafkaml_domain::settings::InferenceSettings;

use crate::gpu::apply_gpu;
use crate::labels::{base_labels, INFERENCE_COMPONENT, INFERENCE_ID_LABEL, RESULT_ID_LABEL};
use crate::python::PyDecimal;
use crate::signer::{PodPurpose, PodSigner};
use crate::workload::WorkloadPolicy;

/// The name of the inference container.
pub const INFERENCE_CONTAINER: &str = "inference";

/// The name of an inference's ReplicationController: `model-inference-<id>`.
pub fn inference_name(inference_id: i32) -> String {
    format!("model-inference-{inference_id}")
}

/// What every inference receives from the back-end's settings.
#[derive(Debug, Clone, Default)]
pub struct InferenceEnvironment {
    /// `BOOTSTRAP_SERVERS`: the default brokers of the three broker variables.
    pub bootstrap_servers: Option<String>,
    /// `BACKEND_URL`: base of `MODEL_URL` and `MODEL_ARCH_URL`.
    pub backend_url: String,
    /// The token of `MODEL_URL` and `MODEL_ARCH_URL` ([`PodPurpose::Serving`]); none by default
    /// (bare URLs).
    pub signer: PodSigner,
    /// Confinement and resources of the pods.
    pub workload: WorkloadPolicy,
}

/// One inference to run: what the back-end decided (ids, image, GPU) and the inference's settings
/// as the domain defines them.
#[derive(Debug, Clone, PartialEq)]
pub struct InferenceSpec<'a> {
    /// The inference (names the controller).
    pub inference_id: i32,
    /// The trained result it serves.
    pub result_id: i32,
    /// Whether the result's model is part of a distributed chain (other environment, TF image).
    pub distributed: bool,
    /// The inference image.
    pub image: String,
    /// GPU memory asked for; `> 0` applies the GPU patch.
    pub gpumem: f64,
    /// Replicas, topics, formats and brokers.
    pub settings: &'a InferenceSettings,
}

fn var(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar { name: name.to_owned(), value: Some(value.into()), value_from: None }
}

/// A broker given by the inference, or the default brokers when null or blank.
fn broker(name: &str, given: Option<&str>, default: Option<&str>) -> EnvVar {
    let value = given.filter(|b| !b.trim().is_empty()).or(default);
    EnvVar { name: name.to_owned(), value: value.map(str::to_owned), value_from: None }
}

/// The environment of an inference, in the reference's order.
pub fn inference_env(env: &InferenceEnvironment, spec: &InferenceSpec<'_>) -> Vec<EnvVar> {
    let s = spec.settings;
    let url = |path: &str| env.signer.url(&env.backend_url, path, PodPurpose::Serving, spec.result_id);
    let default = env.bootstrap_servers.as_deref();
    let model_url = url("results/model");
    let group = format!("inf{}", spec.result_id);
    let mut vars = vec![
        broker("INPUT_BOOTSTRAP_SERVERS", s.input_kafka_broker.as_deref(), default),
        broker("OUTPUT_BOOTSTRAP_SERVERS", s.output_kafka_broker.as_deref(), default),
    ];
    if spec.distributed {
        vars.extend([
            broker("UPPER_BOOTSTRAP_SERVERS", s.upper_kafka_broker.as_deref(), default),
            var("MODEL_URL", model_url),
            var("INPUT_FORMAT", s.input_format.as_str()),
            var("INPUT_CONFIG", s.input_config.clone()),
            var("INPUT_TOPIC", s.input_topic.clone()),
            var("OUTPUT_TOPIC", s.output_topic.clone()),
            var("OUTPUT_UPPER", s.output_upper.clone()),
            var("GROUP_ID", group),
            var(
                "LIMIT",
                s.limit.map_or(PyDecimal::None, |value| PyDecimal::Decimal { value, places: 10 }).to_python_str(),
            ),
        ]);
    } else {
        vars.extend([
            var("MODEL_ARCH_URL", url("results")),
            var("MODEL_URL", model_url),
            var("INPUT_FORMAT", s.input_format.as_str()),
            var("INPUT_CONFIG", s.input_config.clone()),
            var("INPUT_TOPIC", s.input_topic.clone()),
            var("OUTPUT_TOPIC", s.output_topic.clone()),
            var("GROUP_ID", group),
        ]);
    }
    vars
}

/// The ReplicationController of an inference, its pods confined and sized by
/// [`InferenceEnvironment::workload`].
pub fn inference_controller(env: &InferenceEnvironment, spec: &InferenceSpec<'_>) -> ReplicationController {
    let name = inference_name(spec.inference_id);
    let app = format!("inference{}", spec.inference_id);
    let mut labels = base_labels(INFERENCE_COMPONENT);
    labels.insert("name".to_owned(), name.clone());
    labels.insert(INFERENCE_ID_LABEL.to_owned(), spec.inference_id.to_string());
    labels.insert(RESULT_ID_LABEL.to_owned(), spec.result_id.to_string());
    let mut pod_labels = base_labels(INFERENCE_COMPONENT);
    pod_labels.insert("app".to_owned(), app.clone());
    let mut pod = PodSpec {
        containers: vec![Container {
            name: INFERENCE_CONTAINER.to_owned(),
            image: Some(spec.image.clone()),
            image_pull_policy: Some("Always".to_owned()),
            env: Some(inference_env(env, spec)),
            ..Container::default()
        }],
        ..PodSpec::default()
    };
    env.workload.apply(&mut pod, &env.workload.inference);
    apply_gpu(&mut pod, spec.gpumem);
    ReplicationController {
        metadata: ObjectMeta { name: Some(name), labels: Some(labels), ..ObjectMeta::default() },
        spec: Some(ReplicationControllerSpec {
            replicas: Some(spec.settings.replicas),
            selector: Some(BTreeMap::from([("app".to_owned(), app)])),
            template: Some(PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(pod_labels), ..ObjectMeta::default() }),
                spec: Some(pod),
            }),
            ..ReplicationControllerSpec::default()
        }),
        status: None,
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use serde_json::json;

    fn environment() -> InferenceEnvironment {
        InferenceEnvironment {
            bootstrap_servers: Some("kafka:9092".to_owned()),
            backend_url: "http://backend:8000".to_owned(),
            signer: PodSigner::none(),
            workload: WorkloadPolicy::default(),
        }
    }

    fn settings() -> InferenceSettings {
        InferenceSettings {
            replicas: 2,
            input_format: kafkaml_domain::InputFormat::Raw,
            input_config: "{\"data_type\": \"uint8\"}".to_owned(),
            input_topic: "in".to_owned(),
            output_topic: "out".to_owned(),
            output_upper: String::new(),
            limit: None,
            external: None,
            input_kafka_broker: Some("ext:9092".to_owned()),
            output_kafka_broker: Some(String::new()),
            upper_kafka_broker: None,
        }
    }

    fn spec(settings: &InferenceSettings) -> InferenceSpec<'_> {
        InferenceSpec {
            inference_id: 2,
            result_id: 1,
            distributed: false,
            image: "kafkaml/inference:tf".to_owned(),
            gpumem: 0.0,
            settings,
        }
    }

    fn table(vars: &[EnvVar]) -> Vec<(String, Option<String>)> {
        vars.iter().map(|v| (v.name.clone(), v.value.clone())).collect()
    }

    fn expected(rows: &[(&str, &str)]) -> Vec<(String, Option<String>)> {
        rows.iter().map(|(n, v)| ((*n).to_owned(), Some((*v).to_owned()))).collect()
    }

    #[test]
    fn non_distributed_environment() {
        assert_eq!(
            table(&inference_env(&environment(), &spec(&settings()))),
            expected(&[
                ("INPUT_BOOTSTRAP_SERVERS", "ext:9092"),
                ("OUTPUT_BOOTSTRAP_SERVERS", "kafka:9092"),
                ("MODEL_ARCH_URL", "http://backend:8000/results/1"),
                ("MODEL_URL", "http://backend:8000/results/model/1"),
                ("INPUT_FORMAT", "RAW"),
                ("INPUT_CONFIG", "{\"data_type\": \"uint8\"}"),
                ("INPUT_TOPIC", "in"),
                ("OUTPUT_TOPIC", "out"),
                ("GROUP_ID", "inf1"),
            ])
        );
    }

    #[test]
    fn distributed_environment() {
        let mut settings = settings();
        settings.limit = Some(0.5);
        settings.output_upper = "upper".to_owned();
        settings.upper_kafka_broker = Some("up:9092".to_owned());
        let s = InferenceSpec { distributed: true, ..spec(&settings) };
        assert_eq!(
            table(&inference_env(&environment(), &s)),
            expected(&[
                ("INPUT_BOOTSTRAP_SERVERS", "ext:9092"),
                ("OUTPUT_BOOTSTRAP_SERVERS", "kafka:9092"),
                ("UPPER_BOOTSTRAP_SERVERS", "up:9092"),
                ("MODEL_URL", "http://backend:8000/results/model/1"),
                ("INPUT_FORMAT", "RAW"),
                ("INPUT_CONFIG", "{\"data_type\": \"uint8\"}"),
                ("INPUT_TOPIC", "in"),
                ("OUTPUT_TOPIC", "out"),
                ("OUTPUT_UPPER", "upper"),
                ("GROUP_ID", "inf1"),
                ("LIMIT", "0.5000000000"),
            ])
        );
        settings.limit = None;
        settings.upper_kafka_broker = Some(" ".to_owned());
        let s = InferenceSpec { distributed: true, ..spec(&settings) };
        let vars = table(&inference_env(&environment(), &s));
        assert_eq!(vars[2], ("UPPER_BOOTSTRAP_SERVERS".to_owned(), Some("kafka:9092".to_owned())));
        assert_eq!(vars[10], ("LIMIT".to_owned(), Some("None".to_owned())));
    }

    #[test]
    fn brokers_without_defaults_are_null() {
        let env = InferenceEnvironment {
            bootstrap_servers: None,
            backend_url: "http://b/".to_owned(),
            ..InferenceEnvironment::default()
        };
        let settings = InferenceSettings { input_kafka_broker: None, ..settings() };
        let vars = table(&inference_env(&env, &spec(&settings)));
        assert_eq!(vars[0], ("INPUT_BOOTSTRAP_SERVERS".to_owned(), None));
        assert_eq!(vars[2], ("MODEL_ARCH_URL".to_owned(), Some("http://b/results/1".to_owned())));
    }

    #[test]
    fn a_signer_adds_the_serving_token_to_both_model_urls() {
        let env = InferenceEnvironment {
            signer: PodSigner::new(|purpose, id| (purpose == PodPurpose::Serving).then(|| format!("s-{id}"))),
            ..environment()
        };
        let settings = settings();
        let vars = table(&inference_env(&env, &spec(&settings)));
        assert_eq!(vars[2], ("MODEL_ARCH_URL".to_owned(), Some("http://backend:8000/results/1?token=s-1".to_owned())));
        assert_eq!(vars[3], ("MODEL_URL".to_owned(), Some("http://backend:8000/results/model/1?token=s-1".to_owned())));
        let s = InferenceSpec { distributed: true, result_id: 7, ..spec(&settings) };
        let vars = table(&inference_env(&env, &s));
        assert_eq!(vars[3], ("MODEL_URL".to_owned(), Some("http://backend:8000/results/model/7?token=s-7".to_owned())));
        assert!(vars.iter().all(|(name, _)| name != "MODEL_ARCH_URL"));
        // Only the URLs change.
        let mut bare = table(&inference_env(&environment(), &spec(&settings)));
        let signed = table(&inference_env(&env, &spec(&settings)));
        bare[2] = signed[2].clone();
        bare[3] = signed[3].clone();
        assert_eq!(signed, bare);
    }

    #[test]
    fn whole_controller() {
        let settings = settings();
        let rc = inference_controller(&environment(), &spec(&settings));
        assert_eq!(
            serde_json::to_value(&rc).unwrap(),
            json!({
                "apiVersion": "v1",
                "kind": "ReplicationController",
                "metadata": {
                    "name": "model-inference-2",
                    "labels": {
                        "app.kubernetes.io/component": "inference",
                        "app.kubernetes.io/managed-by": "kafkaml-backend",
                        "kafkaml.io/inference-id": "2",
                        "kafkaml.io/result-id": "1",
                        "name": "model-inference-2",
                    },
                },
                "spec": {
                    "replicas": 2,
                    "selector": {"app": "inference2"},
                    "template": {
                        "metadata": {"labels": {
                            "app": "inference2",
                            "app.kubernetes.io/component": "inference",
                            "app.kubernetes.io/managed-by": "kafkaml-backend",
                        }},
                        "spec": {
                            "automountServiceAccountToken": false,
                            "containers": [{
                                "name": "inference",
                                "image": "kafkaml/inference:tf",
                                "imagePullPolicy": "Always",
                                "env": inference_env(&environment(), &spec(&settings)),
                                "securityContext": {
                                    "allowPrivilegeEscalation": false,
                                    "capabilities": {"drop": ["ALL"]},
                                    "seccompProfile": {"type": "RuntimeDefault"},
                                },
                            }],
                        },
                    },
                },
            })
        );
    }

    #[test]
    fn gpu_patch_on_inference() {
        let settings = settings();
        let s = InferenceSpec { gpumem: 1.0, ..spec(&settings) };
        let rc = inference_controller(&environment(), &s);
        let pod = rc.spec.unwrap().template.unwrap().spec.unwrap();
        assert_eq!(pod.runtime_class_name.as_deref(), Some("nvidia"));
        let c = &pod.containers[0];
        assert_eq!(c.resources.as_ref().unwrap().limits.as_ref().unwrap()["nvidia.com/gpu"].0, "1");
        assert_eq!(c.env.as_ref().unwrap().last().unwrap().name, "NVIDIA_VISIBLE_DEVICES");
    }

    #[test]
    fn inference_resources_keep_the_gpu_limit() {
        let settings = settings();
        let mut env = environment();
        env.workload.inference.cpu_limit = Some("2".to_owned());
        env.workload.inference.memory_request = Some("1Gi".to_owned());
        // Training resources are not the inference's.
        env.workload.training.memory_limit = Some("64Gi".to_owned());
        let rc = inference_controller(&env, &InferenceSpec { gpumem: 1.0, ..spec(&settings) });
        let pod = rc.spec.unwrap().template.unwrap().spec.unwrap();
        assert_eq!(
            serde_json::to_value(pod.containers[0].resources.as_ref().unwrap()).unwrap(),
            json!({"limits": {"cpu": "2", "nvidia.com/gpu": "1"}, "requests": {"memory": "1Gi"}})
        );
        assert_eq!(pod.automount_service_account_token, Some(false));
    }
}
