use super::time::LocalTime;
use crate::model::{describe_action, ActivityEntry};
use leptos::prelude::*;

/// Lines of the activity record, newest first: when, who, what.
#[component]
pub fn ActivityList(entries: Vec<ActivityEntry>) -> impl IntoView {
    if entries.is_empty() {
        return view! { <p class="hint">"No changes yet."</p> }.into_any();
    }
    view! {
        <ul class="activity">
            {entries.into_iter().map(|a| view! {
                <li>
                    <LocalTime ms=a.at />" "
                    <strong>{a.actor.unwrap_or_else(|| "Signpost".into())}</strong>" "
                    {describe_action(&a.action).to_string()}" "
                    <strong>{a.subject}</strong>
                    {(!a.detail.is_empty()).then(|| format!(" ({})", a.detail))}
                </li>
            }).collect_view()}
        </ul>
    }
    .into_any()
}
