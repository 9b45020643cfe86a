//! How the settings reach Kubernetes clusters, and which external clusters inferences may use.
//!
//! An inference may name its own cluster (`external_host` + `token`): the back-end then sends
//! requests with that token to a URL a user chose. [`ExternalClusters`] is the allow-list of
//! `KAFKAML_EXTERNAL_CLUSTERS` that bounds it, checked before any connection:
//!
//! * the URL must be one of the listed API servers — same scheme, host, port (the scheme's
//!   default when not written) and path, without user, query or fragment; nothing is allowed when
//!   the list is empty (the default);
//! * `http://` only where the entry is written with `http://`;
//! * a listed host name is resolved, and every address it resolves to must be public: loopback,
//!   link-local (the cloud metadata address 169.254.169.254 among them), private, shared and other
//!   special-purpose addresses are allowed only when the entry's host is that address itself;
//!   the connection then goes to the address that was checked (TLS still verifies the name), so
//!   the name cannot resolve elsewhere in between.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use kafkaml_orchestration::{ClusterError, ClusterSettings};
use reqwest::Url;

use crate::settings::Settings;
use crate::usecase::Error;

/// How the settings reach clusters.
pub fn cluster_settings(settings: &Settings) -> ClusterSettings {
    ClusterSettings {
        host: settings.kube.host.clone(),
        token: settings.kube.token.clone(),
        kubeconfig: settings.kube.kubeconfig.clone(),
        ca_cert: settings.kube.ca_cert.clone(),
        insecure_skip_tls_verify: settings.kube.insecure_skip_tls_verify,
        namespace: settings.kube.namespace.clone(),
        timeout: settings.kube.timeout(),
    }
}

/// The variable that lists the allowed external clusters.
pub const EXTERNAL_CLUSTERS_VARIABLE: &str = "KAFKAML_EXTERNAL_CLUSTERS";

/// An API server URL reduced to what tells servers apart.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ApiServer {
    scheme: String,
    /// As the URL parser writes it: lower case, an IPv4 address in dotted form, an IPv6 one in
    /// brackets.
    host: String,
    port: u16,
    /// Without trailing `/` (`""` for none).
    path: String,
}

impl ApiServer {
    /// `text` as an API server URL: `http` or `https`, a host, no user, query or fragment.
    fn parse(text: &str) -> Option<ApiServer> {
        let url = Url::parse(text.trim()).ok()?;
        let scheme = url.scheme().to_owned();
        if !matches!(scheme.as_str(), "http" | "https")
            || !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return None;
        }
        let host = url.host_str()?.to_owned();
        let port = url.port_or_known_default()?;
        Some(ApiServer { scheme, host, port, path: url.path().trim_end_matches('/').to_owned() })
    }

    /// The address written as the host, if it is one.
    fn ip(&self) -> Option<IpAddr> {
        self.host.trim_start_matches('[').trim_end_matches(']').parse().ok()
    }

    /// `scheme://host:port/path`, as it can be listed.
    fn canonical(&self) -> String {
        format!("{}://{}:{}{}", self.scheme, self.host, self.port, self.path)
    }
}

/// The external clusters inferences may use (`KAFKAML_EXTERNAL_CLUSTERS`).
#[derive(Debug, Clone, Default)]
pub struct ExternalClusters {
    allowed: Vec<ApiServer>,
    /// Time limit of the name resolution.
    timeout: Duration,
}

impl ExternalClusters {
    /// The list of `text` (comma-separated URLs), resolving names within `timeout`. Entries that
    /// are not API server URLs are returned apart (and allow nothing).
    pub fn parse(text: &str, timeout: Duration) -> (Self, Vec<String>) {
        let mut invalid = Vec::new();
        let mut allowed = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match ApiServer::parse(entry) {
                Some(server) => allowed.push(server),
                None => invalid.push(entry.to_owned()),
            }
        }
        (ExternalClusters { allowed, timeout }, invalid)
    }

    /// The list of the settings; invalid entries are logged and ignored.
    pub fn from_settings(settings: &Settings) -> Self {
        let (list, invalid) = Self::parse(&settings.kube.external_clusters, settings.kube.timeout());
        for entry in invalid {
            tracing::warn!(
                ?entry,
                "{EXTERNAL_CLUSTERS_VARIABLE}: not an API server URL (http[s]://host[:port]); ignored"
            );
        }
        list
    }

    /// Whether the external cluster at `host` may be used; checked before any connection to it.
    /// For a listed name, the checked address to connect to (so that the name is not resolved
    /// again, elsewhere); `None` for a listed address.
    pub async fn check(&self, host: &str) -> Result<Option<SocketAddr>, Error> {
        let refuse = |reason: String| Error::ExternalCluster { host: host.to_owned(), reason };
        let server = ApiServer::parse(host)
            .ok_or_else(|| refuse("it is not an API server URL of the form https://host[:port]".to_owned()))?;
        if !self.allowed.contains(&server) {
            return Err(refuse(format!(
                "external clusters are not allowed; list {} in {EXTERNAL_CLUSTERS_VARIABLE} to allow this one",
                server.canonical()
            )));
        }
        if server.ip().is_some() {
            // Listed as an address: allowed whatever its range.
            return Ok(None);
        }
        let name = server.host.clone();
        let lookup = tokio::net::lookup_host((name.as_str(), server.port));
        let addresses: Vec<SocketAddr> = match tokio::time::timeout(self.timeout, lookup).await {
            Err(_) => {
                return Err(Error::Cluster(ClusterError::Unreachable {
                    cluster: server.canonical(),
                    reason: format!("resolving {name} took more than {} s", self.timeout.as_secs_f64()),
                }))
            }
            Ok(Err(e)) => return Err(refuse(format!("{name} cannot be resolved ({e})"))),
            Ok(Ok(addresses)) => addresses.collect(),
        };
        if addresses.is_empty() {
            return Err(refuse(format!("{name} resolves to no address")));
        }
        if let Some(special) = addresses.iter().map(SocketAddr::ip).find(|ip| !is_public(*ip)) {
            let listed = ApiServer { host: ip_host(special), ..server };
            return Err(refuse(format!(
                "{name} resolves to {special}, a loopback, link-local or private address; to use it, list \
                 {} in {EXTERNAL_CLUSTERS_VARIABLE} and name that URL",
                listed.canonical()
            )));
        }
        Ok(addresses.first().copied())
    }
}

