use crate::api::account::{get_alert_emails, ChangePassword, SetAlertEmails, SignOutElsewhere};
use crate::api::auth::current_user;
use crate::components::form::{DoneNotice, FormError, SubmitButton};
use crate::model::MIN_PASSWORD_LEN;
use leptos::prelude::*;

/// `/account`: the signed-in user's own password and sessions. Both forms
/// are plain posts: the page comes back saying what was done.
#[component]
pub fn AccountPage() -> impl IntoView {
    let me = Resource::new(|| (), |_| current_user());
    let change = ServerAction::<ChangePassword>::new();
    let elsewhere = ServerAction::<SignOutElsewhere>::new();

    view! {
        <section class="page">
            <h1>"Account"</h1>
            <Transition fallback=|| ()>
                {move || me.get().and_then(Result::ok).flatten().map(|u| view! {
                    <p>
                        "Signed in as " <strong class="account-email">{u.email}</strong> ", "
                        {u.role.as_str()} "."
                    </p>
                })}
            </Transition>
            <div class="card narrow">
                <h2>"Change password"</h2>
                <ActionForm action=change>
                    <label for="current-password">"Current password"</label>
                    <input id="current-password" name="current" type="password" autocomplete="current-password" required />
                    <label for="new-password">"New password"</label>
                    <input id="new-password" name="password" type="password" autocomplete="new-password" required minlength=MIN_PASSWORD_LEN />
                    <label for="confirm-password">"New password, again"</label>
                    <input id="confirm-password" name="confirm" type="password" autocomplete="new-password" required minlength=MIN_PASSWORD_LEN />
                    <p class="hint">{format!("At least {MIN_PASSWORD_LEN} characters. Your other sessions are signed out; this one stays.")}</p>
                    <FormError result=change.value() />
                    <DoneNotice what="password">"Password changed. Every other session of yours has been signed out."</DoneNotice>
                    <SubmitButton pending=change.pending() label="Change password" pending_label="Changing…" />
                </ActionForm>
            </div>
            <AlertEmails />
            <div class="card narrow">
                <h2>"Sessions"</h2>
                <p class="hint">
                    "Signed in on another computer, or not sure? End every session of yours except this one."
                </p>
                <ActionForm action=elsewhere>
                    <FormError result=elsewhere.value() />
                    <DoneNotice what="signed-out">"Every other session of yours has been signed out."</DoneNotice>
                    <SubmitButton pending=elsewhere.pending() label="Sign out everywhere else" pending_label="Signing out…" />
                </ActionForm>
            </div>
        </section>
    }
}

/// Alert emails: on (the default) or off, for this teammate.
#[component]
fn AlertEmails() -> impl IntoView {
    let set = ServerAction::<SetAlertEmails>::new();
    let on = Resource::new(|| (), |_| get_alert_emails());
    view! {
        <div class="card narrow" id="alert-emails">
            <h2>"Alert emails"</h2>
            <p class="hint">
                "When a webhook of a project you reach is disabled, fails every delivery or falls "
                "behind, and when it recovers, Signpost emails you (if its operator set up email)."
            </p>
            <Transition fallback=|| ()>
                {move || on.get().and_then(Result::ok).map(|on| view! {
                    <ActionForm action=set>
                        <input type="hidden" name="enabled" value=(!on).to_string() />
                        <p>{if on { "You get alert emails." } else { "You get no alert emails." }}</p>
                        <FormError result=set.value() />
                        <DoneNotice what="alerts">"Saved."</DoneNotice>
                        <button type="submit">{if on { "Turn alert emails off" } else { "Turn alert emails on" }}</button>
                    </ActionForm>
                })}
            </Transition>
        </div>
    }
}
