//! Telling people when a webhook breaks: a webhook auto-disabled, failing
//! every delivery for `--alert-failing-secs`, or with a pending delivery
//! older than `--alert-lag-secs`; and when it recovers. Once per episode:
//! an alert is a row, opened once (a unique index on the open ones, so that
//! of several processes only one tells) and closed when the condition
//! clears. Emails go through an outbox (`alert_emails`), sent and retried
//! by a task of their own: a mail server that is down delays them, and
//! nothing else.

mod email;
mod url;

pub use url::{set_target, target};

use super::db::{self, alerts as rows, now_ms};
use super::state::AppState;
use crate::model::{AlertKind, AppError, ProjectAlert};
use lettre::{AsyncSmtpTransport, Tokio1Executor};
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
                tasks.push(tokio::spawn(email::send_loop(state, transport, every)));
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
            let is_open = open.iter().any(|a| a.webhook_id == w.id && a.kind == kind);
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
        let kind = a.kind;
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
    url::deliver(state, w, kind, recovered, detail, &project, &subject, &link).await
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
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
