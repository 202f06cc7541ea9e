//! The one-time setup token. Until the first admin exists, whoever reaches
//! `/setup` first becomes admin; on loopback that is the operator, on a
//! network address it could be anyone. There the token printed in the log
//! at start (or `--setup-token`) is also needed, as Grafana and Jenkins do.

use crate::model::AppError;
use crate::server::state::AppState;
use std::net::{IpAddr, SocketAddr};
use subtle::ConstantTimeEq;

/// Decides, as the server starts listening on `local`, whether `/setup`
/// needs a token, and prints where to set up when it does.
pub async fn arm(state: &AppState, local: SocketAddr) -> anyhow::Result<()> {
    if state.has_users().await? {
        return Ok(());
    }
    let config = &state.config;
    let (token, generated) = match &config.setup_token {
        Some(token) => (token.clone(), false),
        None if needs_token(
            local,
            config.public_authority(),
            config.trusted_proxies.is_empty(),
        ) =>
        {
            (super::super::secrets::random_hex()[..32].to_string(), true)
        }
        None => return Ok(()),
    };
    let _ = state.setup_token.set(token.clone());
    let base = match &config.public_url {
        Some(url) => url.clone(),
        // A wildcard is no address to open: the machine's own is.
        None if local.ip().is_unspecified() => {
            format!("http://<this machine's address>:{}", local.port())
        }
        None => format!("http://{local}"),
    };
    // The operator needs to see this line: it is the way in.
    if generated {
        tracing::warn!("no admin yet: create one at {base}/setup?token={token}");
    } else {
        tracing::warn!("no admin yet: create one at {base}/setup?token=<SIGNPOST_SETUP_TOKEN>");
    }
    Ok(())
}

/// Only a loopback listener that no proxy forwards to is reachable by
/// nobody but this machine. A public URL on another host, or trusted
/// proxies, say that a proxy on this machine passes the network's
/// requests on.
fn needs_token(local: SocketAddr, public: Option<(&str, u16)>, no_proxies: bool) -> bool {
    let public_is_local = public.is_none_or(|(authority, _)| {
        let host = authority
            .parse::<super::hosts::Authority>()
            .map(|a| a.host().to_string())
            .unwrap_or_default();
        host == "localhost"
            || host
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.to_canonical().is_loopback())
    });
    !local.ip().to_canonical().is_loopback() || !public_is_local || !no_proxies
}

/// Whether `/setup` asks for a token.
pub fn required(state: &AppState) -> bool {
    state.setup_token.get().is_some()
}

/// Refuses a setup without the right token, when one is required.
pub fn check(state: &AppState, given: Option<&str>) -> Result<(), AppError> {
    let Some(expected) = state.setup_token.get() else {
        return Ok(());
    };
    let given = given.unwrap_or("").trim();
    if bool::from(given.as_bytes().ct_eq(expected.trim().as_bytes())) {
        return Ok(());
    }
    tracing::warn!("a setup with a wrong or missing setup token was refused");
    Err(AppError::Forbidden(
        "This Signpost needs its setup token: open the /setup link that its log printed at start"
            .into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_without_a_proxy_needs_no_token() {
        for addr in ["127.0.0.1:3000", "[::1]:3000", "[::ffff:127.0.0.1]:3000"] {
            assert!(!needs_token(addr.parse().unwrap(), None, true), "{addr}");
        }
        for addr in [
            "0.0.0.0:3000",
            "[::]:3000",
            "10.0.0.5:3000",
            "[2001:db8::1]:80",
        ] {
            assert!(needs_token(addr.parse().unwrap(), None, true), "{addr}");
        }
        let lo = "127.0.0.1:3000".parse().unwrap();
        // Behind a proxy on this machine, the network reaches loopback.
        assert!(needs_token(lo, Some(("hooks.example.com", 443)), true));
        assert!(needs_token(lo, None, false));
        assert!(!needs_token(lo, Some(("localhost:3000", 80)), true));
        assert!(!needs_token(lo, Some(("127.0.0.1:3000", 80)), true));
    }
}
