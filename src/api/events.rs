//! The Events page and an event's page.

use crate::model::{AppError, EventDetail, EventFilter, EventPage};
use leptos::prelude::*;

/// A page of the scope's events, newest first, older than `cursor`.
#[server(endpoint = "events/list")]
pub async fn list_events(
    project_id: String,
    #[server(default)] filter: EventFilter,
    cursor: Option<String>,
) -> Result<EventPage, AppError> {
    use crate::server::{context, events};
    context::respond(async {
        let s = context::in_scope(&project_id).await?;
        let cursor = cursor.filter(|c| !c.is_empty());
        events::page(
            &s.cx.state,
            &s.scope,
            filter,
            cursor.as_deref(),
            crate::model::EVENTS_PAGE,
        )
        .await
    })
    .await
}

/// An event: its payload, its deliveries, the webhooks it did not reach.
#[server(endpoint = "events/get")]
pub async fn get_event(project_id: String, event_id: String) -> Result<EventDetail, AppError> {
    use crate::server::{context, events};
    context::respond(async {
        let s = context::in_scope(&project_id).await?;
        let mut d = events::detail(&s.cx.state, &s.scope, &event_id).await?;
        // Pretty-printed for people; the API keeps the exact bytes.
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&d.body) {
            d.body = serde_json::to_string_pretty(&v).unwrap_or(d.body);
        }
        Ok(d)
    })
    .await
}
