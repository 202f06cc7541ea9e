//! `settings`: facts about the installation every process must agree on.

use super::Db;

/// The secret key's fingerprint the database was first started with.
pub const SECRET_KEY_FINGERPRINT: &str = "secret_key_fingerprint";

/// Stores `value` under `name` unless a value is there already; returns
/// the value stored (the first process's).
pub async fn agree(db: &Db, name: &str, value: &str) -> sqlx::Result<String> {
    crate::on_db!(db, c => sqlx::query(
        "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(value)
    .execute(c)
    .await
    .map(|_| ()))?;
    crate::on_db!(db, c => sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
        .bind(name)
        .fetch_one(c)
        .await)
}
