//! IoT devices (Tasmota boards reached over MQTT): request and response bodies of
//! `/iot-devices/…` and `/results/inference-iot/<id>` (docs/contract.md §3.15, §4.8) and their rules.
//!
//! `mqtt_password` is write-only (decisions.md item 8): it is accepted on input and never part of an
//! output, not even inside the `backlog` text, which shows [`PASSWORD_PLACEHOLDER`] instead.

use serde::de::Deserializer;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use crate::inputs::IdRef;
use crate::lenient::{no_id, not_blank, null_as_empty, switch_on};

/// What the `backlog` text shows in place of the stored MQTT password.
pub const PASSWORD_PLACEHOLDER: &str = "<password>";

/// Length of a device token.
pub const TOKEN_LEN: usize = 8;

/// Whether a device answered the status probe of `GET /iot-devices/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeviceStatus {
    /// The device answered `cmnd/Status` on `stat/STATUS1` in time.
    Connected,
    /// No answer in time, or its broker could not be used.
    #[default]
    Disconnected,
}

impl DeviceStatus {
    /// The wire spelling: `connected` or `disconnected`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Connected => "connected",
            DeviceStatus::Disconnected => "disconnected",
        }
    }
}

/// Whether `token` is a device token: exactly 8 characters `0-9`, `A-F` (upper case).
pub fn is_token(token: &str) -> bool {
    token.len() == TOKEN_LEN && token.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
}

/// Text that goes into the device's `Backlog` command: Tasmota separates commands with `;`, so a
/// value containing one (or a control character) would change the device's configuration.
fn backlog_safe(s: &str) -> Result<(), ValidationError> {
    not_blank(s)?;
    if s.contains(';') || s.chars().any(char::is_control) {
        return Err(ValidationError::new("backlog").with_message(
            "Must not contain ';' or control characters (Tasmota's Backlog separates commands with ';').".into(),
        ));
    }
    Ok(())
}

fn host(s: &str) -> Result<(), ValidationError> {
    backlog_safe(s)?;
    if s.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(ValidationError::new("host")
            .with_message("Enter a host name or IP address (no spaces, no scheme, no path).".into()));
    }
    Ok(())
}

fn token_rule(s: &str) -> Result<(), ValidationError> {
    if is_token(s) {
        Ok(())
    } else {
        Err(ValidationError::new("token")
            .with_message("Ensure this field is 8 hexadecimal characters (0-9, A-F).".into()))
    }
}

fn port_rule(p: i64) -> Result<(), ValidationError> {
    if (1..=65535).contains(&p) {
        Ok(())
    } else {
        Err(ValidationError::new("port").with_message("Ensure this value is a TCP port (1 to 65535).".into()))
    }
}

/// An integer given as a JSON number or a numeric string (the web UI sends the port as text).
fn int_or_text<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => {
            crate::lenient::whole(&n).ok_or_else(|| serde::de::Error::custom("A valid integer is required."))
        }
        Value::String(s) => s.trim().parse().map_err(|_| serde::de::Error::custom("A valid integer is required.")),
        _ => Err(serde::de::Error::custom("A valid integer is required.")),
    }
}

fn some_int_or_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    int_or_text(d).map(Some)
}

/// A token: `null` and `""` mean "none" (one is generated on create, the stored one is kept on
/// update); others are upper-cased, so `5b8e6696` is `5B8E6696`.
fn optional_token<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => Ok(Some(s.trim().to_ascii_uppercase())),
    }
}

/// A write-only password: `null` and `""` mean "not given" (an edit form that cannot show the stored
/// password sends it empty), which keeps the stored one on update.
fn optional_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

