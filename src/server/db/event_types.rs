//! `event_types`: a project's event catalog.

use super::{now_ms, Db};

#[derive(sqlx::FromRow)]
pub struct EventTypeRow {
    pub name: String,
    pub description: String,
    pub schema: Option<String>,
    pub example: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "name, description, schema, example, created_at, updated_at";

/// The project's event types, by name.
pub async fn list(db: &Db, project_id: &str) -> sqlx::Result<Vec<EventTypeRow>> {
    crate::on_db!(db, c => sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM event_types WHERE project_id = $1 ORDER BY name"
    ))
    .bind(project_id)
    .fetch_all(c)
    .await)
}

pub async fn get(db: &Db, project_id: &str, name: &str) -> sqlx::Result<Option<EventTypeRow>> {
    crate::on_db!(db, c => sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM event_types WHERE project_id = $1 AND name = $2"
    ))
    .bind(project_id)
    .bind(name)
    .fetch_optional(c)
    .await)
}

pub async fn count(db: &Db, project_id: &str) -> sqlx::Result<i64> {
    crate::on_db!(db, c => sqlx::query_scalar(
        "SELECT count(*) FROM event_types WHERE project_id = $1"
    )
    .bind(project_id)
    .fetch_one(c)
    .await)
}

/// Creates or replaces a type; returns whether it was new. Then bumps the
/// project's catalog version (after: a reader that sees the new version
/// reads the new rows).
pub async fn put(
    db: &Db,
    project_id: &str,
    name: &str,
    description: &str,
    schema: Option<&str>,
    example: Option<&str>,
) -> sqlx::Result<bool> {
    let now = now_ms();
    let created: i64 = crate::on_db!(db, c => sqlx::query_scalar(
        "INSERT INTO event_types (project_id, name, description, schema, example, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) \
         ON CONFLICT (project_id, name) DO UPDATE SET description = excluded.description, \
           schema = excluded.schema, example = excluded.example, updated_at = excluded.updated_at \
         RETURNING created_at",
    )
    .bind(project_id)
    .bind(name)
    .bind(description)
    .bind(schema)
    .bind(example)
    .bind(now)
    .fetch_one(c)
    .await?);
    bump(db, project_id).await?;
    Ok(created == now)
}

/// Returns whether there was such a type.
pub async fn delete(db: &Db, project_id: &str, name: &str) -> sqlx::Result<bool> {
    let gone = crate::on_db!(db, c => sqlx::query(
        "DELETE FROM event_types WHERE project_id = $1 AND name = $2"
    )
    .bind(project_id)
    .bind(name)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))?;
    if gone {
        bump(db, project_id).await?;
    }
    Ok(gone)
}

async fn bump(db: &Db, project_id: &str) -> sqlx::Result<()> {
    crate::on_db!(db, c => sqlx::query(
        "UPDATE projects SET catalog_version = catalog_version + 1 WHERE id = $1"
    )
    .bind(project_id)
    .execute(c)
    .await
    .map(|_| ()))
}

/// The project's catalog version (`None`: no such project).
pub async fn version(db: &Db, project_id: &str) -> sqlx::Result<Option<i64>> {
    crate::on_db!(db, c => sqlx::query_scalar(
        "SELECT catalog_version FROM projects WHERE id = $1"
    )
    .bind(project_id)
    .fetch_optional(c)
    .await)
}

/// The project's schemas, by type name.
pub async fn schemas(db: &Db, project_id: &str) -> sqlx::Result<Vec<(String, String)>> {
    crate::on_db!(db, c => sqlx::query_as(
        "SELECT name, schema FROM event_types WHERE project_id = $1 AND schema IS NOT NULL"
    )
    .bind(project_id)
    .fetch_all(c)
    .await)
}
