//! `idempotency_keys`: the first answer to a publish call's key, kept a day.

use sqlx::SqliteConnection;

/// The stored answer to an idempotency key newer than `since`.
pub async fn answer(
    conn: &mut SqliteConnection,
    project_id: &str,
    key: &str,
    since: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT response FROM idempotency_keys WHERE project_id = ? AND key = ? AND created_at > ?",
    )
    .bind(project_id)
    .bind(key)
    .bind(since)
    .fetch_optional(conn)
    .await
}

pub async fn remember(
    conn: &mut SqliteConnection,
    project_id: &str,
    key: &str,
    response: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO idempotency_keys (project_id, key, response, created_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (project_id, key) DO UPDATE SET response = excluded.response, \
         created_at = excluded.created_at",
    )
    .bind(project_id)
    .bind(key)
    .bind(response)
    .bind(now)
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn delete_older_than(conn: &mut SqliteConnection, before: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM idempotency_keys WHERE created_at < ?")
        .bind(before)
        .execute(conn)
        .await
        .map(|_| ())
}
