//! Labels and annotations the back-end puts on its Kubernetes objects, so that it (and every other
//! replica) can find them again: the Job failure watcher selects training Jobs with
//! [`TRAINING_SELECTOR`] and reads the result ids from [`RESULT_IDS_ANNOTATION`].

use std::collections::BTreeMap;

/// `app.kubernetes.io/managed-by`: set to [`MANAGED_BY_VALUE`] on every object the back-end creates.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY_VALUE: &str = "kafkaml-backend";
/// `app.kubernetes.io/component`: [`TRAINING_COMPONENT`] or [`INFERENCE_COMPONENT`].
pub const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
/// Component of training Jobs.
pub const TRAINING_COMPONENT: &str = "training";
/// Component of inference ReplicationControllers.
pub const INFERENCE_COMPONENT: &str = "inference";
/// The training result a Job trains (the chain root's id for a distributed chain), or the result an
/// inference serves.
pub const RESULT_ID_LABEL: &str = "kafkaml.io/result-id";
/// The deployment a training Job belongs to.
pub const DEPLOYMENT_ID_LABEL: &str = "kafkaml.io/deployment-id";
/// The training case (`1`–`9`) of a Job.
pub const CASE_LABEL: &str = "kafkaml.io/case";
/// The inference a ReplicationController runs.
pub const INFERENCE_ID_LABEL: &str = "kafkaml.io/inference-id";
/// Every result id a training Job trains, root to leaf, comma-separated (`13,14,15`).
pub const RESULT_IDS_ANNOTATION: &str = "kafkaml.io/result-ids";

/// The label selector of the back-end's training Jobs.
pub const TRAINING_SELECTOR: &str = "app.kubernetes.io/component=training,app.kubernetes.io/managed-by=kafkaml-backend";

/// The labels common to every object of a component.
pub(crate) fn base_labels(component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY_LABEL.to_owned(), MANAGED_BY_VALUE.to_owned()),
        (COMPONENT_LABEL.to_owned(), component.to_owned()),
    ])
}

/// Renders result ids as the [`RESULT_IDS_ANNOTATION`] value.
pub(crate) fn join_ids(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// Reads the [`RESULT_IDS_ANNOTATION`] value back; ids that do not parse are skipped.
pub(crate) fn split_ids(text: &str) -> Vec<i32> {
    text.split(',').filter_map(|s| s.trim().parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_matches_base_labels() {
        let labels = base_labels(TRAINING_COMPONENT);
        let rendered: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(rendered.join(","), TRAINING_SELECTOR);
    }

    #[test]
    fn ids_round_trip() {
        assert_eq!(join_ids(&[13, 14, 15]), "13,14,15");
        assert_eq!(split_ids("13,14,15"), vec![13, 14, 15]);
        assert_eq!(split_ids("7"), vec![7]);
        assert_eq!(split_ids(""), Vec::<i32>::new());
        assert_eq!(split_ids("1,x,2"), vec![1, 2]);
    }
}
