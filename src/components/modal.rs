use leptos::prelude::*;

/// A modal dialog box with a title.
#[component]
pub fn Modal(#[prop(into)] title: String, children: Children) -> impl IntoView {
    let label = title.clone();
    view! {
        <div class="modal-backdrop">
            <div class="modal card" role="dialog" aria-modal="true" aria-label=label>
                <h2>{title}</h2>
                {children()}
            </div>
        </div>
    }
}
