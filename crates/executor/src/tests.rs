//! [`HttpExecutor`] against the stub executor and a few misbehaving peers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::stub::{StubExecutor, StubResponse, TFLITE_PREFIX};
use crate::{
    CheckOutcome, Executor, ExecutorConfig, ExecutorError, ExecutorKind, HttpExecutor, Int8Quantization, ModelCode,
    TfliteConversion,
};

fn executor_for(url: &str, request_timeout: Duration) -> HttpExecutor {
    HttpExecutor::new(ExecutorConfig {
        tf_url: url.to_owned(),
        pth_url: url.to_owned(),
        connect_timeout: Duration::from_secs(2),
        request_timeout,
        extra_roots: None,
    })
    .unwrap()
}

fn executor(stub: &StubExecutor) -> HttpExecutor {
    executor_for(&stub.url(), Duration::from_secs(10))
}

/// A port nothing listens on: bound, then released.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn check_posts_the_reference_body_to_exec_tf() {
    let stub = StubExecutor::start().await;
    let code = ModelCode::new("import tensorflow as tf", "model = tf.keras.Sequential()", false);

    let outcome = executor(&stub).check(ExecutorKind::TensorFlow, &code).await.unwrap();

    assert_eq!(outcome, CheckOutcome::Valid);
    let requests = stub.raw_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/exec_tf/");
    assert_eq!(
        requests[0].text(),
        r#"{"imports_code":"import tensorflow as tf","model_code":"model = tf.keras.Sequential()","distributed":false,"request_type":"check"}"#
    );
    assert_eq!(requests[0].header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn check_goes_to_exec_pth_for_pytorch_and_maps_400_to_invalid() {
    let stub = StubExecutor::start().await;
    let executor = executor(&stub);

    let good = ModelCode::new("", "model = Net()", true);
    let bad = ModelCode::new("import torch", "fail_code", false);
    assert_eq!(executor.check(ExecutorKind::PyTorch, &good).await.unwrap(), CheckOutcome::Valid);
    let outcome = executor.check(ExecutorKind::PyTorch, &bad).await.unwrap();
    assert_eq!(outcome, CheckOutcome::Invalid);
    assert!(!outcome.is_valid());

    let requests = stub.raw_requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].path, "/exec_pth/");
    assert_eq!(
        requests[0].text(),
        r#"{"imports_code":"","model_code":"model = Net()","distributed":true,"request_type":"check"}"#
    );
    assert_eq!(requests[1].path, "/exec_pth/");
    assert_eq!(
        stub.requests()[1],
        (
            "/exec_pth/".to_owned(),
            json!({"imports_code": "import torch", "model_code": "fail_code", "distributed": false, "request_type": "check"})
        )
    );
}

#[tokio::test]
async fn check_maps_any_non_200_status_to_invalid() {
    for status in [201, 400, 404, 422, 500, 503] {
        let stub = StubExecutor::start_with(move |_| StubResponse::text(status, "nope")).await;
        let outcome = executor(&stub).check(ExecutorKind::TensorFlow, &ModelCode::default()).await.unwrap();
        let expected = CheckOutcome::Invalid;
        assert_eq!(outcome, expected, "status {status}");
    }
}

#[tokio::test]
async fn load_model_passes_the_bytes_through() {
    let stub = StubExecutor::start().await;
    let code = ModelCode::new("import tensorflow as tf", "model = build()", false);

    let bytes = executor(&stub).load_model(&code).await.unwrap();

    assert_eq!(&bytes[..], b"HDF5-STUB:model = build()");
    assert_eq!(
        stub.raw_requests()[0].text(),
        r#"{"imports_code":"import tensorflow as tf","model_code":"model = build()","distributed":false,"request_type":"load_model"}"#
    );
    assert_eq!(stub.requests()[0].0, "/exec_tf/");

    // Binary content comes back untouched.
    let binary: Vec<u8> = (0..=255_u8).cycle().take(300_000).collect();
    let expected = binary.clone();
    let stub = StubExecutor::start_with(move |_| StubResponse::bytes(200, binary.clone())).await;
    let bytes = executor(&stub).load_model(&code).await.unwrap();
    assert_eq!(bytes.len(), expected.len());
    assert!(bytes[..] == expected[..]);
}

