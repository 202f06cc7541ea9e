//! Live regions (`[data-live=MS]`): the page read again and a region
//! replaced by its fresh copy, on a timer or when an island asks.

use super::dom::{elements, localize_times};
use leptos::prelude::*;
use std::{cell::RefCell, rc::Rc, time::Duration};
use wasm_bindgen::JsCast;
use web_sys::Element;

/// Polls the page for `el`'s fresh copy (see the module's comment).
pub fn follow(el: Element) {
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
        let Ok(fresh) = parser.parse_from_string(&text, web_sys::SupportedType::TextHtml) else {
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
fn open_folds(root: &Element) -> Vec<usize> {
    elements(root.query_selector_all("details"))
        .enumerate()
        .filter(|(_, d)| d.has_attribute("open"))
        .map(|(i, _)| i)
        .collect()
}

fn reopen_folds(root: &Element, open: &[usize]) {
    for (i, d) in elements(root.query_selector_all("details")).enumerate() {
        if open.contains(&i) {
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
