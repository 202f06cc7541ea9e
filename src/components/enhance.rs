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

#[cfg(feature = "hydrate")]
pub use browser::{refresh_regions, start};

#[cfg(feature = "hydrate")]
mod browser {
    use crate::model::form_protocol::{
        DONE_HEADER, DONE_PARAM, ERROR_PARAM, FORM_HEADER, OUTCOME_PARAMS,
    };
    use leptos::prelude::*;
    use std::{cell::RefCell, rc::Rc, time::Duration};
    use wasm_bindgen::{closure::Closure, JsCast};
    use web_sys::{Element, Event, HtmlDialogElement, KeyboardEvent};

    /// Called once, before the islands hydrate.
    pub fn start() {
        let doc = document();
        let Some(body) = doc.body() else { return };
        // Live regions keep the server's markup to compare with, so they
        // start before the times are rewritten.
        if let Ok(live) = doc.query_selector_all("[data-live]") {
            for i in 0..live.length() {
                if let Some(el) = live.item(i).and_then(|n| n.dyn_into::<Element>().ok()) {
                    follow(el);
                }
            }
        }
        localize_times(&body);
        forget_outcome();
        if let Ok(chosen) = doc.query_selector_all("[role=tab][aria-selected=true][aria-controls]")
        {
            for i in 0..chosen.length() {
                if let Some(tab) = chosen.item(i).and_then(|n| n.dyn_into::<Element>().ok()) {
                    select_tab(&tab);
                }
            }
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
        listen("click", on_click);
        listen("keydown", on_keydown);
        listen("submit", on_submit);
        // The islands hydrate right after this function, in microtasks; a
        // timer runs after them, so the marker means "everything is live".
        set_timeout(
            move || {
                let _ = body.set_attribute("data-hydrated", "true");
            },
            Duration::ZERO,
        );
    }

    fn listen(event: &str, handler: fn(Event)) {
        let closure = Closure::<dyn Fn(Event)>::new(handler);
        let _ =
            document().add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
        closure.forget();
    }

    /// Every `<time data-ms>` under `root` in the viewer's local time.
    fn localize_times(root: &Element) {
        let Ok(times) = root.query_selector_all("time[data-ms]") else {
            return;
        };
        for i in 0..times.length() {
            let Some(el) = times.item(i).and_then(|n| n.dyn_into::<Element>().ok()) else {
                continue;
            };
            if let Some(ms) = el
                .get_attribute("data-ms")
                .and_then(|v| v.parse::<f64>().ok())
            {
                el.set_text_content(Some(&super::super::time::local_text(ms)));
            }
        }
    }

    fn closest(target: &Element, selector: &str) -> Option<Element> {
        target.closest(selector).ok().flatten()
    }

    fn on_click(ev: Event) {
        let Some(target) = ev.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        // Choosing an item of a row menu folds the menu.
        if closest(&target, "details.menu .menu-items button").is_some() {
            if let Some(menu) = closest(&target, "details.menu") {
                let _ = menu.remove_attribute("open");
            }
        }
        if let Some(button) = closest(&target, "[commandfor][command]") {
            // A browser with invoker commands has a `command` property.
            let native = js_sys::Reflect::has(&button, &"command".into()).unwrap_or(false);
            let dialog = button
                .get_attribute("commandfor")
                .and_then(|id| document().get_element_by_id(&id))
                .and_then(|d| d.dyn_into::<HtmlDialogElement>().ok());
            if let (false, Some(dialog)) = (native, dialog) {
                match button.get_attribute("command").as_deref() {
                    Some("show-modal") => {
                        let _ = dialog.show_modal();
                    }
                    Some("close") => dialog.close(),
                    _ => {}
                }
            }
        } else if let Some(toggle) = closest(&target, ".menu-toggle") {
            if let Some(bar) = closest(&toggle, ".topbar") {
                let open = bar.class_list().toggle("open").unwrap_or(false);
                let _ = toggle.set_attribute("aria-expanded", if open { "true" } else { "false" });
            }
        } else if let Some(tab) = closest(&target, "[role=tab][aria-controls]") {
            select_tab(&tab);
        } else if let Some(button) = closest(&target, "[data-copy]") {
            if let Some(text) = button.get_attribute("data-copy") {
                // The promise settles later; the label only acknowledges it.
                let _ = window().navigator().clipboard().write_text(&text);
                button.set_text_content(Some("Copied"));
            }
        }
    }

    fn select_tab(tab: &Element) {
        let Some(list) = tab.parent_element() else {
            return;
        };
        let Ok(tabs) = list.query_selector_all("[role=tab][aria-controls]") else {
            return;
        };
        for i in 0..tabs.length() {
            let Some(t) = tabs.item(i).and_then(|n| n.dyn_into::<Element>().ok()) else {
                continue;
            };
            let chosen = &t == tab;
            let _ = t.set_attribute("aria-selected", if chosen { "true" } else { "false" });
            let panel = t
                .get_attribute("aria-controls")
                .and_then(|id| document().get_element_by_id(&id));
            if let Some(panel) = panel {
                let _ = if chosen {
                    panel.remove_attribute("hidden")
                } else {
                    panel.set_attribute("hidden", "")
                };
            }
        }
    }

    fn on_keydown(ev: Event) {
        let Some(key) = ev.dyn_ref::<KeyboardEvent>().map(KeyboardEvent::key) else {
            return;
        };
        if key != "Escape" {
            return;
        }
        let target = ev.target().and_then(|t| t.dyn_into::<Element>().ok());
        if let Some(menu) = target.and_then(|t| closest(&t, "details.menu[open]")) {
            let _ = menu.remove_attribute("open");
        }
    }

    fn on_submit(ev: Event) {
        // An island's own form has handled it already.
        if ev.default_prevented() {
            return;
        }
        let Some(form) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok())
        else {
            return;
        };
        let action = form.get_attribute("action").unwrap_or_default();
        if !action.starts_with("/api/") || form.method() != "post" {
            return;
        }
        let submitter = ev
            .dyn_ref::<web_sys::SubmitEvent>()
            .and_then(|e| e.submitter());
        // "Cancel" of a dialog (`formmethod="dialog"`) only closes it.
        if submitter
            .as_ref()
            .and_then(|b| b.get_attribute("formmethod"))
            .as_deref()
            == Some("dialog")
        {
            return;
        }
        ev.prevent_default();
        leptos::task::spawn_local(async move {
            if let Some(b) = &submitter {
                let _ = b.set_attribute("disabled", "");
            }
            let refusal = send(&form, submitter.as_ref(), &action).await;
            if let Some(b) = &submitter {
                let _ = b.remove_attribute("disabled");
            }
            if let Some(message) = refusal {
                show_refusal(&form, submitter.as_ref(), &message);
            }
        });
    }

