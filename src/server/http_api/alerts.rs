//! `GET`/`PUT /projects/{pid}/alerts`: where Signpost sends the project's
//! alerts (docs/operations.md, "Alerts Signpost sends itself").

use super::envelope::{ok, ApiError, ApiJson, ApiPath};
use super::webhooks::ErrorEnvelope;
use crate::model::AlertFormat;
use crate::server::db::activity::Actor;
use crate::server::{alerts, state::AppState};
use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertsBody {
    /// Where alerts go (https, public, as a webhook's URL); `null` stops them.
    #[schema(max_length = 2048)]
    webhook_url: Option<String>,
    /// `signpost` (default): JSON events such as `signpost.webhook.disabled`;
    /// `slack`: a body a Slack incoming webhook takes.
    #[serde(default)]
    format: Option<AlertFormat>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertsDto {
    webhook_url: Option<String>,
    format: AlertFormat,
    /// Only when a new URL was set: its deliveries are signed (spectrum-v0)
    /// with this secret, shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_secret: Option<String>,
}

/// The envelope of the alert settings (documentation only).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AlertsEnvelope {
    succeed: bool,
    data: AlertsDto,
}

fn dto(t: crate::model::AlertTarget) -> AlertsDto {
    AlertsDto {
        webhook_url: t.webhook_url,
        format: t.format,
        signing_secret: t.signing_secret,
    }
}

/// Where the project's alerts go.
#[utoipa::path(
    get, path = "/projects/{projectId}/alerts", tag = "alerts",
    params(("projectId" = String, Path)),
    responses((status = 200, body = AlertsEnvelope), (status = 401, body = ErrorEnvelope)),
    security(("basic" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(pid): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(ok(dto(alerts::target(&state, &pid).await?)))
}

/// Sets where the project's alerts go: a webhook is disabled automatically,
/// fails every delivery or falls behind, and recovers. Signpost delivers
/// them itself, signed, retried and logged like any delivery.
#[utoipa::path(
    put, path = "/projects/{projectId}/alerts", tag = "alerts",
    params(("projectId" = String, Path)),
    request_body = AlertsBody,
    responses(
        (status = 200, body = AlertsEnvelope, description = "`signingSecret` is set when the URL is new"),
        (status = 401, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope, description = "A refused URL, or an unknown format"),
    ),
    security(("basic" = []))
)]
pub async fn put(
    State(state): State<AppState>,
    ApiPath(pid): ApiPath<String>,
    ApiJson(body): ApiJson<AlertsBody>,
) -> Result<Response, ApiError> {
    let set = alerts::set_target(
        &state,
        &pid,
        body.webhook_url.as_deref(),
        body.format.unwrap_or_default(),
        &Actor::API,
    )
    .await?;
    Ok(ok(dto(set)))
}
