//! A stub executor server for tests (cargo feature `stub`).
//!
//! [`StubExecutor`] listens on `127.0.0.1:<free port>` and answers like the TensorFlow and
//! PyTorch executors would, without running any code:
//!
//! | request | answer |
//! | --- | --- |
//! | `POST /exec_tf/` or `/exec_pth/`, `request_type: "check"` | 200 empty; **400** when `model_code` contains `fail_code` |
//! | `POST /exec_tf/`, `request_type: "load_model"` | 200 `application/octet-stream` with the bytes `HDF5-STUB:` + `model_code`; 400 when the code contains `fail_code` |
//! | `POST /exec_tf/`, `request_type: "input_shape"` | 200 text `(None, 28, 28)` (see [`StubExecutor::set_input_shape`]); 400 when the code contains `fail_code` |
//! | `POST /check_deploy_config/` | 200 when the JSON text `kwargs_fit` has a positive integer `epochs` or `max_epochs`; else 400 |
//! | `POST /convert_to_tflite/` (multipart) | 200 `application/octet-stream` with `TFLITE-STUB:` (+ `int8:` when `applyQuantization` is `True`) + the bytes of the part whose name ends in `.h5`; 400 when there is no such part or it contains `fail_code` |
//! | anything else | 400 (unparsable body or unknown `request_type`), 404 (unknown path) or 405 (not POST) |
//!
//! Every request is recorded ([`StubExecutor::requests`]). The server runs on its own thread
//! with its own Tokio runtime, so tests running on Tokio, actix-rt or no runtime at all can use
//! it; it stops when the [`StubExecutor`] is dropped. It speaks just enough HTTP/1.1 for an HTTP
//! client: one request per connection, `Content-Length` bodies, `Connection: close` answers.
//!
//! [`StubExecutor::start_with`] replaces the executor behaviour by any function of the request,
//! for tests of unusual answers (slow, 500, garbage).

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::RequestType;

/// The text a model's code must contain for the stub to reject it.
pub const FAIL_CODE_MARKER: &str = "fail_code";
/// Prefix of the "HDF5 file" the stub answers to `load_model`.
pub const LOAD_MODEL_PREFIX: &[u8] = b"HDF5-STUB:";
/// Prefix of the "TFLite model" the stub answers to `convert_to_tflite`.
pub const TFLITE_PREFIX: &[u8] = b"TFLITE-STUB:";
/// Input shape the stub answers to `input_shape` unless told otherwise.
pub const DEFAULT_INPUT_SHAPE: &str = "(None, 28, 28)";

const MAX_HEAD_BYTES: usize = 64 * 1024;
const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// One request received by the stub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StubRequest {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The path without query, e.g. `/exec_tf/`.
    pub path: String,
    /// Header names (lower-case) and values, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Bytes,
}

impl StubRequest {
    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as JSON; a body that is not JSON becomes a JSON string of its (lossy) text.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&self.body).into_owned()))
    }

    /// The body as (lossy UTF-8) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The parts of a `multipart/form-data` body, in order; `None` when the body is not one.
    pub fn form_parts(&self) -> Option<Vec<FormPart>> {
        let content_type = self.header("content-type")?;
        if !content_type.to_ascii_lowercase().starts_with("multipart/form-data") {
            return None;
        }
        let boundary = content_type.split(';').find_map(|p| p.trim().strip_prefix("boundary="))?.trim_matches('"');
        let delimiter = format!("--{boundary}");
        let body = &self.body[..];
        let mut parts = Vec::new();
        let mut rest = &body[find(body, delimiter.as_bytes())? + delimiter.len()..];
        loop {
            if rest.starts_with(b"--") {
                return Some(parts);
            }
            rest = rest.strip_prefix(b"\r\n")?;
            let head_end = find(rest, b"\r\n\r\n")?;
            let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
            let content = &rest[head_end + 4..];
            let end = find(content, format!("\r\n{delimiter}").as_bytes())?;
            let disposition = head
                .split("\r\n")
                .find_map(|l| l.split_once(':').filter(|(n, _)| n.trim().eq_ignore_ascii_case("content-disposition")))
                .map(|(_, v)| v.to_owned())
                .unwrap_or_default();
            let param = |key: &str| {
                disposition
                    .split(';')
                    .map(str::trim)
                    .find_map(|p| p.strip_prefix(key))
                    .map(|v| v.trim_matches('"').to_owned())
            };
            parts.push(FormPart {
                name: param("name=").unwrap_or_default(),
                file_name: param("filename="),
                body: Bytes::copy_from_slice(&content[..end]),
            });
            rest = &content[end + 2 + delimiter.len()..];
        }
    }

    /// The text of the form field `name` of a multipart body.
    pub fn form_field(&self, name: &str) -> Option<String> {
        self.form_parts()?.into_iter().find(|p| p.name == name).map(|p| String::from_utf8_lossy(&p.body).into_owned())
    }
}

