//! Webhook management: the one place that decides what is valid. Dashboard
//! server functions and the HTTP API both call these.

use super::db::activity::{self, Actor};
use super::db::{self, webhooks::Inserted};
use super::scope::Scope;
use super::state::AppState;
use super::{secrets, url_guard};
use crate::model::{
    check_tenant, AppError, DeliveryStatus, NewWebhook, Scheme, TestResult, Webhook, WebhookPatch,
    WebhookWithSecret, DEFAULT_GRACE_SECONDS, MAX_GRACE_SECONDS, MAX_PORTAL_WEBHOOKS,
};
use std::time::Duration;

const MAX_URL_LEN: usize = 2048;

async fn project_must_exist(state: &AppState, project_id: &str) -> Result<(), AppError> {
    match db::projects::get(&state.db, project_id).await? {
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

/// The server's `--unordered-concurrency`: an unordered webhook's default.
fn unordered_default(state: &AppState) -> u16 {
    u16::try_from(state.config.delivery.unordered_concurrency).unwrap_or(u16::MAX)
}

/// Tells the delivery worker (here, and in every other process) that a
/// webhook changed: what it read of it is read again, its pace applies now.
async fn changed(state: &AppState, webhook: Option<&Webhook>, id: &str) {
    state.delivery.webhook_changed(id);
    if let Some(w) = webhook {
        state
            .delivery
            .pace_changed(id, crate::server::db::webhooks::Pace::of_webhook(w));
    }
    if let Err(e) = db::webhooks::notify_changed(&state.db, id).await {
        // The other processes read it again within seconds anyway.
        tracing::warn!(webhook = id, "telling other processes of a change: {e}");
    }
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
    Ok(activity::record(&state.db, Some(project_id), actor, action, url, detail).await?)
}

/// Registers a webhook; in a tenant's scope, for that tenant whatever
/// `new` says.
pub async fn create(
    state: &AppState,
    scope: &Scope,
    new: NewWebhook,
    actor: &Actor<'_>,
) -> Result<WebhookWithSecret, AppError> {
    let project_id = scope.project_id.as_str();
    project_must_exist(state, project_id).await?;
    let tenant = match (&scope.tenant, &new.tenant) {
        (Some(t), _) => {
            let theirs = list(state, scope).await?.len();
            if theirs >= MAX_PORTAL_WEBHOOKS {
                return Err(AppError::Conflict(format!(
                    "An account has at most {MAX_PORTAL_WEBHOOKS} webhooks: delete one first"
                )));
            }
            Some(t.clone())
        }
        (None, Some(t)) => Some(check_tenant(t).map_err(AppError::Invalid)?),
        (None, None) => None,
    };
    let mut webhook = Webhook {
        id: uuid::Uuid::new_v4().to_string(),
        project_id: project_id.to_string(),
        tenant: tenant.clone(),
        scheme: new.scheme,
        ..Webhook::with_defaults()
    };
    new.settings.apply(&mut webhook)?;
    webhook.url = check_url(state, &new.url).await?;
    let secret = new_secret(new.scheme);
    let inserted = db::webhooks::insert(
        &state.db,
        &webhook,
        &state.secrets.seal(&secret),
        unordered_default(state),
    )
    .await?;
    match inserted {
        Inserted::Yes(webhook) => {
            let webhook = *webhook;
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
        Inserted::DuplicateUrl => Err(AppError::Conflict(match tenant {
            Some(_) => "A webhook with this URL already exists for this tenant".into(),
            None => "A webhook with this URL already exists in this project".into(),
        })),
    }
}

/// The scope's webhooks, oldest first.
pub async fn list(state: &AppState, scope: &Scope) -> Result<Vec<Webhook>, AppError> {
    project_must_exist(state, &scope.project_id).await?;
    Ok(db::webhooks::list(
        &state.db,
        &scope.project_id,
        scope.tenant.as_deref(),
        unordered_default(state),
    )
    .await?)
}

/// One webhook of the scope: another project's or another tenant's
/// answers 404, as if it did not exist.
pub async fn get(state: &AppState, scope: &Scope, id: &str) -> Result<Webhook, AppError> {
    db::webhooks::get(&state.db, &scope.project_id, id, unordered_default(state))
        .await?
        .filter(|w| scope.admits(w))
        .ok_or(AppError::NotFound)
}

pub async fn update(
    state: &AppState,
    scope: &Scope,
    id: &str,
    patch: WebhookPatch,
    actor: &Actor<'_>,
) -> Result<Webhook, AppError> {
    let project_id = scope.project_id.as_str();
    let mut webhook = get(state, scope, id).await?;
    let was_enabled = webhook.enabled;
    let changes = patch.settings.apply(&mut webhook)?;
    if let Some(enabled) = patch.enabled {
        webhook.enabled = enabled;
    }
    if !db::webhooks::update(&state.db, &webhook, patch.enabled).await? {
        return Err(AppError::NotFound);
    }
    // As stored (its `updated_at` is the pace's version).
    let after = get(state, scope, id).await?;
    changed(state, Some(&after), id).await;
    let (action, detail) = match (was_enabled, webhook.enabled) {
        (true, false) => ("webhook.disabled", String::new()),
        (false, true) => ("webhook.enabled", String::new()),
        _ => ("webhook.edited", changes.join("; ")),
    };
    record(state, project_id, actor, action, &webhook.url, &detail).await?;
    Ok(after)
}

pub async fn delete(
    state: &AppState,
    scope: &Scope,
    id: &str,
    actor: &Actor<'_>,
) -> Result<(), AppError> {
    let project_id = scope.project_id.as_str();
    let webhook = get(state, scope, id).await?;
    if db::webhooks::soft_delete(&state.db, project_id, id).await? {
        changed(state, None, id).await;
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
    scope: &Scope,
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
    let project_id = scope.project_id.as_str();
    let webhook = get(state, scope, id).await?;
    let secret = new_secret(webhook.scheme);
    let previous_expires_at = (grace > 0).then(|| db::now_ms() + grace as i64 * 1000);
    if !db::webhooks::rotate(
        &state.db,
        project_id,
        id,
        &state.secrets.seal(&secret),
        previous_expires_at,
    )
    .await?
    {
        return Err(AppError::NotFound);
    }
    changed(state, None, id).await;
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
        webhook: get(state, scope, id).await?,
        signing_secret: secret,
    })
}

/// Ends a rotation's grace period now: only the new secret signs.
pub async fn finish_rotation(
    state: &AppState,
    scope: &Scope,
    id: &str,
    actor: &Actor<'_>,
) -> Result<Webhook, AppError> {
    let project_id = scope.project_id.as_str();
    get(state, scope, id).await?;
    if !db::webhooks::finish_rotation(&state.db, project_id, id).await? {
        return Err(AppError::NotFound);
    }
    changed(state, None, id).await;
    tracing::info!(project = project_id, webhook = id, "rotation finished");
    let webhook = get(state, scope, id).await?;
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
pub async fn send_test(state: &AppState, scope: &Scope, id: &str) -> Result<TestSent, AppError> {
    use super::delivery::ingest;
    let webhook = get(state, scope, id).await?;
    if !webhook.enabled {
        return Err(AppError::Conflict(
            "The webhook is disabled: enable it to send a test event".into(),
        ));
    }
    // The catalog's example of a type the webhook takes, else a sample
    // Spectrum message.
    let body = match super::catalog::example_for(state, &scope.project_id, &webhook.events).await? {
        Some(example) => bytes::Bytes::from(example),
        None => ingest::test_event_body(),
    };
    let event = ingest::parse_event(body).map_err(AppError::Invalid)?;
    let mut event_id = String::new();
    // Published as the webhook's tenant's (or the project's own) event.
    let to_scope = Scope {
        project_id: scope.project_id.clone(),
        tenant: webhook.tenant.clone(),
    };
    ingest::publish(
        &state.db,
        &state.delivery,
        &to_scope,
        vec![event],
        ingest::How::to(crate::model::EventSource::Test, id),
        |stored| {
            event_id = stored[0].id.clone();
            serde_json::Value::Null
        },
    )
    .await?;
    // The delivery's id, read back: the test event has exactly one.
    let delivery_id = db::deliveries::of_event(&state.db, &event_id)
        .await?
        .ok_or_else(|| AppError::Conflict("The webhook was disabled meanwhile".into()))?;
    Ok(TestSent {
        event_id,
        delivery_id,
    })
}

/// Waits for a delivery's first attempt (or its end without one) and
/// reports it. Gives up a little after the attempt timeout, and always
/// before the request's own time limit: a receiver that does not answer
/// gets a result that says so, not a `408`.
pub async fn first_attempt(state: &AppState, delivery_id: &str) -> Result<TestResult, AppError> {
    let attempt = Duration::from_millis(state.config.delivery.attempt_timeout_ms);
    let request = Duration::from_millis(state.config.request_timeout_ms);
    let limit = (attempt + Duration::from_secs(5)).min(request.mul_f64(0.9));
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        // Listen before looking, so that a commit in between is not missed.
        let recorded = state.delivery.recorded.notified();
        if let Some((status, error, duration_ms)) =
            db::attempts::first(&state.db, delivery_id).await?
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
        if let Some((status, error)) = db::deliveries::status(&state.db, delivery_id).await? {
            if status == DeliveryStatus::Cancelled {
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
            let waited = limit.as_secs_f64();
            return Ok(TestResult {
                delivery_id: delivery_id.to_string(),
                status: None,
                error: Some(format!(
                    "Timed out: no answer within {waited:.0} s. The attempt may still be \
                     under way; the delivery log will show how it ends."
                )),
                duration_ms: limit.as_millis() as i64,
                succeeded: false,
            });
        }
    }
}
