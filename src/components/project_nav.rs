use crate::api::deliveries::open_alerts;
use crate::api::projects::{get_project, list_projects};
use crate::components::form::ErrorMessage;
use crate::components::time::LocalTime;
use crate::model::scope_base;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

/// The project id in the current path (`/p/{id}/…`), if any.
pub fn current_project_id() -> Memo<Option<String>> {
    let location = use_location();
    Memo::new(move |_| {
        let path = location.pathname.get();
        let rest = path.strip_prefix("/p/")?;
        Some(rest.split('/').next().unwrap_or_default().to_string()).filter(|p| !p.is_empty())
    })
}

/// The project switcher in the top bar: a plain `<details>` menu, so it
/// works before hydration too.
#[component]
pub fn ProjectSwitcher() -> impl IntoView {
    let current = current_project_id();
    let projects = Resource::new(|| (), |_| list_projects());
    view! {
        <Transition fallback=|| ()>
            {move || {
                let list = projects.get().and_then(Result::ok).unwrap_or_default();
                let current_id = current.get();
                let label = current_id
                    .as_ref()
                    .and_then(|id| list.iter().find(|p| &p.id == id))
                    .map(|p| p.name.clone())
                    .unwrap_or_else(|| "Choose a project".into());
                view! {
                    <details class="switcher">
                        <summary aria-label="Switch project">{label}</summary>
                        <ul role="menu">
                            {list
                                .into_iter()
                                .map(|p| {
                                    let href = format!("/p/{}/webhooks", p.id);
                                    let is_current = current_id.as_deref() == Some(p.id.as_str());
                                    view! {
                                        <li role="none">
                                            <a role="menuitem" href=href aria-current=is_current.then_some("true")>
                                                {p.name}
                                            </a>
                                        </li>
                                    }
                                })
                                .collect_view()}
                            <li role="none" class="sep">
                                <a role="menuitem" href="/">"All projects"</a>
                            </li>
                        </ul>
                    </details>
                }
            }}
        </Transition>
    }
}

/// The heading of a project's pages, with its tabs. Nothing in the portal,
/// whose own header ([`crate::pages::portal::PortalShell`]) stands there.
#[component]
pub fn ProjectHeader(#[prop(into)] project_id: Signal<String>) -> impl IntoView {
    if crate::model::is_portal_token(&project_id.get_untracked()) {
        return ().into_any();
    }
    let project = Resource::new(move || project_id.get(), get_project);
    let alerts = Resource::new(move || project_id.get(), open_alerts);
    view! {
        <div class="project-header">
            <Transition fallback=|| view! { <h1>"Project"</h1> }>
                {move || {
                    project.get().map(|p| match p {
                        Ok(p) => view! {
                            <h1>{p.name}</h1>
                            <p class="hint mono">{p.id}</p>
                        }.into_any(),
                        Err(e) => view! { <h1>"Project"</h1> <ErrorMessage error=e /> }.into_any(),
                    })
                }}
            </Transition>
            <nav class="tabs" aria-label="Project">
                <A href=move || format!("/p/{}/webhooks", project_id.get())>"Webhooks"</A>
                <A href=move || format!("/p/{}/deliveries", project_id.get())>"Delivery log"</A>
                <A href=move || format!("/p/{}/events", project_id.get())>"Events"</A>
                <A href=move || format!("/p/{}/catalog", project_id.get())>"Catalog"</A>
                <A href=move || format!("/p/{}/activity", project_id.get())>"Activity"</A>
                <A href=move || format!("/p/{}/settings", project_id.get())>"Settings"</A>
            </nav>
            // While an alert is open, every page of the project says so.
            <Transition fallback=|| ()>
                {move || alerts.get().and_then(Result::ok).filter(|a| !a.is_empty()).map(|list| view! {
                    <div class="notice alert-notice" role="alert">
                        <strong>"Needs attention: "</strong>
                        <ul>
                            {list.into_iter().map(|a| {
                                let href = format!("{}/webhooks/{}", scope_base(&project_id.get_untracked()), a.webhook_id);
                                view! {
                                    <li>
                                        <a href=href><code class="url">{a.webhook_url}</code></a>
                                        " " {a.kind.what()} " since " <LocalTime ms=a.since />
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </div>
                })}
            </Transition>
        </div>
    }
    .into_any()
}
