//! `/projects/{pid}/webhooks…` handlers: JSON in and out, the work is in
//! `crate::server::webhooks`.

use super::envelope::{ok, ApiError, ApiJson, ApiJsonOrDefault};
use crate::model::{NewWebhook, Scheme, Webhook, WebhookPatch, WebhookWithSecret};
use crate::server::{state::AppState, webhooks};
use axum::extract::{Path, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;

/// A webhook on the wire (Spectrum's field names).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDto {
    id: String,
    webhook_url: String,
    events: Vec<String>,
    description: String,
    scheme: Scheme,
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    disabled_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_secret_expires_at: Option<String>,
    created_at: String,
    updated_at: String,
    /// Only in the answers to create and rotate.
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_secret: Option<String>,
}

fn iso(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

impl From<Webhook> for WebhookDto {
    fn from(w: Webhook) -> Self {
        WebhookDto {
            id: w.id,
            webhook_url: w.url,
            events: w.events,
            description: w.description,
            scheme: w.scheme,
            enabled: w.enabled,
            disabled_reason: w.disabled_reason,
            previous_secret_expires_at: w.previous_secret_expires_at.map(iso),
            created_at: iso(w.created_at),
            updated_at: iso(w.updated_at),
            signing_secret: None,
        }
    }
}

impl From<WebhookWithSecret> for WebhookDto {
    fn from(w: WebhookWithSecret) -> Self {
        WebhookDto {
            signing_secret: Some(w.signing_secret),
            ..WebhookDto::from(w.webhook)
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    webhook_url: String,
    #[serde(default)]
    events: Option<Vec<String>>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    scheme: Option<Scheme>,
}

pub async fn create(
    State(state): State<AppState>,
    Path(pid): Path<String>,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Response, ApiError> {
    let new = NewWebhook {
        url: body.webhook_url,
        description: body.description.unwrap_or_default(),
        events: body.events.unwrap_or_default(),
        scheme: body.scheme.unwrap_or_default(),
    };
    let created = webhooks::create(&state, &pid, new).await?;
    Ok(ok(WebhookDto::from(created)))
}

pub async fn list(
    State(state): State<AppState>,
    Path(pid): Path<String>,
) -> Result<Response, ApiError> {
    let all = webhooks::list(&state, &pid).await?;
    Ok(ok(all
        .into_iter()
        .map(WebhookDto::from)
        .collect::<Vec<_>>()))
}

pub async fn get(
    State(state): State<AppState>,
    Path((pid, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(ok(WebhookDto::from(
        webhooks::get(&state, &pid, &id).await?,
    )))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PatchBody {
    enabled: Option<bool>,
    events: Option<Vec<String>>,
    description: Option<String>,
}

pub async fn update(
    State(state): State<AppState>,
    Path((pid, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<PatchBody>,
) -> Result<Response, ApiError> {
    let patch = WebhookPatch {
        enabled: body.enabled,
        description: body.description,
        events: body.events,
    };
    Ok(ok(WebhookDto::from(
        webhooks::update(&state, &pid, &id, patch).await?,
    )))
}

pub async fn delete(
    State(state): State<AppState>,
    Path((pid, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    webhooks::delete(&state, &pid, &id).await?;
    Ok(ok(serde_json::json!({ "id": id })))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RotateBody {
    grace_seconds: Option<u64>,
}

pub async fn rotate(
    State(state): State<AppState>,
    Path((pid, id)): Path<(String, String)>,
    ApiJsonOrDefault(body): ApiJsonOrDefault<RotateBody>,
) -> Result<Response, ApiError> {
    let rotated = webhooks::rotate(&state, &pid, &id, body.grace_seconds).await?;
    Ok(ok(WebhookDto::from(rotated)))
}
