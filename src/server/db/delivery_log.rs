//! Reading the delivery log, and the writes people make from it
//! (cancel). Every page is a keyset range on `seq`, newest first: no OFFSET,
//! so a page costs the same on the first and the millionth row.

use super::deliveries::NOT_SUCCEEDED;
use super::Db;
use crate::model::{Cursor, DeliveryOrigin, DeliveryStatus, LogFilter, Ordering};
use sqlx::{Database, Encode, QueryBuilder, Type};

#[derive(Debug, sqlx::FromRow)]
pub struct LogRow {
    pub seq: i64,
    pub id: String,
    pub event_id: String,
    pub event: String,
    pub webhook_id: String,
    pub url: String,
    /// Its webhook's tenant.
    pub tenant: Option<String>,
    pub ordering_key: String,
    pub status: DeliveryStatus,
    pub origin: DeliveryOrigin,
    pub repeats: Option<String>,
    pub attempts: i64,
    pub next_at: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub duration_ms: Option<i64>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

const COLUMNS: &str = "d.seq, d.id, d.event_id, e.event, d.webhook_id, w.url, w.tenant, \
     d.ordering_key, \
     d.status, d.origin, d.repeats, d.attempts, d.next_at, d.last_status, d.last_error, \
     (SELECT a.duration_ms FROM attempts a WHERE a.delivery_seq = d.seq \
      ORDER BY a.number DESC LIMIT 1) AS duration_ms, d.created_at, d.finished_at";

/// The first `seq` created at or after `at` (creation order is `seq`
/// order: one writer stamps both). `None` when nothing is that new.
pub(super) async fn seq_at(db: &Db, at: i64) -> sqlx::Result<Option<i64>> {
    crate::on_db!(db, c => sqlx::query_scalar(
        "SELECT seq FROM deliveries WHERE created_at >= $1 ORDER BY created_at, seq LIMIT 1",
    )
    .bind(at)
    .fetch_optional(c)
    .await)
}

/// The statement of one page: `SELECT` (or `EXPLAIN QUERY PLAN SELECT`)
/// of up to `limit` + 1 rows from `cursor`, given the `seq` bounds of the
/// filter's time range. Returns it and whether it reads newest first.
/// The same text on both backends but for the joins.
fn statement<'a, DB>(
    db: &Db,
    prefix: &str,
    project_id: &'a str,
    filter: &'a LogFilter,
    plan: Plan,
    cursor: Cursor,
    limit: u32,
) -> (QueryBuilder<'a, DB>, bool)
where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    let by_key = filter.key.is_some() && !plan.by_event;
    let from = match (db, plan.by_event) {
        // One conversation's deliveries, from the index of keys.
        (Db::Sqlite(_), false) if by_key => {
            "deliveries d INDEXED BY deliveries_project_key CROSS JOIN events e ON e.id = d.event_id"
        }
        // `CROSS JOIN` fixes SQLite's join order: the left table drives.
        (Db::Sqlite(_), false) => "deliveries d CROSS JOIN events e ON e.id = d.event_id",
        // Each event's deliveries by `deliveries_event`, whatever else the
        // filter says (without statistics SQLite might walk a wider index).
        (Db::Sqlite(_), true) => {
            "events e CROSS JOIN deliveries d INDEXED BY deliveries_event ON d.event_id = e.id"
        }
        // PostgreSQL's planner picks the order from its statistics.
        (Db::Postgres(_), false) => "deliveries d JOIN events e ON e.id = d.event_id",
        (Db::Postgres(_), true) => "events e JOIN deliveries d ON d.event_id = e.id",
    };
    let mut q: QueryBuilder<DB> = QueryBuilder::new(format!(
        "{prefix}SELECT {COLUMNS} FROM {from} JOIN webhooks w ON w.id = d.webhook_id WHERE "
    ));
    let bounds = plan.bounds;
    // Each filter names the index it wants: a webhook's deliveries come from
    // `deliveries_webhook` (the webhook's project is checked on `w`), the
    // rest from `deliveries_project`, and with a status other than succeeded
    // from their `_not_succeeded` partial twins; an id is a lookup.
    match &filter.webhook {
        // A key's deliveries come from `deliveries_project_key` (keys are
        // rare enough that the webhook is a filter on them).
        Some(webhook) if by_key => {
            q.push("d.project_id = ")
                .push_bind(project_id)
                .push(" AND d.webhook_id = ")
                .push_bind(webhook.as_str());
        }
        Some(webhook) => {
            if plan.by_event {
                q.push("e.project_id = ")
                    .push_bind(project_id)
                    .push(" AND ");
            }
            q.push("w.project_id = ")
                .push_bind(project_id)
                .push(" AND d.webhook_id = ")
                .push_bind(webhook.as_str());
        }
        // From the events, the project is checked on them (their index
        // starts with it).
        None if plan.by_event => {
            q.push("e.project_id = ").push_bind(project_id);
        }
        None => {
            q.push("d.project_id = ").push_bind(project_id);
        }
    }
    if let Some(tenant) = &filter.tenant {
        q.push(" AND w.tenant = ").push_bind(tenant.as_str());
    }
    if let Some(status) = filter.status {
        q.push(" AND d.status = ").push_bind(status.as_str());
        if status != DeliveryStatus::Succeeded {
            q.push(" AND ").push(NOT_SUCCEEDED);
        }
    }
    if let Some(event) = &filter.event {
        q.push(" AND e.event = ").push_bind(event.as_str());
    }
    if let Some(key) = &filter.key {
        // `<> ''` lets the planner use the partial index of keys.
        q.push(" AND d.ordering_key <> '' AND d.ordering_key = ")
            .push_bind(key.as_str());
    }
    if let Some(search) = &filter.search {
        q.push(" AND d.seq IN (SELECT seq FROM deliveries WHERE id = ")
            .push_bind(search.as_str())
            .push(" UNION ALL SELECT seq FROM deliveries WHERE event_id = ")
            .push_bind(search.as_str())
            .push(")");
    }
    if let Some(low) = bounds.0 {
        q.push(" AND d.seq >= ").push_bind(low);
    }
    if let Some(high) = bounds.1 {
        q.push(" AND d.seq < ").push_bind(high);
    }
    let newest_first = match cursor {
        Cursor::Newest => true,
        Cursor::Before(seq) => {
            q.push(" AND d.seq < ").push_bind(seq);
            true
        }
        Cursor::After(seq) => {
            q.push(" AND d.seq > ").push_bind(seq);
            false
        }
    };
    q.push(if newest_first {
        " ORDER BY d.seq DESC LIMIT "
    } else {
        " ORDER BY d.seq ASC LIMIT "
    });
    q.push_bind(limit as i64 + 1);
    (q, newest_first)
}

