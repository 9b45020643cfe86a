//! Who is calling the REST API, and whether they may.
//!
//! [`guard`] runs before routing on every request that names a documented operation. It finds
//! the caller:
//!
//! 1. an API token: `Authorization: Token <key>` (DRF's `TokenAuthentication`) or
//!    `Bearer <key>`; a key that does not verify is a 401 whatever `KAFKAML_AUTH` says;
//! 2. the control logger's path `/control-logger/<key>/datasources/` (its image can only be
//!    given a `host:port` to post to: `BACKEND=backend:8000/control-logger/<key>`), a token too;
//! 3. the admin site's session cookie; an unsafe method must carry the `XSRF-TOKEN` cookie back
//!    as `X-XSRF-TOKEN` (what Angular's `HttpClient` does on relative URLs), or the session is not
//!    used (and with `KAFKAML_AUTH=on` the request is refused);
//! 4. on the pod callbacks only, the capability in the URL the pod was given (`?token=`,
//!    [`crate::usecase::capability`]);
//!
//! and then checks what the operation needs ([`access`]): with `KAFKAML_AUTH=off` anyone may call
//! anything, as the reference allowed; with `on`, an anonymous call is a 401 and a caller whose
//! role is not enough a 403. Handlers read the caller with the [`Caller`] extractor, and the
//! audit trail records its [`Actor`].

use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode, Uri};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use kafkaml_domain::Role;
use subtle::ConstantTimeEq;

use crate::admin::auth::{CSRF_COOKIE, SESSION_COOKIE};
use crate::fallback::RouteTable;
use crate::settings::AuthMode;
use crate::state::AppState;
use crate::usecase::accounts::{self, User};
use crate::usecase::capability::{self, Purpose};
use crate::usecase::tokens::{self, Token};
use crate::usecase::{Actor, Ctx};

/// The header Angular's `HttpClient` sends the `XSRF-TOKEN` cookie back in.
pub const CSRF_HEADER: &str = "x-xsrf-token";

/// The control logger's path prefix: `/control-logger/<key>/datasources`.
const LOGGER_PREFIX: &str = "/control-logger/";

/// What an operation needs from its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health checks, and the IoT devices' downloads (their token is the capability).
    Public,
    /// A user (or token) with at least this role.
    Role(Role),
    /// A pod with a capability for one of these purposes, or a user with at least this role.
    Pod(&'static [Purpose], Role),
}

/// What operation `id` (its OpenAPI operation id) needs; `None` for an operation nobody has
/// classified, which the guard refuses (and a test fails on).
pub fn access(operation_id: &str) -> Option<Access> {
    use Access::{Pod, Public};
    const READ: Access = Access::Role(Role::Viewer);
    const OPERATE: Access = Access::Role(Role::Operator);
    Some(match operation_id {
        "healthz" | "readyz" | "download_iot_device_script" | "download_iot_device_model" => Public,
        "list_models"
        | "get_model"
        | "list_distributed_models"
        | "list_father_models"
        | "get_model_of_result"
        | "list_configurations"
        | "get_configuration"
        | "frameworks_in_configuration"
        | "distributed_configuration"
        | "list_deployments"
        | "deployments_of_configuration"
        | "results_of_deployment"
        | "list_results"
        | "result_chart"
        | "download_confusion_matrix"
        | "inference_info_of_result"
        | "list_inferences"
        | "get_inference"
        | "list_datasources"
        | "list_iot_devices"
        | "get_iot_device"
        | "predictions_socket" => READ,
        "create_model"
        | "update_model"
        | "patch_model"
        | "delete_model"
        | "create_configuration"
        | "update_configuration"
        | "patch_configuration"
        | "delete_configuration"
        | "create_deployment"
        | "delete_deployment"
        | "stop_training"
        | "delete_result"
        | "deploy_inference"
        | "stop_inference"
        | "delete_inference"
        | "create_datasource"
        | "publish_datasource"
        | "create_iot_device"
        | "update_iot_device"
        | "patch_iot_device"
        | "delete_iot_device"
        | "deploy_to_iot_devices" => OPERATE,
        // A training pod fetches its model here (which marks the result deployed), an inference
        // pod its architecture; a person doing so changes the result's state.
        "get_result_model_for_training" => Pod(&[Purpose::Training, Purpose::Serving], Role::Operator),
        "upload_result" | "update_result_metrics" => Pod(&[Purpose::Training], Role::Operator),
        // Inference pods load the trained model; the web UI downloads it.
        "download_trained_model" => Pod(&[Purpose::Serving], Role::Viewer),
        _ => return None,
    })
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No credential (allowed everywhere while `KAFKAML_AUTH=off`).
    Anonymous,
    /// A user signed in at the admin site (a session cookie).
    Session(User),
    /// A user's API token.
    Token(User, Token),
    /// A pod, through the capability of the URL it was given.
    Pod(Purpose, i32),
}

