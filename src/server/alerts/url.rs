//! A project's alert URL: Signpost's own deliveries of its alerts.

use super::rows;
use crate::model::{AlertFormat, AlertKind, AlertTarget, AppError};
use crate::server::db::activity::{self, Actor};
use crate::server::db::{self, now_ms};
use crate::server::scope::Scope;
use crate::server::state::AppState;

/// Sends the alert to the project's alert URL, if it has one: a delivery
/// like any other (signed, retried, in the log), through the engine.
#[allow(clippy::too_many_arguments)]
pub(super) async fn deliver(
    state: &AppState,
    w: &rows::Watched,
    kind: AlertKind,
    recovered: bool,
    detail: &str,
    project: &str,
    subject: &str,
    link: &str,
) -> anyhow::Result<()> {
    let (Some((hook, _)), format) = db::alerts::alert_target(&state.db, &w.project_id).await?
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
            "at": crate::server::http_api::iso(now_ms()),
            "link": link,
        }),
        // Slack takes `text` (and lets the rest be); `<`, `>` and `&` are
        // its markup (`<!channel>`), escaped as it asks.
        AlertFormat::Slack => serde_json::json!({
            "event": name,
            "text": format!("{}\n{link}", slack_escape(subject)),
        }),
    };
    let event = crate::server::delivery::ingest::parse_event(body.to_string().into())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::server::delivery::ingest::publish(
        &state.db,
        &state.delivery,
        &Scope::project(&w.project_id),
        vec![event],
        crate::server::delivery::ingest::How::to(crate::model::EventSource::Alert, &hook),
        |_| serde_json::Value::Null,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// The project's alert URL and format.
pub async fn target(state: &AppState, project_id: &str) -> Result<AlertTarget, AppError> {
    crate::server::projects::get(state, project_id).await?;
    let (hook, format) = db::alerts::alert_target(&state.db, project_id).await?;
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
    crate::server::projects::get(state, project_id).await?;
    let checked = match url.map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => Some(crate::server::webhooks::check_url(state, u).await?),
        None => None,
    };
    db::alerts::set_alert_format(&state.db, project_id, format.as_str()).await?;
    let (old, _) = db::alerts::alert_target(&state.db, project_id).await?;
    let same = old.as_ref().map(|(_, u)| u) == checked.as_ref();
    if let (true, Some((id, _))) = (same, &old) {
        // Saved again: working again, if it had been disabled (a Slack
        // channel archived answers 410).
        db::alerts::enable_alerts(&state.db, id).await?;
        state.delivery.webhook_changed(id);
    }
    let mut secret = None;
    if !same {
        if let Some(id) = db::alerts::drop_alerts(&state.db, project_id).await? {
            state.delivery.webhook_changed(&id);
        }
        if let Some(url) = &checked {
            let new = crate::server::secrets::new_spectrum_secret();
            let id = uuid::Uuid::new_v4().to_string();
            let sealed = state.secrets.seal(&new);
            db::alerts::insert_alerts(&state.db, &id, project_id, url, &sealed).await?;
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
