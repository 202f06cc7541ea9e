//! `alerts` (one row per episode) and `alert_emails` (the outbox).

use super::deliveries::NOT_SUCCEEDED;
use super::{now_ms, Db};
use crate::model::AlertKind;

/// What the checker needs of every webhook that is not deleted.
#[derive(Debug, sqlx::FromRow)]
pub struct Watched {
    pub id: String,
    pub project_id: String,
    pub url: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<i64>,
    /// Deliveries failed (finally) since the last success.
    pub failed_deliveries: i64,
    /// When its oldest pending delivery was created (one index seek each).
    pub oldest_pending: Option<i64>,
}

pub async fn watched(db: &Db) -> sqlx::Result<Vec<Watched>> {
    // The index of deliveries not succeeded: one seek per webhook, whatever
    // its history.
    let hint = db.sqlite_hint("INDEXED BY deliveries_webhook_not_succeeded");
    crate::on_db!(db, c => sqlx::query_as(&format!(
        "SELECT w.id, w.project_id, w.url, w.enabled, w.disabled_reason, w.failing_since, \
           w.failed_deliveries, \
           (SELECT d.created_at FROM deliveries d {hint} \
            WHERE d.webhook_id = w.id AND d.status = 'pending' AND {NOT_SUCCEEDED} \
            ORDER BY d.seq LIMIT 1) \
             AS oldest_pending \
         FROM webhooks w WHERE w.deleted_at IS NULL AND w.purpose = 'events'"
    ))
    .fetch_all(c)
    .await)
}

/// An alert that is open.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Open {
    pub id: i64,
    pub project_id: String,
    pub webhook_id: String,
    pub kind: AlertKind,
    pub detail: String,
    pub opened_at: i64,
}

pub async fn open(db: &Db) -> sqlx::Result<Vec<Open>> {
    crate::on_db!(db, c => sqlx::query_as(
        "SELECT id, project_id, webhook_id, kind, detail, opened_at FROM alerts \
         WHERE closed_at IS NULL ORDER BY opened_at, id",
    )
    .fetch_all(c)
    .await)
}

/// The open alerts of a project, with their webhook's URL.
pub async fn open_in(
    db: &Db,
    project_id: &str,
) -> sqlx::Result<Vec<(String, String, String, i64)>> {
    crate::on_db!(db, c => sqlx::query_as(
        "SELECT a.webhook_id, w.url, a.kind, a.opened_at FROM alerts a \
         JOIN webhooks w ON w.id = a.webhook_id \
         WHERE a.project_id = $1 AND a.closed_at IS NULL ORDER BY a.opened_at, a.id",
    )
    .bind(project_id)
    .fetch_all(c)
    .await)
}