impl Caller {
    /// The actor of this caller's changes in the audit trail.
    pub fn actor(&self) -> Actor {
        match self {
            Caller::Anonymous => Actor::Anonymous,
            Caller::Session(user) => user.actor(),
            Caller::Token(_, token) => token.actor(),
            Caller::Pod(purpose, result_id) => Actor::Pod {
                purpose: match purpose {
                    Purpose::Training => "training",
                    Purpose::Serving => "inference",
                },
                result_id: *result_id,
            },
        }
    }
}

impl FromRequest for Caller {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    /// The caller the guard found; anonymous where no guard ran.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(req.extensions().get::<Caller>().cloned().unwrap_or(Caller::Anonymous)))
    }
}

/// A refusal, as DRF words it.
fn refuse(status: StatusCode, detail: &str) -> HttpResponse {
    let mut res = HttpResponse::build(status).json(serde_json::json!({ "detail": detail }));
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
    }
    res
}

/// The key of an `Authorization: Token <key>` or `Bearer <key>` header; `Err` for such a
/// header without a key. Other schemes are not ours (`Ok(None)`).
fn bearer_key(req: &ServiceRequest) -> Result<Option<String>, &'static str> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else { return Ok(None) };
    let value =
        value.to_str().map_err(|_| "Invalid token header. Token string should not contain invalid characters.")?;
    let mut parts = value.split_whitespace();
    let scheme = parts.next().unwrap_or_default();
    if !scheme.eq_ignore_ascii_case("token") && !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    match (parts.next(), parts.next()) {
        (Some(key), None) => Ok(Some(key.to_owned())),
        (None, _) => Err("Invalid token header. No credentials provided."),
        (Some(_), Some(_)) => Err("Invalid token header. Token string should not contain spaces."),
    }
}

/// The key of the control logger's path (`/control-logger/<key>/datasources`), with the path
/// rewritten to `/datasources` (under the scope's prefix, when the API is mounted in one).
fn logger_key(req: &mut ServiceRequest) -> Option<String> {
    let path = req.path();
    let within = req.match_info().unprocessed();
    let prefix = &path[..path.len() - within.len()];
    let rest = within.strip_prefix(LOGGER_PREFIX)?;
    let (key, tail) = rest.split_once('/')?;
    if tail != "datasources" || key.is_empty() {
        return None;
    }
    let key = key.to_owned();
    let uri: Uri = format!("{prefix}/datasources").parse().ok()?;
    req.match_info_mut().get_mut().update(&uri);
    req.head_mut().uri = uri;
    Some(key)
}

