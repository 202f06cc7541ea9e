//! The delivery log over HTTP: a webhook's deliveries with their attempts,
//! one delivery, redeliver, cancel, and replay. The rules are in
//! `crate::server::delivery_log`.

use super::envelope::{accepted, iso, ok, ApiError, ApiJson, ApiPath, ApiQuery};
use super::webhooks::ErrorEnvelope;
use crate::model::{
    AttemptInfo, Cursor, DeliveryDetail, DeliveryOrigin, DeliveryStatus, LOG_PAGE, LOG_PAGE_MAX,
};
use crate::server::db::activity::Actor;
use crate::server::delivery_log;
use crate::server::scope::Scope;
use crate::server::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};

/// Changes made through the API are recorded as the API's.
const API: Actor<'static> = Actor::API;

/// One attempt on the wire.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptDto {
    number: u32,
    started_at: String,
    duration_ms: i64,
    /// `[name, value]` pairs as sent, the signature included.
    request_headers: Vec<(String, String)>,
    response_status: Option<u16>,
    response_headers: Vec<(String, String)>,
    /// The first 4 KiB of the response body.
    response_body: Option<String>,
    /// Why no status came back: `timeout`, `connect`, `network`, `guard` or `body`.
    error_kind: Option<String>,
    error_message: Option<String>,
}

impl From<AttemptInfo> for AttemptDto {
    fn from(a: AttemptInfo) -> Self {
        AttemptDto {
            number: a.number,
            started_at: iso(a.started_at),
            duration_ms: a.duration_ms,
            request_headers: a.request_headers,
            response_status: a.response_status,
            response_headers: a.response_headers,
            response_body: a.response_body,
            error_kind: a.error_kind,
            error_message: a.error_message,
        }
    }
}

/// A delivery on the wire.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryDto {
    /// `dlv_…`
    id: String,
    /// `evt_…`
    event_id: String,
    event: String,
    webhook_id: String,
    webhook_url: String,
    /// Its ordering key's value (`null`: none, or the empty key).
    ordering_key: Option<String>,
    /// `pending` (queued or retrying), `succeeded`, `failed`, `dropped`, `cancelled`.
    #[schema(value_type = String)]
    status: DeliveryStatus,
    /// `event`, `redelivery` or `replay`.
    #[schema(value_type = String)]
    origin: DeliveryOrigin,
    /// The delivery a redelivery or replay repeats.
    #[serde(skip_serializing_if = "Option::is_none")]
    repeats: Option<String>,
    attempt_count: u32,
    /// While pending: when the next attempt is due.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_attempt_at: Option<String>,
    last_status: Option<u16>,
    last_error: Option<String>,
    created_at: String,
    finished_at: Option<String>,
    /// The event's exact body (only on `GET …/deliveries/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    payload: Option<Box<serde_json::value::RawValue>>,
    attempts: Vec<AttemptDto>,
}

impl DeliveryDto {
    pub(super) fn new(d: DeliveryDetail, with_body: bool) -> Self {
        let s = d.delivery;
        DeliveryDto {
            id: s.id,
            event_id: s.event_id,
            event: s.event,
            webhook_id: s.webhook_id,
            webhook_url: s.webhook_url,
            ordering_key: Some(s.ordering_key).filter(|k| !k.is_empty()),
            status: s.status,
            origin: s.origin,
            repeats: s.repeats,
            attempt_count: s.attempts,
            next_attempt_at: s.next_at.map(iso),
            last_status: s.last_status,
            last_error: s.last_error,
            created_at: iso(s.created_at),
            finished_at: s.finished_at.map(iso),
            // The stored body is the JSON object that was published.
            payload: with_body
                .then(|| serde_json::value::RawValue::from_string(d.body).ok())
                .flatten(),
            attempts: d.attempts.into_iter().map(AttemptDto::from).collect(),
        }
    }
}

/// A page of deliveries (documentation only).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryListDto {
    deliveries: Vec<DeliveryDto>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    next_cursor: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DeliveryListEnvelope {
    succeed: bool,
    data: DeliveryListDto,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DeliveryEnvelope {
    succeed: bool,
    data: DeliveryDto,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only deliveries with this status.
    #[param(value_type = Option<StatusParam>, inline)]
    status: Option<String>,
    /// 1 to 200; default 50 (Spectra's "last 50").
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
    /// Only the deliveries of this ordering key's value (one conversation).
    #[serde(rename = "orderingKey")]
    #[param(rename = "orderingKey")]
    ordering_key: Option<String>,
}

/// The statuses a list may be filtered by (documentation only).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum StatusParam {
    Pending,
    Succeeded,
    Failed,
    Dropped,
    Cancelled,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
}

/// A webhook's deliveries, newest first, each with its attempts.
#[utoipa::path(
    get, path = "/projects/{projectId}/webhooks/{id}/deliveries", tag = "deliveries", operation_id = "list_deliveries",
    params(("projectId" = String, Path), ("id" = String, Path), ListQuery),
    responses(
        (status = 200, body = DeliveryListEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope, description = "Unknown status, bad limit or cursor"),
    ),
    security(("basic" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(DeliveryStatus::parse(s).ok_or_else(|| {
            invalid(format!(
                "Unknown status {s:?}: use pending, succeeded, failed, dropped or cancelled"
            ))
        })?),
    };
    let limit = match q.limit.as_deref() {
        None => LOG_PAGE,
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=LOG_PAGE_MAX).contains(l))
            .ok_or_else(|| invalid(format!("limit is a number from 1 to {LOG_PAGE_MAX}")))?,
    };
    let cursor = match q.cursor.as_deref() {
        None | Some("") => Cursor::Newest,
        Some(c) => match Cursor::decode(c) {
            Some(c @ Cursor::Before(_)) => c,
            _ => return Err(invalid("Unknown cursor: pass nextCursor as it came")),
        },
    };
    let (deliveries, next) = delivery_log::webhook_page(
        &state,
        &Scope::project(&pid),
        &id,
        status,
        q.ordering_key,
        cursor,
        limit,
    )
    .await?;
    Ok(ok(DeliveryListDto {
        deliveries: deliveries
            .into_iter()
            .map(|d| DeliveryDto::new(d, false))
            .collect(),
        next_cursor: next,
    }))
}