/// Events of one name up to which a page starts from the events (and sorts
/// their deliveries); above it, from the deliveries in `seq` order, where a
/// name this common turns up often enough that the scan stays short.
const FEW_EVENTS: i64 = 5_000;

/// How a page is read.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// The filter's time range as `seq` bounds.
    bounds: (Option<i64>, Option<i64>),
    /// Start from the (few) events of the filtered name.
    by_event: bool,
}

async fn plan(db: &Db, project_id: &str, filter: &LogFilter) -> sqlx::Result<Option<Plan>> {
    let Some(bounds) = bounds(db, filter).await? else {
        return Ok(None);
    };
    let by_event = match &filter.event {
        Some(event) if filter.search.is_none() => {
            let n: i64 = crate::on_db!(db, c => sqlx::query_scalar(
                "SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE project_id = $1 AND event = $2 LIMIT $3) AS few",
            )
            .bind(project_id)
            .bind(event)
            .bind(FEW_EVENTS)
            .fetch_one(c)
            .await?);
            n < FEW_EVENTS
        }
        _ => false,
    };
    Ok(Some(Plan { bounds, by_event }))
}

/// The filter's time range as `seq` bounds; `None` when nothing is that new.
async fn bounds(db: &Db, filter: &LogFilter) -> sqlx::Result<Option<(Option<i64>, Option<i64>)>> {
    let mut low = None;
    if let Some(since) = filter.since {
        match seq_at(db, since).await? {
            Some(seq) => low = Some(seq),
            None => return Ok(None),
        }
    }
    let high = match filter.until {
        Some(until) => seq_at(db, until).await?, // None: nothing is that new, no bound
        None => None,
    };
    Ok(Some((low, high)))
}

/// One page of a project's log: up to `limit` rows from `cursor`, newest
/// first, and whether more rows lie beyond them in the cursor's direction.
/// A time range becomes a range of `seq`, so the scan stays on one index.
pub async fn page(
    db: &Db,
    project_id: &str,
    filter: &LogFilter,
    cursor: Cursor,
    limit: u32,
) -> sqlx::Result<(Vec<LogRow>, bool)> {
    let Some(plan) = plan(db, project_id, filter).await? else {
        return Ok((Vec::new(), false));
    };
    let (mut rows, newest_first): (Vec<LogRow>, bool) = crate::on_db!(db, c, DB => {
        let (mut q, newest_first) =
            statement::<DB>(db, "", project_id, filter, plan, cursor, limit);
        (q.build_query_as().fetch_all(c).await?, newest_first)
    });
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    if !newest_first {
        rows.reverse();
    }
    Ok((rows, more))
}