    /// Sends `form` as the server function's own client would; the message
    /// to show when it is refused. Success leaves the page (see the module).
    async fn send(
        form: &web_sys::HtmlFormElement,
        submitter: Option<&web_sys::HtmlElement>,
        action: &str,
    ) -> Option<String> {
        use crate::model::AppError;
        use wasm_bindgen_futures::JsFuture;
        let failed = || Some(AppError::Transport("the request did not finish".into()).to_string());
        let Ok(data) = web_sys::FormData::new_with_form(form) else {
            return failed();
        };
        // The button that sent the form is one of its fields when it has a
        // name, as in a plain post (web-sys has no `FormData(form, submitter)`).
        if let Some(button) = submitter {
            if let Some(name) = button.get_attribute("name").filter(|n| !n.is_empty()) {
                let value = button.get_attribute("value").unwrap_or_default();
                let _ = data.append_with_str(&name, &value);
            }
        }
        let Ok(body) = web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data) else {
            return failed();
        };
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_body(&body.to_string().into());
        let headers = web_sys::Headers::new().ok()?;
        let _ = headers.set("Content-Type", "application/x-www-form-urlencoded");
        let _ = headers.set("Accept", "application/json");
        // A form's post, so the server keeps what it made to show once.
        let _ = headers.set(FORM_HEADER, "1");
        init.set_headers(&headers);
        let Ok(answer) = JsFuture::from(window().fetch_with_str_and_init(action, &init)).await
        else {
            return failed();
        };
        let Ok(response) = answer.dyn_into::<web_sys::Response>() else {
            return failed();
        };
        let location = window().location();
        if response.ok() {
            let header = |name: &str| response.headers().get(name).ok().flatten();
            if header(leptos::server_fn::redirect::REDIRECT_HEADER).is_some() {
                if let Some(to) = header("location") {
                    let _ = location.assign(&to);
                    return None;
                }
            }
            match header(DONE_HEADER) {
                Some(done) => {
                    let _ = location.assign(&without_outcome(Some(&done)));
                }
                None => {
                    let _ = location.reload();
                }
            }
            return None;
        }
        let text = match response.text() {
            Ok(p) => JsFuture::from(p)
                .await
                .ok()
                .and_then(|t| t.as_string())
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        let error = serde_json::from_str::<AppError>(&text).unwrap_or(AppError::Internal);
        if error == AppError::Unauthenticated {
            super::super::form::to_sign_in();
            return None;
        }
        Some(error.to_string())
    }

