//! What a server function needs to know about the request it serves.

use super::db::activity::Actor;
use super::db::users::UserRow;
use super::errors::internal;
use super::portal::{self, Grant};
use super::scope::Scope;
use super::state::AppState;
use crate::model::form_protocol::{DONE_HEADER, DONE_PARAM, FORM_HEADER, OUTCOME_PARAMS};
use crate::model::{AppError, ShownOnce};
use axum::extract::ConnectInfo;
use axum::http::{header, request::Parts, StatusCode};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;
use std::net::SocketAddr;
use tower_sessions::Session;

pub struct RequestContext {
    pub state: AppState,
    pub session: Session,
    /// The client's address, for throttling: the peer's, or what a trusted
    /// proxy says it was (an IPv6 client's /64).
    pub ip: String,
}

/// Gathers the state, session and peer address of the current request.
pub async fn current() -> Result<RequestContext, AppError> {
    let state = use_context::<AppState>().ok_or_else(|| internal("AppState missing"))?;
    let session = leptos_axum::extract::<Session>()
        .await
        .map_err(|e| internal(format!("session: {e}")))?;
    // Every line of the header, in order (a proxy may add a line of its
    // own rather than append to the client's).
    let forwarded_for = use_context::<Parts>().and_then(|p| {
        let lines: Vec<&str> = p
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!lines.is_empty()).then(|| lines.join(", "))
    });
    let ip = leptos_axum::extract::<ConnectInfo<SocketAddr>>()
        .await
        .map(|ConnectInfo(addr)| {
            let proxies = &state.config.trusted_proxies;
            super::auth::address::throttle_key(proxies.client(addr.ip(), forwarded_for.as_deref()))
        })
        .unwrap_or_else(|_| "unknown".into());
    Ok(RequestContext { state, session, ip })
}

/// Runs a server function's body and gives a failure its HTTP status. A
/// plain HTML form post (before hydration) keeps the redirect that carries
/// the error back to the page instead, so that the person sees the
/// message, not a bare status.
pub async fn respond<T>(
    body: impl std::future::Future<Output = Result<T, AppError>>,
) -> Result<T, AppError> {
    let result = body.await;
    if let Err(e) = &result {
        set_status(e);
    }
    result
}

/// Whether the request is a form's post: a plain one, or one `enhance` sent
/// (it says so in [`FORM_HEADER`]).
fn from_form(parts: &Parts) -> bool {
    plain_form(parts) || parts.headers.contains_key(FORM_HEADER)
}

/// Whether the request is a plain HTML form post (no script sent it): a
/// POST that takes HTML back (a page's own GET is none, so a page drawn
/// with an error gets the error's status).
fn plain_form(parts: &Parts) -> bool {
    parts.method == axum::http::Method::POST
        && parts
            .headers
            .get(header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))
}

/// The HTTP status of `e`, on the response of the server function being
/// served (when there is one, and it is not a plain form post).
pub fn set_status(e: &AppError) {
    if use_context::<Parts>().is_some_and(|p| plain_form(&p)) {
        return;
    }
    if let Some(options) = use_context::<ResponseOptions>() {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        options.set_status(status);
        if let AppError::RateLimited { retry_after_secs } = e {
            options.insert_header(header::RETRY_AFTER, (*retry_after_secs).into());
        }
    }
}

/// After a form's post succeeded: back to the page it came from (its path
/// and query, never another site), with `done=<what>` so that the page says
/// what happened. A form sent by the browser's script (`enhance`) is told
/// the same in the [`DONE_HEADER`] and goes there itself.
pub fn form_done(what: &str) {
    let Some(parts) = use_context::<Parts>() else {
        return;
    };
    if !plain_form(&parts) {
        if let (Some(options), Ok(value)) = (
            use_context::<ResponseOptions>(),
            header::HeaderValue::from_str(what),
        ) {
            options.insert_header(header::HeaderName::from_static(DONE_HEADER), value);
        }
        return;
    }
    let referer = parts
        .headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| url::Url::parse(r).ok());
    let Some(mut page) = referer else { return };
    let kept: Vec<(String, String)> = page
        .query_pairs()
        .filter(|(k, _)| !OUTCOME_PARAMS.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    page.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair(DONE_PARAM, what);
    // A local path only (`//host/…` would be another site's).
    let back = format!("{}?{}", page.path(), page.query().unwrap_or_default());
    leptos_axum::redirect(&crate::model::safe_next(Some(&back)));
}

