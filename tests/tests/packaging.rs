//! The packaging under `docker/` checked without a container engine: every Kubernetes manifest is
//! a valid object of its k8s-openapi type (no unknown or misspelt field), the RBAC, probes, ports,
//! volumes and environment agree with the server, the compose file wires the back-end to its
//! database and broker, and the image is built with the README's command.
//!
//! The variables the server reads come from `kafkaml_api::Settings::command()` at test time, so a
//! setting added to `Settings` may be used in the manifests at once, and a manifest variable that
//! no setting reads fails here.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "this crate is test code throughout, but clippy.toml's allow-*-in-tests only covers #[test] functions, not the helpers around them"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Container, PersistentVolumeClaim, Probe, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::de::DeserializeOwned;
use serde::Deserialize as _;
use serde::Serialize;
use serde_json::Value;

/// The port the server listens on in a container.
const PORT: i32 = 8000;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn read(rel: &str) -> String {
    let path = repo_root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every environment variable the server reads: the `env` of each `Settings` argument, and
/// `RUST_LOG` (the log filter, read in `main`).
fn server_env_vars() -> BTreeSet<String> {
    let mut vars: BTreeSet<String> = kafkaml_api::Settings::command()
        .get_arguments()
        .filter_map(|a| a.get_env())
        .map(|e| e.to_string_lossy().into_owned())
        .collect();
    assert!(vars.contains("KAFKAML_BIND") && vars.contains("DATABASE_URL"), "settings variables: {vars:?}");
    vars.insert("RUST_LOG".to_owned());
    vars
}

fn assert_read_by_server<'a>(what: &str, names: impl IntoIterator<Item = &'a str>) {
    let known = server_env_vars();
    let unknown: Vec<&str> = names.into_iter().filter(|n| !known.contains(*n)).collect();
    assert!(unknown.is_empty(), "{what} sets variables the server does not read: {unknown:?} (it reads {known:?})");
}

// ---------------------------------------------------------------------------------------------
// Kubernetes manifests

const K8S_DIR: &str = "docker/kubernetes";

/// One YAML document of a manifest file.
struct Manifest {
    file: String,
    kind: String,
    name: String,
    value: Value,
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(yaml_files(&path));
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn is_kustomization(path: &Path) -> bool {
    matches!(path.file_name().and_then(|n| n.to_str()), Some("kustomization.yaml" | "kustomization.yml"))
}

/// Every document of every manifest file under `docker/kubernetes/` (kustomization files apart).
fn manifests() -> Vec<Manifest> {
    let root = repo_root();
    let files = yaml_files(&root.join(K8S_DIR));
    assert!(!files.is_empty(), "no YAML under {K8S_DIR}");
    let mut out = Vec::new();
    for path in files.iter().filter(|p| !is_kustomization(p)) {
        let file = path.strip_prefix(&root).unwrap().display().to_string();
        let text = std::fs::read_to_string(path).unwrap();
        for (i, doc) in serde_yaml::Deserializer::from_str(&text).enumerate() {
            let value = Value::deserialize(doc).unwrap_or_else(|e| panic!("{file} document {i}: not YAML: {e}"));
            if value.is_null() {
                continue; // an empty document (a trailing `---`)
            }
            let kind = value["kind"].as_str().unwrap_or_else(|| panic!("{file} document {i}: no kind")).to_owned();
            let name = value["metadata"]["name"]
                .as_str()
                .unwrap_or_else(|| panic!("{file} document {i} ({kind}): no metadata.name"))
                .to_owned();
            out.push(Manifest { file: file.clone(), kind, name, value });
        }
    }
    out
}

/// Deserializes a manifest into its k8s-openapi type and checks that nothing was lost on the way:
/// serializing the typed object gives back the document, so no field is unknown or misspelt.
fn typed<T: DeserializeOwned + Serialize>(m: &Manifest) -> T {
    let object: T = serde_json::from_value(m.value.clone())
        .unwrap_or_else(|e| panic!("{} ({} {}): not a valid {}: {e}", m.file, m.kind, m.name, m.kind));
    let back = serde_json::to_value(&object).unwrap();
    if back != m.value {
        panic!(
            "{} ({} {}): fields unknown to Kubernetes or of the wrong shape; as read:\n{}\nas Kubernetes sees it:\n{}",
            m.file,
            m.kind,
            m.name,
            serde_json::to_string_pretty(&m.value).unwrap(),
            serde_json::to_string_pretty(&back).unwrap()
        );
    }
    object
}

fn one<T: DeserializeOwned + Serialize>(all: &[Manifest], kind: &str) -> T {
    let found: Vec<&Manifest> = all.iter().filter(|m| m.kind == kind).collect();
    assert_eq!(found.len(), 1, "expected one {kind} under {K8S_DIR}, found {}", found.len());
    typed(found[0])
}

fn backend_deployment(all: &[Manifest]) -> Deployment {
    one(all, "Deployment")
}

fn backend_container(deployment: &Deployment) -> Container {
    let pod = deployment.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
    assert_eq!(pod.containers.len(), 1, "one container in the back-end pod");
    pod.containers[0].clone()
}

/// The container port a probe or Service target names (by number or by port name).
fn resolve_port(container: &Container, port: &IntOrString) -> i32 {
    match port {
        IntOrString::Int(n) => *n,
        IntOrString::String(name) => {
            container
                .ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .unwrap_or_else(|| panic!("no container port named {name}"))
                .container_port
        }
    }
}

fn env_value<'a>(container: &'a Container, name: &str) -> Option<&'a str> {
    container.env.iter().flatten().find(|e| e.name == name).and_then(|e| e.value.as_deref())
}

