use crate::api::projects::{list_projects, CreateProject};
use crate::components::form::{ErrorMessage, FormError, SubmitButton};
use crate::components::modal::Modal;
use crate::components::project_nav::ProjectsChanged;
use crate::components::secret::{SavedButton, SecretField};
use crate::components::time::LocalTime;
use leptos::prelude::*;

/// `/`: every project, and "New project".
#[component]
pub fn ProjectsPage() -> impl IntoView {
    let create = ServerAction::<CreateProject>::new();
    let projects = Resource::new(move || create.version().get(), |_| list_projects());
    let created = move || create.value().get().and_then(Result::ok);
    let bump = ProjectsChanged::bumper();
    Effect::new(move |_| {
        if create.version().get() > 0 {
            bump();
        }
    });

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
                                <p>"No projects yet. Create the first one below."</p>
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
            <div class="card narrow">
                <h2>"New project"</h2>
                <ActionForm action=create>
                    <label for="project-name">"Name"</label>
                    <input id="project-name" name="name" type="text" maxlength="100" required />
                    <FormError result=create.value() />
                    <SubmitButton pending=create.pending() label="Create project" pending_label="Creating…" />
                </ActionForm>
            </div>
            {move || created().map(|c| view! {
                <Modal title="Project created">
                    <p>"Your platform calls the API with these credentials (HTTP Basic: id as user, secret as password)."</p>
                    <SecretField label="Project ID" value=c.id.clone() />
                    <SecretField label="Project secret" value=c.secret.clone() />
                    <SavedButton on_saved=move || create.value().set(None) />
                </Modal>
            })}
        </section>
    }
}