/// Whether an unsafe request under a session carries the CSRF cookie back in the header.
fn csrf_ok(req: &ServiceRequest) -> bool {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    let cookie = req.cookie(CSRF_COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
    let header = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
    !cookie.is_empty() && bool::from(cookie.as_bytes().ct_eq(header.as_bytes()))
}

/// The path of `req` below the scope it is mounted in (the whole path at the application's root).
pub(crate) fn route_path(req: &ServiceRequest) -> &str {
    req.match_info().unprocessed()
}

/// The result id of a pod callback's path (its last segment).
fn result_id(path: &str) -> Option<i32> {
    let last = path.rsplit('/').next()?;
    last.bytes().all(|b| b.is_ascii_digit()).then(|| last.parse().ok()).flatten()
}

/// The pod capability of the query string (`token=`), when it verifies for one of `purposes`.
fn pod(ctx: &Ctx, req: &ServiceRequest, purposes: &[Purpose]) -> Option<Caller> {
    let id = result_id(route_path(req))?;
    let token = capability::token_of_query(req.query_string())?;
    let now = chrono::Utc::now().timestamp();
    purposes
        .iter()
        .find(|p| capability::verify(&ctx.accounts.secret_key, **p, id, token, now))
        .map(|p| Caller::Pod(*p, id))
}

/// Finds the caller of `req` (see the module doc); `Err` is the answer that ends the request.
async fn identify(
    ctx: &Ctx,
    req: &ServiceRequest,
    path_key: Option<String>,
    access: Access,
    mode: AuthMode,
) -> Result<Caller, HttpResponse> {
    let key = match bearer_key(req) {
        Ok(Some(key)) => Some(key),
        Ok(None) => path_key,
        Err(message) => return Err(refuse(StatusCode::UNAUTHORIZED, message)),
    };
    if let Some(key) = key {
        return match tokens::token_user(ctx, &key).await {
            Ok(Some((user, token))) => Ok(Caller::Token(user, token)),
            Ok(None) => Err(refuse(StatusCode::UNAUTHORIZED, "Invalid token.")),
            Err(e) => Err(unavailable(&e)),
        };
    }
    if let Some(cookie) = req.cookie(SESSION_COOKIE).filter(|c| !c.value().is_empty()) {
        match accounts::session_user(ctx, cookie.value()).await {
            Ok(Some(user)) if csrf_ok(req) => return Ok(Caller::Session(user)),
            Ok(Some(_)) if mode == AuthMode::On => {
                return Err(refuse(StatusCode::FORBIDDEN, "CSRF Failed: CSRF token missing or incorrect."))
            }
            Ok(_) => {}
            Err(e) => return Err(unavailable(&e)),
        }
    }
    if let Access::Pod(purposes, _) = access {
        if let Some(caller) = pod(ctx, req, purposes) {
            return Ok(caller);
        }
    }
    Ok(Caller::Anonymous)
}

/// The answer when the credential could not be checked (the database is away).
fn unavailable(e: &crate::usecase::Error) -> HttpResponse {
    tracing::warn!(error = %e, "checking a credential failed");
    refuse(StatusCode::SERVICE_UNAVAILABLE, "Credentials could not be checked; try again.")
}

/// Whether `caller` may call an operation that needs `access` under `mode`; `Err` is the answer.
#[expect(clippy::result_large_err, reason = "the refusal is the response itself, built only for a refused request")]
fn authorize(caller: &Caller, access: Access, mode: AuthMode) -> Result<(), HttpResponse> {
    let needed = match access {
        Access::Public => return Ok(()),
        _ if mode == AuthMode::Off => return Ok(()),
        Access::Role(role) | Access::Pod(_, role) => role,
    };
    match caller {
        Caller::Anonymous => Err(refuse(StatusCode::UNAUTHORIZED, "Authentication credentials were not provided.")),
        // `identify` only accepts a capability for the purposes of this operation.
        Caller::Pod(..) => Ok(()),
        Caller::Session(user) | Caller::Token(user, _) if user.can(needed) => Ok(()),
        Caller::Session(_) | Caller::Token(..) => {
            Err(refuse(StatusCode::FORBIDDEN, "You do not have permission to perform this action."))
        }
    }
}

/// The guard middleware (see the module doc). Requests that name no documented operation (the
/// admin site, the API docs, unknown paths) pass untouched: the admin checks its own sessions.
pub async fn guard(
    mode: AuthMode,
    routes: Arc<RouteTable>,
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let pass = |req: ServiceRequest| async move { next.call(req).await.map(ServiceResponse::map_into_boxed_body) };
    if req.method() == Method::OPTIONS {
        return pass(req).await;
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else { return pass(req).await };
    let path_key = logger_key(&mut req);
    if path_key.is_some() && req.method() != Method::POST {
        let res = crate::fallback::method_not_allowed(req.method(), &["POST".to_owned()]);
        return Ok(req.into_response(res));
    }
    let Some(operation) = routes.operation(req.method(), route_path(&req)).map(str::to_owned) else {
        return pass(req).await;
    };
    let Some(access) = access(&operation) else {
        tracing::error!(operation, "an operation without an access rule was refused");
        return Ok(req.into_response(refuse(StatusCode::FORBIDDEN, "This operation is not open to anyone yet.")));
    };
    if access == Access::Public {
        // Health probes and devices send no credential; nothing there is anyone's change.
        return pass(req).await;
    }
    let caller = match identify(&state.ctx, &req, path_key, access, mode).await {
        Ok(caller) => caller,
        Err(res) => return Ok(req.into_response(res)),
    };
    if let Err(res) = authorize(&caller, access, mode) {
        return Ok(req.into_response(res));
    }
    req.extensions_mut().insert(caller);
    pass(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_operation_has_an_access_rule() {
        let table = RouteTable::shared().unwrap();
        let missing: Vec<&str> = table.operation_ids().filter(|id| access(id).is_none()).collect();
        assert!(missing.is_empty(), "operations without an access rule in auth::access: {missing:?}");
    }

    #[test]
    fn reads_need_a_viewer_and_changes_an_operator() {
        let table = RouteTable::shared().unwrap();
        for (method, path, expected) in [
            (Method::GET, "/models", Access::Role(Role::Viewer)),
            (Method::HEAD, "/models/3", Access::Role(Role::Viewer)),
            (Method::POST, "/models", Access::Role(Role::Operator)),
            (Method::DELETE, "/results/3", Access::Role(Role::Operator)),
            (Method::GET, "/healthz", Access::Public),
            (Method::GET, "/iot-devices/ABCDEF12/model.tflite", Access::Public),
            (Method::POST, "/results_metrics/3", Access::Pod(&[Purpose::Training], Role::Operator)),
        ] {
            let op = table.operation(&method, path).unwrap();
            assert_eq!(access(op), Some(expected), "{method} {path}");
        }
        // Every documented GET is at most a viewer's, except the training pod's model fetch.
        assert!(table.operation(&Method::GET, "/nowhere").is_none());
    }

    #[test]
    fn result_ids_come_from_the_last_segment() {
        assert_eq!(result_id("/results/12"), Some(12));
        assert_eq!(result_id("/results_metrics/3"), Some(3));
        assert_eq!(result_id("/results/model/7"), Some(7));
        assert_eq!(result_id("/results/x"), None);
        assert_eq!(result_id("/results/99999999999"), None);
    }
}
