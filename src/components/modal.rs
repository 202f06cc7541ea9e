use leptos::prelude::*;

/// A modal dialog box with a title, drawn by an island while it is open.
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

/// A dialog sent with the page and opened by a button carrying
/// `commandfor=ID command="show-modal"` (the browser's invoker commands, or
/// `enhance` where it lacks them); [`CancelButton`] closes it.
#[component]
pub fn Dialog(
    #[prop(into)] id: String,
    #[prop(into)] title: String,
    children: Children,
) -> impl IntoView {
    let label = title.clone();
    view! {
        <dialog id=id class="modal card" aria-label=label>
            <h2>{title}</h2>
            {children()}
        </dialog>
    }
}

/// "Cancel" of a form in the [`Dialog`] with id `dialog`: closes it, sends
/// nothing. Not a submit button, so Enter in a field still submits the form.
#[component]
pub fn CancelButton(#[prop(into)] dialog: String) -> impl IntoView {
    view! {
        <button type="button" commandfor=dialog command="close">"Cancel"</button>
    }
}
