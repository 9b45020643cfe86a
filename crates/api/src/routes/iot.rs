//! `/iot-devices/…` and `POST /results/inference-iot/<id>`: Tasmota devices with their live
//! status, the files they download by token, and TinyML model deployments (contract §4.8, §5.5).
//!
//! `mqtt_password` is write-only (design §3 item 8): no answer carries it, and the `backlog` of
//! the list shows `<password>` where the device's password goes.

use std::sync::Arc;
use std::time::Duration;

use actix_files::NamedFile;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use kafkaml_domain::iot::{
    DeviceStatus, IotDelivery, IotDeployInput, IotDevice, IotDeviceInput, IotDeviceListItem, IotDevicePatch,
    PASSWORD_PLACEHOLDER,
};
use kafkaml_domain::Framework;
use kafkaml_executor::{ExecutorError, Int8Quantization, TfliteConversion};
use kafkaml_iot::{probe_all, text, Broker, Device, MqttConfig, MqttLink, Password, TasmotaLink, BERRY_COMMAND};
use kafkaml_persistence::files::Artifact;
use kafkaml_persistence::repo::iot_devices::{self, IotDeviceChanges, IotDeviceRow, NewIotDevice};
use kafkaml_persistence::repo::results;
use kafkaml_persistence::{DeviceFile, DeviceFileStore};

use crate::error::{ApiError, ApiResult};
use crate::settings::Settings;
use crate::state::{is_head, json_body, typed, Id, State};

const TAG: &str = "iot";
const INVALID: &str = "Information not valid";

/// What the IoT routes need besides the database: the MQTT link and the devices' files.
pub struct IotServices {
    /// How devices are probed and commanded.
    pub link: Arc<dyn TasmotaLink>,
    /// `<data dir>/devices/<token>/`.
    pub files: DeviceFileStore,
    /// Bound on all status probes of one device list.
    pub probe_deadline: Duration,
}

impl IotServices {
    /// The real services for `settings` (MQTT with its timing, files under the data directory).
    pub fn from_settings(settings: &Settings) -> std::io::Result<Self> {
        let link = MqttLink::new(MqttConfig {
            probe_window: settings.iot.probe_window(),
            timeout: settings.iot.mqtt_timeout(),
        });
        Ok(IotServices {
            link: Arc::new(link),
            files: DeviceFileStore::open(&settings.server.data_dir)?,
            probe_deadline: settings.iot.probe_deadline(),
        })
    }
}

fn device_of(row: &IotDeviceRow) -> Device {
    Device {
        token: row.token.clone(),
        friendly_name: row.friendly_name.clone(),
        broker: Broker {
            host: row.mqtt_address.clone(),
            // Stored ports are validated; a port edited out of range fails to connect.
            port: u16::try_from(row.mqtt_port).unwrap_or_default(),
            username: row.mqtt_username.clone(),
            password: Password::new(row.mqtt_password.clone()),
        },
    }
}

/// Lists devices by friendly name, each with its live `status` (all probed concurrently within
/// `KAFKAML_IOT_PROBE_DEADLINE_MS`) and the `backlog` command that configures it.
#[utoipa::path(tag = TAG, operation_id = "list_iot_devices", responses((status = 200, body = Vec<IotDeviceListItem>)))]
#[get("/iot-devices")]
pub async fn list_devices(state: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    let rows = state.db(|c| Ok(iot_devices::list(c)?)).await?;
    let devices: Vec<Device> = rows.iter().map(device_of).collect();
    let statuses = if is_head(&req) {
        vec![DeviceStatus::Disconnected; devices.len()]
    } else {
        probe_all(state.iot.link.as_ref(), &devices, state.iot.probe_deadline).await
    };
    let items: Vec<IotDeviceListItem> = rows
        .into_iter()
        .zip(devices.iter().zip(statuses))
        .map(|(row, (device, status))| {
            IotDeviceListItem::new(IotDevice::from(row), status, text::backlog(device, PASSWORD_PLACEHOLDER))
        })
        .collect();
    Ok(HttpResponse::Ok().json(items))
}

/// Registers a device (its token is generated when absent) and creates its file folder. 201 with
/// the device.
#[utoipa::path(tag = TAG, operation_id = "create_iot_device", request_body = IotDeviceInput,
    responses((status = 201, body = IotDevice), (status = 400, body = String)))]
