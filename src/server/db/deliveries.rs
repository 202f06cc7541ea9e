//! `deliveries`: one event to one webhook, and its state
//! (migrations/sqlite/0003_delivery.sql). The queue is this table: a worker reads
//! a small window of each lane it owns (see `lanes`) and writes back states.

use super::events::CHUNK;
use super::{Db, Tx};
use crate::model::{DeliveryOrigin, DeliveryStatus, Ordering};
use sqlx::QueryBuilder;

/// The condition of the partial indexes of deliveries that did not succeed
/// (`deliveries_webhook_not_succeeded`, `deliveries_project_not_succeeded`,
/// migrations/sqlite/0019). SQLite reads a partial index only for a query
/// that repeats its condition word for word, so every query for pending,
/// failed, dropped or cancelled deliveries says it too, on the alias `d`.
pub const NOT_SUCCEEDED: &str = "d.status <> 'succeeded'";

pub struct NewDelivery<'a> {
    pub id: &'a str,
    pub project_id: &'a str,
    pub event_id: &'a str,
    pub webhook_id: &'a str,
    /// Its ordering key (`""`: the empty key).
    pub ordering_key: &'a str,
    pub origin: DeliveryOrigin,
    /// The delivery a redelivery or replay repeats.
    pub repeats: Option<&'a str>,
}

/// Inserts pending deliveries, due now; returns their `seq`s in the order
/// given (both backends hand them out in insertion order).
pub async fn insert(
    tx: &mut Tx,
    deliveries: &[NewDelivery<'_>],
    now: i64,
) -> sqlx::Result<Vec<i64>> {
    if let Tx::Postgres(t) = tx {
        // One statement of arrays, rows inserted in the order given.
        let ids: Vec<&str> = deliveries.iter().map(|d| d.id).collect();
        let projects: Vec<&str> = deliveries.iter().map(|d| d.project_id).collect();
        let events: Vec<&str> = deliveries.iter().map(|d| d.event_id).collect();
        let webhooks: Vec<&str> = deliveries.iter().map(|d| d.webhook_id).collect();
        let origins: Vec<&str> = deliveries.iter().map(|d| d.origin.as_str()).collect();
        let repeats: Vec<Option<&str>> = deliveries.iter().map(|d| d.repeats).collect();
        let keys: Vec<&str> = deliveries.iter().map(|d| d.ordering_key).collect();
        let mut seqs: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO deliveries (id, project_id, event_id, webhook_id, next_at, created_at, \
               origin, repeats, ordering_key) \
             SELECT i, p, e, w, $7, $7, o, r, y FROM unnest($1::text[], $2::text[], $3::text[], \
               $4::text[], $5::text[], $6::text[], $8::text[]) \
               WITH ORDINALITY AS t (i, p, e, w, o, r, y, k) \
             ORDER BY k RETURNING seq",
        )
        .bind(&ids)
        .bind(&projects)
        .bind(&events)
        .bind(&webhooks)
        .bind(&origins)
        .bind(&repeats)
        .bind(now)
        .bind(&keys)
        .fetch_all(&mut **t)
        .await?;
        seqs.sort_unstable();
        return Ok(seqs);
    }
    let mut seqs = Vec::with_capacity(deliveries.len());
    for chunk in deliveries.chunks(CHUNK) {
        crate::on_tx!(tx, c, DB => {
        let mut q: QueryBuilder<DB> = QueryBuilder::new(
            "INSERT INTO deliveries (id, project_id, event_id, webhook_id, next_at, created_at, origin, repeats, ordering_key) ",
        );
        q.push_values(chunk, |mut row, d| {
            row.push_bind(d.id)
                .push_bind(d.project_id)
                .push_bind(d.event_id)
                .push_bind(d.webhook_id)
                .push_bind(now)
                .push_bind(now)
                .push_bind(d.origin)
                .push_bind(d.repeats)
                .push_bind(d.ordering_key);
        });
        q.push(" RETURNING seq");
        let mut got: Vec<i64> = q.build_query_scalar().fetch_all(&mut *c).await?;
        // RETURNING's order is not promised; `seq`s are increasing.
        got.sort_unstable();
        seqs.extend(got);
        });
    }
    Ok(seqs)
}