#[test]
fn every_manifest_is_a_valid_kubernetes_object_of_its_kind() {
    let all = manifests();
    let mut seen = BTreeSet::new();
    for m in &all {
        assert!(seen.insert((m.kind.clone(), m.name.clone())), "{}: {} {} is defined twice", m.file, m.kind, m.name);
        match m.kind.as_str() {
            "Deployment" => drop(typed::<Deployment>(m)),
            "Service" => drop(typed::<Service>(m)),
            "ServiceAccount" => drop(typed::<ServiceAccount>(m)),
            "Role" => drop(typed::<Role>(m)),
            "RoleBinding" => drop(typed::<RoleBinding>(m)),
            "ConfigMap" => drop(typed::<ConfigMap>(m)),
            "PersistentVolumeClaim" => drop(typed::<PersistentVolumeClaim>(m)),
            "NetworkPolicy" => drop(typed::<NetworkPolicy>(m)),
            other => panic!("{}: kind {other} is not checked by this test; add its k8s-openapi type", m.file),
        }
    }
    for kind in ["Deployment", "Service", "ServiceAccount", "Role", "RoleBinding", "ConfigMap", "NetworkPolicy"] {
        assert!(all.iter().any(|m| m.kind == kind), "no {kind} under {K8S_DIR}");
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Kustomization {
    #[serde(default)]
    namespace: Option<String>,
    resources: Vec<String>,
    #[serde(default)]
    images: Vec<KustomizeImage>,
    #[serde(default)]
    config_map_generator: Vec<ConfigMapGenerator>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct KustomizeImage {
    name: String,
    new_name: Option<String>,
}

#[derive(serde::Deserialize)]
struct ConfigMapGenerator {
    name: String,
    behavior: Option<String>,
    #[serde(default)]
    literals: Vec<String>,
}

/// The image placeholder of the Deployment (a bare name, as in the reference's base).
fn image_placeholder() -> String {
    let image = backend_container(&backend_deployment(&manifests())).image.unwrap();
    assert!(!image.contains(['/', ':', '@']), "the Deployment's image {image} is a bare placeholder name");
    image
}

#[test]
fn the_kustomization_lists_every_manifest_and_leaves_the_image_to_its_user() {
    let text = read(&format!("{K8S_DIR}/kustomization.yaml"));
    let k: Kustomization = serde_yaml::from_str(&text).unwrap();
    let kind: Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(kind["kind"], "Kustomization");
    let listed: BTreeSet<String> = k.resources.iter().cloned().collect();
    assert_eq!(listed.len(), k.resources.len(), "a resource is listed twice");
    let dir = repo_root().join(K8S_DIR);
    let present: BTreeSet<String> = yaml_files(&dir)
        .iter()
        .filter(|p| !is_kustomization(p))
        .map(|p| p.strip_prefix(&dir).unwrap().display().to_string())
        .collect();
    assert_eq!(listed, present, "kustomization resources vs manifest files");
    // An `images` entry here would rename the placeholder before the user's kustomization sees it.
    let placeholder = image_placeholder();
    assert!(k.images.iter().all(|i| i.name != placeholder), "the base must not rename {placeholder}");
    assert!(k.namespace.is_none(), "the base leaves the namespace to its user");
}

#[test]
fn the_readme_kustomization_uses_this_base_and_sets_the_image_and_brokers() {
    let readme = read("README.md");
    let blocks: Vec<&str> = readme.split("```").skip(1).step_by(2).filter(|b| b.starts_with("yaml")).collect();
    let block = blocks
        .iter()
        .find(|b| b.contains("docker/kubernetes"))
        .expect("a kustomization.yaml example in the README that uses docker/kubernetes");
    // The block sits in a list item: drop the language tag and the common indentation.
    let lines: Vec<&str> = block.lines().skip(1).collect();
    let indent =
        lines.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    let text: String = lines.iter().map(|l| format!("{}\n", l.get(indent..).unwrap_or(""))).collect();
    let k: Kustomization = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("README kustomization: {e}\n{text}"));
    assert_eq!(k.namespace.as_deref(), Some("kafkaml"), "the reference's namespace");
    assert!(k.resources.iter().any(|r| r.contains("docker/kubernetes")));
    let placeholder = image_placeholder();
    let image = k.images.iter().find(|i| i.name == placeholder);
    assert!(image.is_some_and(|i| i.new_name.is_some()), "the README example points {placeholder} at an image");
    let generator = k.config_map_generator.iter().find(|g| g.name == "kafkaml-configmap").expect("configmap merge");
    assert_eq!(generator.behavior.as_deref(), Some("merge"));
    assert!(generator.literals.iter().any(|l| l.starts_with("brokers=")), "the example sets brokers");
    // It takes the reference's other components, never its back-end, configmap or role.
    for r in &k.resources {
        for replaced in ["backend-deployment", "backend-service", "kafkaml-configmap", "role.yaml"] {
            assert!(!r.contains(replaced), "the README example takes the reference's {replaced}: {r}");
        }
    }
}

#[test]
fn the_role_grants_exactly_what_the_backend_needs_to_its_service_account() {
    let all = manifests();
    let role: Role = one(&all, "Role");
    let mut granted = BTreeSet::new();
    for rule in role.rules.iter().flatten() {
        assert!(rule.resource_names.is_none() && rule.non_resource_urls.is_none(), "plain resource rules only");
        for group in rule.api_groups.iter().flatten() {
            for resource in rule.resources.iter().flatten() {
                for verb in &rule.verbs {
                    assert!(
                        granted.insert((group.clone(), resource.clone(), verb.clone())),
                        "{group}/{resource} {verb} granted twice"
                    );
                }
            }
        }
    }
    // What the back-end calls (crates/orchestration/src/kube_cluster.rs), and nothing more: Jobs
    // are created, deleted, listed and watched (the failure watcher), controllers created and
    // deleted; Pods are never touched.
    let mut expected = BTreeSet::new();
    for (group, resource, verbs) in [
        ("batch", "jobs", &["create", "delete", "list", "watch"][..]),
        ("", "replicationcontrollers", &["create", "delete"]),
    ] {
        for verb in verbs {
            expected.insert((group.to_owned(), resource.to_owned(), (*verb).to_owned()));
        }
    }
    assert_eq!(granted, expected, "(apiGroup, resource, verb) granted by {}", role.metadata.name.unwrap());

    let account: ServiceAccount = one(&all, "ServiceAccount");
    let account = account.metadata.name.unwrap();
    let binding: RoleBinding = one(&all, "RoleBinding");
    assert_eq!(binding.role_ref.kind, "Role");
    assert_eq!(binding.role_ref.api_group, "rbac.authorization.k8s.io");
    assert_eq!(Some(binding.role_ref.name), role.metadata.name);
    let subjects = binding.subjects.unwrap();
    assert_eq!(subjects.len(), 1);
    assert_eq!((subjects[0].kind.as_str(), subjects[0].name.as_str()), ("ServiceAccount", account.as_str()));

    let pod = backend_deployment(&all).spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some(account.as_str()), "the back-end runs as {account}");
    assert_ne!(pod.automount_service_account_token, Some(false), "the back-end needs its token");
}

fn http_probe(probe: Option<&Probe>, what: &str) -> (String, IntOrString) {
    let get = probe.unwrap_or_else(|| panic!("no {what} probe")).http_get.as_ref();
    let get = get.unwrap_or_else(|| panic!("the {what} probe is not an HTTP GET"));
    (get.path.clone().unwrap_or_default(), get.port.clone())
}

#[test]
fn probes_hit_the_health_endpoints_on_port_8000() {
    let all = manifests();
    let container = backend_container(&backend_deployment(&all));
    let (path, port) = http_probe(container.liveness_probe.as_ref(), "liveness");
    assert_eq!((path.as_str(), resolve_port(&container, &port)), ("/healthz", PORT));
    let (path, port) = http_probe(container.readiness_probe.as_ref(), "readiness");
    assert_eq!((path.as_str(), resolve_port(&container, &port)), ("/readyz", PORT));
    if container.startup_probe.is_some() {
        let (path, port) = http_probe(container.startup_probe.as_ref(), "startup");
        assert_eq!((path.as_str(), resolve_port(&container, &port)), ("/healthz", PORT));
    }
    // The readiness probe waits longer than the server's own database deadline.
    let timeout = container.readiness_probe.as_ref().unwrap().timeout_seconds.unwrap_or(1);
    assert!(
        u64::try_from(timeout).unwrap() > kafkaml_api::routes::health::READY_DEADLINE.as_secs(),
        "readiness timeoutSeconds {timeout} must exceed the server's /readyz deadline"
    );

    // These are routes of the server.
    let doc = serde_json::to_value(kafkaml_api::openapi::document()).unwrap();
    for path in ["/healthz", "/readyz"] {
        assert!(doc["paths"].get(path).is_some(), "{path} is not a route of the server");
    }

    // The server listens where the container port says.
    let bind = env_value(&container, "KAFKAML_BIND").expect("KAFKAML_BIND is set");
    assert_eq!(bind, format!("0.0.0.0:{PORT}"));
    assert!(container.ports.iter().flatten().any(|p| p.container_port == PORT));
}

#[test]
fn the_service_is_backend_on_port_8000_and_selects_the_backend_pods() {
    let all = manifests();
    let deployment = backend_deployment(&all);
    assert_eq!(deployment.metadata.name.as_deref(), Some("backend"));
    let container = backend_container(&deployment);
    let service: Service = one(&all, "Service");
    assert_eq!(service.metadata.name.as_deref(), Some("backend"));
    let spec = service.spec.unwrap();
    let ports = spec.ports.unwrap();
    assert_eq!(ports.len(), 1);
    assert_eq!(ports[0].port, PORT);
    let target = ports[0].target_port.clone().unwrap_or(IntOrString::Int(ports[0].port));
    assert_eq!(resolve_port(&container, &target), PORT);

    let selector = spec.selector.unwrap();
    let dspec = deployment.spec.unwrap();
    let pod_labels = dspec.template.metadata.unwrap().labels.unwrap();
    let match_labels = dspec.selector.match_labels.unwrap();
    for (k, v) in selector.iter().chain(match_labels.iter()) {
        assert_eq!(pod_labels.get(k), Some(v), "pod label {k}");
    }
    // The reference's selector, so that this Deployment can be applied over the reference's one.
    assert_eq!(match_labels, BTreeMap::from([("name".to_owned(), "pod-backend".to_owned())]));
}

/// What the reference's back-end Deployment reads from `kafkaml-configmap`, variable by key.
const REFERENCE_KEYS: &[(&str, &str)] = &[
    ("BOOTSTRAP_SERVERS", "brokers"),
    ("CONTROL_TOPIC", "control.topic"),
    ("TENSORFLOW_TRAINING_MODEL_IMAGE", "tensorflow.training.image"),
    ("TENSORFLOW_INFERENCE_MODEL_IMAGE", "tensorflow.inference.image"),
    ("PYTORCH_TRAINING_MODEL_IMAGE", "pytorch.training.image"),
    ("PYTORCH_INFERENCE_MODEL_IMAGE", "pytorch.inference.image"),
    ("FRONTEND_URL", "frontend.url"),
    ("BACKEND_URL", "backend.url"),
    ("TFEXECUTOR_URL", "tfexecutor.url"),
    ("PTHEXECUTOR_URL", "pthexecutor.url"),
    ("ALLOWED_HOSTS", "backend.allowedhosts"),
    ("MODEL_LOGGER_TOPIC", "federated.modelloggertopic"),
];

#[test]
fn the_deployment_sets_only_variables_the_server_reads_from_the_reference_configmap_keys() {
    let all = manifests();
    let container = backend_container(&backend_deployment(&all));
    let env = container.env.clone().unwrap();
    let names: Vec<&str> = env.iter().map(|e| e.name.as_str()).collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "a variable is set twice: {names:?}");
    assert_read_by_server("the back-end Deployment", names.iter().copied());

    let configmap: ConfigMap = one(&all, "ConfigMap");
    assert_eq!(configmap.metadata.name.as_deref(), Some("kafkaml-configmap"));
    let data = configmap.data.unwrap_or_default();
    let mut from_configmap = BTreeMap::new();
    for var in &env {
        let Some(source) = &var.value_from else { continue };
        if let Some(key_ref) = &source.config_map_key_ref {
            assert_eq!(key_ref.name, "kafkaml-configmap", "{} comes from another configmap", var.name);
            assert!(
                key_ref.optional == Some(true) || data.contains_key(&key_ref.key),
                "{} needs key {} that the configmap lacks (mark it optional or add it)",
                var.name,
                key_ref.key
            );
            from_configmap.insert(var.name.as_str(), key_ref.key.as_str());
        }
    }
    for (var, key) in REFERENCE_KEYS {
        assert_eq!(from_configmap.get(var), Some(key), "{var} comes from the reference's key {key}");
    }
    // The namespace of Jobs and ReplicationControllers is the pod's own, as in the reference.
    let ns = env.iter().find(|e| e.name == "KUBE_NAMESPACE").and_then(|e| e.value_from.as_ref());
    let field = ns.and_then(|v| v.field_ref.as_ref()).map(|f| f.field_path.as_str());
    assert_eq!(field, Some("metadata.namespace"));
    // Every other configmap key the reference's components read is there for them too.
    for key in ["backend.address", "control.topic", "backend.url"] {
        assert!(data.contains_key(key), "configmap key {key}");
    }
}

