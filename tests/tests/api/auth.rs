//! Authentication of the REST API (`KAFKAML_AUTH`): every documented operation against
//! anonymous, viewer, operator and superuser callers; API tokens (`Token`/`Bearer`, invalid,
//! expired, inactive users); admin sessions with the `X-XSRF-TOKEN` check; the control logger's
//! path; and the audit trail of what each caller changed.

use kafkaml_api::auth::{access, Access};
use kafkaml_api::settings::{AuthMode, Settings};
use kafkaml_domain::Role;
use kafkaml_persistence::repo::{audit, datasources, models, users};
use kafkaml_tests::admin::{AdminClient, SUPERUSER_PASSWORD};
use kafkaml_tests::auth::As;
use kafkaml_tests::{db_test, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn auth_on(settings: &mut Settings) {
    settings.server.auth = AuthMode::On;
}

/// Every documented operation: its method, a concrete path and its operation id.
fn operations() -> Vec<(Method, String, String)> {
    let document: Value = serde_json::from_str(&kafkaml_api::openapi::document_json().unwrap()).unwrap();
    let mut all = Vec::new();
    for (template, item) in document["paths"].as_object().unwrap() {
        let path = template.replace("{id}", "1").replace("{token}", "ABCDEF12");
        for (method, operation) in item.as_object().unwrap() {
            let Ok(method) = method.to_ascii_uppercase().parse::<Method>() else { continue };
            all.push((method, path.clone(), operation["operationId"].as_str().unwrap().to_owned()));
        }
    }
    assert!(all.len() > 50, "{all:?}");
    all
}

/// Calls `method path` with an `Authorization` header when `key` is given (and `{}` as the body
/// of unsafe methods); the status and the `detail` of a JSON answer.
async fn call(app: &TestApp, method: &Method, path: &str, key: Option<&str>) -> (StatusCode, String) {
    let mut request = app.client.request(method.clone(), app.url(path));
    if let Some(key) = key {
        request = request.header("Authorization", format!("Token {key}"));
    }
    if !matches!(*method, Method::GET | Method::HEAD) {
        request = request.json(&json!({}));
    }
    let res = request.send().await.unwrap();
    let status = res.status();
    let detail = res.json::<Value>().await.ok().and_then(|v| v["detail"].as_str().map(str::to_owned));
    (status, detail.unwrap_or_default())
}

/// `POST /models/` with `body` and this `Authorization` header; the status.
async fn post_model(app: &TestApp, authorization: &str, body: &Value) -> StatusCode {
    let request = app.client.post(app.url("/models/")).header("Authorization", authorization).json(body);
    request.send().await.unwrap().status()
}

/// Whether `role` may call an operation that needs `access` (pods aside).
fn allowed(access: Access, caller: As) -> bool {
    let needed = match access {
        Access::Public => return true,
        Access::Role(role) | Access::Pod(_, role) => role,
    };
    match caller {
        As::Superuser | As::Operator => true,
        As::Viewer => needed == Role::Viewer,
    }
}

db_test!(with_auth_on_every_operation_is_refused_or_served_by_role, settings = auth_on, |app| async move {
    let viewer = app.user_with_token("vera", As::Viewer).await.1;
    let operator = app.user_with_token("otto", As::Operator).await.1;
    let superuser = app.user_with_token("sue", As::Superuser).await.1;
    for (method, path, id) in operations() {
        // A new operation must be classified in auth::access before it can be called at all.
        let rule = access(&id).unwrap_or_else(|| panic!("{method} {path} ({id}) has no access rule"));
        // Whatever the table says: a change needs an operator (or a pod's capability), and only
        // the health checks and the devices' downloads are open.
        match rule {
            Access::Public => assert!(
                ["healthz", "readyz", "download_iot_device_script", "download_iot_device_model"].contains(&id.as_str()),
                "{id} is open to anyone"
            ),
            Access::Role(role) | Access::Pod(_, role) if method != Method::GET => {
                assert_eq!(role, Role::Operator, "{method} {path} changes something")
            }
            _ => {}
        }
        let (status, detail) = call(&app, &method, &path, None).await;
        if rule == Access::Public {
            assert!(status != 401 && status != 403, "anonymous {method} {path}: {status} {detail}");
        } else {
            assert_eq!(
                (status, detail.as_str()),
                (StatusCode::UNAUTHORIZED, "Authentication credentials were not provided."),
                "anonymous {method} {path}"
            );
        }
        for (who, key) in [(As::Viewer, &viewer), (As::Operator, &operator), (As::Superuser, &superuser)] {
            let (status, detail) = call(&app, &method, &path, Some(key)).await;
            if allowed(rule, who) {
                assert!(status != 401 && status != 403, "{who:?} {method} {path}: {status} {detail}");
            } else {
                assert_eq!(
                    (status, detail.as_str()),
                    (StatusCode::FORBIDDEN, "You do not have permission to perform this action."),
                    "{who:?} {method} {path}"
                );
            }
        }
    }
    // A refused change changed nothing.
    assert!(models::list(&mut app.db.connect(), models::ModelFilter::All).unwrap().is_empty());
});

db_test!(tokens_are_read_from_both_schemes_and_a_bad_one_is_refused_whatever_the_mode, |app| async move {
    let (_, key) = app.user_with_token("otto", As::Operator).await;
    for header in [format!("Token {key}"), format!("Bearer {key}"), format!("token {key}")] {
        let res = app.client.get(app.url("/models/")).header("Authorization", header.clone()).send().await.unwrap();
        assert_eq!(res.status(), 200, "{header}");
    }
    for (header, detail) in [
        ("Token kml_not-a-key".to_owned(), "Invalid token."),
        ("Bearer nonsense".to_owned(), "Invalid token."),
        ("Token".to_owned(), "Invalid token header. No credentials provided."),
        (format!("Token {key} extra"), "Invalid token header. Token string should not contain spaces."),
    ] {
        let res = app.client.get(app.url("/models/")).header("Authorization", header.clone()).send().await.unwrap();
        assert_eq!(res.status(), 401, "{header}");
        assert_eq!(res.headers()["www-authenticate"], "Token");
        assert_eq!(res.json::<Value>().await.unwrap()["detail"], detail, "{header}");
    }
    // Public routes look at no credential: a probe or a device with a stale header is served.
    let res = app.client.get(app.url("/healthz")).header("Authorization", "Token kml_stale").send().await.unwrap();
    assert_eq!(res.status(), 200);
    // Another scheme is not ours: with authentication off, the call is anonymous and served.
    let res = app.client.get(app.url("/models/")).header("Authorization", "Basic dTpw").send().await.unwrap();
    assert_eq!(res.status(), 200);
});

db_test!(a_token_stops_working_when_it_expires_or_its_user_is_deactivated, settings = auth_on, |app| async move {
    let (id, key) = app.user_with_token("otto", As::Operator).await;
    assert_eq!(call(&app, &Method::GET, "/models/", Some(&key)).await.0, 200);
    let mut conn = app.db.connect();
    let changes =
        users::UserChanges { email: "", is_active: false, is_staff: true, is_superuser: false, role: Role::Operator };
    users::update(&mut conn, id, &changes).unwrap();
    assert_eq!(
        call(&app, &Method::GET, "/models/", Some(&key)).await,
        (StatusCode::UNAUTHORIZED, "Invalid token.".to_owned())
    );
    users::update(&mut conn, id, &users::UserChanges { is_active: true, ..changes }).unwrap();
    assert_eq!(call(&app, &Method::GET, "/models/", Some(&key)).await.0, 200);
    let past = kafkaml_domain::datetime::now() - chrono::Duration::seconds(1);
    diesel_expire(&app, past);
    assert_eq!(call(&app, &Method::GET, "/models/", Some(&key)).await.0, 401);
});

/// Makes every token expire at `when`.
fn diesel_expire(app: &TestApp, when: chrono::NaiveDateTime) {
    use diesel::RunQueryDsl;
    let sql = format!("UPDATE kafkaml_token SET expires = '{}'", when.format("%Y-%m-%d %H:%M:%S"));
    let mut conn = app.db.connect();
    kafkaml_persistence::with_conn!(&mut conn, |c| diesel::sql_query(&sql).execute(c)).unwrap();
}

db_test!(changes_made_with_a_token_are_audited_with_the_user_and_the_token, settings = auth_on, |app| async move {
    let (id, key) = app.user_with_token("otto", As::Operator).await;
    let body = json!({"name": "m1", "code": "model = 1", "framework": "tf", "imports": "", "description": ""});
    assert_eq!(post_model(&app, &format!("Bearer {key}"), &body).await, 201);
    let entries = audit::recent(&mut app.db.connect(), 10).unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(
        (entries[0].user_id, entries[0].actor.as_str(), entries[0].action.as_str()),
        (Some(id), "otto (token cli)", "add")
    );
    assert_eq!(entries[0].object_kind, "models");
});

db_test!(the_web_uis_session_works_with_the_xsrf_header_on_unsafe_methods, settings = auth_on, |app| async move {
    app.create_user("ann", SUPERUSER_PASSWORD, true, false).await;
    let browser = AdminClient::new(&app, "/api/admin/");
    browser.get("login/").await;
    browser.sign_in("ann", SUPERUSER_PASSWORD).await;
    let session = browser.cookie("kafkaml_session").unwrap();
    let xsrf = browser.cookie("XSRF-TOKEN").unwrap();
    let cookies = format!("kafkaml_session={session}; XSRF-TOKEN={xsrf}");
    // Reads need only the session.
    let res = app.client.get(app.url("/api/models/")).header("Cookie", &cookies).send().await.unwrap();
    assert_eq!(res.status(), 200);
    // Changes need the cookie's token back in the header, as Angular's HttpClient sends it.
    let body = json!({"name": "m1", "code": "model = 1", "framework": "tf"});
    for wrong in [None, Some("0".repeat(64))] {
        let mut request = app.client.post(app.url("/api/models/")).header("Cookie", &cookies).json(&body);
        if let Some(wrong) = &wrong {
            request = request.header("X-XSRF-TOKEN", wrong);
        }
        let res = request.send().await.unwrap();
        assert_eq!(res.status(), 403, "{wrong:?}");
        assert_eq!(res.json::<Value>().await.unwrap()["detail"], "CSRF Failed: CSRF token missing or incorrect.");
    }
    assert!(models::list(&mut app.db.connect(), models::ModelFilter::All).unwrap().is_empty());
    let res = app
        .client
        .post(app.url("/api/models/"))
        .header("Cookie", &cookies)
        .header("X-XSRF-TOKEN", &xsrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let entries = audit::recent(&mut app.db.connect(), 10).unwrap();
    assert_eq!(entries[0].actor, "ann");
    // Signed out, the cookie is nothing.
    browser.post("logout/", &[]).await;
    let res = app.client.get(app.url("/api/models/")).header("Cookie", &cookies).send().await.unwrap();
    assert_eq!(res.status(), 401);
});

/// A datasource as the control logger posts it.
fn logged_datasource() -> Value {
    json!({
        "deployment": "1", "input_format": "RAW", "input_config": "{\"data_type\": \"uint8\"}",
        "description": "d", "topic": "data", "validation_rate": 0.1, "test_rate": 0.1, "total_msg": 100,
        "time": "2024-05-01T10:00:00",
    })
}

db_test!(the_control_logger_posts_through_its_token_path, settings = auth_on, |app| async move {
    let (_, key) = app.user_with_token("logger", As::Operator).await;
    // Its image only concatenates BACKEND=backend:8000/control-logger/<key> with /datasources/.
    let res = app.post_json("/datasources/", &logged_datasource()).await;
    assert_eq!(res.status(), 401);
    let res = app.post_json(&format!("/control-logger/{key}/datasources/"), &logged_datasource()).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let res = app.post_json("/control-logger/kml_wrong/datasources/", &logged_datasource()).await;
    assert_eq!(res.status(), 401);
    // The path is a token like any other: a viewer's may not store datasources.
    let (_, viewer) = app.user_with_token("vera", As::Viewer).await;
    let res = app.post_json(&format!("/control-logger/{viewer}/datasources/"), &logged_datasource()).await;
    assert_eq!(res.status(), 403);
    let res = app.get(&format!("/control-logger/{key}/datasources/")).await;
    assert_eq!(res.status(), 405);
    assert_eq!(datasources::list(&mut app.db.connect(), None).unwrap().len(), 1);
    let entries = audit::recent(&mut app.db.connect(), 10).unwrap();
    assert_eq!(entries[0].actor, "logger (token cli)");
});

db_test!(with_auth_off_anyone_may_call_and_a_token_still_names_the_actor, |app| async move {
    let body = json!({"name": "m1", "code": "model = 1", "framework": "tf"});
    assert_eq!(app.post_json("/models/", &body).await.status(), 201);
    assert!(audit::recent(&mut app.db.connect(), 10).unwrap().is_empty(), "anonymous changes are not recorded");
    let (_, key) = app.user_with_token("otto", As::Viewer).await;
    let body = json!({"name": "m2", "code": "model = 1", "framework": "tf"});
    assert_eq!(post_model(&app, &format!("Token {key}"), &body).await, 201, "roles apply only with KAFKAML_AUTH=on");
    assert_eq!(audit::recent(&mut app.db.connect(), 10).unwrap()[0].actor, "otto (token cli)");
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_api_keeps_its_guards_under_its_prefix() {
    use actix_web::test::{call_service, init_service, TestRequest};
    let dir = tempfile::tempdir().unwrap();
    let db = kafkaml_tests::TestDb::create(kafkaml_tests::DbKind::Sqlite, dir.path());
    let mut settings = Settings::defaults();
    settings.server.data_dir = dir.path().join("data");
    settings.database.url = Some(db.url.clone());
    settings.server.auth = AuthMode::On;
    let services = kafkaml_api::Services::offline(&settings).unwrap();
    let (api, _) = kafkaml_api::Api::open(&settings, services).await.unwrap();
    let (_, key) = kafkaml_tests::auth::user_with_token(&db, "otto", As::Operator).await;
    let app = init_service(actix_web::App::new().service(api.scope("/kafkaml"))).await;
    let token = ("Authorization", format!("Token {key}"));
    let status = |res: actix_web::dev::ServiceResponse| res.status().as_u16();
    assert_eq!(status(call_service(&app, TestRequest::get().uri("/kafkaml/models").to_request()).await), 401);
    let res =
        call_service(&app, TestRequest::get().uri("/kafkaml/models").insert_header(token.clone()).to_request()).await;
    assert_eq!(status(res), 200);
    let text = TestRequest::post()
        .uri("/kafkaml/models")
        .insert_header(token.clone())
        .insert_header(("Content-Type", "text/plain"));
    assert_eq!(status(call_service(&app, text.set_payload("{}").to_request()).await), 415);
    let evil = TestRequest::post()
        .uri("/kafkaml/models")
        .insert_header(token.clone())
        .insert_header(("Origin", "http://evil.example"));
    assert_eq!(status(call_service(&app, evil.set_json(json!({})).to_request()).await), 403);
    let logger =
        TestRequest::post().uri(&format!("/kafkaml/control-logger/{key}/datasources")).set_json(logged_datasource());
    assert_eq!(status(call_service(&app, logger.to_request()).await), 201);
}
