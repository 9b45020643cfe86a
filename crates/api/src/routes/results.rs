//! `/results/…` and `/results_metrics/<id>`: what training pods download and upload, and what the
//! web UI shows of a training.

use actix_files::NamedFile;
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType, HeaderValue};
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use kafkaml_domain::inputs::{MetricsUpdate, ResultUpload};
use kafkaml_domain::outputs::TrainingResult;
use kafkaml_domain::rules::{build_chart, parse_python_json, Chart};
use kafkaml_domain::Framework;
use kafkaml_persistence::files::Artifact;
use kafkaml_persistence::repo::results;
use serde_json::Value;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::multipart::form_data;
use crate::state::{is_head, typed, Id, State};
use crate::usecase::results::{self as usecase, ModelForTraining, TrainedUpload};
use crate::usecase::uploads::{self, TempUpload, UploadBudget};
use crate::usecase::Ctx;

const TAG: &str = "results";
const NOT_FOUND: &str = "Training result does not exist";
/// Largest non-file form field or metrics body accepted.
const MAX_FIELD: usize = 16 * 1024 * 1024;

/// Lists training results, most recently changed first.
#[utoipa::path(tag = TAG, operation_id = "list_results", responses((status = 200, body = Vec<TrainingResult>)))]
#[get("/results")]
pub async fn list_results(state: State) -> ApiResult<HttpResponse> {
    let list = state.db(|c| Ok(results::list(c, None, None)?)).await?;
    Ok(HttpResponse::Ok().json(list))
}

fn attachment(name: &str) -> ContentDisposition {
    ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![DispositionParam::Filename(name.to_owned())],
    }
}

/// The untrained model for the training pod: the HDF5 file built by the TensorFlow executor, or
/// the PyTorch code as text. The result becomes `deployed` unless it is `finished` (not on `HEAD`).
#[utoipa::path(tag = TAG, operation_id = "get_result_model_for_training", params(("id" = i32, Path)),
    responses((status = 200, description = "HDF5 bytes (tf) or model code (pth)"), (status = 404, body = String),
        (status = 502, body = String), (status = 503, body = String)))]
#[get("/results/{id}")]
pub async fn model_for_training(state: State, id: Id, req: HttpRequest) -> ApiResult<HttpResponse> {
    let response = match usecase::model_for_training(&state.ctx, id.0, is_head(&req)).await? {
        ModelForTraining::Tf(model) => {
            let mut res = HttpResponse::Ok();
            res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/model")))
                .insert_header(attachment("model.h5"));
            match model {
                Some(bytes) => res.body(bytes),
                None => res.finish(),
            }
        }
        ModelForTraining::Pth(code) => HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(code),
    };
    Ok(response)
}

async fn read_field(field: &mut actix_multipart::Field) -> ApiResult<Vec<u8>> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("The upload was interrupted: {e}")))?;
        if buf.len() + chunk.len() > MAX_FIELD {
            return Err(ApiError::bad_request("A form field is larger than 16 MiB."));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// What a training pod uploads: its files stay in temporary files (removed when dropped) until the
/// use case moves them into place.
struct Upload {
    model: Option<TempUpload>,
    image: Option<TempUpload>,
    data: Option<Vec<u8>>,
}

async fn receive_upload(ctx: &Ctx, req: &HttpRequest, payload: web::Payload) -> ApiResult<Upload> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(ApiError::bad_request(
            "Send the result as multipart/form-data with the file 'trained_model' and the field 'data'.",
        ));
    }
    let mut form = form_data(req, payload);
    let mut upload = Upload { model: None, image: None, data: None };
    let mut budget = UploadBudget::default();
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| ApiError::bad_request(format!("Malformed multipart body: {e}")))?;
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "trained_model" | "confussion_matrix" => {
                let temp = uploads::receive_file(ctx, &mut budget, &mut field, "The upload was interrupted").await?;
                if name == "trained_model" {
                    upload.model = Some(temp);
                } else {
                    upload.image = Some(temp);
                }
            }
            "data" => upload.data = Some(read_field(&mut field).await?),
            _ => while field.next().await.is_some() {},
        }
    }
    Ok(upload)
}

/// The final upload of a training pod (multipart: file `trained_model`, optional file
/// `confussion_matrix`, field `data` with the metrics JSON). Stores metrics and files and marks the
/// result `finished`; with `"indefinite": true` a new result receives the upload. 200 empty.
#[utoipa::path(tag = TAG, operation_id = "upload_result", params(("id" = i32, Path)),
    request_body(content_type = "multipart/form-data", description = "trained_model (file), confussion_matrix (file, optional), data (JSON text)"),
    responses((status = 200, description = "Stored"), (status = 400, body = String), (status = 404, body = String),
        (status = 408, description = "The body stopped arriving for KAFKAML_BODY_TIMEOUT; nothing was stored"),
        (status = 413, description = "The files are larger than KAFKAML_MAX_UPLOAD_BYTES; nothing was stored"),
        (status = 507, description = "The data volume would keep less than KAFKAML_MIN_FREE_DISK_BYTES free; nothing was stored")))]
