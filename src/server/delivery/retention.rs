//! Deletes events, deliveries and attempts older than the retention period
//! (and the hourly counts of `webhook_hours` with them),
//! in small batches so that the writer is never held for long.

use crate::server::db::{self, now_ms, Db};
use std::time::Duration;

const BATCH: i64 = 1_000;

/// Deletes everything older than `days`; returns how many deliveries went.
pub async fn sweep(writer: &Db, days: u64) -> sqlx::Result<u64> {
    let before = now_ms() - days as i64 * 86_400_000;
    let mut total = 0;
    loop {
        let (deliveries, events) = delete_batch(writer, before).await?;
        total += deliveries;
        // Events that went to no webhook have no deliveries: count them too.
        if deliveries < BATCH as u64 && events < BATCH as u64 {
            db::delivery_log::forget_hours(writer, before).await?;
            return Ok(total);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Deletes up to `BATCH` finished deliveries created before `before`, with
/// their attempts, then up to `BATCH` old events left without deliveries,
/// and idempotency keys past their day. Returns how many deliveries and
/// events went.
async fn delete_batch(writer: &Db, before: i64) -> sqlx::Result<(u64, u64)> {
    let mut tx = writer.begin_write().await?;
    let seqs = db::deliveries::finished_before(&mut tx, before, BATCH).await?;
    db::attempts::delete_of(&mut tx, &seqs).await?;
    db::deliveries::delete(&mut tx, &seqs).await?;
    let events = db::events::delete_unreferenced(&mut tx, before, BATCH).await?;
    db::idempotency_keys::delete_older_than(&mut tx, now_ms() - super::writer::IDEMPOTENCY_MS)
        .await?;
    tx.commit().await?;
    Ok((seqs.len() as u64, events))
}
