use super::{now_ms, Db};
use crate::model::{Ordering, Scheme, Webhook};

/// Every column but the secrets.
const COLUMNS: &str = "id, project_id, url, description, events, enabled, scheme, \
                       ordering, disabled_reason, previous_expires_at, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct WebhookRow {
    id: String,
    project_id: String,
    url: String,
    description: String,
    events: String,
    enabled: bool,
    scheme: String,
    ordering: String,
    disabled_reason: Option<String>,
    previous_expires_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl From<WebhookRow> for Webhook {
    fn from(r: WebhookRow) -> Self {
        let now = now_ms();
        Webhook {
            id: r.id,
            project_id: r.project_id,
            url: r.url,
            description: r.description,
            events: serde_json::from_str(&r.events).unwrap_or_else(|_| vec!["*".into()]),
            enabled: r.enabled,
            scheme: Scheme::parse(&r.scheme).unwrap_or_default(),
            ordering: Ordering::parse(&r.ordering).unwrap_or_default(),
            disabled_reason: r.disabled_reason,
            previous_secret_expires_at: r.previous_expires_at.filter(|t| *t > now),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

pub struct Insert<'a> {
    pub id: &'a str,
    pub project_id: &'a str,
    pub url: &'a str,
    pub description: &'a str,
    pub events: &'a [String],
    pub scheme: Scheme,
    pub ordering: Ordering,
    pub sealed_secret: &'a [u8],
}

pub enum Inserted {
    Yes(Webhook),
    DuplicateUrl,
}

pub async fn insert(db: &Db, w: Insert<'_>) -> sqlx::Result<Inserted> {
    let now = now_ms();
    let result = sqlx::query(
        "INSERT INTO webhooks (id, project_id, url, description, events, scheme, ordering, secret, \
         created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(w.id)
    .bind(w.project_id)
    .bind(w.url)
    .bind(w.description)
    .bind(serde_json::to_string(w.events).expect("strings serialize"))
    .bind(w.scheme.as_str())
    .bind(w.ordering.as_str())
    .bind(w.sealed_secret)
    .bind(now)
    .bind(now)
    .execute(db)
    .await;
    match result {
        Ok(_) => Ok(Inserted::Yes(
            get(db, w.project_id, w.id)
                .await?
                .ok_or(sqlx::Error::RowNotFound)?,
        )),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(Inserted::DuplicateUrl),
        Err(e) => Err(e),
    }
}

/// Active (not deleted) webhooks of a project, oldest first.
pub async fn list(db: &Db, project_id: &str) -> sqlx::Result<Vec<Webhook>> {
    let rows: Vec<WebhookRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhooks WHERE project_id = ? AND deleted_at IS NULL \
         ORDER BY created_at, id"
    ))
    .bind(project_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Webhook::from).collect())
}

/// One active webhook of the project (another project's id finds nothing).
pub async fn get(db: &Db, project_id: &str, id: &str) -> sqlx::Result<Option<Webhook>> {
    let row: Option<WebhookRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhooks WHERE project_id = ? AND id = ? AND deleted_at IS NULL"
    ))
    .bind(project_id)
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(Webhook::from))
}

/// Writes the fields of a webhook that a person may change. Enabling it
/// clears an automatic disable's reason.
pub async fn update(db: &Db, w: &Webhook) -> sqlx::Result<bool> {
    sqlx::query(
        "UPDATE webhooks SET enabled = ?, description = ?, events = ?, ordering = ?, updated_at = ?, \
         disabled_reason = CASE WHEN ? THEN NULL ELSE disabled_reason END, \
         disabled_at = CASE WHEN ? THEN NULL ELSE disabled_at END \
         WHERE project_id = ? AND id = ? AND deleted_at IS NULL",
    )
    .bind(w.enabled)
    .bind(&w.description)
    .bind(serde_json::to_string(&w.events).expect("strings serialize"))
    .bind(w.ordering.as_str())
    .bind(now_ms())
    .bind(w.enabled)
    .bind(w.enabled)
    .bind(&w.project_id)
    .bind(&w.id)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// Soft delete; returns whether an active webhook was deleted.
pub async fn soft_delete(db: &Db, project_id: &str, id: &str) -> sqlx::Result<bool> {
    let now = now_ms();
    sqlx::query(
        "UPDATE webhooks SET deleted_at = ?, updated_at = ?, enabled = 0 \
         WHERE project_id = ? AND id = ? AND deleted_at IS NULL",
    )
    .bind(now)
    .bind(now)
    .bind(project_id)
    .bind(id)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// Replaces the secret; the old one stays valid until `previous_expires_at`
/// (none when the grace period is zero).
pub async fn rotate(
    db: &Db,
    project_id: &str,
    id: &str,
    sealed_secret: &[u8],
    previous_expires_at: Option<i64>,
) -> sqlx::Result<bool> {
    sqlx::query(
        "UPDATE webhooks SET \
           previous_secret = CASE WHEN ? IS NULL THEN NULL ELSE secret END, \
           previous_expires_at = ?, secret = ?, updated_at = ? \
         WHERE project_id = ? AND id = ? AND deleted_at IS NULL",
    )
    .bind(previous_expires_at)
    .bind(previous_expires_at)
    .bind(sealed_secret)
    .bind(now_ms())
    .bind(project_id)
    .bind(id)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// Ends a rotation's grace period now: only the new secret signs.
pub async fn finish_rotation(db: &Db, project_id: &str, id: &str) -> sqlx::Result<bool> {
    sqlx::query(
        "UPDATE webhooks SET previous_secret = NULL, previous_expires_at = NULL, updated_at = ? \
         WHERE project_id = ? AND id = ? AND deleted_at IS NULL",
    )
    .bind(now_ms())
    .bind(project_id)
    .bind(id)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}
