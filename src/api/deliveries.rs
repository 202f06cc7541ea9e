//! The delivery log, a delivery's page, and the actions taken from them.

use crate::model::{
    ActivityEntry, AppError, DeliveryDetail, DeliveryPage, HourStats, LogFilter, WebhookHealth,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
fn cursor(cursor: Option<&str>) -> Result<crate::model::Cursor, AppError> {
    match cursor.filter(|c| !c.is_empty()) {
        None => Ok(crate::model::Cursor::Newest),
        Some(c) => crate::model::Cursor::decode(c)
            .ok_or_else(|| AppError::Invalid("That page of the log does not exist".into())),
    }
}

/// A page of a project's log, newest first.
#[server(endpoint = "deliveries/list")]
pub async fn list_deliveries(
    project_id: String,
    // An empty filter has no fields in the form at all.
    #[server(default)] filter: LogFilter,
    cursor: Option<String>,
) -> Result<DeliveryPage, AppError> {
    use crate::server::{context, delivery_log};
    context::respond(async {
        let s = context::in_scope(&project_id).await?;
        let cursor = self::cursor(cursor.as_deref())?;
        delivery_log::page(
            &s.cx.state,
            &s.scope,
            filter,
            cursor,
            crate::model::LOG_PAGE,
        )
        .await
    })
    .await
}

#[server(endpoint = "deliveries/get")]
pub async fn get_delivery(
    project_id: String,
    delivery_id: String,
) -> Result<DeliveryDetail, AppError> {
    use crate::server::{context, delivery_log};
    context::respond(async {
        let s = context::in_scope(&project_id).await?;
        let mut d = delivery_log::detail(&s.cx.state, &s.scope, &delivery_id).await?;
        // Pretty-printed for people; the API keeps the exact bytes.
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&d.body) {
            d.body = serde_json::to_string_pretty(&v).unwrap_or(d.body);
        }
        Ok(d)
    })
    .await
}

/// A new delivery of the same event to the same webhook; returns its id.
#[server(endpoint = "deliveries/redeliver")]
pub async fn redeliver(project_id: String, delivery_id: String) -> Result<String, AppError> {
    use crate::server::{context, delivery_log};
    context::respond(async {
        let s = context::to_change(&project_id).await?;
        let id = delivery_log::redeliver(&s.cx.state, &s.scope, &delivery_id, &s.actor()).await?;
        context::form_done(&format!("redelivered.{id}"));
        Ok(id)
    })
    .await
}

#[server(endpoint = "deliveries/cancel")]
pub async fn cancel_delivery(project_id: String, delivery_id: String) -> Result<(), AppError> {
    use crate::server::{context, delivery_log};
    context::respond(async {
        let s = context::to_change(&project_id).await?;
        delivery_log::cancel(&s.cx.state, &s.scope, &delivery_id, &s.actor()).await
    })
    .await
}

/// How many deliveries "Replay failed since…" would queue again.
#[server(endpoint = "deliveries/replay_count")]
pub async fn replay_count(
    project_id: String,
    webhook_id: String,
    since: i64,
) -> Result<u64, AppError> {
    use crate::server::{context, delivery_log};
    context::respond(async {
        let s = context::in_scope(&project_id).await?;
        delivery_log::replay_count(&s.cx.state, &s.scope, &webhook_id, since).await
    })
    .await
}

/// Queues again the webhook's failed and dropped deliveries since `since`.
#[server(endpoint = "deliveries/replay")]
pub async fn replay(project_id: String, webhook_id: String, since: i64) -> Result<u64, AppError> {
    use crate::server::{context, delivery_log};
    context::respond(async {
        let s = context::to_change(&project_id).await?;
        delivery_log::replay(&s.cx.state, &s.scope, &webhook_id, since, &s.actor()).await
    })
    .await
}

/// How many deliveries "Replay these…" would queue for a log page's filters.
#[server(endpoint = "deliveries/bulk_replay_count")]
pub async fn bulk_replay_count(
    project_id: String,
    #[server(default)] filter: LogFilter,
) -> Result<u64, AppError> {
    use crate::server::{context, replays};
    context::respond(async {
        let s = context::in_scope(&project_id).await?;
        let f = replays::of_log(&filter)?;
        replays::count(&s.cx.state, &replays::log_scope(&s.scope, &filter), f).await
    })
    .await
}

