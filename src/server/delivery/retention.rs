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
        let (deliveries, events) = db::deliveries::delete_old(writer, before, BATCH).await?;
        total += deliveries;
        // Events that went to no webhook have no deliveries: count them too.
        if deliveries < BATCH as u64 && events < BATCH as u64 {
            db::delivery_log::forget_hours(writer, before).await?;
            return Ok(total);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