#[test]
fn the_deployment_keeps_its_data_on_a_volume_runs_unprivileged_and_has_resources() {
    let all = manifests();
    let deployment = backend_deployment(&all);
    let pod = deployment.spec.clone().unwrap().template.spec.unwrap();
    let container = backend_container(&deployment);

    let data_dir = env_value(&container, "KAFKAML_DATA_DIR").expect("KAFKAML_DATA_DIR is set");
    let mount = container.volume_mounts.iter().flatten().find(|m| m.mount_path == data_dir);
    let mount = mount.unwrap_or_else(|| panic!("nothing mounted at the data directory {data_dir}"));
    assert_ne!(mount.read_only, Some(true));
    let volume = pod.volumes.iter().flatten().find(|v| v.name == mount.name).unwrap();
    let claim = volume.persistent_volume_claim.as_ref().expect("the data directory is a persistent volume");
    let pvc: PersistentVolumeClaim = one(&all, "PersistentVolumeClaim");
    assert_eq!(pvc.metadata.name.as_deref(), Some(claim.claim_name.as_str()));

    let resources = container.resources.clone().expect("resources");
    for (what, map) in [("requests", resources.requests), ("limits", resources.limits)] {
        let map = map.unwrap_or_else(|| panic!("no resource {what}"));
        for r in ["cpu", "memory"] {
            assert!(map.contains_key(r), "no {r} in resource {what}");
        }
    }

    let pod_security = pod.security_context.expect("pod securityContext");
    assert_eq!(pod_security.run_as_non_root, Some(true));
    assert_eq!(pod_security.run_as_user, Some(dockerfile_uid()), "the Dockerfile's user");
    let security = container.security_context.expect("container securityContext");
    assert_eq!(security.allow_privilege_escalation, Some(false));
    if security.read_only_root_filesystem == Some(true) {
        assert!(container.volume_mounts.iter().flatten().any(|m| m.mount_path == "/tmp"), "a writable /tmp");
    }
}

