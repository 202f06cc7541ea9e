//! The URL guard (docs/security.md): a webhook may only point at `https` URLs whose
//! host resolves to public addresses, unless the operator allow-listed the
//! target (`SIGNPOST_ALLOW_TARGETS`). It fails closed: a name that does not
//! resolve, or resolves to any non-public address, is refused.
//!
//! The WHATWG URL parser (the `url` crate) already turns odd IPv4 spellings
//! such as `0x7f.1` or `2130706433` into `127.0.0.1`, so they are checked as
//! the address a connection would really reach.

use futures::future::BoxFuture;
use ipnet::IpNet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::sync::Arc;
use url::{Host, Url};

const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Hosts and networks that the operator allows whatever they resolve to,
/// over http or https.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    hosts: Vec<String>,
    nets: Vec<IpNet>,
}

impl FromStr for AllowList {
    type Err = String;

    /// `"127.0.0.1,localhost,10.1.0.0/16,::1"`: hosts, addresses and CIDRs.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut list = AllowList::default();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if let Ok(net) = item.parse::<IpNet>() {
                list.nets.push(net);
            } else if let Ok(ip) = item.trim_matches(['[', ']']).parse::<IpAddr>() {
                list.nets.push(IpNet::from(ip));
            } else if item
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            {
                list.hosts.push(item.to_ascii_lowercase());
            } else {
                return Err(format!(
                    "{item:?} is neither a host name, an address nor a CIDR"
                ));
            }
        }
        Ok(list)
    }
}

impl AllowList {
    pub fn allows_host(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets.iter().any(|n| n.contains(&ip))
    }
}

/// Why a URL was refused; the text is shown to the person who entered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Invalid(String),
    NotHttps,
    Credentials,
    DoesNotResolve(String),
    NotPublic { ip: IpAddr, kind: &'static str },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Invalid(why) => write!(f, "Enter an absolute https URL ({why})"),
            Refusal::NotHttps => write!(f, "The URL must use https"),
            Refusal::Credentials => write!(f, "The URL must not contain a user name or password"),
            Refusal::DoesNotResolve(host) => write!(f, "The host {host} does not resolve"),
            Refusal::NotPublic { ip, kind } => {
                write!(
                    f,
                    "The URL points to a {kind} address ({ip}), which is not allowed"
                )
            }
        }
    }
}

/// Resolves a host name to addresses. Stubbed in tests; the real one asks
/// the system resolver.
pub type Resolver =
    Arc<dyn Fn(String, u16) -> BoxFuture<'static, std::io::Result<Vec<IpAddr>>> + Send + Sync>;

/// The resolver a server uses: the system's unless a test puts a stub in.
#[derive(Clone)]
pub struct ResolverChoice(pub Resolver);

impl Default for ResolverChoice {
    fn default() -> Self {
        ResolverChoice(system_resolver())
    }
}

impl fmt::Debug for ResolverChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Resolver")
    }
}

pub fn system_resolver() -> Resolver {
    Arc::new(|host, port| {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), port))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    })
}

/// A URL that passed, with the addresses that were checked (connect to
/// these, not to a second lookup's answer).
#[derive(Debug, Clone)]
pub struct Checked {
    pub url: Url,
    pub addrs: Vec<IpAddr>,
}

/// Checks a webhook URL as docs/security.md says.
pub async fn check(raw: &str, allow: &AllowList, resolve: &Resolver) -> Result<Checked, Refusal> {
    check_within(raw, allow, resolve, RESOLVE_TIMEOUT).await
}

/// What can be known of a URL without resolving it.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub url: Url,
    /// The host, lower-cased, without a trailing dot (an address for literals).
    pub host: String,
    pub port: u16,
    /// The address, when the URL names one.
    pub literal: Option<IpAddr>,
    /// The operator allow-listed the host or address the URL names: both
    /// rules are lifted for it.
    pub named_allowed: bool,
}

