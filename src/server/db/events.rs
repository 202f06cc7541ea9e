//! `events`: what the platform published, its exact bytes.

use super::Db;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

pub struct NewEvent<'a> {
    pub id: &'a str,
    pub project_id: &'a str,
    pub name: &'a str,
    pub body: &'a [u8],
}

/// Rows per multi-row statement: few distinct statements, so that they
/// stay in the connection's statement cache.
pub(super) const CHUNK: usize = 128;

pub async fn insert(
    conn: &mut SqliteConnection,
    events: &[NewEvent<'_>],
    now: i64,
) -> sqlx::Result<()> {
    for chunk in events.chunks(CHUNK) {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO events (id, project_id, event, body, created_at) ");
        q.push_values(chunk, |mut row, e| {
            row.push_bind(e.id)
                .push_bind(e.project_id)
                .push_bind(e.name)
                .push_bind(e.body)
                .push_bind(now);
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// An event's exact bytes.
pub async fn body(db: &Db, event_id: &str) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar("SELECT body FROM events WHERE id = ?")
        .bind(event_id)
        .fetch_optional(db)
        .await
}

/// An event's name and exact bytes, for an attempt whose worker did not
/// keep them in memory.
pub async fn get(db: &Db, event_id: &str) -> sqlx::Result<Option<(String, Vec<u8>)>> {
    sqlx::query_as("SELECT event, body FROM events WHERE id = ?")
        .bind(event_id)
        .fetch_optional(db)
        .await
}

/// Deletes up to `limit` events created before `before` that no delivery
/// refers to any more; returns how many went.
pub async fn delete_unreferenced(
    conn: &mut SqliteConnection,
    before: i64,
    limit: i64,
) -> sqlx::Result<u64> {
    sqlx::query(
        "DELETE FROM events WHERE id IN (SELECT e.id FROM events e WHERE e.created_at < ? \
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) LIMIT ?)",
    )
    .bind(before)
    .bind(limit)
    .execute(conn)
    .await
    .map(|r| r.rows_affected())
}
