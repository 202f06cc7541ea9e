use super::copy::CopyButton;
use leptos::prelude::*;

/// A secret shown exactly once, with a copy button.
#[component]
pub fn SecretField(label: &'static str, #[prop(into)] value: String) -> impl IntoView {
    let id = format!("secret-{}", label.to_lowercase().replace(' ', "-"));
    view! {
        <div class="secret-field">
            <label for=id.clone()>{label}</label>
            <div class="secret-row">
                <input id=id type="text" readonly value=value.clone() class="mono" />
                <CopyButton text=value />
            </div>
        </div>
    }
}

/// The "store it now" footer: closing is the only way out.
#[component]
pub fn SavedButton(on_saved: impl Fn() + 'static) -> impl IntoView {
    view! {
        <p class="hint">"This is the only time it is shown. Store it somewhere safe now."</p>
        <div class="actions">
            <button type="button" class="primary" on:click=move |_| on_saved()>
                "I have saved it"
            </button>
        </div>
    }
}
