//! The SSRF guard: a webhook may only reach public unicast addresses, unless an
//! operator admits a private network (`DE_WEBHOOK_ALLOWED_NETWORKS`). It runs at
//! submit, on the URL, and again at delivery, inside the HTTP client's DNS
//! resolver: the addresses checked are the addresses connected to, so a name
//! that re-resolves to an internal address later (DNS rebinding) gets nowhere.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ipnet::IpNet;
use url::Host;

/// Why an address is not a webhook destination.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{address} is a {kind} address; webhooks only go to public addresses")]
    Address { address: IpAddr, kind: &'static str },
    #[error("{host} resolves to {address}, a {kind} address; webhooks only go to public addresses")]
    Resolved {
        host: String,
        address: IpAddr,
        kind: &'static str,
    },
    #[error("{host} does not resolve: {reason}")]
    Unresolvable { host: String, reason: String },
    #[error("only http and https webhook URLs are allowed")]
    Scheme,
    #[error("the webhook URL has no host")]
    NoHost,
}

/// Which destinations are allowed.
#[derive(Clone, Debug, Default)]
pub struct AddressGuard {
    allowed: Vec<IpNet>,
}

impl AddressGuard {
    pub fn new(allowed: Vec<IpNet>) -> Self {
        Self { allowed }
    }

    pub fn check_ip(&self, address: IpAddr) -> Result<(), Refusal> {
        match self.refusal_kind(address) {
            None => Ok(()),
            Some(kind) => Err(Refusal::Address { address, kind }),
        }
    }

    /// Checks every address a name resolved to; one bad address refuses the name.
    pub fn check_resolved(&self, host: &str, addresses: &[SocketAddr]) -> Result<(), Refusal> {
        if addresses.is_empty() {
            return Err(Refusal::Unresolvable {
                host: host.to_string(),
                reason: "no addresses".into(),
            });
        }
        for address in addresses {
            if let Some(kind) = self.refusal_kind(address.ip()) {
                return Err(Refusal::Resolved {
                    host: host.to_string(),
                    address: address.ip(),
                    kind,
                });
            }
        }
        Ok(())
    }

    /// The whole check of a URL: scheme, then the literal address or what the
    /// name resolves to now.
    pub async fn check_url(&self, url: &url::Url) -> Result<(), Refusal> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refusal::Scheme);
        }
        let port = url.port_or_known_default().unwrap_or(443);
        match url.host() {
            None => Err(Refusal::NoHost),
            Some(Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip)),
            Some(Host::Domain(name)) => {
                let addresses = resolve(name, port).await?;
                self.check_resolved(name, &addresses)
            }
        }
    }

    /// `None` when the address may be called.
    fn refusal_kind(&self, address: IpAddr) -> Option<&'static str> {
        if self.allowed.iter().any(|net| net.contains(&address)) {
            return None;
        }
        let kind = match address {
            IpAddr::V4(v4) => v4_kind(v4),
            IpAddr::V6(v6) => match embedded_v4(v6) {
                // ::ffff:10.0.0.1 and friends reach the IPv4 address.
                Some(v4) => {
                    if self.allowed.iter().any(|net| net.contains(&IpAddr::V4(v4))) {
                        return None;
                    }
                    v4_kind(v4)
                }
                None => v6_kind(v6),
            },
        };
        kind
    }
}

/// Resolves a name with the system resolver.
pub async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, Refusal> {
    tokio::net::lookup_host((host, port))
        .await
        .map(|addresses| addresses.collect())
        .map_err(|e| Refusal::Unresolvable {
            host: host.to_string(),
            reason: e.to_string(),
        })
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_private() => "private",
        // 169.254.169.254 is the metadata service of AWS, GCP and Azure.
        _ if ip.is_link_local() => "link-local or cloud-metadata",
        _ if ip.is_multicast() => "multicast",
        _ if ip.is_unspecified() || a == 0 => "unspecified",
        _ if ip.is_broadcast() => "broadcast",
        // Carrier-grade NAT; Alibaba Cloud's metadata service is 100.100.100.200.
        (100, 64..=127, _) => "shared (carrier-grade NAT) or cloud-metadata",
        (192, 0, 0) => "IETF protocol assignment",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (198, 18..=19, _) => "benchmarking",
        (240..=255, _, _) => "reserved",
        _ => return None,
    })
}

fn v6_kind(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    Some(match first {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_multicast() => "multicast",
        // fe80::/10
        _ if first & 0xffc0 == 0xfe80 => "link-local",
        // fc00::/7, which holds AWS's metadata address fd00:ec2::254 too.
        _ if first & 0xfe00 == 0xfc00 => "private (unique local) or cloud-metadata",
        // fec0::/10, deprecated site-local.
        _ if first & 0xffc0 == 0xfec0 => "site-local",
        0x2001 if ip.segments()[1] == 0x0db8 => "documentation",
        _ => return None,
    })
}

/// The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible
/// (::a.b.c.d), NAT64 (64:ff9b::/96) or 6to4 (2002::/16) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let from = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    match s {
        [0, 0, 0, 0, 0, 0, hi, lo] if !(hi == 0 && lo <= 1) => Some(from(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(from(hi, lo)),
        [0x2002, hi, lo, ..] => Some(from(hi, lo)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(guard: &AddressGuard, text: &str) -> bool {
        guard.check_ip(text.parse().expect("address")).is_err()
    }

    #[test]
    fn refuses_every_internal_range() {
        let guard = AddressGuard::default();
        for address in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:a00:1::",
        ] {
            assert!(refused(&guard, address), "{address} must be refused");
        }
        for address in ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"] {
            assert!(!refused(&guard, address), "{address} must be allowed");
        }
    }

    #[test]
    fn the_allow_list_admits_only_its_networks() {
        let guard = AddressGuard::new(vec!["127.0.0.0/8".parse().expect("net")]);
        assert!(!refused(&guard, "127.0.0.1"));
        assert!(!refused(&guard, "::ffff:127.0.0.1"));
        assert!(refused(&guard, "10.0.0.1"));
        assert!(refused(&guard, "::1"));
    }

    #[test]
    fn one_internal_address_refuses_the_name() {
        let guard = AddressGuard::default();
        let addresses: Vec<SocketAddr> = vec![
            "93.184.216.34:443".parse().expect("addr"),
            "10.0.0.1:443".parse().expect("addr"),
        ];
        let refusal = guard.check_resolved("rebind.example", &addresses).err();
        assert!(
            matches!(&refusal, Some(Refusal::Resolved { kind: "private", .. })),
            "{refusal:?}"
        );
    }

    #[tokio::test]
    async fn checks_urls() {
        let guard = AddressGuard::default();
        let url = |u: &str| url::Url::parse(u).expect("url");
        assert_eq!(guard.check_url(&url("ftp://8.8.8.8/x")).await, Err(Refusal::Scheme));
        assert!(guard.check_url(&url("http://[::1]:8080/")).await.is_err());
        assert!(matches!(
            guard.check_url(&url("http://localhost:9/")).await,
            Err(Refusal::Resolved { .. })
        ));
        assert_eq!(guard.check_url(&url("https://8.8.8.8/hook")).await, Ok(()));
    }
}
