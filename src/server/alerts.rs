//! Telling people when a webhook breaks: a webhook auto-disabled, failing
//! every delivery for `--alert-failing-secs`, or with a pending delivery
//! older than `--alert-lag-secs`; and when it recovers. Once per episode:
//! an alert is a row, opened once (a unique index on the open ones, so that
//! of several processes only one tells) and closed when the condition
//! clears. Emails go through an outbox (`alert_emails`), sent and retried
//! by a task of their own: a mail server that is down delays them, and
//! nothing else.

use super::db::activity::{self, Actor};
use super::db::{self, alerts as rows, now_ms};
use super::scope::Scope;
use super::state::AppState;
use crate::model::{AlertFormat, AlertKind, AlertTarget, AppError, ProjectAlert};
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// Starts the checker and, with `--smtp-url`, the email sender. `base` is
/// where people reach the dashboard (for the links in emails).
pub fn spawn(state: AppState, base: String) -> Vec<tokio::task::JoinHandle<()>> {
    let every = Duration::from_millis(state.config.alerts.alert_check_ms.max(50));
    let mut tasks = Vec::new();
    let checker = state.clone();
    tasks.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = check(&checker, &base).await {
                tracing::warn!("checking for alerts: {e}");
            }
        }
    }));
    if let Some(url) = state.config.alerts.smtp_url.clone() {
        match AsyncSmtpTransport::<Tokio1Executor>::from_url(&url) {
            Ok(builder) => {
                let transport = builder.timeout(Some(Duration::from_secs(20))).build();
                tasks.push(tokio::spawn(send_loop(state, transport, every)));
            }
            Err(e) => tracing::error!("--smtp-url does not parse ({e}): no alert emails"),
        }
    }
    tasks
}

/// One look at every webhook: opens the alerts whose condition holds, and
/// closes (with a "recovered" note) those whose condition has cleared.
pub async fn check(state: &AppState, base: &str) -> anyhow::Result<()> {
    let now = now_ms();
    let failing_for = state.config.alerts.alert_failing_secs as i64 * 1000;
    let lag = state.config.alerts.alert_lag_secs as i64 * 1000;
    // The open ones first: one another process opens meanwhile is not
    // seen open with a state read before it (and closed at once).
    let open = rows::open(&state.db).await?;
    let watched = rows::watched(&state.db).await?;
    let holds = |w: &rows::Watched, kind: AlertKind| match kind {
        AlertKind::Disabled => !w.enabled && w.disabled_reason.is_some(),
        // A few deliveries failed for good, the first of them a while ago.
        AlertKind::Failing => {
            w.enabled
                && w.failed_deliveries >= MIN_FAILED
                && w.failing_since.is_some_and(|t| now - t >= failing_for)
        }
        AlertKind::Lagging => w.enabled && w.oldest_pending.is_some_and(|t| now - t >= lag),
    };
    for w in &watched {
        for kind in AlertKind::ALL {
            let is_open = open
                .iter()
                .any(|a| a.webhook_id == w.id && a.kind == kind.as_str());
            if is_open || !holds(w, kind) {
                continue;
            }
            let detail = w.disabled_reason.clone().unwrap_or_default();
            if rows::try_open(&state.db, &w.project_id, &w.id, kind.as_str(), &detail).await? {
                tracing::warn!(webhook = %w.id, kind = kind.as_str(), "alert opened");
                tell(state, base, w, kind, false, &detail).await;
            }
        }
    }
    for a in &open {
        let Some(kind) = AlertKind::parse(&a.kind) else {
            continue;
        };
        let now_holds = watched
            .iter()
            .find(|w| w.id == a.webhook_id)
            .map(|w| (w, holds(w, kind)));
        match now_holds {
            Some((_, true)) => {}
            // Disabled meanwhile (by Signpost, which opens its own alert,
            // or by a person): not a recovery. Closed without a word.
            Some((w, false)) if !w.enabled && kind != AlertKind::Disabled => {
                rows::close(&state.db, a.id).await?;
            }
            // Recovered: told once, by the process that closes it.
            Some((w, false)) => {
                if rows::close(&state.db, a.id).await? {
                    tracing::info!(webhook = %w.id, kind = kind.as_str(), "alert closed");
                    tell(state, base, w, kind, true, "").await;
                }
            }
            // Deleted: nothing left to watch or to tell.
            None => {
                rows::close(&state.db, a.id).await?;
            }
        }
    }
    Ok(())
}

/// Final failures, at least, before a webhook counts as failing (one
/// failure and no traffic since is not "every delivery").
const MIN_FAILED: i64 = 3;

/// Tells people of one alert (opened, or recovered): emails first (queued
/// durably), then the alert URL. A failure is logged; the alert stays as
/// it is.
async fn tell(
    state: &AppState,
    base: &str,
    w: &rows::Watched,
    kind: AlertKind,
    recovered: bool,
    detail: &str,
) {
    if let Err(e) = tell_all(state, base, w, kind, recovered, detail).await {
        tracing::error!(webhook = %w.id, kind = kind.as_str(), "telling of an alert: {e}");
    }
}