/// The database's plan for a page (for the benchmark and docs/benchmarks.md).
pub async fn explain(
    db: &Db,
    project_id: &str,
    filter: &LogFilter,
    cursor: Cursor,
    limit: u32,
) -> sqlx::Result<Vec<String>> {
    let plan = plan(db, project_id, filter).await?.unwrap_or(Plan {
        bounds: (None, None),
        by_event: false,
    });
    Ok(match db {
        Db::Sqlite(c) => {
            let prefix = "EXPLAIN QUERY PLAN ";
            let (mut q, _) = statement(db, prefix, project_id, filter, plan, cursor, limit);
            let rows: Vec<(i64, i64, i64, String)> = q.build_query_as().fetch_all(c).await?;
            rows.into_iter().map(|r| r.3).collect()
        }
        Db::Postgres(c) => {
            let (mut q, _) = statement(db, "EXPLAIN ", project_id, filter, plan, cursor, limit);
            q.build_query_scalar().fetch_all(c).await?
        }
    })
}

/// Whether any row of the filtered log is newer than `seq` (for "Newer").
pub async fn newer_exists(
    db: &Db,
    project_id: &str,
    filter: &LogFilter,
    seq: i64,
) -> sqlx::Result<bool> {
    let (rows, _) = page(db, project_id, filter, Cursor::After(seq), 1).await?;
    Ok(!rows.is_empty())
}

pub async fn one(db: &Db, project_id: &str, id: &str) -> sqlx::Result<Option<LogRow>> {
    crate::on_db!(db, c => sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM deliveries d \
         JOIN events e ON e.id = d.event_id JOIN webhooks w ON w.id = d.webhook_id \
         WHERE d.id = $1 AND d.project_id = $2"
    ))
    .bind(id)
    .bind(project_id)
    .fetch_optional(c)
    .await)
}

#[derive(Debug, sqlx::FromRow)]
pub struct AttemptRecord {
    pub delivery_seq: i64,
    pub number: i64,
    pub started_at: i64,
    pub duration_ms: i64,
    pub request_headers: String,
    pub response_status: Option<i64>,
    pub response_headers: Option<String>,
    pub response_body: Option<Vec<u8>>,
    pub error_kind: Option<String>,
    pub error_message: Option<String>,
}

/// The attempts of the deliveries `seqs` (a page's worth), in one query,
/// each delivery's in order.
pub async fn attempts(db: &Db, seqs: &[i64]) -> sqlx::Result<Vec<AttemptRecord>> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    crate::on_db!(db, c, DB => {
        let mut q: QueryBuilder<DB> = QueryBuilder::new(
            "SELECT delivery_seq, number, started_at, duration_ms, request_headers, \
             response_status, response_headers, response_body, error_kind, error_message \
             FROM attempts WHERE delivery_seq IN (",
        );
        let mut list = q.separated(", ");
        for seq in seqs {
            list.push_bind(*seq);
        }
        q.push(") ORDER BY delivery_seq, number, id");
        q.build_query_as().fetch_all(c).await
    })
}

/// What a repeat of a delivery needs: its event and its webhook.
#[derive(Debug, sqlx::FromRow)]
pub struct RepeatSource {
    pub seq: i64,
    pub id: String,
    pub event_id: String,
    pub event: String,
    pub webhook_id: String,
    pub ordering_key: String,
    pub ordering: Ordering,
    pub keyed: bool,
    pub max_concurrency: Option<i64>,
    pub rate_limit: Option<f64>,
    pub pace_version: i64,
}

pub(super) const SOURCE: &str =
    "SELECT d.seq, d.id, d.event_id, e.event, d.webhook_id, d.ordering_key, \
     w.ordering, w.ordering_key IS NOT NULL AS keyed, w.max_concurrency, w.rate_limit, \
     w.updated_at AS pace_version \
     FROM deliveries d JOIN events e ON e.id = d.event_id JOIN webhooks w ON w.id = d.webhook_id";

pub async fn repeat_source(
    db: &Db,
    project_id: &str,
    id: &str,
) -> sqlx::Result<Option<RepeatSource>> {
    crate::on_db!(db, c => sqlx::query_as(&format!(
        "{SOURCE} WHERE d.id = $1 AND d.project_id = $2 AND w.deleted_at IS NULL"
    ))
    .bind(id)
    .bind(project_id)
    .fetch_optional(c)
    .await)
}

