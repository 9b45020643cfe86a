//! A browser-like client of the admin site for HTTP tests: it keeps the cookies the site sets
//! (session, CSRF token, messages), sends the CSRF token with every form, does not follow
//! redirects (tests check them), and parses pages with `scraper`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use kafkaml_api::usecase::accounts::hash_password;
use kafkaml_domain::Role;
use kafkaml_persistence::repo::users::{self, NewUser};
use secrecy::SecretString;

use crate::TestApp;

/// A page or redirect the site answered.
#[derive(Debug)]
pub struct Page {
    /// The status.
    pub status: u16,
    /// The `Location` of a redirect.
    pub location: Option<String>,
    /// The answer's headers.
    pub headers: reqwest::header::HeaderMap,
    /// The `Set-Cookie` headers, as sent.
    pub set_cookies: Vec<String>,
    /// The body.
    pub body: String,
}

impl Page {
    /// The parsed document.
    pub fn html(&self) -> scraper::Html {
        scraper::Html::parse_document(&self.body)
    }

    /// The trimmed texts of the elements matching `selector`.
    pub fn texts(&self, selector: &str) -> Vec<String> {
        let selector = scraper::Selector::parse(selector).unwrap();
        self.html().select(&selector).map(|e| e.text().collect::<String>().trim().to_owned()).collect()
    }

    /// The values of attribute `attr` of the elements matching `selector`.
    pub fn attrs(&self, selector: &str, attr: &str) -> Vec<String> {
        let selector = scraper::Selector::parse(selector).unwrap();
        self.html().select(&selector).filter_map(|e| e.value().attr(attr).map(str::to_owned)).collect()
    }

    /// Fails the test when a link, form action or style sheet of the page is not relative (starts
    /// with `/` or names a scheme): the site must work wherever a proxy mounts it.
    pub fn assert_relative_links(&self) {
        for (selector, attr) in [("a", "href"), ("form", "action"), ("link", "href")] {
            for url in self.attrs(selector, attr) {
                assert!(!url.starts_with('/') && !url.contains("://"), "{selector} {attr}={url} in {}", self.body);
            }
        }
    }

    /// The one text of `selector`, failing the test when there is not exactly one.
    pub fn text(&self, selector: &str) -> String {
        let texts = self.texts(selector);
        assert_eq!(texts.len(), 1, "{selector} in {}", self.body);
        texts.into_iter().next().unwrap()
    }
}

/// The password [`AdminClient::superuser`] signs in with.
pub const SUPERUSER_PASSWORD: &str = "kafka-ml admin 2026";

/// The admin site of a [`TestApp`] seen through one browser.
pub struct AdminClient {
    base: String,
    client: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
}

impl AdminClient {
    /// A browser on the admin site at `address + prefix` (`/admin/` or `/api/admin/`).
    pub fn new(app: &TestApp, prefix: &str) -> Self {
        AdminClient {
            base: format!("{}{prefix}", app.address),
            client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            cookies: Mutex::default(),
        }
    }

    /// The site's root URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn cookie_header(&self) -> String {
        self.cookies.lock().unwrap().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    /// The cookie `name` the browser holds.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    /// Forgets every cookie (a new browser), or sets one.
    pub fn set_cookie(&self, name: &str, value: Option<&str>) {
        let mut cookies = self.cookies.lock().unwrap();
        match value {
            Some(v) => {
                cookies.insert(name.to_owned(), v.to_owned());
            }
            None => {
                cookies.remove(name);
            }
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Page {
        let res = request.header("Cookie", self.cookie_header()).send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let set_cookies: Vec<String> =
            headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        {
            let mut cookies = self.cookies.lock().unwrap();
            for raw in &set_cookies {
                let pair = raw.split(';').next().unwrap();
                let (name, value) = pair.split_once('=').unwrap();
                let removed = raw.to_ascii_lowercase().contains("max-age=0") || value.is_empty();
                if removed {
                    cookies.remove(name);
                } else {
                    cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        let location = headers.get("location").map(|v| v.to_str().unwrap().to_owned());
        let body = res.text().await.unwrap();
        Page { status, location, headers, set_cookies, body }
    }

    /// GET `path`, relative to the site's root.
    pub async fn get(&self, path: &str) -> Page {
        self.send(self.client.get(format!("{}{path}", self.base))).await
    }

    /// HEAD `path`, relative to the site's root.
    pub async fn head(&self, path: &str) -> Page {
        self.send(self.client.head(format!("{}{path}", self.base))).await
    }

    /// POSTs a form to `path` with the browser's CSRF token (fetching the sign-in page first
    /// when the browser has none yet).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        if self.cookie("XSRF-TOKEN").is_none() {
            self.get("login/").await;
        }
        let token = self.cookie("XSRF-TOKEN").unwrap();
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// POSTs exactly these fields (no CSRF token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = serde_urlencoded::to_string(fields).unwrap();
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await
    }

    /// A browser on `address + prefix` signed in as a new superuser `root`
    /// ([`SUPERUSER_PASSWORD`]).
    pub async fn superuser(app: &TestApp, prefix: &str) -> Self {
        app.create_user("root", SUPERUSER_PASSWORD, true, true).await;
        let browser = AdminClient::new(app, prefix);
        browser.sign_in("root", SUPERUSER_PASSWORD).await;
        browser
    }

    /// Signs in and checks that the site let the user in.
    pub async fn sign_in(&self, username: &str, password: &str) {
        let page = self.post("login/", &[("username", username), ("password", password), ("next", "")]).await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert!(self.cookie("kafkaml_session").is_some());
    }
}

impl TestApp {
    /// Stores a user with this password directly in the database (what `createsuperuser` does,
    /// without the policy check); a staff user is an operator, any other a viewer.
    pub async fn create_user(&self, username: &str, password: &str, staff: bool, superuser: bool) -> i32 {
        let role = if staff { Role::Operator } else { Role::Viewer };
        self.create_user_with_role(username, password, staff, superuser, role).await
    }

    /// Like [`TestApp::create_user`], with this role (`Role::Viewer` for a staff user who only
    /// reads).
    pub async fn create_user_with_role(
        &self,
        username: &str,
        password: &str,
        staff: bool,
        superuser: bool,
        role: Role,
    ) -> i32 {
        let hash = hash_password(SecretString::from(password.to_owned())).await.unwrap();
        let new = NewUser {
            username,
            email: "",
            password_hash: &hash,
            is_active: true,
            is_staff: staff,
            is_superuser: superuser,
            date_joined: kafkaml_domain::datetime::now(),
            role,
        };
        users::create(&mut self.db.connect(), &new).unwrap()
    }
}
