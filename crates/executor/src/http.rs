//! [`HttpExecutor`]: the executor calls over HTTP.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use reqwest::multipart::{Form, Part};
use reqwest::Url;
use serde::Serialize;

use crate::error::{body_text, seconds};
use crate::{CheckOutcome, Executor, ExecutorError, ExecutorKind, ModelCode, RequestType, TfliteConversion};

/// Default base URL of the TensorFlow executor (`TFEXECUTOR_URL`).
pub const DEFAULT_TF_URL: &str = "http://localhost:8001/";
/// Default base URL of the PyTorch executor (`PTHEXECUTOR_URL`).
pub const DEFAULT_PTH_URL: &str = "http://localhost:8002/";
/// Default bound on establishing a connection to an executor.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default bound on a whole executor call; checks compile models, so they can be slow.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Bound on a TFLite conversion (the reference's 30 s), whatever the configured request timeout.
pub const CONVERT_TIMEOUT: Duration = Duration::from_secs(30);

const CHECK_DEPLOY_CONFIG_PATH: &str = "check_deploy_config/";
const CONVERT_TO_TFLITE_PATH: &str = "convert_to_tflite/";

/// Certificates of certificate authorities to trust for `https` executors besides the system's
/// (`KAFKAML_EXECUTOR_CA_FILE`): a PEM file with one or more certificates, read and checked once.
#[derive(Clone, PartialEq, Eq)]
pub struct CaBundle {
    path: PathBuf,
    pem: Vec<u8>,
}

impl std::fmt::Debug for CaBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaBundle").field("path", &self.path).field("bytes", &self.pem.len()).finish()
    }
}

impl CaBundle {
    /// Reads the PEM file at `path`; fails unless it holds at least one certificate.
    pub fn read(path: impl Into<PathBuf>) -> Result<Self, String> {
        let path = path.into();
        let pem = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::from_pem(path, pem)
    }

    /// The bundle of `pem` (what the file at `path` holds).
    pub fn from_pem(path: impl Into<PathBuf>, pem: Vec<u8>) -> Result<Self, String> {
        let path = path.into();
        let certificates = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("{} is not a PEM file of certificates: {e}", path.display()))?;
        if certificates.is_empty() {
            return Err(format!(
                "{} holds no certificate (expected PEM blocks -----BEGIN CERTIFICATE-----)",
                path.display()
            ));
        }
        Ok(Self { path, pem })
    }

    /// The file the certificates came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn certificates(&self) -> Result<Vec<reqwest::Certificate>, ExecutorError> {
        reqwest::Certificate::from_pem_bundle(&self.pem)
            .map_err(|e| ExecutorError::Client { reason: format!("{}: {e}", self.path.display()) })
    }
}

/// Where the executors are and how long to wait for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorConfig {
    /// Base URL of the TensorFlow executor; with or without a trailing `/`.
    pub tf_url: String,
    /// Base URL of the PyTorch executor; with or without a trailing `/`.
    pub pth_url: String,
    /// Bound on establishing a connection.
    pub connect_timeout: Duration,
    /// Bound on a whole call, from sending the request to reading the last byte of the answer.
    pub request_timeout: Duration,
    /// More certificate authorities to trust for `https` base URLs, besides the system's.
    pub extra_roots: Option<CaBundle>,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            tf_url: DEFAULT_TF_URL.to_owned(),
            pth_url: DEFAULT_PTH_URL.to_owned(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            extra_roots: None,
        }
    }
}

/// One executor service: its endpoints, resolved once.
#[derive(Debug, Clone)]
struct Endpoint {
    kind: ExecutorKind,
    /// The base URL for messages, without user name or password.
    display: String,
    exec: Url,
    check_deploy_config: Url,
    convert_to_tflite: Url,
}

impl Endpoint {
    fn new(kind: ExecutorKind, base: &str) -> Result<Self, ExecutorError> {
        let invalid =
            |reason: String| ExecutorError::InvalidUrl { executor: kind, url: mask_credentials(base), reason };
        let mut url = Url::parse(base.trim()).map_err(|e| invalid(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!("the scheme must be http or https, not {}", url.scheme())));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("the URL has no host".to_owned()));
        }
        // Paths are joined relative to the base, which therefore must end with `/`; a query or
        // fragment on a base URL means nothing here.
        url.set_query(None);
        url.set_fragment(None);
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        let join = |path: &str| url.join(path).map_err(|e| invalid(e.to_string()));
        let exec = join(kind.exec_path())?;
        let check_deploy_config = join(CHECK_DEPLOY_CONFIG_PATH)?;
        let convert_to_tflite = join(CONVERT_TO_TFLITE_PATH)?;

        let mut shown = url.clone();
        // Both setters only fail for URLs that cannot have credentials, which have none to hide.
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        Ok(Self { kind, display: shown.to_string(), exec, check_deploy_config, convert_to_tflite })
    }
}

