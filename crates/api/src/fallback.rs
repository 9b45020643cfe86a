//! Answers for requests no handler took: `405` (with `Allow`) for a known path and another method,
//! `200` with `Allow` for `OPTIONS`, otherwise DRF's `404 {"detail":"Not found."}`.

use std::sync::{Arc, OnceLock};

use actix_web::http::{header, Method};
use actix_web::{HttpRequest, HttpResponse};

/// One documented path template with its methods.
#[derive(Debug)]
struct Route {
    /// The template, e.g. `/models/{id}`.
    template: String,
    /// The template's `/`-separated segments; `None` for a `{param}`, which matches any one
    /// non-empty segment.
    segments: Vec<Option<String>>,
    /// Number of `{param}` segments: fewer means more specific.
    params: usize,
    /// `GET`, `POST`, … in a fixed order, then `HEAD` (with `GET`) and `OPTIONS`.
    methods: Vec<String>,
    /// The operation id of each documented method (`GET` → `list_models`).
    operations: Vec<(String, String)>,
    /// The methods whose documented request body is JSON only.
    json_bodies: Vec<String>,
}

impl Route {
    fn matches(&self, path: &str) -> bool {
        let mut given = path.split('/');
        self.segments.iter().all(|expected| match (expected, given.next()) {
            (Some(literal), Some(seg)) => literal == seg,
            (None, Some(seg)) => !seg.is_empty(),
            (_, None) => false,
        }) && given.next().is_none()
    }
}

/// Known path templates with their methods, built from the OpenAPI document.
#[derive(Debug, Default)]
pub struct RouteTable {
    /// Most specific first: `/models/distributed` before `/models/{id}`.
    routes: Vec<Route>,
}

impl RouteTable {
    /// Builds the table from the paths of an OpenAPI document in JSON (`{param}` matches one
    /// segment).
    pub fn from_document(document: &serde_json::Value) -> Arc<Self> {
        let mut routes = Vec::new();
        let no_paths = serde_json::Map::new();
        let paths = document.get("paths").and_then(serde_json::Value::as_object).unwrap_or(&no_paths);
        for (path, item) in paths {
            let segments =
                path.split('/').map(|seg| (!seg.starts_with('{')).then(|| seg.to_owned())).collect::<Vec<_>>();
            let mut methods: Vec<String> = ["get", "post", "put", "patch", "delete"]
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| m.to_ascii_uppercase())
                .collect();
            if methods.iter().any(|m| m == "GET") {
                methods.push("HEAD".to_owned());
            }
            methods.push("OPTIONS".to_owned());
            let operations = ["get", "post", "put", "patch", "delete"]
                .iter()
                .filter_map(|m| {
                    let id = item.get(*m)?.get("operationId")?.as_str()?;
                    Some((m.to_ascii_uppercase(), id.to_owned()))
                })
                .collect();
            let json_bodies = methods.iter().filter(|m| json_only(item, m)).cloned().collect();
            let params = path.split('/').filter(|seg| seg.starts_with('{')).count();
            routes.push(Route { template: path.clone(), segments, params, methods, operations, json_bodies });
        }
        routes.sort_by_key(|r| r.params);
        Arc::new(RouteTable { routes })
    }

    /// The table of the application's own document, built once. It fails, and the application
    /// does not start, when the document cannot be serialized or read back.
    pub fn shared() -> Result<Arc<Self>, serde_json::Error> {
        static TABLE: OnceLock<Arc<RouteTable>> = OnceLock::new();
        if let Some(table) = TABLE.get() {
            return Ok(table.clone());
        }
        // The served document, so the document is built once per process.
        let document = serde_json::from_slice(&crate::openapi::served_json()?)?;
        Ok(TABLE.get_or_init(|| RouteTable::from_document(&document)).clone())
    }

    /// The most specific template matching `path`.
    fn route(&self, path: &str) -> Option<&Route> {
        self.routes.iter().find(|r| r.matches(path))
    }

    /// The methods of the most specific template matching `path`.
    pub fn allowed(&self, path: &str) -> Option<&[String]> {
        self.route(path).map(|r| r.methods.as_slice())
    }

    /// The operation id of `method` (`HEAD` counts as `GET`) on the most specific template
    /// matching `path`.
    pub fn operation(&self, method: &Method, path: &str) -> Option<&str> {
        let method = if method == Method::HEAD { "GET" } else { method.as_str() };
        let route = self.route(path)?;
        route.operations.iter().find(|(m, _)| m == method).map(|(_, id)| id.as_str())
    }

    /// Every operation id of the document.
    pub fn operation_ids(&self) -> impl Iterator<Item = &str> {
        self.routes.iter().flat_map(|r| r.operations.iter().map(|(_, id)| id.as_str()))
    }

    /// Whether `method` on `path` documents a request body that is JSON only (a body in another
    /// media type is refused by `cross_site::guard`).
    pub fn takes_json(&self, path: &str, method: &Method) -> bool {
        self.route(path).is_some_and(|r| r.json_bodies.iter().any(|m| m == method.as_str()))
    }

    /// The methods of a template without parameters that is exactly `path`. The router would
    /// otherwise hand a wrong method on such a path to a `{id}` route of the same shape
    /// (`PUT /models/distributed` to `PUT /models/{id}`), which answers 404 instead of 405.
    pub fn literal(&self, path: &str) -> Option<&[String]> {
        self.routes.iter().take_while(|r| r.params == 0).find(|r| r.template == path).map(|r| r.methods.as_slice())
    }
}

