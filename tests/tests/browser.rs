//! The admin site and Kafka-ML's web UI in a real browser: headless Chromium (Debian's
//! `chromium`) driven over WebDriver (`chromium-driver`) with fantoccini. The superuser is made
//! by the `kafkaml-backend createsuperuser --noinput` command; everything else is done as a user
//! does it, by typing and clicking. A missing browser, driver, web UI or binary fails the test
//! (see `kafkaml_tests::browser`); scripts/test.sh installs Chromium and its driver.
#![expect(clippy::unwrap_used, reason = "the browser helpers fail the test on an unexpected error")]

use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use kafkaml_tests::browser::{create_superuser_with_command, free_port, ChromeDriver, WebUi};
use kafkaml_tests::{DbKind, TestApp};

const USERNAME: &str = "root";
const PASSWORD: &str = "kafka-ml in a browser 2026";

/// The longest a page or an element may take to show up.
const WAIT: Duration = Duration::from_secs(20);

/// One browser session on its own chromedriver.
struct Browser {
    client: Client,
    session: String,
    driver: ChromeDriver,
}

impl Browser {
    async fn start() -> Browser {
        let driver = ChromeDriver::start().await;
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(driver.capabilities())
            .connect(driver.url())
            .await
            .unwrap_or_else(|e| panic!("no browser session from chromedriver at {}: {e}", driver.url()));
        let timeouts = fantoccini::wd::TimeoutConfiguration::new(
            Some(Duration::from_secs(10)),
            Some(Duration::from_secs(60)),
            Some(Duration::ZERO),
        );
        client.update_timeouts(timeouts).await.unwrap();
        let session = client.session_id().await.unwrap().unwrap();
        Browser { client, session, driver }
    }

    /// Opens `url`. A renderer that did not answer chromedriver in time (Chromium's "Timed out
    /// receiving message from renderer", seen once on a loaded machine) gets one more try: the
    /// pages opened this way are plain GETs.
    async fn goto(&self, url: &str) {
        if let Err(first) = self.client.goto(url).await {
            eprintln!("opening {url} failed once ({first}); trying again");
            self.client.goto(url).await.unwrap_or_else(|e| panic!("open {url}: {e} (first try: {first})"));
        }
    }

