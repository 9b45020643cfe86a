//! Request normalisation: the reference's routes answer at `/` and under `/api` (what the web UI's
//! nginx proxies), with and without a trailing slash; `HEAD` runs the `GET` handler without its
//! side effects; `Host` is checked against `ALLOWED_HOSTS`; a wrong method on a fixed path is a
//! 405 even where an `{id}` route of the same shape exists.

use std::sync::Arc;

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, Uri};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse};

use crate::fallback::{method_not_allowed, RouteTable};
use crate::state::IsHead;

/// The security headers of every answer (docs/contract.md §1.6, security review L16), added by
/// [`normalize`] to whatever answers a request (handlers, CORS preflights, its own refusals) unless
/// the answer set the header itself (the admin's pages have their own policy and caching).
pub const SECURITY_HEADERS: [(HeaderName, &str); 3] = [
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "same-origin"),
];

/// The content security policy of every answer but Swagger UI's and the admin's: the API sends
/// data, never a page, so nothing it sends may run, load or be framed.
pub const API_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// The content security policy of Swagger UI (`/swagger-ui/`): its scripts, style sheets and
/// images are files of this site (utoipa-swagger-ui serves no inline script); React sets inline
/// `style` attributes and the style sheets embed `data:` images (icons), so those two are allowed;
/// "Try it out" calls this site only. No validator badge is loaded (`validatorUrl` is `none`).
pub const SWAGGER_UI_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to an answer to `canonical` (a path as [`canonical_path`] makes it):
/// [`SECURITY_HEADERS`] everywhere; on Swagger UI's files its content security policy, and no
/// caching rule (its files are static); elsewhere [`API_CONTENT_SECURITY_POLICY`] and
/// `Cache-Control: no-store` — API answers, downloads included (trained models, IoT devices'
/// files behind their token), are data of one moment that no shared cache should keep. A header the
/// answer already has is kept.
pub fn add_security_headers(canonical: &str, headers: &mut HeaderMap) {
    let mut add = |name: HeaderName, value: &'static str| {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    };
    for (name, value) in SECURITY_HEADERS {
        add(name, value);
    }
    if canonical.starts_with("/swagger-ui") {
        add(header::CONTENT_SECURITY_POLICY, SWAGGER_UI_CONTENT_SECURITY_POLICY);
    } else {
        add(header::CONTENT_SECURITY_POLICY, API_CONTENT_SECURITY_POLICY);
        add(header::CACHE_CONTROL, "no-store");
    }
}

/// Paths that must keep their exact form: those served by other services, and the admin site,
/// whose relative links need its trailing slashes.
fn keeps_exact_path(path: &str) -> bool {
    path.starts_with("/swagger-ui") || path.starts_with("/api-docs") || path == "/admin" || path.starts_with("/admin/")
}

/// The canonical form of a request path: without the `/api` prefix and without a trailing slash.
pub fn canonical_path(path: &str) -> &str {
    let path = match path.strip_prefix("/api") {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => path,
    };
    if keeps_exact_path(path) || path == "/" {
        return path;
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/"
    } else {
        trimmed
    }
}

/// Whether the request's `Host` (the `:authority` in HTTP/2) is allowed. Forwarding headers
/// (`X-Forwarded-Host`, `Forwarded`) are not trusted, as Django does not by default: they would
/// let any client name an allowed host.
fn host_allowed(req: &ServiceRequest, whitelist: &[String]) -> bool {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()))
        .unwrap_or_default();
    host_matches(&host, whitelist)
}

/// Django's `validate_host`: the name without port and trailing dot, case-insensitive; a
/// pattern `.example.com` matches `example.com` and its subdomains.
fn host_matches(host: &str, whitelist: &[String]) -> bool {
    let host = host.trim().to_ascii_lowercase();
    let valid_port = |port: &str| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    let name = if host.starts_with('[') {
        match host.split_once(']') {
            Some((ip, "")) => format!("{ip}]"),
            Some((ip, rest)) if rest.strip_prefix(':').is_some_and(valid_port) => format!("{ip}]"),
            _ => return false,
        }
    } else {
        match host.split_once(':') {
            Some((name, port)) if valid_port(port) => name.to_owned(),
            Some(_) => return false,
            None => host.clone(),
        }
    };
    let name = name.strip_suffix('.').unwrap_or(&name);
    if name.is_empty() {
        return false;
    }
    whitelist.iter().any(|h| match h.strip_prefix('.') {
        Some(domain) => name == domain || name.ends_with(h.as_str()),
        None => h == name,
    })
}

