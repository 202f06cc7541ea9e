//! `POST /projects/{pid}/events` (and `/events/batch`): publish events;
//! `POST /projects/{pid}/webhooks/{id}/test`: send a test event.

use super::envelope::{accepted, require_json, ApiBody, ApiError, ApiPath, ApiQuery};
use super::webhooks::ErrorEnvelope;
use crate::model::EventSource;
use crate::server::delivery::ingest::{self, How, Incoming, Stored};
use crate::server::scope::Scope;
use crate::server::state::AppState;
use crate::server::webhooks;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What publishing one event made.
#[derive(Serialize, ToSchema)]
pub struct Published {
    /// The event id (`evt_…`).
    id: String,
    /// How many webhooks it goes to.
    deliveries: usize,
}

/// What publishing a batch made.
#[derive(Serialize, ToSchema)]
pub struct PublishedBatch {
    /// One entry per event, in the order sent.
    events: Vec<Published>,
    deliveries: usize,
}

/// The envelope of a publish answer (documentation only).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PublishedEnvelope {
    succeed: bool,
    data: Published,
}

/// The envelope of a batch answer (documentation only).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PublishedBatchEnvelope {
    succeed: bool,
    data: PublishedBatch,
}

/// An event (documentation only: the body is read as bytes and delivered
/// unchanged). Any other fields are the platform's.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Event {
    /// The event's name: letters, digits and `. _ - :`.
    #[schema(pattern = r"^[A-Za-z0-9._:-]{1,100}$", example = "messages")]
    event: String,
}

/// The envelope of a test answer (documentation only).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TestSentEnvelope {
    succeed: bool,
    data: TestSent,
}

/// What both publish calls check first: a JSON body, and the
/// `Idempotency-Key` if there is one.
fn publish_headers(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    require_json(headers)?;
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| invalid("Idempotency-Key must be ASCII"))?;
    ingest::check_idempotency_key(key).map_err(invalid)?;
    Ok(Some(key.to_string()))
}

/// A publish call's query: `?tenant=` sends the events to that tenant's
/// webhooks only.
#[derive(Deserialize)]
pub struct PublishQuery {
    tenant: Option<String>,
}

impl PublishQuery {
    fn tenant(self) -> Result<Option<String>, ApiError> {
        self.tenant
            .map(|t| crate::model::check_tenant(&t).map_err(invalid))
            .transpose()
    }
}

/// An idempotency key is remembered per tenant: the same key for two
/// tenants names two calls (keys and tenant ids are ASCII, so the arrow
/// keeps the two parts apart).
fn keyed_for(tenant: Option<&str>, key: Option<String>) -> Option<String> {
    match tenant {
        Some(t) => key.map(|k| format!("tenant:{t}\u{2192}{k}")),
        None => key,
    }
}

/// Where a publish call's events go: the project's own webhooks, or a
/// tenant's.
fn scope(pid: &str, tenant: Option<&str>) -> Scope {
    match tenant {
        Some(t) => Scope::tenant(pid, t),
        None => Scope::project(pid),
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
}

fn one(stored: &Stored) -> Published {
    Published {
        id: stored.id.clone(),
        deliveries: stored.deliveries,
    }
}

/// Publish an event: any JSON object with a string `event`. It is stored,
/// with one delivery per enabled webhook whose filter matches, before the
/// answer. Its bytes are delivered unchanged.
#[utoipa::path(
    post, path = "/projects/{projectId}/events", tag = "events",
    params(("projectId" = String, Path), ("tenant" = Option<String>, Query, description = "Deliver to this tenant's webhooks only (without it: to the webhooks without a tenant)"), ("Idempotency-Key" = Option<String>, Header, description = "A repeat within 24 h returns the first answer and stores nothing")),
    request_body(content = Event, description = "`{\"event\": \"messages\", …}`: any JSON object with a string `event`"),
    responses(
        (status = 202, body = PublishedEnvelope, description = "Stored; deliveries are under way"),
        (status = 401, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
        (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope, description = "Not an object with a string `event`"),
        (status = 429, body = ErrorEnvelope),
        (status = 503, body = ErrorEnvelope, description = "Signpost's writer is behind (or its disk is full): nothing was stored; try again after `Retry-After` seconds"),
    ),
    security(("basic" = []))
)]
pub async fn publish(
    State(state): State<AppState>,
    ApiPath(pid): ApiPath<String>,
    ApiQuery(q): ApiQuery<PublishQuery>,
    headers: HeaderMap,
    ApiBody(body): ApiBody,
) -> Result<Response, ApiError> {
    let tenant = q.tenant()?;
    let key = keyed_for(tenant.as_deref(), publish_headers(&headers)?);
    let event = ingest::parse_event(body).map_err(invalid)?;
    state
        .catalog
        .check(&state.db, &pid, std::slice::from_ref(&event), false)
        .await?;
    let data = ingest::publish(
        &state.db,
        &state.delivery,
        &scope(&pid, tenant.as_deref()),
        vec![event],
        How {
            idempotency_key: key.as_deref(),
            ..How::api(EventSource::Api)
        },
        |s| serde_json::to_value(one(&s[0])).expect("serializable"),
    )
    .await?;
    Ok(accepted(data))
}

