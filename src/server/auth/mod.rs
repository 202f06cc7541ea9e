//! Who is asking: passwords, sign-in with throttling, and the session.

pub mod guard;
pub mod password;
pub mod throttle;

use super::db::{self, login_failures, users, users::UserRow};
use super::state::AppState;
use crate::model::{check_new_password, normalize_email, AppError, Role, UserInfo};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

/// The session key that marks a signed-in user.
const SESSION_KEY: &str = "auth";

#[derive(Debug, Serialize, Deserialize)]
struct SessionAuth {
    user_id: String,
    /// Must equal the user's `session_epoch`; bumping it ends every session.
    epoch: i64,
}

/// Logs an unexpected failure and answers with a generic error.
pub fn internal(e: impl std::fmt::Display) -> AppError {
    tracing::error!("{e}");
    AppError::Internal
}

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
    let user = users::by_id(&state.db, &auth.user_id)
        .await
        .map_err(internal)?;
    Ok(user.filter(|u| u.session_epoch == auth.epoch))
}

pub async fn require_user(state: &AppState, session: &Session) -> Result<UserRow, AppError> {
    current_user(state, session)
        .await?
        .ok_or(AppError::Unauthenticated)
}

/// Checks the throttle, then the password; on success starts a fresh session.
pub async fn sign_in(
    state: &AppState,
    session: &Session,
    ip: &str,
    email: &str,
    password: String,
) -> Result<UserInfo, AppError> {
    let email = email.trim().to_lowercase();
    let now = db::now_ms();
    let since = now - throttle::WINDOW_MS;
    let by_email = login_failures::for_email_since(&state.db, &email, since)
        .await
        .map_err(internal)?;
    let by_ip = login_failures::for_ip_since(&state.db, ip, since)
        .await
        .map_err(internal)?;
    let wait = throttle::wait_minutes(&by_email, throttle::MAX_PER_EMAIL, now)
        .max(throttle::wait_minutes(&by_ip, throttle::MAX_PER_IP, now));
    if let Some(minutes) = wait {
        return Err(AppError::TooManyAttempts { minutes });
    }

    let user = users::by_email(&state.db, &email).await.map_err(internal)?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    if !password::verify(password, stored).await {
        login_failures::record(&state.db, &email, ip, now)
            .await
            .map_err(internal)?;
        return Err(AppError::InvalidCredentials);
    }
    let user = user.ok_or(AppError::InvalidCredentials)?;
    login_failures::clear_email(&state.db, &email)
        .await
        .map_err(internal)?;
    users::touch_sign_in(&state.db, &user.id)
        .await
        .map_err(internal)?;
    start_session(session, &user).await?;
    Ok(user.info())
}

/// First run: creates the first admin and signs them in. Refused (403) once
/// any user exists.
pub async fn create_first_admin(
    state: &AppState,
    session: &Session,
    email: &str,
    password: String,
    confirm: &str,
) -> Result<UserInfo, AppError> {
    const ALREADY: &str = "Signpost is already set up: sign in instead";
    if state.has_users().await.map_err(internal)? {
        return Err(AppError::Forbidden(ALREADY.into()));
    }
    let email = normalize_email(email).map_err(AppError::Invalid)?;
    check_new_password(&password, Some(confirm)).map_err(AppError::Invalid)?;
    let hash = password::hash(password).await.map_err(internal)?;
    match users::create(&state.db, &email, &hash, Role::Admin, true)
        .await
        .map_err(internal)?
    {
        users::Created::Yes(_) => {}
        users::Created::NotFirst | users::Created::EmailTaken => {
            return Err(AppError::Forbidden(ALREADY.into()))
        }
    }
    let user = users::by_email(&state.db, &email)
        .await
        .map_err(internal)?
        .ok_or(AppError::Internal)?;
    tracing::info!(user = %user.id, "first admin created");
    start_session(session, &user).await?;
    Ok(user.info())
}

/// Ends the session on the server (the row is deleted, the cookie cleared).
pub async fn sign_out(session: &Session) -> Result<(), AppError> {
    session.flush().await.map_err(internal)
}

async fn start_session(session: &Session, user: &UserRow) -> Result<(), AppError> {
    // A new id at sign-in, so a session id planted before it is worthless.
    session.cycle_id().await.map_err(internal)?;
    session
        .insert(
            SESSION_KEY,
            SessionAuth {
                user_id: user.id.clone(),
                epoch: user.session_epoch,
            },
        )
        .await
        .map_err(internal)
}