/// Masks `user:password@` in a URL that may not even parse.
fn mask_credentials(raw: &str) -> String {
    let raw = raw.trim();
    let authority_start = raw.find("://").map_or(0, |i| i + 3);
    let authority_end = raw[authority_start..].find(['/', '?', '#']).map_or(raw.len(), |i| authority_start + i);
    match raw[authority_start..authority_end].rfind('@') {
        Some(at) => format!("{}***@{}", &raw[..authority_start], &raw[authority_start + at + 1..]),
        None => raw.to_owned(),
    }
}

/// Body of `exec_tf/` / `exec_pth/`, keys in the reference's order.
#[derive(Serialize)]
struct ExecBody<'a> {
    imports_code: &'a str,
    model_code: &'a str,
    distributed: bool,
    request_type: &'static str,
}

/// Body of `check_deploy_config/`, keys in the reference's order.
#[derive(Serialize)]
struct DeployConfigBody<'a> {
    batch: &'a serde_json::Value,
    kwargs_fit: &'a str,
    kwargs_val: &'a str,
}

/// The executors over HTTP, with bounded connect and request timeouts.
///
/// Bodies are sent as JSON text with `Content-Type: application/json`. System proxy settings are
/// ignored: the executors are services of the same cluster. Cheap to clone (the connection pool
/// is shared).
#[derive(Debug, Clone)]
pub struct HttpExecutor {
    client: reqwest::Client,
    tf: Endpoint,
    pth: Endpoint,
    request_timeout: Duration,
}

impl HttpExecutor {
    /// Builds the client; fails when a base URL is unusable.
    pub fn new(config: ExecutorConfig) -> Result<Self, ExecutorError> {
        let tf = Endpoint::new(ExecutorKind::TensorFlow, &config.tf_url)?;
        let pth = Endpoint::new(ExecutorKind::PyTorch, &config.pth_url)?;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .no_proxy()
            .use_rustls_tls()
            .user_agent(concat!("kafkaml-backend/", env!("CARGO_PKG_VERSION")));
        if let Some(bundle) = &config.extra_roots {
            for certificate in bundle.certificates()? {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let client = builder.build().map_err(|e| ExecutorError::Client { reason: e.to_string() })?;
        Ok(Self { client, tf, pth, request_timeout: config.request_timeout })
    }

    /// The base URL used for an executor (normalised with a trailing `/`, credentials removed).
    pub fn base_url(&self, kind: ExecutorKind) -> &str {
        &self.endpoint(kind).display
    }

    fn endpoint(&self, kind: ExecutorKind) -> &Endpoint {
        match kind {
            ExecutorKind::TensorFlow => &self.tf,
            ExecutorKind::PyTorch => &self.pth,
        }
    }

    /// POSTs a JSON body; returns the status and the whole answer body.
    async fn post<B: Serialize>(
        &self,
        endpoint: &Endpoint,
        url: &Url,
        body: &B,
    ) -> Result<(u16, Bytes), ExecutorError> {
        let kind = endpoint.kind;
        let body =
            serde_json::to_vec(body).map_err(|e| ExecutorError::Request { executor: kind, reason: e.to_string() })?;
        let started = std::time::Instant::now();
        let response = self
            .client
            .post(url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body)
            .send()
            .await
            .map_err(|e| self.classify(endpoint, e))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| self.classify(endpoint, e))?;
        tracing::debug!(
            executor = %kind,
            path = url.path(),
            status,
            bytes = bytes.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "executor answered"
        );
        Ok((status, bytes))
    }

    fn classify(&self, endpoint: &Endpoint, error: reqwest::Error) -> ExecutorError {
        self.classify_within(endpoint, error, self.request_timeout)
    }

    fn classify_within(&self, endpoint: &Endpoint, error: reqwest::Error, timeout: Duration) -> ExecutorError {
        let executor = endpoint.kind;
        let url = endpoint.display.clone();
        let failure = if error.is_connect() {
            ExecutorError::Unreachable { executor, url, source: error }
        } else if error.is_timeout() {
            ExecutorError::Timeout { executor, url, after: timeout }
        } else if error.is_builder() {
            ExecutorError::Request { executor, reason: error.to_string() }
        } else {
            ExecutorError::Transport { executor, url, source: error }
        };
        tracing::debug!(
            executor = %executor,
            error = %failure,
            timeout = %seconds(timeout),
            "executor call failed"
        );
        failure
    }

    async fn exec(
        &self,
        kind: ExecutorKind,
        code: &ModelCode,
        request_type: RequestType,
    ) -> Result<(u16, Bytes), ExecutorError> {
        let endpoint = self.endpoint(kind);
        let body = ExecBody {
            imports_code: &code.imports,
            model_code: &code.code,
            distributed: code.distributed,
            request_type: request_type.as_str(),
        };
        self.post(endpoint, &endpoint.exec, &body).await
    }
}

fn outcome(kind: ExecutorKind, call: &str, status: u16, body: &[u8]) -> CheckOutcome {
    if status == 200 {
        CheckOutcome::Valid
    } else {
        tracing::debug!(
            executor = %kind,
            call,
            status,
            answer = ?body_text(body),
            "executor rejected the request"
        );
        CheckOutcome::Invalid
    }
}

fn require_ok(kind: ExecutorKind, status: u16, body: Bytes) -> Result<Bytes, ExecutorError> {
    if status == 200 {
        Ok(body)
    } else {
        Err(ExecutorError::Rejected { executor: kind, status, body: body_text(&body) })
    }
}

#[async_trait]
impl Executor for HttpExecutor {
    async fn check(&self, kind: ExecutorKind, code: &ModelCode) -> Result<CheckOutcome, ExecutorError> {
        let (status, body) = self.exec(kind, code, RequestType::Check).await?;
        Ok(outcome(kind, "check", status, &body))
    }

