//! The URLs the back-end gives pods (`RESULT_URL`, `MODEL_URL`, `MODEL_ARCH_URL`) and the
//! capability each carries.
//!
//! This crate does not know the key: whoever builds the manifests hands the environment a
//! [`PodSigner`], a function from a [`PodPurpose`] and a result id to the value of the URL's
//! `token` query parameter. Without one ([`PodSigner::none`], the default) the URLs stay bare, as
//! the reference wrote them. The images use the URLs as given: `urllib` and `requests` keep the
//! query string, and `RESULT_URL.replace('results', 'results_metrics')` keeps it too, so a token
//! must be URL-safe and must never contain the word `results`.

use std::fmt;
use std::sync::Arc;

/// What a pod does with the back-end's URLs of one result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PodPurpose {
    /// A training pod: fetch the untrained model, post metrics, upload the trained model
    /// (`RESULT_URL` and the `results_metrics` URL derived from it).
    Training,
    /// An inference pod: fetch the model's architecture and the trained model (`MODEL_ARCH_URL`,
    /// `MODEL_URL`).
    Serving,
}

type SignFn = dyn Fn(PodPurpose, i32) -> Option<String> + Send + Sync;

/// Gives the `token` of a pod URL for a purpose and a result id (`None`: the URL stays bare).
/// Cheap to clone.
#[derive(Clone, Default)]
pub struct PodSigner(Option<Arc<SignFn>>);

impl PodSigner {
    /// A signer calling `sign`. The text it returns is appended as `?token=<text>` unchanged, so
    /// it must be URL-safe (letters, digits, `-._~`) and must not contain `results`.
    pub fn new(sign: impl Fn(PodPurpose, i32) -> Option<String> + Send + Sync + 'static) -> Self {
        PodSigner(Some(Arc::new(sign)))
    }

    /// No signer: every URL stays bare.
    pub fn none() -> Self {
        PodSigner(None)
    }

    /// The token of result `result_id` for `purpose`, if this signer gives one.
    pub fn token(&self, purpose: PodPurpose, result_id: i32) -> Option<String> {
        self.0.as_ref().and_then(|sign| sign(purpose, result_id))
    }

    /// `<base>/<path>/<result_id>`, with `?token=…` when this signer gives a token.
    pub fn url(&self, backend_url: &str, path: &str, purpose: PodPurpose, result_id: i32) -> String {
        let url = format!("{}/{path}/{result_id}", backend_url.trim_end_matches('/'));
        match self.token(purpose, result_id) {
            Some(token) => format!("{url}?token={token}"),
            None => url,
        }
    }
}

impl fmt::Debug for PodSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "PodSigner(signing)" } else { "PodSigner(none)" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_bare_without_a_signer_and_signed_with_one() {
        let none = PodSigner::default();
        assert_eq!(none.url("http://b:8000/", "results", PodPurpose::Training, 3), "http://b:8000/results/3");
        assert_eq!(none.token(PodPurpose::Serving, 3), None);
        let signer = PodSigner::new(|purpose, id| Some(format!("{purpose:?}{id}")));
        assert_eq!(
            signer.url("http://b:8000", "results/model", PodPurpose::Serving, 4),
            "http://b:8000/results/model/4?token=Serving4"
        );
        assert_eq!(format!("{signer:?} {none:?}"), "PodSigner(signing) PodSigner(none)");
        // A signer may leave some URLs bare.
        let some = PodSigner::new(|purpose, id| (purpose == PodPurpose::Training).then(|| id.to_string()));
        assert_eq!(some.url("http://b", "results", PodPurpose::Serving, 5), "http://b/results/5");
    }
}
