//! Pod capabilities: the `token` query parameter of every URL the back-end gives a pod.
//!
//! A token is `<expires>.<mac>`: `expires` is a Unix time in seconds (`0`: never), `mac` the first
//! 128 bits, in hexadecimal, of HMAC-SHA256 under `SECRET_KEY` ([`SecretKey`]) of
//! `kafkaml-pod:<purpose>:<result id>:<expires>`. It binds one result and one [`Purpose`]; it is
//! made of digits, `.` and `a`–`f` only, so it is URL-safe and never contains `results` (the
//! training images derive the metrics URL with `RESULT_URL.replace('results', 'results_metrics')`,
//! which replaces every occurrence). Tokens are stateless: rotating `SECRET_KEY` revokes them all
//! (and ends every session).
//!
//! Where they go ([`kafkaml_orchestration::PodSigner`] appends them):
//!
//! | purpose | URLs | lifetime |
//! | --- | --- | --- |
//! | [`Purpose::Training`] | `RESULT_URL` of training Jobs (each element of a distributed chain's list literal with its own result's token) | `KAFKAML_POD_TOKEN_TTL` seconds from the deployment (default 30 days; `0`: no expiry); none for indefinite incremental deployments, which run without end |
//! | [`Purpose::Serving`] | `MODEL_URL`, `MODEL_ARCH_URL` of inference controllers | no expiry: inference pods restart at any time and read the model for as long as the inference lives; the token only reads |
//!
//! Which routes accept which purpose (the access layer checks it with [`verify`], the result id
//! being the route's `{id}`):
//!
//! | route | accepts |
//! | --- | --- |
//! | `GET /results/{id}` (the untrained model, or the model's code) | [`Purpose::Training`], [`Purpose::Serving`] |
//! | `POST /results/{id}` (final upload) | [`Purpose::Training`] |
//! | `POST /results_metrics/{id}` (per-epoch metrics) | [`Purpose::Training`] |
//! | `GET /results/model/{id}` (the trained model) | [`Purpose::Serving`] |

use std::time::Duration;

use kafkaml_orchestration::inference::InferenceEnvironment;
use kafkaml_orchestration::training::TrainingEnvironment;
use kafkaml_orchestration::{PodPurpose, PodSigner};
use subtle::ConstantTimeEq;

use crate::usecase::accounts::SecretKey;
use crate::usecase::{Ctx, Error};

/// Hexadecimal characters of the MAC kept in a token (128 bits).
const MAC_HEX_LEN: usize = 32;

/// What a token lets a pod do with one result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// A training pod: fetch the untrained model, post metrics, upload the trained model.
    Training,
    /// An inference pod: fetch the model's code and the trained model.
    Serving,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::Training => "training",
            Purpose::Serving => "serving",
        }
    }
}

impl From<PodPurpose> for Purpose {
    fn from(p: PodPurpose) -> Self {
        match p {
            PodPurpose::Training => Purpose::Training,
            PodPurpose::Serving => Purpose::Serving,
        }
    }
}

fn mac(key: &SecretKey, purpose: Purpose, result_id: i32, expires: i64) -> String {
    let mut mac = key.sign(format!("kafkaml-pod:{}:{result_id}:{expires}", purpose.label()).as_bytes());
    mac.truncate(MAC_HEX_LEN);
    mac
}

/// The token of result `result_id` for `purpose`, valid until `expires` (Unix seconds; `None`:
/// never).
pub fn sign(key: &SecretKey, purpose: Purpose, result_id: i32, expires: Option<i64>) -> String {
    let expires = expires.unwrap_or(0);
    format!("{expires}.{}", mac(key, purpose, result_id, expires))
}

