//! `replays`: bulk replays and how far each got; and the deliveries a
//! replay's filter picks.

use super::deliveries::NOT_SUCCEEDED;
use super::delivery_log::{seq_at, RepeatSource, SOURCE};
use super::{now_ms, Db};
use crate::model::ReplayFilter;
use sqlx::{Database, Encode, QueryBuilder, Type};

#[derive(sqlx::FromRow)]
pub struct ReplayRow {
    pub id: String,
    pub project_id: String,
    pub tenant: Option<String>,
    pub filter: String,
    pub max_seq: i64,
    pub cursor: i64,
    pub total: i64,
    pub queued: i64,
    pub state: String,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

const COLUMNS: &str = "id, project_id, tenant, filter, max_seq, cursor, total, queued, state, \
                       created_at, finished_at";

/// Where a replay's picks start and end, in `seq`.
pub struct Range {
    /// After this one.
    pub after: i64,
    /// Up to this one.
    pub max: i64,
}

/// The newest `seq` there is (0: none).
pub async fn max_seq(db: &Db) -> sqlx::Result<i64> {
    crate::on_db!(db, c => sqlx::query_scalar::<_, Option<i64>>("SELECT max(seq) FROM deliveries")
        .fetch_one(c)
        .await)
    .map(|m| m.unwrap_or(0))
}

/// The conditions of a replay's picks, after `WHERE`.
fn push_picks<'a, DB>(
    q: &mut QueryBuilder<'a, DB>,
    project_id: &'a str,
    tenant: Option<&'a str>,
    f: &'a ReplayFilter,
    low: i64,
    range: &Range,
) where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    q.push("d.project_id = ")
        .push_bind(project_id)
        .push(" AND d.seq > ")
        .push_bind(range.after.max(low - 1))
        .push(" AND d.seq <= ")
        .push_bind(range.max)
        .push(" AND d.created_at >= ")
        .push_bind(f.since);
    if let Some(until) = f.until {
        q.push(" AND d.created_at < ").push_bind(until);
    }
    let mut list = q.push(" AND d.status IN (").separated(", ");
    for s in &f.statuses {
        list.push_bind(s.as_str());
    }
    q.push(")");
    if !f.event_types.is_empty() {
        let mut list = q.push(" AND e.event IN (").separated(", ");
        for n in &f.event_types {
            list.push_bind(n.as_str());
        }
        q.push(")");
    }
    if !f.webhook_ids.is_empty() {
        let mut list = q.push(" AND d.webhook_id IN (").separated(", ");
        for w in &f.webhook_ids {
            list.push_bind(w.as_str());
        }
        q.push(")");
    }
    if let Some(t) = tenant {
        q.push(" AND w.tenant = ").push_bind(t);
    }
    q.push(
        " AND w.deleted_at IS NULL AND w.enabled = TRUE AND w.purpose = 'events' \
         AND NOT EXISTS (SELECT 1 FROM deliveries n WHERE n.event_id = d.event_id \
           AND n.webhook_id = d.webhook_id AND n.seq > d.seq)",
    );
}

/// How many deliveries the filter picks in `range`.
pub async fn count(
    db: &Db,
    project_id: &str,
    tenant: Option<&str>,
    f: &ReplayFilter,
    range: &Range,
) -> sqlx::Result<i64> {
    let Some(low) = seq_at(db, f.since).await? else {
        return Ok(0);
    };
    crate::on_db!(db, c, DB => {
        let mut q: QueryBuilder<DB> = QueryBuilder::new(
            "SELECT count(*) FROM deliveries d JOIN events e ON e.id = d.event_id \
             JOIN webhooks w ON w.id = d.webhook_id WHERE ",
        );
        push_picks(&mut q, project_id, tenant, f, low, range);
        q.build_query_scalar().fetch_one(c).await
    })
}

/// The next `limit` deliveries the filter picks in `range`, by `seq`.
pub async fn picks(
    db: &Db,
    project_id: &str,
    tenant: Option<&str>,
    f: &ReplayFilter,
    range: &Range,
    limit: i64,
) -> sqlx::Result<Vec<RepeatSource>> {
    let Some(low) = seq_at(db, f.since).await? else {
        return Ok(Vec::new());
    };
    crate::on_db!(db, c, DB => {
        let mut q: QueryBuilder<DB> = QueryBuilder::new(format!("{SOURCE} WHERE "));
        push_picks(&mut q, project_id, tenant, f, low, range);
        q.push(" ORDER BY d.seq LIMIT ").push_bind(limit);
        q.build_query_as().fetch_all(c).await
    })
}

pub struct NewReplay<'a> {
    pub id: &'a str,
    pub project_id: &'a str,
    pub tenant: Option<&'a str>,
    pub filter: &'a str,
    pub max_seq: i64,
    pub total: i64,
    pub created_by: &'a str,
}

