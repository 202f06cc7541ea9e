//! `login_failures`: failed password checks, by account and address, that
//! the sign-in throttle counts.

use super::Db;

/// The limits an attempt is reserved under, within `since`.
pub struct Limits {
    pub since: i64,
    /// Failures for this account from this address.
    pub per_account_address: i64,
    /// Failures for this account from every address together.
    pub per_account: i64,
    /// Failures from this address, for any account.
    pub per_address: i64,
}

/// Reserves a password check: records it as a failure at `at` if the
/// account and the address are under their limits, in one statement (so
/// that a burst of attempts in parallel cannot all pass the check before
/// any is counted). Returns the reservation's id, or `None` when refused.
pub async fn reserve(
    db: &Db,
    email: &str,
    ip: &str,
    at: i64,
    limits: &Limits,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "INSERT INTO login_failures (email, ip, at) SELECT ?1, ?2, ?3 \
         WHERE (SELECT count(*) FROM login_failures WHERE email = ?1 AND ip = ?2 AND at > ?4) < ?5 \
           AND (SELECT count(*) FROM login_failures WHERE email = ?1 AND at > ?4) < ?6 \
           AND (SELECT count(*) FROM login_failures WHERE ip = ?2 AND at > ?4) < ?7 \
         RETURNING id",
    )
    .bind(email)
    .bind(ip)
    .bind(at)
    .bind(limits.since)
    .bind(limits.per_account_address)
    .bind(limits.per_account)
    .bind(limits.per_address)
    .fetch_optional(db)
    .await
}

/// The password was right: the reserved attempt was no failure.
pub async fn forget(db: &Db, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE id = ?")
        .bind(id)
        .execute(db)
        .await
        .map(|_| ())
}

/// Times (oldest first) of the failures for `email` from `ip` since `since`.
pub async fn for_email_ip_since(
    db: &Db,
    email: &str,
    ip: &str,
    since: i64,
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT at FROM login_failures WHERE email = ? AND ip = ? AND at > ? ORDER BY at",
    )
    .bind(email)
    .bind(ip)
    .bind(since)
    .fetch_all(db)
    .await
}

/// Times (oldest first) of the failures for `email` since `since`.
pub async fn for_email_since(db: &Db, email: &str, since: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT at FROM login_failures WHERE email = ? AND at > ? ORDER BY at")
        .bind(email)
        .bind(since)
        .fetch_all(db)
        .await
}

/// Times (oldest first) of the failures from `ip` since `since`.
pub async fn for_ip_since(db: &Db, ip: &str, since: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT at FROM login_failures WHERE ip = ? AND at > ? ORDER BY at")
        .bind(ip)
        .bind(since)
        .fetch_all(db)
        .await
}

/// A successful sign-in, or a password set through a sign-in link,
/// forgives the account's earlier failures.
pub async fn clear_email(db: &Db, email: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE email = ?")
        .bind(email)
        .execute(db)
        .await
        .map(|_| ())
}

pub async fn delete_older_than(db: &Db, before: i64) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM login_failures WHERE at <= ?")
        .bind(before)
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}
