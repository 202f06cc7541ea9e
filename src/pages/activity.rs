use crate::api::deliveries::project_activity;
use crate::components::activity::ActivityList;
use crate::components::form::ErrorMessage;
use crate::components::project_nav::ProjectHeader;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// `/p/{id}/activity`: who changed the project's webhooks and credentials,
/// and when, including what Signpost did by itself (automatic disables).
#[component]
pub fn ActivityPage() -> impl IntoView {
    let params = use_params_map();
    let pid = Signal::derive(move || params.read().get("pid").unwrap_or_default());
    let entries = Resource::new(move || pid.get(), project_activity);
    view! {
        <section class="page">
            <ProjectHeader project_id=pid />
            <h2>"Activity"</h2>
            <p class="hint">"Every change to this project's webhooks and credentials, newest first. Nothing here can be edited or deleted."</p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || entries.get().map(|r| match r {
                    Ok(list) => view! { <ActivityList entries=list /> }.into_any(),
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}
