//! Pieces of the delivery log: the status badge, the table of deliveries,
//! and how often live parts refresh.

use super::time::LocalTime;
use crate::model::scope_base;
use crate::model::{DeliveryOrigin, DeliveryStatus, DeliverySummary, LogFilter};
use leptos::prelude::*;

/// The status as a person reads it: "Retrying — attempt 2 of 6, next at …".
#[component]
pub fn StatusBadge(delivery: DeliverySummary) -> impl IntoView {
    let (class, text) = match delivery.status {
        DeliveryStatus::Succeeded => ("badge ok", "Succeeded".to_string()),
        DeliveryStatus::Failed => ("badge bad", "Failed".to_string()),
        DeliveryStatus::Dropped => ("badge bad", "Dropped by URL guard".to_string()),
        DeliveryStatus::Cancelled => ("badge off", "Cancelled".to_string()),
        DeliveryStatus::Pending if delivery.attempts == 0 => ("badge warn", "Queued".to_string()),
        DeliveryStatus::Pending => (
            "badge warn",
            format!(
                "Retrying — attempt {} of {}",
                delivery.attempts + 1,
                delivery.max_attempts
            ),
        ),
    };
    let next = (delivery.status == DeliveryStatus::Pending && delivery.attempts > 0)
        .then_some(delivery.next_at)
        .flatten();
    view! {
        <span class=class data-status=delivery.status.as_str()>{text}</span>
        {next.map(|t| view! { <span class="hint small">" next at " <LocalTime ms=t /></span> })}
    }
}

/// A delivery's ordering key, linking to the log of that key's deliveries
/// ("did everything in this conversation arrive?").
#[component]
pub fn KeyLink(pid: String, key: String) -> impl IntoView {
    let filter = LogFilter {
        key: Some(key.clone()),
        ..LogFilter::default()
    };
    let href = format!("{}/deliveries{}", scope_base(&pid), filter.to_query(None));
    view! {
        <a class="key mono" href=href title="Every delivery of this ordering key">{key}</a>
    }
}

/// A table of deliveries, newest first; each row opens its delivery.
#[component]
pub fn DeliveryTable(
    #[prop(into)] pid: Signal<String>,
    deliveries: Vec<DeliverySummary>,
    /// Show the webhook column (not on a webhook's own page).
    #[prop(default = true)]
    show_webhook: bool,
) -> impl IntoView {
    view! {
        <table class="list stack log">
            <thead>
                <tr>
                    <th>"Time"</th><th>"Event"</th>
                    {show_webhook.then(|| view! { <th>"Webhook"</th> })}
                    <th>"Status"</th><th>"Attempts"</th><th>"HTTP"</th><th>"Duration"</th>
                </tr>
            </thead>
            <tbody>
                {deliveries.into_iter().map(|d| {
                    let href = format!("{}/deliveries/{}", scope_base(&pid.get_untracked()), d.id);
                    let repeat = match d.origin {
                        DeliveryOrigin::Event => None,
                        DeliveryOrigin::Redelivery => Some("redelivery"),
                        DeliveryOrigin::Replay => Some("replay"),
                    };
                    view! {
                        <tr data-delivery=d.id.clone()>
                            <td data-label="Time"><a href=href><LocalTime ms=d.created_at /></a></td>
                            <td data-label="Event">
                                <code>{d.event.clone()}</code>
                                {repeat.map(|r| view! { " " <span class="badge off small">{r}</span> })}
                                {(!d.ordering_key.is_empty()).then(|| view! {
                                    <div class="small">"key " <KeyLink pid=pid.get_untracked() key=d.ordering_key.clone() /></div>
                                })}
                            </td>
                            {show_webhook.then(|| view! { <td class="url" data-label="Webhook"><code class="url">{d.webhook_url.clone()}</code></td> })}
                            <td data-label="Status"><StatusBadge delivery=d.clone() /></td>
                            <td data-label="Attempts">{d.attempts}</td>
                            <td data-label="HTTP">{d.last_status.map(|s| s.to_string()).unwrap_or_else(|| "—".into())}</td>
                            <td data-label="Duration">{d.duration_ms.map(|ms| format!("{ms} ms")).unwrap_or_else(|| "—".into())}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// How often a live region of the log (`data-live`, see `enhance`) is read
/// again while its page is open.
pub const LIVE_EVERY_MS: u32 = 2000;
