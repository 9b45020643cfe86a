//! Who is visiting: the session cookie (server-side sessions, `accounts::session_user`), the CSRF
//! token every form carries, and the errors that end an admin request (sign in first, not
//! allowed, not found) rendered as pages or redirects.
//!
//! CSRF follows Django: a random token in the `XSRF-TOKEN` cookie (readable by scripts, so Kafka-ML's
//! Angular web UI can send it back as `X-XSRF-TOKEN` later) must come back in the form field
//! `csrf_token`, compared in constant time; an `Origin` header, when sent, must be this host or a
//! trusted origin. The session cookie is `HttpOnly`, `SameSite=Lax`, `Secure` over https.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use kafkaml_domain::Role;
use subtle::ConstantTimeEq;

use crate::cross_site::TrustedOrigins;
use crate::error::ApiError;
use crate::usecase::accounts::{self, random_hex, User};
use crate::usecase::{self, Ctx};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "kafkaml_session";
/// The CSRF cookie's name (Angular's default, so the web UI can use it too).
pub const CSRF_COOKIE: &str = "XSRF-TOKEN";
/// The form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf_token";
/// A one-shot message shown on the next page (Django's messages).
pub const FLASH_COOKIE: &str = "kafkaml_message";

/// The relative way from the page at `path` back to the admin's root (`""` at the index,
/// `"../"` one level down, …), so that every link works under `/admin/` and `/api/admin/`.
pub fn root_of(path: &str) -> String {
    let rest = path.split_once("/admin/").map_or("", |(_, rest)| rest);
    "../".repeat(rest.matches('/').count())
}

/// The page at `path` relative to the admin's root, with its query (where to come back after
/// signing in).
fn here(req: &HttpRequest) -> String {
    let rest = req.path().split_once("/admin/").map_or("", |(_, rest)| rest).to_owned();
    if req.query_string().is_empty() {
        rest
    } else {
        format!("{rest}?{}", req.query_string())
    }
}

/// Whether `next` is a safe place to go after signing in: a path below the admin's root, no
/// scheme, no host, no way up.
pub fn safe_next(next: &str) -> bool {
    !next.starts_with('/')
        && !next.contains("//")
        && !next.contains('\\')
        && !next.contains(':')
        && !next.split(['/', '?']).any(|seg| seg == "..")
}

/// What ends an admin request early.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Nobody (or a non-staff user) is signed in: go to the sign-in page.
    #[error("sign in first")]
    SignIn {
        /// The sign-in page, relative to the requested page.
        login: String,
        /// Where to come back, relative to the admin's root.
        next: String,
    },
    /// Signed in, but not allowed (a staff user on a superuser's page).
    #[error("forbidden")]
    Forbidden,
    /// Signed in with a role that only reads (a viewer), on a page or form that changes data.
    #[error("read only")]
    ReadOnly,
    /// The form's CSRF token or the request's origin did not match.
    #[error("CSRF verification failed")]
    Csrf,
    /// No such table or object.
    #[error("not found")]
    NotFound,
    /// Too many failed sign-ins.
    #[error("throttled")]
    Throttled,
    /// Anything else: a use case failed (with the API's status and words for it).
    #[error(transparent)]
    Failed(#[from] ApiError),
}

impl From<usecase::Error> for AdminError {
    fn from(e: usecase::Error) -> Self {
        AdminError::Failed(e.into())
    }
}

/// What a visitor may read of a failure: the API's message, except for our own faults, which are
/// logged and not described.
pub fn public_message(e: &ApiError) -> String {
    match e {
        ApiError::Internal(cause) => {
            tracing::error!(%cause, "admin request failed");
            "An internal error occurred; it was logged.".to_owned()
        }
        other => other.to_string(),
    }
}