/// A pending delivery read into a lane's window, with its event and its
/// webhook's pace.
#[derive(sqlx::FromRow)]
pub struct WindowRow {
    pub seq: i64,
    pub id: String,
    pub event_id: String,
    pub event: String,
    pub attempts: i64,
    pub next_at: i64,
    pub created_at: i64,
    /// Left out when the delivery waits for a retry later than `body_due_by`:
    /// it is read again when the attempt is due.
    pub body: Option<Vec<u8>>,
    pub ordering_key: String,
    pub ordering: Ordering,
    pub keyed: bool,
    pub max_concurrency: Option<i64>,
    pub rate_limit: Option<f64>,
    pub pace_version: i64,
}

impl WindowRow {
    pub fn pace(&self) -> super::webhooks::Pace {
        super::webhooks::Pace::of(
            self.ordering,
            self.keyed,
            self.max_concurrency,
            self.rate_limit,
            self.pace_version,
        )
    }
}

const WINDOW_COLUMNS: &str = "d.seq, d.id, d.event_id, e.event, d.attempts, d.next_at, \
    d.created_at, CASE WHEN d.next_at <= $4 THEN e.body END AS body, d.ordering_key, \
    w.ordering, w.ordering_key IS NOT NULL AS keyed, w.max_concurrency, w.rate_limit, \
    w.updated_at AS pace_version";

/// The next `limit` pending deliveries of a webhook after `after`, in
/// `seq` order, from the partial index of deliveries not succeeded, leaving out
/// the keys in `skip` (each held back until its earlier deliveries are
/// done; read with [`keys_window`]).
pub async fn window(
    db: &Db,
    webhook_id: &str,
    after: i64,
    limit: i64,
    body_due_by: i64,
    skip: &[&str],
) -> sqlx::Result<Vec<WindowRow>> {
    let hint = db.sqlite_hint("INDEXED BY deliveries_webhook_not_succeeded");
    // The keys to leave out, as a JSON array on both backends.
    let skipped = match db {
        Db::Sqlite(_) => "SELECT value FROM json_each($5)",
        Db::Postgres(_) => "SELECT jsonb_array_elements_text($5::jsonb)",
    };
    let sql = format!(
        "SELECT {WINDOW_COLUMNS} \
         FROM deliveries d {hint} \
           JOIN events e ON e.id = d.event_id JOIN webhooks w ON w.id = d.webhook_id \
         WHERE d.webhook_id = $1 AND d.status = 'pending' AND {NOT_SUCCEEDED} AND d.seq > $2 \
           AND d.ordering_key NOT IN ({skipped}) \
         ORDER BY d.seq LIMIT $3"
    );
    let skip = serde_json::to_string(skip).expect("strings serialize");
    crate::on_db!(db, c => sqlx::query_as(&sql)
        .bind(webhook_id)
        .bind(after)
        .bind(limit)
        .bind(body_due_by)
        .bind(&skip)
        .fetch_all(c)
        .await)
}

