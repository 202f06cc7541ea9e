//! A user's own account: their password and their sessions.

use super::auth::{self, password};
use super::db::activity::Actor;
use super::db::users::{self, UserRow};
use super::errors::internal;
use super::state::AppState;
use crate::model::{check_new_password, AppError};
use tower_sessions::Session;

/// Changes the signed-in user's password; their other sessions end.
pub async fn change_password(
    state: &AppState,
    session: &Session,
    ip: &str,
    me: &UserRow,
    current: String,
    new_password: String,
    confirm: &str,
) -> Result<(), AppError> {
    // Wrong guesses count as failed sign-ins: a session left open is no
    // way to try passwords.
    let attempt = auth::reserve_attempt(state, &me.email, ip).await?;
    if !password::verify(current, Some(me.password_hash.clone())).await {
        state.metrics.sign_in_failures.inc();
        return Err(AppError::Invalid(
            "The current password is not right".into(),
        ));
    }
    attempt.succeeded(state).await?;
    check_new_password(&new_password, Some(confirm)).map_err(AppError::Invalid)?;
    let hash = password::hash(new_password).await.map_err(internal)?;
    let epoch = users::set_password(&state.db, &me.id, &hash).await?;
    keep_this_session(state, session, me, epoch, "user.password_changed").await
}

/// After the user's other sessions ended (their epoch moved on to `epoch`):
/// records why and keeps this session. `None`: the user is gone.
async fn keep_this_session(
    state: &AppState,
    session: &Session,
    me: &UserRow,
    epoch: Option<i64>,
    action: &str,
) -> Result<(), AppError> {
    let epoch = epoch.ok_or(AppError::Unauthenticated)?;
    super::team::record(&state.db, &Actor::user(me), action, &me.email, "").await?;
    auth::keep_session(session, &me.id, epoch).await
}

/// Ends every session of the signed-in user except this one.
pub async fn sign_out_elsewhere(
    state: &AppState,
    session: &Session,
    me: &UserRow,
) -> Result<(), AppError> {
    let epoch = users::bump_epoch(&state.db, &me.id).await?;
    keep_this_session(state, session, me, epoch, "user.signed_out_elsewhere").await
}