#[post("/iot-devices")]
pub async fn create_device(state: State, body: web::Bytes) -> ApiResult<HttpResponse> {
    let input: IotDeviceInput = typed(json_body(&body, INVALID)?, INVALID)?;
    let mqtt_password = input
        .mqtt_password
        .ok_or_else(|| ApiError::bad_request(format!("{INVALID}: mqtt_password: This field is required.")))?;
    let new = NewIotDevice {
        token: input.token,
        friendly_name: input.friendly_name.trim().to_owned(),
        mqtt_address: input.mqtt_address.trim().to_owned(),
        mqtt_port: input.mqtt_port as i32,
        mqtt_username: input.mqtt_username,
        mqtt_password,
    };
    let files = state.iot.files.clone();
    let row = state.db(move |c| Ok(iot_devices::create(c, &new, |row| files.create(&row.token))?)).await?;
    tracing::info!(device.id = row.id, device.token = %row.token, "IoT device registered");
    Ok(HttpResponse::Created().json(IotDevice::from(row)))
}

/// One device.
#[utoipa::path(tag = TAG, operation_id = "get_iot_device", params(("id" = i32, Path)),
    responses((status = 200, body = IotDevice), (status = 404, description = "Not found")))]
#[get("/iot-devices/{id}")]
pub async fn get_device(state: State, id: Id) -> ApiResult<HttpResponse> {
    let row = state.db(move |c| Ok(iot_devices::find_row(c, id.0)?)).await?.ok_or_else(ApiError::not_found_detail)?;
    Ok(HttpResponse::Ok().json(IotDevice::from(row)))
}

async fn apply(state: &State, id: i32, changes: IotDeviceChanges) -> ApiResult<HttpResponse> {
    let files = state.iot.files.clone();
    let row = state
        .db(move |c| {
            Ok(iot_devices::update(c, id, &changes, |before, after| {
                if before.token == after.token {
                    Ok(())
                } else {
                    files.rename(&before.token, &after.token)
                }
            })?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(IotDevice::from(row)))
}

/// Replaces a device's fields. `token` and `mqtt_password` are optional: when left out, the
/// stored ones are kept. A new token moves the device's files.
#[utoipa::path(tag = TAG, operation_id = "update_iot_device", params(("id" = i32, Path)), request_body = IotDeviceInput,
    responses((status = 200, body = IotDevice), (status = 400, body = String), (status = 404, description = "Not found")))]
#[put("/iot-devices/{id}")]
pub async fn update_device(state: State, id: Id, body: web::Bytes) -> ApiResult<HttpResponse> {
    let input: IotDeviceInput = typed(json_body(&body, INVALID)?, INVALID)?;
    let changes = IotDeviceChanges {
        token: input.token,
        friendly_name: Some(input.friendly_name.trim().to_owned()),
        mqtt_address: Some(input.mqtt_address.trim().to_owned()),
        mqtt_port: Some(input.mqtt_port as i32),
        mqtt_username: Some(input.mqtt_username),
        mqtt_password: input.mqtt_password,
    };
    apply(&state, id.0, changes).await
}

/// Changes some fields of a device; absent fields (the password included) keep their value.
#[utoipa::path(tag = TAG, operation_id = "patch_iot_device", params(("id" = i32, Path)), request_body = IotDevicePatch,
    responses((status = 200, body = IotDevice), (status = 400, body = String), (status = 404, description = "Not found")))]
#[patch("/iot-devices/{id}")]
pub async fn patch_device(state: State, id: Id, body: web::Bytes) -> ApiResult<HttpResponse> {
    let patch: IotDevicePatch = typed(json_body(&body, INVALID)?, INVALID)?;
    let changes = IotDeviceChanges {
        token: patch.token,
        friendly_name: patch.friendly_name.map(|n| n.trim().to_owned()),
        mqtt_address: patch.mqtt_address.map(|a| a.trim().to_owned()),
        mqtt_port: patch.mqtt_port.map(|p| p as i32),
        mqtt_username: patch.mqtt_username,
        mqtt_password: patch.mqtt_password,
    };
    apply(&state, id.0, changes).await
}

/// Deletes a device and its files. 204 empty.
#[utoipa::path(tag = TAG, operation_id = "delete_iot_device", params(("id" = i32, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, description = "Not found")))]
#[delete("/iot-devices/{id}")]
pub async fn delete_device(state: State, id: Id) -> ApiResult<HttpResponse> {
    let row = state.db(move |c| Ok(iot_devices::delete(c, id.0)?)).await?;
    if let Err(e) = state.iot.files.remove(&row.token) {
        tracing::warn!(device.token = %row.token, error = %e, "could not delete the device's files");
    }
    tracing::info!(device.id = row.id, device.token = %row.token, "IoT device deleted");
    Ok(HttpResponse::NoContent().finish())
}

