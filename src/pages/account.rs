use crate::api::account::{ChangePassword, SignOutElsewhere};
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
