//! A device as the MQTT side sees it: its token, its broker and the topics derived from them.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// Prefix of every device topic: the backlog sets `FullTopic kafkaml/iot/%topic%/%prefix%/` and
/// `Topic <token>`, so a device listens on `kafkaml/iot/<token>/cmnd/…` and answers on
/// `kafkaml/iot/<token>/stat/…`.
pub const TOPIC_ROOT: &str = "kafkaml/iot";

/// The MQTT password of a device: a [`SecretString`] (it does not print in `Debug` and is wiped
/// from memory when dropped) that [`crate::MqttLink`] exposes only to the MQTT `CONNECT` packet.
///
/// A newtype rather than a bare `SecretString` so that callers keep writing
/// `Password::new(text)`; `From<SecretString>` takes a secret that is already one.
#[derive(Clone, Default)]
pub struct Password(SecretString);

impl Password {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        Password(SecretString::from(password.into()))
    }

    /// The password text, as [`ExposeSecret::expose_secret`] gives it, for callers that do not
    /// import the trait. Only for the wire (and tests): never log it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl From<SecretString> for Password {
    fn from(secret: SecretString) -> Self {
        Password(secret)
    }
}

impl ExposeSecret<str> for Password {
    fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

/// The MQTT broker of a device and the credentials the device (and the back-end) use on it.
#[derive(Debug, Clone)]
pub struct Broker {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// User name.
    pub username: String,
    /// Password.
    pub password: Password,
}

impl Broker {
    /// `host:port`, for messages.
    pub fn address(&self) -> String {
        broker_address(&self.host, self.port)
    }
}

/// `host:port` (`[host]:port` for an IPv6 address), for messages.
pub fn broker_address(host: &str, port: impl fmt::Display) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A Tasmota device registered in Kafka-ML.
#[derive(Debug, Clone)]
pub struct Device {
    /// Its token: Tasmota `Topic`, `DeviceName`, `MqttClient` and `Hostname`.
    pub token: String,
    /// Its Tasmota `FriendlyName`.
    pub friendly_name: String,
    /// Where it is reached.
    pub broker: Broker,
}

impl Device {
    /// `kafkaml/iot/<token>/cmnd/<command>`: where the device takes `command`.
    pub fn command_topic(&self, command: &str) -> String {
        format!("{TOPIC_ROOT}/{}/cmnd/{command}", self.token)
    }

    /// `kafkaml/iot/<token>/stat/<name>`: where the device publishes the answer `name`.
    pub fn stat_topic(&self, name: &str) -> String {
        format!("{TOPIC_ROOT}/{}/stat/{name}", self.token)
    }

    /// `kafkaml/iot/<token>/cmnd/Status`: the status request of the probe.
    pub fn status_request_topic(&self) -> String {
        self.command_topic("Status")
    }

    /// `kafkaml/iot/<token>/stat/STATUS1`: the device's answer to `Status 1`.
    pub fn status_reply_topic(&self) -> String {
        self.stat_topic("STATUS1")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_follow_the_backlog() {
        let device = Device {
            token: "5B8E6696".into(),
            friendly_name: "dev".into(),
            broker: Broker { host: "::1".into(), port: 1883, username: "u".into(), password: Password::new("s3cret") },
        };
        assert_eq!(device.status_request_topic(), "kafkaml/iot/5B8E6696/cmnd/Status");
        assert_eq!(device.status_reply_topic(), "kafkaml/iot/5B8E6696/stat/STATUS1");
        assert_eq!(device.command_topic("Br"), "kafkaml/iot/5B8E6696/cmnd/Br");
        assert_eq!(device.broker.address(), "[::1]:1883");
        assert!(!format!("{device:?}").contains("s3cret"));
        assert!(format!("{device:?}").contains("password: Password([REDACTED])"));
        assert_eq!(device.broker.password.expose_secret(), "s3cret");
        assert_eq!(device.broker.password.expose(), "s3cret");
        assert_eq!(Password::from(SecretString::from("x")).expose_secret(), "x");
    }
}