    /// This page's address without a form's outcome ([`OUTCOME_PARAMS`]),
    /// and with [`DONE_PARAM`] if given.
    fn without_outcome(done: Option<&str>) -> String {
        let location = window().location();
        let search = location.search().unwrap_or_default();
        let path = location.pathname().unwrap_or_default();
        let Ok(params) = web_sys::UrlSearchParams::new_with_str(&search) else {
            return path;
        };
        for key in OUTCOME_PARAMS {
            params.delete(key);
        }
        if let Some(done) = done {
            params.append(DONE_PARAM, done);
        }
        let query = String::from(params.to_string());
        let hash = location.hash().unwrap_or_default();
        if query.is_empty() {
            format!("{path}{hash}")
        } else {
            format!("{path}?{query}{hash}")
        }
    }

    /// The outcome of a form is said once: the address loses it (so a
    /// reload, a bookmark or the way back after signing in do not repeat it).
    fn forget_outcome() {
        let search = window().location().search().unwrap_or_default();
        let said = [DONE_PARAM, ERROR_PARAM]
            .iter()
            .any(|k| search.contains(&format!("{k}=")));
        if said {
            if let Ok(history) = window().history() {
                let _ = history.replace_state_with_url(
                    &wasm_bindgen::JsValue::NULL,
                    "",
                    Some(&without_outcome(None)),
                );
            }
        }
    }

    /// Shows `message` in `form` (where the server draws a form's error),
    /// in place of any earlier one.
    fn show_refusal(
        form: &web_sys::HtmlFormElement,
        submitter: Option<&web_sys::HtmlElement>,
        message: &str,
    ) {
        if let Ok(old) = form.query_selector_all(".form-error") {
            for i in 0..old.length() {
                if let Some(node) = old.item(i).and_then(|n| n.dyn_into::<Element>().ok()) {
                    node.remove();
                }
            }
        }
        let Ok(p) = document().create_element("p") else {
            return;
        };
        p.set_class_name("form-error");
        let _ = p.set_attribute("role", "alert");
        p.set_text_content(Some(message));
        // Before a row menu the form is in (it folded when the item was
        // chosen), else before the form's buttons, or at its end.
        let anchor = closest(form, "details.menu")
            .or_else(|| form.query_selector(".actions").ok().flatten())
            .or_else(|| submitter.map(|b| b.clone().into()));
        match anchor {
            Some(a) if a.parent_node().is_some() => {
                let _ = a.before_with_node_1(&p);
            }
            _ => {
                let _ = form.append_child(&p);
            }
        }
    }

