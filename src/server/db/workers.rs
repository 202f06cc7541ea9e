//! `workers`: the live delivery workers and their leases.

use super::Db;

/// Registers a worker with a lease of `lease_ms` from now on the
/// database's clock.
pub async fn register(db: &Db, worker: &str, lease_ms: i64) -> sqlx::Result<()> {
    let now = db.clock();
    crate::on_db!(db, c => sqlx::query(&format!(
        "INSERT INTO workers (id, started_at, lease_until) VALUES ($1, {now}, {now} + $2) \
         ON CONFLICT (id) DO UPDATE SET lease_until = excluded.lease_until"
    ))
    .bind(worker)
    .bind(lease_ms)
    .execute(c)
    .await
    .map(|_| ()))
}

/// What a worker holds, written with its lease (for the System page).
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub in_flight: i64,
    pub max_in_flight: i64,
    pub held_deliveries: i64,
    pub held_bytes: i64,
}

/// Renews a worker's lease for `lease_ms` if it has not run out, all on
/// the database's clock (no machine's clock is compared with another's),
/// and notes what it holds; returns whether it had not (a worker whose
/// lease ran out may have lost its lanes).
pub async fn renew(db: &Db, worker: &str, lease_ms: i64, stats: Stats) -> sqlx::Result<bool> {
    let now = db.clock();
    crate::on_db!(db, c => sqlx::query(&format!(
        "UPDATE workers SET lease_until = {now} + $1, version = $3, in_flight = $4, \
           max_in_flight = $5, held_deliveries = $6, held_bytes = $7, stats_at = {now} \
         WHERE id = $2 AND lease_until >= {now}"
    ))
    .bind(lease_ms)
    .bind(worker)
    .bind(env!("CARGO_PKG_VERSION"))
    .bind(stats.in_flight)
    .bind(stats.max_in_flight)
    .bind(stats.held_deliveries)
    .bind(stats.held_bytes)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// A live worker, as its last renewal left it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LiveWorker {
    pub id: String,
    pub started_at: i64,
    pub lease_until: i64,
    pub version: String,
    pub in_flight: i64,
    pub max_in_flight: i64,
    pub held_deliveries: i64,
    pub held_bytes: i64,
    pub stats_at: i64,
    /// Lanes it owns.
    pub lanes: i64,
}

/// Workers whose lease has not run out, oldest first.
pub async fn live(db: &Db) -> sqlx::Result<Vec<LiveWorker>> {
    let now = db.clock();
    crate::on_db!(db, c => sqlx::query_as(&format!(
        "SELECT w.id, w.started_at, w.lease_until, w.version, w.in_flight, w.max_in_flight, \
           w.held_deliveries, w.held_bytes, w.stats_at, \
           (SELECT count(*) FROM lanes l WHERE l.owner = w.id) AS lanes \
         FROM workers w WHERE w.lease_until >= {now} ORDER BY w.started_at, w.id"
    ))
    .fetch_all(c)
    .await)
}

/// Workers whose lease ran out (on the database's clock).
pub async fn dead(db: &Db) -> sqlx::Result<Vec<String>> {
    let now = db.clock();
    crate::on_db!(db, c => sqlx::query_scalar(&format!(
        "SELECT id FROM workers WHERE lease_until < {now}"
    ))
    .fetch_all(c)
    .await)
}

/// How many workers other than `me` are registered (alive, or dead and not
/// yet taken over).
pub async fn others(db: &Db, me: &str) -> sqlx::Result<i64> {
    crate::on_db!(db, c => sqlx::query_scalar("SELECT count(*) FROM workers WHERE id <> $1")
        .bind(me)
        .fetch_one(c)
        .await)
}

pub async fn forget(db: &Db, worker: &str) -> sqlx::Result<()> {
    crate::on_db!(db, c => sqlx::query("DELETE FROM workers WHERE id = $1")
        .bind(worker)
        .execute(c)
        .await
        .map(|_| ()))
}
