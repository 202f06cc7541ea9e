use super::{now_ms, Db};
use crate::model::Project;

#[derive(sqlx::FromRow)]
struct ProjectRow {
    id: String,
    name: String,
    created_at: i64,
}

impl From<ProjectRow> for Project {
    fn from(r: ProjectRow) -> Self {
        Project {
            id: r.id,
            name: r.name,
            created_at: r.created_at,
        }
    }
}

pub async fn create(db: &Db, id: &str, name: &str, secret_hash: &[u8]) -> sqlx::Result<()> {
    let now = now_ms();
    crate::on_db!(db, c => sqlx::query(
        "INSERT INTO projects (id, name, secret_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(name)
    .bind(secret_hash)
    .bind(now)
    .bind(now)
    .execute(c)
    .await
    .map(|_| ()))
}

pub async fn list(db: &Db) -> sqlx::Result<Vec<Project>> {
    let rows: Vec<ProjectRow> = crate::on_db!(db, c => sqlx::query_as("SELECT id, name, created_at FROM projects ORDER BY created_at, id")
            .fetch_all(c)
            .await?);
    Ok(rows.into_iter().map(Project::from).collect())
}

pub async fn get(db: &Db, id: &str) -> sqlx::Result<Option<Project>> {
    let row: Option<ProjectRow> = crate::on_db!(db, c => sqlx::query_as("SELECT id, name, created_at FROM projects WHERE id = $1")
            .bind(id)
            .fetch_optional(c)
            .await?);
    Ok(row.map(Project::from))
}

pub async fn secret_hash(db: &Db, id: &str) -> sqlx::Result<Option<Vec<u8>>> {
    crate::on_db!(db, c => sqlx::query_scalar("SELECT secret_hash FROM projects WHERE id = $1")
        .bind(id)
        .fetch_optional(c)
        .await)
}

/// Returns whether the project exists.
pub async fn rename(db: &Db, id: &str, name: &str) -> sqlx::Result<bool> {
    crate::on_db!(db, c => sqlx::query("UPDATE projects SET name = $1, updated_at = $2 WHERE id = $3")
        .bind(name)
        .bind(now_ms())
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// Returns whether the project exists.
pub async fn set_secret_hash(db: &Db, id: &str, hash: &[u8]) -> sqlx::Result<bool> {
    crate::on_db!(db, c => sqlx::query("UPDATE projects SET secret_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now_ms())
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}