/// One delivery: the event's payload and every attempt.
#[utoipa::path(
    get, path = "/projects/{projectId}/deliveries/{id}", tag = "deliveries", operation_id = "get_delivery",
    params(("projectId" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = DeliveryEnvelope), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("basic" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let d = delivery_log::detail(&state, &Scope::project(&pid), &id).await?;
    // Serialized straight into the answer (not through a `Value`), so the
    // payload keeps its exact bytes.
    #[derive(Serialize)]
    struct Envelope {
        succeed: bool,
        data: DeliveryDto,
    }
    Ok(axum::Json(Envelope {
        succeed: true,
        data: DeliveryDto::new(d, true),
    })
    .into_response())
}

#[derive(Serialize, ToSchema)]
pub struct Redelivered {
    /// The new delivery (`dlv_…`); the original is unchanged.
    id: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RedeliveredEnvelope {
    succeed: bool,
    data: Redelivered,
}

/// Send a delivery's event to its webhook again, as a new delivery with its
/// own attempts.
#[utoipa::path(
    post, path = "/projects/{projectId}/deliveries/{id}/redeliver", tag = "deliveries",
    params(("projectId" = String, Path), ("id" = String, Path)),
    responses(
        (status = 202, body = RedeliveredEnvelope, description = "Queued"),
        (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope, description = "The webhook is disabled"),
        (status = 503, body = ErrorEnvelope, description = "Busy: nothing was stored; try again after `Retry-After` seconds"),
    ),
    security(("basic" = []))
)]
pub async fn redeliver(
    State(state): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let new = delivery_log::redeliver(&state, &Scope::project(&pid), &id, &API).await?;
    Ok(accepted(serde_json::json!({ "id": new })))
}

/// Stop trying a pending delivery.
#[utoipa::path(
    post, path = "/projects/{projectId}/deliveries/{id}/cancel", tag = "deliveries",
    params(("projectId" = String, Path), ("id" = String, Path)),
    responses(
        (status = 200, description = "Cancelled"),
        (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope, description = "Not pending any more"),
    ),
    security(("basic" = []))
)]
pub async fn cancel(
    State(state): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    delivery_log::cancel(&state, &Scope::project(&pid), &id, &API).await?;
    Ok(ok(serde_json::json!({ "id": id, "status": "cancelled" })))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplayBody {
    /// RFC 3339 time, or Unix milliseconds: replay what was created since.
    #[schema(schema_with = since_schema, example = "2026-11-23T09:00:00Z")]
    since: serde_json::Value,
    /// Only count what would be replayed.
    #[serde(default)]
    dry_run: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Replayed {
    /// How many failed or dropped deliveries were queued again (or would be).
    count: u64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReplayedEnvelope {
    succeed: bool,
    data: Replayed,
}

/// `since`: an RFC 3339 time or Unix milliseconds.
fn since_schema() -> utoipa::openapi::Schema {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0)),
        )
        .build()
        .into()
}

fn since_ms(v: &serde_json::Value) -> Result<i64, ApiError> {
    time_ms("since", v)
}

/// A time given as an RFC 3339 string or Unix milliseconds (a number, or
/// digits in a query string).
pub(super) fn time_ms(name: &str, v: &serde_json::Value) -> Result<i64, ApiError> {
    let how = || {
        invalid(format!(
            "{name} is an RFC 3339 time (2026-11-23T09:00:00Z) or Unix milliseconds"
        ))
    };
    match v {
        serde_json::Value::Number(n) => n.as_i64().filter(|n| *n >= 0).ok_or_else(how),
        serde_json::Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().map_err(|_| how())
        }
        serde_json::Value::String(s) => time::OffsetDateTime::parse(s, &Rfc3339)
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
            .map_err(|_| how()),
        _ => Err(how()),
    }
}

/// Queue again every failed or dropped delivery of the webhook created
/// since a time (durably: they are stored before the answer).
#[utoipa::path(
    post, path = "/projects/{projectId}/webhooks/{id}/replay", tag = "deliveries",
    params(("projectId" = String, Path), ("id" = String, Path)),
    request_body = ReplayBody,
    responses(
        (status = 200, body = ReplayedEnvelope, description = "With `dryRun`: how many would be queued; nothing is"),
        (status = 202, body = ReplayedEnvelope, description = "Queued"),
        (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope, description = "The webhook is disabled"),
        (status = 422, body = ErrorEnvelope),
        (status = 503, body = ErrorEnvelope, description = "Busy: nothing was stored; try again after `Retry-After` seconds"),
    ),
    security(("basic" = []))
)]
pub async fn replay(
    State(state): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<ReplayBody>,
) -> Result<Response, ApiError> {
    let since = since_ms(&body.since)?;
    if body.dry_run {
        let count = delivery_log::replay_count(&state, &Scope::project(&pid), &id, since).await?;
        return Ok(ok(Replayed { count }));
    }
    let count = delivery_log::replay(&state, &Scope::project(&pid), &id, since, &API).await?;
    Ok(accepted(serde_json::json!({ "count": count })))
}
