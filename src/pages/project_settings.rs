use crate::api::projects::{get_project, RegenerateProjectSecret, RenameProject};
use crate::components::form::{FormError, SubmitButton};
use crate::components::modal::Modal;
use crate::components::project_nav::{ProjectHeader, ProjectsChanged};
use crate::components::secret::{SavedButton, SecretField};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// `/p/{id}/settings`: name and API credentials.
#[component]
pub fn ProjectSettingsPage() -> impl IntoView {
    let params = use_params_map();
    let pid = Signal::derive(move || params.read().get("pid").unwrap_or_default());
    let rename = ServerAction::<RenameProject>::new();
    let regenerate = ServerAction::<RegenerateProjectSecret>::new();
    let project = Resource::new(move || pid.get(), get_project);
    let bump = ProjectsChanged::bumper();
    Effect::new(move |_| {
        if matches!(rename.value().get(), Some(Ok(_))) {
            bump();
        }
    });
    let confirming = RwSignal::new(false);
    let new_secret = move || regenerate.value().get().and_then(Result::ok);
    let renamed = move || matches!(rename.value().get(), Some(Ok(_)));

    view! {
        <section class="page">
            <ProjectHeader project_id=pid />
            <div class="card narrow">
                <h2>"Name"</h2>
                <ActionForm action=rename>
                    <input type="hidden" name="project_id" value=pid />
                    <label for="rename">"Project name"</label>
                    <Transition fallback=|| ()>
                        {move || project.get().and_then(Result::ok).map(|p| view! {
                            <input id="rename" name="name" type="text" maxlength="100" required value=p.name />
                        })}
                    </Transition>
                    <FormError result=rename.value() />
                    <Show when=renamed><p class="notice" role="status">"Saved."</p></Show>
                    <SubmitButton pending=rename.pending() label="Save name" pending_label="Saving…" />
                </ActionForm>
            </div>
            <div class="card narrow">
                <h2>"API credentials"</h2>
                <p>"Project ID: " <code>{pid}</code></p>
                <p class="hint">
                    "The project secret was shown once, when the project was created. "
                    "If it is lost or leaked, regenerate it: the old secret stops working at once."
                </p>
                <div class="actions">
                    <button type="button" class="danger" on:click=move |_| confirming.set(true)>
                        "Regenerate secret"
                    </button>
                </div>
            </div>
            <Show when=move || confirming.get() && new_secret().is_none()>
                <Modal title="Regenerate the project secret?">
                    <p>"Every client using the current secret is refused from now on, until it gets the new one."</p>
                    <ActionForm action=regenerate>
                        <input type="hidden" name="project_id" value=pid />
                        <FormError result=regenerate.value() />
                        <div class="actions">
                            <button type="button" on:click=move |_| confirming.set(false)>"Cancel"</button>
                            <SubmitButton pending=regenerate.pending() label="Regenerate secret" pending_label="Regenerating…" />
                        </div>
                    </ActionForm>
                </Modal>
            </Show>
            {move || new_secret().map(|c| view! {
                <Modal title="New project secret">
                    <SecretField label="Project secret" value=c.secret.clone() />
                    <SavedButton on_saved=move || {
                        regenerate.value().set(None);
                        confirming.set(false);
                    } />
                </Modal>
            })}
        </section>
    }
}
