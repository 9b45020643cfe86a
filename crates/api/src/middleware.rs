//! Request normalisation: the reference's routes answer at `/` and under `/api` (what the web UI's
//! nginx proxies), with and without a trailing slash; `HEAD` runs the `GET` handler without its
//! side effects; `Host` is checked against `ALLOWED_HOSTS`.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, Uri};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse};

use crate::state::IsHead;

/// Paths served by other services that must keep their exact form.
fn keeps_exact_path(path: &str) -> bool {
    path.starts_with("/swagger-ui") || path.starts_with("/api-docs")
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

fn host_allowed(req: &ServiceRequest, whitelist: &[String]) -> bool {
    let host = req.connection_info().host().to_ascii_lowercase();
    let name = if host.starts_with('[') {
        host.split(']').next().map(|h| format!("{h}]")).unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default().to_owned()
    };
    whitelist.iter().any(|h| *h == name || (h.starts_with('.') && name.ends_with(h.as_str())))
}

/// The normalising middleware (see the module doc).
pub async fn normalize(
    whitelist: Option<Vec<String>>,
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
            return Ok(req.into_response(res));
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
    let res = next.call(req).await?;
    if head {
        return Ok(res.map_body(|_, _| BoxBody::new(())));
    }
    Ok(res.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::canonical_path;

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
    }
}
