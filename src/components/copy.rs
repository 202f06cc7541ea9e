use leptos::prelude::*;

/// A button that puts `text` on the clipboard and says so.
#[component]
pub fn CopyButton(
    #[prop(into)] text: String,
    #[prop(default = "Copy")] label: &'static str,
) -> impl IntoView {
    let (copied, set_copied) = signal(false);
    let copy = move |_| {
        let clipboard = window().navigator().clipboard();
        // The promise settles after the click; the label only acknowledges it.
        let _ = clipboard.write_text(&text);
        set_copied.set(true);
    };
    view! {
        <button type="button" class="copy" on:click=copy>
            {move || if copied.get() { "Copied" } else { label }}
        </button>
    }
}
