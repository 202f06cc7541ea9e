//! Events, deliveries, attempts, worker leases and idempotency keys: the
//! delivery engine's tables (migrations/0003_delivery.sql).

use super::Db;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

/// An enabled webhook an event may go to.
#[derive(sqlx::FromRow)]
pub struct Subscriber {
    pub id: String,
    pub events: String,
    pub ordering: String,
}

pub async fn enabled_webhooks(db: &Db, project_id: &str) -> sqlx::Result<Vec<Subscriber>> {
    sqlx::query_as(
        "SELECT id, events, ordering FROM webhooks \
         WHERE project_id = ? AND enabled = 1 AND deleted_at IS NULL ORDER BY created_at, id",
    )
    .bind(project_id)
    .fetch_all(db)
    .await
}

/// The stored answer to an idempotency key newer than `since`.
pub async fn idempotent_answer(
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

pub async fn remember_answer(
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

pub struct NewEvent<'a> {
    pub id: &'a str,
    pub project_id: &'a str,
    pub name: &'a str,
    pub body: &'a [u8],
}

/// Rows per multi-row statement: few distinct statements, so that they
/// stay in the connection's statement cache.
const CHUNK: usize = 128;

pub async fn insert_events(
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
pub async fn insert_deliveries(
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

/// Renews a worker's lease (registering it on first call).
pub async fn heartbeat(db: &Db, worker: &str, now: i64, lease_until: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO workers (id, started_at, lease_until) VALUES (?, ?, ?) \
         ON CONFLICT (id) DO UPDATE SET lease_until = excluded.lease_until",
    )
    .bind(worker)
    .bind(now)
    .bind(lease_until)
    .execute(db)
    .await
    .map(|_| ())
}

/// Workers whose lease ran out.
pub async fn dead_workers(db: &Db, now: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT id FROM workers WHERE lease_until < ?")
        .bind(now)
        .fetch_all(db)
        .await
}

/// How many workers other than `me` are registered (alive, or dead and not
/// yet taken over).
pub async fn other_workers(db: &Db, me: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM workers WHERE id <> ?")
        .bind(me)
        .fetch_one(db)
        .await
}

pub async fn forget_worker(db: &Db, worker: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM workers WHERE id = ?")
        .bind(worker)
        .execute(db)
        .await
        .map(|_| ())
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
/// one), oldest first, for `worker`. On PostgreSQL the inner SELECT gets
/// `FOR UPDATE SKIP LOCKED`, so that workers never claim the same rows;
/// SQLite has one writer at a time, so the statement alone is atomic.
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

/// One attempt's record.
pub struct AttemptRow {
    pub number: i64,
    pub started_at: i64,
    pub duration_ms: i64,
    pub request_headers: String,
    pub response_status: Option<i64>,
    pub response_headers: Option<String>,
    pub response_body: Option<Vec<u8>>,
    pub error_kind: Option<&'static str>,
    pub error_message: Option<String>,
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
    pub attempt: Option<AttemptRow>,
}

/// Writes a group of attempts and delivery updates: two multi-row
/// statements per 128 of them (group commit).
///
/// A delivery's state is only written while `worker` holds it: a worker that
/// stalled past its lease while another took its deliveries over cannot
/// overwrite what the new holder recorded (its attempt rows are kept).
pub async fn record(
    conn: &mut SqliteConnection,
    worker: &str,
    updates: &[&DeliveryUpdate],
) -> sqlx::Result<()> {
    let with_attempt: Vec<(i64, &AttemptRow)> = updates
        .iter()
        .filter_map(|u| u.attempt.as_ref().map(|a| (u.seq, a)))
        .collect();
    for chunk in with_attempt.chunks(CHUNK) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO attempts (delivery_seq, number, started_at, duration_ms, request_headers, \
             response_status, response_headers, response_body, error_kind, error_message) ",
        );
        q.push_values(chunk, |mut row, (seq, a)| {
            row.push_bind(*seq)
                .push_bind(a.number)
                .push_bind(a.started_at)
                .push_bind(a.duration_ms)
                .push_bind(&a.request_headers)
                .push_bind(a.response_status)
                .push_bind(&a.response_headers)
                .push_bind(&a.response_body)
                .push_bind(a.error_kind)
                .push_bind(&a.error_message);
        });
        q.build().execute(&mut *conn).await?;
    }
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

/// Webhooks whose deliveries in a group all succeeded: no failure run.
pub async fn clear_failures(conn: &mut SqliteConnection, webhook_ids: &[&str]) -> sqlx::Result<()> {
    if webhook_ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE webhooks SET failed_deliveries = 0, failing_since = NULL \
         WHERE id IN (SELECT value FROM json_each(?)) \
           AND (failed_deliveries <> 0 OR failing_since IS NOT NULL)",
    )
    .bind(serde_json::to_string(webhook_ids).expect("strings serialize"))
    .execute(conn)
    .await
    .map(|_| ())
}

/// Auto-disable bookkeeping for one webhook after a group of finished
/// deliveries: `reset` when one of them succeeded, then `failures` failed
/// deliveries after it, the first at `first_failure_at`.
pub async fn track_failures(
    conn: &mut SqliteConnection,
    webhook_id: &str,
    reset: bool,
    failures: i64,
    first_failure_at: i64,
) -> sqlx::Result<()> {
    let sql = if reset {
        "UPDATE webhooks SET failed_deliveries = ?1, \
         failing_since = CASE WHEN ?1 > 0 THEN ?2 ELSE NULL END WHERE id = ?3"
    } else {
        "UPDATE webhooks SET failed_deliveries = failed_deliveries + ?1, \
         failing_since = COALESCE(failing_since, ?2) WHERE id = ?3"
    };
    sqlx::query(sql)
        .bind(failures)
        .bind(first_failure_at)
        .bind(webhook_id)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Disables the webhook, with a reason, if it is still enabled and (unless
/// `at_once`) has failed long and often enough. Returns whether it did.
pub async fn auto_disable(
    conn: &mut SqliteConnection,
    webhook_id: &str,
    reason: &str,
    at_once: bool,
    failing_before: i64,
    min_failures: i64,
    now: i64,
) -> sqlx::Result<bool> {
    let disabled = sqlx::query(
        "UPDATE webhooks SET enabled = 0, disabled_reason = ?, disabled_at = ?, updated_at = ? \
         WHERE id = ? AND enabled = 1 AND deleted_at IS NULL \
           AND (? OR (failing_since <= ? AND failed_deliveries >= ?))",
    )
    .bind(reason)
    .bind(now)
    .bind(now)
    .bind(webhook_id)
    .bind(at_once)
    .bind(failing_before)
    .bind(min_failures)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if disabled {
        // Recorded in the same transaction: the activity trail shows it.
        sqlx::query(
            "INSERT INTO activity (at, project_id, action, subject, detail) \
             SELECT ?, project_id, 'webhook.auto_disabled', url, ? FROM webhooks WHERE id = ?",
        )
        .bind(now)
        .bind(reason)
        .bind(webhook_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(disabled)
}

/// The signing material and state of one webhook, for the worker.
#[derive(sqlx::FromRow)]
pub struct TargetRow {
    pub url: String,
    pub scheme: String,
    pub secret: Vec<u8>,
    pub previous_secret: Option<Vec<u8>>,
    pub previous_expires_at: Option<i64>,
    pub enabled: bool,
    pub deleted_at: Option<i64>,
    pub ordering: String,
}

pub async fn target(db: &Db, webhook_id: &str) -> sqlx::Result<Option<TargetRow>> {
    sqlx::query_as(
        "SELECT url, scheme, secret, previous_secret, previous_expires_at, enabled, deleted_at, \
         ordering FROM webhooks WHERE id = ?",
    )
    .bind(webhook_id)
    .fetch_optional(db)
    .await
}

/// The first attempt of a delivery, when there is one: (status, error, ms).
pub async fn first_attempt(
    db: &Db,
    delivery_id: &str,
) -> sqlx::Result<Option<(Option<i64>, Option<String>, i64)>> {
    sqlx::query_as(
        "SELECT a.response_status, a.error_message, a.duration_ms FROM attempts a \
         JOIN deliveries d ON d.seq = a.delivery_seq WHERE d.id = ? AND a.number = 1",
    )
    .bind(delivery_id)
    .fetch_optional(db)
    .await
}

/// A delivery's status, for tests and the test-event button.
pub async fn status(db: &Db, delivery_id: &str) -> sqlx::Result<Option<(String, Option<String>)>> {
    sqlx::query_as("SELECT status, last_error FROM deliveries WHERE id = ?")
        .bind(delivery_id)
        .fetch_optional(db)
        .await
}

/// Deletes up to `limit` finished deliveries created before `before`, with
/// their attempts, then up to `limit` old events left without deliveries.
/// Returns how many deliveries and events went.
pub async fn delete_old(db: &Db, before: i64, limit: i64) -> sqlx::Result<(u64, u64)> {
    let mut tx = db.begin_with("BEGIN IMMEDIATE").await?;
    let seqs: Vec<i64> = sqlx::query_scalar(
        "SELECT seq FROM deliveries WHERE created_at < ? AND status <> 'pending' \
         ORDER BY created_at LIMIT ?",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let list = serde_json::to_string(&seqs).expect("integers serialize");
    sqlx::query("DELETE FROM attempts WHERE delivery_seq IN (SELECT value FROM json_each(?))")
        .bind(&list)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM deliveries WHERE seq IN (SELECT value FROM json_each(?))")
        .bind(&list)
        .execute(&mut *tx)
        .await?;
    let events = sqlx::query(
        "DELETE FROM events WHERE id IN (SELECT e.id FROM events e WHERE e.created_at < ? \
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) LIMIT ?)",
    )
    .bind(before)
    .bind(limit)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query("DELETE FROM idempotency_keys WHERE created_at < ?")
        .bind(super::now_ms() - 86_400_000)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((seqs.len() as u64, events))
}

/// The (first) delivery of an event.
pub async fn delivery_of_event(db: &Db, event_id: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT id FROM deliveries WHERE event_id = ? ORDER BY seq LIMIT 1")
        .bind(event_id)
        .fetch_optional(db)
        .await
}
