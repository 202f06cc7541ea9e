//! The client's address, for the per-address sign-in throttle. Behind a
//! reverse proxy every request comes from the proxy; its `X-Forwarded-For`
//! says who the client was, but anyone can send that header, so it is read
//! only when the peer is a proxy the operator named (`--trusted-proxies`).

use ipnet::IpNet;
use std::net::IpAddr;
use std::str::FromStr;

/// The proxies whose `X-Forwarded-For` is believed: addresses and CIDRs.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<IpNet>()
                    .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{p:?} is not an address or a CIDR"))
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }
}

impl TrustedProxies {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is a trusted proxy. An IPv4 peer seen through an IPv6
    /// socket (`::ffff:a.b.c.d`, as behind a `[::]` listener) is its IPv4
    /// address: otherwise `--trusted-proxies 127.0.0.1` would match nothing
    /// and every client would share the proxy's throttle.
    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Who sent the request: the peer, unless the peer is a trusted proxy;
    /// then the nearest address in `X-Forwarded-For` that is not one (read
    /// from the right: each proxy appends the address it got the request
    /// from, and only the trusted ones' appends are believed).
    pub fn client(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let Some(header) = forwarded_for else {
            return peer;
        };
        let mut client = peer;
        for hop in header.rsplit(',') {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                break; // a hop that is not an address: believe nothing past it
            };
            client = ip.to_canonical();
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// What the per-address sign-in limit counts a client as: its IPv4
/// address, or the /64 network of an IPv6 one (one host holds a whole /64,
/// and would otherwise get a fresh budget per address).
pub fn throttle_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let net = ipnet::Ipv6Net::new(v6, 64).expect("64 is a prefix length");
            net.trunc().to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let none = TrustedProxies::default();
        let proxy: TrustedProxies = "10.0.0.0/8, 127.0.0.1".parse().unwrap();
        let header = Some("203.0.113.9, 10.0.0.2");
        // Not configured: the peer, whatever the header says.
        assert_eq!(none.client(ip("10.0.0.1"), header), ip("10.0.0.1"));
        // From a stranger: the header is not believed.
        assert_eq!(proxy.client(ip("198.51.100.7"), header), ip("198.51.100.7"));
        // From the proxy: the first address from the right that is not a proxy.
        assert_eq!(proxy.client(ip("10.0.0.1"), header), ip("203.0.113.9"));
        // A client that forges a header of its own gets its real address:
        // the proxy appended it last.
        let forged = Some("1.2.3.4, 198.51.100.7");
        assert_eq!(proxy.client(ip("127.0.0.1"), forged), ip("198.51.100.7"));
        // No header, or garbage: the peer, or the last address believed.
        assert_eq!(proxy.client(ip("10.0.0.1"), None), ip("10.0.0.1"));
        assert_eq!(
            proxy.client(ip("10.0.0.1"), Some("nonsense")),
            ip("10.0.0.1")
        );
        assert!("10.0.0.0/99".parse::<TrustedProxies>().is_err());
        // Behind a `[::]` listener the proxy's IPv4 address comes mapped.
        assert_eq!(
            proxy.client(ip("::ffff:127.0.0.1"), header),
            ip("203.0.113.9")
        );
        assert_eq!(
            proxy.client(ip("::ffff:127.0.0.1"), Some("::ffff:198.51.100.7")),
            ip("198.51.100.7")
        );
        assert_eq!(none.client(ip("::ffff:10.0.0.1"), header), ip("10.0.0.1"));
    }

    #[test]
    fn ipv6_clients_count_per_64() {
        assert_eq!(throttle_key(ip("198.51.100.7")), "198.51.100.7");
        assert_eq!(throttle_key(ip("::ffff:198.51.100.7")), "198.51.100.7");
        let a = throttle_key(ip("2001:db8:1:2::1"));
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(throttle_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")), a);
        assert_ne!(throttle_key(ip("2001:db8:1:3::1")), a);
        assert!("".parse::<TrustedProxies>().is_ok());
    }
}