#[tokio::test]
async fn load_model_non_200_is_rejected_with_the_executor_message() {
    let stub = StubExecutor::start().await;
    let error = executor(&stub).load_model(&ModelCode::new("", "fail_code", false)).await.unwrap_err();

    match &error {
        ExecutorError::Rejected { executor, status, body } => {
            assert_eq!(*executor, ExecutorKind::TensorFlow);
            assert_eq!(*status, 400);
            assert_eq!(body, "name 'fail_code' is not defined");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(!error.is_unavailable());
    assert_eq!(error.to_string(), "TensorFlow executor answered HTTP 400: name 'fail_code' is not defined");
    assert_eq!(error.executor(), Some(ExecutorKind::TensorFlow));

    let stub = StubExecutor::start_with(|_| StubResponse::text(500, "")).await;
    let error = executor(&stub).load_model(&ModelCode::default()).await.unwrap_err();
    assert!(matches!(
        error,
        ExecutorError::Rejected { status: 500, ref body, .. } if body.is_empty()
    ));
}

#[tokio::test]
async fn input_shape_returns_the_text() {
    let stub = StubExecutor::start().await;
    let executor = executor(&stub);
    let code = ModelCode::new("import tensorflow as tf", "model = m", true);

    assert_eq!(executor.input_shape(&code).await.unwrap(), "(None, 28, 28)");
    assert_eq!(
        stub.raw_requests()[0].text(),
        r#"{"imports_code":"import tensorflow as tf","model_code":"model = m","distributed":true,"request_type":"input_shape"}"#
    );
    assert_eq!(stub.raw_requests()[0].path, "/exec_tf/");

    stub.set_input_shape("(None,)");
    assert_eq!(executor.input_shape(&code).await.unwrap(), "(None,)");

    let error = executor.input_shape(&ModelCode::new("", "fail_code", false)).await.unwrap_err();
    assert!(matches!(error, ExecutorError::Rejected { status: 400, .. }));
}

#[tokio::test]
async fn check_deploy_config_posts_batch_and_kwargs_texts() {
    let stub = StubExecutor::start().await;
    let executor = executor(&stub);

    let outcome = executor
        .check_deploy_config(ExecutorKind::TensorFlow, &json!(10), r#"{"epochs": 5, "shuffle": true}"#, "{}")
        .await
        .unwrap();
    assert_eq!(outcome, CheckOutcome::Valid);
    let request = &stub.raw_requests()[0];
    assert_eq!(request.path, "/check_deploy_config/");
    assert_eq!(request.text(), r#"{"batch":10,"kwargs_fit":"{\"epochs\": 5, \"shuffle\": true}","kwargs_val":"{}"}"#);
    assert_eq!(request.header("content-type"), Some("application/json"));

    // No positive epochs → 400 → invalid.
    for kwargs_fit in [r#"{"shuffle": true}"#, r#"{"epochs": 0}"#, r#"{"epochs": -1}"#] {
        let outcome =
            executor.check_deploy_config(ExecutorKind::TensorFlow, &json!(10), kwargs_fit, "{}").await.unwrap();
        assert_eq!(outcome, CheckOutcome::Invalid, "{kwargs_fit}");
    }

    // PyTorch uses max_epochs; the batch goes as the client sent it (here a string).
    let outcome = executor
        .check_deploy_config(ExecutorKind::PyTorch, &json!("32"), r#"{"max_epochs": 3}"#, r#"{"steps": 1}"#)
        .await
        .unwrap();
    assert_eq!(outcome, CheckOutcome::Valid);
    assert_eq!(
        stub.requests().last().unwrap(),
        &(
            "/check_deploy_config/".to_owned(),
            json!({"batch": "32", "kwargs_fit": "{\"max_epochs\": 3}", "kwargs_val": "{\"steps\": 1}"})
        )
    );
}

#[tokio::test]
async fn base_urls_without_trailing_slash_and_with_a_prefix_work() {
    let stub = StubExecutor::start_with(|_| StubResponse::text(200, "")).await;
    let base = stub.url();
    let executor = HttpExecutor::new(ExecutorConfig {
        tf_url: base.trim_end_matches('/').to_owned(),
        pth_url: format!("{base}executors/pth"),
        ..ExecutorConfig::default()
    })
    .unwrap();

    executor.check(ExecutorKind::TensorFlow, &ModelCode::default()).await.unwrap();
    executor.check(ExecutorKind::PyTorch, &ModelCode::default()).await.unwrap();
    executor.check_deploy_config(ExecutorKind::PyTorch, &json!(1), "{}", "{}").await.unwrap();

    let paths: Vec<String> = stub.requests().into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["/exec_tf/", "/executors/pth/exec_pth/", "/executors/pth/check_deploy_config/"]);
}

#[tokio::test]
async fn an_unreachable_executor_fails_fast_as_unavailable() {
    let port = closed_port();
    let executor = executor_for(&format!("http://127.0.0.1:{port}"), Duration::from_secs(30));

    let started = Instant::now();
    let error = executor.check(ExecutorKind::TensorFlow, &ModelCode::default()).await.unwrap_err();

    assert!(started.elapsed() < Duration::from_secs(2), "{error}");
    assert!(matches!(error, ExecutorError::Unreachable { .. }), "{error:?}");
    assert!(error.is_unavailable());
    assert_eq!(
        error.to_string(),
        format!("TensorFlow executor at http://127.0.0.1:{port}/ is unreachable: connection refused")
    );

    let error = executor.check_deploy_config(ExecutorKind::PyTorch, &json!(1), "{}", "{}").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("PyTorch executor at http://127.0.0.1:{port}/ is unreachable: connection refused")
    );
    assert!(error.is_unavailable());
}

#[tokio::test]
async fn a_slow_executor_times_out_as_unavailable() {
    let stub = StubExecutor::start().await;
    stub.set_response_delay(Some(Duration::from_secs(5)));
    let executor = executor_for(&stub.url(), Duration::from_millis(300));

    let started = Instant::now();
    let error = executor.load_model(&ModelCode::default()).await.unwrap_err();

    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert!(matches!(error, ExecutorError::Timeout { .. }), "{error:?}");
    assert!(error.is_unavailable());
    assert_eq!(error.to_string(), format!("TensorFlow executor at {} did not answer within 300 ms", stub.url()));

    // A per-answer delay works too.
    let stub = StubExecutor::start_with(|_| StubResponse::text(200, "").delayed(Duration::from_secs(5))).await;
    let error = executor_for(&stub.url(), Duration::from_millis(200))
        .check(ExecutorKind::PyTorch, &ModelCode::default())
        .await
        .unwrap_err();
    assert!(matches!(error, ExecutorError::Timeout { executor: ExecutorKind::PyTorch, .. }));
}

#[tokio::test]
async fn a_connection_closed_without_answer_is_a_bad_gateway() {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        // Read the request, then hang up without a word.
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buffer = [0_u8; 1024];
        let _ = tokio::io::AsyncReadExt::read(&mut stream, &mut buffer).await;
        drop(stream);
    });

    let error = executor_for(&format!("http://{addr}/"), Duration::from_secs(5))
        .check(ExecutorKind::TensorFlow, &ModelCode::default())
        .await
        .unwrap_err();

    assert!(matches!(error, ExecutorError::Transport { .. }), "{error:?}");
    assert!(!error.is_unavailable());
    assert!(
        error.to_string().starts_with(&format!("TensorFlow executor at http://{addr}/ sent no usable answer: ")),
        "{error}"
    );
    server.await.unwrap();
}

#[tokio::test]
async fn works_as_a_shared_trait_object() {
    let stub = StubExecutor::start().await;
    let shared: Arc<dyn Executor> = Arc::new(executor(&stub));

    let calls = (0..8).map(|i| {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let code = ModelCode::new("", format!("model = m{i}"), false);
            shared.load_model(&code).await.unwrap()
        })
    });
    for (i, call) in calls.collect::<Vec<_>>().into_iter().enumerate() {
        assert_eq!(call.await.unwrap(), format!("HDF5-STUB:model = m{i}"));
    }
    assert_eq!(stub.request_count(), 8);
}

