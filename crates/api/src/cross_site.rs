//! Defences against cross-site requests that hold whatever the authentication settings say
//! (security review H2, M4, L3).
//!
//! A web page of another site can make its visitor's browser send "simple" requests here: a
//! `POST` with a `text/plain` or form body needs no CORS preflight, and CORS only hides the answer,
//! not the side effect. So:
//!
//! - [`TrustedOrigins`]: the origins whose pages may act here — the request's own origin (its
//!   `Host`, compared without the scheme), `FRONTEND_URL` and `CORS_EXTRA_ORIGINS` (e.g. the web
//!   UI's development origin, no longer trusted by default: security review L16). The
//!   one list of CORS, this module's guard, the admin's CSRF check, `/ws/` and the download base
//!   of IoT deployments.
//! - [`guard`] (a middleware): an unsafe method (`POST`, `PUT`, `PATCH`, `DELETE`) whose `Origin`
//!   is present and not trusted gets 403 before any handler runs (`Origin: null` is not trusted;
//!   pods, the control logger and curl send no `Origin`); a non-empty body sent to a route whose
//!   documented request body is JSON only must say `application/json` (or `application/*+json`),
//!   else 415. Which routes take JSON comes from the OpenAPI document (`RouteTable`), so
//!   multipart and form uploads keep what they accept.

use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{RequestHead, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::ResponseError;

use crate::error::ApiError;
use crate::fallback::RouteTable;

/// The web UI's development server (`ng serve`), a CORS origin the reference always trusted; here
/// only when `CORS_EXTRA_ORIGINS` names it.
pub const DEV_ORIGIN: &str = "http://localhost:4200";

/// The origins besides the request's own whose pages may change things here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedOrigins(Vec<String>);

impl TrustedOrigins {
    /// `frontend_url` (`FRONTEND_URL`, without a trailing `/`) and `extra` (`CORS_EXTRA_ORIGINS`),
    /// each once.
    pub fn new(frontend_url: &str, extra: &[String]) -> Self {
        let mut origins = vec![frontend_url.trim().trim_end_matches('/').to_owned()];
        for origin in extra {
            if !origins.iter().any(|o| o.eq_ignore_ascii_case(origin)) {
                origins.push(origin.clone());
            }
        }
        TrustedOrigins(origins)
    }

    /// The trusted origins (what CORS allows).
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// Whether `origin` (an `Origin` header's value) is trusted for a request whose `Host` is
    /// `host`: it names that host (whatever the scheme) or is one of the trusted origins.
    fn allows(&self, origin: &str, host: &str) -> bool {
        let authority = origin.split_once("://").map_or("", |(_, rest)| rest);
        (!host.is_empty() && authority.eq_ignore_ascii_case(host))
            || self.0.iter().any(|t| t.eq_ignore_ascii_case(origin))
    }

    /// What the request's `Origin` says (the first one, when several are sent).
    pub fn check(&self, head: &RequestHead) -> Origin {
        let Some(value) = head.headers.get(header::ORIGIN) else {
            return Origin::Absent;
        };
        let Ok(origin) = value.to_str() else {
            return Origin::Refused;
        };
        let host = head
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| head.uri.authority().map(|a| a.as_str()))
            .unwrap_or_default();
        if self.allows(origin, host) {
            Origin::Trusted(origin.to_owned())
        } else {
            Origin::Refused
        }
    }
}

/// The `Origin` of a request, judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// No `Origin` header: not a browser's cross-origin request (pods, the control logger, curl).
    Absent,
    /// The request's own origin or a trusted one.
    Trusted(String),
    /// Any other origin, `null` included.
    Refused,
}

impl Origin {
    /// Whether the request may go on: no `Origin`, or a trusted one.
    pub fn allowed(&self) -> bool {
        !matches!(self, Origin::Refused)
    }

    /// The trusted origin, if one was sent.
    pub fn trusted(self) -> Option<String> {
        match self {
            Origin::Trusted(origin) => Some(origin),
            Origin::Absent | Origin::Refused => None,
        }
    }
}

/// The 403 of a request from an untrusted origin.
pub fn refused() -> ApiError {
    ApiError::Text(
        StatusCode::FORBIDDEN,
        "Forbidden: cross-site request refused. The Origin header names neither this site nor a trusted web UI \
         (FRONTEND_URL)."
            .to_owned(),
    )
}

