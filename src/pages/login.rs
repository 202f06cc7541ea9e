use crate::api::auth::Login;
use crate::components::form::{FormError, SubmitButton};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();

    view! {
        <main class="auth-page">
            <section class="card auth-card">
                <h1>"Sign in to Signpost"</h1>
                <ActionForm action=action>
                    <input type="hidden" name="next" value=next />
                    <label for="email">"Email"</label>
                    <input id="email" name="email" type="email" autocomplete="username" required />
                    <label for="password">"Password"</label>
                    <input
                        id="password"
                        name="password"
                        type="password"
                        autocomplete="current-password"
                        required
                    />
                    <FormError result=action.value() />
                    <SubmitButton pending=action.pending() label="Sign in" pending_label="Signing in…" />
                </ActionForm>
            </section>
        </main>
    }
}
