//! TEMPORARY interface stand-in; replaced by the pods branch (h-pods) on merge.

use crate::usecase::accounts::SecretKey;

/// What a pod's capability lets it do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A training pod.
    Training,
    /// An inference pod.
    Serving,
}

/// Whether `token` is a valid capability.
pub fn verify(_key: &SecretKey, _purpose: Purpose, _result_id: i32, _token: &str, _now: i64) -> bool {
    false
}