    async fn load_model(&self, code: &ModelCode) -> Result<Bytes, ExecutorError> {
        let kind = ExecutorKind::TensorFlow;
        let (status, body) = self.exec(kind, code, RequestType::LoadModel).await?;
        require_ok(kind, status, body)
    }

    async fn input_shape(&self, code: &ModelCode) -> Result<String, ExecutorError> {
        let kind = ExecutorKind::TensorFlow;
        let (status, body) = self.exec(kind, code, RequestType::InputShape).await?;
        let body = require_ok(kind, status, body)?;
        Ok(String::from_utf8_lossy(&body).trim().to_owned())
    }

    async fn check_deploy_config(
        &self,
        kind: ExecutorKind,
        batch: &serde_json::Value,
        kwargs_fit_json: &str,
        kwargs_val_json: &str,
    ) -> Result<CheckOutcome, ExecutorError> {
        let endpoint = self.endpoint(kind);
        let body = DeployConfigBody { batch, kwargs_fit: kwargs_fit_json, kwargs_val: kwargs_val_json };
        let (status, answer) = self.post(endpoint, &endpoint.check_deploy_config, &body).await?;
        Ok(outcome(kind, "check_deploy_config", status, &answer))
    }

    async fn convert_to_tflite(&self, conversion: &TfliteConversion) -> Result<Bytes, ExecutorError> {
        let endpoint = &self.tf;
        let file_name = conversion.file_name();
        let mut form = Form::new();
        for (name, value) in conversion.form_fields() {
            form = form.text(name, value);
        }
        let length = conversion.model.len() as u64;
        let part = Part::stream_with_length(conversion.model.clone(), length).file_name(file_name.clone());
        form = form.part(file_name, part);
        let started = std::time::Instant::now();
        let classify = |e| self.classify_within(endpoint, e, CONVERT_TIMEOUT);
        let response = self
            .client
            .post(endpoint.convert_to_tflite.clone())
            .timeout(CONVERT_TIMEOUT)
            .multipart(form)
            .send()
            .await
            .map_err(classify)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(classify)?;
        tracing::debug!(
            executor = %endpoint.kind,
            path = endpoint.convert_to_tflite.path(),
            status,
            bytes = body.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "executor answered"
        );
        require_ok(endpoint.kind, status, body)
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn joins_base_urls_with_or_without_trailing_slash() {
        for (base, exec, deploy) in [
            ("http://localhost:8001/", "http://localhost:8001/exec_tf/", "http://localhost:8001/check_deploy_config/"),
            ("http://localhost:8001", "http://localhost:8001/exec_tf/", "http://localhost:8001/check_deploy_config/"),
            (
                "http://tfexecutor:8001/prefix",
                "http://tfexecutor:8001/prefix/exec_tf/",
                "http://tfexecutor:8001/prefix/check_deploy_config/",
            ),
            (
                " http://tfexecutor:8001/prefix/?x=1 ",
                "http://tfexecutor:8001/prefix/exec_tf/",
                "http://tfexecutor:8001/prefix/check_deploy_config/",
            ),
        ] {
            let endpoint = Endpoint::new(ExecutorKind::TensorFlow, base).unwrap();
            assert_eq!(endpoint.exec.as_str(), exec, "{base}");
            assert_eq!(endpoint.check_deploy_config.as_str(), deploy, "{base}");
        }
        let tf = Endpoint::new(ExecutorKind::TensorFlow, "http://tfexecutor:8001/").unwrap();
        assert_eq!(tf.convert_to_tflite.as_str(), "http://tfexecutor:8001/convert_to_tflite/");
        let pth = Endpoint::new(ExecutorKind::PyTorch, "http://pthexecutor:8002").unwrap();
        assert_eq!(pth.exec.as_str(), "http://pthexecutor:8002/exec_pth/");
        assert_eq!(pth.display, "http://pthexecutor:8002/");
    }

    #[test]
    fn credentials_never_show() {
        let endpoint = Endpoint::new(ExecutorKind::TensorFlow, "http://user:s3cret@tf:8001").unwrap();
        assert_eq!(endpoint.display, "http://tf:8001/");
        assert_eq!(endpoint.exec.as_str(), "http://user:s3cret@tf:8001/exec_tf/");

        let error = Endpoint::new(ExecutorKind::TensorFlow, "http://user:s3cret@:99999/").unwrap_err().to_string();
        assert!(!error.contains("s3cret"), "{error}");
        assert!(error.starts_with("invalid TensorFlow executor URL http://***@:99999/"));
    }

    #[test]
    fn rejects_unusable_base_urls() {
        for base in ["", "localhost:8001", "ftp://tf:21/", "not a url", "http://"] {
            let error =
                HttpExecutor::new(ExecutorConfig { tf_url: base.to_owned(), ..ExecutorConfig::default() }).unwrap_err();
            assert!(matches!(error, ExecutorError::InvalidUrl { .. }), "{base}: {error}");
            assert!(error.is_unavailable());
        }
        let error = HttpExecutor::new(ExecutorConfig { pth_url: "ftp://pth/".to_owned(), ..ExecutorConfig::default() })
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid PyTorch executor URL ftp://pth/: the scheme must be http or https, not ftp"
        );
    }

