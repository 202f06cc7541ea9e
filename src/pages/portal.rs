//! `/portal/{token}/…`: a tenant's Webhook tab, for a person with no
//! Signpost account, reached by a link the platform made (and shown in an
//! `<iframe>` of the platform's app, or on its own). The webhook, log and
//! delivery pages are the dashboard's own, drawn with the token where the
//! project id would be: every server function they call limits itself to
//! the link's tenant (`server::context::in_scope`). This module draws the
//! frame around them, in the platform's name and colour.

use crate::api::portal::get_portal_info;
use crate::components::form::ErrorMessage;
use crate::components::time::LocalTime;
use crate::model::{scope_base, AppError, PortalInfo};
use leptos::context::Provider;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Outlet, A};
use leptos_router::hooks::use_params_map;

/// The portal's frame: the platform's name, the two tabs, the page. An
/// expired or altered link gets a page that says so, and nothing else.
#[component]
pub fn PortalShell() -> impl IntoView {
    let params = use_params_map();
    let token = params.read_untracked().get("pid").unwrap_or_default();
    let info = Resource::new(
        {
            let token = token.clone();
            move || token.clone()
        },
        get_portal_info,
    );
    // One future, not a closure that runs again: the pages inside take
    // what is shown once, and must be drawn once.
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {Suspend::new(async move {
                match info.await {
                    Ok(info) => view! {
                        <Provider value=info.clone()>
                            <PortalFrame info token=token.clone() />
                        </Provider>
                    }
                    .into_any(),
                    Err(e) => view! { <LinkRefused error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn PortalFrame(info: PortalInfo, token: String) -> impl IntoView {
    let base = scope_base(&token);
    // The platform's colour for links, buttons and the current tab.
    let style = info
        .accent
        .as_ref()
        .map(|a| format!("--accent: {a}; --accent-dark: color-mix(in srgb, {a} 80%, black);"));
    view! {
        <Title text=format!("Webhooks · {}", info.name) />
        <div class="portal" style=style>
            <header class="portal-bar">
                <div class="portal-brand">
                    <strong>{info.name.clone()}</strong>
                    <span class="hint">"Webhooks"</span>
                </div>
                <nav class="nav" aria-label="Portal">
                    <A href=format!("{base}/webhooks")>"Webhooks"</A>
                    <A href=format!("{base}/deliveries")>"Delivery log"</A>
                    <A href=format!("{base}/events")>"Events"</A>
                </nav>
            </header>
            <main class="content">
                {info.read_only.then(|| view! {
                    <p class="notice read-only" role="status">"Read-only: this link shows your webhooks and deliveries, and changes nothing."</p>
                })}
                <Outlet />
            </main>
            <footer class="portal-foot hint">
                "Account " <code>{info.tenant.clone()}</code> " · this link works until "
                <LocalTime ms=info.expires_at />
            </footer>
        </div>
    }
}

/// An expired or altered link: says which, and shows nothing else.
#[component]
fn LinkRefused(error: AppError) -> impl IntoView {
    // The server's sentence names it ("This link has expired: …", "… has
    // been revoked: …"); its first part is the heading.
    let (title, text) = match &error {
        AppError::Gone(why) => (
            why.split(':').next().unwrap_or(why).to_string(),
            "Links to this page work for a limited time. Open it again from the app that \
             gave it to you to get a fresh one.",
        ),
        AppError::Forbidden(_) => (
            "This link is not valid".to_string(),
            "The address is not complete or was changed. Open it again from the app that \
             gave it to you.",
        ),
        _ => ("This page cannot be shown".to_string(), ""),
    };
    view! {
        <Title text=title.clone() />
        <main class="content narrow link-refused">
            <div class="card">
                <h1>{title}</h1>
                <p>{text}</p>
                {(!matches!(error, AppError::Gone(_) | AppError::Forbidden(_)))
                    .then(|| view! { <ErrorMessage error=error.clone() /> })}
            </div>
        </main>
    }
}
