//! Published events over HTTP: `GET /projects/{pid}/events` lists them,
//! `GET /projects/{pid}/events/{id}` tells where one went and why it did
//! not go elsewhere. The rules are in `crate::server::events`.

use super::deliveries::{time_ms, DeliveryDto};
use super::envelope::{iso, ok, ApiError, ApiPath, ApiQuery};
use super::webhooks::ErrorEnvelope;
use crate::model::{
    DeliveryDetail, EventFilter, EventSummary, SkipReason, Skipped, EVENTS_PAGE, EVENTS_PAGE_MAX,
};
use crate::server::events;
use crate::server::scope::Scope;
use crate::server::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// An event in a list.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventDto {
    /// `evt_…`
    id: String,
    /// Its name (the body's `event`).
    event: String,
    /// The tenant it was published for.
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<String>,
    /// How it came in: `api`, `batch`, `test` or `alert`.
    source: String,
    created_at: String,
    /// Deliveries it made (repeats included).
    delivery_count: u32,
    succeeded: u32,
    /// Failed or dropped.
    failed: u32,
    pending: u32,
}

impl From<EventSummary> for EventDto {
    fn from(e: EventSummary) -> Self {
        EventDto {
            id: e.id,
            event: e.event,
            tenant: e.tenant,
            source: e.source.as_str().to_string(),
            created_at: iso(e.created_at),
            delivery_count: e.deliveries,
            succeeded: e.succeeded,
            failed: e.failed,
            pending: e.pending,
        }
    }
}

/// A webhook the event did not go to.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkippedDto {
    webhook_id: String,
    webhook_url: String,
    /// `filtered`, `disabled`, `auto_disabled`, `deleted`, `tenant`, or
    /// `changed` (it changed as the event came in).
    #[schema(value_type = String)]
    reason: SkipReason,
    /// Since when the webhook stood so.
    since: String,
    /// `filtered`: the event names its filter took.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    filter: Vec<String>,
    /// `auto_disabled`: why Signpost disabled it.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

impl From<Skipped> for SkippedDto {
    fn from(s: Skipped) -> Self {
        SkippedDto {
            webhook_id: s.webhook_id,
            webhook_url: s.webhook_url,
            reason: s.reason,
            since: iso(s.since),
            filter: s.filter,
            detail: s.detail,
        }
    }
}

/// An event with where it went.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventDetailDto {
    #[serde(flatten)]
    event: EventDto,
    /// Its exact body.
    #[schema(value_type = Object)]
    payload: Box<serde_json::value::RawValue>,
    /// Every delivery it made, oldest first (without attempts: see
    /// `GET …/deliveries/{id}`).
    deliveries: Vec<DeliveryDto>,
    /// Every webhook of the project it did not go to, with the reason as
    /// of when it came in. Empty for a test event or an alert (sent to one
    /// webhook by name).
    skipped: Vec<SkippedDto>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventListDto {
    events: Vec<EventDto>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    next_cursor: Option<String>,
    /// With `text`: the search read its limit of events before the oldest,
    /// and `nextCursor` goes on from where it stopped.
    partial: bool,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EventListEnvelope {
    succeed: bool,
    data: EventListDto,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EventDetailEnvelope {
    succeed: bool,
    data: EventDetailDto,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventListQuery {
    /// Only events of this name.
    event: Option<String>,
    /// Only events whose payload contains this text (case-sensitive; reads
    /// at most the newest 5,000 events that the other filters allow per page).
    text: Option<String>,
    /// Created at or after: RFC 3339 or Unix milliseconds.
    since: Option<String>,
    /// Created before: RFC 3339 or Unix milliseconds.
    until: Option<String>,
    /// Only this tenant's events.
    tenant: Option<String>,
    /// 1 to 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
}

fn time(name: &str, v: Option<String>) -> Result<Option<i64>, ApiError> {
    v.filter(|s| !s.is_empty())
        .map(|s| time_ms(name, &serde_json::Value::String(s)))
        .transpose()
}

/// The project's events, newest first, each with its deliveries counted.
#[utoipa::path(
    get, path = "/projects/{projectId}/events", tag = "events", operation_id = "list_events",
    params(("projectId" = String, Path), EventListQuery),
    responses(
        (status = 200, body = EventListEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope, description = "A bad filter, limit or cursor"),
    ),
    security(("basic" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    ApiPath(pid): ApiPath<String>,
    ApiQuery(q): ApiQuery<EventListQuery>,
) -> Result<Response, ApiError> {
    let limit = match q.limit.as_deref() {
        None => EVENTS_PAGE,
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=EVENTS_PAGE_MAX).contains(l))
            .ok_or_else(|| invalid(format!("limit is a number from 1 to {EVENTS_PAGE_MAX}")))?,
    };
    let filter = EventFilter {
        event: q.event,
        text: q.text,
        since: time("since", q.since)?,
        until: time("until", q.until)?,
        within: None,
        tenant: q.tenant,
    };
    let cursor = q.cursor.filter(|c| !c.is_empty());
    let page = events::page(
        &state,
        &Scope::project(&pid),
        filter,
        cursor.as_deref(),
        limit,
    )
    .await?;
    Ok(ok(EventListDto {
        events: page.events.into_iter().map(EventDto::from).collect(),
        next_cursor: page.older,
        partial: page.partial,
    }))
}

/// One event: its exact payload, every delivery it made, and every webhook
/// of the project it did not go to, with the reason.
#[utoipa::path(
    get, path = "/projects/{projectId}/events/{id}", tag = "events", operation_id = "get_event",
    params(("projectId" = String, Path), ("id" = String, Path)),
    responses(
        (status = 200, body = EventDetailEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
    ),
    security(("basic" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let d = events::detail(&state, &Scope::project(&pid), &id).await?;
    let payload = serde_json::value::RawValue::from_string(d.body).map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "A stored event is not JSON",
        )
    })?;
    // Serialized straight into the answer, so the payload keeps its bytes.
    #[derive(Serialize)]
    struct Envelope {
        succeed: bool,
        data: EventDetailDto,
    }
    Ok(axum::Json(Envelope {
        succeed: true,
        data: EventDetailDto {
            event: d.event.into(),
            payload,
            deliveries: d
                .deliveries
                .into_iter()
                .map(|s| {
                    let detail = DeliveryDetail {
                        delivery: s,
                        body: String::new(),
                        attempts: Vec::new(),
                    };
                    DeliveryDto::new(detail, false)
                })
                .collect(),
            skipped: d.skipped.into_iter().map(SkippedDto::from).collect(),
        },
    })
    .into_response())
}
