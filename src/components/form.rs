use crate::model::form_protocol::DONE_PARAM;
use crate::model::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The error of the last submission of a form, if it failed.
#[component]
pub fn FormError<T>(#[prop(into)] result: Signal<Option<Result<T, AppError>>>) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
{
    move || {
        result
            .get()
            .and_then(Result::err)
            .map(|error| view! { <ErrorMessage error /> })
    }
}

/// An error as a person reads it. When the session has ended (signed out
/// elsewhere, password changed, user removed) an island's answer sends the
/// page to sign-in, with the way back (`enhance` does the same for forms;
/// a page the server draws goes there itself).
#[component]
pub fn ErrorMessage(error: AppError) -> impl IntoView {
    if error == AppError::Unauthenticated {
        Effect::new(move |_| to_sign_in());
    }
    view! {
        <p class="form-error" role="alert">
            {error.to_string()}
        </p>
    }
}

/// Leaves the page for `/login?next=<this page>`.
pub fn to_sign_in() {
    let location = window().location();
    let here = format!(
        "{}{}",
        location.pathname().unwrap_or_default(),
        location.search().unwrap_or_default()
    );
    // Encoded as the server's sign-in redirect does: slashes stay.
    let next = String::from(js_sys::encode_uri_component(&here)).replace("%2F", "/");
    let _ = location.assign(&format!("/login?next={next}"));
}

/// A submit button that says what it is doing while an island's action runs
/// (on a page the server draws, `enhance` disables it while the form is sent).
#[component]
pub fn SubmitButton(
    #[prop(into)] pending: Signal<bool>,
    label: &'static str,
    pending_label: &'static str,
) -> impl IntoView {
    view! {
        <button type="submit" class="primary" disabled=move || pending.get() aria-busy=move || pending.get().to_string()>
            {move || if pending.get() { pending_label } else { label }}
        </button>
    }
}

/// What a plain form post just did, said once the server sent the person
/// back with `done=<what>` (see `server::context::form_done`). Server-drawn
/// pages only: it reads the URL through the router.
#[component]
pub fn DoneNotice(what: &'static str, children: Children) -> impl IntoView {
    let query = use_query_map();
    // Not beside a refusal that came back later (a plain post keeps the old
    // `done` in the address; the router reads the refusal from it).
    let refused = use_context::<leptos::server::ServerActionError>().is_some();
    let done = !refused
        && query
            .read_untracked()
            .get(DONE_PARAM)
            .is_some_and(|d| d == what);
    done.then(|| view! { <p class="notice" role="status">{children()}</p> })
}
