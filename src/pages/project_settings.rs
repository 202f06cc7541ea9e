use crate::api::deliveries::{alert_target, SetAlertTarget};
use crate::api::portal::{get_portal_look, SetPortalLook};
use crate::api::projects::{get_project, RegenerateProjectSecret, RenameProject};
use crate::components::form::{DoneNotice, FormError, SubmitButton};
use crate::components::modal::{Dialog, DialogButtons};
use crate::components::project_nav::ProjectHeader;
use crate::components::shown_once::ShownOnceDialog;
use crate::model::AlertFormat;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// `/p/{id}/settings`: name and API credentials.
#[component]
pub fn ProjectSettingsPage() -> impl IntoView {
    let params = use_params_map();
    let pid = Signal::stored(params.read_untracked().get("pid").unwrap_or_default());
    let rename = ServerAction::<RenameProject>::new();
    let project = Resource::new(move || pid.get(), get_project);
    // A viewer reads the settings; the buttons that change them are left out.
    let can = crate::components::access::may_change();

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
                            <input id="rename" name="name" type="text" maxlength="100" required value=p.name readonly=!can />
                        })}
                    </Transition>
                    <FormError result=rename.value() />
                    <DoneNotice what="renamed">"Saved."</DoneNotice>
                    {can.then(|| view! { <SubmitButton pending=rename.pending() label="Save name" pending_label="Saving…" /> })}
                </ActionForm>
            </div>
            <div class="card narrow">
                <h2>"API credentials"</h2>
                <p>"Project ID: " <code>{pid}</code></p>
                <p class="hint">
                    "The project secret was shown once, when the project was created. "
                    "If it is lost or leaked, regenerate it: the old secret stops working at once."
                </p>
                {can.then(|| view! { <RegenerateSecret pid=pid.get_untracked() /> })}
            </div>
            <AlertsCard pid=pid.get_untracked() can />
            <PortalLookCard pid=pid.get_untracked() can />
        </section>
    }
}

/// How the customer portal looks: the platform's name and accent colour,
/// so that it reads as part of the platform's own app.
#[component]
fn PortalLookCard(pid: String, can: bool) -> impl IntoView {
    let save = ServerAction::<SetPortalLook>::new();
    let look = Resource::new(
        {
            let pid = pid.clone();
            move || pid.clone()
        },
        get_portal_look,
    );
    view! {
        <div class="card narrow" id="portal">
            <h2>"Customer portal"</h2>
            <p class="hint">
                "Your customers' own Webhook tab, opened through a link your backend asks for "
                "(" <code>"POST /projects/{id}/portal-links"</code> "). It shows their webhooks only."
            </p>
            <ActionForm action=save>
                <input type="hidden" name="project_id" value=pid />
                <Transition fallback=|| ()>
                    {move || look.get().and_then(Result::ok).map(|l| view! {
                        <label for="portal-name">"Name shown in the portal"</label>
                        <input id="portal-name" name="name" type="text" maxlength="100" value=l.name
                            placeholder="the project's name" readonly=!can />
                        <label for="portal-accent">"Accent colour"</label>
                        <input id="portal-accent" name="accent" type="text" maxlength="7" value=l.accent
                            placeholder="#1f4fd1" pattern="#[0-9a-fA-F]{6}" aria-describedby="portal-accent-hint" readonly=!can />
                        <p class="hint" id="portal-accent-hint">"Written #rrggbb; empty for Signpost's blue."</p>
                    })}
                </Transition>
                <FormError result=save.value() />
                <DoneNotice what="portal">"Saved."</DoneNotice>
                {can.then(|| view! { <SubmitButton pending=save.pending() label="Save portal look" pending_label="Saving…" /> })}
            </ActionForm>
        </div>
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

/// Where the project's alerts go: a URL Signpost delivers them to itself.
#[component]
fn AlertsCard(pid: String, can: bool) -> impl IntoView {
    let save = ServerAction::<SetAlertTarget>::new();
    let target = Resource::new(
        {
            let pid = pid.clone();
            move || pid.clone()
        },
        alert_target,
    );
    view! {
        <div class="card narrow" id="alerts">
            <h2>"Alerts"</h2>
            <p class="hint">
                "When a webhook is disabled automatically, fails every delivery or falls behind, "
                "and when it recovers: the project's pages say so, teammates get an email (if the "
                "server has SMTP), and Signpost can call a URL of yours, signed like any delivery."
            </p>
            <ActionForm action=save>
                <input type="hidden" name="project_id" value=pid />
                <Transition fallback=|| ()>
                    {move || target.get().and_then(Result::ok).map(|t| {
                        let slack = t.format == AlertFormat::Slack;
                        view! {
                            <label for="alert-url">"Alert URL"</label>
                            <input id="alert-url" name="webhook_url" type="text" inputmode="url"
                                placeholder="https://hooks.slack.com/services/…" readonly=!can
                                value=t.webhook_url.unwrap_or_default() />
                            <label for="alert-format">"Format"</label>
                            <select id="alert-format" name="format" disabled=!can>
                                <option value="signpost" selected=!slack>"Signpost events (JSON, signed)"</option>
                                <option value="slack" selected=slack>"Slack incoming webhook"</option>
                            </select>
                            <p class="hint">"Empty: no alert URL."</p>
                        }
                    })}
                </Transition>
                <FormError result=save.value() />
                <DoneNotice what="alerts">"Saved."</DoneNotice>
                {can.then(|| view! { <SubmitButton pending=save.pending() label="Save alerts" pending_label="Saving…" /> })}
            </ActionForm>
        </div>
    }
}