async fn download(state: &State, req: &HttpRequest, token: String, file: DeviceFile) -> ApiResult<HttpResponse> {
    let row =
        state.db(move |c| Ok(iot_devices::find_by_token(c, &token)?)).await?.ok_or_else(ApiError::not_found_detail)?;
    let missing = || {
        ApiError::not_found(format!(
            "Device {} has no {} yet: deploy a model to it first.",
            row.token,
            file.file_name()
        ))
    };
    let path = state.iot.files.path(&row.token, file).map_err(|_| missing())?;
    let named = NamedFile::open_async(&path).await.map_err(|_| missing())?;
    let mut res = named.use_etag(false).use_last_modified(false).into_response(req);
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    let disposition = match file {
        DeviceFile::Model => "attachment; filename*=UTF-8''model.tflite",
        DeviceFile::Script => "attachment; filename*=UTF-8''autoexec.be",
    };
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static(disposition));
    Ok(res)
}

/// The TFLite model last deployed to the device with this token (what the device downloads).
#[utoipa::path(tag = TAG, operation_id = "download_iot_device_model", params(("token" = String, Path)),
    responses((status = 200, description = "model.tflite", content_type = "application/octet-stream"),
        (status = 404, description = "No such device, or no model deployed yet")))]
#[get("/iot-devices/{token}/model.tflite")]
pub async fn download_model(state: State, req: HttpRequest, token: web::Path<String>) -> ApiResult<HttpResponse> {
    download(&state, &req, token.into_inner(), DeviceFile::Model).await
}

/// The Berry script last deployed to the device with this token (its `autoexec.be`).
#[utoipa::path(tag = TAG, operation_id = "download_iot_device_script", params(("token" = String, Path)),
    responses((status = 200, description = "autoexec.be", content_type = "application/octet-stream"),
        (status = 404, description = "No such device, or no script deployed yet")))]
#[get("/iot-devices/{token}/autoexec.be")]
pub async fn download_script(state: State, req: HttpRequest, token: web::Path<String>) -> ApiResult<HttpResponse> {
    download(&state, &req, token.into_inner(), DeviceFile::Script).await
}

/// The tokens of a deployment body, trimmed, upper-cased and each once, in order.
fn tokens_of(input: &IotDeployInput) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    for token in &input.device_token {
        let token = token.trim().to_ascii_uppercase();
        if !token.is_empty() && !tokens.contains(&token) {
            tokens.push(token);
        }
    }
    tokens
}

fn conversion_error(e: ExecutorError) -> ApiError {
    match e {
        ExecutorError::Rejected { .. } => ApiError::bad_request(format!("Model conversion failed: {e}")),
        other => other.into(),
    }
}

fn name_of(d: &Device) -> String {
    format!("{} ({})", d.friendly_name, d.token)
}

/// Converts the trained TensorFlow model of result `id` to TFLite with the executor (int8
/// quantized with `applyIntQuant`), stores it with the given Berry script as each device's
/// `model.tflite` and `autoexec.be`, and sends each device the one-line download program as its
/// `Br` command (QoS 1). 200 with one delivery report per device; when a device's broker could
/// not take the command, 502 with a text naming every device that failed and why.
#[utoipa::path(tag = TAG, operation_id = "deploy_to_iot_devices", params(("id" = i32, Path, description = "Training result id")),
    request_body = IotDeployInput,
    responses((status = 200, body = Vec<IotDelivery>), (status = 400, body = String), (status = 404, body = String),
        (status = 502, description = "A device's broker did not take the command, or the executor failed", body = String),
        (status = 503, description = "The executor is unreachable, or Kafka is not configured for int8", body = String)))]