/// `ip` as the host of a URL.
fn ip_host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    }
}

/// Whether `ip` is an ordinary public unicast address: not unspecified, loopback, private,
/// shared (CGNAT), link-local, multicast, broadcast, documentation, benchmarking or reserved,
/// and (for IPv6) not unique-local, site-local, or one embedding such an IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a >= 240
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b)))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // NAT64 (64:ff9b::/96) and IPv4-compatible (::a.b.c.d) addresses reach an IPv4 address.
    if (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0_u16; 4]) || s[..6] == [0_u16; 6] {
        let [.., hi, lo] = s;
        let v4 = Ipv4Addr::new((hi >> 8) as u8, (hi & 0xff) as u8, (lo >> 8) as u8, (lo & 0xff) as u8);
        return !ip.is_unspecified() && !ip.is_loopback() && is_public_v4(v4);
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8)) // documentation
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> ExternalClusters {
        let (list, invalid) = ExternalClusters::parse(text, Duration::from_secs(5));
        assert!(invalid.is_empty(), "{invalid:?}");
        list
    }

    fn reason(e: Error) -> String {
        match e {
            Error::ExternalCluster { reason, .. } => reason,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn nothing_is_allowed_by_default() {
        let none = ExternalClusters::default();
        let err = none.check("https://k8s.example.com:6443").await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "The external cluster https://k8s.example.com:6443 cannot be used: external clusters are not allowed; \
             list https://k8s.example.com:6443 in KAFKAML_EXTERNAL_CLUSTERS to allow this one."
        );
    }

    #[tokio::test]
    async fn only_listed_servers_are_allowed_exactly() {
        let l = list(" https://10.0.0.5:6443 , http://127.0.0.1:8080,https://[fd00::1]/k8s/clusters/c-1/ ");
        for ok in [
            "https://10.0.0.5:6443",
            "HTTPS://10.0.0.5:6443/",
            "http://127.0.0.1:8080",
            "https://[fd00::1]:443/k8s/clusters/c-1",
        ] {
            assert_eq!(l.check(ok).await.unwrap_or_else(|e| panic!("{ok}: {e}")), None, "{ok}");
        }
        for refused in [
            "http://10.0.0.5:6443",           // https only, as listed
            "https://10.0.0.5:6444",          // another port
            "https://10.0.0.5",               // the default port is another one
            "https://127.0.0.1:8080",         // another scheme
            "http://127.0.0.1:8080/anything", // another path
            "http://127.0.0.1:8080/?x=",      // a query
            "http://127.0.0.1:8080/#x",       // a fragment
            "http://user@127.0.0.1:8080",     // a user
            "https://[fd00::1]/k8s",          // not the listed path
            "http://2130706433:8080/x",       // 127.0.0.1 spelled otherwise, another path
        ] {
            let e = reason(l.check(refused).await.unwrap_err());
            assert!(e.contains("KAFKAML_EXTERNAL_CLUSTERS") || e.contains("not an API server URL"), "{refused}: {e}");
        }
        // The same address spelled otherwise is the same server.
        l.check("http://2130706433:8080").await.unwrap();
        for bad in ["ftp://10.0.0.5", "not a url", "", "file:///etc/passwd"] {
            assert_eq!(
                reason(l.check(bad).await.unwrap_err()),
                "it is not an API server URL of the form https://host[:port]",
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn listed_names_must_resolve_to_public_addresses() {
        let l = list("http://localhost:8080");
        let e = reason(l.check("http://localhost:8080").await.unwrap_err());
        assert!(e.starts_with("localhost resolves to "), "{e}");
        assert!(e.contains("a loopback, link-local or private address"), "{e}");
        assert!(e.contains("KAFKAML_EXTERNAL_CLUSTERS"), "{e}");
    }

    #[test]
    fn invalid_entries_are_reported() {
        let (l, invalid) =
            ExternalClusters::parse("https://ok:6443, ftp://x, https://u:p@h, https://h/?q", Duration::ZERO);
        assert_eq!(invalid, ["ftp://x", "https://u:p@h", "https://h/?q"]);
        assert_eq!(l.allowed.len(), 1);
    }

    #[test]
    fn special_addresses_are_not_public() {
        for special in [
            "0.0.0.0",
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "192.0.0.8",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.1",
            "::",
            "::1",
            "fd00::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::10.0.0.1",
            "2001:db8::1",
        ] {
            assert!(!is_public(special.parse().unwrap()), "{special}");
        }
        for public in ["8.8.8.8", "1.1.1.1", "100.128.0.1", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
