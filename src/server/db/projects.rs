use super::{now_ms, Db};

pub async fn create(db: &Db, id: &str, name: &str, secret_hash: &[u8]) -> sqlx::Result<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO projects (id, name, secret_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(name)
    .bind(secret_hash)
    .bind(now)
    .bind(now)
    .execute(db)
    .await
    .map(|_| ())
}
