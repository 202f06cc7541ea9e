//! The team: users and roles, one-time sign-in links (invitations and
//! password resets), and the record of who changed what.
//!
//! A link's token is 32 random bytes; only its SHA-256 is stored. A link
//! works once, for [`SIGN_IN_LINK_HOURS`], and a newer link for the same
//! user voids the older one.

use super::auth::{self, password};
use super::db::activity::{self, Actor};
use super::db::users::{self, Guarded, UserRow};
use super::db::{self, sign_in_links, Db};
use super::errors::internal;
use super::secrets::{hash_token, random_hex};
use super::state::AppState;
use crate::model::{
    check_new_password, normalize_email, ActivityEntry, AppError, LinkInfo, LinkPurpose, Role,
    SignInLink, Team, TeamMember, UserInfo, SIGN_IN_LINK_HOURS,
};
use tower_sessions::Session;

const LAST_ADMIN: &str =
    "Signpost needs an admin who can sign in: make someone else an admin first";

/// Everyone on the team, for anyone signed in: members read it (to know
/// whom to ask), admins also change it.
pub async fn list(state: &AppState, me: &UserRow) -> Result<Team, AppError> {
    let rows = users::list(&state.db).await?;
    let can_manage = me.info().role == Role::Admin;
    // Who reaches which project is the admins' business (and one's own).
    let mut given: std::collections::HashMap<String, Vec<String>> = Default::default();
    for (user, project) in db::access::all(&state.db).await? {
        if can_manage || user == me.id {
            given.entry(user).or_default().push(project);
        }
    }
    let members = rows
        .into_iter()
        .map(|r| {
            let is_you = r.id == me.id;
            TeamMember {
                projects: given.remove(&r.id).unwrap_or_default(),
                is_you,
                role: r.role,
                id: r.id,
                email: r.email,
                created_at: r.created_at,
                // When others sign in is the admins' business.
                last_sign_in_at: r.last_sign_in_at.filter(|_| can_manage || is_you),
                invited: r.invited,
            }
        })
        .collect();
    Ok(Team {
        can_manage,
        members,
    })
}

/// Creates the account of a new teammate (without a password), with the
/// projects they reach (ignored for an admin), and the one-time link with
/// which they choose it.
pub async fn add(
    state: &AppState,
    me: &UserRow,
    base_url: &str,
    email: &str,
    role: Role,
    projects: &[String],
) -> Result<SignInLink, AppError> {
    let email = normalize_email(email).map_err(AppError::Invalid)?;
    let id = match users::create(&state.db, &email, users::NO_PASSWORD, role, false).await? {
        users::Created::Yes(id) => id,
        _ => {
            return Err(AppError::Conflict(format!(
                "{email} is already on the team"
            )))
        }
    };
    give(&state.db, &id, role, projects).await?;
    let link = issue_link(
        &state.db,
        &id,
        &email,
        LinkPurpose::Invite,
        Some(&me.id),
        base_url,
    )
    .await?;
    record(
        &state.db,
        &Actor::user(me),
        "user.added",
        &email,
        role.as_str(),
    )
    .await?;
    tracing::info!(user = %id, by = %me.id, "teammate added");
    Ok(link)
}

