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
/// `enhance` where it lacks them); [`DialogButtons`] closes it.
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

/// The buttons of a form in the [`Dialog`] with id `dialog`: "Cancel",
/// which closes it and sends nothing, then the form's submit button (`class`
/// `primary`, or `danger`). Cancel is not a submit button, so Enter in a
/// field still sends the form.
#[component]
pub fn DialogButtons(
    #[prop(into)] dialog: String,
    submit: &'static str,
    #[prop(default = "primary")] class: &'static str,
) -> impl IntoView {
    view! {
        <div class="actions">
            <button type="button" commandfor=dialog command="close">"Cancel"</button>
            <button type="submit" class=class>{submit}</button>
        </div>
    }
}
