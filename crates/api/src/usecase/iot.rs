//! IoT devices (Tasmota boards): register, change and delete them with their file folders, list
//! them with their live status, and push a trained model to them.

use std::sync::Arc;
use std::time::Duration;

use kafkaml_domain::iot::{
    DeviceStatus, IotDelivery, IotDeployInput, IotDevice, IotDeviceInput, IotDeviceListItem, IotDevicePatch,
    PASSWORD_PLACEHOLDER,
};
use kafkaml_domain::{Framework, Violation};
use kafkaml_executor::{ExecutorError, Int8Quantization, TfliteConversion};
use kafkaml_iot::{broker_address, probe_all, text, Broker, BrokerAllowList, Device, Password, BERRY_COMMAND};
use kafkaml_persistence::files::Artifact;
use kafkaml_persistence::repo::iot_devices::{self, IotDeviceChanges, IotDeviceRow, NewIotDevice};
use kafkaml_persistence::repo::results;
use kafkaml_persistence::{write_transaction, DeviceFile};
use secrecy::ExposeSecret;

use crate::usecase::{Actor, Change, Ctx, Error, Missing};

/// The prefix of the validation messages of devices.
pub const INVALID: &str = "Information not valid";

fn device_of(row: &IotDeviceRow) -> Device {
    Device {
        token: row.token.clone(),
        friendly_name: row.friendly_name.clone(),
        broker: Broker {
            host: row.mqtt_address.clone(),
            // Stored ports are validated on input (1–65535); one edited out of range in the
            // database fails to connect, and says so in the device's status.
            port: u16::try_from(row.mqtt_port).unwrap_or(0),
            username: row.mqtt_username.clone(),
            password: Password::from(row.mqtt_password.clone()),
        },
    }
}

/// Whether the device's broker is on `KAFKAML_IOT_BROKERS`' list (any broker when it is empty).
fn broker_allowed(ctx: &Ctx, device: &Device) -> bool {
    ctx.config.iot_brokers.allows(&device.broker.host, device.broker.port)
}

/// The refusal of a broker that is not on `KAFKAML_IOT_BROKERS`' list.
fn broker_refused(host: &str, port: i32) -> Error {
    Error::invalid(
        INVALID,
        format!("mqtt_address: The MQTT broker {} is not allowed (KAFKAML_IOT_BROKERS).", broker_address(host, port)),
    )
}

/// Every device by friendly name, each with its live status and the `backlog` command that
/// configures it. The first `KAFKAML_IOT_MAX_PROBED_DEVICES` devices whose broker is allowed are
/// probed ([`probe_all`]: a bounded number at once, within `deadline`); the others, and all when
/// `probe` is false (`HEAD`), are `disconnected` without a connection.
pub async fn list_devices(ctx: &Ctx, probe: bool, deadline: Duration) -> Result<Vec<IotDeviceListItem>, Error> {
    let rows = ctx.db(|c| Ok::<_, Error>(iot_devices::list(c)?)).await?;
    let devices: Vec<Device> = rows.iter().map(device_of).collect();
    let mut statuses = vec![DeviceStatus::Disconnected; devices.len()];
    if probe {
        let (indices, probed): (Vec<usize>, Vec<Device>) = devices
            .iter()
            .enumerate()
            .filter(|(_, d)| broker_allowed(ctx, d))
            .take(ctx.config.iot_max_probed)
            .map(|(i, d)| (i, d.clone()))
            .unzip();
        if probed.len() < devices.len() {
            tracing::debug!(devices = devices.len(), probed = probed.len(), "some devices are listed without a probe");
        }
        let found = probe_all(ctx.services.tasmota.as_ref(), &probed, deadline).await;
        for (i, status) in indices.into_iter().zip(found) {
            statuses[i] = status;
        }
    }
    Ok(rows
        .into_iter()
        .zip(devices.iter().zip(statuses))
        .map(|(row, (device, status))| {
            IotDeviceListItem::new(IotDevice::from(row), status, text::backlog(device, PASSWORD_PLACEHOLDER))
        })
        .collect())
}

