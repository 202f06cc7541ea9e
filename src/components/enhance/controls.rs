//! Dialogs, menus, tabs and copy buttons: one click and one keydown
//! listener on the document read the markup.

use super::dom::{closest, elements};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, Event, HtmlDialogElement, KeyboardEvent};

pub fn on_click(ev: Event) {
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

pub fn select_tab(tab: &Element) {
    let Some(list) = tab.parent_element() else {
        return;
    };
    for t in elements(list.query_selector_all("[role=tab][aria-controls]")) {
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

pub fn on_keydown(ev: Event) {
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
