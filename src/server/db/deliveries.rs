//! `deliveries`: one event to one webhook, its state and who holds it
//! (migrations/0003_delivery.sql).

use super::events::CHUNK;
use super::Db;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

pub struct NewDelivery<'a> {
    pub id: &'a str,
    pub project_id: &'a str,
    pub event_id: &'a str,
    pub webhook_id: &'a str,
    /// To an ordered webhook, while someone else may hold pending deliveries.
    pub ordered: bool,
    /// `event`, `redelivery` or `replay`.
    pub origin: &'a str,
    /// The delivery a redelivery or replay repeats.
    pub repeats: Option<&'a str>,
}

/// Inserts pending deliveries held by `owner`; returns their `seq`s in the
/// order given (SQLite hands out rowids in insertion order), each with
/// whether `owner` holds it.
///
/// A delivery to an ordered webhook that still has pending deliveries goes
/// to whoever holds the newest of them instead (another worker, a dead one,
/// or no one): it must not overtake them, so it waits to be claimed with
/// them, in order.
pub async fn insert(
    conn: &mut SqliteConnection,
    deliveries: &[NewDelivery<'_>],
    owner: &str,
    now: i64,
) -> sqlx::Result<Vec<(i64, bool)>> {
    let mut seqs = Vec::with_capacity(deliveries.len());
    for chunk in deliveries.chunks(CHUNK) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO deliveries (id, project_id, event_id, webhook_id, next_at, lease_owner, created_at, origin, repeats) ",
        );
        q.push_values(chunk, |mut row, d| {
            row.push_bind(d.id)
                .push_bind(d.project_id)
                .push_bind(d.event_id)
                .push_bind(d.webhook_id)
                .push_bind(now)
                // '' stands for "held by no one" inside COALESCE.
                .push("CASE WHEN ")
                .push_bind_unseparated(d.ordered)
                .push_unseparated(
                    " THEN NULLIF(COALESCE((SELECT IFNULL(p.lease_owner, '') FROM deliveries p \
                     WHERE p.webhook_id = ",
                )
                .push_bind_unseparated(d.webhook_id)
                .push_unseparated(" AND p.status = 'pending' ORDER BY p.seq DESC LIMIT 1), ")
                .push_bind_unseparated(owner)
                .push_unseparated("), '') ELSE ")
                .push_bind_unseparated(owner)
                .push_unseparated(" END")
                .push_bind(now)
                .push_bind(d.origin)
                .push_bind(d.repeats);
        });
        q.push(" RETURNING seq, lease_owner");
        let mut got: Vec<(i64, Option<String>)> = q.build_query_as().fetch_all(&mut *conn).await?;
        // RETURNING's order is not promised; rowids are increasing.
        got.sort_unstable_by_key(|(seq, _)| *seq);
        seqs.extend(
            got.into_iter()
                .map(|(seq, holder)| (seq, holder.as_deref() == Some(owner))),
        );
    }
    Ok(seqs)
}

/// A delivery a worker claimed, with what sending it needs.
#[derive(sqlx::FromRow)]
pub struct Claimed {
    pub seq: i64,
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub attempts: i64,
    pub next_at: i64,
    pub event: String,
    pub body: Vec<u8>,
    pub ordering: String,
}

/// Claims up to `limit` pending deliveries held by `from` (`None`: by no
/// one), oldest first, for `worker`. SQLite has one writer at a time, so
/// the statement alone is atomic.
pub async fn claim(
    db: &Db,
    worker: &str,
    from: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<Claimed>> {
    let mut tx = db.begin_with("BEGIN IMMEDIATE").await?;
    let seqs: Vec<i64> = sqlx::query_scalar(
        "UPDATE deliveries SET lease_owner = ? WHERE seq IN ( \
           SELECT seq FROM deliveries WHERE status = 'pending' AND lease_owner IS ? \
           ORDER BY seq LIMIT ?) \
         RETURNING seq",
    )
    .bind(worker)
    .bind(from)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    if seqs.is_empty() {
        tx.commit().await?;
        return Ok(Vec::new());
    }
    let claimed = sqlx::query_as(
        "SELECT d.seq, d.id, d.webhook_id, d.event_id, d.attempts, d.next_at, \
                e.event, e.body, w.ordering \
         FROM deliveries d JOIN events e ON e.id = d.event_id JOIN webhooks w ON w.id = d.webhook_id \
         WHERE d.seq IN (SELECT value FROM json_each(?)) ORDER BY d.seq",
    )
    .bind(serde_json::to_string(&seqs).expect("integers serialize"))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(claimed)
}

/// Lets go of every pending delivery `worker` holds (at shutdown).
pub async fn release(db: &Db, worker: &str) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE deliveries SET lease_owner = NULL WHERE status = 'pending' AND lease_owner = ?",
    )
    .bind(worker)
    .execute(db)
    .await
    .map(|r| r.rows_affected())
}

/// A delivery's state after an attempt (or a cancellation).
pub struct DeliveryUpdate {
    pub seq: i64,
    pub status: &'static str,
    pub attempts: i64,
    pub next_at: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub finished_at: Option<i64>,
}

/// Writes a group of delivery states: one multi-row statement per 128.
///
/// A delivery's state is only written while `worker` holds it: a worker that
/// stalled past its lease while another took its deliveries over cannot
/// overwrite what the new holder recorded.
pub async fn update_states(
    conn: &mut SqliteConnection,
    worker: &str,
    updates: &[&DeliveryUpdate],
) -> sqlx::Result<()> {
    for chunk in updates.chunks(CHUNK) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "WITH v (seq, status, attempts, next_at, last_status, last_error, finished_at) AS (",
        );
        q.push_values(chunk, |mut row, u| {
            row.push_bind(u.seq)
                .push_bind(u.status)
                .push_bind(u.attempts)
                .push_bind(u.next_at)
                .push_bind(u.last_status)
                .push_bind(&u.last_error)
                .push_bind(u.finished_at);
        });
        q.push(
            ") UPDATE deliveries SET status = v.status, attempts = v.attempts, next_at = v.next_at, \
             last_status = v.last_status, last_error = v.last_error, finished_at = v.finished_at \
             FROM v WHERE deliveries.seq = v.seq AND deliveries.lease_owner = ",
        );
        q.push_bind(worker);
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// A delivery's status, for tests and the test-event button.
pub async fn status(db: &Db, delivery_id: &str) -> sqlx::Result<Option<(String, Option<String>)>> {
    sqlx::query_as("SELECT status, last_error FROM deliveries WHERE id = ?")
        .bind(delivery_id)
        .fetch_optional(db)
        .await
}

/// The (first) delivery of an event.
pub async fn of_event(db: &Db, event_id: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT id FROM deliveries WHERE event_id = ? ORDER BY seq LIMIT 1")
        .bind(event_id)
        .fetch_optional(db)
        .await
}

/// Up to `limit` finished deliveries created before `before`, oldest first.
pub async fn finished_before(
    conn: &mut SqliteConnection,
    before: i64,
    limit: i64,
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT seq FROM deliveries WHERE created_at < ? AND status <> 'pending' \
         ORDER BY created_at LIMIT ?",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Deletes the deliveries `seqs` (a JSON array).
pub async fn delete(conn: &mut SqliteConnection, seqs_json: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM deliveries WHERE seq IN (SELECT value FROM json_each(?))")
        .bind(seqs_json)
        .execute(conn)
        .await
        .map(|_| ())
}