impl NewReplay<'_> {
    /// One that picks nothing is done when it begins.
    fn state(&self) -> &'static str {
        if self.total == 0 {
            "done"
        } else {
            "running"
        }
    }
}

/// Stores a running replay; `false` when the project has one running.
pub async fn insert(db: &Db, r: NewReplay<'_>) -> sqlx::Result<bool> {
    let done = crate::on_db!(db, c => sqlx::query(
        "INSERT INTO replays (id, project_id, tenant, filter, max_seq, total, state, created_by, \
         created_at, finished_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $9, $7, $8, CASE WHEN $9 = 'done' THEN $8 END)",
    )
    .bind(r.id)
    .bind(r.project_id)
    .bind(r.tenant)
    .bind(r.filter)
    .bind(r.max_seq)
    .bind(r.total)
    .bind(r.created_by)
    .bind(now_ms())
    .bind(r.state())
    .execute(c)
    .await
    .map(|_| ()));
    match done {
        Ok(()) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

pub async fn get(db: &Db, project_id: &str, id: &str) -> sqlx::Result<Option<ReplayRow>> {
    crate::on_db!(db, c => sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM replays WHERE id = $1 AND project_id = $2"
    ))
    .bind(id)
    .bind(project_id)
    .fetch_optional(c)
    .await)
}

/// The project's running replay, if any.
pub async fn running(db: &Db, project_id: &str) -> sqlx::Result<Option<ReplayRow>> {
    crate::on_db!(db, c => sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM replays WHERE project_id = $1 AND state = 'running'"
    ))
    .bind(project_id)
    .fetch_optional(c)
    .await)
}

/// Takes a running replay for `worker`: one it has, or one without a live
/// owner (never started, or its worker's lease ran out). Returns it.
pub async fn claim(db: &Db, worker: &str) -> sqlx::Result<Option<ReplayRow>> {
    // A read first: with no replay running (nearly always) the loop takes
    // no write lock, which on SQLite would queue behind the engine's writer.
    let running: bool = crate::on_db!(db, c => sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM replays WHERE state = 'running')",
    )
    .fetch_one(c)
    .await)?;
    if !running {
        return Ok(None);
    }
    let now = db.clock();
    crate::on_db!(db, c => sqlx::query_as(&format!(
        "UPDATE replays SET owner = $1 WHERE id = (SELECT r.id FROM replays r \
           WHERE r.state = 'running' AND (r.owner IS NULL OR r.owner = $1 OR NOT EXISTS \
             (SELECT 1 FROM workers k WHERE k.id = r.owner AND k.lease_until >= {now})) \
           ORDER BY r.created_at LIMIT 1) \
         AND state = 'running' AND (owner IS NULL OR owner = $1 OR NOT EXISTS \
             (SELECT 1 FROM workers k WHERE k.id = replays.owner AND k.lease_until >= {now})) \
         RETURNING {COLUMNS}"
    ))
    .bind(worker)
    .fetch_optional(c)
    .await)
}

/// Records a queued chunk, if `worker` still owns the replay.
pub async fn advance(
    db: &Db,
    id: &str,
    worker: &str,
    cursor: i64,
    queued: i64,
) -> sqlx::Result<bool> {
    crate::on_db!(db, c => sqlx::query(
        "UPDATE replays SET cursor = $1, queued = queued + $2 \
         WHERE id = $3 AND owner = $4 AND state = 'running'",
    )
    .bind(cursor)
    .bind(queued)
    .bind(id)
    .bind(worker)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// Sets how many a replay has queued (worked out again on a resume).
pub async fn set_queued(db: &Db, id: &str, worker: &str, queued: i64) -> sqlx::Result<()> {
    crate::on_db!(db, c => sqlx::query(
        "UPDATE replays SET queued = $1 WHERE id = $2 AND owner = $3 AND state = 'running'",
    )
    .bind(queued)
    .bind(id)
    .bind(worker)
    .execute(c)
    .await
    .map(|_| ()))
}

pub async fn finish(db: &Db, id: &str, worker: &str) -> sqlx::Result<bool> {
    crate::on_db!(db, c => sqlx::query(
        "UPDATE replays SET state = 'done', finished_at = $1, owner = NULL \
         WHERE id = $2 AND owner = $3 AND state = 'running'",
    )
    .bind(now_ms())
    .bind(id)
    .bind(worker)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// The project's replayed deliveries still pending (a replay's pace).
pub async fn pending_repeats(db: &Db, project_id: &str) -> sqlx::Result<i64> {
    crate::on_db!(db, c => sqlx::query_scalar(
        &format!(
            "SELECT count(*) FROM deliveries d WHERE d.project_id = $1 AND d.status = 'pending' \
             AND {NOT_SUCCEEDED} AND d.origin = 'replay'"
        ),
    )
    .bind(project_id)
    .fetch_one(c)
    .await)
}
