//! `events`: what the platform published, its exact bytes.

use super::{Db, Tx};
use crate::model::EventSource;
use sqlx::QueryBuilder;

pub struct NewEvent<'a> {
    pub id: &'a str,
    pub project_id: &'a str,
    /// The tenant it was published for, if any.
    pub tenant: Option<&'a str>,
    pub name: &'a str,
    pub body: &'a [u8],
    /// How it came in (`EventSource::as_str`).
    pub source: &'a str,
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
        let sources: Vec<&str> = events.iter().map(|e| e.source).collect();
        return sqlx::query(
            "INSERT INTO events (id, project_id, event, body, created_at, tenant, source) \
             SELECT i, p, e, b, $5, t, s FROM \
               unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $6::text[], $7::text[]) \
               AS t (i, p, e, b, t, s)",
        )
        .bind(&ids)
        .bind(&projects)
        .bind(&names)
        .bind(&bodies)
        .bind(now)
        .bind(&tenants)
        .bind(&sources)
        .execute(&mut **t)
        .await
        .map(|_| ());
    }
    for chunk in events.chunks(CHUNK) {
        crate::on_tx!(tx, c, DB => {
        let mut q: QueryBuilder<DB> =
            QueryBuilder::new("INSERT INTO events (id, project_id, event, body, created_at, tenant, source) ");
        q.push_values(chunk, |mut row, e| {
            row.push_bind(e.id)
                .push_bind(e.project_id)
                .push_bind(e.name)
                .push_bind(e.body)
                .push_bind(now)
                .push_bind(e.tenant)
                .push_bind(e.source);
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

/// One event of a page, with its deliveries counted by state.
#[derive(sqlx::FromRow)]
pub struct EventRow {
    pub id: String,
    pub event: String,
    pub tenant: Option<String>,
    pub source: EventSource,
    pub created_at: i64,
    pub deliveries: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub pending: i64,
}

/// What a page of events asks for; the time bounds are exact on
/// `created_at` (Unix ms).
pub struct EventQuery<'a> {
    pub project_id: &'a str,
    /// `Some`: that tenant's events only.
    pub tenant: Option<&'a str>,
    pub event: Option<&'a str>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Older than this event id.
    pub before: Option<&'a str>,
}

/// An event id is a UUID v7 after `evt_`: its first 12 hex digits are the
/// Unix ms at which the call came in, just before the writer stamped
/// `created_at`. A time bound on ids, widened by a minute, lets a time
/// filter walk the `(project_id, id)` index; `created_at` then decides.
fn id_at(ms: i64) -> String {
    format!("evt_{:012x}", ms.clamp(0, (1 << 48) - 1))
}
const ID_MARGIN_MS: i64 = 60_000;

/// The page's candidate events, newest first: the filters but the text.
fn candidates<'a, DB>(q: &mut QueryBuilder<'a, DB>, columns: &str, f: &EventQuery<'a>)
where
    DB: sqlx::Database,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    q.push(format!("SELECT {columns} FROM events WHERE project_id = "))
        .push_bind(f.project_id);
    if let Some(t) = f.tenant {
        q.push(" AND tenant = ").push_bind(t);
    }
    if let Some(e) = f.event {
        q.push(" AND event = ").push_bind(e);
    }
    if let Some(since) = f.since {
        q.push(" AND id >= ")
            .push_bind(id_at(since - ID_MARGIN_MS))
            .push(" AND created_at >= ")
            .push_bind(since);
    }
    if let Some(until) = f.until {
        q.push(" AND id < ")
            .push_bind(id_at(until + ID_MARGIN_MS))
            .push(" AND created_at < ")
            .push_bind(until);
    }
    if let Some(before) = f.before {
        q.push(" AND id < ").push_bind(before);
    }
    q.push(" ORDER BY id DESC");
}

const COUNTED: &str = "SELECT e.id, e.event, e.tenant, e.source, e.created_at, \
     count(d.id) AS deliveries, \
     coalesce(sum(CASE WHEN d.status = 'succeeded' THEN 1 ELSE 0 END), 0) AS succeeded, \
     coalesce(sum(CASE WHEN d.status IN ('failed', 'dropped') THEN 1 ELSE 0 END), 0) AS failed, \
     coalesce(sum(CASE WHEN d.status = 'pending' THEN 1 ELSE 0 END), 0) AS pending \
     FROM (";
const COUNTED_END: &str = ") e LEFT JOIN deliveries d ON d.event_id = e.id \
     GROUP BY e.id, e.event, e.tenant, e.source, e.created_at ORDER BY e.id DESC";

/// Up to `limit` events, newest first. With `text`, only the newest `scan`
/// candidates are read for it; the second value is then the id of the
/// last candidate read when the scan stopped short of the oldest.
pub async fn page(
    db: &Db,
    f: &EventQuery<'_>,
    text: Option<&str>,
    limit: i64,
    scan: i64,
) -> sqlx::Result<(Vec<EventRow>, Option<String>)> {
    const LISTED: &str = "id, event, tenant, source, created_at";
    let Some(text) = text else {
        let rows = crate::on_db!(db, c, DB => {
            let mut q: QueryBuilder<DB> = QueryBuilder::new(COUNTED);
            candidates(&mut q, LISTED, f);
            q.push(" LIMIT ").push_bind(limit).push(COUNTED_END);
            q.build_query_as::<EventRow>().fetch_all(c).await?
        });
        return Ok((rows, None));
    };
    let needle = text.as_bytes().to_vec();
    let rows = crate::on_db!(db, c, DB => {
        let mut q: QueryBuilder<DB> = QueryBuilder::new(COUNTED);
        q.push(format!("SELECT {LISTED} FROM ("));
        candidates(&mut q, &format!("{LISTED}, body"), f);
        q.push(" LIMIT ").push_bind(scan).push(") s WHERE ");
        match db {
            Db::Sqlite(_) => q.push("instr(s.body, ").push_bind(needle.clone()).push(") > 0"),
            Db::Postgres(_) => q
                .push("position(")
                .push_bind(needle.clone())
                .push("::bytea in s.body) > 0"),
        };
        q.push(" ORDER BY s.id DESC LIMIT ").push_bind(limit).push(COUNTED_END);
        q.build_query_as::<EventRow>().fetch_all(c).await?
    });
    // The last candidate read, when there is one past it.
    let around_end: Vec<String> = crate::on_db!(db, c, DB => {
        let mut q: QueryBuilder<DB> = QueryBuilder::new("");
        candidates(&mut q, "id", f);
        q.push(" LIMIT 2 OFFSET ").push_bind(scan - 1);
        q.build_query_scalar().fetch_all(c).await?
    });
    let stopped = (around_end.len() == 2).then(|| around_end[0].clone());
    Ok((rows, stopped))
}

/// One event of the project, with its exact bytes.
#[derive(sqlx::FromRow)]
pub struct EventOne {
    pub id: String,
    pub event: String,
    pub tenant: Option<String>,
    pub source: EventSource,
    pub created_at: i64,
    pub body: Vec<u8>,
}

pub async fn one(db: &Db, project_id: &str, id: &str) -> sqlx::Result<Option<EventOne>> {
    crate::on_db!(db, c => sqlx::query_as(
        "SELECT id, event, tenant, source, created_at, body FROM events \
         WHERE id = $1 AND project_id = $2",
    )
    .bind(id)
    .bind(project_id)
    .fetch_optional(c)
    .await)
}
