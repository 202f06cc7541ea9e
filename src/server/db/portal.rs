//! The portal's rows: how a project's portal looks, and new secrets waiting
//! for the portal page that shows them.

use super::{now_ms, Db};
use crate::model::PortalLook;

/// The project's portal name and accent (`None`: no such project).
pub async fn look(db: &Db, project_id: &str) -> sqlx::Result<Option<PortalLook>> {
    let row: Option<(String, String)> = crate::on_db!(db, c => sqlx::query_as(
        "SELECT portal_name, portal_accent FROM projects WHERE id = $1",
    )
    .bind(project_id)
    .fetch_optional(c)
    .await?);
    Ok(row.map(|(name, accent)| PortalLook { name, accent }))
}

/// Returns whether the project exists.
pub async fn set_look(db: &Db, project_id: &str, look: &PortalLook) -> sqlx::Result<bool> {
    crate::on_db!(db, c => sqlx::query(
        "UPDATE projects SET portal_name = $1, portal_accent = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(&look.name)
    .bind(&look.accent)
    .bind(now_ms())
    .bind(project_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

pub async fn keep_shown(db: &Db, id: &str, sealed: &[u8], expires_at: i64) -> sqlx::Result<()> {
    crate::on_db!(db, c => sqlx::query(
        "INSERT INTO portal_shown (id, sealed, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(id)
    .bind(sealed)
    .bind(expires_at)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Takes (deletes) a kept result, if it is there and not expired.
pub async fn take_shown(db: &Db, id: &str) -> sqlx::Result<Option<Vec<u8>>> {
    crate::on_db!(db, c => sqlx::query_scalar(
        "DELETE FROM portal_shown WHERE id = $1 AND expires_at > $2 RETURNING sealed",
    )
    .bind(id)
    .bind(now_ms())
    .fetch_optional(c)
    .await)
}

/// Forgets results that no page took in time.
pub async fn forget_shown(db: &Db) -> sqlx::Result<u64> {
    crate::on_db!(db, c => sqlx::query("DELETE FROM portal_shown WHERE expires_at <= $1")
        .bind(now_ms())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}
