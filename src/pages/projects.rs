use crate::api::projects::{list_projects, CreateProject};
use crate::components::form::{ErrorMessage, FormError, SubmitButton};
use crate::components::shown_once::ShownOnceDialog;
use crate::components::time::LocalTime;
use leptos::prelude::*;

/// `/`: every project, and "New project".
#[component]
pub fn ProjectsPage() -> impl IntoView {
    let projects = Resource::new(|| (), |_| list_projects());

    view! {
        <section class="page">
            <div class="toolbar">
                <h1>"Projects"</h1>
            </div>
            <p class="hint">
                "A project holds webhooks and the events your platform publishes to them. "
                "Its id and secret sign your platform's API calls in."
            </p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || {
                    projects.get().map(|r| match r {
                        Ok(list) if list.is_empty() => view! {
                            <div class="card empty">
                                <p>"No projects yet. Create the first one below, or ask an admin to give you one."</p>
                            </div>
                        }.into_any(),
                        Ok(list) => view! {
                            <table class="list stack">
                                <thead>
                                    <tr><th>"Name"</th><th>"Project id"</th><th>"Created"</th></tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|p| view! {
                                        <tr>
                                            <td data-label="Name"><a href=format!("/p/{}/webhooks", p.id)>{p.name}</a></td>
                                            <td class="mono" data-label="Project id">{p.id}</td>
                                            <td data-label="Created"><LocalTime ms=p.created_at /></td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                    })
                }}
            </Transition>
            {crate::components::access::may_change().then(|| view! { <NewProject /> })}
        </section>
    }
}

/// "New project": a plain form post; the page comes back with the project in
/// the list and its credentials in a dialog, shown once.
#[component]
fn NewProject() -> impl IntoView {
    let create = ServerAction::<CreateProject>::new();
    view! {
        <div class="card narrow">
            <h2>"New project"</h2>
            <ActionForm action=create>
                <label for="project-name">"Name"</label>
                <input id="project-name" name="name" type="text" maxlength="100" required />
                <FormError result=create.value() />
                <SubmitButton pending=create.pending() label="Create project" pending_label="Creating…" />
            </ActionForm>
        </div>
        <ShownOnceDialog />
    }
}
