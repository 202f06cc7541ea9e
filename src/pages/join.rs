use crate::api::team::{sign_in_link_info, Join};
use crate::components::form::{FormError, SubmitButton};
use crate::model::{AppError, LinkPurpose, MIN_PASSWORD_LEN};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// `/join/{token}`: a one-time sign-in link (invitation or password reset).
/// Open to everyone: the link is the credential.
#[component]
pub fn JoinPage() -> impl IntoView {
    let params = use_params_map();
    let token = Signal::derive(move || params.read().get("token").unwrap_or_default());
    let info = Resource::new(move || token.get(), sign_in_link_info);
    let join = ServerAction::<Join>::new();

    view! {
        <main class="auth-page">
            <section class="card auth-card">
                <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                    {move || info.get().map(|r| match r {
                        Ok(info) => view! {
                            <h1>{match info.purpose {
                                LinkPurpose::Invite => "Welcome to Signpost",
                                LinkPurpose::Reset => "Choose a new password",
                            }}</h1>
                            <p>"For " <strong class="join-email">{info.email}</strong> "."</p>
                            <ActionForm action=join>
                                <input type="hidden" name="token" value=token />
                                <label for="password">"Password"</label>
                                <input id="password" name="password" type="password" autocomplete="new-password" required minlength=MIN_PASSWORD_LEN />
                                <label for="confirm">"Password, again"</label>
                                <input id="confirm" name="confirm" type="password" autocomplete="new-password" required minlength=MIN_PASSWORD_LEN />
                                <p class="hint">{format!("At least {MIN_PASSWORD_LEN} characters.")}</p>
                                <FormError result=join.value() />
                                <SubmitButton pending=join.pending() label="Set password and sign in" pending_label="Signing in…" />
                            </ActionForm>
                        }.into_any(),
                        Err(e) => {
                            let message = match e {
                                AppError::Gone(m) => m,
                                other => other.to_string(),
                            };
                            view! {
                                <h1>"This link cannot be used"</h1>
                                <p role="alert" class="link-problem">{message}</p>
                                <p><a href="/login">"Go to sign-in"</a></p>
                            }.into_any()
                        }
                    })}
                </Suspense>
            </section>
        </main>
    }
}