/// Whether a `Content-Type` (or a media type of the OpenAPI document) is JSON: `application/json`
/// or `application/*+json`, with any parameters (`; charset=utf-8`).
pub(crate) fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json"
        || essence.strip_prefix("application/").is_some_and(|sub| sub.len() > "+json".len() && sub.ends_with("+json"))
}

/// Whether the request announces a body: a non-zero `Content-Length`, or a chunked one.
fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().parse::<u64>().map_or(true, |n| n > 0))
}

/// The 415 of a JSON route's body sent as something else, or `None` when the body may go on.
fn unsupported_body(req: &ServiceRequest, routes: &RouteTable) -> Option<ApiError> {
    if !has_body(req.headers()) || !routes.takes_json(crate::auth::route_path(req), req.method()) {
        return None;
    }
    let message = match req.headers().get(header::CONTENT_TYPE).map(|v| v.to_str()) {
        None => "Unsupported media type: the body has no Content-Type; send it as application/json.".to_owned(),
        Some(Ok(given)) if is_json(given) => return None,
        Some(Ok(given)) => format!("Unsupported media type {given:?}: send the body as application/json."),
        Some(Err(_)) => "Unsupported media type: send the body as application/json.".to_owned(),
    };
    Some(ApiError::Text(StatusCode::UNSUPPORTED_MEDIA_TYPE, message))
}

/// The middleware (see the module doc). `req.path()` must be canonical (it runs inside
/// `middleware::normalize`).
pub async fn guard(
    origins: Arc<TrustedOrigins>,
    routes: Arc<RouteTable>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let unsafe_method = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE);
    if unsafe_method {
        let refusal =
            if origins.check(req.head()).allowed() { unsupported_body(&req, &routes) } else { Some(refused()) };
        if let Some(e) = refusal {
            return Ok(req.into_response(e.error_response()));
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn judge(origin: Option<&str>, host: &str) -> Origin {
        let mut req = TestRequest::default().insert_header((header::HOST, host));
        if let Some(origin) = origin {
            req = req.insert_header((header::ORIGIN, origin));
        }
        TrustedOrigins::new("https://kml.example/", &[DEV_ORIGIN.to_owned()]).check(req.to_http_request().head())
    }

    #[test]
    fn origins_are_judged_against_the_host_and_the_trusted_list() {
        assert_eq!(judge(None, "backend:8000"), Origin::Absent);
        for (origin, host) in [
            ("http://backend:8000", "backend:8000"),
            ("https://BACKEND:8000", "backend:8000"),
            ("http://localhost:4200", "backend"),
            ("https://kml.example", "backend"),
            ("HTTPS://KML.EXAMPLE", "backend"),
        ] {
            assert_eq!(judge(Some(origin), host), Origin::Trusted(origin.to_owned()), "{origin} {host}");
        }
        for (origin, host) in [
            ("http://evil.example", "backend"),
            ("null", "backend"),
            ("", "backend"),
            ("http://backend", "backend:8000"),
            ("http://localhost:4201", "backend"),
            ("https://localhost:4200", "backend"),
            ("https://kml.example/", "backend"),
            ("https://kml.example.evil", "backend"),
            ("http://", ""),
        ] {
            assert_eq!(judge(Some(origin), host), Origin::Refused, "{origin:?} {host}");
        }
        assert_eq!(TrustedOrigins::new("http://ui/", &[]).as_slice(), ["http://ui"]);
        let extra = ["http://localhost:4200".to_owned(), "http://ui".to_owned()];
        assert_eq!(TrustedOrigins::new("http://ui/", &extra).as_slice(), ["http://ui", "http://localhost:4200"]);
    }

    #[test]
    fn the_development_origin_is_trusted_only_when_listed() {
        let mut req = TestRequest::default().insert_header((header::HOST, "backend"));
        req = req.insert_header((header::ORIGIN, DEV_ORIGIN));
        let head = req.to_http_request();
        assert_eq!(TrustedOrigins::new("http://localhost", &[]).check(head.head()), Origin::Refused);
        assert_eq!(
            TrustedOrigins::new("http://localhost", &[DEV_ORIGIN.to_owned()]).check(head.head()),
            Origin::Trusted(DEV_ORIGIN.to_owned())
        );
    }

    #[test]
    fn json_content_types() {
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            " application/json ;x=1",
            "application/vnd.api+json",
        ] {
            assert!(is_json(ok), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "application/+json",
            "text/json",
            "",
        ] {
            assert!(!is_json(bad), "{bad}");
        }
    }
}
