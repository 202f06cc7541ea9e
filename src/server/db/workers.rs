//! `workers`: the live delivery workers and their leases.

use super::Db;

/// Registers a worker with a lease until `lease_until`.
pub async fn register(db: &Db, worker: &str, now: i64, lease_until: i64) -> sqlx::Result<()> {
    crate::on_db!(db, c => sqlx::query(
        "INSERT INTO workers (id, started_at, lease_until) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET lease_until = excluded.lease_until",
    )
    .bind(worker)
    .bind(now)
    .bind(lease_until)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Renews a worker's lease if it has not run out; returns whether it had
/// not (a worker whose lease ran out may have lost its lanes).
pub async fn renew(db: &Db, worker: &str, now: i64, lease_until: i64) -> sqlx::Result<bool> {
    crate::on_db!(db, c => sqlx::query("UPDATE workers SET lease_until = $1 WHERE id = $2 AND lease_until >= $3")
        .bind(lease_until)
        .bind(worker)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// Workers whose lease ran out.
pub async fn dead(db: &Db, now: i64) -> sqlx::Result<Vec<String>> {
    crate::on_db!(db, c => sqlx::query_scalar("SELECT id FROM workers WHERE lease_until < $1")
        .bind(now)
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
