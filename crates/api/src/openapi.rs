//! The OpenAPI document: generated from the handlers' annotations as they are registered.

use actix_web::App;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

/// Top-level information of the document; paths and schemas come from the registered handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kafka-ML back-end",
        description = "Control plane of Kafka-ML: models, configurations, deployments, training results, \
            datasources and inferences. Every path is also served under `/api` and with a trailing slash.",
        license(name = "Apache-2.0")
    ),
    tags(
        (name = "models", description = "Model definitions (source code), checked by the executors"),
        (name = "configurations", description = "Named sets of models"),
        (name = "deployments", description = "Training launches of a configuration"),
        (name = "results", description = "Training results: model download for training pods, uploads, metrics, charts"),
        (name = "inferences", description = "Inference deployments of trained results"),
        (name = "datasources", description = "Data streams announced on the control topic"),
        (name = "iot", description = "Tasmota devices over MQTT: live status, TinyML model deployment, token-addressed downloads"),
        (name = "health", description = "Liveness and readiness")
    )
)]
pub struct ApiDoc;

/// The complete document, as served at `/api-docs/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(|cfg| crate::routes::configure(cfg))
        .split_for_parts();
    api
}

/// The document as served at `/api-docs/openapi.json` (compact JSON), built once per process: the
/// server workers share these bytes instead of each keeping a copy of the document. A document that
/// does not serialize is an error of [`crate::Application::build`]: the server does not start
/// rather than serve an empty document.
pub fn served_json() -> Result<actix_web::web::Bytes, serde_json::Error> {
    static JSON: std::sync::OnceLock<actix_web::web::Bytes> = std::sync::OnceLock::new();
    if let Some(json) = JSON.get() {
        return Ok(json.clone());
    }
    let json = document().to_json()?.into();
    Ok(JSON.get_or_init(|| json).clone())
}

/// The document as pretty-printed JSON (what `openapi/openapi.json` holds), with a final newline.
pub fn document_json() -> Result<String, serde_json::Error> {
    let mut text = document().to_pretty_json()?;
    text.push('\n');
    Ok(text)
}
