//! `project_access`: which projects a member or viewer reaches (admins
//! reach every one, with no rows).

use super::{Db, Tx};

/// Whether `user_id` was given `project_id`.
pub async fn reaches(db: &Db, user_id: &str, project_id: &str) -> sqlx::Result<bool> {
    crate::on_db!(db, c => sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM project_access WHERE user_id = $1 AND project_id = $2)",
    )
    .bind(user_id)
    .bind(project_id)
    .fetch_one(c)
    .await)
}

/// The projects given to `user_id`.
pub async fn of_user(db: &Db, user_id: &str) -> sqlx::Result<Vec<String>> {
    crate::on_db!(db, c => sqlx::query_scalar(
        "SELECT project_id FROM project_access WHERE user_id = $1 ORDER BY project_id",
    )
    .bind(user_id)
    .fetch_all(c)
    .await)
}

/// The projects given to each user, as (user id, project id) pairs.
pub async fn all(db: &Db) -> sqlx::Result<Vec<(String, String)>> {
    crate::on_db!(db, c => sqlx::query_as(
        "SELECT user_id, project_id FROM project_access ORDER BY user_id, project_id",
    )
    .fetch_all(c)
    .await)
}

/// Gives `user_id` exactly `projects` (those that exist), in `tx`.
pub async fn set(tx: &mut Tx, user_id: &str, projects: &[String]) -> sqlx::Result<()> {
    crate::on_tx!(tx, c => sqlx::query("DELETE FROM project_access WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *c)
        .await
        .map(|_| ()))?;
    for project in projects {
        crate::on_tx!(tx, c => sqlx::query(
            "INSERT INTO project_access (user_id, project_id) \
             SELECT $1, id FROM projects WHERE id = $2 ON CONFLICT DO NOTHING",
        )
        .bind(user_id)
        .bind(project)
        .execute(&mut *c)
        .await
        .map(|_| ()))?;
    }
    Ok(())
}

/// Gives `user_id` one more project (the one they just created).
pub async fn grant(db: &Db, user_id: &str, project_id: &str) -> sqlx::Result<()> {
    crate::on_db!(db, c => sqlx::query(
        "INSERT INTO project_access (user_id, project_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(user_id)
    .bind(project_id)
    .execute(c)
    .await
    .map(|_| ()))
}
