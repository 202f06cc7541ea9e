//! What the browser adds to the server-rendered pages outside the islands:
//! local times, dialogs, menus, tabs, copy buttons and live regions. One
//! set of listeners on the document reads the markup below, so it works
//! on whatever the server sent, also after a live region is replaced.
//!
//! - `<time data-ms=…>`: shown in the viewer's time zone ([`super::time`]).
//! - `<button commandfor=ID command="show-modal">` (or `"close"`): the
//!   browser opens or closes `<dialog id=ID>` itself (invoker commands, which
//!   need no script); this does it where the browser cannot
//!   ([`super::modal::Dialog`]); a `<dialog open data-once>` (what a form
//!   just made, [`super::shown_once`]) becomes a modal when the page loads.
//! - `.menu-toggle` in `.topbar`: folds and unfolds the top bar's menu.
//! - `<details class="menu">`: folds when an item is chosen, and on Escape.
//! - `[role=tab][aria-controls=ID]`: shows its panel, hides its siblings'
//!   (all panels are sent visible, so without the script every one shows).
//! - `<button data-copy=TEXT>`: puts TEXT on the clipboard ([`super::copy`]).
//! - `<form method=post action=/api/…>` (a server function's plain form, as
//!   `ActionForm` draws it outside an island): sent by `fetch` instead, so
//!   that a refusal shows in the form with what was typed still in it. On
//!   success the page is read again (with `done=<what>` when the server
//!   says what was done), or the server's redirect is followed. Without
//!   the wasm, the same form posts and the server redirects back.
//! - `[data-live=MS]` with an id: every MS while the tab is visible, the page
//!   is read again and the element replaced by its fresh copy; the polling
//!   ends once the fresh copy no longer has `data-live`.
//!
//! In parts: `dom` (listeners, node lists, local times), `controls`
//! (dialogs, menus, tabs, copy), `forms`, `live`.

#[cfg(feature = "hydrate")]
mod controls;
#[cfg(feature = "hydrate")]
mod dom;
#[cfg(feature = "hydrate")]
mod forms;
#[cfg(feature = "hydrate")]
mod live;

#[cfg(feature = "hydrate")]
pub use live::refresh_regions;
#[cfg(feature = "hydrate")]
use {
    dom::{elements, listen, localize_times},
    leptos::prelude::*,
    std::time::Duration,
    wasm_bindgen::JsCast,
    web_sys::HtmlDialogElement,
};

/// Called once, before the islands hydrate.
#[cfg(feature = "hydrate")]
pub fn start() {
    let doc = document();
    let Some(body) = doc.body() else { return };
    // Live regions keep the server's markup to compare with, so they
    // start before the times are rewritten.
    for el in elements(doc.query_selector_all("[data-live]")) {
        live::follow(el);
    }
    localize_times(&body);
    forms::forget_outcome();
    for tab in elements(doc.query_selector_all("[role=tab][aria-selected=true][aria-controls]")) {
        controls::select_tab(&tab);
    }
    if let Some(once) = doc
        .query_selector("dialog[data-once]")
        .ok()
        .flatten()
        .and_then(|d| d.dyn_into::<HtmlDialogElement>().ok())
    {
        // Sent open (so it shows without the wasm too); made modal here.
        once.close();
        let _ = once.show_modal();
    }
    listen("click", controls::on_click);
    listen("keydown", controls::on_keydown);
    listen("submit", forms::on_submit);
    // The islands hydrate right after this function, in microtasks; a
    // timer runs after them, so the marker means "everything is live".
    set_timeout(
        move || {
            let _ = body.set_attribute("data-hydrated", "true");
        },
        Duration::ZERO,
    );
}
