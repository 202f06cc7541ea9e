//! `workers`: the live delivery workers and their leases.

use super::Db;

/// Registers a worker with a lease until `lease_until`.
pub async fn register(db: &Db, worker: &str, now: i64, lease_until: i64) -> sqlx::Result<()> {
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

/// Renews a worker's lease if it has not run out; returns whether it had
/// not (a worker whose lease ran out may have lost its lanes).
pub async fn renew(db: &Db, worker: &str, now: i64, lease_until: i64) -> sqlx::Result<bool> {
    sqlx::query("UPDATE workers SET lease_until = ? WHERE id = ? AND lease_until >= ?")
        .bind(lease_until)
        .bind(worker)
        .bind(now)
        .execute(db)
        .await
        .map(|r| r.rows_affected() == 1)
}

/// Workers whose lease ran out.
pub async fn dead(db: &Db, now: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT id FROM workers WHERE lease_until < ?")
        .bind(now)
        .fetch_all(db)
        .await
}

/// How many workers other than `me` are registered (alive, or dead and not
/// yet taken over).
pub async fn others(db: &Db, me: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM workers WHERE id <> ?")
        .bind(me)
        .fetch_one(db)
        .await
}

pub async fn forget(db: &Db, worker: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM workers WHERE id = ?")
        .bind(worker)
        .execute(db)
        .await
        .map(|_| ())
}