/// One part of a `multipart/form-data` body received by the stub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormPart {
    /// The part's `name`.
    pub name: String,
    /// The part's `filename`, for file parts.
    pub file_name: Option<String>,
    /// Its content.
    pub body: Bytes,
}

/// An answer of the stub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StubResponse {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` of the body.
    pub content_type: String,
    /// The body.
    pub body: Bytes,
    /// Wait this long before answering.
    pub delay: Option<Duration>,
}

impl StubResponse {
    /// A `text/html; charset=utf-8` answer, as the executors (Flask) send.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type: "text/html; charset=utf-8".to_owned(),
            body: Bytes::from(body.into()),
            delay: None,
        }
    }

    /// An `application/octet-stream` answer.
    pub fn bytes(status: u16, body: impl Into<Bytes>) -> Self {
        Self { status, content_type: "application/octet-stream".to_owned(), body: body.into(), delay: None }
    }

    /// The same answer, sent after `delay`.
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
}

type Handler = Box<dyn Fn(&StubRequest) -> StubResponse + Send + Sync>;

struct Shared {
    handler: Option<Handler>,
    requests: Mutex<Vec<StubRequest>>,
    input_shape: Mutex<String>,
    delay: Mutex<Option<Duration>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running stub executor; see the [module documentation](self).
pub struct StubExecutor {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// Dropping it stops the server.
    _shutdown: oneshot::Sender<()>,
}

impl std::fmt::Debug for StubExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StubExecutor").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl StubExecutor {
    /// Starts a stub with the executor behaviour of the [module documentation](self).
    ///
    /// # Panics
    /// When no port can be bound on 127.0.0.1 (a test environment failure).
    #[expect(clippy::expect_used, reason = "test helper: a stub that cannot listen is a failed test")]
    pub async fn start() -> Self {
        Self::try_start().await.expect("the stub executor could not listen on 127.0.0.1")
    }

    /// Starts a stub with the executor behaviour; fails when no port can be bound.
    pub async fn try_start() -> io::Result<Self> {
        Self::launch(None).await
    }

    /// Starts a stub whose answers come from `handler` (requests are still recorded and
    /// [`StubExecutor::set_response_delay`] still applies).
    ///
    /// # Panics
    /// When no port can be bound on 127.0.0.1 (a test environment failure).
    #[expect(clippy::expect_used, reason = "test helper: a stub that cannot listen is a failed test")]
    pub async fn start_with<F>(handler: F) -> Self
    where
        F: Fn(&StubRequest) -> StubResponse + Send + Sync + 'static,
    {
        Self::launch(Some(Box::new(handler))).await.expect("the stub executor could not listen on 127.0.0.1")
    }

    async fn launch(handler: Option<Handler>) -> io::Result<Self> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            handler,
            requests: Mutex::new(Vec::new()),
            input_shape: Mutex::new(DEFAULT_INPUT_SHAPE.to_owned()),
            delay: Mutex::new(None),
        });
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let (ready_tx, ready_rx) = oneshot::channel::<io::Result<()>>();
        let server_shared = Arc::clone(&shared);
        std::thread::Builder::new().name(format!("stub-executor-{}", addr.port())).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(error) => {
                    let _ = ready_tx.send(Err(error));
                    return;
                }
            };
            runtime.block_on(async move {
                match TcpListener::from_std(listener) {
                    Ok(listener) => {
                        let _ = ready_tx.send(Ok(()));
                        serve(listener, server_shared, shutdown_rx).await;
                    }
                    Err(error) => {
                        let _ = ready_tx.send(Err(error));
                    }
                }
            });
        })?;
        ready_rx.await.map_err(|_| io::Error::other("the stub executor thread ended before listening"))??;
        Ok(Self { addr, shared, _shutdown: shutdown_tx })
    }

    /// The base URL, with a trailing `/`: use it as `TFEXECUTOR_URL` and `PTHEXECUTOR_URL`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The address the stub listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, as (path, body as JSON), in arrival order.
    pub fn requests(&self) -> Vec<(String, Value)> {
        lock(&self.shared.requests).iter().map(|r| (r.path.clone(), r.json())).collect()
    }

    /// Every request received so far, complete, in arrival order.
    pub fn raw_requests(&self) -> Vec<StubRequest> {
        lock(&self.shared.requests).clone()
    }

    /// How many requests were received so far.
    pub fn request_count(&self) -> usize {
        lock(&self.shared.requests).len()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    /// Sets the text answered to `input_shape` (default `(None, 28, 28)`).
    pub fn set_input_shape(&self, shape: impl Into<String>) {
        *lock(&self.shared.input_shape) = shape.into();
    }

    /// Delays every later answer by `delay` (`None`: answer at once), e.g. to test timeouts.
    pub fn set_response_delay(&self, delay: Option<Duration>) {
        *lock(&self.shared.delay) = delay;
    }
}