    /// Polls the page for `el`'s fresh copy (see the module's comment).
    fn follow(el: Element) {
        let Some(every) = el
            .get_attribute("data-live")
            .and_then(|v| v.parse::<u64>().ok())
        else {
            return;
        };
        let id = el.id();
        if id.is_empty() {
            return;
        }
        // The server's last markup of the region, and whether a read is under way.
        let state = Rc::new(RefCell::new((el.inner_html(), false)));
        let handle: Rc<RefCell<Option<IntervalHandle>>> = Rc::default();
        let tick = {
            let handle = handle.clone();
            move || {
                if document().hidden() || state.borrow().1 {
                    return;
                }
                state.borrow_mut().1 = true;
                let (id, state, handle) = (id.clone(), state.clone(), handle.clone());
                leptos::task::spawn_local(async move {
                    let still_live = refresh(&id, &state).await;
                    state.borrow_mut().1 = false;
                    if !still_live {
                        if let Some(h) = handle.borrow_mut().take() {
                            h.clear();
                        }
                    }
                });
            }
        };
        if let Ok(h) = set_interval_with_handle(tick, Duration::from_millis(every)) {
            *handle.borrow_mut() = Some(h);
        }
    }

    /// Reads the page again once and replaces the elements with these ids
    /// by their fresh copies (an island's result that changes what the
    /// server drew beside it, such as a webhook's last delivery).
    pub fn refresh_regions(ids: Vec<String>) {
        leptos::task::spawn_local(async move {
            let Ok(Some(text)) = page_text().await else {
                return;
            };
            let Ok(parser) = web_sys::DomParser::new() else {
                return;
            };
            let Ok(fresh) = parser.parse_from_string(&text, web_sys::SupportedType::TextHtml)
            else {
                return;
            };
            for id in ids {
                if let (Some(new), Some(old)) = (
                    fresh.get_element_by_id(&id),
                    document().get_element_by_id(&id),
                ) {
                    old.set_inner_html(&new.inner_html());
                    localize_times(&old);
                }
            }
        });
    }

    /// Reads the page again and replaces region `id` if it changed. Whether
    /// the region is still live.
    async fn refresh(id: &str, state: &Rc<RefCell<(String, bool)>>) -> bool {
        let Ok(text) = page_text().await else {
            return true;
        };
        let Some(text) = text else {
            // Signed out meanwhile (the read was redirected): show it.
            let _ = window().location().reload();
            return false;
        };
        let Ok(parser) = web_sys::DomParser::new() else {
            return true;
        };
        let Ok(fresh) = parser.parse_from_string(&text, web_sys::SupportedType::TextHtml) else {
            return true;
        };
        let (Some(new), Some(old)) = (
            fresh.get_element_by_id(id),
            document().get_element_by_id(id),
        ) else {
            return true;
        };
        let html = new.inner_html();
        if html != state.borrow().0 {
            let open = open_folds(&old);
            old.set_inner_html(&html);
            reopen_folds(&old, &open);
            localize_times(&old);
            state.borrow_mut().0 = html;
        }
        new.has_attribute("data-live")
    }

    /// Which `<details>` under `root` are open, by their place in it.
    fn open_folds(root: &Element) -> Vec<u32> {
        let Ok(all) = root.query_selector_all("details") else {
            return Vec::new();
        };
        (0..all.length())
            .filter(|&i| {
                all.item(i)
                    .and_then(|n| n.dyn_into::<Element>().ok())
                    .is_some_and(|d| d.has_attribute("open"))
            })
            .collect()
    }

    fn reopen_folds(root: &Element, open: &[u32]) {
        let Ok(all) = root.query_selector_all("details") else {
            return;
        };
        for &i in open {
            if let Some(d) = all.item(i).and_then(|n| n.dyn_into::<Element>().ok()) {
                let _ = d.set_attribute("open", "");
            }
        }
    }

    /// This page's HTML, or `None` when the server sent the reader elsewhere.
    async fn page_text() -> Result<Option<String>, wasm_bindgen::JsValue> {
        use wasm_bindgen_futures::JsFuture;
        let href = window().location().href()?;
        let init = web_sys::RequestInit::new();
        init.set_cache(web_sys::RequestCache::NoStore);
        let response: web_sys::Response =
            JsFuture::from(window().fetch_with_str_and_init(&href, &init))
                .await?
                .dyn_into()?;
        if response.redirected() {
            return Ok(None);
        }
        if !response.ok() {
            // A passing fault: the next tick tries again.
            return Err(wasm_bindgen::JsValue::NULL);
        }
        Ok(JsFuture::from(response.text()?).await?.as_string())
    }
}
