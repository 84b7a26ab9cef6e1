//! The one way out: every HTTP call Berth makes to an address an administrator typed
//! (replication remotes; webhooks, proxy upstreams and remote scanners as they arrive) goes
//! through one `Outbound` guard. It refuses loopback, link-local (cloud metadata), private,
//! shared and other non-public addresses unless `outbound.allowed_networks` lets them in, and
//! it checks the address of every connection, not the name in the URL: names are resolved by
//! the guard's resolver (so a name that later resolves inward is still refused), literal
//! addresses are checked before each request and on every redirect.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A CIDR block: `10.0.0.0/8`, `127.0.0.0/8`, `::1/128`; a bare address is a block of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Network {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{s}` is not a network in CIDR notation (e.g. 10.0.0.0/8)"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}`: the prefix length must be 0 to {max}"))?,
        };
        Ok(Self { addr, prefix })
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for Network {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Network {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An IPv4 address written as IPv6 (`::ffff:127.0.0.1`) is judged as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Why an address is not on the public internet, if it is not.
pub fn inward(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => inward_v4(v4),
        IpAddr::V6(v6) => inward_v6(v6),
    }
}

fn inward_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_link_local() {
        Some("a link-local address (cloud metadata services live there)")
    } else if ip.is_private() {
        Some("a private address")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a shared (carrier-grade NAT) address")
    } else if a == 0 || ip.is_unspecified() {
        Some("an unspecified address")
    } else if ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        Some("a broadcast, multicast or reserved address")
    } else if ip.is_documentation() || (a == 198 && (b == 18 || b == 19)) {
        Some("a documentation or benchmarking address")
    } else {
        None
    }
}

fn inward_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() {
        Some("an unspecified address")
    } else if first & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else if first & 0xfe00 == 0xfc00 {
        Some("a unique-local (private) address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if ip.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64: judge the IPv4 address it carries.
        let o = ip.octets();
        inward_v4(Ipv4Addr::new(o[12], o[13], o[14], o[15]))
    } else {
        None
    }
}

/// The outbound guard: the networks the operator lets Berth reach beyond the public internet.
#[derive(Clone, Debug, Default)]
pub struct Outbound {
    allowed: Arc<Vec<Network>>,
}

impl Outbound {
    pub fn new(allowed: Vec<Network>) -> Self {
        Self {
            allowed: Arc::new(allowed),
        }
    }

    /// Refuses `ip` unless it is public or inside an allowed network.
    pub fn permits(&self, ip: IpAddr) -> Result<(), String> {
        match inward(ip) {
            None => Ok(()),
            Some(_) if self.allowed.iter().any(|n| n.contains(ip)) => Ok(()),
            Some(why) => Err(format!(
                "{ip} is {why}; Berth does not call such addresses unless \
                 outbound.allowed_networks includes them"
            )),
        }
    }

    /// Checks a URL before a request: an http(s) scheme, a host, and — for a literal address
    /// — the address itself (names are checked when the guarded client resolves them).
    pub fn check_literal(&self, url: &url::Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("`{url}` is not an http(s) URL"));
        }
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.permits(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.permits(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => Ok(()),
            None => Err(format!("`{url}` has no host")),
        }
    }

    /// Checks a URL now, resolving its host: what creating or pinging a remote does, so the
    /// administrator hears about a refused address at once.
    pub async fn check(&self, url: &url::Url) -> Result<(), String> {
        self.check_literal(url)?;
        if let Some(url::Host::Domain(name)) = url.host() {
            let port = url.port_or_known_default().unwrap_or(443);
            self.resolve_permitted(name, port).await?;
        }
        Ok(())
    }

    async fn resolve_permitted(&self, name: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        let found: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
            .await
            .map_err(|e| format!("cannot resolve `{name}`: {e}"))?
            .collect();
        let mut refusal = None;
        let permitted: Vec<SocketAddr> = found
            .into_iter()
            .filter(|a| match self.permits(a.ip()) {
                Ok(()) => true,
                Err(why) => {
                    refusal.get_or_insert(why);
                    false
                }
            })
            .collect();
        if permitted.is_empty() {
            return Err(format!(
                "`{name}` resolves only to refused addresses: {}",
                refusal.unwrap_or_else(|| "no address".into())
            ));
        }
        Ok(permitted)
    }

    /// A client builder whose every connection and redirect passes the guard. Callers still
    /// check each request's URL with `check_literal` (a literal address is not resolved).
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        let guard = self.clone();
        let redirects = self.clone();
        reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver(guard)))
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= 10 {
                    return attempt.error("more than 10 redirects");
                }
                match redirects.check_literal(attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(why) => attempt.error(why),
                }
            }))
    }
}

