//! A server function's plain form (`<form method=post action=/api/…>`),
//! sent by `fetch`: a refusal shows in the form, success reads the page
//! again or follows the server's redirect (see the module's comment).

use super::dom::{closest, elements};
use crate::model::form_protocol::{
    DONE_HEADER, DONE_PARAM, ERROR_PARAM, FORM_HEADER, OUTCOME_PARAMS,
};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::Event;

pub fn on_submit(ev: Event) {
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
    let Ok(answer) = JsFuture::from(window().fetch_with_str_and_init(action, &init)).await else {
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
        crate::components::form::to_sign_in();
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
pub fn forget_outcome() {
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
    for old in elements(form.query_selector_all(".form-error")) {
        old.remove();
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
