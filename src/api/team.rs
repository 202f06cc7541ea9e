//! The Team page (a read-only list for members, changes for admins) and
//! one-time sign-in links.

#[cfg(feature = "ssr")]
use crate::model::ShownOnce;
use crate::model::{ActivityEntry, AppError, LinkInfo, SignInLink, Team};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
fn parse_role(role: &str) -> Result<crate::model::Role, AppError> {
    crate::model::Role::parse(role).ok_or_else(|| {
        AppError::Invalid(format!("A role is admin, member or viewer, not {role:?}"))
    })
}

#[server(endpoint = "team/list")]
pub async fn list_team() -> Result<Team, AppError> {
    use crate::server::{context, team};
    context::respond(async {
        let (cx, me) = context::user().await?;
        team::list(&cx.state, &me).await
    })
    .await
}

/// Creates a teammate's account, with the projects a member or viewer
/// reaches (`projects[0]=…&projects[1]=…`, as the form's checkboxes send
/// them); the answer holds their one-time link.
#[server(endpoint = "team/add")]
pub async fn add_teammate(
    email: String,
    role: String,
    #[server(default)] projects: Vec<String>,
) -> Result<SignInLink, AppError> {
    use crate::server::{context, team};
    context::respond(async {
        let (cx, me) = context::admin().await?;
        let role = parse_role(&role)?;
        let link = team::add(&cx.state, &me, &cx.base_url(), &email, role, &projects).await?;
        context::show_once(&cx, &me.id, &ShownOnce::SignInLink(link.clone())).await;
        Ok(link)
    })
    .await
}

#[server(endpoint = "team/set_role")]
pub async fn set_role(user_id: String, role: String) -> Result<(), AppError> {
    use crate::server::{context, team};
    context::respond(async {
        let (cx, me) = context::admin().await?;
        let role = parse_role(&role)?;
        team::set_role(&cx.state, &me, &user_id, role).await
    })
    .await
}

/// The projects a member or viewer reaches (all others answer as if they
/// did not exist for them).
#[server(endpoint = "team/set_projects")]
pub async fn set_projects(
    user_id: String,
    #[server(default)] projects: Vec<String>,
) -> Result<(), AppError> {
    use crate::server::{context, team};
    context::respond(async {
        let (cx, me) = context::admin().await?;
        team::set_projects(&cx.state, &me, &user_id, &projects).await?;
        context::form_done("projects");
        Ok(())
    })
    .await
}

#[server(endpoint = "team/remove")]
pub async fn remove_user(user_id: String) -> Result<(), AppError> {
    use crate::server::{context, team};
    context::respond(async {
        let (cx, me) = context::admin().await?;
        team::remove(&cx.state, &me, &user_id).await
    })
    .await
}

/// A new one-time link for a user (their earlier links stop working).
#[server(endpoint = "team/new_link")]
pub async fn new_sign_in_link(user_id: String) -> Result<SignInLink, AppError> {
    use crate::server::{context, team};
    context::respond(async {
        let (cx, me) = context::admin().await?;
        let link = team::new_link(&cx.state, &me, &cx.base_url(), &user_id).await?;
        context::show_once(&cx, &me.id, &ShownOnce::SignInLink(link.clone())).await;
        Ok(link)
    })
    .await
}

#[server(endpoint = "team/activity")]
pub async fn team_activity() -> Result<Vec<ActivityEntry>, AppError> {
    use crate::server::{context, team};
    context::respond(async {
        let (cx, _) = context::admin().await?;
        team::activity(&cx.state).await
    })
    .await
}

/// Whom a sign-in link is for; 410 when it is used, expired or replaced.
/// Needs no session: the link is the credential.
#[server(endpoint = "join/info")]
pub async fn sign_in_link_info(token: String) -> Result<LinkInfo, AppError> {
    use crate::server::{context, team};
    context::respond(async {
        let cx = context::current().await?;
        team::link_info(&cx.state, &token).await
    })
    .await
}

/// Uses a sign-in link: sets the password, signs in, goes to `/`.
#[server(endpoint = "join")]
pub async fn join(token: String, password: String, confirm: String) -> Result<(), AppError> {
    use crate::server::{context, team};
    context::respond(async {
        let cx = context::current().await?;
        team::redeem(&cx.state, &cx.session, &token, password, &confirm).await?;
        leptos_axum::redirect("/");
        Ok(())
    })
    .await
}
