use super::users::UserRow;
use super::{now_ms, Db, Tx};
use crate::model::ActivityEntry;

/// Who made a change, as the record keeps it.
pub struct Actor<'a> {
    pub id: Option<&'a str>,
    pub email: Option<&'a str>,
}

impl Actor<'_> {
    /// Signpost itself (automatic changes) or the command line.
    pub const SYSTEM: Actor<'static> = Actor {
        id: None,
        email: None,
    };

    /// Changes made through the HTTP API, with project credentials.
    pub const API: Actor<'static> = Actor {
        id: None,
        email: Some("the HTTP API"),
    };

    pub fn user(user: &UserRow) -> Actor<'_> {
        Actor {
            id: Some(&user.id),
            email: Some(&user.email),
        }
    }
}

/// Appends one line to the record.
pub async fn record(
    db: &Db,
    project_id: Option<&str>,
    actor: &Actor<'_>,
    action: &str,
    subject: &str,
    detail: &str,
) -> sqlx::Result<()> {
    crate::on_db!(db, c => sqlx::query(
        "INSERT INTO activity (at, project_id, actor_id, actor_email, action, subject, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(now_ms())
    .bind(project_id)
    .bind(actor.id)
    .bind(actor.email)
    .bind(action)
    .bind(subject)
    .bind(detail)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Records, inside the engine's transaction, that Signpost disabled a
/// webhook by itself.
pub async fn auto_disabled(
    tx: &mut Tx,
    webhook_id: &str,
    reason: &str,
    now: i64,
) -> sqlx::Result<()> {
    crate::on_tx!(tx, c => sqlx::query(
        "INSERT INTO activity (at, project_id, action, subject, detail) \
         SELECT $1, project_id, 'webhook.auto_disabled', url, $2 FROM webhooks WHERE id = $3",
    )
    .bind(now)
    .bind(reason)
    .bind(webhook_id)
    .execute(&mut *c)
    .await
    .map(|_| ()))
}

/// The newest `limit` lines about the team (no project), newest first.
pub async fn team(db: &Db, limit: i64) -> sqlx::Result<Vec<ActivityEntry>> {
    lines(db, None, limit).await
}

/// The newest `limit` lines about a project, newest first.
pub async fn project(db: &Db, project_id: &str, limit: i64) -> sqlx::Result<Vec<ActivityEntry>> {
    lines(db, Some(project_id), limit).await
}

async fn lines(db: &Db, project_id: Option<&str>, limit: i64) -> sqlx::Result<Vec<ActivityEntry>> {
    let rows: Vec<(i64, Option<String>, String, String, String)> = crate::on_db!(db, c => sqlx::query_as(
        "SELECT at, actor_email, action, subject, detail FROM activity \
         WHERE project_id IS NOT DISTINCT FROM $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(project_id)
    .bind(limit)
    .fetch_all(c)
    .await?);
    Ok(rows
        .into_iter()
        .map(|(at, actor, action, subject, detail)| ActivityEntry {
            at,
            actor,
            action,
            subject,
            detail,
        })
        .collect())
}