// ---------------------------------------------------------------------------------------------
// Dockerfile

/// The Dockerfile's instructions, continuation lines joined and comments dropped.
fn dockerfile_instructions() -> Vec<(String, String)> {
    let text = read("docker/Dockerfile");
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(cont) = trimmed.strip_suffix('\\') {
            current.push_str(cont.trim());
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let (word, rest) = current.split_once(char::is_whitespace).unwrap_or((current.as_str(), ""));
        out.push((word.to_ascii_uppercase(), rest.trim().to_owned()));
        current.clear();
    }
    out
}

fn dockerfile(word: &str) -> Vec<String> {
    dockerfile_instructions().into_iter().filter(|(w, _)| w == word).map(|(_, rest)| rest).collect()
}

/// `cargo build …` commands in `text` (up to `&&`, `;`, a pipe, a comment or the end of the line).
fn cargo_build_commands(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("cargo build") {
        let rest = &text[i..];
        let end = rest.find(['&', ';', '|', '#', '\n', '`']).unwrap_or(rest.len());
        out.insert(rest[..end].split_whitespace().collect::<Vec<_>>().join(" "));
    }
    out
}

fn dockerfile_uid() -> i64 {
    let users = dockerfile("USER");
    let user = users.last().expect("the Dockerfile sets a USER");
    let uid = user.split(':').next().unwrap();
    uid.parse().unwrap_or_else(|_| panic!("USER {user} is not numeric (Kubernetes cannot check runAsNonRoot)"))
}

