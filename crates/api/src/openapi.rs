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
    document_links(&mut api);
    api
}

/// Adds OpenAPI links, so that clients (and schemathesis's stateful tests) can chain calls: the
/// list `GET /X` links to `GET /X/{id}` with the first element's id, and `GET /X/{id}` links to
/// the `PUT`, `PATCH` and `DELETE` of the same id. Creates cannot be linked: they answer `201`
/// with an empty body and no header naming the new object (what the web UI expects), so the new
/// id is only found through the list.
fn document_links(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::link::LinkBuilder;
    use utoipa::openapi::RefOr;

    fn operation_ids(api: &utoipa::openapi::OpenApi, path: &str) -> Vec<(&'static str, String)> {
        let Some(item) = api.paths.paths.get(path) else { return Vec::new() };
        [("GET", &item.get), ("PUT", &item.put), ("PATCH", &item.patch), ("DELETE", &item.delete)]
            .into_iter()
            .filter_map(|(method, op)| Some((method, op.as_ref()?.operation_id.clone()?)))
            .collect()
    }
    let templates: Vec<String> = api.paths.paths.keys().filter(|p| p.ends_with("/{id}")).cloned().collect();
    for template in templates {
        let by_id = operation_ids(api, &template);
        let list = template.trim_end_matches("/{id}").to_owned();
        let link = |operation_id: &str, value: &str| {
            LinkBuilder::new().operation_id(operation_id).parameter("id", value).build()
        };
        let read = by_id.iter().find(|(m, _)| *m == "GET").map(|(_, id)| id.clone());
        let changes: Vec<(&str, String)> = by_id.iter().filter(|(m, _)| *m != "GET").cloned().collect();
        if let Some(item) = api.paths.paths.get_mut(&template) {
            if let Some(RefOr::T(ok)) = item.get.as_mut().and_then(|op| op.responses.responses.get_mut("200")) {
                for (method, operation_id) in &changes {
                    let name = format!("{}{}", method[..1].to_owned(), method[1..].to_ascii_lowercase());
                    ok.links.insert(name, link(operation_id, "$request.path.id").into());
                }
            }
        }
        let (Some(read), Some(item)) = (read, api.paths.paths.get_mut(&list)) else { continue };
        if let Some(RefOr::T(ok)) = item.get.as_mut().and_then(|op| op.responses.responses.get_mut("200")) {
            ok.links.insert("GetFirst".to_owned(), link(&read, "$response.body#/0/id").into());
        }
    }
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
    let json = serde_json::to_string(&wire_document()?)?.into();
    Ok(JSON.get_or_init(|| json).clone())
}

/// The document as pretty-printed JSON (what `openapi/openapi.json` holds), with a final newline.
pub fn document_json() -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(&wire_document()?)?;
    text.push('\n');
    Ok(text)
}