/// Body of `POST /iot-devices/` and `PUT /iot-devices/<id>` (docs/contract.md §3.15).
///
/// `token` is optional (generated on create, kept on update when absent). `mqtt_password` is
/// required on create and optional on update, where leaving it out keeps the stored one.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct IotDeviceInput {
    /// Unique name, at most 30 characters.
    #[validate(
        length(max = 30, message = "Ensure this field has no more than 30 characters."),
        custom(function = "backlog_safe")
    )]
    #[schema(
        min_length = 1,
        max_length = 30,
        pattern = r"^[^;\u0000-\u001f\u007f-\u009f]*[^;\s\u0000-\u001f\u007f-\u009f][^;\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub friendly_name: String,
    /// Unique device token, 8 hexadecimal characters; generated when absent.
    #[serde(default, deserialize_with = "optional_token")]
    #[validate(custom(function = "token_rule"))]
    #[schema(example = "5B8E6696", pattern = r"^([0-9A-Fa-f]{8})?$")]
    pub token: Option<String>,
    /// Host name or IP address of the device's MQTT broker.
    #[validate(custom(function = "host"))]
    #[schema(min_length = 1, pattern = r"^[^;/\s\u0000-\u001f\u007f-\u009f]+$")]
    pub mqtt_address: String,
    /// Port of the broker (a number or a numeric string).
    #[serde(deserialize_with = "int_or_text")]
    #[validate(custom(function = "port_rule"))]
    #[schema(value_type = i32, example = 1883, minimum = 1, maximum = 65535)]
    pub mqtt_port: i64,
    /// User name on the broker.
    #[validate(custom(function = "backlog_safe"))]
    #[schema(
        min_length = 1,
        pattern = r"^[^;\u0000-\u001f\u007f-\u009f]*[^;\s\u0000-\u001f\u007f-\u009f][^;\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub mqtt_username: String,
    /// Password on the broker; write-only. `null` or `""` on update keeps the stored one.
    #[serde(default, deserialize_with = "optional_secret")]
    #[validate(custom(function = "backlog_safe"))]
    #[schema(
        write_only,
        pattern = r"^([^;\u0000-\u001f\u007f-\u009f]*[^;\s\u0000-\u001f\u007f-\u009f][^;\u0000-\u001f\u007f-\u009f]*)?$"
    )]
    pub mqtt_password: Option<String>,
}

/// Body of `PATCH /iot-devices/<id>`: every field optional; absent fields keep their value.
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
pub struct IotDevicePatch {
    /// New unique name, at most 30 characters.
    #[validate(
        length(max = 30, message = "Ensure this field has no more than 30 characters."),
        custom(function = "backlog_safe")
    )]
    #[schema(
        min_length = 1,
        max_length = 30,
        pattern = r"^[^;\u0000-\u001f\u007f-\u009f]*[^;\s\u0000-\u001f\u007f-\u009f][^;\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub friendly_name: Option<String>,
    /// New device token, 8 hexadecimal characters; `null` or `""` keeps the stored one.
    #[serde(default, deserialize_with = "optional_token")]
    #[validate(custom(function = "token_rule"))]
    #[schema(pattern = r"^([0-9A-Fa-f]{8})?$")]
    pub token: Option<String>,
    /// New host name or IP address of the device's MQTT broker.
    #[validate(custom(function = "host"))]
    #[schema(min_length = 1, pattern = r"^[^;/\s\u0000-\u001f\u007f-\u009f]+$")]
    pub mqtt_address: Option<String>,
    /// New port of the broker (a number or a numeric string).
    #[serde(default, deserialize_with = "some_int_or_text")]
    #[validate(custom(function = "port_rule"))]
    #[schema(value_type = i32, minimum = 1, maximum = 65535)]
    pub mqtt_port: Option<i64>,
    /// New user name on the broker.
    #[validate(custom(function = "backlog_safe"))]
    #[schema(
        min_length = 1,
        pattern = r"^[^;\u0000-\u001f\u007f-\u009f]*[^;\s\u0000-\u001f\u007f-\u009f][^;\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub mqtt_username: Option<String>,
    /// New password on the broker; write-only. `null` or `""` keeps the stored one.
    #[serde(default, deserialize_with = "optional_secret")]
    #[validate(custom(function = "backlog_safe"))]
    #[schema(
        write_only,
        pattern = r"^([^;\u0000-\u001f\u007f-\u009f]*[^;\s\u0000-\u001f\u007f-\u009f][^;\u0000-\u001f\u007f-\u009f]*)?$"
    )]
    pub mqtt_password: Option<String>,
}

/// An IoT device as the API shows it (docs/contract.md §3.15 without `mqtt_password`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct IotDevice {
    /// The device's id.
    pub id: i32,
    /// Unique name of the device.
    pub friendly_name: String,
    /// Unique device token; also the device's MQTT topic.
    #[schema(example = "5B8E6696")]
    pub token: String,
    /// Host name or IP address of the device's MQTT broker.
    pub mqtt_address: String,
    /// Port of the broker.
    pub mqtt_port: i32,
    /// User name on the broker.
    pub mqtt_username: String,
}