async fn tell_all(
    state: &AppState,
    base: &str,
    w: &rows::Watched,
    kind: AlertKind,
    recovered: bool,
    detail: &str,
) -> anyhow::Result<()> {
    let project = db::projects::get(&state.db, &w.project_id)
        .await?
        .map(|p| p.name)
        .unwrap_or_default();
    let link = format!(
        "{}/p/{}/webhooks/{}",
        base.trim_end_matches('/'),
        w.project_id,
        w.id
    );
    let (subject, what) = match recovered {
        false => (
            format!("[{project}] A webhook {}: {}", kind.what(), w.url),
            format!(
                "The webhook {} of the project {project} {}.",
                w.url,
                kind.what()
            ),
        ),
        true => (
            format!("[{project}] A webhook recovered: {}", w.url),
            format!(
                "The webhook {} of the project {project} recovered: it no longer {}.",
                w.url,
                match kind {
                    AlertKind::Disabled => "is disabled",
                    AlertKind::Failing => "fails every delivery",
                    AlertKind::Lagging => "falls behind",
                }
            ),
        ),
    };
    let reason = match detail.is_empty() {
        true => String::new(),
        false => format!("\nWhy: {detail}\n"),
    };
    let text = format!(
        "{what}\n{reason}\nIts page, with its deliveries and what the receiver answered:\n{link}\n\n\
         You get this because you reach this project in Signpost; turn these emails off on your \
         Account page.\n"
    );
    let html = format!(
        "<p>{}</p>{}<p><a href=\"{}\">Open the webhook's page</a>: its deliveries and what \
         the receiver answered.</p><p style=\"color:#5b6470\">You get this because you reach \
         this project in Signpost; turn these emails off on your Account page.</p>",
        escape(&what),
        match detail.is_empty() {
            true => String::new(),
            false => format!("<p>Why: {}</p>", escape(detail)),
        },
        escape(&link)
    );
    if state.config.alerts.smtp_url.is_some() {
        for to in rows::recipients(&state.db, &w.project_id).await? {
            rows::queue_email(
                &state.db,
                &rows::Email {
                    to: &to,
                    subject: &subject,
                    text: &text,
                    html: &html,
                },
            )
            .await?;
        }
    }
    deliver(state, w, kind, recovered, detail, &project, &subject, &link).await
}