/// Publish up to 500 events in one transaction.
#[utoipa::path(
    post, path = "/projects/{projectId}/events/batch", tag = "events",
    params(("projectId" = String, Path), ("tenant" = Option<String>, Query, description = "Deliver to this tenant's webhooks only"), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Vec<Event>, description = "A JSON array of 1 to 500 events"),
    responses(
        (status = 202, body = PublishedBatchEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
        (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope),
        (status = 429, body = ErrorEnvelope),
        (status = 503, body = ErrorEnvelope, description = "Signpost's writer is behind (or its disk is full): nothing was stored; try again after `Retry-After` seconds"),
    ),
    security(("basic" = []))
)]
pub async fn publish_batch(
    State(state): State<AppState>,
    ApiPath(pid): ApiPath<String>,
    ApiQuery(q): ApiQuery<PublishQuery>,
    headers: HeaderMap,
    ApiBody(body): ApiBody,
) -> Result<Response, ApiError> {
    let tenant = q.tenant()?;
    // A key is remembered per endpoint: the same key on `/events` and on
    // `/events/batch` names two different calls. Keys are printable ASCII,
    // so this prefix cannot be a single event's key.
    let key = publish_headers(&headers)?.map(|k| format!("batch\u{2192}{k}"));
    let key = keyed_for(tenant.as_deref(), key);
    let events: Vec<Incoming> = ingest::parse_batch(body).map_err(invalid)?;
    let max = state.config.delivery.max_event_bytes as usize;
    if let Some((i, _)) = events.iter().enumerate().find(|(_, e)| e.body.len() > max) {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Event {i} of the batch is over {max} bytes"),
        ));
    }
    state.catalog.check(&state.db, &pid, &events, true).await?;
    let data = ingest::publish(
        &state.db,
        &state.delivery,
        &scope(&pid, tenant.as_deref()),
        events,
        How {
            idempotency_key: key.as_deref(),
            ..How::api(EventSource::Batch)
        },
        |stored| {
            let batch = PublishedBatch {
                deliveries: stored.iter().map(|s| s.deliveries).sum(),
                events: stored.iter().map(one).collect(),
            };
            serde_json::to_value(batch).expect("serializable")
        },
    )
    .await?;
    Ok(accepted(data))
}

/// What sending a test event made.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestSent {
    event_id: String,
    delivery_id: String,
}

/// Send a sample `messages` event to this webhook only, whatever its filter.
#[utoipa::path(
    post, path = "/projects/{projectId}/webhooks/{id}/test", tag = "webhooks",
    params(("projectId" = String, Path), ("id" = String, Path)),
    responses(
        (status = 202, body = TestSentEnvelope, description = "Queued"),
        (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope, description = "The webhook is disabled"),
        (status = 503, body = ErrorEnvelope, description = "Busy: nothing was stored; try again after `Retry-After` seconds"),
    ),
    security(("basic" = []))
)]
pub async fn test(
    State(state): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let sent = webhooks::send_test(&state, &Scope::project(&pid), &id).await?;
    let data = TestSent {
        event_id: sent.event_id,
        delivery_id: sent.delivery_id,
    };
    Ok(accepted(serde_json::to_value(data).expect("serializable")))
}
