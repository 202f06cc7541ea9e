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