    #[test]
    fn defaults_follow_the_reference() {
        let config = ExecutorConfig::default();
        assert_eq!(config.tf_url, "http://localhost:8001/");
        assert_eq!(config.pth_url, "http://localhost:8002/");
        assert_eq!(config.connect_timeout, Duration::from_secs(2));
        assert_eq!(config.request_timeout, Duration::from_secs(60));
        let executor = HttpExecutor::new(config).unwrap();
        assert_eq!(executor.base_url(ExecutorKind::TensorFlow), "http://localhost:8001/");
        assert_eq!(executor.base_url(ExecutorKind::PyTorch), "http://localhost:8002/");
    }

    #[test]
    fn message_formats() {
        assert_eq!(seconds(Duration::from_secs(60)), "60 s");
        assert_eq!(seconds(Duration::from_millis(300)), "300 ms");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
        let long = "x".repeat(5_000);
        let text = body_text(long.as_bytes());
        assert_eq!(text.chars().count(), crate::error::MAX_BODY_CHARS + 1);
        assert_eq!(body_text(b"  boom \n"), "boom");
        let rejected = ExecutorError::Rejected { executor: ExecutorKind::TensorFlow, status: 400, body: String::new() };
        assert_eq!(rejected.to_string(), "TensorFlow executor answered HTTP 400");
        assert!(!rejected.is_unavailable());
    }
}
