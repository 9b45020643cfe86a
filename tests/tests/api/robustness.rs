//! No input produces a 500 (decisions.md item 9), and the global HTTP behaviour of docs/contract.md §1:
//! routing variants, 404/405/OPTIONS answers, CORS, `Host` checking, security headers, the
//! OpenAPI document, Swagger UI and the health probes.

use std::collections::BTreeSet;

use kafkaml_tests::{db_test, DbKind, TestApp};
use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::results::{answer, header, seed_tf, upload, MODEL_BYTES};

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const NOT_FOUND: &str = r#"{"detail":"Not found."}"#;

async fn sqlite_app() -> TestApp {
    TestApp::spawn(DbKind::Sqlite).await
}

/// The documented paths with their methods (upper case), from the served OpenAPI document.
async fn documented(app: &TestApp) -> Vec<(String, BTreeSet<String>)> {
    let doc = app.get_json("/api-docs/openapi.json").await;
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .unwrap()
                .keys()
                .map(|m| m.to_ascii_uppercase())
                .filter(|m| METHODS.contains(&m.as_str()))
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

/// The `Allow` set a documented path must answer: its methods, `HEAD` with `GET`, and `OPTIONS`.
fn allow_set(methods: &BTreeSet<String>) -> BTreeSet<String> {
    let mut set = methods.clone();
    if set.contains("GET") {
        set.insert("HEAD".to_owned());
    }
    set.insert("OPTIONS".to_owned());
    set
}

fn parse_allow(res: &Response) -> BTreeSet<String> {
    header(res, "allow").split(',').map(|m| m.trim().to_owned()).filter(|m| !m.is_empty()).collect()
}

fn concrete(template: &str, id: &str) -> String {
    template.split('/').map(|seg| if seg.starts_with('{') { id } else { seg }).collect::<Vec<_>>().join("/")
}

async fn send(app: &TestApp, method: &str, path: &str) -> Response {
    app.client.request(Method::from_bytes(method.as_bytes()).unwrap(), app.url(path)).send().await.unwrap()
}

/// Sends `request` as it is over a new connection and returns everything the server wrote until
/// it closed the connection (send `Connection: close`).
async fn raw_http(app: &TestApp, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.address.strip_prefix("http://").unwrap();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection")
        .unwrap();
    String::from_utf8(answer).unwrap()
}

async fn send_body(app: &TestApp, method: &str, path: &str, ctype: &str, body: Vec<u8>) -> Response {
    app.client
        .request(Method::from_bytes(method.as_bytes()).unwrap(), app.url(path))
        .header("content-type", ctype)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// A model, a configuration, a deployment with result 1 and an inference of it.
fn seed_everything(app: &TestApp) {
    let s = seed_tf(app, |_| {});
    app.seed_inference(Some(s.result()), "deployed", |new| new.token = Some("secret".to_owned()));
}

// ---------------------------------------------------------------------------------------------
// Routing: 405 with Allow, OPTIONS, 404, slash and /api variants

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_methods_answer_405_with_allow_on_every_route() {
    let app = sqlite_app().await;
    let routes = documented(&app).await;
    assert!(routes.len() >= 20, "{routes:?}");
    let mut checked = 0;
    for (template, methods) in &routes {
        let expected = allow_set(methods);
        for method in METHODS.iter().filter(|m| !methods.contains(**m)) {
            for path in [concrete(template, "1"), format!("/api{}/", concrete(template, "1"))] {
                let res = send(&app, method, &path).await;
                let allow = parse_allow(&res);
                let (status, ctype, body) = answer(res).await;
                assert_eq!(status, 405, "{method} {path}: {body}");
                assert_eq!(ctype, "application/json", "{method} {path}");
                assert_eq!(body, format!(r#"{{"detail":"Method \"{method}\" not allowed."}}"#), "{method} {path}");
                assert_eq!(allow, expected, "Allow of {method} {path}");
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} combinations checked");
    // The contract's examples.
    for (method, path, allow) in [
        ("PUT", "/results/1", "DELETE, GET, HEAD, OPTIONS, POST"),
        ("PATCH", "/results/1", "DELETE, GET, HEAD, OPTIONS, POST"),
        ("GET", "/results_metrics/1", "OPTIONS, POST"),
        ("POST", "/models/1", "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"),
        ("DELETE", "/results/", "GET, HEAD, OPTIONS"),
        ("PUT", "/models/distributed", "GET, HEAD, OPTIONS"),
        ("DELETE", "/models/fathers/", "GET, HEAD, OPTIONS"),
        ("POST", "/results/chart/1", "GET, HEAD, OPTIONS"),
    ] {
        let res = send(&app, method, path).await;
        assert_eq!(res.status(), 405, "{method} {path}");
        let got: Vec<String> = parse_allow(&res).into_iter().collect();
        assert_eq!(got.join(", "), allow, "{method} {path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_answers_allow_on_every_route() {
    let app = sqlite_app().await;
    for (template, methods) in documented(&app).await {
        for path in [concrete(&template, "1"), format!("/api{}/", concrete(&template, "7"))] {
            let res = send(&app, "OPTIONS", &path).await;
            assert_eq!(res.status(), 200, "OPTIONS {path}");
            assert_eq!(parse_allow(&res), allow_set(&methods), "OPTIONS {path}");
        }
    }
    // Unknown paths are 404 for OPTIONS too.
    let (status, _, body) = answer(send(&app, "OPTIONS", "/nowhere").await).await;
    assert_eq!((status, body.as_str()), (404, NOT_FOUND));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_are_drf_404s() {
    let app = sqlite_app().await;
    for path in [
        "/",
        "/api",
        "/api/",
        "/nope",
        "/api/nope/",
        "/resultsx",
        "/results/1/extra",
        "/models/1/2",
        "/data/trained/1.h5",
        "/adminx/",
        "/apimodels/",
        "/api/api/models/",
        "//models/",
    ] {
        for method in ["GET", "POST", "DELETE"] {
            let (status, ctype, body) = answer(send(&app, method, path).await).await;
            assert_eq!(status, 404, "{method} {path}: {body}");
            assert_eq!(ctype, "application/json", "{method} {path}");
            assert_eq!(body, NOT_FOUND, "{method} {path}");
        }
    }
    // `/results/model` is `/results/{id}` with an id that names no result: that route's 404.
    for method in ["GET", "POST", "DELETE"] {
        for path in ["/results/model", "/results/model/"] {
            let unknown = answer(send(&app, method, "/results/1999999999").await).await;
            assert_eq!(answer(send(&app, method, path).await).await, unknown, "{method} {path}");
        }
    }
}

db_test!(ids_that_name_no_object_answer_as_unknown_ids_on_every_route, |app| async move {
    seed_everything(&app);
    let routes = documented(&app).await;
    for (template, methods) in routes.iter().filter(|(t, _)| t.contains('{')) {
        // An id that names no object — not an integer, negative, zero, beyond the ids' range —
        // answers what an unknown id answers, text and content type alike: the 404 the OpenAPI
        // document describes for the route.
        let no_object = ["abc", "1.5", "1e3", "%20", "0x1", "+1", "-1", "0", "99999999999999999999", "2147483648"];
        for id in no_object.into_iter().filter(|_| template.contains("{id}")) {
            for method in methods {
                let unknown = answer(send(&app, method, &concrete(template, "1999999999")).await).await;
                let path = concrete(template, id);
                let beyond = answer(send(&app, method, &path).await).await;
                assert_eq!(beyond, unknown, "{method} {path}");
                assert!(beyond.0 >= 400 && beyond.0 < 500, "{method} {path}: {beyond:?}");
            }
        }
        // The devices' download paths name a token, not an id: any other text is not found.
        for id in ["abc", "-1", "99999999999999999999"].into_iter().filter(|_| template.contains("{token}")) {
            for method in methods {
                let path = concrete(template, id);
                let (status, ctype, body) = answer(send(&app, method, &path).await).await;
                assert_eq!(status, 404, "{method} {path}: {body}");
                assert_eq!((ctype.as_str(), body.as_str()), ("application/json", NOT_FOUND), "{method} {path}");
            }
        }
        for id in ["0", "2147483647", "0002147483647"] {
            for method in methods {
                let path = concrete(template, id);
                let (status, _, body) = answer(send(&app, method, &path).await).await;
                assert!(status < 500, "{method} {path}: {status} {body}");
            }
        }
    }
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_and_api_prefix_variants_answer_alike() {
    let app = sqlite_app().await;
    seed_everything(&app);
    for base in [
        "/models",
        "/configurations",
        "/deployments",
        "/results",
        "/inferences",
        "/datasources",
        "/models/1",
        "/results/chart/1",
        "/models/distributed",
        "/models/fathers",
    ] {
        let reference = app.get(base).await;
        assert_eq!(reference.status(), 200, "{base}");
        let reference = reference.text().await.unwrap();
        for path in [format!("{base}/"), format!("/api{base}"), format!("/api{base}/")] {
            let res = app.get(&path).await;
            assert_eq!(res.status(), 200, "{path}");
            assert_eq!(res.text().await.unwrap(), reference, "{path}");
        }
    }
    // HEAD answers the GET headers, Content-Length included, without a body.
    for path in ["/models", "/api/results/", "/results/chart/1"] {
        let get = app.get(path).await;
        let length = get.headers()["content-length"].clone();
        assert!(!get.bytes().await.unwrap().is_empty(), "{path}");
        let res = send(&app, "HEAD", path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["content-length"], length, "{path}");
        assert!(res.bytes().await.unwrap().is_empty());
    }
    // The raw answer to HEAD ends after the headers, so the connection stays usable.
    let raw = raw_http(&app, "HEAD /models/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(!head.to_ascii_lowercase().contains("content-length: 0\r"), "{head}");
    assert_eq!(body, "", "HEAD sent a body");
    // A query string survives the normalisation.
    assert_eq!(app.get("/api/results/?format=json").await.status(), 200);
    // POST without the slash works (no 301 dance, no 500).
    let res = app.post_json("/api/models", &json!({"name": "noslash", "code": "model = x", "framework": "tf"})).await;
    assert_eq!(res.status(), 201);
}

// ---------------------------------------------------------------------------------------------
// Bodies: malformed, wrong types, huge numbers, oversized

db_test!(malformed_bodies_are_400s, |app| async move {
    seed_everything(&app);
    let bodies: [&[u8]; 12] = [
        b"",
        b"   ",
        b"{",
        b"{\"name\": }",
        b"[]",
        b"[{}]",
        b"null",
        b"1",
        b"\"text\"",
        b"{\"name\": 1, \"code\": [], \"framework\": {}, \"ml_models\": \"x\", \"deployment\": [], \"topic\": 5}",
        b"\xff\xfe\x00garbage",
        b"{\"name\": \"\xff\"}",
    ];
    let targets = [
        ("POST", "/models/"),
        ("PUT", "/models/1"),
        ("PATCH", "/models/1"),
        ("POST", "/configurations/"),
        ("PUT", "/configurations/1"),
        ("PATCH", "/configurations/1"),
        ("POST", "/datasources/"),
    ];
    for (method, path) in targets {
        for body in bodies {
            for ctype in ["application/json", "text/plain", "application/x-www-form-urlencoded"] {
                let res = send_body(&app, method, path, ctype, body.to_vec()).await;
                let (status, _, text) = answer(res).await;
                assert!(
                    status == 400 || status == 415,
                    "{method} {path} {ctype} {:?}: {status} {text}",
                    String::from_utf8_lossy(body)
                );
            }
        }
    }
    // Nothing was created or changed by any of them.
    assert_eq!(app.get_json("/models/").await.as_array().unwrap().len(), 1);
    assert_eq!(app.get_json("/configurations/").await.as_array().unwrap().len(), 1);
    assert_eq!(app.get_json("/datasources/").await, json!([]));
});

db_test!(huge_numbers_in_bodies_are_400s_and_never_wrap, |app| async move {
    seed_everything(&app);
    let model_1 = app.get_json("/models/").await[0]["id"].as_i64().unwrap();
    assert_eq!(model_1, 1);
    for ids in [
        json!([4294967297_i64]),
        json!([2147483648_i64]),
        json!([-1]),
        json!([99999999999999999999.0_f64]),
        json!([1e300]),
        json!([0.5]),
    ] {
        let res = app.post_json("/configurations/", &json!({"name": "wrap", "ml_models": ids})).await;
        let (status, _, body) = answer(res).await;
        assert_eq!(status, 400, "ml_models {ids}: {body}");
        let res = app.put_json("/configurations/1", &json!({"name": "wrap", "ml_models": ids})).await;
        let (status, _, body) = answer(res).await;
        assert_eq!(status, 400, "PUT ml_models {ids}: {body}");
    }
    let configurations = app.get_json("/configurations/").await;
    assert_eq!(configurations.as_array().unwrap().len(), 1, "{configurations}");
    assert_eq!(configurations[0]["ml_models"], json!([{"id": 1, "name": "tf1"}]), "nothing wrapped onto model 1");

    for father in [json!(4294967297_i64), json!(99999999999999999999.0_f64), json!(-5), json!("99999999999999999999")] {
        let body =
            json!({"name": "child", "code": "model = c", "framework": "tf", "distributed": true, "father": father});
        let (status, _, text) = answer(app.post_json("/models/", &body).await).await;
        assert_eq!(status, 400, "father {father}: {text}");
        let (status, _, text) = answer(app.put_json("/models/1", &body).await).await;
        assert_eq!(status, 400, "PUT father {father}: {text}");
    }
    assert_eq!(app.get_json("/models/").await.as_array().unwrap().len(), 1);

    // Raw numbers beyond any integer type in JSON text.
    let raw = br#"{"name": "big", "code": "model = x", "framework": "tf", "distributed": true, "father": 99999999999999999999999999999999}"#;
    let res = send_body(&app, "POST", "/models/", "application/json", raw.to_vec()).await;
    assert_eq!(res.status(), 400);
    let raw =
        br#"{"deployment": "1", "topic": "t:0:0:1", "time": "2024-05-01T10:00:00", "total_msg": 99999999999999999999}"#;
    let res = send_body(&app, "POST", "/datasources/", "application/json", raw.to_vec()).await;
    assert_eq!(res.status(), 400);
    let raw = br#"{"deployment": 99999999999999999999, "topic": "t:0:0:1", "time": "2024-05-01T10:00:00", "total_msg": 1e400}"#;
    let res = send_body(&app, "POST", "/datasources/", "application/json", raw.to_vec()).await;
    assert_eq!(res.status(), 400);

    // Training uploads and metrics.
    for time in ["99999999999999999999", "1e400", "-0.00001", "1e-300"] {
        let form =
            crate::results::upload_form(Some(MODEL_BYTES), None, Some(&format!(r#"{{"training_time": {time}}}"#)));
        let res = crate::results::post_form(&app, "/results/1", form).await;
        assert_eq!(res.status(), 400, "training_time {time}");
    }
    let res = app
        .post_raw("/results_metrics/1", "application/x-www-form-urlencoded", "data=%7B%22train_metrics%22%3A1e400%7D")
        .await;
    assert_eq!(res.status(), 400);
    let res = crate::results::post_metrics_form(
        &app,
        "/results_metrics/1",
        &json!({"train_metrics": {"loss": [1e308, -1e308, 99999999999999999999_u128 as f64]}}),
    )
    .await;
    assert_eq!(res.status(), 200, "large but finite metric values are data");
    let row = crate::results::row(&app, 1).unwrap();
    assert_eq!(row.status.as_str(), "created");
    assert_eq!(row.training_time, None);
});

db_test!(oversized_bodies_are_refused_cleanly, |app| async move {
    seed_everything(&app);
    let big = vec![b'a'; 17 * 1024 * 1024];
    let mut form = b"data=".to_vec();
    form.extend_from_slice(&big);
    let (status, _, body) =
        answer(app.post_raw("/results_metrics/1", "application/x-www-form-urlencoded", form).await).await;
    assert_eq!((status, body.as_str()), (400, "The request body is larger than 16 MiB."));
    let form = crate::results::upload_form(Some(MODEL_BYTES), None, Some(std::str::from_utf8(&big).unwrap()));
    let (status, _, body) = answer(crate::results::post_form(&app, "/results/1", form).await).await;
    assert_eq!((status, body.as_str()), (400, "A form field is larger than 16 MiB."));
    assert!(crate::results::trained_files(&app).is_empty(), "{:?}", crate::results::trained_files(&app));
    let mut json_body = b"{\"name\": \"".to_vec();
    json_body.extend_from_slice(&big);
    json_body.extend_from_slice(b"\"}");
    let res = send_body(&app, "POST", "/models/", "application/json", json_body).await;
    let status = res.status().as_u16();
    assert!(status == 400 || status == 413, "{status}");
    assert_eq!(app.get_json("/models/").await.as_array().unwrap().len(), 1);
});

db_test!(no_input_produces_a_500, |app| async move {
    seed_everything(&app);
    let routes = documented(&app).await;
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", b"{".to_vec()),
        ("application/json", b"[]".to_vec()),
        ("application/json", b"null".to_vec()),
        (
            "application/json",
            br#"{"data": 1, "id": 99999999999999999999, "configuration": -1, "ml_models": [2147483648]}"#.to_vec(),
        ),
        (
            "application/json",
            br#"{"name": [], "code": {}, "framework": "keras", "batch": 99999999999999999999, "replicas": -1}"#
                .to_vec(),
        ),
        (
            "application/json",
            br#"{"model_result": 4294967297, "input_format": "XML", "status": "finished", "father": {"id": "x"}}"#
                .to_vec(),
        ),
        ("application/x-www-form-urlencoded", b"data=%7B%22train_metrics%22%3A%5B%5D%7D&x=%ZZ".to_vec()),
        (
            "multipart/form-data; boundary=B",
            b"--B\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\n{}\r\n--B--\r\n".to_vec(),
        ),
        ("multipart/form-data; boundary=B", b"--B\r\nbroken".to_vec()),
        ("text/plain", b"\xff\xfe".to_vec()),
    ];
    let ids = ["1", "0", "2", "abc", "99999999999999999999", "2147483648"];
    let mut count = 0;
    for (template, _) in &routes {
        let ids: &[&str] = if template.contains('{') { &ids } else { &["-"] };
        for id in ids {
            let path = concrete(template, id);
            for method in ["GET", "HEAD", "OPTIONS", "DELETE"] {
                let res = send(&app, method, &path).await;
                let status = res.status().as_u16();
                assert!(status != 500, "{method} {path}: {}", res.text().await.unwrap());
                count += 1;
            }
            for method in ["POST", "PUT", "PATCH"] {
                for (ctype, body) in &bodies {
                    let res = send_body(&app, method, &path, ctype, body.clone()).await;
                    let status = res.status().as_u16();
                    assert!(status != 500, "{method} {path} {ctype}: {}", res.text().await.unwrap());
                    count += 1;
                }
            }
        }
    }
    assert!(count > 1000, "{count}");
    // The app still answers normally.
    assert_eq!(app.get("/readyz").await.status(), 200);
});

// ---------------------------------------------------------------------------------------------
// CORS, Host, security headers

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_answers_whitelisted_origins_only() {
    let app = sqlite_app().await;
    for origin in ["http://localhost:4200", "http://localhost"] {
        let res = app.client.get(app.url("/models/")).header("Origin", origin).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "access-control-allow-origin"), origin);
        let vary: Vec<String> = res.headers().get_all("vary").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        assert!(vary.iter().flat_map(|v| v.split(',')).any(|v| v.trim().eq_ignore_ascii_case("origin")), "{vary:?}");
    }
    for origin in ["http://evil.example", "http://localhost:4201", "null", "https://localhost:4200"] {
        let res = app.client.get(app.url("/models/")).header("Origin", origin).send().await.unwrap();
        assert_eq!(res.status(), 200, "the request is served, the browser blocks the answer");
        assert!(res.headers().get("access-control-allow-origin").is_none(), "{origin}");
        assert!(res.headers().get("access-control-allow-credentials").is_none(), "{origin}");
    }
    // Without Origin there is nothing to add.
    let res = app.get("/models/").await;
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflight_has_the_contract_headers() {
    let app = sqlite_app().await;
    for path in ["/models/", "/api/results/1", "/api/results/model/3/"] {
        let res = app
            .client
            .request(Method::OPTIONS, app.url(path))
            .header("Origin", "http://localhost:4200")
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(header(&res, "access-control-allow-origin"), "http://localhost:4200");
        let set = |name: &str| -> BTreeSet<String> {
            header(&res, name).split(',').map(|s| s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()).collect()
        };
        assert_eq!(
            set("access-control-allow-methods"),
            ["delete", "get", "options", "patch", "post", "put"].map(str::to_owned).into_iter().collect()
        );
        assert_eq!(
            set("access-control-allow-headers"),
            [
                "accept",
                "accept-encoding",
                "authorization",
                "content-type",
                "dnt",
                "origin",
                "user-agent",
                "x-csrftoken",
                "x-requested-with"
            ]
            .map(str::to_owned)
            .into_iter()
            .collect()
        );
        assert_eq!(header(&res, "access-control-max-age"), "86400");
        assert!(res.bytes().await.unwrap().is_empty());
    }
    // A preflight from another origin gets no CORS headers.
    let res = app
        .client
        .request(Method::OPTIONS, app.url("/models/"))
        .header("Origin", "http://evil.example")
        .header("Access-Control-Request-Method", "DELETE")
        .send()
        .await
        .unwrap();
    assert!(res.status().as_u16() < 500);
    assert!(res.headers().get("access-control-allow-origin").is_none());
    assert!(res.headers().get("access-control-allow-methods").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_header_must_be_allowed() {
    let app = sqlite_app().await;
    let with_host = |host: &'static str, path: &'static str| {
        let req = app.client.get(app.url(path)).header("Host", host);
        async move { req.send().await.unwrap() }
    };
    for host in ["localhost", "localhost:8000", "127.0.0.1:8000", "backend:8000", "frontend", "[::1]:8000", "LOCALHOST"]
    {
        assert_eq!(with_host(host, "/models/").await.status(), 200, "{host}");
    }
    for host in ["evil.example", "evil.example:8000", "localhost.evil.example", "backend.evil", "[::2]:80", "127.0.0.2"]
    {
        let res = with_host(host, "/models/").await;
        let sec = header(&res, "x-content-type-options");
        let (status, ctype, body) = answer(res).await;
        assert_eq!(
            (status, ctype.as_str(), body.as_str()),
            (400, "text/plain; charset=utf-8", "Bad Request: invalid Host header."),
            "{host}"
        );
        assert_eq!(sec, "nosniff", "security headers on the refusal too");
    }
    // Forwarding headers do not smuggle a host past the check (Django ignores them too).
    for (name, value) in [
        ("X-Forwarded-Host", "localhost"),
        ("Forwarded", "host=localhost"),
        ("Forwarded", "for=1.2.3.4;host=localhost;proto=http"),
    ] {
        let res = app
            .client
            .get(app.url("/models/"))
            .header("Host", "evil.example")
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{name}: {value}");
    }
    // Probes from the kubelet use the pod IP as Host.
    assert_eq!(with_host("10.1.2.3:8000", "/healthz").await.status(), 200);
    assert_eq!(with_host("10.1.2.3:8000", "/readyz").await.status(), 200);
    assert_eq!(with_host("10.1.2.3:8000", "/api/healthz/").await.status(), 200);

    let open = TestApp::spawn_with(DbKind::Sqlite, |s| s.server.allowed_hosts = "*".to_owned()).await;
    let res = open.client.get(open.url("/models/")).header("Host", "anything.example").send().await.unwrap();
    assert_eq!(res.status(), 200, "ALLOWED_HOSTS=* accepts any host");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_on_every_kind_of_answer() {
    let app = sqlite_app().await;
    let s = seed_tf(&app, |_| {});
    assert_eq!(upload(&app, s.result(), None, &json!({})).await.status(), 200);
    let requests: Vec<(&str, String)> = vec![
        ("GET", "/models/".to_owned()),
        ("GET", "/nope".to_owned()),
        ("PUT", "/results/1".to_owned()),
        ("OPTIONS", "/results/1".to_owned()),
        ("GET", "/results/999".to_owned()),
        ("GET", format!("/results/model/{}", s.result())),
        ("GET", format!("/results/{}", s.result())),
        ("POST", "/results_metrics/1".to_owned()),
        ("GET", "/healthz".to_owned()),
        ("GET", "/swagger-ui/".to_owned()),
        ("GET", "/api-docs/openapi.json".to_owned()),
    ];
    let api_csp = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";
    for (method, path) in requests {
        let res = send(&app, method, &path).await;
        assert_eq!(header(&res, "x-frame-options"), "DENY", "{method} {path}");
        assert_eq!(header(&res, "x-content-type-options"), "nosniff", "{method} {path}");
        assert_eq!(header(&res, "referrer-policy"), "same-origin", "{method} {path}");
        if path.starts_with("/swagger-ui") {
            // Swagger UI's own policy (its scripts are files of this site), and its static files may be cached.
            let csp = header(&res, "content-security-policy");
            assert!(csp.contains("script-src 'self';") && !csp.contains("unsafe-eval"), "{csp}");
            assert!(res.headers().get("cache-control").is_none(), "{method} {path}");
        } else {
            assert_eq!(header(&res, "content-security-policy"), api_csp, "{method} {path}");
            assert_eq!(header(&res, "cache-control"), "no-store", "{method} {path}");
        }
    }
    // Answers that middleware gives before any handler: a CORS preflight, a refused Host, a 405.
    let preflight = app
        .client
        .request(Method::OPTIONS, app.url("/models/"))
        .header("Origin", "http://localhost:4200")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    let bad_host = app.client.get(app.url("/models/")).header("Host", "evil.example").send().await.unwrap();
    let not_allowed = send(&app, "PATCH", "/models/").await;
    for (what, res) in [("preflight", preflight), ("bad host", bad_host), ("405", not_allowed)] {
        assert_eq!(header(&res, "x-content-type-options"), "nosniff", "{what}");
        assert_eq!(header(&res, "cache-control"), "no-store", "{what}");
        assert_eq!(header(&res, "content-security-policy"), api_csp, "{what}");
    }
    // The admin keeps its own policy and caching rules.
    let login = app.get("/admin/login/").await;
    assert_eq!(header(&login, "content-security-policy"), kafkaml_api::admin::view::CONTENT_SECURITY_POLICY);
    assert_eq!(header(&login, "cache-control"), "no-store");
    let css = app.get("/admin/static/admin.css").await;
    assert_eq!(header(&css, "cache-control"), "public, max-age=3600");
    assert_eq!(header(&css, "x-content-type-options"), "nosniff");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_uis_development_origin_is_trusted_only_through_cors_extra_origins() {
    let app = TestApp::spawn_with(DbKind::Sqlite, |s| s.server.cors_extra_origins = Default::default()).await;
    let res = app.client.get(app.url("/models/")).header("Origin", "http://localhost:4200").send().await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none(), "no CORS for 4200 by default");
    let res = app
        .client
        .post(app.url("/models/"))
        .header("Origin", "http://localhost:4200")
        .header("Content-Type", "application/json")
        .body(r#"{"name":"m","code":"model = 1","framework":"tf"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "a change from the development origin is a cross-site request by default");
    // FRONTEND_URL stays trusted.
    let res = app.client.get(app.url("/models/")).header("Origin", "http://localhost").send().await.unwrap();
    assert_eq!(header(&res, "access-control-allow-origin"), "http://localhost");
}

// ---------------------------------------------------------------------------------------------
// OpenAPI, Swagger UI, health

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swagger_ui_and_openapi_document() {
    let app = sqlite_app().await;
    for path in ["/swagger-ui/", "/api/swagger-ui/"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert!(header(&res, "content-type").starts_with("text/html"), "{path}");
        let html = res.text().await.unwrap();
        assert!(html.contains("swagger"), "{html}");
    }
    for path in ["/swagger-ui", "/api/swagger-ui"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 301, "{path}");
        assert_eq!(header(&res, "location"), "swagger-ui/", "relative, so /api/swagger-ui goes to /api/swagger-ui/");
        let target = reqwest::Url::parse(&app.url(path)).unwrap().join("swagger-ui/").unwrap();
        assert_eq!(target.path(), format!("{path}/"));
        assert_eq!(app.client.get(target).send().await.unwrap().status(), 200);
    }
    let res = app.get("/swagger-ui/swagger-initializer.js").await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("/api-docs/openapi.json"));
    let res = app.get("/api-docs/openapi.json").await;
    assert_eq!(res.status(), 200);
    assert!(header(&res, "content-type").starts_with("application/json"));
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in ["/models", "/results", "/results/{id}", "/results_metrics/{id}", "/results/chart/{id}", "/healthz"] {
        assert!(paths.contains_key(path), "{path} missing from {:?}", paths.keys().collect::<Vec<_>>());
    }
    assert!(paths["/results/{id}"]["post"]["requestBody"]["content"]["multipart/form-data"].is_object());
    // What is served is the committed document (`openapi/openapi.json`, kept current by a test).
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json")).unwrap();
    assert_eq!(doc, serde_json::from_str::<Value>(&committed).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_probes() {
    let app = sqlite_app().await;
    for (path, body) in [("/healthz", "ok"), ("/readyz", "ready"), ("/api/healthz/", "ok"), ("/readyz/", "ready")] {
        let (status, ctype, text) = answer(app.get(path).await).await;
        assert_eq!((status, ctype.as_str(), text.as_str()), (200, "text/plain; charset=utf-8", body), "{path}");
    }
    let res = send(&app, "HEAD", "/healthz").await;
    assert_eq!(res.status(), 200);
}

/// After PostgreSQL dropped every connection of the back-end (a restart, a fail-over), the pool
/// replaces them: readiness and ordinary requests work again at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_database_connections_are_replaced() {
    use diesel::connection::SimpleConnection;

    let name = format!("kafkaml_ready_{}", uuid::Uuid::new_v4().simple());
    let app_name = name.clone();
    let app = TestApp::spawn_with(DbKind::Postgres, move |s| {
        let url = s.database.url.clone().unwrap();
        s.database.url = Some(format!("{url}&application_name={app_name}"));
    })
    .await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    let mut admin = kafkaml_tests::postgres_admin().unwrap();
    admin
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{name}'"
        ))
        .unwrap();
    for _ in 0..8 {
        let (status, _, body) = answer(app.get("/readyz").await).await;
        assert_eq!((status, body.as_str()), (200, "ready"));
        assert_eq!(app.get("/results/").await.status(), 200);
    }
}

/// A TCP relay to PostgreSQL that the test can cut and restore, to make the database unreachable.
struct Relay {
    port: u16,
    upstream: String,
    tasks: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Relay {
    async fn start(port: u16, upstream: &str) -> Relay {
        let relay = Relay { port, upstream: upstream.to_owned(), tasks: Default::default() };
        relay.listen().await
    }

    async fn listen(self) -> Relay {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(([127, 0, 0, 1], self.port).into()).unwrap();
        let listener = socket.listen(64).unwrap();
        let port = listener.local_addr().unwrap().port();
        let upstream = self.upstream.clone();
        let tasks = self.tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(conn.abort_handle());
            }
        });
        self.tasks.lock().unwrap().push(accept.abort_handle());
        Relay { port, ..self }
    }

    /// Closes the listener and every relayed connection.
    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

/// `/readyz` answers 503 while the database cannot be reached, other requests a clear 503 (never
/// a 500), and both recover when it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_while_the_database_is_unreachable() {
    let base = kafkaml_tests::postgres_base_url();
    let authority = base.split("://").nth(1).unwrap().split('/').next().unwrap();
    let upstream = authority.rsplit('@').next().unwrap().to_owned();
    let upstream = if upstream.contains(':') { upstream } else { format!("{upstream}:5432") };
    let relay = Relay::start(0, &upstream).await;
    let port = relay.port;
    let from = upstream.clone();
    let app = TestApp::spawn_with(DbKind::Postgres, move |s| {
        let url = s.database.url.clone().unwrap();
        s.database.url = Some(url.replacen(&from, &format!("127.0.0.1:{port}"), 1));
    })
    .await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    assert_eq!(app.get("/results/").await.status(), 200);

    relay.cut();
    let (status, ctype, body) = answer(app.get("/readyz").await).await;
    assert_eq!((status, ctype.as_str()), (503, "text/plain; charset=utf-8"), "{body}");
    assert_eq!(body, kafkaml_api::routes::health::NOT_READY);
    let (status, _, body) = answer(app.get("/results/").await).await;
    assert_eq!((status, body.as_str()), (503, "The database is unavailable, try again later."));
    assert_eq!(app.get("/healthz").await.status(), 200, "liveness does not depend on the database");

    let _relay = Relay::start(port, &upstream).await;
    let mut recovered = false;
    for _ in 0..40 {
        if app.get("/readyz").await.status() == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(recovered, "readiness came back with the database");
    assert_eq!(app.get("/results/").await.status(), 200);
}