/// Whether the operation `method` of a path item documents a request body whose media types are
/// all JSON (`application/json`, `application/*+json`).
fn json_only(item: &serde_json::Value, method: &str) -> bool {
    let content = item
        .get(method.to_ascii_lowercase())
        .and_then(|op| op.get("requestBody"))
        .and_then(|body| body.get("content"))
        .and_then(serde_json::Value::as_object);
    content.is_some_and(|types| !types.is_empty() && types.keys().all(|t| crate::cross_site::is_json(t)))
}

/// DRF's `405 {"detail":"Method \"X\" not allowed."}` with the `Allow` header.
pub fn method_not_allowed(method: &Method, allowed: &[String]) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, allowed.join(", ")))
        .json(serde_json::json!({"detail": format!("Method \"{method}\" not allowed.")}))
}

/// The default service.
pub async fn fallback(req: HttpRequest, table: Arc<RouteTable>) -> HttpResponse {
    let Some(methods) = table.allowed(req.path()) else {
        return HttpResponse::NotFound().json(serde_json::json!({"detail": "Not found."}));
    };
    if req.method() == Method::OPTIONS {
        return HttpResponse::Ok().insert_header((header::ALLOW, methods.join(", "))).finish();
    }
    method_not_allowed(req.method(), methods)
}

#[cfg(test)]
mod tests {
    use super::RouteTable;

    #[test]
    fn literal_templates_win_over_parameters() {
        let table = RouteTable::shared().unwrap();
        assert_eq!(table.allowed("/models/distributed").unwrap(), ["GET", "HEAD", "OPTIONS"]);
        assert_eq!(table.allowed("/models/7").unwrap(), ["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]);
        assert_eq!(table.literal("/models/fathers").unwrap(), ["GET", "HEAD", "OPTIONS"]);
        assert!(table.literal("/models/7").is_none());
        assert!(table.allowed("/nowhere").is_none());
        // A parameter is one non-empty segment.
        assert!(table.allowed("/models/7/extra").is_none());
        assert!(table.allowed("/results/chart/").is_none());
        assert_eq!(table.allowed("/results/chart/x1").unwrap(), ["GET", "HEAD", "OPTIONS"]);
        assert_eq!(table.allowed("/models").unwrap(), ["GET", "POST", "HEAD", "OPTIONS"]);
    }

    #[test]
    fn json_routes_come_from_the_documented_request_bodies() {
        use actix_web::http::Method;
        let table = RouteTable::shared().unwrap();
        for (method, path) in [
            (Method::POST, "/models"),
            (Method::PUT, "/models/7"),
            (Method::PATCH, "/configurations/3"),
            (Method::POST, "/datasources"),
            (Method::POST, "/datasources/kafka"),
            (Method::POST, "/deployments"),
            (Method::POST, "/results/inference/4"),
            (Method::POST, "/results/inference-iot/4"),
            (Method::PUT, "/iot-devices/2"),
        ] {
            assert!(table.takes_json(path, &method), "{method} {path}");
        }
        // Uploads (multipart, form) and bodiless routes are left to their handlers.
        for (method, path) in [
            (Method::POST, "/results/4"),
            (Method::POST, "/results_metrics/4"),
            (Method::POST, "/results/stop/4"),
            (Method::POST, "/inferences/4"),
            (Method::DELETE, "/models/7"),
            (Method::GET, "/models"),
            (Method::POST, "/nowhere"),
        ] {
            assert!(!table.takes_json(path, &method), "{method} {path}");
        }
    }
}
