//! An in-memory [`TasmotaLink`] for tests of callers (cargo feature `test-support`): no broker, a
//! scripted answer per device token, and a record of every probe and command.
//!
//! A device nobody scripted behaves as an absent device on a working broker: its probe answers
//! [`DeviceStatus::Disconnected`] and commands to it are delivered (the broker takes them).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use kafkaml_iot::fake::{unreachable, FakeTasmotaLink, SentCommand};
//! use kafkaml_iot::{Broker, Device, DeviceStatus, Password, TasmotaLink};
//!
//! let device = Device {
//!     token: "5B8E6696".into(),
//!     friendly_name: "greenhouse".into(),
//!     broker: Broker { host: "mqtt".into(), port: 1883, username: "u".into(), password: Password::new("p") },
//! };
//! let link = FakeTasmotaLink::new();
//! link.set_status("5B8E6696", DeviceStatus::Connected);
//! assert_eq!(link.probe(&device).await.unwrap(), DeviceStatus::Connected);
//! link.send_command(&device, "Br", "tasmota.cmd('Restart 1')").await.unwrap();
//! assert_eq!(link.commands()[0].payload, "tasmota.cmd('Restart 1')");
//!
//! link.set_send_outcome("5B8E6696", Err(unreachable(&device.broker)));
//! assert!(link.send_command(&device, "Br", "x").await.unwrap_err().is_unavailable());
//! # }
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use kafkaml_domain::iot::DeviceStatus;

use crate::device::{Broker, Device};
use crate::error::IotError;
use crate::link::TasmotaLink;

/// The error of a broker that cannot be reached (`connection refused`);
/// [`IotError::is_unavailable`] is `true` for it.
pub fn unreachable(broker: &Broker) -> IotError {
    IotError::Unreachable { broker: broker.address(), reason: "connection refused".to_owned() }
}

/// The error of a broker that refuses the device's credentials (`not authorised`).
pub fn refused(broker: &Broker) -> IotError {
    IotError::Refused {
        broker: broker.address(),
        username: broker.username.clone(),
        reason: "not authorised".to_owned(),
    }
}

/// A command a [`FakeTasmotaLink`] was asked to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentCommand {
    /// The device's token.
    pub token: String,
    /// `host:port` of the device's broker.
    pub broker: String,
    /// The Tasmota command (`Br`).
    pub command: String,
    /// Its payload.
    pub payload: String,
    /// Whether the scripted outcome was a success.
    pub delivered: bool,
}

#[derive(Debug, Default)]
struct LinkState {
    statuses: HashMap<String, Result<DeviceStatus, IotError>>,
    sends: HashMap<String, Result<(), IotError>>,
    delays: HashMap<String, Duration>,
    probes: Vec<String>,
    commands: Vec<SentCommand>,
}