#[post("/results/inference-iot/{id}")]
pub async fn deploy_to_devices(state: State, id: Id, req: HttpRequest, body: web::Bytes) -> ApiResult<HttpResponse> {
    let input: IotDeployInput = typed(json_body(&body, INVALID)?, INVALID)?;
    let tokens = tokens_of(&input);
    if input.code.trim().is_empty() || tokens.is_empty() {
        return Err(ApiError::bad_request("Missing required fields: 'code' or 'device_token'."));
    }
    if let Some(body_id) = input.model_result.0.filter(|b| *b != i64::from(id.0)) {
        return Err(ApiError::bad_request(format!(
            "{INVALID}: model_result {body_id} differs from the result {} of the URL.",
            id.0
        )));
    }
    let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let base = text::download_base(origin, &state.settings.server.frontend_url)
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;

    let wanted = tokens.clone();
    let (ctx, rows) = state
        .db(move |c| {
            let ctx = results::find_context(c, id.0)?.ok_or_else(|| ApiError::not_found("Model result not found."))?;
            Ok((ctx, iot_devices::find_by_tokens(c, &wanted)?))
        })
        .await?;
    if rows.is_empty() {
        return Err(ApiError::not_found("No valid devices found."));
    }
    let unknown: Vec<&str> =
        tokens.iter().filter(|t| !rows.iter().any(|r| &r.token == *t)).map(String::as_str).collect();
    if !unknown.is_empty() {
        return Err(ApiError::not_found(format!(
            "No device has the token {}; nothing was deployed.",
            unknown.join(", ")
        )));
    }
    if ctx.model.framework() != Framework::Tf {
        return Err(ApiError::bad_request(format!(
            "Only TensorFlow models can be converted to TFLite; result {} holds a PyTorch model.",
            id.0
        )));
    }
    let quantization = if input.apply_int_quant {
        let settings = &state.settings;
        match (settings.kafka.control_topic.clone(), settings.kafka.bootstrap_servers.clone()) {
            (Some(control_topic), Some(bootstrap_servers)) => {
                Some(Int8Quantization { deployment_id: ctx.result.deployment_id, control_topic, bootstrap_servers })
            }
            _ => return Err(ApiError::Unavailable(
                "int8 quantization reads the deployment's data from Kafka: set BOOTSTRAP_SERVERS and CONTROL_TOPIC."
                    .to_owned(),
            )),
        }
    } else {
        None
    };
    let model = tokio::fs::read(state.store.path(id.0, Artifact::Model(Framework::Tf)))
        .await
        .map_err(|_| ApiError::not_found("Model file not found."))?;
    let conversion = TfliteConversion { result_id: id.0, model: model.into(), quantization };
    let tflite = state.executor.convert_to_tflite(&conversion).await.map_err(conversion_error)?;

    let devices: Vec<Device> = rows.iter().map(device_of).collect();
    let files = state.iot.files.clone();
    let stored: Vec<String> = devices.iter().map(|d| d.token.clone()).collect();
    let script = input.code;
    web::block(move || {
        stored.iter().try_for_each(|token| {
            files.write(token, DeviceFile::Model, &tflite)?;
            files.write(token, DeviceFile::Script, script.as_bytes())
        })
    })
    .await??;

    let sends = devices.iter().map(|device| {
        let program = text::download_program(&base, device);
        let link = Arc::clone(&state.iot.link);
        async move { link.send_command(device, BERRY_COMMAND, &program).await }
    });
    let outcomes = futures_util::future::join_all(sends).await;
    let deliveries: Vec<IotDelivery> = devices
        .iter()
        .zip(outcomes)
        .map(|(d, outcome)| IotDelivery {
            token: d.token.clone(),
            friendly_name: d.friendly_name.clone(),
            delivered: outcome.is_ok(),
            error: outcome.err().map(|e| e.to_string()),
        })
        .collect();
    let failed: Vec<String> = devices
        .iter()
        .zip(&deliveries)
        .filter_map(|(d, r)| {
            let error = r.error.as_ref()?;
            tracing::warn!(result.id = id.0, device.token = %d.token, %error, "download command not delivered");
            Some(format!("{}: {error}", name_of(d)))
        })
        .collect();
    tracing::info!(result.id = id.0, devices = devices.len(), failed = failed.len(), "IoT deployment sent");
    if failed.is_empty() {
        return Ok(HttpResponse::Ok().json(deliveries));
    }
    let delivered: Vec<String> =
        devices.iter().zip(&deliveries).filter(|(_, r)| r.delivered).map(|(d, _)| name_of(d)).collect();
    let mut message = format!(
        "The model was stored for every device, but the download command did not reach {} of {} devices: {}.",
        failed.len(),
        devices.len(),
        failed.join("; ")
    );
    if !delivered.is_empty() {
        message.push_str(&format!(" Delivered to: {}.", delivered.join(", ")));
    }
    Err(ApiError::BadGateway(message))
}
