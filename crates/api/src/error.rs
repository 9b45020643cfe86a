//! The API's one error type. Its `ResponseError` impl decides status and body in one place:
//! plain-text messages where the reference sends text (the web UI shows them verbatim), DRF-style
//! `{"detail": …}` where it sends DRF errors. Causes are logged, never sent.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use kafkaml_executor::ExecutorError;
use kafkaml_orchestration::ClusterError;
use kafkaml_persistence::DbError;

use crate::usecase::{self, Missing};

/// An error answer.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A plain-text message with a 4xx status.
    #[error("{1}")]
    Text(StatusCode, String),
    /// A DRF-style `{"detail": "…"}` body.
    #[error("{1}")]
    Detail(StatusCode, String),
    /// A required outside service is unreachable or slow (503).
    #[error("{0}")]
    Unavailable(String),
    /// The database is busy with other writers: 503 with `Retry-After: 1`, never a 500.
    #[error("the database is busy")]
    Busy,
    /// An outside service answered wrongly (502).
    #[error("{0}")]
    BadGateway(String),
    /// A fault of ours: logged with its cause; the client sees a fixed message (500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// 400 with a text message.
    pub fn bad_request(msg: impl Into<String>) -> Self {
        ApiError::Text(StatusCode::BAD_REQUEST, msg.into())
    }

    /// 404 with a text message (decisions.md item 9).
    pub fn not_found(msg: impl Into<String>) -> Self {
        ApiError::Text(StatusCode::NOT_FOUND, msg.into())
    }

    /// DRF's `404 {"detail":"Not found."}` of the generic views.
    pub fn not_found_detail() -> Self {
        ApiError::Detail(StatusCode::NOT_FOUND, "Not found.".to_owned())
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => ApiError::not_found_detail(),
            DbError::Rule(rule) => ApiError::bad_request(rule.to_string()),
            DbError::Unique(what) => ApiError::bad_request(format!("Information not valid: {what} already exists.")),
            DbError::ForeignKey(_) => {
                ApiError::bad_request("Information not valid: a referenced object does not exist.")
            }
            DbError::Pool(e) => {
                tracing::error!(error = %e, "database pool exhausted or unreachable");
                ApiError::Unavailable("The database is unavailable, try again later.".to_owned())
            }
            DbError::Connection(e) => {
                tracing::error!(error = %e, "database connection failed");
                ApiError::Unavailable("The database is unavailable, try again later.".to_owned())
            }
            DbError::Lost(cause) => {
                tracing::warn!(%cause, "the database connection was lost during a request");
                ApiError::Unavailable("The database connection was lost; try again in a moment.".to_owned())
            }
            DbError::Busy(cause) => {
                tracing::warn!(%cause, "the database was busy");
                ApiError::Busy
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// How the API words what was not found: a text naming the object where the reference answered
/// text, DRF's `{"detail": "Not found."}` on its generic routes.
fn not_found(missing: Missing) -> ApiError {
    let text = match missing {
        Missing::Model => "Model does not exist",
        Missing::Configuration => "Configuration does not exist",
        Missing::Deployment => "Deployment does not exist",
        Missing::TrainingResult => "Training result does not exist",
        Missing::Result => "Result does not exist",
        Missing::ModelResult => "Model result not found.",
        Missing::ModelFile => "Model file not found.",
        Missing::Inference => "Inference does not exist",
        Missing::Devices => "No valid devices found.",
        Missing::Object => return ApiError::not_found_detail(),
    };
    ApiError::not_found(text)
}

/// The status table of the use cases' errors.
impl From<usecase::Error> for ApiError {
    fn from(e: usecase::Error) -> Self {
        use usecase::Error as E;
        match e {
            E::Invalid { .. } | E::BadRequest(_) | E::Rule(_) | E::ExternalCluster { .. } | E::Conversion(_) => {
                ApiError::bad_request(e.to_string())
            }
            E::NotFound(missing) => not_found(missing),
            E::UnknownDevices(tokens) => {
                ApiError::not_found(format!("No device has the token {}; nothing was deployed.", tokens.join(", ")))
            }
            E::NotConfigured(_) | E::Int8WithoutKafka | E::KafkaNotConfigured | E::NotPublished { .. } | E::Iot(_) => {
                ApiError::Unavailable(e.to_string())
            }
            E::DatabaseBusy => ApiError::Busy,
            E::TooLarge { .. } => ApiError::Detail(StatusCode::PAYLOAD_TOO_LARGE, e.to_string()),
            E::DiskFull { .. } => ApiError::Detail(StatusCode::INSUFFICIENT_STORAGE, e.to_string()),
            E::ShapeWithoutDimensions(_) | E::NotDelivered(_) => ApiError::BadGateway(e.to_string()),
            E::Db(e) => e.into(),
            E::Cluster(e) => e.into(),
            E::Executor(e) => e.into(),
            E::Io(e) => e.into(),
            E::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

impl From<ExecutorError> for ApiError {
    fn from(e: ExecutorError) -> Self {
        tracing::warn!(error = %e, "executor call failed");
        if e.is_unavailable() {
            ApiError::Unavailable(e.to_string())
        } else {
            ApiError::BadGateway(e.to_string())
        }
    }
}

impl From<ClusterError> for ApiError {
    fn from(e: ClusterError) -> Self {
        tracing::warn!(error = %e, "Kubernetes call failed");
        match e {
            e if e.is_unavailable() => ApiError::Unavailable(format!("{e}.")),
            e @ ClusterError::AlreadyExists { .. } => ApiError::Text(StatusCode::CONFLICT, format!("{e}.")),
            e => ApiError::BadGateway(format!("{e}.")),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        ApiError::Internal(format!("file store: {e}"))
    }
}

fn text(status: StatusCode, msg: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8")))
        .body(msg.to_owned())
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Text(s, _) | ApiError::Detail(s, _) => *s,
            ApiError::Unavailable(_) | ApiError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Text(s, m) => text(*s, m),
            ApiError::Detail(s, m) => HttpResponse::build(*s).json(serde_json::json!({ "detail": m })),
            ApiError::Unavailable(m) => text(StatusCode::SERVICE_UNAVAILABLE, m),
            ApiError::Busy => {
                let mut res = text(StatusCode::SERVICE_UNAVAILABLE, "The database is busy; try again in a moment.");
                res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                res
            }
            ApiError::BadGateway(m) => text(StatusCode::BAD_GATEWAY, m),
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                text(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.")
            }
        }
    }
}

/// Result alias of the handlers.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_database_is_a_503_with_retry_after_never_a_500() {
        let res = ApiError::from(DbError::Busy("database is locked".to_owned())).error_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("1"));
    }
}
