//! Webhook management: the one place that decides what is valid. Dashboard
//! server functions and the HTTP API both call these.

use super::db::activity::{self, Actor};
use super::db::{self, webhooks::Inserted};
use super::errors::internal;
use super::state::AppState;
use super::{secrets, url_guard};
use crate::model::{
    check_description, check_events, AppError, NewWebhook, Scheme, TestResult, Webhook,
    WebhookPatch, WebhookWithSecret, DEFAULT_GRACE_SECONDS, MAX_GRACE_SECONDS,
};
use std::time::Duration;

const MAX_URL_LEN: usize = 2048;

async fn project_must_exist(state: &AppState, project_id: &str) -> Result<(), AppError> {
    match db::projects::get(&state.db, project_id)
        .await
        .map_err(internal)?
    {
        Some(_) => Ok(()),
        None => Err(AppError::NotFound),
    }
}

fn new_secret(scheme: Scheme) -> String {
    match scheme {
        Scheme::SpectrumV0 => secrets::new_spectrum_secret(),
        Scheme::StandardWebhooks => secrets::new_standard_secret(),
    }
}

/// Checks a URL for registration: the URL guard's reason on refusal.
pub async fn check_url(state: &AppState, url: &str) -> Result<String, AppError> {
    if url.trim().is_empty() {
        return Err(AppError::Invalid(
            "Enter the URL that should receive events".into(),
        ));
    }
    if url.len() > MAX_URL_LEN {
        return Err(AppError::Invalid(format!(
            "A URL has at most {MAX_URL_LEN} characters"
        )));
    }
    let checked = url_guard::check(url, &state.config.allow_targets, &state.resolver)
        .await
        .map_err(|r| AppError::Invalid(r.to_string()))?;
    Ok(checked.url.to_string())
}

/// Appends to the project's activity record.
async fn record(
    state: &AppState,
    project_id: &str,
    actor: &Actor<'_>,
    action: &str,
    url: &str,
    detail: &str,
) -> Result<(), AppError> {
    activity::record(&state.db, Some(project_id), actor, action, url, detail)
        .await
        .map_err(internal)
}

pub async fn create(
    state: &AppState,
    project_id: &str,
    new: NewWebhook,
    actor: &Actor<'_>,
) -> Result<WebhookWithSecret, AppError> {
    project_must_exist(state, project_id).await?;
    let description = check_description(&new.description).map_err(AppError::Invalid)?;
    let events = check_events(&new.events).map_err(AppError::Invalid)?;
    let url = check_url(state, &new.url).await?;
    let secret = new_secret(new.scheme);
    let id = uuid::Uuid::new_v4().to_string();
    let inserted = db::webhooks::insert(
        &state.db,
        db::webhooks::Insert {
            id: &id,
            project_id,
            url: &url,
            description: &description,
            events: &events,
            scheme: new.scheme,
            ordering: new.ordering,
            sealed_secret: &state.secrets.seal(&secret),
        },
    )
    .await
    .map_err(internal)?;
    match inserted {
        Inserted::Yes(webhook) => {
            tracing::info!(project = project_id, webhook = %webhook.id, "webhook registered");
            let detail = format!("events: {}", webhook.events.join(", "));
            record(
                state,
                project_id,
                actor,
                "webhook.created",
                &webhook.url,
                &detail,
            )
            .await?;
            Ok(WebhookWithSecret {
                webhook,
                signing_secret: secret,
            })
        }
        Inserted::DuplicateUrl => Err(AppError::Conflict(
            "A webhook with this URL already exists in this project".into(),
        )),
    }
}

pub async fn list(state: &AppState, project_id: &str) -> Result<Vec<Webhook>, AppError> {
    project_must_exist(state, project_id).await?;
    db::webhooks::list(&state.db, project_id)
        .await
        .map_err(internal)
}

pub async fn get(state: &AppState, project_id: &str, id: &str) -> Result<Webhook, AppError> {
    db::webhooks::get(&state.db, project_id, id)
        .await
        .map_err(internal)?
        .ok_or(AppError::NotFound)
}

pub async fn update(
    state: &AppState,
    project_id: &str,
    id: &str,
    patch: WebhookPatch,
    actor: &Actor<'_>,
) -> Result<Webhook, AppError> {
    let mut webhook = get(state, project_id, id).await?;
    let before = webhook.clone();
    if let Some(description) = patch.description {
        webhook.description = check_description(&description).map_err(AppError::Invalid)?;
    }
    if let Some(events) = patch.events {
        webhook.events = check_events(&events).map_err(AppError::Invalid)?;
    }
    if let Some(enabled) = patch.enabled {
        webhook.enabled = enabled;
    }
    if let Some(ordering) = patch.ordering {
        webhook.ordering = ordering;
    }
    if !db::webhooks::update(&state.db, &webhook, patch.enabled)
        .await
        .map_err(internal)?
    {
        return Err(AppError::NotFound);
    }
    state.delivery.webhook_changed(id);
    let (action, detail) = match (before.enabled, webhook.enabled) {
        (true, false) => ("webhook.disabled", String::new()),
        (false, true) => ("webhook.enabled", String::new()),
        _ => {
            let mut changed = Vec::new();
            if before.events != webhook.events {
                changed.push(format!("events: {}", webhook.events.join(", ")));
            }
            if before.description != webhook.description {
                changed.push("description".to_string());
            }
            if before.ordering != webhook.ordering {
                changed.push(format!("order: {}", webhook.ordering.as_str()));
            }
            ("webhook.edited", changed.join("; "))
        }
    };
    record(state, project_id, actor, action, &webhook.url, &detail).await?;
    get(state, project_id, id).await
}

