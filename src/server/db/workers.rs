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

/// Renews a worker's lease for `lease_ms` if it has not run out, all on
/// the database's clock (no machine's clock is compared with another's);
/// returns whether it had not (a worker whose lease ran out may have lost
/// its lanes).
pub async fn renew(db: &Db, worker: &str, lease_ms: i64) -> sqlx::Result<bool> {
    let now = db.clock();
    crate::on_db!(db, c => sqlx::query(&format!(
        "UPDATE workers SET lease_until = {now} + $1 WHERE id = $2 AND lease_until >= {now}"
    ))
    .bind(lease_ms)
    .bind(worker)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
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