/// Whether `token` was signed with `key` for `purpose` and result `result_id` and has not expired
/// at `now` (Unix seconds). Malformed tokens are refused; the MAC is compared in constant time.
pub fn verify(key: &SecretKey, purpose: Purpose, result_id: i32, token: &str, now: i64) -> bool {
    let Some((expires, given)) = token.split_once('.') else { return false };
    // Digits as `sign` writes them: no sign, no leading zero.
    if expires.is_empty()
        || !expires.bytes().all(|b| b.is_ascii_digit())
        || (expires.len() > 1 && expires.starts_with('0'))
    {
        return false;
    }
    let Ok(expires) = expires.parse::<i64>() else { return false };
    if expires != 0 && now >= expires {
        return false;
    }
    let expected = mac(key, purpose, result_id, expires);
    bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// The value of the first `token` parameter of a query string (`a=1&token=…`), as written.
pub fn token_of_query(query: &str) -> Option<&str> {
    query.split('&').find_map(|pair| match pair.split_once('=') {
        Some(("token", value)) => Some(value),
        _ => None,
    })
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Ctx {
    /// The token of result `result_id` for `purpose`: training tokens expire after
    /// `KAFKAML_POD_TOKEN_TTL` (none when it is `0`), serving tokens never.
    pub fn pod_token(&self, purpose: Purpose, result_id: i32) -> String {
        let ttl = match purpose {
            Purpose::Training => self.config.pod_token_ttl,
            Purpose::Serving => None,
        };
        sign(&self.accounts.secret_key, purpose, result_id, expiry(ttl, unix_now()))
    }

    /// The signer of pod URLs: [`Ctx::pod_token`], or tokens without expiry when `forever` (the
    /// Jobs of indefinite trainings).
    fn pod_signer(&self, forever: bool) -> PodSigner {
        let key = self.accounts.secret_key.clone();
        let ttl = if forever { None } else { self.config.pod_token_ttl };
        PodSigner::new(move |purpose, result_id| {
            let purpose = Purpose::from(purpose);
            let ttl = if purpose == Purpose::Training { ttl } else { None };
            Some(sign(&key, purpose, result_id, expiry(ttl, unix_now())))
        })
    }

    /// What training Jobs receive, their `RESULT_URL`s signed; `indefinite` trainings get tokens
    /// without expiry.
    pub fn training_environment(&self, indefinite: bool) -> Result<TrainingEnvironment, Error> {
        let env = self.config.training.as_ref().map_err(Clone::clone)?;
        Ok(TrainingEnvironment { signer: self.pod_signer(indefinite), ..env.clone() })
    }

    /// What inference controllers receive, their `MODEL_URL` and `MODEL_ARCH_URL` signed.
    pub fn inference_environment(&self) -> Result<InferenceEnvironment, Error> {
        let env = self.config.inference.as_ref().map_err(Clone::clone)?;
        Ok(InferenceEnvironment { signer: self.pod_signer(false), ..env.clone() })
    }
}

/// `now + ttl`, or `None` without a time to live.
fn expiry(ttl: Option<Duration>, now: i64) -> Option<i64> {
    ttl.map(|ttl| now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn key(text: &str) -> SecretKey {
        SecretKey::new(SecretString::from(text.to_owned()))
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_token_verifies_for_its_purpose_and_result_only() {
        let k = key("k1");
        for purpose in [Purpose::Training, Purpose::Serving] {
            for expires in [None, Some(NOW + 60)] {
                let token = sign(&k, purpose, 7, expires);
                assert!(verify(&k, purpose, 7, &token, NOW), "{purpose:?} {token}");
                let other = if purpose == Purpose::Training { Purpose::Serving } else { Purpose::Training };
                assert!(!verify(&k, other, 7, &token, NOW), "wrong purpose");
                assert!(!verify(&k, purpose, 8, &token, NOW), "wrong id");
                assert!(!verify(&k, purpose, -7, &token, NOW), "wrong id");
                assert!(!verify(&key("k2"), purpose, 7, &token, NOW), "other key");
            }
        }
    }

    #[test]
    fn tokens_expire() {
        let k = key("k");
        let token = sign(&k, Purpose::Training, 1, Some(NOW + 10));
        assert!(verify(&k, Purpose::Training, 1, &token, NOW + 9));
        assert!(!verify(&k, Purpose::Training, 1, &token, NOW + 10));
        assert!(!verify(&k, Purpose::Training, 1, &token, NOW + 1000));
        let forever = sign(&k, Purpose::Serving, 1, None);
        assert!(forever.starts_with("0."), "{forever}");
        assert!(verify(&k, Purpose::Serving, 1, &forever, i64::MAX));
    }

    #[test]
    fn tampered_and_malformed_tokens_are_refused() {
        let k = key("k");
        let token = sign(&k, Purpose::Training, 1, Some(NOW + 10));
        let (expires, mac) = token.split_once('.').unwrap();
        // A later expiry, or none, with the same MAC.
        assert!(!verify(&k, Purpose::Training, 1, &format!("{}.{mac}", NOW + 1_000_000), NOW));
        assert!(!verify(&k, Purpose::Training, 1, &format!("0.{mac}"), NOW));
        // One character of the MAC changed, the MAC cut short or made longer, case changed.
        let flipped: String = mac
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i == 5 {
                    if c == '0' {
                        '1'
                    } else {
                        '0'
                    }
                } else {
                    c
                }
            })
            .collect();
        assert!(!verify(&k, Purpose::Training, 1, &format!("{expires}.{flipped}"), NOW));
        assert!(!verify(&k, Purpose::Training, 1, &format!("{expires}.{}", &mac[..31]), NOW));
        assert!(!verify(&k, Purpose::Training, 1, &format!("{token}0"), NOW));
        assert!(!verify(&k, Purpose::Training, 1, &token.to_uppercase(), NOW));
        let mut malformed: Vec<String> = ["", ".", "0", "0.", "x.y", mac].map(str::to_owned).to_vec();
        malformed.extend([format!(".{mac}"), format!("+{token}"), format!("-1.{mac}"), format!("{expires}:{mac}")]);
        let forever = sign(&k, Purpose::Training, 1, None);
        malformed.push(forever.replacen('0', "00", 1));
        assert!(verify(&k, Purpose::Training, 1, &forever, NOW));
        for bad in malformed {
            assert!(!verify(&k, Purpose::Training, 1, &bad, NOW), "{bad:?}");
        }
        assert!(verify(&k, Purpose::Training, 1, &token, NOW));
    }

    #[test]
    fn tokens_are_short_url_safe_and_never_contain_results() {
        let k = key("k");
        for id in 0..2000 {
            for purpose in [Purpose::Training, Purpose::Serving] {
                let token = sign(&k, purpose, id, Some(NOW + i64::from(id)));
                assert!(!token.to_lowercase().contains("results"), "{token}");
                assert!(token.len() <= 11 + 1 + MAC_HEX_LEN, "{token}");
                assert!(
                    token.bytes().all(|b| b.is_ascii_digit() || b == b'.' || (b'a'..=b'f').contains(&b)),
                    "{token}"
                );
                // As the training images derive the metrics URL, the token survives unchanged.
                let url = format!("http://backend:8000/results/{id}?token={token}");
                let metrics = url.replace("results", "results_metrics");
                assert_eq!(token_of_query(metrics.split_once('?').unwrap().1), Some(token.as_str()));
            }
        }
    }

    #[test]
    fn the_token_parameter_is_read_from_a_query() {
        assert_eq!(token_of_query("token=1.ab"), Some("1.ab"));
        assert_eq!(token_of_query("a=1&token=1.ab&token=2.cd"), Some("1.ab"));
        assert_eq!(token_of_query("a=1&tokens=1"), None);
        assert_eq!(token_of_query("token"), None);
        assert_eq!(token_of_query("token="), Some(""));
        assert_eq!(token_of_query(""), None);
    }

    #[test]
    fn expiry_adds_the_ttl() {
        assert_eq!(expiry(None, NOW), None);
        assert_eq!(expiry(Some(Duration::from_secs(60)), NOW), Some(NOW + 60));
        assert_eq!(expiry(Some(Duration::from_secs(u64::MAX)), NOW), Some(i64::MAX));
    }
}