/// The checks that need no resolver: syntax, scheme, credentials, and the
/// address of a literal-IP URL. The delivery worker runs this before every
/// attempt; its resolver ([`filter_addrs`]) does the rest at connect time.
pub fn check_static(raw: &str, allow: &AllowList) -> Result<Parsed, Refusal> {
    let url = Url::parse(raw.trim()).map_err(|e| Refusal::Invalid(e.to_string()))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(Refusal::NotHttps);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::Credentials);
    }
    let port = url
        .port_or_known_default()
        .ok_or_else(|| Refusal::Invalid("no port".into()))?;
    let (host, literal) = match url.host() {
        None => return Err(Refusal::Invalid("no host".into())),
        Some(Host::Domain(d)) => (d.trim_end_matches('.').to_ascii_lowercase(), None),
        Some(Host::Ipv4(ip)) => (ip.to_string(), Some(IpAddr::V4(ip))),
        Some(Host::Ipv6(ip)) => (ip.to_string(), Some(IpAddr::V6(ip))),
    };
    // The allow-list lifts both rules for targets named in the URL itself.
    let named_allowed = allow.allows_host(&host) || literal.is_some_and(|ip| allow.allows_ip(ip));
    if url.scheme() != "https" && !named_allowed {
        return Err(Refusal::NotHttps);
    }
    if let (Some(ip), false) = (literal, named_allowed) {
        if let Some(kind) = non_public(ip) {
            return Err(Refusal::NotPublic { ip, kind });
        }
    }
    Ok(Parsed {
        url,
        host,
        port,
        literal,
        named_allowed,
    })
}

/// The addresses a connection to `host` may use: all of them for an
/// allow-listed host, else the public or allow-listed ones. None left is a
/// refusal naming the first address dropped.
pub fn filter_addrs(
    host: &str,
    addrs: Vec<IpAddr>,
    allow: &AllowList,
) -> Result<Vec<IpAddr>, Refusal> {
    if allow.allows_host(host) {
        return if addrs.is_empty() {
            Err(Refusal::DoesNotResolve(host.to_string()))
        } else {
            Ok(addrs)
        };
    }
    let mut refused = None;
    let kept: Vec<IpAddr> = addrs
        .into_iter()
        .filter(
            |ip| match non_public(*ip).filter(|_| !allow.allows_ip(*ip)) {
                Some(kind) => {
                    refused.get_or_insert(Refusal::NotPublic { ip: *ip, kind });
                    false
                }
                None => true,
            },
        )
        .collect();
    match (kept.is_empty(), refused) {
        (false, _) => Ok(kept),
        (true, Some(refusal)) => Err(refusal),
        (true, None) => Err(Refusal::DoesNotResolve(host.to_string())),
    }
}

async fn check_within(
    raw: &str,
    allow: &AllowList,
    resolve: &Resolver,
    resolve_timeout: std::time::Duration,
) -> Result<Checked, Refusal> {
    let parsed = check_static(raw, allow)?;
    let addrs = match parsed.literal {
        Some(ip) => vec![ip],
        // A resolver that does not answer in time counts as "does not resolve".
        None => {
            match tokio::time::timeout(resolve_timeout, resolve(parsed.host.clone(), parsed.port))
                .await
            {
                Ok(Ok(addrs)) if !addrs.is_empty() => addrs,
                _ => return Err(Refusal::DoesNotResolve(parsed.host)),
            }
        }
    };
    if !parsed.named_allowed {
        // At registration every address must be public, or allowed by the operator.
        for ip in &addrs {
            if let Some(kind) = non_public(*ip).filter(|_| !allow.allows_ip(*ip)) {
                return Err(Refusal::NotPublic { ip: *ip, kind });
            }
        }
    }
    Ok(Checked {
        url: parsed.url,
        addrs,
    })
}

