//! Which `Host` (and `Origin`) values are Signpost's own. A page on an
//! attacker's domain that re-binds its DNS name to this server sends that
//! domain as `Host` and as `Origin`; only names the operator gave (the
//! public URL, `--allowed-hosts`) and the address a connection came in on
//! are believed.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// `host` or `host:port` as a client wrote it, the host in lower case and
/// without the brackets of an IPv6 literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    host: String,
    port: Option<u16>,
}

impl FromStr for Authority {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a host or host:port");
        // No user info, path or anything else an authority must not carry.
        if s.is_empty() || s.contains(['@', '/', '?', '#', ' ']) {
            return Err(bad());
        }
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (v6, after) = rest.split_once(']').ok_or_else(bad)?;
            v6.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(bad)?),
            };
            (v6, port)
        } else {
            match s.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (s, None),
            }
        };
        if host.is_empty() || (!s.starts_with('[') && host.contains(':')) {
            return Err(bad());
        }
        let port = port
            .map(|p| p.parse::<u16>().map_err(|_| bad()))
            .transpose()?;
        Ok(Authority {
            host: host.trim_end_matches('.').to_ascii_lowercase(),
            port,
        })
    }
}

impl Authority {
    fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// The host, lower case, without brackets or a trailing dot.
    pub fn host(&self) -> &str {
        &self.host
    }
}

/// `--allowed-hosts`: further names Signpost answers to, `host` (any port)
/// or `host:port`, comma-separated; `*` switches the check off.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    any: bool,
    hosts: Vec<Authority>,
}

impl FromStr for AllowedHosts {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut allowed = AllowedHosts::default();
        for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" {
                allowed.any = true;
            } else {
                allowed.hosts.push(entry.parse()?);
            }
        }
        Ok(allowed)
    }
}

/// What a request's authority is checked against.
#[derive(Debug, Clone, Copy)]
pub struct OwnHosts<'a> {
    /// The public URL's authority and its scheme's default port.
    pub public: Option<(&'a str, u16)>,
    pub allowed: &'a AllowedHosts,
    /// The address this connection came in on (not the wildcard the
    /// listener may be bound to).
    pub local: Option<SocketAddr>,
}

impl OwnHosts<'_> {
    /// Whether `authority` (a `Host` header, or an origin's authority with
    /// its scheme's default port in `default_port`) names this server.
    pub fn knows(&self, authority: &str, default_port: Option<u16>) -> bool {
        if self.allowed.any {
            return true;
        }
        let Ok(asked) = authority.parse::<Authority>() else {
            return false;
        };
        let asked_port = asked.port.or(default_port);
        if let Some(local) = self.local {
            let own_address = asked.ip().is_some_and(|ip| same_ip(ip, local.ip()));
            // `localhost` cannot be re-bound: browsers resolve it locally.
            let own_name = asked.host == "localhost" && local.ip().to_canonical().is_loopback();
            // Signpost itself speaks plain HTTP: no port means 80.
            if (own_address || own_name) && asked_port.unwrap_or(80) == local.port() {
                return true;
            }
        }
        if let Some((public, public_default)) = self.public {
            if let Ok(public) = public.parse::<Authority>() {
                let public_port = public.port.unwrap_or(public_default);
                // A Host header without a port came on the scheme's default.
                if public.host == asked.host && asked_port.unwrap_or(public_default) == public_port
                {
                    return true;
                }
            }
        }
        self.allowed.hosts.iter().any(|allowed| {
            allowed.host == asked.host && allowed.port.is_none_or(|p| asked_port == Some(p))
        })
    }

    /// Whether a page's origin (its authority, and its scheme's default
    /// port) is this server, for a request sent to `host` (its `Host`). As
    /// [`Self::knows`], but a `--allowed-hosts` entry without a port takes
    /// only the origin the request itself was addressed to: another port of
    /// the same host is another site (another program), and must not post
    /// forms with this one's cookies.
    pub fn knows_origin(&self, authority: &str, default_port: u16, host: Option<&str>) -> bool {
        if self.allowed.any {
            return true;
        }
        let Ok(asked) = authority.parse::<Authority>() else {
            return false;
        };
        let exact = OwnHosts {
            allowed: &AllowedHosts {
                any: false,
                hosts: self
                    .allowed
                    .hosts
                    .iter()
                    .filter(|a| a.port.is_some())
                    .cloned()
                    .collect(),
            },
            ..*self
        };
        if exact.knows(authority, Some(default_port)) {
            return true;
        }
        // A bare entry: the origin is the request's own authority, written
        // alike (a browser leaves out a default port, as a proxy does).
        let Some(sent_to) = host.and_then(|h| h.parse::<Authority>().ok()) else {
            return false;
        };
        sent_to == asked
            && self
                .allowed
                .hosts
                .iter()
                .any(|a| a.port.is_none() && a.host == asked.host)
    }
}

/// IPv4 seen through an IPv6 socket (`::ffff:a.b.c.d`) is the same address.
fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

