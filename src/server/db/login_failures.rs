use super::Db;

pub async fn record(db: &Db, email: &str, ip: &str, at: i64) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO login_failures (email, ip, at) VALUES (?, ?, ?)")
        .bind(email)
        .bind(ip)
        .bind(at)
        .execute(db)
        .await
        .map(|_| ())
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

/// A successful sign-in forgives the account's earlier failures.
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
