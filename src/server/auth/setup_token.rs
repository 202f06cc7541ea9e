//! The one-time setup token. Until the first admin exists, whoever reaches
//! `/setup` first becomes admin; on loopback that is the operator, on a
//! network address it could be anyone. There the token printed in the log
//! at start (or `--setup-token`) is also needed, as Grafana and Jenkins do.

use crate::model::AppError;
use crate::server::state::AppState;
use std::net::SocketAddr;
use subtle::ConstantTimeEq;

/// Decides, as the server starts listening on `local`, whether `/setup`
/// needs a token, and prints where to set up when it does.
pub async fn arm(state: &AppState, local: SocketAddr) -> anyhow::Result<()> {
    if state.has_users().await? {
        return Ok(());
    }
    let (token, generated) = match &state.config.setup_token {
        Some(token) => (token.clone(), false),
        None if needs_token(local) => (super::super::secrets::random_hex()[..32].to_string(), true),
        None => return Ok(()),
    };
    let _ = state.setup_token.set(token.clone());
    let base = state
        .config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));
    // The operator needs to see this line: it is the way in.
    if generated {
        tracing::warn!("no admin yet: create one at {base}/setup?token={token}");
    } else {
        tracing::warn!("no admin yet: create one at {base}/setup?token=<SIGNPOST_SETUP_TOKEN>");
    }
    Ok(())
}

/// Only a loopback listener is reachable by nobody but this machine.
fn needs_token(local: SocketAddr) -> bool {
    !local.ip().to_canonical().is_loopback()
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
    if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
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
    fn only_loopback_needs_no_token() {
        for addr in ["127.0.0.1:3000", "[::1]:3000", "[::ffff:127.0.0.1]:3000"] {
            assert!(!needs_token(addr.parse().unwrap()), "{addr}");
        }
        for addr in [
            "0.0.0.0:3000",
            "[::]:3000",
            "10.0.0.5:3000",
            "[2001:db8::1]:80",
        ] {
            assert!(needs_token(addr.parse().unwrap()), "{addr}");
        }
    }
}
