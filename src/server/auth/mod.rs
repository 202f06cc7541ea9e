//! Who is asking: passwords, sign-in with throttling, and the session.

pub mod address;
pub mod guard;
pub mod hosts;
pub mod password;
pub mod setup_token;
pub mod throttle;

use super::db::{self, login_failures, users, users::UserRow};
use super::errors::internal;
use super::state::AppState;
use crate::model::{check_new_password, normalize_email, AppError, Role, UserInfo};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

/// The session key that marks a signed-in user.
const SESSION_KEY: &str = "auth";
/// When (Unix seconds) a signed-in session's idle expiry was last pushed back.
const RENEWED_KEY: &str = "renewed";

#[derive(Debug, Serialize, Deserialize)]
struct SessionAuth {
    user_id: String,
    /// Must equal the user's `session_epoch`; bumping it ends every session.
    epoch: i64,
}

/// Logs an unexpected failure and answers with a generic error.
/// The signed-in user behind this session, if any (and if still valid).
pub async fn current_user(
    state: &AppState,
    session: &Session,
) -> Result<Option<UserRow>, AppError> {
    let Some(auth) = session
        .get::<SessionAuth>(SESSION_KEY)
        .await
        .map_err(internal)?
    else {
        return Ok(None);
    };
    let user = users::by_id(&state.db, &auth.user_id).await?;
    Ok(user.filter(|u| u.session_epoch == auth.epoch))
}

pub async fn require_user(state: &AppState, session: &Session) -> Result<UserRow, AppError> {
    current_user(state, session)
        .await?
        .ok_or(AppError::Unauthenticated)
}

/// Reserves the attempt under the throttle, then checks the password; on
/// success starts a fresh session.
pub async fn sign_in(
    state: &AppState,
    session: &Session,
    ip: &str,
    email: &str,
    password: String,
) -> Result<UserInfo, AppError> {
    let email = email.trim().to_lowercase();
    if email.len() > MAX_EMAIL_BYTES {
        // No account has one; nothing is stored for it.
        return Err(AppError::InvalidCredentials);
    }
    let attempt = reserve_attempt(state, &email, ip).await?;

    // An invited user without a password is checked like an unknown one,
    // so the answer takes as long and says as little.
    let user = users::by_email(&state.db, &email)
        .await?
        .filter(|u| !u.invited());
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    if !password::verify(password, stored).await {
        // The reservation stays: it is the failure's record.
        state.metrics.sign_in_failures.inc();
        return Err(AppError::InvalidCredentials);
    }
    let user = user.ok_or(AppError::InvalidCredentials)?;
    attempt.succeeded(state).await?;
    login_failures::clear_email(&state.db, &email).await?;
    users::touch_sign_in(&state.db, &user.id).await?;
    start_session(session, &user).await?;
    Ok(user.info())
}

/// The longest email address (RFC 5321's 254): a longer one is refused
/// before it is stored in `login_failures`.
const MAX_EMAIL_BYTES: usize = 254;

/// A password check reserved under the throttle (counted as a failure
/// unless it succeeds).
pub struct Attempt(i64);

impl Attempt {
    pub async fn succeeded(self, state: &AppState) -> Result<(), AppError> {
        login_failures::forget(&state.db, self.0)
            .await
            .map_err(internal)
    }
}

/// Reserves one password check for `email` from `ip`, atomically, or
/// refuses (429) while the account or the address has failed too often.
/// Reserving before checking means a burst of attempts in parallel gets
/// no more checks than the limit.
pub async fn reserve_attempt(state: &AppState, email: &str, ip: &str) -> Result<Attempt, AppError> {
    if email.len() > MAX_EMAIL_BYTES || ip.len() > 64 {
        return Err(AppError::InvalidCredentials);
    }
    let now = db::now_ms();
    let since = now - throttle::WINDOW_MS;
    let limits = login_failures::Limits {
        since,
        per_account_address: throttle::MAX_PER_EMAIL as i64,
        per_account: throttle::MAX_PER_EMAIL_ALL as i64,
        per_address: throttle::MAX_PER_IP as i64,
    };
    if let Some(id) = login_failures::reserve(&state.db, email, ip, now, &limits).await? {
        return Ok(Attempt(id));
    }
    // Refused: say how long until the first limit it hit lets go.
    let by_pair = login_failures::for_email_ip_since(&state.db, email, ip, since).await?;
    let by_email = login_failures::for_email_since(&state.db, email, since).await?;
    let by_ip = login_failures::for_ip_since(&state.db, ip, since).await?;
    let minutes = [
        throttle::wait_minutes(&by_pair, throttle::MAX_PER_EMAIL, now),
        throttle::wait_minutes(&by_email, throttle::MAX_PER_EMAIL_ALL, now),
        throttle::wait_minutes(&by_ip, throttle::MAX_PER_IP, now),
    ]
    .into_iter()
    .flatten()
    .max()
    // Refused, yet under every limit now: a failure just left the window.
    .unwrap_or(1);
    state.metrics.sign_in_throttled.inc();
    Err(AppError::TooManyAttempts { minutes })
}