pub async fn delete(
    state: &AppState,
    project_id: &str,
    id: &str,
    actor: &Actor<'_>,
) -> Result<(), AppError> {
    let webhook = get(state, project_id, id).await?;
    if db::webhooks::soft_delete(&state.db, project_id, id)
        .await
        .map_err(internal)?
    {
        state.delivery.webhook_changed(id);
        tracing::info!(project = project_id, webhook = id, "webhook deleted");
        record(
            state,
            project_id,
            actor,
            "webhook.deleted",
            &webhook.url,
            "",
        )
        .await
    } else {
        Err(AppError::NotFound)
    }
}

/// A new secret; the old one keeps working for `grace_seconds` (default one
/// day, at most seven; zero ends it at once).
pub async fn rotate(
    state: &AppState,
    project_id: &str,
    id: &str,
    grace_seconds: Option<u64>,
    actor: &Actor<'_>,
) -> Result<WebhookWithSecret, AppError> {
    let grace = grace_seconds.unwrap_or(DEFAULT_GRACE_SECONDS);
    if grace > MAX_GRACE_SECONDS {
        return Err(AppError::Invalid(format!(
            "The grace period is at most {MAX_GRACE_SECONDS} seconds (7 days)"
        )));
    }
    let webhook = get(state, project_id, id).await?;
    let secret = new_secret(webhook.scheme);
    let previous_expires_at = (grace > 0).then(|| db::now_ms() + grace as i64 * 1000);
    if !db::webhooks::rotate(
        &state.db,
        project_id,
        id,
        &state.secrets.seal(&secret),
        previous_expires_at,
    )
    .await
    .map_err(internal)?
    {
        return Err(AppError::NotFound);
    }
    state.delivery.webhook_changed(id);
    tracing::info!(
        project = project_id,
        webhook = id,
        grace,
        "webhook secret rotated"
    );
    let detail = format!("grace period {}", grace_text(grace));
    record(
        state,
        project_id,
        actor,
        "webhook.rotated",
        &webhook.url,
        &detail,
    )
    .await?;
    Ok(WebhookWithSecret {
        webhook: get(state, project_id, id).await?,
        signing_secret: secret,
    })
}

/// Ends a rotation's grace period now: only the new secret signs.
pub async fn finish_rotation(
    state: &AppState,
    project_id: &str,
    id: &str,
    actor: &Actor<'_>,
) -> Result<Webhook, AppError> {
    if !db::webhooks::finish_rotation(&state.db, project_id, id)
        .await
        .map_err(internal)?
    {
        return Err(AppError::NotFound);
    }
    state.delivery.webhook_changed(id);
    tracing::info!(project = project_id, webhook = id, "rotation finished");
    let webhook = get(state, project_id, id).await?;
    record(
        state,
        project_id,
        actor,
        "webhook.rotation_finished",
        &webhook.url,
        "",
    )
    .await?;
    Ok(webhook)
}

fn grace_text(seconds: u64) -> String {
    match seconds {
        0 => "none".into(),
        86_400 => "1 day".into(),
        3_600 => "1 hour".into(),
        s if s % 86_400 == 0 => format!("{} days", s / 86_400),
        s if s % 3_600 == 0 => format!("{} hours", s / 3_600),
        s => format!("{s} seconds"),
    }
}

pub struct TestSent {
    pub event_id: String,
    pub delivery_id: String,
}

/// Queues a sample `messages` event to this one webhook, whatever its filter.
pub async fn send_test(state: &AppState, project_id: &str, id: &str) -> Result<TestSent, AppError> {
    use super::delivery::ingest;
    let webhook = get(state, project_id, id).await?;
    if !webhook.enabled {
        return Err(AppError::Conflict(
            "The webhook is disabled: enable it to send a test event".into(),
        ));
    }
    let event = ingest::parse_event(ingest::test_event_body()).map_err(AppError::Invalid)?;
    let mut event_id = String::new();
    ingest::publish(
        &state.db,
        &state.delivery,
        project_id,
        vec![event],
        Some(id),
        None,
        |stored| {
            event_id = stored[0].id.clone();
            serde_json::Value::Null
        },
    )
    .await?;
    // The delivery's id, read back: the test event has exactly one.
    let delivery_id = db::deliveries::of_event(&state.db, &event_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::Conflict("The webhook was disabled meanwhile".into()))?;
    Ok(TestSent {
        event_id,
        delivery_id,
    })
}

/// Waits for a delivery's first attempt (or its end without one) and
/// reports it; gives up a little after the attempt timeout.
pub async fn first_attempt(state: &AppState, delivery_id: &str) -> Result<TestResult, AppError> {
    let limit =
        Duration::from_millis(state.config.delivery.attempt_timeout_ms) + Duration::from_secs(5);
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        // Listen before looking, so that a commit in between is not missed.
        let recorded = state.delivery.recorded.notified();
        if let Some((status, error, duration_ms)) = db::attempts::first(&state.db, delivery_id)
            .await
            .map_err(internal)?
        {
            let status = status.and_then(|s| u16::try_from(s).ok());
            return Ok(TestResult {
                delivery_id: delivery_id.to_string(),
                succeeded: status.is_some_and(|s| (200..300).contains(&s)),
                status,
                error,
                duration_ms,
            });
        }
        if let Some((status, error)) = db::deliveries::status(&state.db, delivery_id)
            .await
            .map_err(internal)?
        {
            if status == "cancelled" {
                return Ok(TestResult {
                    delivery_id: delivery_id.to_string(),
                    status: None,
                    error: error.or(Some("Cancelled".into())),
                    duration_ms: 0,
                    succeeded: false,
                });
            }
        }
        if tokio::time::timeout_at(deadline, recorded).await.is_err() {
            return Err(AppError::Conflict(
                "No attempt was made in time: the delivery is still queued".into(),
            ));
        }
    }
}
