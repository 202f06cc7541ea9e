//! `lanes`: which worker attempts each webhook's deliveries
//! (migrations/0007_lanes.sql). A lane is free when it has no owner or its
//! owner's lease ran out (or the owner is forgotten).

use super::Db;
use sqlx::SqliteConnection;

/// Takes the lanes of `webhook_ids` that no one owns (creating those that
/// do not exist yet) for `worker`, in the transaction that stores their new
/// deliveries; returns the lanes it took.
pub async fn take_free(
    conn: &mut SqliteConnection,
    worker: &str,
    webhook_ids: &[&str],
) -> sqlx::Result<Vec<String>> {
    if webhook_ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar(
        "INSERT INTO lanes (webhook_id, owner) SELECT value, ?1 FROM json_each(?2) WHERE true \
         ON CONFLICT (webhook_id) DO UPDATE SET owner = excluded.owner WHERE lanes.owner IS NULL \
         RETURNING webhook_id",
    )
    .bind(worker)
    .bind(serde_json::to_string(webhook_ids).expect("strings serialize"))
    .fetch_all(conn)
    .await
}

/// Claims up to `limit` free lanes that have pending deliveries for
/// `worker`; returns them. SQLite has one writer at a time, so the
/// statement alone is atomic.
pub async fn claim(db: &Db, worker: &str, now: i64, limit: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "UPDATE lanes SET owner = ?1 WHERE webhook_id IN ( \
           SELECT l.webhook_id FROM lanes l \
           WHERE (l.owner IS NULL OR NOT EXISTS \
                   (SELECT 1 FROM workers w WHERE w.id = l.owner AND w.lease_until >= ?2)) \
             AND EXISTS (SELECT 1 FROM deliveries d \
                   WHERE d.webhook_id = l.webhook_id AND d.status = 'pending') \
           LIMIT ?3) \
         RETURNING webhook_id",
    )
    .bind(worker)
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Lets go of every lane `worker` owns (at shutdown); returns how many.
pub async fn release_all(db: &Db, worker: &str) -> sqlx::Result<u64> {
    sqlx::query("UPDATE lanes SET owner = NULL WHERE owner = ?")
        .bind(worker)
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}
