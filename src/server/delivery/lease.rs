//! The worker's lease and claims. A worker renews its lease (a row in
//! `workers`) every third of the lease time; the deliveries it holds carry
//! its id. When a worker stops renewing (it died), another claims them
//! again: at-least-once. Claims also pick up deliveries no one holds
//! (released at a graceful shutdown, or inserted by another process).

use super::messages::{EventData, Queued, ToScheduler};
use crate::server::db::{self, now_ms, Db};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// What the lease task needs.
pub(crate) struct Lease {
    pub worker_id: Arc<str>,
    /// The writer's connection: claims and heartbeats are writes.
    pub writer: Db,
    pub db: Db,
    pub lease_ms: u64,
    pub to_scheduler: mpsc::UnboundedSender<ToScheduler>,
    pub others_may_hold: Arc<AtomicBool>,
}

/// Deliveries claimed per statement.
const CLAIM_BATCH: i64 = 1_000;

pub(crate) async fn heartbeat(ctx: &Lease) -> sqlx::Result<()> {
    let now = now_ms();
    db::workers::heartbeat(&ctx.writer, &ctx.worker_id, now, now + ctx.lease_ms as i64).await
}

/// Renews the lease and claims what needs an owner, every third of the lease.
pub(crate) async fn run(ctx: Arc<Lease>) {
    let mut tick = tokio::time::interval(Duration::from_millis(ctx.lease_ms / 3));
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
async fn claim_all(ctx: &Lease) -> sqlx::Result<()> {
    claim_from(ctx, None).await?;
    for dead in db::workers::dead(&ctx.db, now_ms()).await? {
        if dead.as_str() == &*ctx.worker_id {
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
        db::workers::forget(&ctx.writer, &dead).await?;
    }
    // Everything pending is ours unless another worker exists: then new
    // deliveries need not look for an older holder (see `insert_deliveries`).
    let others = db::workers::others(&ctx.writer, &ctx.worker_id).await?;
    ctx.others_may_hold.store(others > 0, Ordering::Relaxed);
    Ok(())
}

async fn claim_from(ctx: &Lease, from: Option<&str>) -> sqlx::Result<usize> {
    let mut total = 0;
    loop {
        let claimed = db::deliveries::claim(&ctx.writer, &ctx.worker_id, from, CLAIM_BATCH).await?;
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
        let queued: Vec<Queued> = queued;
        if !queued.is_empty() {
            let _ = ctx.to_scheduler.send(ToScheduler::Add(queued));
        }
        if (n as i64) < CLAIM_BATCH {
            return Ok(total);
        }
    }
}

pub(crate) async fn release(ctx: &Lease) -> sqlx::Result<u64> {
    let n = db::deliveries::release(&ctx.writer, &ctx.worker_id).await?;
    db::workers::forget(&ctx.writer, &ctx.worker_id).await?;
    Ok(n)
}
