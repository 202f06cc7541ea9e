use leptos::prelude::*;

/// A button that puts `text` on the clipboard and says so (the click is
/// handled by `enhance`, so it works in and out of islands).
#[component]
pub fn CopyButton(
    #[prop(into)] text: String,
    #[prop(default = "Copy")] label: &'static str,
) -> impl IntoView {
    view! {
        <button type="button" class="copy" data-copy=text>
            {label}
        </button>
    }
}
