//! Bulk replay over HTTP: `POST /projects/{pid}/replay` and
//! `GET /projects/{pid}/replays/{id}`. The rules are in
//! `crate::server::replays`.

use super::deliveries::time_ms;
use super::envelope::{accepted, iso, ok, ApiError, ApiJson, ApiPath};
use super::webhooks::ErrorEnvelope;
use crate::model::{DeliveryStatus, ReplayFilter, ReplayInfo};
use crate::server::db::activity::Actor;
use crate::server::replays;
use crate::server::scope::Scope;
use crate::server::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkReplayBody {
    /// Deliveries created at or after: RFC 3339 or Unix milliseconds.
    #[schema(value_type = String, example = "2026-12-07T09:00:00Z")]
    since: Value,
    /// Created before (default: now).
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    until: Option<Value>,
    /// `failed`, `dropped`, `cancelled` or `succeeded`, or a list of them
    /// (default: failed and dropped).
    #[schema(value_type = Option<Vec<String>>)]
    #[serde(default)]
    status: Option<Value>,
    /// Only these event names.
    #[serde(default)]
    event_types: Vec<String>,
    /// Only these webhooks.
    #[serde(default)]
    webhook_ids: Vec<String>,
    /// Only count what would be queued.
    #[serde(default)]
    dry_run: bool,
}

/// A replay and how far it got.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplayDto {
    /// `rpl_…` (none on a dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    /// How many deliveries it queues (or would).
    count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    queued: Option<u64>,
    /// `running` or `done`.
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finished_at: Option<String>,
}

impl From<ReplayInfo> for ReplayDto {
    fn from(r: ReplayInfo) -> Self {
        ReplayDto {
            id: Some(r.id),
            count: r.count,
            queued: Some(r.queued),
            state: Some(r.state),
            created_at: Some(iso(r.created_at)),
            finished_at: r.finished_at.map(iso),
        }
    }
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReplayEnvelope {
    succeed: bool,
    data: ReplayDto,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
}

fn statuses(v: Option<Value>) -> Result<Vec<DeliveryStatus>, ApiError> {
    const HOW: &str = "status is failed, dropped, cancelled or succeeded, or a list of them";
    let one = |v: &Value| {
        v.as_str()
            .and_then(DeliveryStatus::parse)
            .ok_or_else(|| invalid(HOW))
    };
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(list)) => list.iter().map(one).collect(),
        Some(v) => Ok(vec![one(&v)?]),
    }
}

/// Queue again the deliveries a filter picks, across webhooks: those
/// created since a time, with a status, of some event types and webhooks.
/// Of each event's deliveries to a webhook only the newest counts (one
/// already redelivered or replayed is not picked again). The replay is
/// stored before the answer and queued in paced chunks, also across a
/// restart.
#[utoipa::path(
    post, path = "/projects/{projectId}/replay", tag = "deliveries",
    params(("projectId" = String, Path)),
    request_body = BulkReplayBody,
    responses(
        (status = 200, body = ReplayEnvelope, description = "With `dryRun`: how many would be queued; nothing is"),
        (status = 202, body = ReplayEnvelope, description = "Started: `count` deliveries will be queued"),
        (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope, description = "The project has a replay running"),
        (status = 422, body = ErrorEnvelope),
    ),
    security(("basic" = []))
)]
pub async fn start(
    State(state): State<AppState>,
    ApiPath(pid): ApiPath<String>,
    ApiJson(body): ApiJson<BulkReplayBody>,
) -> Result<Response, ApiError> {
    let filter = ReplayFilter {
        since: time_ms("since", &body.since)?,
        until: body
            .until
            .filter(|v| !v.is_null())
            .map(|v| time_ms("until", &v))
            .transpose()?,
        statuses: statuses(body.status)?,
        event_types: body.event_types,
        webhook_ids: body.webhook_ids,
    };
    let scope = Scope::project(&pid);
    if body.dry_run {
        let count = replays::count(&state, &scope, filter).await?;
        return Ok(ok(ReplayDto {
            id: None,
            count,
            queued: None,
            state: None,
            created_at: None,
            finished_at: None,
        }));
    }
    let r = replays::start(&state, &scope, filter, &Actor::API).await?;
    Ok(accepted(
        serde_json::to_value(ReplayDto::from(r)).expect("serializable"),
    ))
}

/// A replay and how far it got.
#[utoipa::path(
    get, path = "/projects/{projectId}/replays/{id}", tag = "deliveries",
    params(("projectId" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = ReplayEnvelope), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("basic" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let r = replays::get(&state, &Scope::project(&pid), &id).await?;
    Ok(ok(ReplayDto::from(r)))
}
