use crate::api::account::{ChangePassword, SignOutElsewhere};
use crate::api::auth::current_user;
use crate::components::form::{FormError, SubmitButton};
use crate::model::{Role, MIN_PASSWORD_LEN};
use leptos::prelude::*;

/// `/account`: the signed-in user's own password and sessions.
#[component]
pub fn AccountPage() -> impl IntoView {
    let me = Resource::new(|| (), |_| current_user());
    let change = ServerAction::<ChangePassword>::new();
    let elsewhere = ServerAction::<SignOutElsewhere>::new();
    let changed = move || matches!(change.value().get(), Some(Ok(_)));
    let signed_out = move || matches!(elsewhere.value().get(), Some(Ok(_)));
    // A successful change clears the form.
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if changed() {
            if let Some(form) = form.get() {
                form.reset();
            }
        }
    });

    view! {
        <section class="page">
            <h1>"Account"</h1>
            <Transition fallback=|| ()>
                {move || me.get().and_then(Result::ok).flatten().map(|u| view! {
                    <p>
                        "Signed in as " <strong class="account-email">{u.email}</strong> ", "
                        {match u.role { Role::Admin => "admin", Role::Member => "member" }} "."
                    </p>
                })}
            </Transition>
            <div class="card narrow">
                <h2>"Change password"</h2>
                <ActionForm action=change node_ref=form>
                    <label for="current-password">"Current password"</label>
                    <input id="current-password" name="current" type="password" autocomplete="current-password" required />
                    <label for="new-password">"New password"</label>
                    <input id="new-password" name="password" type="password" autocomplete="new-password" required minlength=MIN_PASSWORD_LEN />
                    <label for="confirm-password">"New password, again"</label>
                    <input id="confirm-password" name="confirm" type="password" autocomplete="new-password" required minlength=MIN_PASSWORD_LEN />
                    <p class="hint">{format!("At least {MIN_PASSWORD_LEN} characters. Your other sessions are signed out; this one stays.")}</p>
                    <FormError result=change.value() />
                    <Show when=changed>
                        <p class="notice" role="status">"Password changed. Every other session of yours has been signed out."</p>
                    </Show>
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
                    <Show when=signed_out>
                        <p class="notice" role="status">"Every other session of yours has been signed out."</p>
                    </Show>
                    <SubmitButton pending=elsewhere.pending() label="Sign out everywhere else" pending_label="Signing out…" />
                </ActionForm>
            </div>
        </section>
    }
}