/// [`document`] as JSON, with the keys of its links spelled as OpenAPI spells them: utoipa 5
/// writes a link's `operationId` and `operationRef` in snake case.
fn wire_document() -> Result<serde_json::Value, serde_json::Error> {
    let mut doc = serde_json::to_value(document())?;
    let responses = doc["paths"].as_object_mut().into_iter().flat_map(|paths| paths.values_mut()).flat_map(|item| {
        item.as_object_mut().into_iter().flat_map(|ops| ops.values_mut()).filter_map(|op| op.get_mut("responses"))
    });
    for response in responses.flat_map(|r| r.as_object_mut().into_iter().flat_map(|r| r.values_mut())) {
        for link in response.get_mut("links").and_then(|l| l.as_object_mut()).into_iter().flat_map(|l| l.values_mut()) {
            let Some(link) = link.as_object_mut() else { continue };
            for (snake, camel) in [("operation_id", "operationId"), ("operation_ref", "operationRef")] {
                if let Some(value) = link.remove(snake) {
                    link.insert(camel.to_owned(), value);
                }
            }
        }
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use kafkaml_domain::inputs::parse;
    use serde_json::{json, Value};

    fn document() -> Value {
        super::wire_document().unwrap()
    }

    /// The request bodies' schemas state the rules the server enforces, and the server enforces
    /// what they state: at each stated bound, the value just inside passes and the one just
    /// outside is refused, naming the field.
    #[test]
    fn request_schemas_state_the_rules_the_server_enforces() {
        let doc = document();
        let property = |schema: &str, field: &str| doc["components"]["schemas"][schema]["properties"][field].clone();
        type Check = fn(Value) -> Result<(), String>;
        fn check<T: serde::de::DeserializeOwned + validator::Validate>(body: Value) -> Result<(), String> {
            parse::<T>(body).map(|_| ())
        }
        use kafkaml_domain::deploy::{DeploymentInput, InferenceInput};
        use kafkaml_domain::inputs::{ConfigurationInput, DatasourceInput, ModelInput};
        use kafkaml_domain::iot::IotDeviceInput;
        let model = json!({"name": "m", "code": "model = 1", "framework": "tf"});
        let configuration = json!({"name": "c", "ml_models": []});
        let datasource = json!({"deployment": "1", "topic": "t:0:0:1", "time": "2024-05-01T10:00:00Z"});
        let deployment = json!({"configuration": 1, "gpumem": 0});
        let inference = json!({"gpumem": 0});
        let device = json!({"friendly_name": "d", "mqtt_address": "h", "mqtt_port": 1883, "mqtt_username": "u"});
        let cases: Vec<(&str, &str, &Value, Check)> = vec![
            ("ModelInput", "name", &model, check::<ModelInput>),
            ("ModelInput", "description", &model, check::<ModelInput>),
            ("ModelInput", "code", &model, check::<ModelInput>),
            ("ConfigurationInput", "name", &configuration, check::<ConfigurationInput>),
            ("ConfigurationInput", "description", &configuration, check::<ConfigurationInput>),
            ("DatasourceInput", "topic", &datasource, check::<DatasourceInput>),
            ("DatasourceInput", "validation_rate", &datasource, check::<DatasourceInput>),
            ("DeploymentInput", "batch", &deployment, check::<DeploymentInput>),
            ("DeploymentInput", "tf_kwargs_fit", &deployment, check::<DeploymentInput>),
            ("DeploymentInput", "learning_rate", &deployment, check::<DeploymentInput>),
            ("InferenceInput", "replicas", &inference, check::<InferenceInput>),
            ("IotDeviceInput", "friendly_name", &device, check::<IotDeviceInput>),
            ("IotDeviceInput", "mqtt_port", &device, check::<IotDeviceInput>),
            ("IotDeviceInput", "mqtt_address", &device, check::<IotDeviceInput>),
        ];
        for (schema, field, base, check) in cases {
            let rules = property(schema, field);
            let with = |value: Value| {
                let mut body = base.clone();
                body[field] = value;
                body
            };
            let mut stated = 0;
            if let Some(max) = rules["maxLength"].as_u64() {
                stated += 1;
                assert!(check(with(json!("x".repeat(max as usize)))).is_ok(), "{schema}.{field}: {max} characters");
                let e = check(with(json!("x".repeat(max as usize + 1)))).unwrap_err();
                assert!(e.contains(field), "{schema}.{field}: {e}");
            }
            if rules["minLength"].as_u64() == Some(1) {
                stated += 1;
                assert!(rules["pattern"].is_string(), "{schema}.{field}: blank text is refused by a pattern");
                for blank in ["", "  "] {
                    assert!(check(with(json!(blank))).unwrap_err().contains(field), "{schema}.{field}: {blank:?}");
                }
            }
            if let Some(pattern) = rules["pattern"].as_str().filter(|p| *p != "\\S") {
                stated += 1;
                let e = check(with(json!("a;b c"))).unwrap_err();
                assert!(e.contains(field), "{schema}.{field} ({pattern}): {e}");
            }
            if let Some(min) = rules["minimum"].as_f64() {
                stated += 1;
                let below = if min.fract() == 0.0 { json!(min as i64 - 1) } else { json!(min - 1.0) };
                let at = if min.fract() == 0.0 { json!(min as i64) } else { json!(min) };
                assert!(check(with(at)).is_ok(), "{schema}.{field}: {min}");
                assert!(check(with(below.clone())).unwrap_err().contains(field), "{schema}.{field}: {below}");
            }
            if let Some(max) = rules["maximum"].as_f64() {
                stated += 1;
                let above = if max.fract() == 0.0 { json!(max as i64 + 1) } else { json!(max + 1.0) };
                let at = if max.fract() == 0.0 { json!(max as i64) } else { json!(max) };
                assert!(check(with(at)).is_ok(), "{schema}.{field}: {max}");
                assert!(check(with(above.clone())).unwrap_err().contains(field), "{schema}.{field}: {above}");
            }
            if let Some(step) = rules["multipleOf"].as_f64() {
                stated += 1;
                assert!(check(with(json!(step / 10.0))).unwrap_err().contains(field), "{schema}.{field}: {step}/10");
            }
            assert!(stated > 0, "{schema}.{field} states no rule: {rules}");
        }
        // Enums name the wire spellings; required fields are the ones the server needs.
        assert_eq!(doc["components"]["schemas"]["Framework"]["enum"], json!(["tf", "pth"]));
        assert_eq!(doc["components"]["schemas"]["ModelInput"]["required"], json!(["name", "code", "framework"]));
        assert_eq!(check::<ModelInput>(json!({})).unwrap_err().matches("missing field").count(), 3);
    }

    /// Lists link to their elements, elements to their changes (creates answer no id to link).
    #[test]
    fn links_chain_list_read_update_and_delete() {
        let doc = document();
        let links = |path: &str, method: &str| doc["paths"][path][method]["responses"]["200"]["links"].clone();
        assert_eq!(
            links("/models", "get")["GetFirst"],
            json!({"operationId": "get_model", "parameters": {"id": "$response.body#/0/id"}})
        );
        let by_id = links("/models/{id}", "get");
        for (name, operation) in [("Put", "update_model"), ("Patch", "patch_model"), ("Delete", "delete_model")] {
            assert_eq!(by_id[name], json!({"operationId": operation, "parameters": {"id": "$request.path.id"}}));
        }
        assert_eq!(links("/iot-devices/{id}", "get")["Delete"]["parameters"]["id"], "$request.path.id");
    }
}