/// "Replay these…": queues again what a log page's filters pick (see
/// `POST /projects/{pid}/replay`); returns the replay.
#[server(endpoint = "deliveries/bulk_replay")]
pub async fn bulk_replay(
    project_id: String,
    #[server(default)] filter: LogFilter,
) -> Result<crate::model::ReplayInfo, AppError> {
    use crate::server::{context, replays};
    context::respond(async {
        let s = context::to_change(&project_id).await?;
        let f = replays::of_log(&filter)?;
        let scope = replays::log_scope(&s.scope, &filter);
        let r = replays::start(&s.cx.state, &scope, f, &s.actor()).await?;
        context::form_done(&format!("replayed.{}", r.count));
        Ok(r)
    })
    .await
}

/// A webhook's last 24 hours, hour by hour.
#[server(endpoint = "deliveries/hourly")]
pub async fn webhook_hourly(
    project_id: String,
    webhook_id: String,
) -> Result<Vec<HourStats>, AppError> {
    use crate::server::{context, delivery_log};
    context::respond(async {
        let s = context::in_scope(&project_id).await?;
        delivery_log::hourly(&s.cx.state, &s.scope, &webhook_id).await
    })
    .await
}

/// Each webhook's last delivery and 24 h success rate.
#[server(endpoint = "deliveries/health")]
pub async fn webhooks_health(project_id: String) -> Result<Vec<WebhookHealth>, AppError> {
    use crate::server::{context, delivery_log};
    context::respond(async {
        let s = context::in_scope(&project_id).await?;
        delivery_log::health(&s.cx.state, &s.scope).await
    })
    .await
}

#[server(endpoint = "activity/project")]
pub async fn project_activity(project_id: String) -> Result<Vec<ActivityEntry>, AppError> {
    use crate::server::{context, delivery_log};
    context::respond(async {
        let s = context::in_project(&project_id).await?;
        delivery_log::activity(&s.cx.state, &s.scope.project_id).await
    })
    .await
}

/// The project's open alerts (a webhook disabled, failing or behind), for
/// the notice on its pages.
#[server(endpoint = "alerts/open")]
pub async fn open_alerts(project_id: String) -> Result<Vec<crate::model::ProjectAlert>, AppError> {
    use crate::server::{alerts, context};
    context::respond(async {
        let s = context::in_project(&project_id).await?;
        alerts::open_in(&s.cx.state, &s.scope.project_id).await
    })
    .await
}

/// Where the project's alerts go.
#[server(endpoint = "alerts/target")]
pub async fn alert_target(project_id: String) -> Result<crate::model::AlertTarget, AppError> {
    use crate::server::{alerts, context};
    context::respond(async {
        let s = context::in_project(&project_id).await?;
        alerts::target(&s.cx.state, &s.scope.project_id).await
    })
    .await
}

/// Sets (or, empty, removes) the project's alert URL and format; a new URL's
/// signing secret is shown once.
#[server(endpoint = "alerts/set_target")]
pub async fn set_alert_target(
    project_id: String,
    webhook_url: String,
    format: String,
) -> Result<crate::model::AlertTarget, AppError> {
    use crate::model::{AlertFormat, ShownOnce};
    use crate::server::{alerts, context};
    context::respond(async {
        let s = context::to_change_project(&project_id).await?;
        let format = AlertFormat::parse(&format)
            .ok_or_else(|| AppError::Invalid(format!("Unknown alert format {format:?}")))?;
        let url = Some(webhook_url.as_str()).filter(|u| !u.trim().is_empty());
        let set =
            alerts::set_target(&s.cx.state, &s.scope.project_id, url, format, &s.actor()).await?;
        match set.signing_secret.is_some() {
            true => s.show_once(&ShownOnce::AlertUrl(set.clone())).await?,
            false => context::form_done("alerts"),
        }
        Ok(set)
    })
    .await
}
