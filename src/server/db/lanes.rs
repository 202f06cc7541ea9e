//! `lanes`: which worker attempts each webhook's deliveries, and the newest
//! delivery each has (migrations/sqlite/0007_lanes.sql). A lane is free when it has
//! no owner or its owner's lease ran out (or the owner is forgotten).

use super::deliveries::NOT_SUCCEEDED;
use super::{Db, Tx};

/// What storing new deliveries did to a lane.
#[derive(Debug, sqlx::FromRow)]
pub struct Noted {
    pub webhook_id: String,
    /// The lane's newest `seq` before these deliveries (0 for a new lane).
    pub before: i64,
    /// No one owned it: it is `worker`'s now.
    pub taken: bool,
    /// Who owned it before (`None` for a lane no one owned).
    pub owner: Option<String>,
}

/// The channel on which ingest tells a lane's owner that another process
/// stored deliveries in it (the payload is the owner's id).
pub const CHANNEL: &str = "signpost_lanes";

/// Before a transaction draws `seq`s for deliveries of `webhook_ids`
/// (sorted): on PostgreSQL, locks their lane rows (making those that do
/// not exist yet), in that order. Per webhook, `seq` order is then commit
/// order across processes: a second ingest to the same webhook waits here
/// until the first commits, so it draws a larger `seq` and commits after
/// it, and an owner that has read up to some `seq` can never see a smaller
/// one commit later. Nothing on SQLite, which has one writer.
pub async fn lock(tx: &mut Tx, webhook_ids: &[&str]) -> sqlx::Result<()> {
    let Tx::Postgres(t) = tx else {
        return Ok(());
    };
    if webhook_ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO lanes (webhook_id) SELECT w FROM unnest($1::text[]) AS j (w) ORDER BY w \
         ON CONFLICT (webhook_id) DO UPDATE SET last_seq = lanes.last_seq",
    )
    .bind(webhook_ids)
    .execute(&mut **t)
    .await
    .map(|_| ())
}

/// On PostgreSQL, in the transaction that stored deliveries in lanes of
/// `owners` (other workers, each once): one notification for each (sent
/// when the transaction commits), so that it reads them now rather than at
/// its next poll. Nothing on SQLite, or when there is no other owner.
pub async fn notify(tx: &mut Tx, owners: &[&str]) -> sqlx::Result<()> {
    let Tx::Postgres(t) = tx else {
        return Ok(());
    };
    if owners.is_empty() {
        return Ok(());
    }
    sqlx::query("SELECT pg_notify($1, o) FROM unnest($2::text[]) AS o")
        .bind(CHANNEL)
        .bind(owners)
        .execute(&mut **t)
        .await
        .map(|_| ())
}

/// In the transaction that inserted deliveries up to `last_seq` for each
/// webhook of `lanes`: moves each lane's newest `seq` on, and takes for
/// `worker` the lanes no one owns (creating those that do not exist yet).
pub async fn note(tx: &mut Tx, worker: &str, lanes: &[(&str, i64)]) -> sqlx::Result<Vec<Noted>> {
    if lanes.is_empty() {
        return Ok(Vec::new());
    }
    match tx {
        Tx::Sqlite(t) => {
            let json = serde_json::to_string(lanes).expect("pairs serialize");
            let noted: Vec<Noted> = sqlx::query_as(
                "SELECT j.value ->> 0 AS webhook_id, COALESCE(l.last_seq, 0) AS before, \
                        l.owner IS NULL AS taken, l.owner \
                 FROM json_each($1) j LEFT JOIN lanes l ON l.webhook_id = j.value ->> 0",
            )
            .bind(&json)
            .fetch_all(&mut **t)
            .await?;
            sqlx::query(
                "INSERT INTO lanes (webhook_id, owner, last_seq) \
                 SELECT value ->> 0, $1, value ->> 1 FROM json_each($2) WHERE true \
                 ON CONFLICT (webhook_id) DO UPDATE \
                   SET last_seq = max(lanes.last_seq, excluded.last_seq), \
                       owner = COALESCE(lanes.owner, excluded.owner)",
            )
            .bind(worker)
            .bind(&json)
            .execute(&mut **t)
            .await?;
            Ok(noted)
        }
        Tx::Postgres(t) => {
            let ids: Vec<&str> = lanes.iter().map(|l| l.0).collect();
            let seqs: Vec<i64> = lanes.iter().map(|l| l.1).collect();
            let noted: Vec<Noted> = sqlx::query_as(
                "SELECT j.webhook_id, COALESCE(l.last_seq, 0) AS before, \
                        l.owner IS NULL AS taken, l.owner \
                 FROM unnest($1::text[]) AS j (webhook_id) \
                   LEFT JOIN lanes l ON l.webhook_id = j.webhook_id",
            )
            .bind(&ids)
            .fetch_all(&mut **t)
            .await?;
            sqlx::query(
                "INSERT INTO lanes (webhook_id, owner, last_seq) \
                 SELECT j.webhook_id, $1, j.last_seq \
                 FROM unnest($2::text[], $3::bigint[]) AS j (webhook_id, last_seq) \
                 ON CONFLICT (webhook_id) DO UPDATE \
                   SET last_seq = GREATEST(lanes.last_seq, excluded.last_seq), \
                       owner = COALESCE(lanes.owner, excluded.owner)",
            )
            .bind(worker)
            .bind(&ids)
            .bind(&seqs)
            .execute(&mut **t)
            .await?;
            Ok(noted)
        }
    }
}

