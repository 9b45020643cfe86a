//! Test helpers (cargo feature `simulator`): a simulated Tasmota device and a password-protected
//! Mosquitto broker.
//!
//! [`SimulatedTasmota`] is an MQTT client that behaves like a Tasmota board configured with
//! Kafka-ML's backlog: it connects with client id = its token, listens on
//! `kafkaml/iot/<token>/cmnd/#`, answers `Status` on `kafkaml/iot/<token>/stat/STATUS1` and
//! records every command it receives (a deployment's `Br` program, for instance).
//!
//! [`PasswordBroker`] starts the `mosquitto` binary (Debian package `mosquitto`) on a free
//! loopback port with `allow_anonymous false` and one user, so tests can see a broker refuse
//! credentials. It is stopped when dropped.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::task::JoinHandle;

use secrecy::ExposeSecret;

use crate::device::{Broker, Device, Password};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A command a [`SimulatedTasmota`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedCommand {
    /// The command (last topic level), e.g. `Status` or `Br`.
    pub command: String,
    /// The payload as (lossy UTF-8) text.
    pub payload: String,
    /// Its QoS (0, 1 or 2).
    pub qos: u8,
    /// Whether it was a retained message.
    pub retain: bool,
}

/// A running simulated Tasmota device; see the [module documentation](self).
pub struct SimulatedTasmota {
    device: Device,
    received: Arc<Mutex<Vec<ReceivedCommand>>>,
    client: AsyncClient,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for SimulatedTasmota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedTasmota").field("token", &self.device.token).finish_non_exhaustive()
    }
}

/// The `STATUS1` answer of the simulated device (a trimmed real Tasmota answer).
pub const STATUS1_PAYLOAD: &str = r#"{"StatusPRM":{"Baudrate":115200,"SerialConfig":"8N1","GroupTopic":"tasmotas","OtaUrl":"","RestartReason":"Software/System restart","Uptime":"0T00:01:02","BootCount":7}}"#;