/// Registers a device (its token is generated when absent) and creates its file folder.
pub async fn create_device(ctx: &Ctx, actor: &Actor, input: IotDeviceInput) -> Result<IotDevice, Error> {
    let mqtt_password =
        input.mqtt_password.ok_or_else(|| Error::invalid(INVALID, "mqtt_password: This field is required."))?;
    let port = input.mqtt_port as i32;
    if !ctx.config.iot_brokers.allows(input.mqtt_address.trim(), u16::try_from(port).unwrap_or(0)) {
        return Err(broker_refused(input.mqtt_address.trim(), port));
    }
    let new = NewIotDevice {
        token: input.token,
        friendly_name: input.friendly_name.trim().to_owned(),
        mqtt_address: input.mqtt_address.trim().to_owned(),
        mqtt_port: port,
        mqtt_username: input.mqtt_username,
        mqtt_password,
    };
    let files = ctx.device_files.clone();
    let actor = actor.clone();
    let row = ctx
        .db(move |c| {
            write_transaction(c, |c| {
                let row = iot_devices::create(c, &new, |row| files.create(&row.token))?;
                let given = ["friendly_name", "token", "mqtt_address", "mqtt_port", "mqtt_username", "mqtt_password"];
                actor.record(c, &Change::new("add", "iot-devices", Some(row.id), &row.friendly_name).fields(&given))?;
                Ok::<_, Error>(row)
            })
        })
        .await?;
    tracing::info!(device.id = row.id, device.token = ?row.token, "IoT device registered");
    Ok(IotDevice::from(row))
}

/// The changes of a full update: `token` and `mqtt_password` are kept when left out.
pub fn replacement(input: IotDeviceInput) -> IotDeviceChanges {
    IotDeviceChanges {
        token: input.token,
        friendly_name: Some(input.friendly_name.trim().to_owned()),
        mqtt_address: Some(input.mqtt_address.trim().to_owned()),
        mqtt_port: Some(input.mqtt_port as i32),
        mqtt_username: Some(input.mqtt_username),
        mqtt_password: input.mqtt_password,
    }
}

/// The changes of a patch: absent fields keep their value.
pub fn patch(patch: IotDevicePatch) -> IotDeviceChanges {
    IotDeviceChanges {
        token: patch.token,
        friendly_name: patch.friendly_name.map(|n| n.trim().to_owned()),
        mqtt_address: patch.mqtt_address.map(|a| a.trim().to_owned()),
        mqtt_port: patch.mqtt_port.map(|p| p as i32),
        mqtt_username: patch.mqtt_username,
        mqtt_password: patch.mqtt_password,
    }
}

/// Refuses a change of device `before` that would send its stored password to another broker
/// (a new address, port or user without a new password: review M7) or that names a broker not on
/// `brokers`.
fn check_broker_change(
    before: &IotDeviceRow,
    changes: &IotDeviceChanges,
    brokers: &BrokerAllowList,
) -> Result<(), Error> {
    let host = changes.mqtt_address.as_deref().unwrap_or(&before.mqtt_address);
    let port = changes.mqtt_port.unwrap_or(before.mqtt_port);
    let username = changes.mqtt_username.as_deref().unwrap_or(&before.mqtt_username);
    let moved = [
        ("mqtt_address", host != before.mqtt_address),
        ("mqtt_port", port != before.mqtt_port),
        ("mqtt_username", username != before.mqtt_username),
    ];
    if let Some((field, _)) = moved.iter().find(|(_, changed)| *changed) {
        if changes.mqtt_password.is_none() {
            return Err(Error::invalid(
                INVALID,
                format!(
                    "mqtt_password: This field is required when {field} changes (the stored password is never sent \
                     to another broker or user)."
                ),
            ));
        }
    }
    if !brokers.allows(host, u16::try_from(port).unwrap_or(0)) {
        return Err(broker_refused(host, port));
    }
    Ok(())
}

/// Changes a device; a new token moves its files. A new broker address, port or user needs the
/// password in the same change, and the broker must be allowed (`check_broker_change`).
pub async fn update_device(ctx: &Ctx, actor: &Actor, id: i32, changes: IotDeviceChanges) -> Result<IotDevice, Error> {
    let files = ctx.device_files.clone();
    let actor = actor.clone();
    let brokers = ctx.config.iot_brokers.clone();
    let row = ctx
        .db(move |c| {
            write_transaction(c, |c| {
                let before = iot_devices::find_row(c, id)?.ok_or(Error::NotFound(Missing::Object))?;
                check_broker_change(&before, &changes, &brokers)?;
                let mut old = None;
                let row = iot_devices::update(c, id, &changes, |before, after| {
                    old = Some(before.clone());
                    if before.token == after.token {
                        Ok(())
                    } else {
                        files.rename(&before.token, &after.token)
                    }
                })?;
                let changed = old.map(|old| device_changes(&old, &row)).unwrap_or_default();
                actor
                    .record(c, &Change::new("change", "iot-devices", Some(id), &row.friendly_name).fields(&changed))?;
                Ok::<_, Error>(row)
            })
        })
        .await?;
    Ok(IotDevice::from(row))
}

