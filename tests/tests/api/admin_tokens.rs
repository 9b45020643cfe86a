//! The admin site's API tokens and roles over HTTP, on SQLite and PostgreSQL: a superuser adds a
//! token and sees its key once, the key works on the REST API (with `KAFKAML_AUTH` on and off)
//! until the token is revoked here; only superusers see the tokens; a viewer reads every page
//! and changes nothing.

use kafkaml_api::settings::AuthMode;
use kafkaml_domain::Role;
use kafkaml_persistence::repo::{audit, models, tokens};
use kafkaml_tests::admin::{AdminClient, Page, SUPERUSER_PASSWORD};
use kafkaml_tests::{db_test, TestApp};
use serde_json::json;

/// The password of every user these tests create.
const PASSWORD: &str = SUPERUSER_PASSWORD;

/// `GET path` of the REST API with `Authorization: <scheme> <key>`.
async fn get_with(app: &TestApp, path: &str, scheme: &str, key: &str) -> reqwest::Response {
    app.client.get(app.url(path)).header("Authorization", format!("{scheme} {key}")).send().await.unwrap()
}

/// The newest audit entry: (actor, action, kind, object id).
fn last_action(app: &TestApp) -> (String, String, String, Option<i32>) {
    let e = audit::recent(&mut app.db.connect(), 1).unwrap().remove(0);
    (e.actor, e.action, e.object_kind, e.object_id)
}

/// Adds a token for `user_id` through the admin and returns the page that shows its key.
async fn add_token(root: &AdminClient, user_id: i32, name: &str, expires: &str) -> Page {
    let user = user_id.to_string();
    root.post("tokens/add/", &[("user", user.as_str()), ("name", name), ("expires", expires)]).await
}

/// The one row of the tokens list: its cells after the selection box.
fn only_row(page: &Page) -> Vec<String> {
    assert_eq!(page.attrs("#result-list tbody tr", "data-id").len(), 1, "{}", page.body);
    page.texts("#result-list tbody tr td").split_off(1)
}