fn dockerfile_env() -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for rest in dockerfile("ENV") {
        for pair in rest.split_whitespace() {
            let (k, v) = pair.split_once('=').unwrap_or_else(|| panic!("ENV {pair}: use the KEY=value form"));
            env.insert(k.to_owned(), v.trim_matches('"').to_owned());
        }
    }
    env
}

#[test]
fn the_dockerfile_builds_the_server_with_the_readme_command() {
    let runs = dockerfile("RUN").join("\n");
    let docker = cargo_build_commands(&runs);
    assert!(!docker.is_empty(), "the Dockerfile runs no cargo build");
    let readme = read("README.md");
    let readme_commands: BTreeSet<String> =
        readme.split("```").skip(1).step_by(2).flat_map(cargo_build_commands).collect();
    for command in &docker {
        assert!(
            readme_commands.contains(command),
            "the Dockerfile runs `{command}`, the README's code blocks build with {readme_commands:?}"
        );
    }
    // It builds the server binary of the default member, and copies that binary.
    let manifest = read("crates/api/Cargo.toml");
    assert!(manifest.contains("name = \"kafkaml-backend\""));
    assert!(read("Cargo.toml").contains("default-members = [\"crates/api\"]"));
    assert!(runs.contains("target/release/kafkaml-backend"));
}