/// A fresh link for a user: an invitation again if they never chose a
/// password, else a password reset. Earlier links stop working.
pub async fn new_link(
    state: &AppState,
    me: &UserRow,
    base_url: &str,
    user_id: &str,
) -> Result<SignInLink, AppError> {
    let user = users::by_id(&state.db, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let purpose = purpose_for(&user);
    let link = issue_link(
        &state.db,
        &user.id,
        &user.email,
        purpose,
        Some(&me.id),
        base_url,
    )
    .await?;
    record(
        &state.db,
        &Actor::user(me),
        "user.link_issued",
        &user.email,
        purpose.as_str(),
    )
    .await?;
    Ok(link)
}

/// For operators who are locked out: a password-reset link for `email`,
/// issued from the command line.
pub async fn reset_link(db: &Db, email: &str, base_url: &str) -> Result<SignInLink, AppError> {
    let email = normalize_email(email).map_err(AppError::Invalid)?;
    let user = users::by_email(db, &email)
        .await?
        .ok_or_else(|| AppError::Invalid(format!("no user has the email {email}")))?;
    let purpose = purpose_for(&user);
    let link = issue_link(db, &user.id, &user.email, purpose, None, base_url).await?;
    record(
        db,
        &Actor::SYSTEM,
        "user.link_issued",
        &user.email,
        "command line",
    )
    .await?;
    Ok(link)
}

/// An invitation again for someone who never chose a password, else a reset.
fn purpose_for(user: &UserRow) -> LinkPurpose {
    if user.invited() {
        LinkPurpose::Invite
    } else {
        LinkPurpose::Reset
    }
}

/// Appends a team change (no project) to the activity record.
pub(super) async fn record(
    db: &Db,
    actor: &Actor<'_>,
    action: &str,
    subject: &str,
    detail: &str,
) -> Result<(), AppError> {
    Ok(activity::record(db, None, actor, action, subject, detail).await?)
}

async fn issue_link(
    db: &Db,
    user_id: &str,
    email: &str,
    purpose: LinkPurpose,
    created_by: Option<&str>,
    base_url: &str,
) -> Result<SignInLink, AppError> {
    let token = random_hex();
    let now = db::now_ms();
    let expires_at = now + SIGN_IN_LINK_HOURS * 3_600_000;
    sign_in_links::replace(
        db,
        &hash_token(&token),
        user_id,
        purpose,
        created_by,
        now,
        expires_at,
    )
    .await?;
    Ok(SignInLink {
        email: email.to_string(),
        url: format!("{}/join/{token}", base_url.trim_end_matches('/')),
        expires_at,
    })
}

/// Gives a member or viewer exactly `projects` (an admin reaches every
/// project, so nothing is kept for one).
pub async fn give(db: &Db, user_id: &str, role: Role, projects: &[String]) -> Result<(), AppError> {
    let projects: &[String] = match role.sees_every_project() {
        true => &[],
        false => projects,
    };
    if projects.len() > 10_000 {
        return Err(AppError::Invalid("Too many projects at once".into()));
    }
    let mut tx = db.begin().await?;
    db::access::set(&mut tx, user_id, projects).await?;
    tx.commit().await?;
    Ok(())
}

/// Sets the projects a member or viewer reaches.
pub async fn set_projects(
    state: &AppState,
    me: &UserRow,
    user_id: &str,
    projects: &[String],
) -> Result<(), AppError> {
    let user = users::by_id(&state.db, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let role = user.info().role;
    if role.sees_every_project() {
        return Err(AppError::Conflict(
            "An admin reaches every project: make them a member or viewer first".into(),
        ));
    }
    give(&state.db, user_id, role, projects).await?;
    let names: Vec<String> = db::projects::list(&state.db)
        .await?
        .into_iter()
        .filter(|p| projects.contains(&p.id))
        .map(|p| p.name)
        .collect();
    record(
        &state.db,
        &Actor::user(me),
        "user.projects_changed",
        &user.email,
        &names.join(", "),
    )
    .await?;
    Ok(())
}

pub async fn set_role(
    state: &AppState,
    me: &UserRow,
    user_id: &str,
    role: Role,
) -> Result<(), AppError> {
    let user = users::by_id(&state.db, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    match users::set_role(&state.db, user_id, role).await? {
        Guarded::Done => {}
        Guarded::NoSuchUser => return Err(AppError::NotFound),
        Guarded::LastAdmin => return Err(AppError::Conflict(LAST_ADMIN.into())),
    }
    if user.role != role {
        record(
            &state.db,
            &Actor::user(me),
            "user.role_changed",
            &user.email,
            &format!("{} → {}", user.role.as_str(), role.as_str()),
        )
        .await?;
    }
    Ok(())
}

/// Removes a user; every session of theirs ends at once, since a session
/// only counts while its user exists.
pub async fn remove(state: &AppState, me: &UserRow, user_id: &str) -> Result<(), AppError> {
    if user_id == me.id {
        return Err(AppError::Conflict(
            "You cannot remove yourself: ask another admin".into(),
        ));
    }
    let user = users::by_id(&state.db, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    match users::remove(&state.db, user_id).await? {
        Guarded::Done => {}
        Guarded::NoSuchUser => return Err(AppError::NotFound),
        Guarded::LastAdmin => return Err(AppError::Conflict(LAST_ADMIN.into())),
    }
    record(
        &state.db,
        &Actor::user(me),
        "user.removed",
        &user.email,
        user.role.as_str(),
    )
    .await?;
    tracing::info!(user = %user.id, by = %me.id, "user removed");
    Ok(())
}

pub async fn activity(state: &AppState) -> Result<Vec<ActivityEntry>, AppError> {
    Ok(activity::team(&state.db, 100).await?)
}

/// What a sign-in link is for, or why it no longer works.
pub async fn link_info(state: &AppState, token: &str) -> Result<LinkInfo, AppError> {
    let link = usable_link(&state.db, token).await?;
    Ok(LinkInfo {
        email: link.email,
        purpose: link.purpose,
    })
}

async fn usable_link(db: &Db, token: &str) -> Result<sign_in_links::LinkRow, AppError> {
    const ASK: &str = "Ask an admin of your team for a new one.";
    let link = sign_in_links::find(db, &hash_token(token))
        .await?
        .ok_or_else(|| {
            AppError::Gone(format!(
                "This sign-in link is not valid: it may have been replaced by a newer one. {ASK}"
            ))
        })?;
    if link.used_at.is_some() {
        return Err(AppError::Gone(format!(
            "This sign-in link has been used already. Sign in with your password, or {}",
            ASK.to_lowercase()
        )));
    }
    if link.expires_at <= db::now_ms() {
        return Err(AppError::Gone(format!(
            "This sign-in link has expired. {ASK}"
        )));
    }
    Ok(link)
}

/// Uses a sign-in link: sets the password, ends the user's other sessions
/// and signs this one in.
pub async fn redeem(
    state: &AppState,
    session: &Session,
    token: &str,
    new_password: String,
    confirm: &str,
) -> Result<UserInfo, AppError> {
    let link = usable_link(&state.db, token).await?;
    check_new_password(&new_password, Some(confirm)).map_err(AppError::Invalid)?;
    let hash = password::hash(new_password).await.map_err(internal)?;
    let Some(epoch) = sign_in_links::redeem(
        &state.db,
        &hash_token(token),
        &link.user_id,
        &hash,
        db::now_ms(),
    )
    .await?
    else {
        // Used by someone else, or expired, between the check and now.
        return Err(usable_link(&state.db, token)
            .await
            .err()
            .unwrap_or(AppError::Internal));
    };
    let user = users::by_id(&state.db, &link.user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let action = match link.purpose {
        LinkPurpose::Invite => "user.joined",
        LinkPurpose::Reset => "user.password_reset",
    };
    record(&state.db, &Actor::user(&user), action, &user.email, "").await?;
    // A password set through a link ends a lock-out of the account.
    db::login_failures::clear_email(&state.db, &user.email).await?;
    auth::keep_session(session, &user.id, epoch).await?;
    Ok(user.info())
}
