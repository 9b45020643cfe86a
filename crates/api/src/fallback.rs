//! Answers for requests no handler took: `405` (with `Allow`) for a known path and another method,
//! `200` with `Allow` for `OPTIONS`, otherwise DRF's `404 {"detail":"Not found."}`.

use std::sync::Arc;

use actix_web::http::{header, Method};
use actix_web::{HttpRequest, HttpResponse};
use regex::Regex;

/// Known path templates with their methods, built from the OpenAPI document.
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: Vec<(Regex, Vec<String>)>,
}

impl RouteTable {
    /// Builds the table from the document's paths (`{param}` matches one segment).
    pub fn from_openapi(api: &utoipa::openapi::OpenApi) -> Arc<Self> {
        let mut routes = Vec::new();
        for (path, item) in api.paths.paths.iter() {
            let pattern = path
                .split('/')
                .map(|seg| if seg.starts_with('{') { "[^/]+".to_owned() } else { regex::escape(seg) })
                .collect::<Vec<_>>()
                .join("/");
            let Ok(re) = Regex::new(&format!("^{pattern}$")) else { continue };
            let value = serde_json::to_value(item).unwrap_or_default();
            let mut methods: Vec<String> = ["get", "post", "put", "patch", "delete"]
                .iter()
                .filter(|m| value.get(**m).is_some())
                .map(|m| m.to_ascii_uppercase())
                .collect();
            if methods.iter().any(|m| m == "GET") {
                methods.push("HEAD".to_owned());
            }
            methods.push("OPTIONS".to_owned());
            routes.push((re, methods));
        }
        Arc::new(RouteTable { routes })
    }

    fn allowed(&self, path: &str) -> Option<&[String]> {
        self.routes.iter().find(|(re, _)| re.is_match(path)).map(|(_, m)| m.as_slice())
    }
}

/// The default service.
pub async fn fallback(req: HttpRequest, table: Arc<RouteTable>) -> HttpResponse {
    let Some(methods) = table.allowed(req.path()) else {
        return HttpResponse::NotFound().json(serde_json::json!({"detail": "Not found."}));
    };
    let allow = methods.join(", ");
    if req.method() == Method::OPTIONS {
        return HttpResponse::Ok().insert_header((header::ALLOW, allow)).finish();
    }
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, allow))
        .json(serde_json::json!({"detail": format!("Method \"{}\" not allowed.", req.method())}))
}