#[actix_web::test]
async fn the_stub_serves_tests_running_on_actix_rt() {
    let stub = StubExecutor::start().await;
    let executor = executor(&stub);
    assert!(executor
        .check(ExecutorKind::TensorFlow, &ModelCode::new("", "model = 1", false))
        .await
        .unwrap()
        .is_valid());
    assert_eq!(stub.request_count(), 1);
}

#[tokio::test]
async fn the_stub_answers_unknown_requests_like_a_web_server() {
    let stub = StubExecutor::start().await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = stub.url();

    let status = |response: reqwest::Response| response.status().as_u16();
    let get = client.get(format!("{url}exec_tf/")).send().await.unwrap();
    assert_eq!(status(get), 405);
    let unknown = client.post(format!("{url}nowhere/")).body("{}").send().await.unwrap();
    assert_eq!(status(unknown), 404);
    let not_json = client.post(format!("{url}exec_tf/")).body("imports_code=x").send().await.unwrap();
    assert_eq!(status(not_json), 400);
    let pth_load = client
        .post(format!("{url}exec_pth/"))
        .body(r#"{"imports_code":"","model_code":"m","distributed":false,"request_type":"load_model"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(status(pth_load), 400);

    assert_eq!(stub.requests()[2], ("/exec_tf/".to_owned(), json!("imports_code=x")));
    assert_eq!(stub.request_count(), 4);
    stub.clear_requests();
    assert!(stub.requests().is_empty());
}

#[tokio::test]
async fn dropping_the_stub_stops_it() {
    let stub = StubExecutor::start().await;
    let url = stub.url();
    drop(stub);
    // The thread notices the shutdown promptly; the port then refuses connections.
    let executor = executor_for(&url, Duration::from_secs(2));
    let mut last = None;
    for _ in 0..50 {
        match executor.check(ExecutorKind::TensorFlow, &ModelCode::default()).await {
            Err(error @ ExecutorError::Unreachable { .. }) => {
                last = Some(error);
                break;
            }
            other => {
                last = other.err();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    assert!(matches!(last, Some(ExecutorError::Unreachable { .. })), "{last:?}");
}

fn conversion(model: &'static [u8], quantization: Option<Int8Quantization>) -> TfliteConversion {
    TfliteConversion { result_id: 42, model: bytes::Bytes::from_static(model), quantization }
}

#[tokio::test]
async fn convert_to_tflite_posts_the_reference_form_and_returns_the_model() {
    let stub = StubExecutor::start().await;
    let executor = executor(&stub);
    let model: &'static [u8] = b"\x89HDF\r\n\x1a\n binary \x00\xff model";

    let tflite = executor.convert_to_tflite(&conversion(model, None)).await.unwrap();

    let mut expected = TFLITE_PREFIX.to_vec();
    expected.extend_from_slice(model);
    assert_eq!(&tflite[..], &expected[..]);
    let request = &stub.raw_requests()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/convert_to_tflite/");
    assert!(request.header("content-type").unwrap().starts_with("multipart/form-data; boundary="));
    assert!(request.header("content-length").is_some());
    let parts = request.form_parts().unwrap();
    let fields: Vec<(String, Option<String>, String)> = parts
        .iter()
        .map(|p| (p.name.clone(), p.file_name.clone(), String::from_utf8_lossy(&p.body).into_owned()))
        .collect();
    let field = |n: &str, v: &str| (n.to_owned(), None, v.to_owned());
    assert_eq!(
        fields[..5],
        [
            field("applyQuantization", "False"),
            field("quantizationType", ""),
            field("modelDeploymentId", ""),
            field("dataControlTopic", ""),
            field("dataBootstrapServers", ""),
        ]
    );
    assert_eq!(parts[5].name, "42.h5");
    assert_eq!(parts[5].file_name.as_deref(), Some("42.h5"));
    assert_eq!(&parts[5].body[..], model);
    assert_eq!(parts.len(), 6);
}

#[tokio::test]
async fn convert_to_tflite_with_int8_quantization_sends_the_kafka_fields() {
    let stub = StubExecutor::start().await;
    let quantization = Int8Quantization {
        deployment_id: 7,
        control_topic: "control".to_owned(),
        bootstrap_servers: "kafka:9092".to_owned(),
    };

    let tflite = executor(&stub).convert_to_tflite(&conversion(b"h5", Some(quantization))).await.unwrap();

    assert_eq!(&tflite[..], b"TFLITE-STUB:int8:h5");
    let request = &stub.raw_requests()[0];
    assert_eq!(request.form_field("applyQuantization").as_deref(), Some("True"));
    assert_eq!(request.form_field("quantizationType").as_deref(), Some("int8"));
    assert_eq!(request.form_field("modelDeploymentId").as_deref(), Some("7"));
    assert_eq!(request.form_field("dataControlTopic").as_deref(), Some("control"));
    assert_eq!(request.form_field("dataBootstrapServers").as_deref(), Some("kafka:9092"));
}

#[tokio::test]
async fn convert_to_tflite_failures_are_rejected_or_unavailable() {
    let stub = StubExecutor::start().await;
    let error = executor(&stub).convert_to_tflite(&conversion(b"fail_code", None)).await.unwrap_err();
    assert_eq!(error.to_string(), "TensorFlow executor answered HTTP 400: the model could not be converted");
    assert!(!error.is_unavailable());

    let port = closed_port();
    let error = executor_for(&format!("http://127.0.0.1:{port}/"), Duration::from_secs(5))
        .convert_to_tflite(&conversion(b"h5", None))
        .await
        .unwrap_err();
    assert!(matches!(error, ExecutorError::Unreachable { .. }), "{error:?}");
    assert!(error.is_unavailable());
}

#[tokio::test]
async fn convert_to_tflite_has_its_own_30_second_bound() {
    // The configured request timeout (here 200 ms) does not cut a conversion short.
    let stub = StubExecutor::start().await;
    stub.set_response_delay(Some(Duration::from_millis(600)));
    let tflite = executor_for(&stub.url(), Duration::from_millis(200))
        .convert_to_tflite(&conversion(b"h5", None))
        .await
        .unwrap();
    assert_eq!(&tflite[..], b"TFLITE-STUB:h5");
    assert_eq!(crate::CONVERT_TIMEOUT, Duration::from_secs(30));
}

#[tokio::test]
async fn executors_that_cannot_convert_say_so() {
    struct Checker;
    #[async_trait::async_trait]
    impl Executor for Checker {
        async fn check(&self, _: ExecutorKind, _: &ModelCode) -> Result<CheckOutcome, ExecutorError> {
            Ok(CheckOutcome::Valid)
        }
        async fn load_model(&self, _: &ModelCode) -> Result<bytes::Bytes, ExecutorError> {
            Ok(bytes::Bytes::new())
        }
        async fn input_shape(&self, _: &ModelCode) -> Result<String, ExecutorError> {
            Ok(String::new())
        }
        async fn check_deploy_config(
            &self,
            _: ExecutorKind,
            _: &serde_json::Value,
            _: &str,
            _: &str,
        ) -> Result<CheckOutcome, ExecutorError> {
            Ok(CheckOutcome::Valid)
        }
    }
    let error = Checker.convert_to_tflite(&conversion(b"h5", None)).await.unwrap_err();
    assert!(matches!(error, ExecutorError::Request { .. }), "{error:?}");
}

/// A TLS front for `stub` with a certificate for `localhost` signed by a fresh certificate
/// authority: it accepts TLS connections on a loopback port and relays each to the stub. Returns
/// the front's `https://localhost:<port>/` URL and the authority's certificate (PEM).
async fn tls_front(stub: &StubExecutor) -> (String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    use tokio_rustls::rustls;

    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server_cert =
        CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&server_key, &issuer).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![server_cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(server_key.serialize_der()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let backend = stub.addr();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A handshake the client aborts (an unknown authority) simply ends here.
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (format!("https://localhost:{port}/"), ca_cert.pem())
}

#[tokio::test]
async fn https_executors_are_called_over_tls_trusting_the_extra_authority() {
    let stub = StubExecutor::start().await;
    let (url, ca_pem) = tls_front(&stub).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("executor-ca.pem");
    std::fs::write(&ca_file, &ca_pem).unwrap();
    let config = |extra_roots| ExecutorConfig {
        tf_url: url.clone(),
        pth_url: url.clone(),
        request_timeout: Duration::from_secs(10),
        extra_roots,
        ..ExecutorConfig::default()
    };
    let code = ModelCode::new("import torch", "model = Net()", false);

    // Trusting the authority of the executor's certificate: the call goes through TLS.
    let trusted = HttpExecutor::new(config(Some(crate::CaBundle::read(&ca_file).unwrap()))).unwrap();
    assert_eq!(trusted.check(ExecutorKind::PyTorch, &code).await.unwrap(), CheckOutcome::Valid);
    let requests = stub.raw_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/exec_pth/");

    // Without it the certificate is refused: a 503-class error that says why, and nothing reaches the stub.
    let untrusting = HttpExecutor::new(config(None)).unwrap();
    let e = untrusting.check(ExecutorKind::PyTorch, &code).await.unwrap_err();
    assert!(e.is_unavailable(), "{e:?}");
    let message = e.to_string();
    assert!(message.starts_with(&format!("PyTorch executor at {url} is unreachable: ")), "{message}");
    assert!(message.contains("certificate"), "{message}");
    assert_eq!(stub.raw_requests().len(), 1);
}

#[test]
fn a_ca_file_must_hold_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing.pem");
    let e = crate::CaBundle::read(&missing).unwrap_err();
    assert!(e.starts_with(&format!("cannot read {}: ", missing.display())), "{e}");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let e = crate::CaBundle::read(&empty).unwrap_err();
    assert!(e.contains("holds no certificate"), "{e}");
}
