use super::Db;
use crate::model::LinkPurpose;

/// Stores a link for `user_id` and voids the user's earlier ones, so only
/// the newest link works.
pub async fn replace(
    db: &Db,
    token_hash: &[u8],
    user_id: &str,
    purpose: LinkPurpose,
    created_by: Option<&str>,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    crate::on_tx!(&mut tx, c => sqlx::query("DELETE FROM sign_in_links WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .execute(&mut *c)
        .await
        .map(|_| ()))?;
    crate::on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO sign_in_links (token_hash, user_id, purpose, created_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(created_by)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *c)
    .await
    .map(|_| ()))?;
    tx.commit().await
}

#[derive(Debug, sqlx::FromRow)]
pub struct LinkRow {
    pub user_id: String,
    pub email: String,
    pub purpose: LinkPurpose,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub async fn find(db: &Db, token_hash: &[u8]) -> sqlx::Result<Option<LinkRow>> {
    crate::on_db!(db, c => sqlx::query_as(
        "SELECT l.user_id, u.email, l.purpose, l.expires_at, l.used_at \
         FROM sign_in_links l JOIN users u ON u.id = l.user_id WHERE l.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(c)
    .await)
}

/// Uses the link and sets the user's password in one transaction: of two
/// uses at once, exactly one wins. Returns the user's new session epoch, or
/// `None` when the link was used, expired or replaced meanwhile.
pub async fn redeem(
    db: &Db,
    token_hash: &[u8],
    user_id: &str,
    password_hash: &str,
    now: i64,
) -> sqlx::Result<Option<i64>> {
    let mut tx = db.begin().await?;
    let used = crate::on_tx!(&mut tx, c => sqlx::query(
        "UPDATE sign_in_links SET used_at = $1 \
         WHERE token_hash = $2 AND user_id = $3 AND used_at IS NULL AND expires_at > $4",
    )
    .bind(now)
    .bind(token_hash)
    .bind(user_id)
    .bind(now)
    .execute(&mut *c)
    .await?
    .rows_affected());
    if used != 1 {
        return Ok(None);
    }
    let epoch: Option<i64> = crate::on_tx!(&mut tx, c => sqlx::query_scalar(
        "UPDATE users SET password_hash = $1, session_epoch = session_epoch + 1, \
         last_sign_in_at = $2 WHERE id = $3 RETURNING session_epoch",
    )
    .bind(password_hash)
    .bind(now)
    .bind(user_id)
    .fetch_optional(&mut *c)
    .await?);
    tx.commit().await?;
    Ok(epoch)
}
