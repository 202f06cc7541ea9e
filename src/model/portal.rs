//! Tenants and the customer portal: the rules both halves share.
//!
//! A portal page's address carries its link's token where a dashboard page
//! has the project id (`/portal/{token}/…` beside `/p/{pid}/…`), and the
//! pages and server functions take either as their *scope*: the server
//! finds out which it is ([`is_portal_token`]) and, for a token, limits
//! everything to the link's tenant.

use serde::{Deserialize, Serialize};

/// Longest tenant id.
pub const MAX_TENANT: usize = 64;
/// Longest life of a portal link: 7 days.
pub const MAX_PORTAL_TTL_SECONDS: u64 = 7 * 86_400;
/// A portal link's life when the call does not say.
pub const DEFAULT_PORTAL_TTL_SECONDS: u64 = 3_600;
/// Most webhooks a tenant registers through its portal (its customers are
/// not trusted with the platform's fan-out).
pub const MAX_PORTAL_WEBHOOKS: usize = 100;
/// What every portal token starts with; no project id does.
pub const PORTAL_TOKEN_PREFIX: &str = "pt_";

/// How a portal page's `done` names a new secret kept for it: `shown-{id}`
/// (the portal has no session to keep it in).
pub const PORTAL_SHOWN_PREFIX: &str = "shown-";

/// Checks a tenant id: 1 to 64 of `A-Z a-z 0-9 . _ : -`.
pub fn check_tenant(tenant: &str) -> Result<String, String> {
    let ok = !tenant.is_empty()
        && tenant.len() <= MAX_TENANT
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    match ok {
        true => Ok(tenant.to_string()),
        false => Err(format!(
            "A tenant is 1 to {MAX_TENANT} characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'"
        )),
    }
}

/// Whether a page's scope is a portal link's token (else a project id).
pub fn is_portal_token(scope: &str) -> bool {
    scope.starts_with(PORTAL_TOKEN_PREFIX)
}

/// Where a scope's pages live: `/p/{pid}` on the dashboard, `/portal/{token}`
/// in the portal.
pub fn scope_base(scope: &str) -> String {
    match is_portal_token(scope) {
        true => format!("/portal/{scope}"),
        false => format!("/p/{scope}"),
    }
}

/// What a portal page knows of its link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalInfo {
    /// The platform's name (the project's portal name, else its name).
    pub name: String,
    /// `#rrggbb`, when the project set one.
    pub accent: Option<String>,
    pub tenant: String,
    pub read_only: bool,
    /// Unix milliseconds.
    pub expires_at: i64,
}

/// How a project's portal looks, as its settings show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PortalLook {
    /// Empty: the project's name.
    pub name: String,
    /// `#rrggbb`; empty: Signpost's own.
    pub accent: String,
}

/// Checks an accent colour: empty, or `#rrggbb`.
pub fn check_accent(accent: &str) -> Result<String, String> {
    let accent = accent.trim();
    let ok = accent.is_empty()
        || (accent.len() == 7
            && accent.starts_with('#')
            && accent[1..].bytes().all(|b| b.is_ascii_hexdigit()));
    match ok {
        true => Ok(accent.to_ascii_lowercase()),
        false => Err("An accent colour is written #rrggbb, for example #0b7285".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants() {
        assert!(check_tenant("acme").is_ok());
        assert!(check_tenant("cus_123:eu-1.a").is_ok());
        assert!(check_tenant(&"a".repeat(64)).is_ok());
        for bad in ["", "a b", "a/b", "é", "<x>", &"a".repeat(65)] {
            assert!(check_tenant(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn scopes() {
        assert_eq!(scope_base("prj_1"), "/p/prj_1");
        assert_eq!(scope_base("pt_abc"), "/portal/pt_abc");
        assert!(!is_portal_token("prj_pt_"));
    }

    #[test]
    fn accents() {
        assert_eq!(check_accent(" #0B7285 ").unwrap(), "#0b7285");
        assert_eq!(check_accent("").unwrap(), "");
        for bad in ["0b7285", "#0b728", "#0b72855", "red", "#gggggg"] {
            assert!(check_accent(bad).is_err(), "{bad}");
        }
    }
}