/// IPv4-mapped and IPv4-compatible IPv6 addresses are the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// `None` for a public unicast address, else what kind of address it is.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_unspecified() => "unspecified",
        (0, ..) => "\"this network\"",
        (127, ..) => "loopback",
        (10, ..) | (172, 16..=31, _) | (192, 168, _) => "private",
        (169, 254, _) => "link-local",
        (100, 64..=127, _) => "shared (CGNAT)",
        (192, 0, 0) => "IETF protocol",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (198, 18..=19, _) => "benchmarking",
        (192, 88, 99) => "6to4 relay anycast",
        (224..=239, ..) => "multicast",
        (240..=255, ..) => "reserved",
        _ => return None,
    })
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let seg = ip.segments();
    // Addresses that embed an IPv4 address are judged by it.
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    Some(match seg {
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_loopback() => "loopback",
        [0, 0, 0, 0, 0, 0, hi, lo] => {
            return non_public_v4(embedded_v4(hi, lo)).or(Some("IPv4-compatible"))
        }
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => return non_public_v4(embedded_v4(hi, lo)),
        // Stateless translation (RFC 2765) and local-use NAT64 (RFC 8215)
        // reach IPv4 hosts through the operator's own translator.
        [0, 0, 0, 0, 0xffff, 0, ..] => "IPv4-translated",
        [0x64, 0xff9b, 1, ..] => "local-use NAT64",
        [0x2002, hi, lo, ..] => return non_public_v4(embedded_v4(hi, lo)),
        [s0, ..] if s0 & 0xfe00 == 0xfc00 => "unique-local",
        [s0, ..] if s0 & 0xffc0 == 0xfe80 => "link-local",
        [s0, ..] if s0 & 0xffc0 == 0xfec0 => "site-local",
        [s0, ..] if s0 & 0xff00 == 0xff00 => "multicast",
        [0x2001, 0xdb8, ..] => "documentation",
        [0x100, 0, 0, 0, ..] => "discard",
        [0x2001, 0, ..] => "Teredo",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resolver that knows a few names and never touches the network.
    fn stub() -> Resolver {
        Arc::new(|host, _port| {
            Box::pin(async move {
                let ips: Vec<IpAddr> = match host.as_str() {
                    "hooks.example.com" => vec!["93.184.215.14".parse().unwrap()],
                    "v6.example.com" => {
                        vec!["2606:2800:21f:cb07:6820:80da:af6b:8b2c".parse().unwrap()]
                    }
                    "rebind.example.com" => vec!["127.0.0.1".parse().unwrap()],
                    "mixed.example.com" => {
                        vec![
                            "93.184.215.14".parse().unwrap(),
                            "10.0.0.5".parse().unwrap(),
                        ]
                    }
                    "metadata.example.com" => vec!["169.254.169.254".parse().unwrap()],
                    "localhost" => vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
                    _ => vec![],
                };
                Ok(ips)
            })
        })
    }

    async fn verdict(url: &str, allow: &str) -> Result<Checked, Refusal> {
        check(url, &allow.parse().unwrap(), &stub()).await
    }

    #[tokio::test]
    async fn refuses_every_non_public_or_non_https_form() {
        let refused = [
            "http://hooks.example.com/",
            "ftp://hooks.example.com/",
            "hooks.example.com/path",
            "/relative",
            "https://",
            "https://user:pw@hooks.example.com/",
            "https://127.0.0.1/",
            "https://127.1.2.3:8443/x",
            "https://localhost/",
            "https://[::1]/",
            "https://[::]/",
            "https://0.0.0.0/",
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.1/",
            "https://172.16.5.4/",
            "https://172.31.255.255/",
            "https://192.168.1.1/",
            "https://100.64.0.1/",
            "https://100.127.255.254/",
            "https://0x7f000001/",
            "https://0x7f.1/",
            "https://2130706433/",
            "https://0177.0.0.1/",
            "https://127.0.1/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://[::ffff:169.254.169.254]/",
            "https://[::127.0.0.1]/",
            "https://[64:ff9b::7f00:1]/",
            "https://[2002:7f00:1::]/",
            "https://[::ffff:0:7f00:1]/",
            "https://[::ffff:0:5db8:d70e]/",
            "https://[64:ff9b:1::5db8:d70e]/",
            "https://192.88.99.1/",
            "https://[fc00::1]/",
            "https://[fd12:3456::1]/",
            "https://[fe80::1]/",
            "https://[ff02::1]/",
            "https://224.0.0.1/",
            "https://239.255.255.250/",
            "https://255.255.255.255/",
            "https://240.0.0.1/",
            "https://192.0.2.1/",
            "https://[2001:db8::1]/",
            "https://rebind.example.com/",
            "https://mixed.example.com/",
            "https://metadata.example.com/",
            "https://does-not-resolve.example.com/",
        ];
        assert!(refused.len() >= 30);
        for url in refused {
            assert!(verdict(url, "").await.is_err(), "{url} must be refused");
        }
    }

    #[tokio::test]
    async fn accepts_public_https() {
        for url in [
            "https://hooks.example.com/webhooks?x=1",
            "https://hooks.example.com.:8443/",
            "https://v6.example.com/",
            "https://93.184.215.14/",
            "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/",
            "https://8.8.8.8/",
        ] {
            let ok = verdict(url, "")
                .await
                .unwrap_or_else(|e| panic!("{url}: {e}"));
            assert!(!ok.addrs.is_empty());
        }
    }

    #[tokio::test]
    async fn reasons_are_readable() {
        assert_eq!(
            verdict("http://hooks.example.com/", "")
                .await
                .unwrap_err()
                .to_string(),
            "The URL must use https"
        );
        assert_eq!(
            verdict("https://0x7f.1/", "")
                .await
                .unwrap_err()
                .to_string(),
            "The URL points to a loopback address (127.0.0.1), which is not allowed"
        );
        assert_eq!(
            verdict("https://rebind.example.com/", "")
                .await
                .unwrap_err()
                .to_string(),
            "The URL points to a loopback address (127.0.0.1), which is not allowed"
        );
        assert_eq!(
            verdict("https://nope.example.com/", "")
                .await
                .unwrap_err()
                .to_string(),
            "The host nope.example.com does not resolve"
        );
    }

    #[tokio::test]
    async fn the_allow_list_lifts_both_rules_for_named_targets_only() {
        let allow = "127.0.0.1,localhost,10.1.0.0/16";
        for url in [
            "http://127.0.0.1:9000/hook",
            "https://127.0.0.1/hook",
            "http://localhost:8080/",
            "http://10.1.2.3/",
            "http://[::ffff:127.0.0.1]:9000/",
        ] {
            assert!(verdict(url, allow).await.is_ok(), "{url} is allow-listed");
        }
        for url in [
            "http://127.0.0.2/",
            "http://10.2.0.1/",
            "https://[::1]/",
            "https://metadata.example.com/",
            "https://mixed.example.com/",
            "http://hooks.example.com/",
        ] {
            assert!(
                verdict(url, allow).await.is_err(),
                "{url} is not allow-listed"
            );
        }
        // An allowed address is allowed whatever name leads to it, over https.
        assert!(verdict("https://rebind.example.com/", allow).await.is_ok());
        assert!(verdict("http://rebind.example.com/", allow).await.is_err());
    }

    #[tokio::test]
    async fn a_resolver_that_hangs_is_a_refusal_not_a_hang() {
        let hangs: Resolver = Arc::new(|_, _| Box::pin(std::future::pending()));
        let short = std::time::Duration::from_millis(20);
        let verdict = check_within(
            "https://slow.example.com/",
            &AllowList::default(),
            &hangs,
            short,
        )
        .await;
        assert_eq!(
            verdict.unwrap_err(),
            Refusal::DoesNotResolve("slow.example.com".into())
        );
    }

    #[test]
    fn allow_list_parsing() {
        assert!("127.0.0.1, localhost ,::1,[::1],10.0.0.0/8"
            .parse::<AllowList>()
            .is_ok());
        assert!("".parse::<AllowList>().is_ok());
        assert!("http://x".parse::<AllowList>().is_err());
        assert!("10.0.0.0/99".parse::<AllowList>().is_err());
    }

    #[test]
    fn public_addresses_are_public() {
        for ip in [
            "1.1.1.1",
            "93.184.215.14",
            "100.63.255.255",
            "100.128.0.0",
            "172.32.0.1",
            "2606:4700::1111",
        ] {
            assert_eq!(non_public(ip.parse().unwrap()), None, "{ip}");
        }
    }
}
