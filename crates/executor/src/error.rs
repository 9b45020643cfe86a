//! Failures of executor calls.

use std::time::Duration;

use crate::ExecutorKind;
use kafkaml_domain::cause::{describe_io, innermost, io_cause};

/// Longest part of an executor's answer body kept in [`ExecutorError::Rejected`].
pub(crate) const MAX_BODY_CHARS: usize = 2_000;

/// Why an executor call produced no usable answer.
///
/// Messages name the executor and its base URL (with any user name and password removed) and
/// can be shown to a user as they are. [`ExecutorError::is_unavailable`] tells the API which
/// status to answer: 503 when the executor could not be reached in time, 502 otherwise.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    /// The configured base URL cannot be used.
    #[error("invalid {executor} executor URL {url}: {reason}")]
    InvalidUrl {
        /// Which executor.
        executor: ExecutorKind,
        /// The URL as configured (any user name and password masked).
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The HTTP client could not be built.
    #[error("the executor HTTP client could not be built: {reason}")]
    Client {
        /// What went wrong.
        reason: String,
    },

    /// No connection could be made (refused, unknown host, connect timeout, …).
    #[error("{executor} executor at {url} is unreachable: {}", describe(.source))]
    Unreachable {
        /// Which executor.
        executor: ExecutorKind,
        /// Its base URL (any user name and password removed).
        url: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },

    /// The executor accepted the connection but did not answer within the request timeout.
    #[error("{executor} executor at {url} did not answer within {}", seconds(*.after))]
    Timeout {
        /// Which executor.
        executor: ExecutorKind,
        /// Its base URL (any user name and password removed).
        url: String,
        /// The request timeout that ran out.
        after: Duration,
    },

    /// The executor answered with a status other than 200 where an answer body was needed
    /// (`load_model`, `input_shape`).
    #[error("{executor} executor answered HTTP {status}{}", body_suffix(.body))]
    Rejected {
        /// Which executor.
        executor: ExecutorKind,
        /// The HTTP status it answered.
        status: u16,
        /// Its answer body as text (lossy UTF-8, trimmed, at most 2,000 characters).
        body: String,
    },

    /// The connection broke or the answer could not be read.
    #[error("{executor} executor at {url} sent no usable answer: {}", describe(.source))]
    Transport {
        /// Which executor.
        executor: ExecutorKind,
        /// Its base URL (any user name and password removed).
        url: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },

    /// The request could not be built.
    #[error("the request to the {executor} executor could not be built: {reason}")]
    Request {
        /// Which executor.
        executor: ExecutorKind,
        /// What went wrong.
        reason: String,
    },
}

impl ExecutorError {
    /// `true` when the executor could not be used at all — unreachable, too slow or not
    /// configured (the API answers 503); `false` when it answered something unusable (502).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Timeout { .. } | Self::InvalidUrl { .. } | Self::Client { .. })
    }

    /// The executor concerned, when the error is about one.
    pub fn executor(&self) -> Option<ExecutorKind> {
        match self {
            Self::InvalidUrl { executor, .. }
            | Self::Unreachable { executor, .. }
            | Self::Timeout { executor, .. }
            | Self::Rejected { executor, .. }
            | Self::Transport { executor, .. }
            | Self::Request { executor, .. } => Some(*executor),
            Self::Client { .. } => None,
        }
    }
}

/// A short, user-readable cause for a transport error: the first I/O error of its cause chain in
/// plain words (`connection refused`), else `timed out` for a timeout, else the innermost cause.
fn describe(error: &reqwest::Error) -> String {
    match io_cause(error) {
        Some(io) => describe_io(io, "connection closed before the answer was complete"),
        None if error.is_timeout() => "timed out".to_owned(),
        None => innermost(error).to_string(),
    }
}

/// `60 s`, `1.5 s`, `300 ms`.
pub(crate) fn seconds(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{} s", duration.as_secs())
    } else if duration < Duration::from_secs(1) {
        format!("{} ms", duration.as_millis())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

fn body_suffix(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

/// The answer body as text for [`ExecutorError::Rejected`]: lossy UTF-8, trimmed, bounded.
pub(crate) fn body_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(MAX_BODY_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
