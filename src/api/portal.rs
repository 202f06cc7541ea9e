//! The portal's own server functions: its link's facts, the secrets it
//! shows once, and how a project's portal looks. (Its webhooks and log go
//! through the same functions as the dashboard's, with the link's token as
//! their scope: `server::context::in_scope`.)

use crate::model::{AppError, PortalInfo, PortalLook, ShownOnce};
use leptos::prelude::*;

/// What a portal page shows of its link: the platform's name and colour,
/// the tenant, whether it is read-only. `403` for an altered link, `410`
/// for an expired one.
#[server(endpoint = "portal/info")]
pub async fn get_portal_info(token: String) -> Result<PortalInfo, AppError> {
    use crate::server::{context, portal};
    let request = use_context::<portal::OneRequest>();
    context::respond(async {
        let cx = context::current().await?;
        let grant = portal::open(&cx.state, &token).await?;
        portal::within_rate(&cx.state, &grant, request)?;
        portal::info(&cx.state, &grant).await
    })
    .await
}

/// Takes a new secret kept for this portal page (`done=shown-{id}`), once.
#[server(endpoint = "portal/shown")]
pub async fn take_portal_shown(token: String, id: String) -> Result<Option<ShownOnce>, AppError> {
    use crate::server::{context, portal};
    let memo = use_context::<portal::TakenThisRequest>();
    let request = use_context::<portal::OneRequest>();
    context::respond(async {
        let cx = context::current().await?;
        let grant = portal::open(&cx.state, &token).await?;
        portal::within_rate(&cx.state, &grant, request)?;
        portal::take_shown(&cx.state, &grant, &id, memo).await
    })
    .await
}

#[server(endpoint = "portal/look")]
pub async fn get_portal_look(project_id: String) -> Result<PortalLook, AppError> {
    use crate::server::{context, portal};
    context::respond(async {
        let s = context::in_project(&project_id).await?;
        portal::look(&s.cx.state, &s.scope.project_id).await
    })
    .await
}

/// The portal's name (empty: the project's) and accent colour (`#rrggbb`).
#[server(endpoint = "portal/set_look")]
pub async fn set_portal_look(
    project_id: String,
    name: String,
    accent: String,
) -> Result<PortalLook, AppError> {
    use crate::server::{context, db::activity, portal};
    context::respond(async {
        let s = context::to_change_project(&project_id).await?;
        let pid = s.scope.project_id.as_str();
        let look = portal::set_look(&s.cx.state, pid, &name, &accent).await?;
        activity::record(
            &s.cx.state.db,
            Some(pid),
            &s.actor(),
            "portal.look_changed",
            &look.name,
            &look.accent,
        )
        .await?;
        context::form_done("portal");
        Ok(look)
    })
    .await
}