#[post("/results/{id}")]
pub async fn upload_result(
    state: State,
    caller: Caller,
    id: Id,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    usecase::find_for_upload(&state.ctx, id.0).await?;
    let upload = receive_upload(&state.ctx, &req, payload).await?;
    let model = upload
        .model
        .ok_or_else(|| ApiError::bad_request("The trained model file (field 'trained_model') is required."))?;
    let data = upload.data.ok_or_else(|| ApiError::bad_request("The field 'data' (metrics as JSON) is required."))?;
    let metrics: ResultUpload = typed(metrics_object(&data)?, "Information not valid")?;
    let files = TrainedUpload {
        model: model.path().to_path_buf(),
        confusion_matrix: upload.image.as_ref().map(|i| i.path().to_path_buf()),
        metrics,
    };
    // The temporary files stay locked until moved into place, and are removed if they were not.
    usecase::upload_trained_model(&state.ctx, &caller.actor(), id.0, files).await?;
    drop((model, upload.image));
    Ok(HttpResponse::Ok().finish())
}

/// The metrics JSON object of a `data` field (Python's `NaN` reads as `null`).
fn metrics_object(data: &[u8]) -> ApiResult<Value> {
    let data = parse_python_json(data)
        .map_err(|e| ApiError::bad_request(format!("Information not valid: 'data' is not valid JSON ({e}).")))?;
    if !data.is_object() {
        return Err(ApiError::bad_request("Information not valid: 'data' must be a JSON object."));
    }
    Ok(data)
}

/// Deletes a training result that is not running, with all its files. 200 empty.
#[utoipa::path(tag = TAG, operation_id = "delete_result", params(("id" = i32, Path)),
    responses((status = 200, description = "Deleted"), (status = 400, body = String), (status = 404, body = String)))]
#[delete("/results/{id}")]
pub async fn delete_result(state: State, caller: Caller, id: Id) -> ApiResult<HttpResponse> {
    usecase::delete_result(&state.ctx, &caller.actor(), id.0).await?;
    Ok(HttpResponse::Ok().finish())
}

/// Stops a `created` or `deployed` training: deletes its Job whatever its case (for a distributed
/// chain, the chain's Job, and every result of the chain stops). 200 empty.
#[utoipa::path(tag = "results", operation_id = "stop_training", params(("id" = i32, Path, description = "Training result id")),
    responses((status = 200, description = "Stopped"), (status = 400, body = String), (status = 404, body = String),
        (status = 502, body = String), (status = 503, body = String)))]
#[post("/results/stop/{id}")]
pub async fn stop_training(state: State, caller: Caller, id: Id) -> ApiResult<HttpResponse> {
    crate::usecase::training::stop_training(&state.ctx, &caller.actor(), id.0).await?;
    Ok(HttpResponse::Ok().finish())
}

async fn download(
    state: &State,
    req: &HttpRequest,
    id: i32,
    pick: fn(&results::ResultContext) -> Option<Artifact>,
    missing: &'static str,
) -> ApiResult<(HttpResponse, Artifact)> {
    let ctx =
        state.db(move |c| Ok(results::find_context(c, id)?)).await?.ok_or_else(|| ApiError::not_found(NOT_FOUND))?;
    let artifact = pick(&ctx).ok_or_else(|| ApiError::not_found(missing))?;
    let path = state.ctx.store.path(id, artifact);
    let file = NamedFile::open_async(&path).await.map_err(|_| ApiError::not_found(missing))?;
    Ok((file.use_etag(false).use_last_modified(false).into_response(req), artifact))
}

/// The framework of the stored model file, from the name the upload recorded
/// (`trained/<id>.h5` or `trained/<id>.pth`): the file is what it was when trained, even if the
/// model definition changed framework since.
fn stored_model(ctx: &results::ResultContext) -> Option<Artifact> {
    let name = ctx.result.trained_model.as_str();
    if name.ends_with(".pth") {
        Some(Artifact::Model(Framework::Pth))
    } else if name.ends_with(".h5") {
        Some(Artifact::Model(Framework::Tf))
    } else {
        None
    }
}

/// Downloads the trained model (`model.h5` or `model.pth`), with the `ML-Framework` header.
#[utoipa::path(tag = TAG, operation_id = "download_trained_model", params(("id" = i32, Path)),
    responses((status = 200, description = "The trained model file"), (status = 404, body = String)))]
#[get("/results/model/{id}")]
pub async fn download_model(state: State, id: Id, req: HttpRequest) -> ApiResult<HttpResponse> {
    let (mut res, artifact) =
        download(&state, &req, id.0, stored_model, "The trained model of this result has not been uploaded yet.")
            .await?;
    let framework = match artifact {
        Artifact::Model(framework) => framework,
        Artifact::ConfusionMatrix => Framework::Tf,
    };
    let name = match framework {
        Framework::Tf => "attachment; filename=\"model.h5\"",
        Framework::Pth => "attachment; filename=\"model.pth\"",
    };
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/force-download"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static(name));
    h.insert(header::HeaderName::from_static("ml-framework"), HeaderValue::from_static(framework.as_str()));
    h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("ML-Framework"));
    Ok(res)
}