/// An element of `GET /iot-devices/`: the device, its live `status` and the `Backlog` command
/// that configures it (with [`PASSWORD_PLACEHOLDER`] in place of the password).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct IotDeviceListItem {
    /// The device's id.
    pub id: i32,
    /// Unique name of the device.
    pub friendly_name: String,
    /// Unique device token; also the device's MQTT topic.
    pub token: String,
    /// Host name or IP address of the device's MQTT broker.
    pub mqtt_address: String,
    /// Port of the broker.
    pub mqtt_port: i32,
    /// User name on the broker.
    pub mqtt_username: String,
    /// Whether the device answered the status probe.
    pub status: DeviceStatus,
    /// The Tasmota `Backlog` command that configures the device, with a placeholder for the password.
    #[schema(
        example = "Backlog DeviceName 5B8E6696; FriendlyName dev1; MqttHost broker; MqttPort 1883; MqttUser u; MqttPassword <password>; Topic 5B8E6696; FullTopic kafkaml/iot/%topic%/%prefix%/ ; MqttClient 5B8E6696; Hostname 5B8E6696; SetOption53 1 "
    )]
    pub backlog: String,
}

impl IotDeviceListItem {
    /// The list element of `device`.
    pub fn new(device: IotDevice, status: DeviceStatus, backlog: String) -> Self {
        IotDeviceListItem {
            id: device.id,
            friendly_name: device.friendly_name,
            token: device.token,
            mqtt_address: device.mqtt_address,
            mqtt_port: device.mqtt_port,
            mqtt_username: device.mqtt_username,
            status,
            backlog,
        }
    }
}

/// A list of tokens; a single string is a list of one.
fn tokens<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(vec![s]),
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => Err(serde::de::Error::custom(format!("{other} is not a device token"))),
            })
            .collect(),
        other => Err(serde::de::Error::custom(format!("{other} is not a list of device tokens"))),
    }
}

/// Body of `POST /results/inference-iot/<id>` (docs/contract.md §4.8): push the result's model, converted
/// to TFLite, and a Berry script to the devices with the given tokens.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct IotDeployInput {
    /// Tokens of the devices to deploy to (at most 1000).
    #[serde(default, deserialize_with = "tokens")]
    #[validate(length(max = crate::inputs::MAX_LIST_ITEMS, message = "Ensure this field has no more than 1000 elements."))]
    #[schema(min_items = 1, max_items = 1000)]
    pub device_token: Vec<String>,
    /// The Berry script stored as the device's `autoexec.be`.
    #[serde(default, deserialize_with = "null_as_empty")]
    #[schema(nullable = true)]
    #[schema(min_length = 1, pattern = r"\S")]
    pub code: String,
    /// Quantize the model to int8 (the executor reads samples of the deployment's data from Kafka).
    #[serde(default, rename = "applyIntQuant", deserialize_with = "switch_on")]
    pub apply_int_quant: bool,
    /// The training result; optional, the URL's id is authoritative (a different id is refused).
    #[serde(default = "no_id")]
    #[schema(value_type = Option<i64>)]
    pub model_result: IdRef,
}

