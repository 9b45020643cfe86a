//! The GPU patch of training Jobs and inference controllers (docs/contract.md §5.3.4; decisions.md item 5):
//! when `gpumem > 0`, the container gets an `nvidia.com/gpu` limit and `NVIDIA_VISIBLE_DEVICES=all`
//! (last in its environment), and the pod runs with `runtimeClassName: nvidia`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EnvVar, PodSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::python::quantity_text;

/// The resource name of NVIDIA GPUs.
pub const GPU_RESOURCE: &str = "nvidia.com/gpu";
/// The runtime class of GPU pods.
pub const GPU_RUNTIME_CLASS: &str = "nvidia";

/// Applies the GPU settings to every container of `pod` when `gpumem > 0`; does nothing otherwise.
pub fn apply_gpu(pod: &mut PodSpec, gpumem: f64) {
    if gpumem.is_nan() || gpumem <= 0.0 {
        return;
    }
    for container in &mut pod.containers {
        let resources = container.resources.get_or_insert_with(ResourceRequirements::default);
        resources
            .limits
            .get_or_insert_with(BTreeMap::new)
            .insert(GPU_RESOURCE.to_owned(), Quantity(quantity_text(gpumem)));
        container.env.get_or_insert_with(Vec::new).push(EnvVar {
            name: "NVIDIA_VISIBLE_DEVICES".to_owned(),
            value: Some("all".to_owned()),
            value_from: None,
        });
    }
    pod.runtime_class_name = Some(GPU_RUNTIME_CLASS.to_owned());
}

#[cfg(test)]
mod tests {

    use super::*;
    use k8s_openapi::api::core::v1::Container;
    use serde_json::json;

    fn pod() -> PodSpec {
        PodSpec {
            containers: vec![Container {
                name: "training".to_owned(),
                env: Some(vec![EnvVar { name: "A".to_owned(), value: Some("1".to_owned()), value_from: None }]),
                ..Container::default()
            }],
            ..PodSpec::default()
        }
    }

    #[test]
    fn no_gpu_changes_nothing() {
        for gpumem in [0.0, -1.0, f64::NAN] {
            let mut p = pod();
            apply_gpu(&mut p, gpumem);
            assert_eq!(p, pod());
        }
    }

    #[test]
    fn gpu_patch() {
        let mut p = pod();
        apply_gpu(&mut p, 2.0);
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({
                "containers": [{
                    "name": "training",
                    "env": [{"name": "A", "value": "1"}, {"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"}],
                    "resources": {"limits": {"nvidia.com/gpu": "2"}},
                }],
                "runtimeClassName": "nvidia",
            })
        );
        let mut p = pod();
        apply_gpu(&mut p, 0.5);
        assert_eq!(p.containers[0].resources.as_ref().unwrap().limits.as_ref().unwrap()[GPU_RESOURCE].0, "0.5");
    }
}