const SHOWN_ONCE_KEY: &str = "shown_once";

/// What [`show_once`] keeps: the result, and whose it is.
#[derive(serde::Serialize, serde::Deserialize)]
struct Kept {
    user_id: String,
    what: ShownOnce,
}

/// Keeps `what` for the next page of this session that shows it (the page
/// the form goes back to), for `user_id` only. Sealed with the secrets' key,
/// so the session store never holds it readable. Only for a form's post: a
/// script calling the server function reads the answer itself. One slot: a
/// second result before a page shows the first wins.
pub async fn show_once(cx: &RequestContext, user_id: &str, what: &ShownOnce) {
    if !use_context::<Parts>().is_some_and(|p| from_form(&p)) {
        return;
    }
    let kept = Kept {
        user_id: user_id.to_string(),
        what: what.clone(),
    };
    let Ok(json) = serde_json::to_string(&kept) else {
        return;
    };
    let sealed = B64.encode(cx.state.secrets.seal(&json));
    if let Err(e) = cx.session.insert(SHOWN_ONCE_KEY, sealed).await {
        tracing::warn!("keeping a result to show once: {e}");
    }
}

/// Takes what [`show_once`] kept, if it is the signed-in user's (a result
/// nobody saw is dropped when someone else signs in on that browser). A page
/// view with nothing kept reads only the session.
pub async fn take_shown_once(cx: &RequestContext) -> Option<ShownOnce> {
    // Looked at first: a removal alone would mark the session changed, and
    // every page view would write it.
    let sealed: String = cx.session.get(SHOWN_ONCE_KEY).await.ok().flatten()?;
    // Who asks is read before the removal: a page run that Leptos drops
    // while it waits leaves the result to the page's next run.
    let me = super::auth::current_user(&cx.state, &cx.session).await;
    let _ = cx.session.remove::<String>(SHOWN_ONCE_KEY).await;
    let json = cx.state.secrets.open(&B64.decode(sealed).ok()?).ok()?;
    let kept: Kept = serde_json::from_str(&json).ok()?;
    let me = me.ok()??;
    (kept.user_id == me.id).then_some(kept.what)
}

/// Like [`current`], but refuses (401) when nobody is signed in.
pub async fn signed_in() -> Result<RequestContext, AppError> {
    Ok(user().await?.0)
}

/// The context and the signed-in user; 401 when nobody is signed in.
pub async fn user() -> Result<(RequestContext, UserRow), AppError> {
    let cx = current().await?;
    let user = super::auth::require_user(&cx.state, &cx.session).await?;
    Ok((cx, user))
}

/// The context and the signed-in admin; 401 or 403 for anyone else.
pub async fn admin() -> Result<(RequestContext, UserRow), AppError> {
    let cx = current().await?;
    let user = super::auth::require_admin(&cx.state, &cx.session).await?;
    Ok((cx, user))
}

impl RequestContext {
    /// Where people reach Signpost, for links shown to them: the configured
    /// public URL, else the host this request was sent to.
    pub fn base_url(&self) -> String {
        let host = use_context::<Parts>()
            .and_then(|p| p.headers.get(header::HOST)?.to_str().ok().map(String::from))
            .unwrap_or_else(|| "127.0.0.1:3000".into());
        self.state.config.base_url(&host)
    }
}

/// Who asks about a scope: a signed-in user, or a portal link's holder.
pub enum Caller {
    User(UserRow),
    Portal { grant: Grant, label: String },
}

/// A server function's request about a scope, and who made it.
pub struct InScope {
    pub cx: RequestContext,
    pub scope: Scope,
    pub caller: Caller,
}