fn page(status: StatusCode, title: &str, text: &str) -> HttpResponse {
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{text}</p></body></html>"
    );
    HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body)
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        match self {
            AdminError::SignIn { .. } => StatusCode::FOUND,
            AdminError::Forbidden | AdminError::ReadOnly | AdminError::Csrf => StatusCode::FORBIDDEN,
            AdminError::NotFound => StatusCode::NOT_FOUND,
            AdminError::Throttled => StatusCode::TOO_MANY_REQUESTS,
            AdminError::Failed(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AdminError::SignIn { login, next } => {
                let query = serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default();
                HttpResponse::Found().insert_header((header::LOCATION, format!("{login}?{query}"))).finish()
            }
            AdminError::Forbidden => page(StatusCode::FORBIDDEN, "Forbidden", "Only superusers may do this."),
            AdminError::ReadOnly => page(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Your role (viewer) may read this site but not change it; an operator or a superuser may.",
            ),
            AdminError::Csrf => page(
                StatusCode::FORBIDDEN,
                "CSRF verification failed",
                "The form was not sent by this site, or its page is too old: go back, reload and try again.",
            ),
            AdminError::NotFound => page(StatusCode::NOT_FOUND, "Not found", "No such page or object."),
            AdminError::Throttled => page(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                "Too many failed sign-ins for this username; wait a few minutes and try again.",
            ),
            AdminError::Failed(e) => page(e.status_code(), "The operation failed", &html_escape(&public_message(e))),
        }
    }
}

/// Escapes text for HTML (for the few pages written without a template).
pub fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The visitor of an admin page: the signed-in user, if any, and the CSRF token of their forms.
#[derive(Debug, Clone)]
pub struct Visit {
    /// The signed-in, active user.
    pub user: Option<User>,
    /// The CSRF token the forms of the page carry.
    pub csrf: String,
    /// Whether the token is new and its cookie must be set.
    new_csrf: bool,
    /// Whether the request came over https (cookies get `Secure`).
    secure: bool,
    /// The message left by the previous page.
    pub flash: Option<String>,
}

impl Visit {
    /// Reads the cookies of `req` and looks up its session.
    pub async fn of(ctx: &Ctx, req: &HttpRequest) -> Result<Visit, AdminError> {
        let user = match req.cookie(SESSION_COOKIE) {
            Some(cookie) if !cookie.value().is_empty() => accounts::session_user(ctx, cookie.value()).await?,
            _ => None,
        };
        let existing = req.cookie(CSRF_COOKIE).map(|c| c.value().to_owned()).filter(|v| v.len() >= 32);
        let new_csrf = existing.is_none();
        let csrf = existing.unwrap_or_else(|| random_hex(32));
        let secure = req.connection_info().scheme() == "https";
        let flash = req.cookie(FLASH_COOKIE).and_then(|c| decode_flash(c.value())).filter(|v| !v.is_empty());
        Ok(Visit { user, csrf, new_csrf, secure, flash })
    }

    /// The signed-in staff user, or the way to the sign-in page.
    pub fn staff(&self, req: &HttpRequest) -> Result<&User, AdminError> {
        match &self.user {
            Some(user) if user.is_staff && user.is_active => Ok(user),
            _ => Err(AdminError::SignIn { login: format!("{}login/", root_of(req.path())), next: here(req) }),
        }
    }

    /// The signed-in superuser.
    pub fn superuser(&self, req: &HttpRequest) -> Result<&User, AdminError> {
        let user = self.staff(req)?;
        if user.is_superuser {
            Ok(user)
        } else {
            Err(AdminError::Forbidden)
        }
    }

    /// The signed-in staff user, when their role may change data (an operator or a superuser).
    pub fn operator(&self, req: &HttpRequest) -> Result<&User, AdminError> {
        let user = self.staff(req)?;
        if user.can(Role::Operator) {
            Ok(user)
        } else {
            Err(AdminError::ReadOnly)
        }
    }