    /// The element `css` once it is on the page.
    async fn find(&self, css: &str) -> Element {
        match self.client.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!("{css} did not show up ({e}) on {}:\n{}", self.url().await, self.source().await),
        }
    }

    /// Every element `css` on the page now.
    async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.unwrap()
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Clicks the link whose text is `text`.
    async fn click_link(&self, text: &str) {
        match self.client.wait().at_most(WAIT).for_element(Locator::LinkText(text)).await {
            Ok(link) => link.click().await.unwrap(),
            Err(e) => panic!("no link {text:?} ({e}) on {}:\n{}", self.url().await, self.source().await),
        }
    }

    /// Empties the field `css` and types `text` into it.
    async fn type_into(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap().trim().to_owned()
    }

    async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self.find_all(css).await {
            texts.push(element.text().await.unwrap().trim().to_owned());
        }
        texts
    }

    /// What a form field holds now (its `value` property).
    async fn value(&self, css: &str) -> String {
        self.find(css).await.prop("value").await.unwrap().unwrap_or_default()
    }

    async fn url(&self) -> reqwest::Url {
        self.client.current_url().await.unwrap()
    }

    async fn source(&self) -> String {
        self.client.source().await.unwrap_or_default()
    }

    /// Waits until the page's path is `path` (and its query `query`, when given).
    async fn wait_for_path(&self, path: &str, query: Option<&str>) {
        let start = std::time::Instant::now();
        loop {
            let url = self.url().await;
            if url.path() == path && query.is_none_or(|q| url.query() == Some(q)) {
                return;
            }
            assert!(start.elapsed() < WAIT, "still on {url}, expected {path}?{query:?}:\n{}", self.source().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Fails on the page's console errors since the last call (a blocked style sheet, a
    /// content-security-policy violation, a failed request, a script error) but those that
    /// contain one of `expected`. The browser's own request for `/favicon.ico`, which no page
    /// links, answers 404 and is not counted.
    async fn assert_no_console_errors(&self, page: &str, expected: &[&str]) {
        let errors: Vec<(String, String)> = self
            .driver
            .browser_log(&self.session)
            .await
            .into_iter()
            .filter(|(level, message)| {
                level == "SEVERE"
                    && !message.contains("/favicon.ico - ")
                    && !expected.iter().any(|e| message.contains(e))
            })
            .collect();
        assert!(errors.is_empty(), "console errors on {page}: {errors:#?}");
    }

    /// Fails unless the page's style sheet loaded and applies (same-origin, allowed by the CSP).
    async fn assert_styled(&self) {
        let styled = self
            .client
            .execute(
                "return Array.from(document.styleSheets).some(s => s.cssRules.length > 0) \
                 && getComputedStyle(document.body).margin !== '8px';",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            styled,
            serde_json::Value::Bool(true),
            "the admin's style sheet did not apply on {}",
            self.url().await
        );
    }

    async fn close(self) {
        self.client.close().await.unwrap();
    }
}

/// Signs in on the sign-in page the browser shows.
async fn sign_in(browser: &Browser) {
    browser.type_into("#id_username", USERNAME).await;
    browser.type_into("#id_password", PASSWORD).await;
    browser.click("#sign-in").await;
}

/// `(verb, object, kind, who)` of each line of the index's recent actions, newest first (the
/// verb as shown, capitalised by the style sheet, in lower case).
async fn recent_actions(browser: &Browser) -> Vec<(String, String, String, String)> {
    let mut lines = Vec::new();
    async fn part(line: &Element, css: &str) -> String {
        line.find(Locator::Css(css)).await.unwrap().text().await.unwrap().trim().to_owned()
    }
    for line in browser.find_all("#recent-actions li").await {
        lines.push((
            part(&line, ".verb").await.to_lowercase(),
            part(&line, ".object").await,
            part(&line, ".kind").await,
            part(&line, ".who").await,
        ));
    }
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_superuser_manages_models_and_configurations_in_a_browser() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    create_superuser_with_command(&app, USERNAME, "root@example.org", PASSWORD).await;
    let browser = Browser::start().await;
    let admin = format!("{}/admin/", app.address);

    // A visitor lands on the sign-in page.
    browser.goto(&admin).await;
    browser.find("#id_username").await;
    browser.wait_for_path("/admin/login/", Some("next=")).await;
    browser.assert_styled().await;
    browser.assert_no_console_errors("the sign-in page", &[]).await;

    // Signed in: the index lists the tables.
    sign_in(&browser).await;
    browser.find("#table-models").await;
    browser.wait_for_path("/admin/", None).await;
    assert_eq!(browser.text("#username").await, USERNAME);
    for table in ["models", "configurations", "users"] {
        browser.find(&format!("#table-{table}")).await;
    }
    assert_eq!(browser.text("#table-models td.num").await, "0");
    browser.assert_styled().await;
    browser.assert_no_console_errors("the index", &[]).await;

    // Models → Add: a name over 30 characters is refused next to its field, and what was typed stays.
    browser.click("#table-models th a").await;
    browser.find("#result-list").await;
    browser.wait_for_path("/admin/models/", None).await;
    browser.click("#add-link").await;
    browser.wait_for_path("/admin/models/add/", None).await;
    let long_name = "a-model-name-much-longer-than-thirty-characters";
    let code = "model = tf.keras.Sequential()";
    browser.type_into("#id_name", long_name).await;
    browser.type_into("#id_description", "digits").await;
    browser.find("#id_framework").await.select_by_value("tf").await.unwrap();
    browser.type_into("#id_imports", "import tensorflow as tf").await;
    browser.type_into("#id_code", code).await;
    browser.click("#save").await;
    assert_eq!(browser.text("#error-name").await, "Ensure this field has no more than 30 characters.");
    browser.find("#form-errors").await;
    browser.find("#field-name.invalid #error-name").await;
    assert_eq!(browser.value("#id_name").await, long_name);
    assert_eq!(browser.value("#id_description").await, "digits");
    assert_eq!(browser.value("#id_code").await, code);
    browser
        .assert_no_console_errors(
            "the refused model form",
            &["/admin/models/add/ - Failed to load resource: the server responded with a status of 400"],
        )
        .await;

    // Fixed: saved, and listed.
    browser.type_into("#id_name", "browser-mnist").await;
    browser.click("#save").await;
    browser.find("#result-list").await;
    browser.wait_for_path("/admin/models/", None).await;
    assert!(browser.text(".message").await.starts_with("The model"));
    assert_eq!(browser.texts("#result-list tbody th").await, vec!["browser-mnist"]);

    // Opened, its description changed, saved.
    browser.click_link("browser-mnist").await;
    browser.find("#history-link").await;
    assert_eq!(browser.value("#id_name").await, "browser-mnist");
    browser.type_into("#id_description", "handwritten digits").await;
    browser.click("#save").await;
    browser.find("#result-list").await;
    browser.wait_for_path("/admin/models/", None).await;
    let row = browser.texts("#result-list tbody tr").await;
    assert_eq!(row.len(), 1);
    assert!(row[0].contains("handwritten digits"), "{row:?}");

    // A configuration of that model: its option picked in the multiple select.
    browser.click_link("Home").await;
    browser.click("#table-configurations a.add").await;
    browser.wait_for_path("/admin/configurations/add/", None).await;
    browser.type_into("#id_name", "browser-config").await;
    let mut picked = None;
    for option in browser.find_all("#id_ml_models option").await {
        if option.text().await.unwrap().starts_with("browser-mnist (") {
            option.click().await.unwrap();
            assert!(option.is_selected().await.unwrap());
            picked = Some(option);
        }
    }
    assert!(picked.is_some(), "no option for browser-mnist in:\n{}", browser.source().await);
    browser.click("#save").await;
    browser.find("#result-list").await;
    browser.wait_for_path("/admin/configurations/", None).await;
    assert_eq!(browser.texts("#result-list tbody th").await, vec!["browser-config"]);
    assert!(browser.texts("#result-list tbody td").await.contains(&"browser-mnist".to_owned()));

    // Deleted through its delete page, then the model through its own.
    browser.click_link("browser-config").await;
    browser.click("#delete-link").await;
    assert!(browser.text("#deleted-objects").await.contains("Configuration browser-config"));
    browser.click("#confirm-delete").await;
    browser.wait_for_path("/admin/configurations/", None).await;
    browser.find("#result-list").await;
    assert!(browser.texts("#result-list tbody th").await.is_empty());
    browser.click_link("Home").await;
    browser.click("#table-models th a").await;
    browser.click_link("browser-mnist").await;
    browser.click("#delete-link").await;
    assert!(browser.text("#deleted-objects").await.contains("Model browser-mnist"));
    browser.click("#confirm-delete").await;
    browser.wait_for_path("/admin/models/", None).await;
    browser.find("#result-list").await;
    assert!(browser.texts("#result-list tbody th").await.is_empty());

    // The index's recent actions: each of them, by the superuser, newest first.
    browser.click_link("Home").await;
    browser.find("#recent-actions").await;
    let by = format!("by {USERNAME}");
    let expected: Vec<(String, String, String, String)> = [
        ("delete", "browser-mnist", "models", by.as_str()),
        ("delete", "browser-config", "configurations", &by),
        ("add", "browser-config", "configurations", &by),
        ("change", "browser-mnist", "models", &by),
        ("add", "browser-mnist", "models", &by),
        // The command's own entry, first of all.
        ("add", USERNAME, "users", "by createsuperuser"),
    ]
    .into_iter()
    .map(|(verb, object, kind, who)| (verb.to_owned(), object.to_owned(), kind.to_owned(), who.to_owned()))
    .collect();
    assert_eq!(recent_actions(&browser).await, expected);
    browser.assert_no_console_errors("the admin's pages", &[]).await;

    // Signed out: back on the sign-in page, and a protected page sends there again.
    browser.click("#sign-out").await;
    browser.find("#id_username").await;
    browser.wait_for_path("/admin/login/", None).await;
    assert!(browser.find_all("#sign-out").await.is_empty());
    browser.goto(&format!("{admin}models/")).await;
    browser.find("#id_username").await;
    browser.wait_for_path("/admin/login/", Some("next=models%2F")).await;
    browser.assert_no_console_errors("the sign-in page after signing out", &[]).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_mls_web_ui_and_the_admin_work_behind_the_uis_proxy() {
    // The proxy sends the back-end's own Host, so the browser's Origin is the UI's: FRONTEND_URL.
    let port = free_port();
    let ui_origin = format!("http://127.0.0.1:{port}");
    let origin = ui_origin.clone();
    let app = TestApp::spawn_with(DbKind::Sqlite, move |s| s.server.frontend_url = origin).await;
    create_superuser_with_command(&app, USERNAME, "", PASSWORD).await;
    app.create_model("webui-model", "tf", false, None).await;
    let ui = WebUi::start(&app.address, port).await;
    assert_eq!(ui.address(), ui_origin);
    let browser = Browser::start().await;

    // The UI's root, then its Models page through its header's link: the model made over the REST API.
    browser.goto(&format!("{}/", ui.address())).await;
    browser.click("layout-header .navigation-items a[href='/models']").await;
    browser.wait_for_path("/models", None).await;
    let cell = "//mat-cell[contains(@class, 'mat-column-name')][normalize-space() = 'webui-model']";
    if let Err(e) = browser.client.wait().at_most(WAIT).for_element(Locator::XPath(cell)).await {
        panic!("the web UI's model list does not show webui-model ({e}):\n{}", browser.source().await);
    }
    browser.assert_no_console_errors("the web UI's model list", &[]).await;

    // The admin through the same proxy, under /api/admin/: sign in, the index, sign out.
    browser.goto(&format!("{}/api/admin/", ui.address())).await;
    browser.find("#id_username").await;
    browser.wait_for_path("/api/admin/login/", Some("next=")).await;
    browser.assert_styled().await;
    sign_in(&browser).await;
    browser.find("#table-models").await;
    browser.wait_for_path("/api/admin/", None).await;
    assert_eq!(browser.text("#table-models td.num").await, "1");
    browser.click("#table-models th a").await;
    browser.wait_for_path("/api/admin/models/", None).await;
    assert_eq!(browser.texts("#result-list tbody th").await, vec!["webui-model"]);
    browser.click("#sign-out").await;
    browser.find("#id_username").await;
    browser.wait_for_path("/api/admin/login/", None).await;
    browser.assert_no_console_errors("the admin behind the proxy", &[]).await;
    browser.close().await;
}

/// The text of the web UI's snack bar (Angular Material's `simple-snack-bar`) once one shows `expected`.
async fn snack_bar(browser: &Browser, expected: &str) {
    let xpath = format!("//simple-snack-bar[contains(normalize-space(), '{expected}')]");
    if let Err(e) = browser.client.wait().at_most(WAIT).for_element(Locator::XPath(&xpath)).await {
        panic!("the web UI showed no {expected:?} ({e}) on {}:\n{}", browser.url().await, browser.source().await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_auth_on_the_web_ui_is_refused_until_its_user_signs_in_at_the_admin() {
    let port = free_port();
    let ui_origin = format!("http://127.0.0.1:{port}");
    let origin = ui_origin.clone();
    let app = TestApp::spawn_with(DbKind::Sqlite, move |s| {
        s.server.frontend_url = origin;
        s.server.auth = kafkaml_api::settings::AuthMode::On;
    })
    .await;
    create_superuser_with_command(&app, USERNAME, "", PASSWORD).await;
    let ui = WebUi::start(&app.address, port).await;
    let browser = Browser::start().await;

    // Anonymous: the UI's first call is refused, and the UI says so.
    browser.goto(&format!("{}/model-create", ui.address())).await;
    snack_bar(&browser, "Error connecting with the server").await;
    let log = browser.driver.browser_log(&browser.session).await;
    assert!(
        log.iter().any(|(_, message)| message.contains("/api/models/distributed") && message.contains("401")),
        "no refused call in the console: {log:#?}"
    );

    // Signed in at the admin through the UI's proxy: the session now carries the UI's calls.
    browser.goto(&format!("{}/api/admin/", ui.address())).await;
    browser.find("#id_username").await;
    sign_in(&browser).await;
    browser.find("#table-models").await;

    // A model, typed into the UI's own form.
    browser.goto(&format!("{}/model-create", ui.address())).await;
    browser.type_into("input[name=name]", "auth-model").await;
    browser.type_into("input[name=description]", "made after signing in").await;
    browser.click("mat-radio-button[value=tf] label").await;
    browser.type_into("textarea[name=code]", "model = tf.keras.Sequential()").await;
    browser.click("button[type=submit]").await;
    snack_bar(&browser, "Model created").await;
    browser.wait_for_path("/models", None).await;

    // A configuration of it: its option picked in the UI's multiple select.
    browser.goto(&format!("{}/configuration-create", ui.address())).await;
    browser.type_into("input[name=name]", "auth-config").await;
    browser.click("mat-select[name=ml_models]").await;
    let option = "//mat-option[contains(normalize-space(), 'auth-model')]";
    match browser.client.wait().at_most(WAIT).for_element(Locator::XPath(option)).await {
        Ok(option) => option.click().await.unwrap(),
        Err(e) => panic!("no option for auth-model ({e}):\n{}", browser.source().await),
    }
    browser.client.active_element().await.unwrap().send_keys("\u{E00C}").await.unwrap();
    browser.click("button[type=submit]").await;
    snack_bar(&browser, "Configuration created").await;

    // Both stored, and the audit trail names the user whose session made them.
    let configurations: serde_json::Value = app
        .client
        .get(app.url("/configurations/"))
        .header("Authorization", "Token none")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(configurations["detail"], "Invalid token.", "the API still refuses a stranger");
    let mut conn = app.db.connect();
    let entries = kafkaml_persistence::repo::audit::recent(&mut conn, 10).unwrap();
    let made: Vec<(&str, &str, &str)> =
        entries.iter().map(|e| (e.action.as_str(), e.object_repr.as_str(), e.actor.as_str())).collect();
    assert!(made.contains(&("add", "auth-model", USERNAME)), "{made:?}");
    assert!(made.contains(&("add", "auth-config", USERNAME)), "{made:?}");
    browser.close().await;
}
