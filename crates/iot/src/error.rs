//! Failures of MQTT exchanges with a device's broker.

use std::time::Duration;

use kafkaml_domain::cause::describe_io;
use rumqttc::{ConnectReturnCode, ConnectionError};

/// Why a device's broker could not be used. Messages name the broker (`host:port`), never the
/// password, and can be shown to a user as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IotError {
    /// The broker refused the device's user name and password.
    #[error("the MQTT broker {broker} refused the credentials of user '{username}' ({reason})")]
    Refused {
        /// `host:port`.
        broker: String,
        /// The user name that was refused.
        username: String,
        /// The broker's reason, e.g. `not authorised`.
        reason: String,
    },
    /// No connection could be made.
    #[error("the MQTT broker {broker} is unreachable: {reason}")]
    Unreachable {
        /// `host:port`.
        broker: String,
        /// What failed, e.g. `connection refused`.
        reason: String,
    },
    /// The broker did not complete the exchange in time.
    #[error("the MQTT broker {broker} did not answer within {} ms", .after.as_millis())]
    Timeout {
        /// `host:port`.
        broker: String,
        /// The bound that ran out.
        after: Duration,
    },
    /// The broker answered, but not as MQTT 3.1.1 requires, or refused a request.
    #[error("the MQTT exchange with {broker} failed: {reason}")]
    Protocol {
        /// `host:port`.
        broker: String,
        /// What went wrong.
        reason: String,
    },
    /// The base URL for the download links cannot be used (see [`crate::text::download_base`]).
    #[error(
        "'{0}' cannot be used as the base of the devices' download links: set FRONTEND_URL to the web UI's \
         http(s) address"
    )]
    InvalidBaseUrl(String),
}

impl IotError {
    /// `true` when the broker could not be reached in time (as opposed to refusing or misbehaving).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, IotError::Unreachable { .. } | IotError::Timeout { .. })
    }

    /// Maps an event-loop error of an exchange with `broker` as `username`.
    pub(crate) fn from_connection(error: ConnectionError, broker: &str, username: &str) -> Self {
        let broker = broker.to_owned();
        match error {
            ConnectionError::ConnectionRefused(code) => match code {
                ConnectReturnCode::BadUserNamePassword => IotError::Refused {
                    broker,
                    username: username.to_owned(),
                    reason: "bad user name or password".to_owned(),
                },
                ConnectReturnCode::NotAuthorized => {
                    IotError::Refused { broker, username: username.to_owned(), reason: "not authorised".to_owned() }
                }
                ConnectReturnCode::ServiceUnavailable => {
                    IotError::Unreachable { broker, reason: "the broker says it is unavailable".to_owned() }
                }
                other => IotError::Protocol { broker, reason: format!("connection refused ({other:?})") },
            },
            ConnectionError::Io(e) => IotError::Unreachable { broker, reason: describe_io(&e, BROKER_CLOSED) },
            ConnectionError::NetworkTimeout => {
                IotError::Unreachable { broker, reason: "the connection timed out".to_owned() }
            }
            ConnectionError::MqttState(rumqttc::StateError::Io(e)) => {
                IotError::Unreachable { broker, reason: describe_io(&e, BROKER_CLOSED) }
            }
            ConnectionError::MqttState(rumqttc::StateError::ConnectionAborted) => {
                IotError::Protocol { broker, reason: "the broker closed the connection".to_owned() }
            }
            other => IotError::Protocol { broker, reason: other.to_string() },
        }
    }
}

/// What an unexpected end of stream means here.
const BROKER_CLOSED: &str = "the broker closed the connection";