#[test]
fn the_dockerfile_stages_user_volume_port_and_health_check_agree_with_the_server() {
    let froms = dockerfile("FROM");
    assert_eq!(froms.len(), 2, "a build stage and a runtime stage: {froms:?}");
    assert!(froms[0].starts_with("rust:"), "built with the official Rust image: {}", froms[0]);
    assert!(froms[1].starts_with("debian:") && froms[1].contains("-slim"), "runs on Debian slim: {}", froms[1]);
    assert!(dockerfile("COPY").iter().any(|c| c.starts_with("--from=build")), "the binary comes from the build stage");

    // The Rust image is at least the workspace's rust-version.
    let args = dockerfile("ARG");
    let rust = args.iter().find_map(|a| a.strip_prefix("RUST_VERSION=")).expect("ARG RUST_VERSION=");
    let msrv = read("Cargo.toml")
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = ").map(|v| v.trim_matches('"').to_owned()))
        .unwrap();
    let version = |v: &str| -> Vec<u32> { v.split('.').map(|p| p.parse().unwrap()).collect() };
    assert!(version(rust) >= version(&msrv), "Rust {rust} is older than the workspace's rust-version {msrv}");

    let env = dockerfile_env();
    assert_read_by_server("the Dockerfile", env.keys().map(String::as_str));
    assert_eq!(env.get("KAFKAML_BIND").map(String::as_str), Some("0.0.0.0:8000"));
    let data_dir = env.get("KAFKAML_DATA_DIR").expect("ENV KAFKAML_DATA_DIR");
    let volumes = dockerfile("VOLUME").join(" ");
    assert!(volumes.contains(&format!("\"{data_dir}\"")) || volumes.split_whitespace().any(|v| v == data_dir));
    assert!(dockerfile("EXPOSE").iter().any(|p| p.split('/').next() == Some("8000")));
    assert_ne!(dockerfile_uid(), 0, "the image runs as a non-root user");

    let health = dockerfile("HEALTHCHECK");
    assert_eq!(health.len(), 1);
    assert!(health[0].contains("CMD [\"kafkaml-backend\", \"healthcheck\"]"), "HEALTHCHECK {}", health[0]);
    assert_eq!(dockerfile("ENTRYPOINT"), vec!["[\"kafkaml-backend\"]".to_owned()]);
}