/// First run: creates the first admin and signs them in. Refused (403) once
/// any user exists.
pub async fn create_first_admin(
    state: &AppState,
    session: &Session,
    email: &str,
    password: String,
    confirm: &str,
    token: Option<&str>,
) -> Result<UserInfo, AppError> {
    const ALREADY: &str = "Signpost is already set up: sign in instead";
    if state.has_users().await? {
        return Err(AppError::Forbidden(ALREADY.into()));
    }
    setup_token::check(state, token)?;
    let email = normalize_email(email).map_err(AppError::Invalid)?;
    check_new_password(&password, Some(confirm)).map_err(AppError::Invalid)?;
    let hash = password::hash(password).await.map_err(internal)?;
    match users::create(&state.db, &email, &hash, Role::Admin, true).await? {
        users::Created::Yes(_) => {}
        users::Created::NotFirst | users::Created::EmailTaken => {
            return Err(AppError::Forbidden(ALREADY.into()))
        }
    }
    let user = users::by_email(&state.db, &email)
        .await?
        .ok_or(AppError::Internal)?;
    users::touch_sign_in(&state.db, &user.id).await?;
    tracing::info!(user = %user.id, "first admin created");
    start_session(session, &user).await?;
    Ok(user.info())
}

/// Ends the session on the server (the row is deleted, the cookie cleared).
pub async fn sign_out(session: &Session) -> Result<(), AppError> {
    session.flush().await.map_err(internal)
}

async fn start_session(session: &Session, user: &UserRow) -> Result<(), AppError> {
    keep_session(session, &user.id, user.session_epoch).await
}

/// Makes this session the user's at `epoch` (after sign-in, or after the
/// user's epoch moved on to end their other sessions), under a new id so
/// that an id planted or seen before is worthless.
pub async fn keep_session(session: &Session, user_id: &str, epoch: i64) -> Result<(), AppError> {
    session.cycle_id().await.map_err(internal)?;
    session
        .insert(RENEWED_KEY, db::now_ms() / 1000)
        .await
        .map_err(internal)?;
    session
        .insert(
            SESSION_KEY,
            SessionAuth {
                user_id: user_id.to_string(),
                epoch,
            },
        )
        .await
        .map_err(internal)
}

/// How often a signed-in session's idle expiry is pushed back (which
/// writes the session): every 5 minutes of use, or a quarter of the idle
/// time if that is shorter. A session is therefore signed out after
/// between three quarters of the idle time and all of it without a request.
pub fn renewal_interval_secs(idle_minutes: u32) -> i64 {
    (i64::from(idle_minutes) * 60 / 4).clamp(1, 300)
}

/// Pushes a signed-in session's idle expiry back if it was last pushed
/// back longer ago than [`renewal_interval_secs`]; anonymous sessions stay
/// empty (and unsaved).
pub async fn renew_if_due(session: &Session, idle_minutes: u32) {
    let signed_in = matches!(session.get::<SessionAuth>(SESSION_KEY).await, Ok(Some(_)));
    if !signed_in {
        return;
    }
    let now = db::now_ms() / 1000;
    let last = session
        .get::<i64>(RENEWED_KEY)
        .await
        .ok()
        .flatten()
        .unwrap_or(0);
    if now - last >= renewal_interval_secs(idle_minutes) {
        // Changing the session makes the layer save it with a new expiry.
        if let Err(e) = session.insert(RENEWED_KEY, now).await {
            tracing::warn!("renewing a session: {e}");
        }
    }
}

/// Refuses (403) anyone but an admin.
pub async fn require_admin(state: &AppState, session: &Session) -> Result<UserRow, AppError> {
    let user = require_user(state, session).await?;
    match user.info().role {
        Role::Admin => Ok(user),
        Role::Member | Role::Viewer => Err(AppError::Forbidden(
            "Only admins can manage the team".into(),
        )),
    }
}