impl SimulatedTasmota {
    /// Connects a device with token `token` to `broker` and waits until it listens for commands.
    ///
    /// # Panics
    /// When the broker does not accept it within 5 s (a test environment failure).
    #[expect(clippy::expect_used, clippy::panic, reason = "test helper: a device that cannot connect is a failed test")]
    pub async fn start(token: &str, broker: Broker) -> SimulatedTasmota {
        let device = Device { token: token.to_owned(), friendly_name: format!("sim-{token}"), broker };
        let mut options = MqttOptions::new(token, device.broker.host.clone(), device.broker.port);
        options.set_credentials(device.broker.username.clone(), device.broker.password.expose_secret().to_owned());
        options.set_keep_alive(Duration::from_secs(30));
        let (client, mut events) = AsyncClient::new(options, 16);
        let filter = device.command_topic("#");
        client.subscribe(filter.clone(), QoS::AtLeastOnce).await.expect("queue the subscription");
        let ready = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::SubAck(_))) => return Ok(()),
                    Ok(_) => {}
                    Err(e) => return Err(e),
                }
            }
        })
        .await;
        match ready {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("simulated device {token} could not subscribe to {filter}: {e}"),
            Err(_) => panic!("simulated device {token} got no SUBACK for {filter} within 5 s"),
        }
        let received = Arc::new(Mutex::new(Vec::new()));
        let task = {
            let received = Arc::clone(&received);
            let client = client.clone();
            let status_topic = device.status_reply_topic();
            tokio::spawn(async move {
                loop {
                    match events.poll().await {
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            let command = p.topic.rsplit('/').next().unwrap_or_default().to_owned();
                            let payload = String::from_utf8_lossy(&p.payload).into_owned();
                            lock(&received).push(ReceivedCommand {
                                command: command.clone(),
                                payload: payload.clone(),
                                qos: p.qos as u8,
                                retain: p.retain,
                            });
                            if command.eq_ignore_ascii_case("Status") && payload.trim() == "1" {
                                let _ =
                                    client.try_publish(status_topic.clone(), QoS::AtMostOnce, false, STATUS1_PAYLOAD);
                            }
                        }
                        Ok(_) => {}
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            })
        };
        SimulatedTasmota { device, received, client, task }
    }

    /// The device (token and broker) as Kafka-ML sees it.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Every command received so far, in arrival order.
    pub fn received(&self) -> Vec<ReceivedCommand> {
        lock(&self.received).clone()
    }

    /// Waits up to `timeout` for the first `command` (e.g. `Br`) and returns it.
    pub async fn wait_for(&self, command: &str, timeout: Duration) -> Option<ReceivedCommand> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(found) = self.received().into_iter().find(|c| c.command == command) {
                return Some(found);
            }
            if Instant::now() >= end {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SimulatedTasmota {
    fn drop(&mut self) {
        let _ = self.client.try_disconnect();
        self.task.abort();
    }
}

/// The `mosquitto` binary: `$MOSQUITTO`, else on `PATH`, else `/usr/sbin/mosquitto`.
fn binary(env: &str, name: &str, fallback: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env) {
        return PathBuf::from(path);
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    PathBuf::from(fallback)
}

/// A Mosquitto broker on `127.0.0.1:<free port>` that accepts one user and nobody else; see the
/// [module documentation](self).
pub struct PasswordBroker {
    port: u16,
    username: String,
    password: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for PasswordBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordBroker").field("port", &self.port).finish_non_exhaustive()
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

#[cfg(unix)]
fn readable_by_all(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn readable_by_all(_: &Path, _: u32) -> std::io::Result<()> {
    Ok(())
}

impl PasswordBroker {
    /// Starts the broker with the single user `username`/`password`.
    ///
    /// # Panics
    /// When `mosquitto` or `mosquitto_passwd` is missing (install the Debian package `mosquitto`)
    /// or the broker does not listen within 5 s.
    #[expect(clippy::panic, reason = "test helper: a broker that cannot start is a failed test")]
    pub fn start(username: &str, password: &str) -> PasswordBroker {
        match Self::try_start(username, password) {
            Ok(broker) => broker,
            Err(e) => panic!("could not start a password-protected mosquitto (apt-get install mosquitto): {e}"),
        }
    }

    /// Like [`PasswordBroker::start`], returning the failure.
    pub fn try_start(username: &str, password: &str) -> std::io::Result<PasswordBroker> {
        let dir = tempfile::tempdir()?;
        // Mosquitto started as root drops to the `mosquitto` user: let it read its files.
        readable_by_all(dir.path(), 0o755)?;
        let passwords = dir.path().join("passwords");
        let status = Command::new(binary("MOSQUITTO_PASSWD", "mosquitto_passwd", "/usr/bin/mosquitto_passwd"))
            .arg("-b")
            .arg("-c")
            .arg(&passwords)
            .arg(username)
            .arg(password)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if !status.success() {
            return Err(std::io::Error::other(format!("mosquitto_passwd failed: {status}")));
        }
        readable_by_all(&passwords, 0o644)?;
        let port = free_port()?;
        let config = dir.path().join("mosquitto.conf");
        std::fs::write(
            &config,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {}\npersistence false\n",
                passwords.display()
            ),
        )?;
        readable_by_all(&config, 0o644)?;
        let child = Command::new(binary("MOSQUITTO", "mosquitto", "/usr/sbin/mosquitto"))
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut broker =
            PasswordBroker { port, username: username.to_owned(), password: password.to_owned(), child, _dir: dir };
        let end = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = broker.child.try_wait()? {
                return Err(std::io::Error::other(format!("mosquitto exited at start: {status}")));
            }
            if Instant::now() >= end {
                return Err(std::io::Error::other(format!("mosquitto does not listen on port {port} after 5 s")));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(broker)
    }

    /// The port it listens on (host `127.0.0.1`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The broker with its valid credentials.
    pub fn broker(&self) -> Broker {
        Broker {
            host: "127.0.0.1".to_owned(),
            port: self.port,
            username: self.username.clone(),
            password: Password::new(self.password.clone()),
        }
    }
}

impl Drop for PasswordBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The shared test broker: Mosquitto on `127.0.0.1:1883` (anonymous access allowed), with
/// arbitrary credentials.
pub fn local_broker() -> Broker {
    Broker {
        host: "127.0.0.1".to_owned(),
        port: 1883,
        username: "kafkaml".to_owned(),
        password: Password::new("kafkaml"),
    }
}