/// For each of `keys` (a key and the `seq` after which to read), its next
/// `per_key` pending deliveries up to `upto`, all in `seq` order. The
/// empty key's come from `deliveries_webhook_not_succeeded` (every delivery of a
/// webhook without a key has it), the others' from `deliveries_pending_key`.
pub async fn keys_window(
    db: &Db,
    webhook_id: &str,
    keys: &[(&str, i64)],
    upto: i64,
    per_key: i64,
    body_due_by: i64,
) -> sqlx::Result<Vec<WindowRow>> {
    let mut rows = Vec::new();
    if let Some((_, after)) = keys.iter().find(|(k, _)| k.is_empty()) {
        let hint = db.sqlite_hint("INDEXED BY deliveries_webhook_not_succeeded");
        let sql = format!(
            "SELECT {WINDOW_COLUMNS} \
             FROM deliveries d {hint} \
               JOIN events e ON e.id = d.event_id JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.webhook_id = $1 AND d.status = 'pending' AND {NOT_SUCCEEDED} \
               AND d.ordering_key = '' \
               AND d.seq > $2 AND d.seq <= $3 \
             ORDER BY d.seq LIMIT $5"
        );
        rows = crate::on_db!(db, c => sqlx::query_as(&sql)
            .bind(webhook_id)
            .bind(after)
            .bind(upto)
            .bind(body_due_by)
            .bind(per_key)
            .fetch_all(c)
            .await)?;
    }
    let keys: Vec<(&str, i64)> = keys
        .iter()
        .filter(|(k, _)| !k.is_empty())
        .copied()
        .collect();
    if keys.is_empty() {
        return Ok(rows);
    }
    let keyed: Vec<WindowRow> = match db {
        Db::Sqlite(p) => {
            let sql = format!(
                "SELECT {WINDOW_COLUMNS} \
                 FROM json_each($2) k \
                   JOIN deliveries d ON d.seq IN ( \
                     SELECT n.seq FROM deliveries n INDEXED BY deliveries_pending_key \
                     WHERE n.webhook_id = $1 AND n.ordering_key = k.value ->> 0 \
                       AND n.ordering_key <> '' AND n.status = 'pending' \
                       AND n.seq > k.value ->> 1 AND n.seq <= $3 \
                     ORDER BY n.seq LIMIT $5) \
                   JOIN events e ON e.id = d.event_id JOIN webhooks w ON w.id = d.webhook_id \
                 ORDER BY d.seq"
            );
            sqlx::query_as(&sql)
                .bind(webhook_id)
                .bind(serde_json::to_string(&keys).expect("pairs serialize"))
                .bind(upto)
                .bind(body_due_by)
                .bind(per_key)
                .fetch_all(p)
                .await?
        }
        Db::Postgres(p) => {
            let names: Vec<&str> = keys.iter().map(|k| k.0).collect();
            let afters: Vec<i64> = keys.iter().map(|k| k.1).collect();
            let sql = format!(
                "SELECT {WINDOW_COLUMNS} \
                 FROM unnest($2::text[], $6::bigint[]) AS k (key, after) \
                   CROSS JOIN LATERAL ( \
                     SELECT n.seq FROM deliveries n \
                     WHERE n.webhook_id = $1 AND n.ordering_key = k.key \
                       AND n.ordering_key <> '' AND n.status = 'pending' \
                       AND n.seq > k.after AND n.seq <= $3 \
                     ORDER BY n.seq LIMIT $5) s \
                   JOIN deliveries d ON d.seq = s.seq \
                   JOIN events e ON e.id = d.event_id JOIN webhooks w ON w.id = d.webhook_id \
                 ORDER BY d.seq"
            );
            sqlx::query_as(&sql)
                .bind(webhook_id)
                .bind(&names)
                .bind(upto)
                .bind(body_due_by)
                .bind(per_key)
                .bind(&afters)
                .fetch_all(p)
                .await?
        }
    };
    rows.extend(keyed);
    rows.sort_unstable_by_key(|r| r.seq);
    Ok(rows)
}

/// A delivery's state after an attempt (or a cancellation).
pub struct DeliveryUpdate {
    pub seq: i64,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_at: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub finished_at: Option<i64>,
}