/// Opens an alert unless one of its kind is open for the webhook; returns
/// whether this call opened it (so that one process tells people).
pub async fn try_open(
    db: &Db,
    project_id: &str,
    webhook_id: &str,
    kind: &str,
    detail: &str,
) -> sqlx::Result<bool> {
    let id: Option<i64> = crate::on_db!(db, c => sqlx::query_scalar(
        "INSERT INTO alerts (project_id, webhook_id, kind, detail, opened_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(project_id)
    .bind(webhook_id)
    .bind(kind)
    .bind(detail)
    .bind(now_ms())
    .fetch_optional(c)
    .await)?;
    Ok(id.is_some())
}

/// Closes an open alert; returns whether this call closed it.
pub async fn close(db: &Db, id: i64) -> sqlx::Result<bool> {
    crate::on_db!(db, c => sqlx::query(
        "UPDATE alerts SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL",
    )
    .bind(now_ms())
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// Who hears of a project's alerts by email: admins, and teammates given
/// the project, who have a password and have not turned alert emails off.
pub async fn recipients(db: &Db, project_id: &str) -> sqlx::Result<Vec<String>> {
    crate::on_db!(db, c => sqlx::query_scalar(
        "SELECT u.email FROM users u WHERE u.alert_emails = TRUE AND u.password_hash <> '' \
         AND (u.role = 'admin' OR EXISTS (SELECT 1 FROM project_access a \
              WHERE a.user_id = u.id AND a.project_id = $1)) ORDER BY u.email",
    )
    .bind(project_id)
    .fetch_all(c)
    .await)
}

pub struct Email<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
}

pub async fn queue_email(db: &Db, e: &Email<'_>) -> sqlx::Result<()> {
    crate::on_db!(db, c => sqlx::query(
        "INSERT INTO alert_emails (to_address, subject, text_body, html_body, next_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(e.to)
    .bind(e.subject)
    .bind(e.text)
    .bind(e.html)
    .bind(now_ms())
    .execute(c)
    .await
    .map(|_| ()))
}

#[derive(Debug, sqlx::FromRow)]
pub struct Queued {
    pub id: i64,
    pub to_address: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub attempts: i64,
    pub next_at: i64,
}

/// Emails due now, oldest first.
pub async fn due(db: &Db, limit: i64) -> sqlx::Result<Vec<Queued>> {
    crate::on_db!(db, c => sqlx::query_as(
        "SELECT id, to_address, subject, text_body, html_body, attempts, next_at \
         FROM alert_emails WHERE sent_at IS NULL AND next_at <= $1 ORDER BY next_at, id LIMIT $2",
    )
    .bind(now_ms())
    .bind(limit)
    .fetch_all(c)
    .await)
}

/// Takes an email for sending until `until` (another process that read it
/// due finds it moved and leaves it); returns whether this call took it.
pub async fn claim(db: &Db, id: i64, was_due_at: i64, until: i64) -> sqlx::Result<bool> {
    crate::on_db!(db, c => sqlx::query(
        "UPDATE alert_emails SET next_at = $1 WHERE id = $2 AND next_at = $3 AND sent_at IS NULL",
    )
    .bind(until)
    .bind(id)
    .bind(was_due_at)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

pub async fn sent(db: &Db, id: i64) -> sqlx::Result<()> {
    crate::on_db!(db, c => sqlx::query(
        "UPDATE alert_emails SET sent_at = $1, attempts = attempts + 1, last_error = NULL \
         WHERE id = $2",
    )
    .bind(now_ms())
    .bind(id)
    .execute(c)
    .await
    .map(|_| ()))
}

/// A failed try: again at `next_at` (far in the future once it gives up).
pub async fn failed(db: &Db, id: i64, next_at: i64, error: &str) -> sqlx::Result<()> {
    crate::on_db!(db, c => sqlx::query(
        "UPDATE alert_emails SET attempts = attempts + 1, next_at = $1, last_error = $2 \
         WHERE id = $3",
    )
    .bind(next_at)
    .bind(error)
    .bind(id)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Sent emails older than `before` go.
pub async fn forget_sent(db: &Db, before: i64) -> sqlx::Result<u64> {
    crate::on_db!(db, c => sqlx::query("DELETE FROM alert_emails WHERE sent_at < $1")
        .bind(before)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}

/// Whether a user gets alert emails, and setting it.
pub async fn set_opt_in(db: &Db, user_id: &str, on: bool) -> sqlx::Result<()> {
    crate::on_db!(db, c => sqlx::query("UPDATE users SET alert_emails = $1 WHERE id = $2")
        .bind(on)
        .bind(user_id)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn opt_in(db: &Db, user_id: &str) -> sqlx::Result<bool> {
    crate::on_db!(db, c => sqlx::query_scalar("SELECT alert_emails FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(c)
        .await)
    .map(|v: Option<bool>| v.unwrap_or(false))
}

// The project's alert URL: a webhook of its own (`purpose = 'alerts'`).

/// The project's alert URL: its webhook's id and URL, and the format.
pub async fn alert_target(
    db: &Db,
    project_id: &str,
) -> sqlx::Result<(Option<(String, String)>, String)> {
    let hook: Option<(String, String)> = crate::on_db!(db, c => sqlx::query_as(
        "SELECT id, url FROM webhooks WHERE project_id = $1 AND purpose = 'alerts' \
         AND deleted_at IS NULL",
    )
    .bind(project_id)
    .fetch_optional(c)
    .await)?;
    let format: Option<String> = crate::on_db!(db, c => sqlx::query_scalar(
        "SELECT alert_format FROM projects WHERE id = $1",
    )
    .bind(project_id)
    .fetch_optional(c)
    .await)?;
    Ok((hook, format.unwrap_or_else(|| "signpost".into())))
}

pub async fn set_alert_format(db: &Db, project_id: &str, format: &str) -> sqlx::Result<()> {
    crate::on_db!(db, c => sqlx::query("UPDATE projects SET alert_format = $1 WHERE id = $2")
        .bind(format)
        .bind(project_id)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Makes the project's alert webhook: every `signpost.*` event, in order,
/// signed with spectrum-v0.
pub async fn insert_alerts(
    db: &Db,
    id: &str,
    project_id: &str,
    url: &str,
    sealed_secret: &[u8],
) -> sqlx::Result<()> {
    let now = now_ms();
    crate::on_db!(db, c => sqlx::query(
        "INSERT INTO webhooks (id, project_id, url, description, events, scheme, ordering, secret, \
         created_at, updated_at, purpose) \
         VALUES ($1, $2, $3, 'Alerts', '[\"*\"]', 'spectrum-v0', 'ordered', $4, $5, $5, 'alerts')",
    )
    .bind(id)
    .bind(project_id)
    .bind(url)
    .bind(sealed_secret)
    .bind(now)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Enables the project's alert webhook again (a fresh failure run).
pub async fn enable_alerts(db: &Db, id: &str) -> sqlx::Result<()> {
    crate::on_db!(db, c => sqlx::query(
        "UPDATE webhooks SET enabled = TRUE, disabled_reason = NULL, disabled_at = NULL, \
         failed_deliveries = 0, failing_since = NULL \
         WHERE id = $1 AND purpose = 'alerts' AND NOT enabled",
    )
    .bind(id)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Deletes the project's alert webhook, if any (soft, as any webhook).
pub async fn drop_alerts(db: &Db, project_id: &str) -> sqlx::Result<Option<String>> {
    crate::on_db!(db, c => sqlx::query_scalar(
        "UPDATE webhooks SET deleted_at = $1 WHERE project_id = $2 AND purpose = 'alerts' \
         AND deleted_at IS NULL RETURNING id",
    )
    .bind(now_ms())
    .bind(project_id)
    .fetch_optional(c)
    .await)
}
