use crate::api::auth::{setup_status, Setup};
use crate::components::form::{ErrorMessage, FormError, SubmitButton};
use crate::model::SetupState;
use crate::model::MIN_PASSWORD_LEN;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// First run: "Create the first admin", only while no user exists. Where
/// Signpost asks for its one-time setup token, the link in its log carries
/// it (`/setup?token=…`).
#[component]
pub fn SetupPage() -> impl IntoView {
    let needed = Resource::new(|| (), |_| setup_status());
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let action = ServerAction::<Setup>::new();

    view! {
        <main class="auth-page">
            <section class="card auth-card">
                <h1>"Create the first admin"</h1>
                <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                    {move || {
                        needed.get().map(|needed| match needed {
                            Ok(SetupState { needed: true, token_required: true }) if token().is_empty() => view! {
                                <p class="notice" role="status">
                                    "This Signpost is reachable from the network, so creating its first admin "
                                    "needs the one-time setup link that its log printed at start: "
                                    <code>"…/setup?token=…"</code> ". Open that link."
                                </p>
                            }
                            .into_any(),
                            Ok(SetupState { needed: true, .. }) => view! {
                                <p class="hint">
                                    "Welcome to Signpost. This account manages webhooks and teammates."
                                </p>
                                <ActionForm action=action>
                                    <input type="hidden" name="token" value=token />
                                    <label for="email">"Email"</label>
                                    <input id="email" name="email" type="email" autocomplete="username" required />
                                    <label for="password">"Password"</label>
                                    <input
                                        id="password"
                                        name="password"
                                        type="password"
                                        autocomplete="new-password"
                                        minlength=MIN_PASSWORD_LEN
                                        required
                                    />
                                    <label for="confirm">"Confirm password"</label>
                                    <input
                                        id="confirm"
                                        name="confirm"
                                        type="password"
                                        autocomplete="new-password"
                                        minlength=MIN_PASSWORD_LEN
                                        required
                                    />
                                    <p class="hint">{format!("At least {MIN_PASSWORD_LEN} characters.")}</p>
                                    <FormError result=action.value() />
                                    <SubmitButton
                                        pending=action.pending()
                                        label="Create admin account"
                                        pending_label="Creating…"
                                    />
                                </ActionForm>
                            }
                            .into_any(),
                            Ok(SetupState { needed: false, .. }) => view! {
                                <p class="notice" role="status">
                                    "Signpost is already set up. "
                                    <a href="/login">"Sign in"</a>
                                    " instead."
                                </p>
                            }
                            .into_any(),
                            Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                        })
                    }}
                </Suspense>
            </section>
        </main>
    }
}
