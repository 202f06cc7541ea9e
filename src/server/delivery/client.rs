//! The HTTP client every attempt shares: keep-alive, no redirect followed,
//! no proxy, and names resolved through [`GuardedResolver`]: the URL guard
//! filters the very addresses the connection is made to, so a name cannot
//! be checked once and answer differently when connecting.

use crate::server::config::DeliveryConfig;
use crate::server::url_guard::{self, AllowList, Refusal, Resolver};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub fn user_agent() -> String {
    format!("signpost-webhook/{}", env!("CARGO_PKG_VERSION"))
}

/// The shared client.
pub fn client(
    config: &DeliveryConfig,
    allow: AllowList,
    resolver: Resolver,
) -> anyhow::Result<reqwest::Client> {
    let timeout = Duration::from_millis(config.attempt_timeout_ms);
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .pool_idle_timeout(Duration::from_secs(60))
        // Many webhooks may share a host: keep a connection for every
        // attempt that can be in flight, or each burst would reconnect.
        .pool_max_idle_per_host(config.max_in_flight as usize)
        .tcp_nodelay(true)
        .dns_resolver(Arc::new(GuardedResolver { allow, resolver }))
        .build()?)
}

/// Resolves with the configured resolver, keeping only the addresses the
/// URL guard allows.
struct GuardedResolver {
    allow: AllowList,
    resolver: Resolver,
}

/// The guard refused every address: the delivery is dropped, not retried.
#[derive(Debug)]
pub struct GuardError(pub Refusal);

impl std::fmt::Display for GuardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for GuardError {}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        let allow = self.allow.clone();
        let lookup = (self.resolver)(host.clone(), 0);
        Box::pin(async move {
            // A lookup that fails or hangs may work next time: a connection
            // error (retried), not a refusal (dropped).
            let addrs = match tokio::time::timeout(Duration::from_secs(5), lookup).await {
                Ok(Ok(addrs)) if !addrs.is_empty() => addrs,
                Ok(Err(e)) => return Err(Box::new(e) as Box<dyn std::error::Error + Send + Sync>),
                _ => {
                    let e = std::io::Error::other(format!("the host {host} does not resolve"));
                    return Err(Box::new(e) as Box<dyn std::error::Error + Send + Sync>);
                }
            };
            let kept = url_guard::filter_addrs(&host, addrs, &allow)
                .map_err(|r| Box::new(GuardError(r)) as Box<dyn std::error::Error + Send + Sync>)?;
            let addrs: Vec<SocketAddr> =
                kept.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect();
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}