    /// Whether the signed-in user may change data (the pages hide what they may not use).
    pub fn may_change(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.can(Role::Operator))
    }

    /// Checks a submitted form's CSRF token and the request's origin (when sent, this host or a
    /// trusted origin: [`TrustedOrigins::check`]).
    pub fn check_csrf(&self, req: &HttpRequest, submitted: &str, origins: &TrustedOrigins) -> Result<(), AdminError> {
        let cookie = req.cookie(CSRF_COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
        let same = !cookie.is_empty() && bool::from(cookie.as_bytes().ct_eq(submitted.as_bytes()));
        if !same || !origins.check(req.head()).allowed() {
            return Err(AdminError::Csrf);
        }
        Ok(())
    }

    /// Adds the cookies this visit needs to an answer: a new CSRF token, and the end of a shown
    /// message.
    pub fn finish(&self, mut res: HttpResponse) -> HttpResponse {
        if self.new_csrf {
            let _ = res.add_cookie(&self.csrf_cookie());
        }
        if self.flash.is_some() {
            let _ = res.add_removal_cookie(&base_cookie(FLASH_COOKIE, String::new(), self.secure));
        }
        res
    }

    fn csrf_cookie(&self) -> Cookie<'static> {
        let mut cookie = base_cookie(CSRF_COOKIE, self.csrf.clone(), self.secure);
        // Angular reads it to send it back as X-XSRF-TOKEN.
        cookie.set_http_only(false);
        cookie.set_max_age(actix_web::cookie::time::Duration::days(365));
        cookie
    }

    /// The session cookie for a new session.
    pub fn session_cookie(&self, key: &str) -> Cookie<'static> {
        let mut cookie = base_cookie(SESSION_COOKIE, key.to_owned(), self.secure);
        let age = accounts::SESSION_AGE.as_secs() as i64;
        cookie.set_max_age(actix_web::cookie::time::Duration::seconds(age));
        cookie
    }

    /// Ends the session cookie in the browser.
    pub fn clear_session(&self, res: &mut HttpResponse) {
        let _ = res.add_removal_cookie(&base_cookie(SESSION_COOKIE, String::new(), self.secure));
    }

    /// A redirect to `location` (relative) carrying a one-shot message.
    pub fn redirect_with(&self, location: &str, message: &str) -> HttpResponse {
        let mut res = HttpResponse::SeeOther().insert_header((header::LOCATION, location.to_owned())).finish();
        let _ = res.add_cookie(&base_cookie(FLASH_COOKIE, encode_flash(message), self.secure));
        res
    }
}

/// A message as a cookie value: URL-encoded, so `;`, `,` and spaces survive.
fn encode_flash(message: &str) -> String {
    serde_urlencoded::to_string([("m", message)]).unwrap_or_default().split_off(2)
}

/// The message a cookie value carries.
fn decode_flash(value: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("m={value}")).ok()?.pop().map(|(_, m)| m)
}

fn base_cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    let mut cookie = Cookie::new(name, value);
    cookie.set_path("/");
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Lax);
    cookie.set_secure(secure);
    cookie
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_survive_the_cookie() {
        let message = "Deleted 1 model. Not deleted: model 3: in use; model 4: gone, \"x\"";
        let encoded = encode_flash(message);
        assert!(!encoded.contains([';', ' ', ',', '"']), "{encoded}");
        assert_eq!(decode_flash(&encoded).as_deref(), Some(message));
    }

    #[test]
    fn roots_are_relative_to_the_page() {
        assert_eq!(root_of("/admin/"), "");
        assert_eq!(root_of("/admin/login/"), "../");
        assert_eq!(root_of("/admin/models/3/change/"), "../../../");
    }

    #[test]
    fn only_relative_paths_below_the_admin_are_safe_next_pages() {
        for ok in ["", "models/", "models/3/change/?x=1", "results/?status=failed"] {
            assert!(safe_next(ok), "{ok}");
        }
        for bad in ["/evil", "//evil.example", "https://evil.example/", "../swagger-ui/", "models/../../x", "a\\b"] {
            assert!(!safe_next(bad), "{bad}");
        }
    }
}