/// The executor behaviour of the module documentation.
fn executor_behaviour(request: &StubRequest, input_shape: &str) -> StubResponse {
    if request.method != "POST" {
        return StubResponse::text(405, "method not allowed");
    }
    if request.path == "/convert_to_tflite/" {
        return convert_behaviour(request);
    }
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return StubResponse::text(400, "the body is not JSON");
    };
    match request.path.as_str() {
        "/exec_tf/" | "/exec_pth/" => {
            let tf = request.path == "/exec_tf/";
            let code = body.get("model_code").and_then(Value::as_str);
            let request_type = body.get("request_type").and_then(Value::as_str).and_then(RequestType::parse);
            let (Some(code), Some(request_type)) = (code, request_type) else {
                return StubResponse::text(400, "model_code or request_type missing");
            };
            if code.contains(FAIL_CODE_MARKER) {
                return StubResponse::text(400, "name 'fail_code' is not defined");
            }
            match request_type {
                RequestType::Check => StubResponse::text(200, ""),
                RequestType::LoadModel if tf => {
                    let mut file = LOAD_MODEL_PREFIX.to_vec();
                    file.extend_from_slice(code.as_bytes());
                    StubResponse::bytes(200, file)
                }
                RequestType::InputShape if tf => StubResponse::text(200, input_shape),
                _ => StubResponse::text(400, "request type not supported"),
            }
        }
        "/check_deploy_config/" => {
            let kwargs_fit = match body.get("kwargs_fit") {
                Some(Value::String(text)) => serde_json::from_str::<Value>(text).ok(),
                Some(object @ Value::Object(_)) => Some(object.clone()),
                _ => None,
            };
            let positive =
                |key: &str| kwargs_fit.as_ref().and_then(|k| k.get(key)).and_then(Value::as_u64).is_some_and(|n| n > 0);
            if positive("epochs") || positive("max_epochs") {
                StubResponse::text(200, "")
            } else {
                StubResponse::text(400, "epochs must be a positive integer")
            }
        }
        _ => StubResponse::text(404, "not found"),
    }
}

/// `convert_to_tflite/`: the "TFLite model" is a prefix plus the HDF5 bytes.
fn convert_behaviour(request: &StubRequest) -> StubResponse {
    let Some(parts) = request.form_parts() else {
        return StubResponse::text(400, "the body is not multipart/form-data");
    };
    let Some(model) = parts.iter().find(|p| p.name.ends_with(".h5")) else {
        return StubResponse::text(400, "No .h5 file found in the request");
    };
    if find(&model.body, FAIL_CODE_MARKER.as_bytes()).is_some() {
        return StubResponse::text(400, "the model could not be converted");
    }
    let int8 = parts.iter().any(|p| p.name == "applyQuantization" && &p.body[..] == b"True");
    let mut tflite = TFLITE_PREFIX.to_vec();
    if int8 {
        tflite.extend_from_slice(b"int8:");
    }
    tflite.extend_from_slice(&model.body);
    StubResponse::bytes(200, tflite)
}

async fn serve(listener: TcpListener, shared: Arc<Shared>, mut shutdown: oneshot::Receiver<()>) {
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let shared = Arc::clone(&shared);
                    tokio::spawn(async move {
                        // A client that hangs up early (e.g. after its timeout) is not an error.
                        let _ = handle(stream, shared).await;
                    });
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
    }
}

async fn handle(mut stream: TcpStream, shared: Arc<Shared>) -> io::Result<()> {
    let mut buffer = Vec::with_capacity(8 * 1024);
    let mut chunk = vec![0_u8; 16 * 1024];
    let head_end = loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            break end;
        }
        if buffer.len() > MAX_HEAD_BYTES {
            return respond(&mut stream, &StubResponse::text(431, "headers too large")).await;
        }
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..read]);
    };

    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let target = request_line.next().unwrap_or_default();
    let path = target.split(['?', '#']).next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    if header("transfer-encoding").is_some() {
        return respond(&mut stream, &StubResponse::text(411, "length required")).await;
    }
    let length = match header("content-length").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(length)) if length <= MAX_BODY_BYTES => length,
        Some(_) => return respond(&mut stream, &StubResponse::text(400, "bad content-length")).await,
    };
    let mut body = buffer.split_off(head_end + 4);
    while body.len() < length {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        body.extend_from_slice(&chunk[..read]);
    }
    body.truncate(length);

    let request = StubRequest { method, path, headers, body: Bytes::from(body) };
    lock(&shared.requests).push(request.clone());
    let response = match &shared.handler {
        Some(handler) => handler(&request),
        None => {
            let shape = lock(&shared.input_shape).clone();
            executor_behaviour(&request, &shape)
        }
    };
    let delay = response.delay.or(*lock(&shared.delay));
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    respond(&mut stream, &response).await
}

async fn respond(stream: &mut TcpStream, response: &StubResponse) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&response.body).await?;
    stream.flush().await?;
    stream.shutdown().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}