/// The normalising middleware (see the module doc).
pub async fn normalize(
    whitelist: Option<Vec<String>>,
    routes: Arc<RouteTable>,
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let original = req.path().to_owned();
    let canonical = canonical_path(&original).to_owned();
    if let Some(list) = &whitelist {
        if canonical != "/healthz" && canonical != "/readyz" && !host_allowed(&req, list) {
            let res = HttpResponse::BadRequest()
                .content_type("text/plain; charset=utf-8")
                .body("Bad Request: invalid Host header.");
            return Ok(secured(&canonical, req.into_response(res)));
        }
    }
    if canonical == "/swagger-ui" {
        // Relative, so that it also works behind a proxy that adds a prefix (`/api/swagger-ui`).
        let res = HttpResponse::MovedPermanently().insert_header((header::LOCATION, "swagger-ui/")).finish();
        return Ok(secured(&canonical, req.into_response(res)));
    }
    if req.method() != Method::OPTIONS {
        if let Some(allowed) = routes.literal(&canonical) {
            if !allowed.iter().any(|m| m == req.method().as_str()) {
                let res = method_not_allowed(req.method(), allowed);
                return Ok(secured(&canonical, req.into_response(res)));
            }
        }
    }
    if canonical != original {
        let query = req.query_string();
        let pq = if query.is_empty() { canonical.clone() } else { format!("{canonical}?{query}") };
        if let Ok(uri) = pq.parse::<Uri>() {
            req.match_info_mut().get_mut().update(&uri);
            req.head_mut().uri = uri;
        }
    }
    let head = req.method() == Method::HEAD;
    if head {
        req.extensions_mut().insert(IsHead);
        req.head_mut().method = Method::GET;
    }
    let res = secured(&canonical, next.call(req).await?);
    if head {
        return Ok(res.map_body(|_, body| BoxBody::new(HeadBody(body.size()))));
    }
    Ok(res.map_into_boxed_body())
}

/// `res` with [`add_security_headers`].
fn secured<B>(canonical: &str, mut res: ServiceResponse<B>) -> ServiceResponse<B> {
    add_security_headers(canonical, res.headers_mut());
    res
}

/// The body of a `HEAD` answer: no bytes, but the size of the `GET` body it stands for, so that
/// `Content-Length` is the one `GET` would send (the HTTP/1 encoder, which saw the request as
/// `HEAD`, writes the header and no body).
struct HeadBody(BodySize);

impl MessageBody for HeadBody {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        self.0
    }

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<actix_web::web::Bytes, Self::Error>>> {
        std::task::Poll::Ready(None)
    }
}

#[cfg(test)]
mod tests {
    use super::{canonical_path, host_matches};

    #[test]
    fn host_matching_follows_django() {
        let list: Vec<String> =
            ["backend", "localhost", "[::1]", ".example.com"].iter().map(|s| (*s).to_owned()).collect();
        for ok in ["backend", "BACKEND:8000", "localhost.", "[::1]:8000", "[::1]", "example.com", "a.b.example.com:80"]
        {
            assert!(host_matches(ok, &list), "{ok}");
        }
        for bad in [
            "",
            ":8000",
            "evil",
            "localhost:abc",
            "localhost:",
            "notexample.com",
            "[::2]",
            "[::1]x",
            "[::1]:",
            "backend.evil",
        ] {
            assert!(!host_matches(bad, &list), "{bad}");
        }
    }

    #[test]
    fn canonical_paths() {
        assert_eq!(canonical_path("/models/"), "/models");
        assert_eq!(canonical_path("/api/models/"), "/models");
        assert_eq!(canonical_path("/api/models/3"), "/models/3");
        assert_eq!(canonical_path("/api"), "/");
        assert_eq!(canonical_path("/api/"), "/");
        assert_eq!(canonical_path("/"), "/");
        assert_eq!(canonical_path("/apiary"), "/apiary");
        assert_eq!(canonical_path("/swagger-ui/"), "/swagger-ui/");
        assert_eq!(canonical_path("/api/ws/"), "/ws");
        assert_eq!(canonical_path("/api/admin/models/"), "/admin/models/");
        assert_eq!(canonical_path("/admin/"), "/admin/");
        assert_eq!(canonical_path("/administrator/"), "/administrator");
    }
}
