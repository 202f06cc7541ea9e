//! `/projects/{pid}/webhooks…` handlers: JSON in and out, the work is in
//! `crate::server::webhooks`.

use super::envelope::{iso, ok, ApiError, ApiJson, ApiJsonOrDefault, ApiPath, ApiQuery};
use crate::model::{
    check_tenant, AppError, NewWebhook, Ordering, Scheme, Webhook, WebhookPatch, WebhookSettings,
    WebhookWithSecret,
};
use crate::server::db::activity::Actor;
use crate::server::scope::Scope;
use crate::server::{state::AppState, webhooks};
use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A webhook on the wire (Spectrum's field names).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Webhook)]
pub struct WebhookDto {
    /// UUID v4.
    id: String,
    /// The platform's customer it belongs to (absent: the platform's own).
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<String>,
    webhook_url: String,
    /// `["*"]` for every event, or event names.
    events: Vec<String>,
    description: String,
    scheme: Scheme,
    ordering: Ordering,
    /// A JSON Pointer into each event: with `ordered`, the order holds per
    /// value it finds and different values go in parallel (`null`: none,
    /// one order for the whole webhook).
    ordering_key: Option<String>,
    /// Attempts in flight at once (set, or the default for its ordering
    /// and key; an `ordered` webhook without a key has one at a time).
    max_concurrency: u16,
    /// Deliveries per second at most (`null`: no limit).
    rate_limit: Option<f64>,
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

impl From<Webhook> for WebhookDto {
    fn from(w: Webhook) -> Self {
        WebhookDto {
            id: w.id,
            tenant: w.tenant,
            webhook_url: w.url,
            events: w.events,
            description: w.description,
            scheme: w.scheme,
            ordering: w.ordering,
            max_concurrency: w.max_concurrency.unwrap_or(w.default_concurrency),
            ordering_key: w.ordering_key,
            rate_limit: w.rate_limit,
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

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    /// The platform's customer it belongs to: 1 to 64 of `A-Z a-z 0-9 . _ : -`.
    /// It receives only the events published with `?tenant=` this id.
    #[serde(default)]
    #[schema(max_length = 64, pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    tenant: Option<String>,
    /// https, resolving to public addresses only (unless allow-listed).
    #[schema(max_length = 2048)]
    webhook_url: String,
    /// `spectrum-v0` (default) or `standard-webhooks`.
    #[serde(default)]
    scheme: Option<Scheme>,
    #[serde(flatten)]
    settings: WebhookSettings,
}

/// The envelope of an answer with one webhook (documentation only).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct WebhookEnvelope {
    succeed: bool,
    data: WebhookDto,
}

/// The envelope of an answer with a list of webhooks (documentation only).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct WebhookListEnvelope {
    succeed: bool,
    data: Vec<WebhookDto>,
}

/// The envelope of every error (documentation only).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorEnvelope {
    /// Always false.
    succeed: bool,
    message: String,
}

/// Register a webhook; the answer carries its signing secret, the only time
/// it is shown.
#[utoipa::path(
    post, path = "/projects/{projectId}/webhooks/", tag = "webhooks", operation_id = "create_webhook",
    params(("projectId" = String, Path)),
    request_body = CreateBody,
    responses(
        (status = 200, body = WebhookEnvelope, description = "Registered; `signingSecret` is set"),
        (status = 401, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope, description = "An active webhook has this URL"),
        (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope, description = "Invalid or refused URL, events or body"),
        (status = 429, body = ErrorEnvelope),
    ),
    security(("basic" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    ApiPath(pid): ApiPath<String>,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Response, ApiError> {
    let new = NewWebhook {
        tenant: body.tenant,
        url: body.webhook_url,
        scheme: body.scheme.unwrap_or_default(),
        settings: body.settings,
    };
    let created = webhooks::create(&state, &Scope::project(&pid), new, &Actor::API).await?;
    Ok(ok(WebhookDto::from(created)))
}

/// The list's query.
#[derive(Deserialize)]
pub struct ListQuery {
    tenant: Option<String>,
}

/// Every active webhook of the project (or of one tenant), oldest first;
/// never a secret.
#[utoipa::path(
    get, path = "/projects/{projectId}/webhooks/", tag = "webhooks", operation_id = "list_webhooks",
    params(("projectId" = String, Path), ("tenant" = Option<String>, Query, description = "Only this tenant's webhooks")),
    responses((status = 200, body = WebhookListEnvelope), (status = 401, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope, description = "A bad (or repeated) `tenant`"), (status = 429, body = ErrorEnvelope)),
    security(("basic" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    ApiPath(pid): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let scope = match q.tenant {
        Some(t) => Scope::tenant(&pid, &check_tenant(&t).map_err(AppError::Invalid)?),
        None => Scope::project(&pid),
    };
    let all = webhooks::list(&state, &scope).await?;
    Ok(ok(all
        .into_iter()
        .map(WebhookDto::from)
        .collect::<Vec<_>>()))
}

/// One webhook.
#[utoipa::path(
    get, path = "/projects/{projectId}/webhooks/{id}", tag = "webhooks", operation_id = "get_webhook",
    params(("projectId" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = WebhookEnvelope), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("basic" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(ok(WebhookDto::from(
        webhooks::get(&state, &Scope::project(&pid), &id).await?,
    )))
}

/// Change `enabled`, `events`, `description`, `ordering`, `orderingKey`,
/// `maxConcurrency` or `rateLimit`; absent fields stay, `null` clears.
#[utoipa::path(
    patch, path = "/projects/{projectId}/webhooks/{id}", tag = "webhooks", operation_id = "update_webhook",
    params(("projectId" = String, Path), ("id" = String, Path)),
    request_body = WebhookPatch,
    responses((status = 200, body = WebhookEnvelope), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("basic" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
    ApiJson(patch): ApiJson<WebhookPatch>,
) -> Result<Response, ApiError> {
    Ok(ok(WebhookDto::from(
        webhooks::update(&state, &Scope::project(&pid), &id, patch, &Actor::API).await?,
    )))
}

/// Soft-delete a webhook: deliveries to it stop.
#[utoipa::path(
    delete, path = "/projects/{projectId}/webhooks/{id}/", tag = "webhooks", operation_id = "delete_webhook",
    params(("projectId" = String, Path), ("id" = String, Path)),
    responses((status = 200, description = "`{\"succeed\": true, \"data\": {\"id\": …}}`"), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope, description = "Unknown or already deleted")),
    security(("basic" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    webhooks::delete(&state, &Scope::project(&pid), &id, &Actor::API).await?;
    Ok(ok(serde_json::json!({ "id": id })))
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RotateBody {
    /// How long the old secret keeps working: default 86400, at most 604800.
    #[schema(maximum = 604800)]
    grace_seconds: Option<u64>,
}

/// A new signing secret (shown once); the old one works for the grace period.
#[utoipa::path(
    post, path = "/projects/{projectId}/webhooks/{id}/rotate", tag = "webhooks",
    params(("projectId" = String, Path), ("id" = String, Path)),
    request_body(content = RotateBody, description = "Optional"),
    responses((status = 200, body = WebhookEnvelope, description = "`signingSecret` and `previousSecretExpiresAt` are set"), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("basic" = []))
)]
pub async fn rotate(
    State(state): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
    ApiJsonOrDefault(body): ApiJsonOrDefault<RotateBody>,
) -> Result<Response, ApiError> {
    let rotated = webhooks::rotate(
        &state,
        &Scope::project(&pid),
        &id,
        body.grace_seconds,
        &Actor::API,
    )
    .await?;
    Ok(ok(WebhookDto::from(rotated)))
}

/// End a rotation's grace period now: only the new secret signs.
#[utoipa::path(
    post, path = "/projects/{projectId}/webhooks/{id}/rotate/finish", tag = "webhooks",
    params(("projectId" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = WebhookEnvelope), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("basic" = []))
)]
pub async fn finish_rotation(
    State(state): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(ok(WebhookDto::from(
        webhooks::finish_rotation(&state, &Scope::project(&pid), &id, &Actor::API).await?,
    )))
}
