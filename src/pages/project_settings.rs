use crate::api::projects::{get_project, RegenerateProjectSecret, RenameProject};
use crate::components::form::{DoneNotice, FormError, SubmitButton};
use crate::components::modal::{Dialog, DialogButtons};
use crate::components::project_nav::ProjectHeader;
use crate::components::shown_once::ShownOnceDialog;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// `/p/{id}/settings`: name and API credentials.
#[component]
pub fn ProjectSettingsPage() -> impl IntoView {
    let params = use_params_map();
    let pid = Signal::stored(params.read_untracked().get("pid").unwrap_or_default());
    let rename = ServerAction::<RenameProject>::new();
    let project = Resource::new(move || pid.get(), get_project);

    view! {
        <section class="page">
            <ProjectHeader project_id=pid />
            <div class="card narrow">
                <h2>"Name"</h2>
                // A plain form post: the page comes back with the new name.
                <ActionForm action=rename>
                    <input type="hidden" name="project_id" value=pid />
                    <label for="rename">"Project name"</label>
                    <Transition fallback=|| ()>
                        {move || project.get().and_then(Result::ok).map(|p| view! {
                            <input id="rename" name="name" type="text" maxlength="100" required value=p.name />
                        })}
                    </Transition>
                    <FormError result=rename.value() />
                    <DoneNotice what="renamed">"Saved."</DoneNotice>
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
                <RegenerateSecret pid=pid.get_untracked() />
            </div>
        </section>
    }
}

/// "Regenerate secret": asks first (a dialog sent with the page), then the
/// page comes back with the new secret, shown once.
#[component]
fn RegenerateSecret(pid: String) -> impl IntoView {
    let regenerate = ServerAction::<RegenerateProjectSecret>::new();
    view! {
        <FormError result=regenerate.value() />
        <div class="actions">
            <button type="button" class="danger" commandfor="regenerate" command="show-modal">
                "Regenerate secret"
            </button>
        </div>
        <Dialog id="regenerate" title="Regenerate the project secret?">
            <p>"Every client using the current secret is refused from now on, until it gets the new one."</p>
            <ActionForm action=regenerate>
                <input type="hidden" name="project_id" value=pid />
                <DialogButtons dialog="regenerate" submit="Regenerate secret" />
            </ActionForm>
        </Dialog>
        <ShownOnceDialog />
    }
}