/// A webhook's failed and dropped deliveries created since `since`, oldest
/// first, at most `limit` (+1 to tell that there are more).
pub async fn replay_sources(
    db: &Db,
    webhook_id: &str,
    since: i64,
    limit: i64,
) -> sqlx::Result<Vec<RepeatSource>> {
    let Some(low) = seq_at(db, since).await? else {
        return Ok(Vec::new());
    };
    crate::on_db!(db, c => sqlx::query_as(&format!(
        "{SOURCE} WHERE d.webhook_id = $1 AND d.status IN ('failed', 'dropped') AND {NOT_SUCCEEDED} \
         AND d.seq >= $2 AND d.created_at >= $3 ORDER BY d.seq LIMIT $4"
    ))
    .bind(webhook_id)
    .bind(low)
    .bind(since)
    .bind(limit + 1)
    .fetch_all(c)
    .await)
}

/// How many deliveries a replay since `since` would repeat.
pub async fn replay_count(db: &Db, webhook_id: &str, since: i64) -> sqlx::Result<i64> {
    let Some(low) = seq_at(db, since).await? else {
        return Ok(0);
    };
    crate::on_db!(db, c => sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM deliveries d WHERE d.webhook_id = $1 \
         AND d.status IN ('failed', 'dropped') AND {NOT_SUCCEEDED} AND d.seq >= $2 \
         AND d.created_at >= $3",
    ))
    .bind(webhook_id)
    .bind(low)
    .bind(since)
    .fetch_one(c)
    .await)
}

/// Cancels a pending delivery: no worker writes another state over a
/// delivery that is not pending. Returns its webhook and `seq`, or `None`
/// when it is not pending (finished meanwhile, or unknown).
pub async fn cancel(
    db: &Db,
    project_id: &str,
    id: &str,
    reason: &str,
    now: i64,
) -> sqlx::Result<Option<(String, i64)>> {
    crate::on_db!(db, c => sqlx::query_as(
        "UPDATE deliveries SET status = 'cancelled', last_error = $1, \
         finished_at = $2 WHERE id = $3 AND project_id = $4 AND status = 'pending' \
         RETURNING webhook_id, seq",
    )
    .bind(reason)
    .bind(now)
    .bind(id)
    .bind(project_id)
    .fetch_optional(c)
    .await)
}

/// One `webhook_hours` row: a webhook's deliveries that finished in an hour
/// with one outcome and one duration bucket.
#[derive(sqlx::FromRow)]
pub struct HourRow {
    pub hour: i64,
    pub succeeded: bool,
    pub bucket: i64,
    pub count: i64,
}

/// A webhook's hourly outcome counts and latency histograms since `first_hour`.
pub async fn hours(db: &Db, webhook_id: &str, first_hour: i64) -> sqlx::Result<Vec<HourRow>> {
    crate::on_db!(db, c => sqlx::query_as(
        "SELECT hour, succeeded, bucket, count FROM webhook_hours \
         WHERE webhook_id = $1 AND hour >= $2",
    )
    .bind(webhook_id)
    .bind(first_hour)
    .fetch_all(c)
    .await)
}

/// Deletes the hourly counts of hours that began before `before`.
pub async fn forget_hours(db: &Db, before: i64) -> sqlx::Result<u64> {
    crate::on_db!(db, c => sqlx::query("DELETE FROM webhook_hours WHERE hour < $1")
        .bind(before / 3_600_000 * 3_600_000)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}

/// Per webhook of a project: its newest delivery's status, HTTP status and
/// time, and its finished and succeeded deliveries in the hours from
/// `first_hour` on (from `webhook_hours`).
#[derive(Debug, sqlx::FromRow)]
pub struct HealthRow {
    pub webhook_id: String,
    pub last_status: Option<DeliveryStatus>,
    pub last_http: Option<i64>,
    pub last_at: Option<i64>,
    pub finished: i64,
    pub succeeded: i64,
}

pub async fn health(db: &Db, project_id: &str, first_hour: i64) -> sqlx::Result<Vec<HealthRow>> {
    crate::on_db!(db, c => sqlx::query_as(
        "SELECT w.id AS webhook_id, \
           l.status AS last_status, l.last_status AS last_http, l.created_at AS last_at, \
           (SELECT CAST(COALESCE(SUM(h.count), 0) AS BIGINT) FROM webhook_hours h \
              WHERE h.webhook_id = w.id AND h.hour >= $2) AS finished, \
           (SELECT CAST(COALESCE(SUM(h.count), 0) AS BIGINT) FROM webhook_hours h \
              WHERE h.webhook_id = w.id AND h.hour >= $2 AND h.succeeded = TRUE) AS succeeded \
         FROM webhooks w LEFT JOIN deliveries l ON l.seq = \
           (SELECT MAX(seq) FROM deliveries m WHERE m.webhook_id = w.id) \
         WHERE w.project_id = $1 AND w.deleted_at IS NULL",
    )
    .bind(project_id)
    .bind(first_hour)
    .fetch_all(c)
    .await)
}
