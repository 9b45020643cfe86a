//! `/iot-devices/…` and `POST /results/inference-iot/<id>`: Tasmota devices with their live
//! status, the files they download by token, and TinyML model deployments (docs/contract.md §4.8, §5.5).
//!
//! `mqtt_password` is write-only (decisions.md item 8): no answer carries it, and the `backlog` of
//! the list shows `<password>` where the device's password goes.

use actix_files::NamedFile;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use kafkaml_domain::iot::{IotDelivery, IotDeployInput, IotDevice, IotDeviceInput, IotDeviceListItem, IotDevicePatch};
use kafkaml_persistence::repo::iot_devices;
use kafkaml_persistence::DeviceFile;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::{is_head, json_body, typed, Id, State};
use crate::usecase::iot::{self as usecase, INVALID};

const TAG: &str = "iot";

/// Lists devices by friendly name, each with its live `status` (all probed concurrently within
/// `KAFKAML_IOT_PROBE_DEADLINE_MS`) and the `backlog` command that configures it.
#[utoipa::path(tag = TAG, operation_id = "list_iot_devices", responses((status = 200, body = Vec<IotDeviceListItem>)))]
#[get("/iot-devices")]
pub async fn list_devices(state: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    let items = usecase::list_devices(&state.ctx, !is_head(&req), state.probe_deadline).await?;
    Ok(HttpResponse::Ok().json(items))
}

/// Registers a device (its token is generated when absent) and creates its file folder. 201 with
/// the device.
#[utoipa::path(tag = TAG, operation_id = "create_iot_device", request_body = IotDeviceInput,
    responses((status = 201, body = IotDevice), (status = 400, body = String)))]
#[post("/iot-devices")]
pub async fn create_device(state: State, caller: Caller, body: web::Bytes) -> ApiResult<HttpResponse> {
    let input: IotDeviceInput = typed(json_body(&body, INVALID)?, INVALID)?;
    Ok(HttpResponse::Created().json(usecase::create_device(&state.ctx, &caller.actor(), input).await?))
}

/// One device.
#[utoipa::path(tag = TAG, operation_id = "get_iot_device", params(("id" = i32, Path)),
    responses((status = 200, body = IotDevice), (status = 404, description = "Not found")))]
#[get("/iot-devices/{id}")]
pub async fn get_device(state: State, id: Id) -> ApiResult<HttpResponse> {
    let row = state.db(move |c| Ok(iot_devices::find_row(c, id.0)?)).await?.ok_or_else(ApiError::not_found_detail)?;
    Ok(HttpResponse::Ok().json(IotDevice::from(row)))
}

/// Replaces a device's fields. `token` and `mqtt_password` are optional: when left out, the
/// stored ones are kept. A new token moves the device's files.
#[utoipa::path(tag = TAG, operation_id = "update_iot_device", params(("id" = i32, Path)), request_body = IotDeviceInput,
    responses((status = 200, body = IotDevice), (status = 400, body = String), (status = 404, description = "Not found")))]
#[put("/iot-devices/{id}")]
pub async fn update_device(state: State, caller: Caller, id: Id, body: web::Bytes) -> ApiResult<HttpResponse> {
    let input: IotDeviceInput = typed(json_body(&body, INVALID)?, INVALID)?;
    Ok(HttpResponse::Ok()
        .json(usecase::update_device(&state.ctx, &caller.actor(), id.0, usecase::replacement(input)).await?))
}

/// Changes some fields of a device; absent fields (the password included) keep their value.
#[utoipa::path(tag = TAG, operation_id = "patch_iot_device", params(("id" = i32, Path)), request_body = IotDevicePatch,
    responses((status = 200, body = IotDevice), (status = 400, body = String), (status = 404, description = "Not found")))]
#[patch("/iot-devices/{id}")]
pub async fn patch_device(state: State, caller: Caller, id: Id, body: web::Bytes) -> ApiResult<HttpResponse> {
    let patch: IotDevicePatch = typed(json_body(&body, INVALID)?, INVALID)?;
    Ok(HttpResponse::Ok().json(usecase::update_device(&state.ctx, &caller.actor(), id.0, usecase::patch(patch)).await?))
}

/// Deletes a device and its files. 204 empty.
#[utoipa::path(tag = TAG, operation_id = "delete_iot_device", params(("id" = i32, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, description = "Not found")))]
#[delete("/iot-devices/{id}")]
pub async fn delete_device(state: State, caller: Caller, id: Id) -> ApiResult<HttpResponse> {
    usecase::delete_device(&state.ctx, &caller.actor(), id.0).await?;
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
    let path = state.ctx.device_files.path(&row.token, file).map_err(|_| missing())?;
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

/// Converts the trained TensorFlow model of result `id` to TFLite with the executor (int8
/// quantized with `applyIntQuant`), stores it with the given Berry script as each device's
/// `model.tflite` and `autoexec.be`, and sends each device the one-line download program as its
/// `Br` command (QoS 1). The devices download from the request's `Origin` when it is trusted
/// (the web UI), else from `FRONTEND_URL`. 200 with one delivery report per device; when a device's
/// broker could not take the command, 502 with a text naming every device that failed and why.
#[utoipa::path(tag = TAG, operation_id = "deploy_to_iot_devices", params(("id" = i32, Path, description = "Training result id")),
    request_body = IotDeployInput,
    responses((status = 200, body = Vec<IotDelivery>), (status = 400, body = String), (status = 404, body = String),
        (status = 502, description = "A device's broker did not take the command, or the executor failed", body = String),
        (status = 503, description = "The executor is unreachable, or Kafka is not configured for int8", body = String)))]
#[post("/results/inference-iot/{id}")]
pub async fn deploy_to_devices(
    state: State,
    caller: Caller,
    id: Id,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let input: IotDeployInput = typed(json_body(&body, INVALID)?, INVALID)?;
    // The page the user works in, when trusted; never another site's (review L3).
    let origin = state.ctx.config.origins.check(req.head()).trusted();
    let push = usecase::PushToDevices { result_id: id.0, input, origin };
    Ok(HttpResponse::Ok().json(usecase::push_to_devices(&state.ctx, &caller.actor(), push).await?))
}
