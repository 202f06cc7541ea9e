//! `idempotency_keys`: the first answer to a publish call's key, kept a day.

use super::Tx;

/// Takes `key` for this call (with `response`, its answer) unless a call
/// newer than `since` took it first: then returns that call's answer. A
/// key older than `since` is taken over. One statement decides, so that of
/// two calls with one key on two processes, the second waits for the first
/// to commit and then finds its answer.
pub async fn take(
    tx: &mut Tx,
    project_id: &str,
    key: &str,
    response: &str,
    now: i64,
    since: i64,
) -> sqlx::Result<Option<String>> {
    let taken: Option<i64> = crate::on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO idempotency_keys (project_id, key, response, created_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (project_id, key) DO UPDATE SET response = excluded.response, \
           created_at = excluded.created_at WHERE idempotency_keys.created_at <= $5 \
         RETURNING created_at",
    )
    .bind(project_id)
    .bind(key)
    .bind(response)
    .bind(now)
    .bind(since)
    .fetch_optional(&mut *c)
    .await)?;
    if taken.is_some() {
        return Ok(None);
    }
    crate::on_tx!(tx, c => sqlx::query_scalar(
        "SELECT response FROM idempotency_keys WHERE project_id = $1 AND key = $2",
    )
    .bind(project_id)
    .bind(key)
    .fetch_optional(&mut *c)
    .await)
}

pub async fn delete_older_than(tx: &mut Tx, before: i64) -> sqlx::Result<()> {
    crate::on_tx!(tx, c => sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(before)
        .execute(&mut *c)
        .await
        .map(|_| ()))
}
