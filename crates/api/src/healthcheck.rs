//! `kafkaml-backend healthcheck`: asks the server listening on the configured bind address for
//! `/healthz` and succeeds when it answers `200`. The container image's `HEALTHCHECK` runs it, so
//! the runtime image needs no HTTP client of its own.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Why a health check failed.
#[derive(Debug, thiserror::Error)]
pub enum HealthcheckError {
    /// The bind address names no socket address.
    #[error("the bind address {0:?} is not a host:port address")]
    BadAddress(String),
    /// No connection, or the exchange failed or timed out.
    #[error("no answer from {addr}: {source}")]
    Io {
        /// The address asked.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The answer is not an HTTP response.
    #[error("{addr} did not answer with an HTTP status line")]
    NotHttp {
        /// The address asked.
        addr: SocketAddr,
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

/// Sends `GET path` to the server bound to `bind` and succeeds on a `200` answer; connecting,
/// writing and reading each take at most `timeout`.
pub fn probe(bind: &str, path: &str, timeout: Duration) -> Result<(), HealthcheckError> {
    let addr = local_address(bind)?;
    let io = |source| HealthcheckError::Io { addr, source };
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(io)?;
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(io)?;
    // The status line is all we need: read until its end (or 1 KiB, or the end of the answer).
    let mut head = Vec::with_capacity(128);
    let mut buf = [0u8; 256];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 1024 {
        let n = stream.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let status = parse_status_line(&head).ok_or(HealthcheckError::NotHttp { addr })?;
    if status == 200 {
        Ok(())
    } else {
        Err(HealthcheckError::Status { addr, path: path.to_owned(), status })
    }
}

/// The status code of an HTTP/1.x status line at the start of `head`.
fn parse_status_line(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\r').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    parts.next()?.parse().ok()
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

    #[test]
    fn status_lines_are_parsed() {
        assert_eq!(parse_status_line(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n"), Some(200));
        assert_eq!(parse_status_line(b"HTTP/1.0 503 Service Unavailable\r\n"), Some(503));
        assert_eq!(parse_status_line(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status_line(b""), None);
    }
}