/// The names of the fields that differ between two versions of a device (the password's
/// name, never its value).
fn device_changes(before: &IotDeviceRow, after: &IotDeviceRow) -> Vec<&'static str> {
    [
        ("token", before.token != after.token),
        ("friendly_name", before.friendly_name != after.friendly_name),
        ("mqtt_address", before.mqtt_address != after.mqtt_address),
        ("mqtt_port", before.mqtt_port != after.mqtt_port),
        ("mqtt_username", before.mqtt_username != after.mqtt_username),
        ("mqtt_password", before.mqtt_password.expose_secret() != after.mqtt_password.expose_secret()),
    ]
    .into_iter()
    .filter_map(|(name, changed)| changed.then_some(name))
    .collect()
}

/// Deletes a device and its files.
pub async fn delete_device(ctx: &Ctx, actor: &Actor, id: i32) -> Result<(), Error> {
    let actor = actor.clone();
    let row = ctx
        .db(move |c| {
            write_transaction(c, |c| {
                let row = iot_devices::delete(c, id)?;
                actor.record(c, &Change::new("delete", "iot-devices", Some(id), &row.friendly_name))?;
                Ok::<_, Error>(row)
            })
        })
        .await?;
    if let Err(e) = ctx.device_files.remove(&row.token) {
        tracing::warn!(device.token = ?row.token, error = %e, "could not delete the device's files");
    }
    tracing::info!(device.id = row.id, device.token = ?row.token, "IoT device deleted");
    Ok(())
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

fn name_of(d: &Device) -> String {
    format!("{} ({})", d.friendly_name, d.token)
}

/// A push of result `result_id`'s model to devices.
#[derive(Debug)]
pub struct PushToDevices {
    /// The training result (the URL's id).
    pub result_id: i32,
    /// The body.
    pub input: IotDeployInput,
    /// Where the devices download from: the request's `Origin`, only when it is trusted
    /// ([`crate::cross_site::Origin::trusted`]) and usable; else `FRONTEND_URL`.
    pub origin: Option<String>,
}

/// Converts the trained TensorFlow model of the result to TFLite with the executor (int8
/// quantized with `applyIntQuant`), stores it with the given Berry script as each device's
/// `model.tflite` and `autoexec.be`, and sends each device the one-line download program as its
/// `Br` command (QoS 1). Returns one delivery report per device; when a device's broker did not
/// take the command, [`Error::NotDelivered`] names every device that failed and why (the files
/// are stored for all).
pub async fn push_to_devices(ctx: &Ctx, actor: &Actor, push: PushToDevices) -> Result<Vec<IotDelivery>, Error> {
    let PushToDevices { result_id, input, origin } = push;
    let tokens = tokens_of(&input);
    if input.code.trim().is_empty() || tokens.is_empty() {
        return Err(Error::BadRequest("Missing required fields: 'code' or 'device_token'.".to_owned()));
    }
    if let Some(body_id) = input.model_result.0.filter(|b| *b != i64::from(result_id)) {
        return Err(Error::invalid(
            INVALID,
            format!("model_result {body_id} differs from the result {result_id} of the URL."),
        ));
    }
    let base = text::download_base(origin.as_deref(), &ctx.config.frontend_url)?;
    let wanted = tokens.clone();
    let (found, rows) = ctx
        .db(move |c| {
            let found = results::find_context(c, result_id)?.ok_or(Error::NotFound(Missing::ModelResult))?;
            Ok::<_, Error>((found, iot_devices::find_by_tokens(c, &wanted)?))
        })
        .await?;
    if rows.is_empty() {
        return Err(Error::NotFound(Missing::Devices));
    }
    let unknown: Vec<String> = tokens.into_iter().filter(|t| !rows.iter().any(|r| &r.token == t)).collect();
    if !unknown.is_empty() {
        return Err(Error::UnknownDevices(unknown));
    }
    let devices: Vec<Device> = rows.iter().map(device_of).collect();
    let refused: Vec<String> = devices.iter().filter(|d| !broker_allowed(ctx, d)).map(name_of).collect();
    if !refused.is_empty() {
        return Err(Error::BadRequest(format!(
            "The MQTT broker of {} is not allowed (KAFKAML_IOT_BROKERS); nothing was deployed.",
            refused.join(", ")
        )));
    }
    if found.model.framework != Framework::Tf {
        return Err(Violation::NotTensorFlow(result_id).into());
    }
    let quantization = match (input.apply_int_quant, &ctx.config.int8_kafka) {
        (false, _) => None,
        (true, Some(kafka)) => Some(Int8Quantization {
            deployment_id: found.result.deployment_id,
            control_topic: kafka.control_topic.clone(),
            bootstrap_servers: kafka.bootstrap_servers.clone(),
        }),
        (true, None) => return Err(Error::Int8WithoutKafka),
    };
    let model = tokio::fs::read(ctx.store.path(result_id, Artifact::Model(Framework::Tf)))
        .await
        .map_err(|_| Error::NotFound(Missing::ModelFile))?;
    let conversion = TfliteConversion { result_id, model: model.into(), quantization };
    let tflite = ctx.services.executor.convert_to_tflite(&conversion).await.map_err(|e| match e {
        e @ ExecutorError::Rejected { .. } => Error::Conversion(e),
        other => Error::Executor(other),
    })?;

    store_device_files(ctx, &devices, tflite, input.code).await?;
    let sends = devices.iter().map(|device| {
        let program = text::download_program(&base, device);
        let link = Arc::clone(&ctx.services.tasmota);
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
    let (actor, names) = (actor.clone(), devices.iter().map(name_of).collect::<Vec<_>>().join(", "));
    ctx.db(move |c| {
        let repr = format!("Result {result_id} to {names}");
        Ok::<_, Error>(actor.record(c, &Change::new("push", "results", Some(result_id), &repr))?)
    })
    .await?;
    delivery_report(result_id, &devices, &deliveries)?;
    Ok(deliveries)
}

/// Writes the model and the script into every device's folder.
async fn store_device_files(ctx: &Ctx, devices: &[Device], tflite: bytes::Bytes, script: String) -> Result<(), Error> {
    let files = ctx.device_files.clone();
    let tokens: Vec<String> = devices.iter().map(|d| d.token.clone()).collect();
    let size = (tflite.len() as u64 + script.len() as u64).saturating_mul(tokens.len() as u64);
    ctx.config.uploads.check_free(files.free_space()?, size)?;
    tokio::task::spawn_blocking(move || {
        tokens.iter().try_for_each(|token| {
            files.write(token, DeviceFile::Model, &tflite)?;
            files.write(token, DeviceFile::Script, script.as_bytes())
        })
    })
    .await
    .map_err(|e| Error::Internal(format!("device files task: {e}")))??;
    Ok(())
}

/// Logs the deliveries; an error naming every device the command did not reach, if any.
fn delivery_report(result_id: i32, devices: &[Device], deliveries: &[IotDelivery]) -> Result<(), Error> {
    let failed: Vec<String> = devices
        .iter()
        .zip(deliveries)
        .filter_map(|(d, r)| {
            let error = r.error.as_ref()?;
            tracing::warn!(result.id = result_id, device.token = ?d.token, %error, "download command not delivered");
            Some(format!("{}: {error}", name_of(d)))
        })
        .collect();
    tracing::info!(result.id = result_id, devices = devices.len(), failed = failed.len(), "IoT deployment sent");
    if failed.is_empty() {
        return Ok(());
    }
    let delivered: Vec<String> =
        devices.iter().zip(deliveries).filter(|(_, r)| r.delivered).map(|(d, _)| name_of(d)).collect();
    let mut message = format!(
        "The model was stored for every device, but the download command did not reach {} of {} devices: {}.",
        failed.len(),
        devices.len(),
        failed.join("; ")
    );
    if !delivered.is_empty() {
        message.push_str(&format!(" Delivered to: {}.", delivered.join(", ")));
    }
    Err(Error::NotDelivered(message))
}
