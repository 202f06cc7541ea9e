//! The worker's lease and claims. A worker renews its lease (a row in
//! `workers`) every third of the lease time; the deliveries it holds carry
//! its id. When a worker stops renewing (it died), another claims them
//! again: at-least-once. Claims also pick up deliveries no one holds
//! (released at a graceful shutdown, or inserted by another process).

use super::{Ctx, EventData, Queued};
use crate::server::db::{self, now_ms};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Deliveries claimed per statement.
const CLAIM_BATCH: i64 = 1_000;

pub(crate) async fn heartbeat(ctx: &Ctx) -> sqlx::Result<()> {
    let now = now_ms();
    db::deliveries::heartbeat(
        &ctx.handle.writer,
        &ctx.handle.worker_id,
        now,
        now + ctx.config.lease_ms as i64,
    )
    .await
}

/// Renews the lease and claims what needs an owner, every third of the lease.
pub(crate) async fn run(ctx: Arc<Ctx>) {
    let mut tick = tokio::time::interval(Duration::from_millis(ctx.config.lease_ms / 3));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = heartbeat(&ctx).await {
            tracing::warn!("renewing the worker lease: {e}");
            continue;
        }
        if let Err(e) = claim_all(&ctx).await {
            tracing::warn!("claiming deliveries: {e}");
        }
    }
}

/// Claims deliveries held by no one, then those of dead workers.
async fn claim_all(ctx: &Ctx) -> sqlx::Result<()> {
    claim_from(ctx, None).await?;
    for dead in db::deliveries::dead_workers(&ctx.db, now_ms()).await? {
        if dead.as_str() == &*ctx.handle.worker_id {
            continue;
        }
        let n = claim_from(ctx, Some(&dead)).await?;
        if n > 0 {
            tracing::warn!(
                worker = dead,
                deliveries = n,
                "took over the deliveries of a dead worker"
            );
        }
        db::deliveries::forget_worker(&ctx.handle.writer, &dead).await?;
    }
    // Everything pending is ours unless another worker exists: then new
    // deliveries need not look for an older holder (see `insert_deliveries`).
    let others = db::deliveries::other_workers(&ctx.handle.writer, &ctx.handle.worker_id).await?;
    ctx.handle
        .others_may_hold
        .store(others > 0, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

async fn claim_from(ctx: &Ctx, from: Option<&str>) -> sqlx::Result<usize> {
    let mut total = 0;
    loop {
        let claimed =
            db::deliveries::claim(&ctx.handle.writer, &ctx.handle.worker_id, from, CLAIM_BATCH)
                .await?;
        let n = claimed.len();
        total += n;
        let mut events: HashMap<String, Arc<EventData>> = HashMap::new();
        let mut webhooks: HashMap<String, Arc<str>> = HashMap::new();
        let queued = claimed
            .into_iter()
            .map(|c| {
                let event = events
                    .entry(c.event_id.clone())
                    .or_insert_with(|| {
                        Arc::new(EventData {
                            id: c.event_id,
                            name: c.event,
                            body: c.body.into(),
                        })
                    })
                    .clone();
                let webhook_id = webhooks
                    .entry(c.webhook_id.clone())
                    .or_insert_with(|| c.webhook_id.into())
                    .clone();
                Queued {
                    seq: c.seq,
                    id: c.id,
                    webhook_id,
                    event,
                    attempts: c.attempts as u32,
                    next_at: c.next_at,
                    unordered: c.ordering == "unordered",
                }
            })
            .collect();
        ctx.handle.enqueue(queued);
        if (n as i64) < CLAIM_BATCH {
            return Ok(total);
        }
    }
}

pub(crate) async fn release(ctx: &Ctx) -> sqlx::Result<u64> {
    let n = db::deliveries::release(&ctx.handle.writer, &ctx.handle.worker_id).await?;
    db::deliveries::forget_worker(&ctx.handle.writer, &ctx.handle.worker_id).await?;
    Ok(n)
}
