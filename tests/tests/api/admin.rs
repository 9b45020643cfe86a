//! The admin site over HTTP, on SQLite and PostgreSQL: signing in and out (server-side sessions,
//! CSRF, throttling), the index, and every page of the models, configurations and users tables,
//! with the rows, files and audit entries they leave. Pages are parsed as HTML.

use kafkaml_persistence::repo::{audit, configurations, models, users};
use kafkaml_tests::admin::{AdminClient, SUPERUSER_PASSWORD};

/// The password of every user these tests create.
const PASSWORD: &str = SUPERUSER_PASSWORD;
use kafkaml_tests::{db_test, TestApp};

fn audit_entries(app: &TestApp) -> Vec<audit::Entry> {
    let mut entries = audit::recent(&mut app.db.connect(), 100).unwrap();
    entries.reverse();
    entries
}

db_test!(protected_pages_send_visitors_to_sign_in_relatively, |app| async move {
    let browser = AdminClient::new(&app, "/api/admin/");
    let index = browser.get("").await;
    assert_eq!((index.status, index.location.as_deref()), (302, Some("login/?next=")));
    let change = browser.get("models/3/change/?a=1").await;
    assert_eq!(change.status, 302);
    assert_eq!(change.location.as_deref(), Some("../../../login/?next=models%2F3%2Fchange%2F%3Fa%3D1"));
    // Without the trailing slash: to the slashed page, relatively (Django's APPEND_SLASH).
    let bare = app.get("/api/admin").await;
    assert_eq!((bare.status().as_u16(), bare.headers()["location"].to_str().unwrap()), (301, "admin/"));
    let models = app.get("/admin/models").await;
    assert_eq!(models.headers()["location"].to_str().unwrap(), "models/");
    // The sign-in page: a CSRF token in a cookie and in the form, the admin's headers.
    let login = browser.get("login/").await;
    assert_eq!(login.status, 200);
    let token = browser.cookie("XSRF-TOKEN").unwrap();
    assert_eq!(login.attrs("input[name=csrf_token]", "value"), vec![token]);
    assert_eq!(login.headers["x-frame-options"], "DENY");
    assert!(login.headers["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    assert_eq!(login.headers["cache-control"], "no-store");
    login.assert_relative_links();
});

db_test!(signing_in_starts_a_server_side_session_that_signing_out_ends, |app| async move {
    app.create_user("ann", PASSWORD, true, false).await;
    app.create_user("outsider", PASSWORD, false, false).await;
    let browser = AdminClient::new(&app, "/admin/");
    // Wrong password, unknown user: one answer.
    for (user, password) in [("ann", "wrong password!"), ("nobody", PASSWORD)] {
        let page = browser.post("login/", &[("username", user), ("password", password)]).await;
        assert_eq!(page.status, 200);
        assert!(page.text("#login-error").starts_with("Please enter the correct username and password"));
        assert_eq!(page.attrs("#id_username", "value"), vec![user.to_owned()]);
    }
    // A user who is not staff does not enter.
    let page = browser.post("login/", &[("username", "outsider"), ("password", PASSWORD)]).await;
    assert_eq!(page.status, 403);
    assert!(browser.cookie("kafkaml_session").is_none());
    // Staff enter, and go where they were heading.
    let page = browser.post("login/", &[("username", "ann"), ("password", PASSWORD), ("next", "models/")]).await;
    assert_eq!((page.status, page.location.as_deref()), (303, Some("../models/")));
    let cookie = page.set_cookies.iter().find(|c| c.starts_with("kafkaml_session=")).unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let key = browser.cookie("kafkaml_session").unwrap();
    // Only a keyed hash of the cookie is stored.
    let stored: Vec<String> = {
        use diesel::prelude::*;
        use kafkaml_persistence::schema::kafkaml_session as s;
        kafkaml_persistence::with_conn!(&mut app.db.connect(), |c| s::table.select(s::key_hash).load(c)).unwrap()
    };
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], key);
    let index = browser.get("").await;
    assert_eq!(index.status, 200);
    assert_eq!(index.text("#username"), "ann");
    // A staff user who is not a superuser does not see users.
    assert!(index.texts("#table-users").is_empty());
    assert_eq!(browser.get("users/").await.status, 403);
    assert!(users::find_by_username(&mut app.db.connect(), "ann").unwrap().unwrap().last_login.is_some());
    // An unsafe request without the token, or with another origin, changes nothing.
    assert_eq!(browser.post_raw("logout/", &[]).await.status, 403);
    let token = browser.cookie("XSRF-TOKEN").unwrap();
    assert_eq!(browser.post_raw("logout/", &[("csrf_token", "0".repeat(64).as_str())]).await.status, 403);
    let forged = reqwest::Client::new()
        .post(format!("{}logout/", browser.base()))
        .header("Cookie", format!("kafkaml_session={key}; XSRF-TOKEN={token}"))
        .header("Origin", "http://evil.example")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("csrf_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(browser.get("").await.status, 200);
    // Signing out ends the session on the server: the old cookie no longer opens anything.
    let out = browser.post("logout/", &[]).await;
    assert_eq!((out.status, out.location.as_deref()), (303, Some("../login/")));
    assert!(browser.cookie("kafkaml_session").is_none());
    browser.set_cookie("kafkaml_session", Some(&key));
    assert_eq!(browser.get("").await.status, 302);
});

db_test!(repeated_failures_are_throttled, |app| async move {
    app.create_user("ann", PASSWORD, true, false).await;
    let browser = AdminClient::new(&app, "/admin/");
    for _ in 0..5 {
        assert_eq!(browser.post("login/", &[("username", "ann"), ("password", "not it at all")]).await.status, 200);
    }
    // Even the right password waits now.
    let page = browser.post("login/", &[("username", "ann"), ("password", PASSWORD)]).await;
    assert_eq!(page.status, 429);
    assert!(browser.cookie("kafkaml_session").is_none());
});

db_test!(deactivating_a_user_ends_their_sessions, |app| async move {
    let root = AdminClient::superuser(&app, "/api/admin/").await;
    let ann_id = app.create_user("ann", PASSWORD, true, false).await;
    let ann = AdminClient::new(&app, "/admin/");
    ann.sign_in("ann", PASSWORD).await;
    assert_eq!(ann.get("").await.status, 200);
    let id = ann_id.to_string();
    let page = root
        .post(&format!("users/{id}/change/"), &[("email", "ann@example.org"), ("is_staff", "on"), ("role", "operator")])
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(ann.get("").await.status, 302);
    let row = users::get(&mut app.db.connect(), ann_id).unwrap().unwrap();
    assert!(!row.is_active && row.is_staff && row.email == "ann@example.org");
    let last = audit_entries(&app).pop().unwrap();
    assert_eq!((last.actor.as_str(), last.action.as_str(), last.object_kind.as_str()), ("root", "change", "users"));
    assert_eq!(last.changed_fields, "email,is_active");
});

db_test!(superusers_add_users_under_the_password_policy, |app| async move {
    let root = AdminClient::superuser(&app, "/api/admin/").await;
    let weak = root
        .post(
            "users/add/",
            &[
                ("username", "bob"),
                ("email", ""),
                ("password", "password1"),
                ("password2", "password1"),
                ("role", "operator"),
                ("is_staff", "on"),
            ],
        )
        .await;
    assert_eq!(weak.status, 400);
    assert_eq!(weak.text("#error-password"), "This password is too common.");
    assert_eq!(weak.attrs("#id_username", "value"), vec!["bob".to_owned()]);
    assert_eq!(weak.attrs("#id_password", "value"), Vec::<String>::new());
    let mismatch = root
        .post(
            "users/add/",
            &[("username", "bob"), ("password", "first one 123"), ("password2", "second one 123"), ("role", "viewer")],
        )
        .await;
    assert_eq!(mismatch.text("#error-password2"), "The two password fields didn't match.");
    assert!(users::find_by_username(&mut app.db.connect(), "bob").unwrap().is_none());
    let ok = root
        .post(
            "users/add/",
            &[
                ("username", "bob"),
                ("password", "tall green tree 7"),
                ("password2", "tall green tree 7"),
                ("role", "viewer"),
                ("is_staff", "on"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let bob = users::find_by_username(&mut app.db.connect(), "bob").unwrap().unwrap();
    assert!(bob.is_staff && !bob.is_superuser && bob.is_active);
    assert_eq!(bob.role, kafkaml_domain::Role::Viewer);
    let list = root.get("users/").await;
    assert_eq!(list.texts("#result-list tbody th"), vec!["bob", "root"]);
    // The last active superuser keeps their rights.
    let me = users::find_by_username(&mut app.db.connect(), "root").unwrap().unwrap().id;
    let demote = root
        .post(&format!("users/{me}/change/"), &[("is_active", "on"), ("is_staff", "on"), ("role", "operator")])
        .await;
    assert_eq!(demote.status, 400);
    assert!(demote.text("#form-errors").contains("The last active superuser can not be deactivated"));
});

db_test!(models_are_added_changed_and_deleted_with_the_apis_rules_and_audited, |app| async move {
    let browser = AdminClient::superuser(&app, "/api/admin/").await;
    let form = browser.get("models/add/").await;
    assert_eq!(form.status, 200);
    assert_eq!(form.attrs("#id_framework option", "value"), vec!["tf", "pth"]);
    form.assert_relative_links();
    // The REST API's validation, next to the field.
    let long = "x".repeat(31);
    let refused = browser
        .post("models/add/", &[("name", long.as_str()), ("framework", "tf"), ("code", "model = 1"), ("father", "")])
        .await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.text("#error-name"), "Ensure this field has no more than 30 characters.");
    assert_eq!(refused.text("#id_code"), "model = 1");
    assert_eq!(models::list(&mut app.db.connect(), models::ModelFilter::All).unwrap().len(), 0);
    // Saved once the executor built it.
    let added = browser
        .post(
            "models/add/",
            &[
                ("name", "mnist"),
                ("description", "digits"),
                ("framework", "tf"),
                ("imports", "import tensorflow as tf"),
                ("code", "model = tf.keras.Sequential()"),
                ("father", ""),
            ],
        )
        .await;
    assert_eq!((added.status, added.location.as_deref()), (303, Some("../")));
    let model = models::list(&mut app.db.connect(), models::ModelFilter::All).unwrap().pop().unwrap();
    assert_eq!((model.name.as_str(), model.description.as_str(), model.distributed), ("mnist", "digits", false));
    assert!(app.executor.requests().iter().any(|(_, body)| body.to_string().contains("tf.keras.Sequential")));
    let list = browser.get("models/").await;
    assert!(list.text(".message").starts_with("The model"), "{}", list.body);
    assert_eq!(list.texts("#result-list tbody th"), vec!["mnist"]);
    // A name another model has: the rule's sentence.
    app.create_model("other", "pth", false, None).await;
    let id = model.id.to_string();
    let taken = browser
        .post(
            &format!("models/{id}/change/"),
            &[("name", "other"), ("framework", "tf"), ("code", "model = tf.keras.Sequential()")],
        )
        .await;
    assert_eq!(taken.status, 400);
    assert!(taken.text("#form-errors").contains("A model named 'other' already exists."));
    let changed = browser
        .post(
            &format!("models/{id}/change/"),
            &[
                ("name", "mnist"),
                ("description", "handwritten digits"),
                ("framework", "tf"),
                ("imports", "import tensorflow as tf"),
                ("code", "model = tf.keras.Sequential()"),
            ],
        )
        .await;
    assert_eq!((changed.status, changed.location.as_deref()), (303, Some("../../")));
    assert_eq!(models::get(&mut app.db.connect(), model.id).unwrap().unwrap().description, "handwritten digits");
    // Search, filters and ordering.
    let found = browser.get("models/?q=HANDWRITTEN").await;
    assert_eq!(found.texts("#result-list tbody th"), vec!["mnist"]);
    let pth = browser.get("models/?framework=pth").await;
    assert_eq!(pth.texts("#result-list tbody th"), vec!["other"]);
    assert_eq!(browser.get("models/?o=-1").await.texts("#result-list tbody th"), vec!["other", "mnist"]);
    assert_eq!(browser.get("models/?o=1").await.texts("#result-list tbody th"), vec!["mnist", "other"]);
    // Deleting: the confirmation first, then the use case.
    let confirm = browser.get(&format!("models/{id}/delete/")).await;
    assert_eq!(confirm.status, 200);
    assert_eq!(confirm.texts("#deleted-objects > li").len(), 1);
    let gone = browser.post(&format!("models/{id}/delete/"), &[]).await;
    assert_eq!((gone.status, gone.location.as_deref()), (303, Some("../../")));
    assert!(models::get(&mut app.db.connect(), model.id).unwrap().is_none());
    // The audit trail: who, what, which fields — on the index and the history page.
    let entries: Vec<(String, String, String)> = audit_entries(&app)
        .into_iter()
        .filter(|e| e.object_kind == "models")
        .map(|e| (e.actor, e.action, e.changed_fields))
        .collect();
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert_eq!(entries[0].1, "add");
    assert_eq!((entries[1].1.as_str(), entries[1].2.as_str()), ("change", "description"));
    assert_eq!(entries[2].1, "delete");
    assert!(entries.iter().all(|e| e.0 == "root"));
    let index = browser.get("").await;
    let recent = index.texts("#recent-actions li");
    assert!(recent[0].contains("delete") && recent[0].contains("mnist") && recent[0].contains("root"), "{recent:?}");
    let history = browser.get(&format!("models/{id}/history/")).await;
    assert_eq!(history.texts("#history tbody tr").len(), 3);
});

db_test!(configurations_take_whole_chains_and_refuse_deletion_while_deployed, |app| async move {
    let browser = AdminClient::superuser(&app, "/api/admin/").await;
    let root = app.create_model("root", "tf", true, None).await;
    let child = app.create_model("child", "tf", true, Some(root)).await;
    let form = browser.get("configurations/add/").await;
    assert_eq!(form.attrs("#id_ml_models option", "value").len(), 2);
    let root_text = root.to_string();
    let added = browser
        .post("configurations/add/", &[("name", "chain"), ("description", "d"), ("ml_models", root_text.as_str())])
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    let cfg = configurations::load(&mut app.db.connect(), None).unwrap().pop().unwrap();
    let mut ids: Vec<i64> = cfg.ml_models.iter().map(|m| i64::from(m.id)).collect();
    ids.sort();
    assert_eq!(ids, vec![root, child]);
    // A deployed configuration cannot be deleted: the rule's words, nothing deleted.
    app.seed_deployment(i64::from(cfg.id), |_| {});
    let id = cfg.id.to_string();
    let refused = browser
        .post("configurations/", &[("action", "delete_selected"), ("ids", id.as_str()), ("confirm", "yes")])
        .await;
    assert_eq!(refused.status, 303);
    let list = browser.get("configurations/").await;
    assert!(list.text(".message").contains("Not deleted"), "{}", list.body);
    assert!(configurations::get(&mut app.db.connect(), cfg.id).unwrap().is_some());
});

db_test!(delete_selected_confirms_then_deletes_each, |app| async move {
    let browser = AdminClient::superuser(&app, "/api/admin/").await;
    let a = app.create_model("a", "tf", false, None).await.to_string();
    let b = app.create_model("b", "tf", false, None).await.to_string();
    let confirm =
        browser.post("models/", &[("action", "delete_selected"), ("ids", a.as_str()), ("ids", b.as_str())]).await;
    assert_eq!(confirm.status, 200);
    assert_eq!(confirm.texts("#deleted-objects > li").len(), 2);
    assert_eq!(models::list(&mut app.db.connect(), models::ModelFilter::All).unwrap().len(), 2);
    let done = browser
        .post("models/", &[("action", "delete_selected"), ("ids", a.as_str()), ("ids", b.as_str()), ("confirm", "yes")])
        .await;
    assert_eq!(done.status, 303);
    assert!(models::list(&mut app.db.connect(), models::ModelFilter::All).unwrap().is_empty());
    assert_eq!(browser.get("models/").await.text(".message"), "Deleted 2 Models.");
});

db_test!(head_requests_answer_like_get_without_a_body_or_a_change, |app| async move {
    let browser = AdminClient::superuser(&app, "/api/admin/").await;
    let model = app.create_model("m", "tf", false, None).await;
    let rows = |app: &TestApp| {
        let mut c = app.db.connect();
        (audit::recent(&mut c, 100).unwrap().len(), models::list(&mut c, models::ModelFilter::All).unwrap().len())
    };
    let before = rows(&app);
    for path in [
        String::new(),
        "login/".to_owned(),
        "password/".to_owned(),
        "models/".to_owned(),
        "models/add/".to_owned(),
        format!("models/{model}/change/"),
        format!("models/{model}/delete/"),
        format!("models/{model}/history/"),
        "users/".to_owned(),
        "static/admin.css".to_owned(),
    ] {
        let get = browser.get(&path).await;
        let head = browser.head(&path).await;
        assert_eq!((head.status, get.status), (200, 200), "{path}");
        assert!(head.body.is_empty(), "{path}");
        assert_eq!(head.headers["content-length"], get.body.len().to_string().as_str(), "{path}");
    }
    // The delete page's HEAD deleted nothing; nothing was recorded.
    assert_eq!(rows(&app), before);
    assert_eq!(browser.get("").await.status, 200, "still signed in");
});
