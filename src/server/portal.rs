//! Portal links: a tenant's Webhook tab for a person without an account.
//!
//! A link's token is its own credential: `pt_` and, in base64url, the
//! grant (project, tenant, expiry, read-only) sealed with the server's key
//! (ChaCha20-Poly1305, as the stored secrets). Altering one byte makes it
//! fail to open; nothing is stored per link, so every process accepts a
//! link any process made. It travels in the page's address, not in a
//! cookie: a cross-site `<iframe>` gets no cookies in browsers that block
//! third-party ones (docs/decisions.md, "Tenants and the portal").

use super::db::{self, now_ms};
use super::errors::internal;
use super::scope::Scope;
use super::state::AppState;
use crate::model::{
    check_accent, check_tenant, AppError, PortalInfo, PortalLook, ShownOnce,
    MAX_PORTAL_TTL_SECONDS, PORTAL_TOKEN_PREFIX,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64URL, Engine};
use serde::{Deserialize, Serialize};

/// What a link grants. Short field names: it rides in every address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    #[serde(rename = "p")]
    pub project_id: String,
    #[serde(rename = "t")]
    pub tenant: String,
    /// Unix milliseconds.
    #[serde(rename = "e")]
    pub expires_at: i64,
    #[serde(rename = "r", default)]
    pub read_only: bool,
    /// The start of the project secret's hash when the link was made:
    /// regenerating the secret revokes every link made before.
    #[serde(rename = "s")]
    pub secret: String,
}

/// Sealed ahead of the grant, so that nothing else the key seals (a
/// webhook's secret) can pass for a link.
const LABEL: &str = "signpost portal link v1\n";

impl Grant {
    pub fn scope(&self) -> Scope {
        Scope::tenant(&self.project_id, &self.tenant)
    }

    /// Who made a change, in the activity record.
    pub fn actor_label(&self) -> String {
        format!("portal: {}", self.tenant)
    }
}

/// A new link's token and expiry, for `ttl_seconds` (at most 7 days).
pub async fn mint(
    state: &AppState,
    project_id: &str,
    tenant: &str,
    ttl_seconds: u64,
    read_only: bool,
) -> Result<(String, i64), AppError> {
    let tenant = check_tenant(tenant).map_err(AppError::Invalid)?;
    if ttl_seconds == 0 || ttl_seconds > MAX_PORTAL_TTL_SECONDS {
        return Err(AppError::Invalid(format!(
            "ttlSeconds is 1 to {MAX_PORTAL_TTL_SECONDS} (7 days)"
        )));
    }
    let grant = Grant {
        project_id: project_id.to_string(),
        tenant,
        expires_at: now_ms() + ttl_seconds as i64 * 1000,
        read_only,
        secret: secret_mark(state, project_id).await?,
    };
    let json = serde_json::to_string(&grant).map_err(internal)?;
    let sealed = state.secrets.seal(&format!("{LABEL}{json}"));
    Ok((
        format!("{PORTAL_TOKEN_PREFIX}{}", B64URL.encode(sealed)),
        grant.expires_at,
    ))
}

/// The grant of a token: `403` when it is not one of ours (altered, or
/// made with another key), `410` when it has expired, `404` when its
/// project is gone.
pub async fn open(state: &AppState, token: &str) -> Result<Grant, AppError> {
    let invalid = || AppError::Forbidden("This link is not valid".into());
    let grant: Grant = token
        .strip_prefix(PORTAL_TOKEN_PREFIX)
        .and_then(|b| B64URL.decode(b).ok())
        .and_then(|sealed| state.secrets.open(&sealed).ok())
        .and_then(|text| {
            let json = text.strip_prefix(LABEL)?;
            serde_json::from_str(json).ok()
        })
        .ok_or_else(invalid)?;
    if grant.expires_at <= now_ms() {
        return Err(AppError::Gone(
            "This link has expired: ask for a new one where you found it".into(),
        ));
    }
    if secret_mark(state, &grant.project_id).await? != grant.secret {
        // Made before the project's secret was regenerated.
        return Err(AppError::Gone(
            "This link has been revoked: ask for a new one where you found it".into(),
        ));
    }
    Ok(grant)
}

/// The first 8 bytes of the project secret's hash, in hex (`404` when the
/// project is gone).
async fn secret_mark(state: &AppState, project_id: &str) -> Result<String, AppError> {
    let hash = db::projects::secret_hash(&state.db, project_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(hex::encode(&hash[..hash.len().min(8)]))
}

/// Holds a link's calls to `--api-rate-limit` a second per tenant (a page
/// view makes a few), as the API holds the platform's per project.
pub fn within_rate(
    state: &AppState,
    grant: &Grant,
    request: Option<OneRequest>,
) -> Result<(), AppError> {
    use governor::clock::{Clock, DefaultClock};
    if request.is_some_and(|r| r.counted()) {
        return Ok(());
    }
    let key = format!("{}/{}", grant.project_id, grant.tenant);
    state.portal_limiter.check_key(&key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        AppError::RateLimited {
            retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
        }
    })
}