db_test!(
    admin_tokens_show_the_key_once_and_it_works_until_revoked,
    settings = |s| s.server.auth = AuthMode::On,
    |app| async move {
        let root = AdminClient::superuser(&app, "/admin/").await;
        let ann = app.create_user("ann", PASSWORD, false, false).await;
        let index = root.get("").await;
        assert_eq!(index.text("#table-tokens td.num"), "0");
        assert_eq!(index.attrs("#table-tokens a.add", "href"), ["tokens/add/"]);

        // The form: the active users with their roles, a name, an optional date.
        let form = root.get("tokens/add/").await;
        assert_eq!(form.status, 200);
        assert_eq!(form.texts("#id_user option"), ["ann (viewer)", "root (superuser)"]);
        assert_eq!(form.attrs("#id_expires", "type"), ["date"]);
        form.assert_relative_links();

        // Refusals next to their fields; nothing stored.
        let blank = add_token(&root, ann, " ", "").await;
        assert_eq!(blank.status, 400, "{}", blank.body);
        assert_eq!(blank.text("#error-name"), "1 to 100 characters, without control characters.");
        let past = add_token(&root, ann, "ci", "2001-01-01").await;
        assert_eq!(past.status, 400);
        assert_eq!(past.text("#error-expires"), "it is in the past.");
        assert_eq!(past.attrs("#id_name", "value"), ["ci"]);
        let nobody = add_token(&root, 999_999, "ci", "").await;
        assert_eq!(nobody.text("#error-user"), "Select a valid choice.");
        assert!(tokens::list(&mut app.db.connect(), None).unwrap().is_empty());

        // Saved: the answer shows the key, once.
        let added = add_token(&root, ann, "ci", "").await;
        assert_eq!(added.status, 200, "{}", added.body);
        added.assert_relative_links();
        assert_eq!(added.headers["cache-control"], "no-store");
        let key = added.text("#secret");
        assert!(key.starts_with("kml_") && key.len() == 68, "{key}");
        let rows = tokens::list(&mut app.db.connect(), None).unwrap();
        assert_eq!(rows.len(), 1);
        let (row, username) = &rows[0];
        let id = row.id;
        assert_eq!((row.name.as_str(), username.as_str(), row.key_prefix.as_str()), ("ci", "ann", &key[..12]));
        assert_eq!(added.text("#added"), format!("The token {id} was added successfully."));
        assert_eq!(added.attrs("#object-link", "href"), [format!("../{id}/change/")]);
        assert_eq!(last_action(&app), ("root".to_owned(), "add".to_owned(), "tokens".to_owned(), Some(id)));
        assert!(root.cookie("kafkaml_message").is_none(), "the key is not carried by a cookie");

        // No later page shows it: the list and the token's page show its first characters.
        let list = root.get("tokens/").await;
        let row = only_row(&list);
        assert_eq!(
            (row[0].as_str(), row[1].clone(), row[3].as_str(), row[4].as_str()),
            ("ann", format!("{}…", &key[..12]), "never", "never")
        );
        assert!(row[2].starts_with("20") && row[2].ends_with(" UTC"), "{row:?}");
        assert_eq!(list.texts("#result-list tbody th"), ["ci"]);
        let page = root.get(&format!("tokens/{id}/change/")).await;
        assert_eq!(page.status, 200);
        assert_eq!(page.text("#id_key"), format!("{}…", &key[..12]));
        assert!(page.texts("#save").is_empty(), "a token is not changed");
        assert_eq!(page.attrs("#delete-link", "href"), ["../delete/"]);
        let change = root.post(&format!("tokens/{id}/change/"), &[("name", "other")]).await;
        assert_eq!(change.status, 404);
        for seen in [&list, &page, &root.get("").await, &root.get("tokens/add/").await] {
            assert!(!seen.body.contains(&key), "{}", seen.body);
        }

        // The key on the API: the user's role (a viewer reads), nothing without it.
        let anonymous = app.get("/models/").await;
        assert_eq!(anonymous.status(), 401);
        for scheme in ["Token", "Bearer"] {
            let res = get_with(&app, "/models/", scheme, &key).await;
            assert_eq!(res.status(), 200, "{scheme}");
            assert_eq!(res.json::<serde_json::Value>().await.unwrap(), json!([]));
        }
        let write = app
            .client
            .post(app.url("/models/"))
            .header("Authorization", format!("Token {key}"))
            .json(&json!({"name": "m", "code": "x", "framework": "tf", "imports": "", "description": ""}))
            .send()
            .await
            .unwrap();
        assert_eq!(write.status(), 403);
        assert_eq!(get_with(&app, "/models/", "Token", "kml_0000").await.status(), 401);

        // Its last use shows.
        let used = only_row(&root.get("tokens/").await);
        assert_ne!(used[4], "never");
        assert!(used[4].ends_with(" UTC"), "{used:?}");
        assert_ne!(root.get(&format!("tokens/{id}/change/")).await.text("#id_last_used"), "never");

        // Revoked here: deleting is revoking, audited as such, and the key stops working.
        let confirm = root.get(&format!("tokens/{id}/delete/")).await;
        assert_eq!(confirm.texts("#deleted-objects > li > ul > li"), ["Revoked: its key stops working at once"]);
        assert!(confirm.text("#deleted-objects > li").starts_with("Token ci (ann)"));
        let revoked = root.post(&format!("tokens/{id}/delete/"), &[]).await;
        assert_eq!((revoked.status, revoked.location.as_deref()), (303, Some("../../")), "{}", revoked.body);
        assert!(tokens::list(&mut app.db.connect(), None).unwrap().is_empty());
        assert_eq!(last_action(&app), ("root".to_owned(), "revoke".to_owned(), "tokens".to_owned(), Some(id)));
        let refused = get_with(&app, "/models/", "Token", &key).await;
        assert_eq!(refused.status(), 401);
        assert_eq!(refused.json::<serde_json::Value>().await.unwrap(), json!({"detail": "Invalid token."}));
        // The recent actions show the revocation without a link to the token that is gone.
        let index = root.get("").await;
        assert_eq!(index.texts("#recent-actions .verb"), ["revoke", "add"]);
        assert_eq!(index.texts("#recent-actions span.object"), ["ci (ann)"], "{}", index.body);
    }
);

db_test!(admin_tokens_work_while_authentication_is_off_and_stop_when_revoked, |app| async move {
    let root = AdminClient::superuser(&app, "/api/admin/").await;
    let ops = app.create_user("ops", PASSWORD, true, false).await;
    let added = add_token(&root, ops, "deploy bot", "2099-12-31").await;
    assert_eq!(added.status, 200, "{}", added.body);
    let key = added.text("#secret");
    assert_eq!(app.get("/models/").await.status(), 200, "anyone reads while KAFKAML_AUTH is off");
    assert_eq!(get_with(&app, "/api/models/", "Token", &key).await.status(), 200);
    let list = root.get("tokens/").await;
    assert_eq!(only_row(&list)[3], "2099-12-31 00:00:00 UTC");
    // "Delete selected" revokes each.
    let id = list.attrs("#result-list tbody tr", "data-id").remove(0);
    let done = root.post("tokens/", &[("action", "delete_selected"), ("ids", id.as_str()), ("confirm", "yes")]).await;
    assert_eq!(done.status, 303);
    assert_eq!(root.get("tokens/").await.text(".message"), "Deleted 1 token.");
    let refused = get_with(&app, "/api/models/", "Bearer", &key).await;
    assert_eq!(refused.status(), 401, "a key that does not verify is refused whatever KAFKAML_AUTH says");
    assert_eq!(refused.json::<serde_json::Value>().await.unwrap(), json!({"detail": "Invalid token."}));
});