/// The authority and default port of an `Origin` header, or `None` for
/// `null` and anything that is not an http(s) origin.
pub fn origin_authority(origin: &str) -> Option<(&str, u16)> {
    if let Some(a) = origin.strip_prefix("https://") {
        return Some((a, 443));
    }
    origin.strip_prefix("http://").map(|a| (a, 80))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own<'a>(
        public: Option<(&'a str, u16)>,
        allowed: &'a AllowedHosts,
        local: &str,
    ) -> OwnHosts<'a> {
        OwnHosts {
            public,
            allowed,
            local: Some(local.parse().unwrap()),
        }
    }

    #[test]
    fn the_connections_own_address_and_localhost_on_loopback() {
        let none = AllowedHosts::default();
        let h = own(None, &none, "127.0.0.1:3000");
        assert!(h.knows("127.0.0.1:3000", None));
        assert!(h.knows("localhost:3000", None));
        assert!(h.knows("LOCALHOST.:3000", None));
        assert!(!h.knows("127.0.0.1:3001", None));
        assert!(!h.knows("127.0.0.1", None));
        assert!(!h.knows("127.0.0.2:3000", None));
        // A re-bound name is not ours, whatever it resolves to.
        assert!(!h.knows("rebind.attacker.example:3000", None));
        assert!(!h.knows("user@127.0.0.1:3000", None));
        assert!(!h.knows("", None));

        let h = own(None, &none, "[::1]:3000");
        assert!(h.knows("[::1]:3000", None));
        assert!(h.knows("localhost:3000", None));
        assert!(!h.knows("[::1", None));

        // On a public address `localhost` is someone else.
        let h = own(None, &none, "10.0.0.5:3000");
        assert!(h.knows("10.0.0.5:3000", None));
        assert!(!h.knows("localhost:3000", None));
        // IPv4 through a dual-stack socket.
        let h = own(None, &none, "[::ffff:10.0.0.5]:3000");
        assert!(h.knows("10.0.0.5:3000", None));
        let h = own(None, &none, "[::ffff:127.0.0.1]:3000");
        assert!(h.knows("localhost:3000", None));
        // No port in Host: port 80.
        let h = own(None, &none, "127.0.0.1:80");
        assert!(h.knows("127.0.0.1", None) && h.knows("localhost", None));
    }

    #[test]
    fn a_bare_allowed_host_takes_only_the_origin_the_request_was_sent_to() {
        let allowed: AllowedHosts = "signpost.internal, other.example:8080".parse().unwrap();
        let h = own(None, &allowed, "10.0.0.5:3000");
        let sent = Some("signpost.internal:3000");
        assert!(h.knows_origin("signpost.internal:3000", 80, sent));
        // Another port of the same host is another program.
        assert!(!h.knows_origin("signpost.internal:9999", 80, sent));
        assert!(!h.knows_origin("signpost.internal", 80, sent));
        // Behind a proxy: no port in Host, none in the origin.
        assert!(h.knows_origin("signpost.internal", 443, Some("signpost.internal")));
        assert!(!h.knows_origin("signpost.internal:8443", 443, Some("signpost.internal")));
        // Without a Host there is nothing to match a bare entry with.
        assert!(!h.knows_origin("signpost.internal:3000", 80, None));
        // An entry with a port, and the address it came in on: as before.
        assert!(h.knows_origin("other.example:8080", 80, sent));
        assert!(!h.knows_origin("other.example:8081", 80, Some("other.example:8081")));
        assert!(h.knows_origin("10.0.0.5:3000", 80, Some("10.0.0.5:3000")));
    }

    #[test]
    fn the_public_url_with_its_default_port() {
        let none = AllowedHosts::default();
        let h = own(Some(("hooks.example.com", 443)), &none, "10.0.0.5:3000");
        assert!(h.knows("hooks.example.com", None));
        assert!(h.knows("Hooks.Example.com:443", None));
        assert!(h.knows("hooks.example.com", Some(443))); // Origin https://hooks.example.com
        assert!(!h.knows("hooks.example.com", Some(80))); // Origin http://hooks.example.com
        assert!(!h.knows("hooks.example.com:8443", None));
        assert!(!h.knows("hooks.example.com.attacker.example", None));

        let h = own(
            Some(("hooks.example.com:8443", 443)),
            &none,
            "10.0.0.5:3000",
        );
        assert!(h.knows("hooks.example.com:8443", None));
        assert!(!h.knows("hooks.example.com", None));
    }

    #[test]
    fn the_allow_list() {
        let allowed: AllowedHosts = "signpost.internal, Other.example:8080".parse().unwrap();
        let h = own(None, &allowed, "10.0.0.5:3000");
        assert!(h.knows("signpost.internal", None));
        assert!(h.knows("signpost.internal:3000", None));
        assert!(h.knows("other.example:8080", None));
        assert!(!h.knows("other.example:3000", None));
        assert!(!h.knows("other.example", None));

        let any: AllowedHosts = "*".parse().unwrap();
        assert!(own(None, &any, "10.0.0.5:3000").knows("anything.example", None));

        assert!("a b".parse::<AllowedHosts>().is_err());
        assert!("host:port".parse::<AllowedHosts>().is_err());
        assert!("::1".parse::<AllowedHosts>().is_err());
        assert!("".parse::<AllowedHosts>().is_ok());
    }

    #[test]
    fn origins_are_http_or_https() {
        assert_eq!(
            origin_authority("https://a.example"),
            Some(("a.example", 443))
        );
        assert_eq!(
            origin_authority("http://a.example:81"),
            Some(("a.example:81", 80))
        );
        assert_eq!(origin_authority("null"), None);
        assert_eq!(origin_authority("file://x"), None);
    }
}