/// What happened with one device of a deployment.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct IotDelivery {
    /// The device's token.
    pub token: String,
    /// The device's name.
    pub friendly_name: String,
    /// The download command reached the device's broker (acknowledged at QoS 1).
    pub delivered: bool,
    /// Why it did not, when it did not.
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::parse;
    use serde_json::json;

    fn device(extra: Value) -> Value {
        let mut v = json!({"friendly_name": "dev1", "mqtt_address": "broker", "mqtt_port": "1883",
            "mqtt_username": "u", "mqtt_password": "p"});
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        v
    }

    #[test]
    fn tokens_are_eight_upper_case_hex_characters() {
        assert!(is_token("5B8E6696"));
        assert!(!is_token("5b8e6696"));
        assert!(!is_token("5B8E669"));
        assert!(!is_token("5B8E6696A"));
        assert!(!is_token("../../x1"));
        assert!(!is_token("GHIJKLMN"));
    }

    #[test]
    fn device_input_rules() {
        let d: IotDeviceInput = parse(device(json!({"token": "5b8e6696", "extra": 1}))).unwrap();
        assert_eq!(d.token.as_deref(), Some("5B8E6696"));
        assert_eq!(d.mqtt_port, 1883);
        let d: IotDeviceInput = parse(device(json!({"token": ""}))).unwrap();
        assert_eq!(d.token, None);
        let e = parse::<IotDeviceInput>(device(json!({"token": "123456789"}))).unwrap_err();
        assert_eq!(e, "token: Ensure this field is 8 hexadecimal characters (0-9, A-F).");
        let e = parse::<IotDeviceInput>(device(json!({"friendly_name": "x".repeat(31)}))).unwrap_err();
        assert_eq!(e, "friendly_name: Ensure this field has no more than 30 characters.");
        let e = parse::<IotDeviceInput>(device(json!({"mqtt_password": "a; WebPassword x"}))).unwrap_err();
        assert!(e.starts_with("mqtt_password: Must not contain ';'"), "{e}");
        let e = parse::<IotDeviceInput>(device(json!({"mqtt_port": "abc"}))).unwrap_err();
        assert_eq!(e, "mqtt_port: A valid integer is required.");
        // A whole number written with a fraction is an integer, as JSON Schema says.
        assert_eq!(parse::<IotDeviceInput>(device(json!({"mqtt_port": 1883.0}))).unwrap().mqtt_port, 1883);
        assert!(parse::<IotDeviceInput>(device(json!({"mqtt_port": 1883.5}))).is_err());
        let e = parse::<IotDeviceInput>(device(json!({"mqtt_port": 70000}))).unwrap_err();
        assert_eq!(e, "mqtt_port: Ensure this value is a TCP port (1 to 65535).");
        let e = parse::<IotDeviceInput>(device(json!({"mqtt_address": "mqtt://broker"}))).unwrap_err();
        assert!(e.starts_with("mqtt_address: Enter a host name"), "{e}");
        let e = parse::<IotDeviceInput>(device(json!({"mqtt_username": " "}))).unwrap_err();
        assert_eq!(e, "mqtt_username: This field may not be blank.");
        let e = parse::<IotDeviceInput>(json!({"friendly_name": "d"})).unwrap_err();
        assert_eq!(e, "missing field `mqtt_address`; missing field `mqtt_port`; missing field `mqtt_username`");
    }

    #[test]
    fn patch_and_deploy_inputs() {
        let p: IotDevicePatch = parse(json!({"mqtt_port": 1884})).unwrap();
        assert_eq!(p.mqtt_port, Some(1884));
        assert_eq!(p.mqtt_password, None);
        let p: IotDevicePatch = parse(json!({"mqtt_password": null})).unwrap();
        assert_eq!(p.mqtt_password, None);
        let d: IotDeviceInput = parse(device(json!({"mqtt_password": ""}))).unwrap();
        assert_eq!(d.mqtt_password, None);
        let d: IotDeployInput = parse(json!({"device_token": ["A", "B"], "code": "print(1)", "applyIntQuant": true,
            "model_result": 4}))
        .unwrap();
        assert_eq!(d.device_token, ["A", "B"]);
        assert!(d.apply_int_quant);
        assert_eq!(d.model_result, IdRef(Some(4)));
        let d: IotDeployInput = parse(json!({"device_token": "A", "code": null})).unwrap();
        assert_eq!(d.device_token, ["A"]);
        assert_eq!(d.code, "");
        assert!(!d.apply_int_quant);
        assert_eq!(d.model_result, IdRef(None));
        assert!(parse::<IotDeployInput>(json!({"device_token": [1]})).is_err());
    }

    #[test]
    fn list_item_keeps_the_reference_key_order() {
        let device = IotDevice {
            id: 2,
            friendly_name: "dev1".into(),
            token: "5B8E6696".into(),
            mqtt_address: "b".into(),
            mqtt_port: 1883,
            mqtt_username: "u".into(),
        };
        let item = IotDeviceListItem::new(device, DeviceStatus::Connected, "Backlog …".into());
        assert_eq!(
            serde_json::to_string(&item).unwrap(),
            r#"{"id":2,"friendly_name":"dev1","token":"5B8E6696","mqtt_address":"b","mqtt_port":1883,"mqtt_username":"u","status":"connected","backlog":"Backlog …"}"#
        );
    }
}