/// Sends the alert to the project's alert URL, if it has one: a delivery
/// like any other (signed, retried, in the log), through the engine.
#[allow(clippy::too_many_arguments)]
async fn deliver(
    state: &AppState,
    w: &rows::Watched,
    kind: AlertKind,
    recovered: bool,
    detail: &str,
    project: &str,
    subject: &str,
    link: &str,
) -> anyhow::Result<()> {
    let (Some((hook, _)), format) = db::webhooks::alert_target(&state.db, &w.project_id).await?
    else {
        return Ok(());
    };
    let name = match recovered {
        false => format!("signpost.webhook.{}", kind.as_str()),
        true => "signpost.webhook.recovered".to_string(),
    };
    let body = match AlertFormat::parse(&format).unwrap_or_default() {
        AlertFormat::Signpost => serde_json::json!({
            "event": name,
            "project": { "id": w.project_id, "name": project },
            "webhook": { "id": w.id, "url": w.url },
            "alert": kind.as_str(),
            "reason": detail,
            "at": super::http_api::iso(now_ms()),
            "link": link,
        }),
        // Slack takes `text` (and lets the rest be); `<`, `>` and `&` are
        // its markup (`<!channel>`), escaped as it asks.
        AlertFormat::Slack => serde_json::json!({
            "event": name,
            "text": format!("{}\n{link}", slack_escape(subject)),
        }),
    };
    let event = super::delivery::ingest::parse_event(body.to_string().into())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    super::delivery::ingest::publish(
        &state.db,
        &state.delivery,
        &Scope::project(&w.project_id),
        vec![event],
        Some(&hook),
        None,
        |_| serde_json::Value::Null,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// The project's alert URL and format.
pub async fn target(state: &AppState, project_id: &str) -> Result<AlertTarget, AppError> {
    super::projects::get(state, project_id).await?;
    let (hook, format) = db::webhooks::alert_target(&state.db, project_id).await?;
    Ok(AlertTarget {
        webhook_url: hook.map(|(_, url)| url),
        format: AlertFormat::parse(&format).unwrap_or_default(),
        signing_secret: None,
    })
}

/// Sets (or, with `None`, removes) the project's alert URL. A new URL gets
/// a new signing secret, in the answer only.
pub async fn set_target(
    state: &AppState,
    project_id: &str,
    url: Option<&str>,
    format: AlertFormat,
    actor: &Actor<'_>,
) -> Result<AlertTarget, AppError> {
    super::projects::get(state, project_id).await?;
    let checked = match url.map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => Some(super::webhooks::check_url(state, u).await?),
        None => None,
    };
    db::webhooks::set_alert_format(&state.db, project_id, format.as_str()).await?;
    let (old, _) = db::webhooks::alert_target(&state.db, project_id).await?;
    let same = old.as_ref().map(|(_, u)| u) == checked.as_ref();
    if let (true, Some((id, _))) = (same, &old) {
        // Saved again: working again, if it had been disabled (a Slack
        // channel archived answers 410).
        db::webhooks::enable_alerts(&state.db, id).await?;
        state.delivery.webhook_changed(id);
    }
    let mut secret = None;
    if !same {
        if let Some(id) = db::webhooks::drop_alerts(&state.db, project_id).await? {
            state.delivery.webhook_changed(&id);
        }
        if let Some(url) = &checked {
            let new = super::secrets::new_spectrum_secret();
            let id = uuid::Uuid::new_v4().to_string();
            let sealed = state.secrets.seal(&new);
            db::webhooks::insert_alerts(&state.db, &id, project_id, url, &sealed).await?;
            secret = Some(new);
        }
        let (action, subject) = match &checked {
            Some(url) => ("alerts.url_set", url.as_str()),
            None => ("alerts.url_removed", ""),
        };
        activity::record(
            &state.db,
            Some(project_id),
            actor,
            action,
            subject,
            format.as_str(),
        )
        .await?;
    }
    Ok(AlertTarget {
        webhook_url: checked,
        format,
        signing_secret: secret,
    })
}

fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Tries after a failure: `--alert-email-retry-ms` (30 s), doubling, at
/// most an hour apart, 12 times.
const MAX_TRIES: i64 = 12;

fn retry_after_ms(first: u64, attempts: i64) -> i64 {
    ((first.min(3_600_000) as i64) << attempts.clamp(0, 7)).min(3_600_000)
}

async fn send_loop(
    state: AppState,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every.min(Duration::from_secs(5)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = send_due(&state, &transport).await {
            tracing::warn!("sending alert emails: {e}");
        }
    }
}

/// Sends what is due; a failure is tried again later, never blocks the rest.
async fn send_due(
    state: &AppState,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
) -> anyhow::Result<()> {
    let from: Mailbox = state.config.alerts.smtp_from.parse()?;
    for e in rows::due(&state.db, 50).await? {
        // Taken for two minutes: another process that read it due leaves it.
        if !rows::claim(&state.db, e.id, e.next_at, now_ms() + 120_000).await? {
            continue;
        }
        // Well within the claim, whatever the server does step by step.
        let sent = match message(&from, &e) {
            Ok(m) => match tokio::time::timeout(Duration::from_secs(60), transport.send(m)).await {
                Ok(r) => r.map(|_| ()).map_err(|e| e.to_string()),
                Err(_) => Err("the mail server took more than 60 s".into()),
            },
            Err(err) => Err(err),
        };
        match sent {
            Ok(()) => rows::sent(&state.db, e.id).await?,
            Err(err) => {
                let tries = e.attempts + 1;
                tracing::warn!(to = %e.to_address, tries, "an alert email failed: {err}");
                let next = match tries >= MAX_TRIES {
                    true => i64::MAX / 2, // given up
                    false => {
                        let first = state.config.alerts.alert_email_retry_ms;
                        now_ms() + retry_after_ms(first, e.attempts)
                    }
                };
                rows::failed(&state.db, e.id, next, &err).await?;
            }
        }
    }
    Ok(())
}

fn message(from: &Mailbox, e: &rows::Queued) -> Result<Message, String> {
    let to: Mailbox = e.to_address.parse().map_err(|err| format!("{err}"))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(e.subject.clone())
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(e.text_body.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(e.html_body.clone()),
                ),
        )
        .map_err(|err| err.to_string())
}

/// The open alerts of a project (the notice on its pages).
pub async fn open_in(state: &AppState, project_id: &str) -> Result<Vec<ProjectAlert>, AppError> {
    Ok(rows::open_in(&state.db, project_id)
        .await?
        .into_iter()
        .filter_map(|(webhook_id, webhook_url, kind, since)| {
            Some(ProjectAlert {
                kind: AlertKind::parse(&kind)?,
                webhook_id,
                webhook_url,
                since,
            })
        })
        .collect())
}

/// Old sent emails go (maintenance).
pub async fn forget(state: &AppState) {
    let week = 7 * 86_400_000;
    if let Err(e) = rows::forget_sent(&state.db, now_ms() - week).await {
        tracing::warn!("forgetting sent alert emails: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_grow_and_stop_at_an_hour() {
        assert_eq!(retry_after_ms(30_000, 0), 30_000);
        assert_eq!(retry_after_ms(30_000, 1), 60_000);
        assert_eq!(retry_after_ms(30_000, 6), 1_920_000);
        assert_eq!(retry_after_ms(30_000, 7), 3_600_000);
        assert_eq!(retry_after_ms(30_000, 50), 3_600_000);
        assert_eq!(retry_after_ms(100, 2), 400);
    }
}
