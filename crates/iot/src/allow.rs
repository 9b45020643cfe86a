//! Which MQTT brokers Kafka-ML may talk to: an allow-list of `host:port` patterns
//! (`KAFKAML_IOT_BROKERS`). Devices name their own broker, so without a list the back-end connects
//! wherever a device says; with one, a device whose broker is not on it is refused when it is
//! registered or changed, and is never probed or sent a command.

use std::fmt;
use std::str::FromStr;

/// One pattern: a host (exact, or `*.domain` for any subdomain of `domain`) and a port (or `*`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    /// Lower case, without brackets for IPv6 addresses.
    host: HostPattern,
    /// `None` matches any port.
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    /// This host only.
    Exact(String),
    /// Any name ending in `.<domain>` (not `<domain>` itself).
    Subdomains(String),
}

/// The brokers devices may use. Empty (the default) allows any broker.
///
/// Patterns are comma-separated `host:port`: `broker.lan:1883`, `10.0.0.5:*` (any port),
/// `*.mqtt.example:8883` (any subdomain of `mqtt.example`, not `mqtt.example` itself),
/// `[fd00::1]:1883` (IPv6 in brackets). Host names compare case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerAllowList(Vec<Pattern>);

impl BrokerAllowList {
    /// Whether the list allows every broker (no pattern given).
    pub fn allows_any(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a device may use the broker at `host`:`port`.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        if self.0.is_empty() {
            return true;
        }
        let host = normal_host(host);
        self.0.iter().any(|p| {
            p.port.is_none_or(|allowed| allowed == port)
                && match &p.host {
                    HostPattern::Exact(h) => *h == host,
                    HostPattern::Subdomains(domain) => {
                        host.strip_suffix(domain.as_str()).is_some_and(|sub| !sub.is_empty())
                    }
                }
        })
    }
}

/// A host as compared: trimmed, lower case, without IPv6 brackets or a trailing dot.
fn normal_host(host: &str) -> String {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

/// A pattern of `KAFKAML_IOT_BROKERS` that is not `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a broker pattern: write host:port, *.domain:port or host:* (IPv6 as [address]:port)")]
pub struct BadBrokerPattern(String);

fn pattern(text: &str) -> Result<Pattern, BadBrokerPattern> {
    let bad = || BadBrokerPattern(text.to_owned());
    let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
    let port = match port {
        "*" => None,
        digits => Some(digits.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad)?),
    };
    let host = if let Some(inner) = host.strip_prefix('[') {
        inner.strip_suffix(']').filter(|h| h.contains(':')).ok_or_else(bad)?
    } else if host.contains(':') {
        // An IPv6 address must be bracketed, or its last group would read as the port.
        return Err(bad());
    } else {
        host
    };
    let host = match host.strip_prefix("*.") {
        Some(domain) => HostPattern::Subdomains(format!(".{}", normal_host(domain))),
        None => HostPattern::Exact(normal_host(host)),
    };
    let name = match &host {
        HostPattern::Exact(h) => h.as_str(),
        HostPattern::Subdomains(d) => &d[1..],
    };
    if name.is_empty() || name.contains(['*', '/', ' ', ',']) {
        return Err(bad());
    }
    Ok(Pattern { host, port })
}

impl FromStr for BrokerAllowList {
    type Err = BadBrokerPattern;

    /// Comma-separated patterns; blanks between commas are ignored, so `""` allows any broker.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.split(',').map(str::trim).filter(|p| !p.is_empty()).map(pattern).collect::<Result<_, _>>().map(Self)
    }
}

impl fmt::Display for BrokerAllowList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let patterns: Vec<String> = self
            .0
            .iter()
            .map(|p| {
                let host = match &p.host {
                    HostPattern::Exact(h) if h.contains(':') => format!("[{h}]"),
                    HostPattern::Exact(h) => h.clone(),
                    HostPattern::Subdomains(d) => format!("*{d}"),
                };
                let port = p.port.map_or_else(|| "*".to_owned(), |p| p.to_string());
                format!("{host}:{port}")
            })
            .collect();
        f.write_str(&patterns.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> BrokerAllowList {
        text.parse().unwrap()
    }

    #[test]
    fn an_empty_list_allows_any_broker() {
        for text in ["", " ", ",", " , "] {
            let l = list(text);
            assert!(l.allows_any(), "{text:?}");
            assert!(l.allows("anything", 1), "{text:?}");
        }
    }

    #[test]
    fn patterns_match_hosts_and_ports() {
        let l = list("broker.lan:1883, 10.0.0.5:*, *.mqtt.example:8883, [FD00::1]:1883");
        assert!(!l.allows_any());
        assert_eq!(l.to_string(), "broker.lan:1883,10.0.0.5:*,*.mqtt.example:8883,[fd00::1]:1883");
        for (host, port) in [
            ("broker.lan", 1883),
            ("BROKER.LAN.", 1883),
            ("10.0.0.5", 1),
            ("10.0.0.5", 65535),
            ("a.mqtt.example", 8883),
            ("x.y.MQTT.example", 8883),
            ("fd00::1", 1883),
            ("[fd00::1]", 1883),
        ] {
            assert!(l.allows(host, port), "{host}:{port}");
        }
        for (host, port) in [
            ("broker.lan", 1884),
            ("evil.broker.lan", 1883),
            ("10.0.0.6", 1883),
            ("mqtt.example", 8883),
            ("a.mqtt.example", 1883),
            ("evilmqtt.example", 8883),
            ("fd00::2", 1883),
            ("127.0.0.1", 1883),
        ] {
            assert!(!l.allows(host, port), "{host}:{port}");
        }
    }

    #[test]
    fn malformed_patterns_are_refused_with_their_text() {
        for bad in ["broker", "broker:", "broker:x", "broker:0", "broker:70000", ":1883", "*:1883", "*.:1", "a*b:1"] {
            let e = bad.parse::<BrokerAllowList>().unwrap_err();
            assert!(e.to_string().starts_with(&format!("{bad:?} is not a broker pattern")), "{e}");
        }
        assert!("fd00::1:1883".parse::<BrokerAllowList>().is_err());
        assert!("[broker]:1883".parse::<BrokerAllowList>().is_err());
        assert!("ok:1, bad".parse::<BrokerAllowList>().is_err());
    }
}
