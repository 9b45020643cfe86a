//! IoT devices (Tasmota boards): added, changed and deleted through the same use cases as
//! `/iot-devices/` (`iot::create_device`, `iot::update_device` with `iot::replacement` as `PUT`
//! does, `iot::delete_device`). The MQTT password is write-only: never shown, and left empty on a
//! change it keeps the stored one (as the API's `PUT` without it).

use kafkaml_domain::iot::IotDeviceInput;
use kafkaml_domain::{Named, Violation};
use kafkaml_persistence::repo::counts::Counts;
use kafkaml_persistence::repo::iot_devices;
use kafkaml_persistence::DbError;

use crate::admin::form::{Body, Field, FormErrors, Submitted};
use crate::admin::list::Row;
use crate::admin::tables::{AdminTable, Editor};
use crate::admin::view::Doomed;
use crate::usecase::{iot, Actor, Ctx, Error};

/// The IoT devices table.
pub struct IotDevices;

const FIELDS: &[&str] = &["friendly_name", "token", "mqtt_address", "mqtt_port", "mqtt_username", "mqtt_password"];

/// A use case's refusal, next to the field the visitor must fix (the repository's rules come back
/// inside the database error).
fn device_error(e: Error) -> FormErrors {
    let rule = match &e {
        Error::Rule(v) | Error::Db(DbError::Rule(v)) => Some(v),
        _ => None,
    };
    match rule {
        Some(v @ Violation::NameTaken { kind: Named::IotDevice, .. }) => {
            FormErrors::field("friendly_name", v.to_string())
        }
        Some(v @ (Violation::DeviceTokenTaken(_) | Violation::NotADeviceToken(_))) => {
            FormErrors::field("token", v.to_string())
        }
        _ => FormErrors::placed(e, FIELDS),
    }
}

#[async_trait::async_trait]
impl AdminTable for IotDevices {
    fn slug(&self) -> &'static str {
        "iot-devices"
    }
    fn title(&self) -> &'static str {
        "IoT devices"
    }
    fn singular(&self) -> &'static str {
        "IoT device"
    }
    fn columns(&self) -> &'static [&'static str] {
        &["Friendly name", "Token", "MQTT address", "MQTT port", "MQTT username"]
    }
    fn count(&self, counts: &Counts) -> i64 {
        counts.iot_devices
    }

    async fn rows(&self, ctx: &Ctx) -> Result<Vec<Row>, Error> {
        let list = ctx.db(|c| Ok::<_, Error>(iot_devices::list(c)?)).await?;
        Ok(list
            .into_iter()
            .map(|d| Row {
                id: d.id,
                search: vec![d.friendly_name.clone(), d.token.clone(), d.mqtt_address.clone()],
                facets: Vec::new(),
                cells: vec![
                    d.friendly_name.into(),
                    d.token.into(),
                    d.mqtt_address.into(),
                    d.mqtt_port.into(),
                    d.mqtt_username.into(),
                ],
            })
            .collect())
    }

    async fn editor(&self, ctx: &Ctx, id: Option<i32>) -> Result<Option<Editor>, Error> {
        let current = match id {
            None => None,
            Some(id) => match ctx.db(move |c| Ok::<_, Error>(iot_devices::find_row(c, id)?)).await? {
                Some(row) => Some(row),
                None => return Ok(None),
            },
        };
        let password = match &current {
            None => Field::password("mqtt_password", "MQTT password").required().help("Write-only: never shown again."),
            Some(_) => Field::password("mqtt_password", "MQTT password"),
        };
        let token_help = if current.is_some() {
            "8 hexadecimal characters; empty keeps the current one. A new token moves the device's files."
        } else {
            "8 hexadecimal characters; empty: one is generated."
        };
        let (name, token, address, port, username) = current.as_ref().map_or_else(
            || (String::new(), String::new(), String::new(), Some(1883), String::new()),
            |d| {
                (
                    d.friendly_name.clone(),
                    d.token.clone(),
                    d.mqtt_address.clone(),
                    Some(i64::from(d.mqtt_port)),
                    d.mqtt_username.clone(),
                )
            },
        );
        Ok(Some(Editor {
            repr: name.clone(),
            fields: vec![
                Field::text("friendly_name", "Friendly name", name).required().help("Unique, at most 30 characters."),
                Field::text("token", "Token", token).help(token_help),
                Field::text("mqtt_address", "MQTT address", address).required().help("Host name or IP address."),
                Field::integer("mqtt_port", "MQTT port", port).required(),
                Field::text("mqtt_username", "MQTT username", username).required(),
                password,
            ],
            editable: true,
            actions: Vec::new(),
        }))
    }

    async fn save(&self, ctx: &Ctx, actor: &Actor, id: Option<i32>, form: &Submitted) -> Result<i32, FormErrors> {
        let input: IotDeviceInput = FIELDS.iter().fold(Body::new(), |body, name| body.text(form, name)).parse()?;
        let saved = match id {
            None => iot::create_device(ctx, actor, input).await,
            Some(id) => iot::update_device(ctx, actor, id, iot::replacement(input)).await,
        };
        saved.map(|device| device.id).map_err(device_error)
    }

    async fn doomed(&self, ctx: &Ctx, id: i32) -> Result<Option<Doomed>, Error> {
        let Some(device) = ctx.db(move |c| Ok::<_, Error>(iot_devices::find_row(c, id)?)).await? else {
            return Ok(None);
        };
        Ok(Some(Doomed {
            repr: format!("IoT device {} ({})", device.friendly_name, device.token),
            consequences: vec![format!(
                "Its files folder {}/ (the model.tflite and autoexec.be last pushed to it, if any)",
                device.token
            )],
        }))
    }

    async fn delete(&self, ctx: &Ctx, actor: &Actor, id: i32) -> Result<(), Error> {
        iot::delete_device(ctx, actor, id).await
    }
}
