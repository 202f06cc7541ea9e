//! `login_failures`: failed password checks, by account and address, that
//! the sign-in throttle counts.

use super::{Db, Guard};

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
/// any is counted; on PostgreSQL under [`Guard::SignInThrottle`], so that
/// holds across processes too). Returns the reservation's id, or `None`
/// when refused.
pub async fn reserve(
    db: &Db,
    email: &str,
    ip: &str,
    at: i64,
    limits: &Limits,
) -> sqlx::Result<Option<i64>> {
    let mut tx = db.begin().await?;
    tx.guard(Guard::SignInThrottle).await?;
    let id: Option<i64> = crate::on_tx!(&mut tx, c => sqlx::query_scalar(
        "INSERT INTO login_failures (email, ip, at) SELECT $1, $2, $3 \
         WHERE (SELECT count(*) FROM login_failures WHERE email = $1 AND ip = $2 AND at > $4) < $5 \
           AND (SELECT count(*) FROM login_failures WHERE email = $1 AND at > $4) < $6 \
           AND (SELECT count(*) FROM login_failures WHERE ip = $2 AND at > $4) < $7 \
         RETURNING id",
    )
    .bind(email)
    .bind(ip)
    .bind(at)
    .bind(limits.since)
    .bind(limits.per_account_address)
    .bind(limits.per_account)
    .bind(limits.per_address)
    .fetch_optional(&mut *c)
    .await)?;
    tx.commit().await?;
    Ok(id)
}

/// The password was right: the reserved attempt was no failure.
pub async fn forget(db: &Db, id: i64) -> sqlx::Result<()> {
    crate::on_db!(db, c => sqlx::query("DELETE FROM login_failures WHERE id = $1")
        .bind(id)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Times (oldest first) of the failures for `email` from `ip` since `since`.
pub async fn for_email_ip_since(
    db: &Db,
    email: &str,
    ip: &str,
    since: i64,
) -> sqlx::Result<Vec<i64>> {
    crate::on_db!(db, c => sqlx::query_scalar(
        "SELECT at FROM login_failures WHERE email = $1 AND ip = $2 AND at > $3 ORDER BY at",
    )
    .bind(email)
    .bind(ip)
    .bind(since)
    .fetch_all(c)
    .await)
}

/// Times (oldest first) of the failures for `email` since `since`.
pub async fn for_email_since(db: &Db, email: &str, since: i64) -> sqlx::Result<Vec<i64>> {
    crate::on_db!(db, c => sqlx::query_scalar("SELECT at FROM login_failures WHERE email = $1 AND at > $2 ORDER BY at")
        .bind(email)
        .bind(since)
        .fetch_all(c)
        .await)
}

/// Times (oldest first) of the failures from `ip` since `since`.
pub async fn for_ip_since(db: &Db, ip: &str, since: i64) -> sqlx::Result<Vec<i64>> {
    crate::on_db!(db, c => sqlx::query_scalar("SELECT at FROM login_failures WHERE ip = $1 AND at > $2 ORDER BY at")
        .bind(ip)
        .bind(since)
        .fetch_all(c)
        .await)
}

/// A successful sign-in, or a password set through a sign-in link,
/// forgives the account's earlier failures.
pub async fn clear_email(db: &Db, email: &str) -> sqlx::Result<()> {
    crate::on_db!(db, c => sqlx::query("DELETE FROM login_failures WHERE email = $1")
        .bind(email)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn delete_older_than(db: &Db, before: i64) -> sqlx::Result<u64> {
    crate::on_db!(db, c => sqlx::query("DELETE FROM login_failures WHERE at <= $1")
        .bind(before)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}