/// What the portal's pages show of their link and its platform.
pub async fn info(state: &AppState, grant: &Grant) -> Result<PortalInfo, AppError> {
    let project = super::projects::get(state, &grant.project_id).await?;
    let look = look(state, &grant.project_id).await?;
    Ok(PortalInfo {
        name: match look.name.is_empty() {
            true => project.name,
            false => look.name,
        },
        accent: (!look.accent.is_empty()).then_some(look.accent),
        tenant: grant.tenant.clone(),
        read_only: grant.read_only,
        expires_at: grant.expires_at,
    })
}

pub async fn look(state: &AppState, project_id: &str) -> Result<PortalLook, AppError> {
    db::portal::look(&state.db, project_id)
        .await?
        .ok_or(AppError::NotFound)
}

/// Sets the portal's name (empty: the project's) and accent colour.
pub async fn set_look(
    state: &AppState,
    project_id: &str,
    name: &str,
    accent: &str,
) -> Result<PortalLook, AppError> {
    let name = name.trim();
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::Invalid(
            "The portal's name is one line of at most 100 characters".into(),
        ));
    }
    let look = PortalLook {
        name: name.to_string(),
        accent: check_accent(accent).map_err(AppError::Invalid)?,
    };
    match db::portal::set_look(&state.db, project_id, &look).await? {
        true => Ok(look),
        false => Err(AppError::NotFound),
    }
}

/// How long a new secret waits for the portal page that shows it.
const SHOWN_FOR_MS: i64 = 5 * 60 * 1000;

/// What [`keep_shown`] keeps: the result and whose it is.
#[derive(Serialize, Deserialize)]
struct Kept {
    project_id: String,
    tenant: String,
    what: ShownOnce,
}

/// Keeps `what` (a new signing secret) for the portal page the form goes
/// back to, which takes it by the returned id, once.
pub async fn keep_shown(
    state: &AppState,
    grant: &Grant,
    what: &ShownOnce,
) -> Result<String, AppError> {
    let kept = Kept {
        project_id: grant.project_id.clone(),
        tenant: grant.tenant.clone(),
        what: what.clone(),
    };
    let json = serde_json::to_string(&kept).map_err(internal)?;
    let id = super::secrets::random_hex();
    db::portal::keep_shown(
        &state.db,
        &id,
        &state.secrets.seal(&json),
        now_ms() + SHOWN_FOR_MS,
    )
    .await?;
    Ok(id)
}

/// Takes what [`keep_shown`] kept under `id`, if it is this link's tenant's.
/// Leptos may run a page's resource twice while drawing it and drop the
/// first run: the page request's `memo` gives the second what the first
/// took. The take runs in a task of its own, holding the memo's lock, so a
/// run dropped after the row was deleted still leaves it in the memo.
/// (Read `memo` before any `.await`: the context may be gone after one.)
pub async fn take_shown(
    state: &AppState,
    grant: &Grant,
    id: &str,
    memo: Option<TakenThisRequest>,
) -> Result<Option<ShownOnce>, AppError> {
    if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let (state, grant, id) = (state.clone(), grant.clone(), id.to_string());
    tokio::spawn(async move {
        let Some(memo) = memo else {
            return take_sealed(&state, &grant, &id).await;
        };
        let mut memo = memo.0.lock_owned().await;
        if let Some(taken) = memo.get(&id) {
            return Ok(taken.clone());
        }
        let taken = take_sealed(&state, &grant, &id).await?;
        memo.insert(id, taken.clone());
        Ok(taken)
    })
    .await
    .map_err(internal)?
}

/// One HTTP request (provided per request by the router): a portal page
/// draws with many server functions, each of which would count against the
/// link's rate limit; the request counts once.
#[derive(Clone, Default)]
pub struct OneRequest(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl OneRequest {
    /// Whether this request was counted already (and it is, from now on).
    pub fn counted(&self) -> bool {
        self.0.swap(true, std::sync::atomic::Ordering::Relaxed)
    }
}

/// What the portal's pages took in this request (provided per page
/// request by the router; `None` for a call from a script).
#[derive(Clone, Default)]
pub struct TakenThisRequest(
    std::sync::Arc<tokio::sync::Mutex<std::collections::HashMap<String, Option<ShownOnce>>>>,
);

async fn take_sealed(
    state: &AppState,
    grant: &Grant,
    id: &str,
) -> Result<Option<ShownOnce>, AppError> {
    let Some(sealed) = db::portal::take_shown(&state.db, id).await? else {
        return Ok(None);
    };
    let kept: Option<Kept> = state
        .secrets
        .open(&sealed)
        .ok()
        .and_then(|json| serde_json::from_str(&json).ok());
    Ok(kept
        .filter(|k| k.project_id == grant.project_id && k.tenant == grant.tenant)
        .map(|k| k.what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_is_short() {
        let g = Grant {
            project_id: "prj_aaaaaaaaaaaaaaaaaaaa".into(),
            tenant: "a".repeat(64),
            expires_at: 1_800_000_000_000,
            read_only: true,
            secret: "0123456789abcdef".into(),
        };
        let json = serde_json::to_string(&g).unwrap();
        assert!(json.len() < 170, "{json}");
        assert_eq!(serde_json::from_str::<Grant>(&json).unwrap(), g);
    }
}