fn lock<T>(state: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the lock has failed already; the state is still usable.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An in-memory [`TasmotaLink`]; see the [module documentation](self). A cheap handle over shared
/// state: give a clone to the code under test and inspect the original.
#[derive(Debug, Clone, Default)]
pub struct FakeTasmotaLink {
    state: Arc<Mutex<LinkState>>,
}

impl FakeTasmotaLink {
    /// A link on which every device is absent and every command is delivered.
    pub fn new() -> Self {
        Self::default()
    }

    /// The probe of device `token` answers `status`.
    pub fn set_status(&self, token: impl Into<String>, status: DeviceStatus) {
        self.set_probe_outcome(token, Ok(status));
    }

    /// The probe of device `token` answers `outcome` (an error: its broker failed).
    pub fn set_probe_outcome(&self, token: impl Into<String>, outcome: Result<DeviceStatus, IotError>) {
        lock(&self.state).statuses.insert(token.into(), outcome);
    }

    /// The probe of device `token` takes `delay` before answering (to exercise
    /// [`crate::probe_all`]'s deadline).
    pub fn set_probe_delay(&self, token: impl Into<String>, delay: Duration) {
        lock(&self.state).delays.insert(token.into(), delay);
    }

    /// Commands to device `token` end with `outcome`.
    pub fn set_send_outcome(&self, token: impl Into<String>, outcome: Result<(), IotError>) {
        lock(&self.state).sends.insert(token.into(), outcome);
    }

    /// The tokens probed, in order.
    pub fn probes(&self) -> Vec<String> {
        lock(&self.state).probes.clone()
    }

    /// Every command asked, in order, failed ones included (see [`SentCommand::delivered`]).
    pub fn commands(&self) -> Vec<SentCommand> {
        lock(&self.state).commands.clone()
    }

    /// The commands asked for device `token`, in order.
    pub fn commands_to(&self, token: &str) -> Vec<SentCommand> {
        lock(&self.state).commands.iter().filter(|c| c.token == token).cloned().collect()
    }
}

#[async_trait]
impl TasmotaLink for FakeTasmotaLink {
    async fn probe(&self, device: &Device) -> Result<DeviceStatus, IotError> {
        let (outcome, delay) = {
            let mut state = lock(&self.state);
            state.probes.push(device.token.clone());
            let outcome = state.statuses.get(&device.token).cloned().unwrap_or(Ok(DeviceStatus::Disconnected));
            (outcome, state.delays.get(&device.token).copied())
        };
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        outcome
    }

    async fn send_command(&self, device: &Device, command: &str, payload: &str) -> Result<(), IotError> {
        let mut state = lock(&self.state);
        let outcome = state.sends.get(&device.token).cloned().unwrap_or(Ok(()));
        state.commands.push(SentCommand {
            token: device.token.clone(),
            broker: device.broker.address(),
            command: command.to_owned(),
            payload: payload.to_owned(),
            delivered: outcome.is_ok(),
        });
        outcome
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::{probe_all, Password, BERRY_COMMAND};

    fn device(token: &str) -> Device {
        Device {
            token: token.to_owned(),
            friendly_name: format!("dev-{token}"),
            broker: Broker { host: "10.0.0.5".into(), port: 1883, username: "u".into(), password: Password::new("p") },
        }
    }

    #[tokio::test]
    async fn probes_answer_per_token_and_are_recorded() {
        let link = FakeTasmotaLink::new();
        link.set_status("AAAA0001", DeviceStatus::Connected);
        link.set_probe_outcome("AAAA0003", Err(refused(&device("AAAA0003").broker)));
        assert_eq!(link.probe(&device("AAAA0001")).await.unwrap(), DeviceStatus::Connected);
        assert_eq!(link.probe(&device("AAAA0002")).await.unwrap(), DeviceStatus::Disconnected);
        let err = link.probe(&device("AAAA0003")).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "the MQTT broker 10.0.0.5:1883 refused the credentials of user 'u' (not authorised)"
        );
        assert_eq!(link.probes(), ["AAAA0001", "AAAA0002", "AAAA0003"]);
    }

    #[tokio::test]
    async fn probe_all_sees_scripted_statuses_errors_and_delays() {
        let link = FakeTasmotaLink::new();
        link.set_status("A", DeviceStatus::Connected);
        link.set_status("B", DeviceStatus::Connected);
        link.set_probe_delay("B", Duration::from_secs(10));
        link.set_probe_outcome("C", Err(unreachable(&device("C").broker)));
        let devices = [device("A"), device("B"), device("C"), device("D")];
        let started = std::time::Instant::now();
        let statuses = probe_all(&link, &devices, Duration::from_millis(100)).await;
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(
            statuses,
            [
                DeviceStatus::Connected,
                DeviceStatus::Disconnected,
                DeviceStatus::Disconnected,
                DeviceStatus::Disconnected
            ]
        );
    }

    #[tokio::test]
    async fn commands_are_recorded_with_their_outcome() {
        let link = FakeTasmotaLink::new();
        let down = device("DOWN");
        link.set_send_outcome("DOWN", Err(unreachable(&down.broker)));
        link.send_command(&device("UP"), BERRY_COMMAND, "print(1)").await.unwrap();
        let err = link.send_command(&down, BERRY_COMMAND, "print(2)").await.unwrap_err();
        assert!(err.is_unavailable());
        assert_eq!(err.to_string(), "the MQTT broker 10.0.0.5:1883 is unreachable: connection refused");
        assert_eq!(
            link.commands(),
            [
                SentCommand {
                    token: "UP".into(),
                    broker: "10.0.0.5:1883".into(),
                    command: "Br".into(),
                    payload: "print(1)".into(),
                    delivered: true,
                },
                SentCommand {
                    token: "DOWN".into(),
                    broker: "10.0.0.5:1883".into(),
                    command: "Br".into(),
                    payload: "print(2)".into(),
                    delivered: false,
                },
            ]
        );
        assert_eq!(link.commands_to("UP").len(), 1);
        link.set_send_outcome("DOWN", Ok(()));
        link.send_command(&down, BERRY_COMMAND, "print(3)").await.unwrap();
        assert!(link.commands_to("DOWN")[1].delivered);
    }
}