struct GuardedResolver(Outbound);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.0.clone();
        Box::pin(async move {
            let addrs = guard
                .resolve_permitted(name.as_str(), 0)
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e.into() })?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Network {
        s.parse().unwrap()
    }

    #[test]
    fn networks_parse_and_contain() {
        assert!(net("10.0.0.0/8").contains("10.200.1.1".parse().unwrap()));
        assert!(!net("10.0.0.0/8").contains("11.0.0.1".parse().unwrap()));
        assert!(net("127.0.0.1").contains("127.0.0.1".parse().unwrap()));
        assert!(!net("127.0.0.1").contains("127.0.0.2".parse().unwrap()));
        assert!(net("0.0.0.0/0").contains("8.8.8.8".parse().unwrap()));
        assert!(net("::1/128").contains("::1".parse().unwrap()));
        assert!(net("fd00::/8").contains("fd12::1".parse().unwrap()));
        // An IPv4-mapped IPv6 address is the IPv4 address.
        assert!(net("127.0.0.0/8").contains("::ffff:127.0.0.9".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Network>().is_err());
        assert!("example.com/8".parse::<Network>().is_err());
        assert_eq!(net("10.0.0.0/8").to_string(), "10.0.0.0/8");
    }

    #[test]
    fn inward_addresses_are_refused_unless_allowed() {
        let guard = Outbound::default();
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "64:ff9b::7f00:1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(guard.permits(ip).is_err(), "{ip} should be refused");
        }
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "64:ff9b::808:808"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(guard.permits(ip).is_ok(), "{ip} should be permitted");
        }
        let loopback = Outbound::new(vec![net("127.0.0.0/8")]);
        assert!(loopback.permits("127.0.0.1".parse().unwrap()).is_ok());
        assert!(loopback
            .permits("::ffff:127.0.0.1".parse().unwrap())
            .is_ok());
        assert!(loopback.permits("10.0.0.1".parse().unwrap()).is_err());
        let message = guard
            .permits("169.254.169.254".parse().unwrap())
            .unwrap_err();
        assert!(message.contains("link-local"), "{message}");
        assert!(message.contains("outbound.allowed_networks"), "{message}");
    }

    #[tokio::test]
    async fn urls_are_checked_by_their_resolved_addresses() {
        let guard = Outbound::default();
        let url = |s: &str| url::Url::parse(s).unwrap();
        assert!(guard.check(&url("http://127.0.0.1:5000/")).await.is_err());
        assert!(guard.check(&url("http://[::1]:5000/")).await.is_err());
        // A name is judged by what it resolves to.
        assert!(guard.check(&url("http://localhost:5000/")).await.is_err());
        assert!(guard.check(&url("ftp://example.com/")).await.is_err());
        let loopback = Outbound::new(vec![net("127.0.0.0/8"), net("::1/128")]);
        assert!(loopback.check(&url("http://localhost:5000/")).await.is_ok());
        assert!(loopback.check(&url("http://127.0.0.1:5000/")).await.is_ok());
    }

    #[tokio::test]
    async fn the_guarded_client_refuses_a_name_that_resolves_inward() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = Outbound::default().client_builder().build().unwrap();
        let err = client
            .get(format!("http://localhost:{port}/"))
            .send()
            .await
            .unwrap_err();
        let text = format!("{:?}", err);
        assert!(text.contains("refused addresses"), "{text}");
    }
}