/// Downloads the confusion-matrix image.
#[utoipa::path(tag = TAG, operation_id = "download_confusion_matrix", params(("id" = i32, Path)),
    responses((status = 200, description = "PNG image"), (status = 404, body = String)))]
#[get("/results/confusion_matrix/{id}")]
pub async fn download_confusion_matrix(state: State, id: Id, req: HttpRequest) -> ApiResult<HttpResponse> {
    let (mut res, _) = download(
        &state,
        &req,
        id.0,
        |ctx| ctx.result.confusion_mat_img.as_ref().filter(|p| !p.is_empty()).map(|_| Artifact::ConfusionMatrix),
        "This result has no confusion matrix image.",
    )
    .await?;
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/image"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"confusion_mat.png\""));
    Ok(res)
}

/// The metrics reshaped for the web UI's charts.
#[utoipa::path(tag = TAG, operation_id = "result_chart", params(("id" = i32, Path)),
    responses((status = 200, body = Chart), (status = 404, body = String)))]
#[get("/results/chart/{id}")]
pub async fn chart(state: State, id: Id) -> ApiResult<HttpResponse> {
    let result = state.db(move |c| Ok(results::get(c, id.0)?)).await?.ok_or_else(|| ApiError::not_found(NOT_FOUND))?;
    let chart = build_chart(
        result.train_metrics.map(|j| j.to_value()).as_ref(),
        result.val_metrics.map(|j| j.to_value()).as_ref(),
        result.confusion_matrix.map(|j| j.to_value()).as_ref(),
    );
    Ok(HttpResponse::Ok().json(chart))
}

fn data_from_json(body: &[u8]) -> ApiResult<Option<Value>> {
    let v = parse_python_json(body)
        .map_err(|e| ApiError::bad_request(format!("Information not valid: the body is not valid JSON ({e}).")))?;
    Ok(v.get("data").cloned())
}

fn data_from_form(body: &[u8]) -> ApiResult<Option<Value>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|e| ApiError::bad_request(format!("Information not valid: malformed form body ({e}).")))?;
    Ok(pairs.into_iter().find(|(k, _)| k == "data").map(|(_, v)| Value::String(v)))
}

async fn read_metrics_data(req: &HttpRequest, mut payload: web::Payload) -> ApiResult<Option<Value>> {
    let ctype =
        req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
    if ctype.starts_with("multipart/form-data") {
        let mut form = form_data(req, payload);
        let mut data = None;
        while let Some(field) = form.next().await {
            let mut field = field.map_err(|e| ApiError::bad_request(format!("Malformed multipart body: {e}")))?;
            if field.name() == Some("data") {
                let bytes = read_field(&mut field).await?;
                data = Some(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
            } else {
                while field.next().await.is_some() {}
            }
        }
        return Ok(data);
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("The request body could not be read: {e}")))?;
        if body.len() + chunk.len() > MAX_FIELD {
            return Err(ApiError::bad_request("The request body is larger than 16 MiB."));
        }
        body.extend_from_slice(&chunk);
    }
    if ctype.starts_with("application/json") {
        data_from_json(&body)
    } else if ctype.starts_with("application/x-www-form-urlencoded") {
        data_from_form(&body)
    } else {
        data_from_json(&body).or_else(|_| data_from_form(&body))
    }
}

/// Per-epoch metrics from a training pod: field `data` = `{"train_metrics": …, "val_metrics": …}`
/// as JSON text, sent form-encoded (as the pods do), as multipart, or in a JSON body. 200 empty.
#[utoipa::path(tag = TAG, operation_id = "update_result_metrics", params(("id" = i32, Path)),
    request_body(content_type = "application/x-www-form-urlencoded", description = "data=<JSON text of MetricsUpdate>"),
    responses((status = 200, description = "Stored"), (status = 400, body = String), (status = 404, body = String)))]
#[post("/results_metrics/{id}")]
pub async fn update_metrics(
    state: State,
    caller: Caller,
    id: Id,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let data = read_metrics_data(&req, payload)
        .await?
        .ok_or_else(|| ApiError::bad_request("The field 'data' (metrics as JSON) is required."))?;
    let data = match data {
        Value::String(text) => metrics_object(text.as_bytes())?,
        other if other.is_object() => other,
        _ => return Err(ApiError::bad_request("Information not valid: 'data' must be a JSON object.")),
    };
    let update: MetricsUpdate = typed(data, "Information not valid")?;
    usecase::update_metrics(&state.ctx, &caller.actor(), id.0, update).await?;
    Ok(HttpResponse::Ok().finish())
}