/// Writes a group of delivery states: one multi-row statement per 128.
///
/// A state is written only while the delivery is pending and `worker` owns
/// its lane: a worker that stalled past its lease while another took the
/// lane over cannot overwrite what the new owner recorded, and a cancelled
/// delivery stays cancelled. When a delivery has several states in the
/// group (an attempt and its quick retry), the last one given is written:
/// an `UPDATE … FROM` that joins a row twice applies either of the two.
pub async fn update_states(
    tx: &mut Tx,
    worker: &str,
    updates: &[&DeliveryUpdate],
) -> sqlx::Result<()> {
    let last: std::collections::HashMap<i64, usize> = updates
        .iter()
        .enumerate()
        .map(|(i, u)| (u.seq, i))
        .collect();
    let kept: Vec<&DeliveryUpdate>;
    let updates = if last.len() < updates.len() {
        kept = (updates.iter().enumerate())
            .filter(|(i, u)| last[&u.seq] == *i)
            .map(|(_, u)| *u)
            .collect();
        &kept[..]
    } else {
        updates
    };
    if updates.is_empty() {
        return Ok(());
    }
    if let Tx::Postgres(t) = tx {
        // One statement of arrays: the same text whatever the count.
        let seqs: Vec<i64> = updates.iter().map(|u| u.seq).collect();
        let statuses: Vec<&str> = updates.iter().map(|u| u.status.as_str()).collect();
        let attempts: Vec<i64> = updates.iter().map(|u| u.attempts).collect();
        let next_at: Vec<i64> = updates.iter().map(|u| u.next_at).collect();
        let last_status: Vec<Option<i64>> = updates.iter().map(|u| u.last_status).collect();
        let last_error: Vec<Option<&str>> =
            updates.iter().map(|u| u.last_error.as_deref()).collect();
        let finished_at: Vec<Option<i64>> = updates.iter().map(|u| u.finished_at).collect();
        return sqlx::query(
            "UPDATE deliveries d SET status = v.status, attempts = v.attempts, \
               next_at = v.next_at, last_status = v.last_status, last_error = v.last_error, \
               finished_at = v.finished_at \
             FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], \
               $6::text[], $7::bigint[]) \
               AS v (seq, status, attempts, next_at, last_status, last_error, finished_at) \
             WHERE d.seq = v.seq AND d.status = 'pending' \
               AND EXISTS (SELECT 1 FROM lanes l WHERE l.webhook_id = d.webhook_id \
                           AND l.owner = $8)",
        )
        .bind(&seqs)
        .bind(&statuses)
        .bind(&attempts)
        .bind(&next_at)
        .bind(&last_status)
        .bind(&last_error)
        .bind(&finished_at)
        .bind(worker)
        .execute(&mut **t)
        .await
        .map(|_| ());
    }
    for chunk in updates.chunks(CHUNK) {
        crate::on_tx!(tx, c, DB => {
        let mut q: QueryBuilder<DB> = QueryBuilder::new(
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
             FROM v WHERE deliveries.seq = v.seq AND deliveries.status = 'pending' \
             AND EXISTS (SELECT 1 FROM lanes l WHERE l.webhook_id = deliveries.webhook_id \
                         AND l.owner = ",
        );
        q.push_bind(worker);
        q.push(")");
        q.build().execute(&mut *c).await?;
        });
    }
    Ok(())
}

/// Whether a delivery is still pending (a worker asks before a retry, so a
/// cancel made through another process stops it).
pub async fn is_pending(db: &Db, seq: i64) -> sqlx::Result<bool> {
    crate::on_db!(db, c => sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM deliveries WHERE seq = $1 AND status = 'pending')",
    )
    .bind(seq)
    .fetch_one(c)
    .await)
}

/// A delivery's status and last error, for the test-event button.
pub async fn status(
    db: &Db,
    delivery_id: &str,
) -> sqlx::Result<Option<(DeliveryStatus, Option<String>)>> {
    crate::on_db!(db, c => sqlx::query_as("SELECT status, last_error FROM deliveries WHERE id = $1")
        .bind(delivery_id)
        .fetch_optional(c)
        .await)
}

/// The (first) delivery of an event.
pub async fn of_event(db: &Db, event_id: &str) -> sqlx::Result<Option<String>> {
    crate::on_db!(db, c => sqlx::query_scalar("SELECT id FROM deliveries WHERE event_id = $1 ORDER BY seq LIMIT 1")
        .bind(event_id)
        .fetch_optional(c)
        .await)
}

/// Up to `limit` finished deliveries created before `before`, oldest first.
/// The newest delivery of all is never among them: SQLite gives a new row
/// the largest `seq` there is plus one, and `seq` must only ever grow (it is
/// event order, and the lanes' cursors count on it).
pub async fn finished_before(tx: &mut Tx, before: i64, limit: i64) -> sqlx::Result<Vec<i64>> {
    crate::on_tx!(tx, c => sqlx::query_scalar(
        "SELECT seq FROM deliveries WHERE created_at < $1 AND status <> 'pending' \
         AND seq < (SELECT max(seq) FROM deliveries) ORDER BY created_at LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(&mut *c)
    .await)
}

/// Deletes the deliveries `seqs`.
pub async fn delete(tx: &mut Tx, seqs: &[i64]) -> sqlx::Result<()> {
    match tx {
        Tx::Sqlite(t) => {
            sqlx::query("DELETE FROM deliveries WHERE seq IN (SELECT value FROM json_each($1))")
                .bind(serde_json::to_string(seqs).expect("integers serialize"))
                .execute(&mut **t)
                .await
                .map(|_| ())
        }
        Tx::Postgres(t) => sqlx::query("DELETE FROM deliveries WHERE seq = ANY($1)")
            .bind(seqs)
            .execute(&mut **t)
            .await
            .map(|_| ()),
    }
}
