//! `kafkaml-backend healthcheck`: asks the server listening on the configured bind address for
//! `/healthz` and succeeds when it answers `200`. The container image's `HEALTHCHECK` runs it, so
//! the runtime image needs no HTTP client of its own.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// Why a health check failed.
#[derive(Debug, thiserror::Error)]
pub enum HealthcheckError {
    /// The bind address names no socket address.
    #[error("the bind address {0:?} is not a host:port address")]
    BadAddress(String),
    /// No connection, no HTTP answer, or the exchange timed out.
    #[error("no answer from {addr}: {source}")]
    Io {
        /// The address asked.
        addr: SocketAddr,
        /// The cause.
        source: reqwest::Error,
    },
    /// The server answered with another status than 200.
    #[error("{addr} answered {status} to {path}")]
    Status {
        /// The address asked.
        addr: SocketAddr,
        /// The path asked.
        path: String,
        /// The status received.
        status: u16,
    },
}

/// The address a local client uses to reach a server bound to `bind`: a wildcard address
/// (`0.0.0.0`, `[::]`) becomes the loopback address of the same family.
pub fn local_address(bind: &str) -> Result<SocketAddr, HealthcheckError> {
    let mut addr = bind
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| HealthcheckError::BadAddress(bind.to_owned()))?;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    Ok(addr)
}

/// Sends `GET path` to the server bound to `bind` and succeeds on a `200` answer; the whole
/// exchange (connection included) takes at most `timeout`. Redirects are not followed.
pub async fn probe(bind: &str, path: &str, timeout: Duration) -> Result<(), HealthcheckError> {
    let addr = local_address(bind)?;
    let io = |source| HealthcheckError::Io { addr, source };
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(io)?;
    let response = client.get(format!("http://{addr}{path}")).send().await.map_err(io)?;
    match response.status().as_u16() {
        200 => Ok(()),
        status => Err(HealthcheckError::Status { addr, path: path.to_owned(), status }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_bind_addresses_are_asked_on_loopback() {
        assert_eq!(local_address("0.0.0.0:8000").unwrap(), "127.0.0.1:8000".parse().unwrap());
        assert_eq!(local_address("[::]:8000").unwrap(), "[::1]:8000".parse().unwrap());
        assert_eq!(local_address("127.0.0.1:9000").unwrap(), "127.0.0.1:9000".parse().unwrap());
        assert!(matches!(local_address("no port"), Err(HealthcheckError::BadAddress(_))));
    }

    #[tokio::test]
    async fn an_answer_that_is_not_http_fails() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await.unwrap();
            socket.write_all(b"SSH-2.0-OpenSSH\r\n").await.unwrap();
        });
        let err = probe(&addr.to_string(), "/healthz", Duration::from_secs(2)).await.unwrap_err();
        assert!(matches!(err, HealthcheckError::Io { .. }), "{err}");
        server.await.unwrap();
    }
}