db_test!(admin_tokens_are_for_superusers_only, |app| async move {
    let root = AdminClient::superuser(&app, "/admin/").await;
    let ann = app.create_user("ann", PASSWORD, true, false).await;
    assert_eq!(add_token(&root, ann, "ci", "").await.status, 200);
    let id = tokens::list(&mut app.db.connect(), None).unwrap()[0].0.id;
    let staff = AdminClient::new(&app, "/admin/");
    staff.sign_in("ann", PASSWORD).await;
    let index = staff.get("").await;
    assert_eq!(index.status, 200);
    assert!(index.texts("#table-tokens").is_empty() && index.texts("#table-users").is_empty(), "{}", index.body);
    for path in ["tokens/".to_owned(), "tokens/add/".to_owned(), format!("tokens/{id}/change/")] {
        assert_eq!(staff.get(&path).await.status, 403, "{path}");
    }
    let user = ann.to_string();
    assert_eq!(staff.post("tokens/add/", &[("user", user.as_str()), ("name", "mine")]).await.status, 403);
    assert_eq!(staff.post(&format!("tokens/{id}/delete/"), &[]).await.status, 403);
    assert_eq!(tokens::list(&mut app.db.connect(), None).unwrap().len(), 1);
});

db_test!(admin_viewers_read_every_page_but_change_nothing, |app| async move {
    let model = app.create_model("m", "tf", false, None).await;
    app.create_user_with_role("vera", PASSWORD, true, false, Role::Viewer).await;
    let vera = AdminClient::new(&app, "/admin/");
    vera.sign_in("vera", PASSWORD).await;

    // Every page reads, without the buttons that would change something.
    let index = vera.get("").await;
    assert_eq!(index.status, 200);
    assert!(index.attrs("a.add", "href").is_empty(), "{}", index.body);
    let list = vera.get("models/").await;
    assert_eq!((list.status, list.texts("#result-list tbody th")), (200, vec!["m".to_owned()]));
    assert!(list.texts("#add-link").is_empty() && list.texts("#run-action").is_empty(), "{}", list.body);
    assert!(list.attrs("input[name=ids]", "value").is_empty());
    let page = vera.get(&format!("models/{model}/change/")).await;
    assert_eq!(page.status, 200);
    assert!(page.texts("#save").is_empty() && page.texts("#delete-link").is_empty(), "{}", page.body);
    assert_eq!(vera.get(&format!("models/{model}/history/")).await.status, 200);
    for path in ["models/add/".to_owned(), format!("models/{model}/delete/")] {
        let page = vera.get(&path).await;
        assert_eq!(page.status, 403, "{path}");
        assert!(page.body.contains("Your role (viewer) may read this site but not change it"), "{}", page.body);
    }

    // Every change is a 403, whatever it is (an unknown action too), and nothing changes.
    let id = model.to_string();
    for (path, fields) in [
        ("models/add/".to_owned(), vec![("name", "n"), ("framework", "tf"), ("code", "model = 1")]),
        (format!("models/{model}/change/"), vec![("name", "renamed"), ("framework", "tf"), ("code", "model = 1")]),
        (format!("models/{model}/delete/"), vec![]),
        ("models/".to_owned(), vec![("action", "delete_selected"), ("ids", id.as_str()), ("confirm", "yes")]),
        (format!("models/{model}/do/anything/"), vec![]),
    ] {
        assert_eq!(vera.post(&path, &fields).await.status, 403, "POST {path}");
    }
    let stored = models::list(&mut app.db.connect(), models::ModelFilter::All).unwrap();
    assert_eq!(stored.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["m"]);
    assert_eq!(audit::recent(&mut app.db.connect(), 10).unwrap().len(), 0, "nothing recorded");

    // An operator may, for contrast.
    app.create_user("otto", PASSWORD, true, false).await;
    let otto = AdminClient::new(&app, "/admin/");
    otto.sign_in("otto", PASSWORD).await;
    assert_eq!(otto.get("models/").await.texts("#add-link").len(), 1);
    assert_eq!(otto.get(&format!("models/{model}/delete/")).await.status, 200);

    // A viewer still changes their own password and signs out.
    let changed = vera
        .post(
            "password/",
            &[("old_password", PASSWORD), ("password1", "a brand new phrase"), ("password2", "a brand new phrase")],
        )
        .await;
    assert_eq!((changed.status, changed.location.as_deref()), (303, Some("../login/")), "{}", changed.body);
    vera.sign_in("vera", "a brand new phrase").await;
    let out = vera.post("logout/", &[]).await;
    assert_eq!(out.status, 303);
    assert_eq!(vera.get("").await.status, 302);
});