#[test]
fn the_dockerignore_keeps_what_the_build_needs() {
    let ignore = read(".dockerignore");
    let patterns: BTreeSet<&str> =
        ignore.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    for p in ["target", ".git"] {
        assert!(patterns.contains(p), ".dockerignore leaves out {p}");
    }
    // `.cargo/config.toml` carries the build settings of the bundled SQLite.
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        ".cargo/config.toml",
        "crates",
        "migrations",
        "tests",
        "openapi",
        "docker/Dockerfile",
    ] {
        assert!(
            !patterns
                .iter()
                .any(|p| *p == needed || needed.starts_with(&format!("{p}/")) || *p == "*" || *p == ".cargo"),
            ".dockerignore drops {needed}, which the build needs"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// compose.yaml

fn compose() -> Value {
    serde_yaml::from_str(&read("docker/compose.yaml")).unwrap()
}

/// A service's environment, in either compose form (a map or a list of `KEY=value`).
fn compose_env(service: &Value) -> BTreeMap<String, String> {
    match &service["environment"] {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())))
            .collect(),
        Value::Array(list) => list
            .iter()
            .map(|item| {
                let s = item.as_str().unwrap();
                let (k, v) = s.split_once('=').unwrap_or((s, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect(),
        Value::Null => BTreeMap::new(),
        other => panic!("environment is neither a map nor a list: {other}"),
    }
}

fn depends_on(service: &Value) -> BTreeSet<String> {
    match &service["depends_on"] {
        Value::Object(map) => map.keys().cloned().collect(),
        Value::Array(list) => list.iter().map(|v| v.as_str().unwrap().to_owned()).collect(),
        _ => BTreeSet::new(),
    }
}

#[test]
fn compose_runs_the_backend_with_postgres_and_a_kafka_broker() {
    let compose = compose();
    let services = compose["services"].as_object().expect("services");
    for name in ["backend", "postgres", "kafka"] {
        assert!(services.contains_key(name), "no {name} service");
    }
    let backend = &services["backend"];
    // Built from this repository with docker/Dockerfile (paths relative to docker/).
    let context = backend["build"]["context"].as_str().expect("backend build context");
    let dockerfile = backend["build"]["dockerfile"].as_str().expect("backend build dockerfile");
    let context_dir = repo_root().join("docker").join(context).canonicalize().unwrap();
    assert_eq!(context_dir, repo_root().canonicalize().unwrap(), "the build context is the repository root");
    assert!(context_dir.join(dockerfile).is_file(), "{dockerfile} is not a file of the build context");
    assert!(context_dir.join(dockerfile).ends_with("docker/Dockerfile"));

    let env = compose_env(backend);
    assert_read_by_server("compose.yaml's backend", env.keys().map(String::as_str));
    for service in services.keys() {
        for (var, value) in compose_env(&services[service]) {
            assert!(!value.is_empty(), "{service}: {var} is empty");
        }
    }

    // The database URL names the postgres service and its credentials.
    let url = env.get("DATABASE_URL").expect("DATABASE_URL");
    let pg = compose_env(&services["postgres"]);
    let expected = format!(
        "postgres://{user}:{password}@postgres:5432/{db}",
        user = pg["POSTGRES_USER"],
        password = pg["POSTGRES_PASSWORD"],
        db = pg["POSTGRES_DB"]
    );
    assert_eq!(url, &expected);

    // The brokers are an address the kafka service advertises.
    let kafka = compose_env(&services["kafka"]);
    let advertised: BTreeSet<String> =
        kafka["KAFKA_ADVERTISED_LISTENERS"].split(',').map(|l| l.split_once("://").unwrap().1.to_owned()).collect();
    let brokers = env.get("BOOTSTRAP_SERVERS").expect("BOOTSTRAP_SERVERS");
    for broker in brokers.split(',') {
        assert!(advertised.contains(broker), "broker {broker} is not advertised by kafka: {advertised:?}");
    }
    assert!(env.contains_key("CONTROL_TOPIC"));

    // Reached on 8000, and as `backend` by the other services (BACKEND_URL, Host check).
    assert_eq!(env.get("BACKEND_URL").map(String::as_str), Some("http://backend:8000"));
    let hosts = env.get("ALLOWED_HOSTS").expect("ALLOWED_HOSTS");
    assert!(hosts.split(',').any(|h| h == "backend"), "ALLOWED_HOSTS {hosts} lacks backend");
    let ports: Vec<String> =
        backend["ports"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_owned()).collect();
    assert!(ports.iter().any(|p| p.ends_with(":8000")), "ports {ports:?}");
    // Published on this machine only, for every service.
    for (name, service) in services {
        for port in service["ports"].as_array().into_iter().flatten() {
            let port = port.as_str().unwrap_or_else(|| panic!("{name}: ports in the short form"));
            assert!(port.starts_with("127.0.0.1:"), "{name} publishes {port} on every interface");
        }
    }
    assert_eq!(env.get("KAFKAML_BIND").map(String::as_str), Some("0.0.0.0:8000"));

    // The data directory is a named volume.
    let data_dir = env.get("KAFKAML_DATA_DIR").cloned().unwrap_or_else(|| dockerfile_env()["KAFKAML_DATA_DIR"].clone());
    let volumes: Vec<&str> = backend["volumes"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let volume = volumes.iter().find(|v| v.ends_with(&format!(":{data_dir}"))).expect("a volume on the data dir");
    let volume_name = volume.split(':').next().unwrap();
    assert!(compose["volumes"].get(volume_name).is_some(), "volume {volume_name} is not declared");

    // Started once the database and the broker are up.
    let deps = depends_on(backend);
    assert!(deps.contains("postgres"), "backend depends on postgres");
    assert!(deps.iter().any(|d| d.starts_with("kafka")), "backend depends on the broker");
    for dep in &deps {
        assert!(services.contains_key(dep), "backend depends on unknown service {dep}");
    }
    for service in services.keys() {
        for dep in depends_on(&services[service]) {
            assert!(services.contains_key(&dep), "{service} depends on unknown service {dep}");
        }
    }
}

#[test]
fn the_network_policy_lets_only_the_web_ui_the_control_logger_and_the_back_ends_pods_in() {
    let all = manifests();
    let policy: NetworkPolicy = one(&all, "NetworkPolicy");
    let spec = policy.spec.unwrap();
    let pod_labels = backend_deployment(&all).spec.unwrap().template.metadata.unwrap().labels.unwrap();
    let selected = spec.pod_selector.unwrap().match_labels.unwrap();
    assert!(selected.iter().all(|(k, v)| pod_labels.get(k) == Some(v)), "the policy selects the back-end's pods");
    assert_eq!(spec.policy_types, Some(vec!["Ingress".to_owned()]));
    let rules = spec.ingress.unwrap();
    assert_eq!(rules.len(), 1, "one rule");
    let ports: Vec<_> = rules[0].ports.iter().flatten().map(|p| p.port.clone()).collect();
    assert_eq!(ports, vec![Some(IntOrString::Int(PORT))]);
    let peers: BTreeSet<(String, String)> = rules[0]
        .from
        .iter()
        .flatten()
        .map(|peer| {
            assert!(peer.ip_block.is_none() && peer.namespace_selector.is_none(), "pods of this namespace only");
            let labels = peer.pod_selector.as_ref().unwrap().match_labels.clone().unwrap();
            assert_eq!(labels.len(), 1);
            labels.into_iter().next().unwrap()
        })
        .collect();
    let label = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    assert_eq!(
        peers,
        BTreeSet::from([
            // The reference's web UI (frontend-deployment.yaml) and control logger.
            label("name", "pod-frontend"),
            label("app", "kafka-control-logger"),
            // Every pod of the Jobs and controllers the back-end creates (tests/tests/api/workloads.rs
            // checks that their pod templates carry it).
            label("app.kubernetes.io/managed-by", "kafkaml-backend"),
        ])
    );
}
