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
    let (_, mut api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(|cfg| crate::routes::configure(cfg))
        .split_for_parts();
    document_access(&mut api);
    document_cross_site_answers(&mut api);
    api
}

/// Describes the credentials ([`crate::auth`]) in the document: the security schemes, and on each
/// operation what it accepts and the role it needs (when `KAFKAML_AUTH=on`).
fn document_access(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};

    let components = api.components.get_or_insert_with(Default::default);
    let schemes: [(&str, SecurityScheme); 4] = [
        (
            "token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "An API token as `Token <key>` (DRF's TokenAuthentication); keys come from the admin site or \
             `kafkaml-backend createtoken`.",
            ))),
        ),
        ("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer))),
        (
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "kafkaml_session",
                "The admin site's session (sign in at `/api/admin/`); unsafe methods also need the `XSRF-TOKEN` \
             cookie's value in an `X-XSRF-TOKEN` header.",
            ))),
        ),
        (
            "podCapability",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "token",
                "The signed capability in the URLs given to training and inference pods.",
            ))),
        ),
    ];
    for (name, scheme) in schemes {
        components.add_security_scheme(name, scheme);
    }
    let requirement = |name: &str| SecurityRequirement::new::<&str, [&str; 0], &str>(name, []);
    for item in api.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
        for operation in operations.into_iter().flatten() {
            let Some(rule) = operation.operation_id.as_deref().and_then(crate::auth::access) else { continue };
            let (mut accepted, note) = match rule {
                crate::auth::Access::Public => (vec![SecurityRequirement::default()], "anyone".to_owned()),
                crate::auth::Access::Role(role) => (Vec::new(), format!("role {role} or above")),
                crate::auth::Access::Pod(_, role) => {
                    (vec![requirement("podCapability")], format!("the pod's capability, or role {role} or above"))
                }
            };
            if rule != crate::auth::Access::Public {
                accepted.extend(["token", "bearer", "session"].map(requirement));
            }
            operation.security = Some(accepted);
            let description = operation.description.take().unwrap_or_default();
            operation.description =
                Some(format!("{description}\n\n**Access** (`KAFKAML_AUTH=on`): {note}.").trim().to_owned());
        }
    }
}

/// Adds the answers of `cross_site::guard` to the operations it guards: 403 to every unsafe
/// method, 415 to every operation whose request body is JSON only (the guard reads the same
/// document, so the two cannot disagree).
fn document_cross_site_answers(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::{Content, ResponseBuilder};

    let text = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content("text/plain", Content::new(Some(ObjectBuilder::new().schema_type(Type::String))))
            .build()
    };
    for item in api.paths.paths.values_mut() {
        for op in [&mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten() {
            let responses = &mut op.responses.responses;
            responses
                .entry("403".to_owned())
                .or_insert_with(|| text("Cross-site request: the Origin header names an untrusted site").into());
            let json_only = op.request_body.as_ref().is_some_and(|body| {
                !body.content.is_empty() && body.content.keys().all(|t| crate::cross_site::is_json(t))
            });
            if json_only {
                responses
                    .entry("415".to_owned())
                    .or_insert_with(|| text("The body is not sent as application/json").into());
            }
        }
    }
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