impl InScope {
    /// Who a change is recorded as: the user, or "portal: {tenant}".
    pub fn actor(&self) -> Actor<'_> {
        match &self.caller {
            Caller::User(user) => Actor::user(user),
            Caller::Portal { label, .. } => Actor {
                id: None,
                email: Some(label),
            },
        }
    }

    /// The portal link, when a portal page asked.
    pub fn grant(&self) -> Option<&Grant> {
        match &self.caller {
            Caller::Portal { grant, .. } => Some(grant),
            Caller::User(_) => None,
        }
    }

    /// Keeps a new secret for the page the form goes back to: in the
    /// session for a user, in `portal_shown` (its id in `done`) for a portal.
    pub async fn show_once(&self, what: &ShownOnce) -> Result<(), AppError> {
        match &self.caller {
            Caller::User(user) => show_once(&self.cx, &user.id, what).await,
            Caller::Portal { grant, .. } => {
                if use_context::<Parts>().is_some_and(|p| from_form(&p)) {
                    let id = portal::keep_shown(&self.cx.state, grant, what).await?;
                    form_done(&format!("{}{id}", crate::model::PORTAL_SHOWN_PREFIX));
                }
            }
        }
        Ok(())
    }
}

/// The scope a page's server function names (`scope`: a project id on the
/// dashboard, a portal link's token in the portal), and its caller. A
/// project needs a signed-in user (401); a token needs to open (403, 410).
pub async fn in_scope(scope: &str) -> Result<InScope, AppError> {
    // Read before any `.await` (the request's context may be gone after).
    let request = use_context::<portal::OneRequest>();
    let cx = current().await?;
    if crate::model::is_portal_token(scope) {
        let grant = portal::open(&cx.state, scope).await?;
        portal::within_rate(&cx.state, &grant, request)?;
        return Ok(InScope {
            scope: grant.scope(),
            caller: Caller::Portal {
                label: grant.actor_label(),
                grant,
            },
            cx,
        });
    }
    let user = super::auth::require_user(&cx.state, &cx.session).await?;
    if !reaches(&cx.state, &user, scope).await? {
        // Another project's address answers as if it did not exist.
        return Err(AppError::NotFound);
    }
    Ok(InScope {
        cx,
        scope: Scope::project(scope),
        caller: Caller::User(user),
    })
}

/// A dashboard-only function about a project (its settings, its activity):
/// like [`in_scope`], but a portal link is no sign-in (401).
pub async fn in_project(project_id: &str) -> Result<InScope, AppError> {
    if crate::model::is_portal_token(project_id) {
        return Err(AppError::Unauthenticated);
    }
    in_scope(project_id).await
}

/// Like [`in_project`], for a change (a viewer gets 403).
pub async fn to_change_project(project_id: &str) -> Result<InScope, AppError> {
    if crate::model::is_portal_token(project_id) {
        return Err(AppError::Unauthenticated);
    }
    to_change(project_id).await
}

/// Whether `user` may reach the project: an admin every one, a member or
/// viewer those given to them.
pub async fn reaches(state: &AppState, user: &UserRow, project_id: &str) -> Result<bool, AppError> {
    if user.info().role.sees_every_project() {
        return Ok(true);
    }
    Ok(super::db::access::reaches(&state.db, &user.id, project_id).await?)
}

/// Like [`in_scope`], for a change: a viewer, or a read-only link, is
/// refused (403).
pub async fn to_change(scope: &str) -> Result<InScope, AppError> {
    let s = in_scope(scope).await?;
    match &s.caller {
        Caller::Portal { grant, .. } if grant.read_only => Err(AppError::Forbidden(
            "This link is read-only: it shows, it does not change".into(),
        )),
        Caller::User(user) if !user.info().role.may_change() => Err(read_only_role()),
        _ => Ok(s),
    }
}

fn read_only_role() -> AppError {
    AppError::Forbidden("You have read-only access (viewer): ask an admin to change this".into())
}

/// The signed-in user, if they may change things (a viewer gets 403).
pub async fn changer() -> Result<(RequestContext, UserRow), AppError> {
    let (cx, user) = self::user().await?;
    if !user.info().role.may_change() {
        return Err(read_only_role());
    }
    Ok((cx, user))
}
