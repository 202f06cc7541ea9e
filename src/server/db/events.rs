//! `events`: what the platform published, its exact bytes.

use super::{Db, Tx};
use sqlx::QueryBuilder;

pub struct NewEvent<'a> {
    pub id: &'a str,
    pub project_id: &'a str,
    /// The tenant it was published for, if any.
    pub tenant: Option<&'a str>,
    pub name: &'a str,
    pub body: &'a [u8],
}

/// Rows per multi-row statement: few distinct statements, so that they
/// stay in the connection's statement cache.
pub(super) const CHUNK: usize = 128;

/// One statement per `CHUNK` rows on SQLite; one of arrays on PostgreSQL
/// (the same text whatever the count, so it stays prepared).
pub async fn insert(tx: &mut Tx, events: &[NewEvent<'_>], now: i64) -> sqlx::Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    if let Tx::Postgres(t) = tx {
        let ids: Vec<&str> = events.iter().map(|e| e.id).collect();
        let projects: Vec<&str> = events.iter().map(|e| e.project_id).collect();
        let names: Vec<&str> = events.iter().map(|e| e.name).collect();
        let bodies: Vec<&[u8]> = events.iter().map(|e| e.body).collect();
        let tenants: Vec<Option<&str>> = events.iter().map(|e| e.tenant).collect();
        return sqlx::query(
            "INSERT INTO events (id, project_id, event, body, created_at, tenant) \
             SELECT i, p, e, b, $5, t FROM \
               unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $6::text[]) \
               AS t (i, p, e, b, t)",
        )
        .bind(&ids)
        .bind(&projects)
        .bind(&names)
        .bind(&bodies)
        .bind(now)
        .bind(&tenants)
        .execute(&mut **t)
        .await
        .map(|_| ());
    }
    for chunk in events.chunks(CHUNK) {
        crate::on_tx!(tx, c, DB => {
        let mut q: QueryBuilder<DB> =
            QueryBuilder::new("INSERT INTO events (id, project_id, event, body, created_at, tenant) ");
        q.push_values(chunk, |mut row, e| {
            row.push_bind(e.id)
                .push_bind(e.project_id)
                .push_bind(e.name)
                .push_bind(e.body)
                .push_bind(now)
                .push_bind(e.tenant);
        });
        q.build().execute(&mut *c).await?;
        });
    }
    Ok(())
}

/// An event's exact bytes.
pub async fn body(db: &Db, event_id: &str) -> sqlx::Result<Option<Vec<u8>>> {
    crate::on_db!(db, c => sqlx::query_scalar("SELECT body FROM events WHERE id = $1")
        .bind(event_id)
        .fetch_optional(c)
        .await)
}

/// An event's name and exact bytes, for an attempt whose worker did not
/// keep them in memory.
pub async fn get(db: &Db, event_id: &str) -> sqlx::Result<Option<(String, Vec<u8>)>> {
    crate::on_db!(db, c => sqlx::query_as("SELECT event, body FROM events WHERE id = $1")
        .bind(event_id)
        .fetch_optional(c)
        .await)
}

/// Deletes up to `limit` events created before `before` that no delivery
/// refers to any more; returns how many went.
pub async fn delete_unreferenced(tx: &mut Tx, before: i64, limit: i64) -> sqlx::Result<u64> {
    crate::on_tx!(tx, c => sqlx::query(
        "DELETE FROM events WHERE id IN (SELECT e.id FROM events e WHERE e.created_at < $1 \
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) LIMIT $2)",
    )
    .bind(before)
    .bind(limit)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))
}
