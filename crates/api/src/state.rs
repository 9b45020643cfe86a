//! Shared application state and the small helpers every handler uses.

use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use kafkaml_executor::Executor;
use kafkaml_messaging::{ControlPublisher, PredictionSource};
use kafkaml_orchestration::{Cluster, ClusterConnector, ClusterError};
use kafkaml_persistence::{ArtifactStore, DbConnection, Pool};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::settings::Settings;

/// What the handlers share, behind `web::Data`.
pub struct AppState {
    /// The database pool.
    pub pool: Pool,
    /// Trained models and confusion matrices.
    pub store: ArtifactStore,
    /// The TensorFlow / PyTorch executor services.
    pub executor: Arc<dyn Executor>,
    /// The settings in effect.
    pub settings: Settings,
    /// The default Kubernetes cluster, when one is configured.
    pub cluster: Option<Arc<dyn Cluster>>,
    /// Opens the external clusters of inferences.
    pub connector: Arc<dyn ClusterConnector>,
    /// MQTT link and files of the IoT devices.
    pub iot: crate::routes::iot::IotServices,
    /// Publishes to the control topic; `None` when `BOOTSTRAP_SERVERS` or `CONTROL_TOPIC` is unset.
    pub publisher: Option<Arc<dyn ControlPublisher>>,
    /// Live prediction subscriptions for `/ws/`; `None` when `BOOTSTRAP_SERVERS` is unset.
    pub predictions: Option<Arc<dyn PredictionSource>>,
    /// One permit per open prediction WebSocket (`KAFKAML_WS_MAX_CONNECTIONS`).
    pub ws_slots: Arc<tokio::sync::Semaphore>,
    /// One permit per pooled connection: requests wait for a connection here, asynchronously,
    /// instead of each parking a blocking thread in the pool.
    pub db_slots: Arc<tokio::sync::Semaphore>,
}

/// The state as handlers receive it.
pub type State = web::Data<AppState>;

impl AppState {
    /// The default cluster, or 503 when none is configured.
    pub fn cluster(&self) -> ApiResult<Arc<dyn Cluster>> {
        self.cluster.clone().ok_or_else(|| ClusterError::NotConfigured.into())
    }

    /// The cluster of an inference: its external cluster when `external` gives one, else the
    /// default cluster.
    pub async fn cluster_for(&self, external: Option<(&str, &str)>) -> ApiResult<Arc<dyn Cluster>> {
        match external {
            Some((host, token)) => self.connector.connect(host, token).await.map_err(|e| match e {
                ClusterError::Config(reason) => {
                    ApiError::bad_request(format!("The external cluster {host} cannot be used: {reason}."))
                }
                other => other.into(),
            }),
            None => self.cluster(),
        }
    }

    /// Runs `f` with a pooled connection on the blocking thread pool. At most as many calls as the
    /// pool has connections run at once (so no more blocking threads than connections); the
    /// others wait here, up to the pool's connection timeout, then answer 503.
    pub async fn db<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
    {
        let busy = || ApiError::Unavailable("The database is unavailable, try again later.".to_owned());
        let wait = self.pool.connection_timeout();
        let permit = tokio::time::timeout(wait, self.db_slots.clone().acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        let pool = self.pool.clone();
        web::block(move || {
            // Held until the work is done, even when the request is dropped meanwhile.
            let _permit = permit;
            let mut conn = pool.get().map_err(kafkaml_persistence::DbError::from)?;
            f(&mut conn)
        })
        .await?
    }
}

/// A numeric path id (`<int:pk>` in the reference): anything that is not a non-negative decimal
/// number in range matches nothing, so it is a 404.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Id(pub i32);

impl FromRequest for Id {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let raw = req.match_info().get("id").unwrap_or_default();
        let id =
            if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) { raw.parse::<i32>().ok() } else { None };
        std::future::ready(id.map(Id).ok_or_else(ApiError::not_found_detail))
    }
}

/// Marks a request that arrived as `HEAD`: handlers with side effects skip them.
#[derive(Debug, Clone, Copy)]
pub struct IsHead;

/// Whether the request arrived as `HEAD`.
pub fn is_head(req: &HttpRequest) -> bool {
    req.extensions().get::<IsHead>().is_some()
}

use actix_web::HttpMessage;

/// Parses a raw JSON body into a JSON value; `prefix` starts the 400 message.
pub fn json_body(body: &[u8], prefix: &str) -> ApiResult<Value> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ApiError::bad_request(format!("{prefix}: the request body is empty; send a JSON object.")));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("{prefix}: the body is not valid JSON ({e}).")))?;
    if !v.is_object() {
        return Err(ApiError::bad_request(format!("{prefix}: the body must be a JSON object.")));
    }
    Ok(v)
}

/// Parses and validates a typed body from a JSON value; `prefix` starts the 400 message.
pub fn typed<T: serde::de::DeserializeOwned + validator::Validate>(v: Value, prefix: &str) -> ApiResult<T> {
    kafkaml_domain::inputs::parse(v).map_err(|m| ApiError::bad_request(format!("{prefix}: {m}")))
}
