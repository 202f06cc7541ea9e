//! What the other parts share: the document's listeners, node lists as
//! iterators, and local times.

use leptos::prelude::*;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{Element, Event, NodeList};

/// The elements of a `querySelectorAll` (none when the selector fails).
pub fn elements(list: Result<NodeList, JsValue>) -> impl Iterator<Item = Element> {
    let list = list.ok();
    let n = list.as_ref().map_or(0, NodeList::length);
    (0..n).filter_map(move |i| list.as_ref()?.item(i)?.dyn_into::<Element>().ok())
}

pub fn closest(target: &Element, selector: &str) -> Option<Element> {
    target.closest(selector).ok().flatten()
}

pub fn listen(event: &str, handler: fn(Event)) {
    let closure = Closure::<dyn Fn(Event)>::new(handler);
    let _ = document().add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
    closure.forget();
}

/// Every `<time data-ms>` under `root` in the viewer's local time.
pub fn localize_times(root: &Element) {
    for el in elements(root.query_selector_all("time[data-ms]")) {
        if let Some(ms) = el
            .get_attribute("data-ms")
            .and_then(|v| v.parse::<f64>().ok())
        {
            el.set_text_content(Some(&crate::components::time::local_text(ms)));
        }
    }
}