/// Claims up to `limit` free lanes that have pending deliveries for
/// `worker`; returns them. On SQLite (one writer at a time) the statement
/// alone is atomic; on PostgreSQL the lanes another process is claiming at
/// the same moment are skipped, not waited for.
pub async fn claim(db: &Db, worker: &str, limit: i64) -> sqlx::Result<Vec<String>> {
    let lock = match db {
        Db::Sqlite(_) => "",
        Db::Postgres(_) => "FOR UPDATE OF l SKIP LOCKED",
    };
    let now = db.clock();
    let sql = format!(
        "UPDATE lanes SET owner = $1 WHERE webhook_id IN ( \
           SELECT l.webhook_id FROM lanes l \
           WHERE (l.owner IS NULL OR NOT EXISTS \
                   (SELECT 1 FROM workers w WHERE w.id = l.owner AND w.lease_until >= {now})) \
             AND EXISTS (SELECT 1 FROM deliveries d \
                   WHERE d.webhook_id = l.webhook_id AND d.status = 'pending' \
                     AND {NOT_SUCCEEDED}) \
           LIMIT $2 {lock}) \
         RETURNING webhook_id"
    );
    crate::on_db!(db, c => sqlx::query_scalar(&sql)
        .bind(worker)
        .bind(limit)
        .fetch_all(c)
        .await)
}

/// The lanes `worker` owns, each with its newest `seq`.
pub async fn owned(db: &Db, worker: &str) -> sqlx::Result<Vec<(String, i64)>> {
    crate::on_db!(db, c => sqlx::query_as("SELECT webhook_id, last_seq FROM lanes WHERE owner = $1")
        .bind(worker)
        .fetch_all(c)
        .await)
}

/// Lets go of the idle lanes of `worker` whose newest `seq` is still the
/// one given (nothing was stored in them since the scheduler saw them
/// idle); returns those it let go. A delivery stored at the same moment
/// either commits first (the lane's `seq` moved: it stays) or after (it
/// finds the lane free and its writer takes it). Rows are locked in
/// `webhook_id` order on PostgreSQL, as [`lock`] does.
pub async fn release_idle(
    db: &Db,
    worker: &str,
    lanes: &[(&str, i64)],
) -> sqlx::Result<Vec<String>> {
    if lanes.is_empty() {
        return Ok(Vec::new());
    }
    match db {
        Db::Sqlite(p) => {
            let json = serde_json::to_string(lanes).expect("pairs serialize");
            sqlx::query_scalar(
                "UPDATE lanes SET owner = NULL WHERE owner = $1 AND webhook_id IN \
                 (SELECT l.webhook_id FROM json_each($2) j \
                    JOIN lanes l ON l.webhook_id = j.value ->> 0 AND l.last_seq = j.value ->> 1) \
                 RETURNING webhook_id",
            )
            .bind(worker)
            .bind(&json)
            .fetch_all(p)
            .await
        }
        Db::Postgres(p) => {
            let ids: Vec<&str> = lanes.iter().map(|l| l.0).collect();
            let seqs: Vec<i64> = lanes.iter().map(|l| l.1).collect();
            sqlx::query_scalar(
                "UPDATE lanes SET owner = NULL WHERE webhook_id IN \
                 (SELECT l.webhook_id FROM lanes l \
                    JOIN unnest($2::text[], $3::bigint[]) AS j (webhook_id, last_seq) \
                      ON l.webhook_id = j.webhook_id AND l.last_seq = j.last_seq \
                  WHERE l.owner = $1 ORDER BY l.webhook_id FOR UPDATE OF l) \
                   AND owner = $1 \
                 RETURNING webhook_id",
            )
            .bind(worker)
            .bind(&ids)
            .bind(&seqs)
            .fetch_all(p)
            .await
        }
    }
}

/// Lets go of every lane `worker` owns (at shutdown, or when its lease
/// ran out); returns how many.
/// On PostgreSQL the rows are locked in `webhook_id` order, as ingest locks
/// them ([`lock`]), so that the two never wait for each other in a circle.
pub async fn release_all(db: &Db, worker: &str) -> sqlx::Result<u64> {
    let in_order = match db {
        Db::Sqlite(_) => "",
        Db::Postgres(_) => "ORDER BY webhook_id FOR UPDATE",
    };
    let sql = format!(
        "UPDATE lanes SET owner = NULL WHERE webhook_id IN \
         (SELECT webhook_id FROM lanes WHERE owner = $1 {in_order})"
    );
    crate::on_db!(db, c => sqlx::query(&sql)
        .bind(worker)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}
