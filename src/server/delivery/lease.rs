//! The worker's lease and its lanes. A worker renews its lease (a row in
//! `workers`) every third of the lease time. A lane (one webhook's
//! deliveries) belongs to one worker; when a worker stops renewing (it
//! died), another claims its lanes and reads their deliveries from the
//! database, in order: at-least-once. Claims also pick up lanes no one owns
//! (released at a graceful shutdown). A claim moves lanes, not deliveries,
//! so a takeover costs the same whatever the backlog.

use super::messages::ToScheduler;
use crate::server::db::{self, now_ms, Db};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Lanes claimed per statement.
const CLAIM_BATCH: i64 = 500;

/// What the lease task needs.
pub(crate) struct Lease {
    pub worker_id: Arc<str>,
    /// The writer's connection: claims and heartbeats are writes.
    pub writer: Db,
    pub db: Db,
    pub lease_ms: u64,
    pub to_scheduler: mpsc::Sender<ToScheduler>,
}

/// Registers this worker's lease.
pub(crate) async fn register(ctx: &Lease) -> sqlx::Result<()> {
    let now = now_ms();
    db::workers::register(&ctx.writer, &ctx.worker_id, now, now + ctx.lease_ms as i64).await
}

/// Renews the lease, claims what needs an owner and looks for deliveries
/// other processes stored in this worker's lanes, every third of the lease.
pub(crate) async fn run(ctx: Arc<Lease>) {
    let mut tick = tokio::time::interval(Duration::from_millis(ctx.lease_ms / 3));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = now_ms();
        match db::workers::renew(&ctx.writer, &ctx.worker_id, now, now + ctx.lease_ms as i64).await
        {
            Ok(true) => {}
            Ok(false) => {
                // The lease ran out (the process stalled): another worker may
                // have taken lanes over. Give up every lane and start afresh.
                tracing::warn!(
                    "the worker's lease ran out: releasing its lanes to claim them again"
                );
                let _ = ctx.to_scheduler.send(ToScheduler::Lapsed).await;
                if let Err(e) = lapse(&ctx).await {
                    tracing::warn!("rejoining after the lease ran out: {e}");
                    continue;
                }
            }
            Err(e) => {
                tracing::warn!("renewing the worker lease: {e}");
                continue;
            }
        }
        if let Err(e) = claim_all(&ctx).await {
            tracing::warn!("claiming lanes: {e}");
        }
        if let Err(e) = look_for_others(&ctx).await {
            tracing::warn!("looking for deliveries stored by other processes: {e}");
        }
    }
}

async fn lapse(ctx: &Lease) -> sqlx::Result<()> {
    db::lanes::release_all(&ctx.writer, &ctx.worker_id).await?;
    register(ctx).await
}

/// Claims the lanes that have pending deliveries and no live owner, then
/// forgets the dead workers.
async fn claim_all(ctx: &Lease) -> sqlx::Result<()> {
    let now = now_ms();
    let dead = db::workers::dead(&ctx.db, now).await?;
    loop {
        let claimed = db::lanes::claim(&ctx.writer, &ctx.worker_id, now, CLAIM_BATCH).await?;
        let n = claimed.len();
        if n > 0 {
            if !dead.is_empty() {
                tracing::warn!(lanes = n, dead = ?dead, "took over the lanes of dead workers");
            }
            let lanes = claimed.into_iter().map(Arc::from).collect();
            let _ = ctx.to_scheduler.send(ToScheduler::Claimed(lanes)).await;
        }
        if (n as i64) < CLAIM_BATCH {
            break;
        }
    }
    // A lane whose owner is not in `workers` is free: the dead can go.
    for worker in &dead {
        if worker.as_str() != &*ctx.worker_id {
            db::workers::forget(&ctx.writer, worker).await?;
        }
    }
    Ok(())
}

/// Another process may have stored deliveries in this worker's lanes (its
/// writer moves the lane's newest `seq` on, not this one's): tells the
/// scheduler where each lane ends now. One indexed read of the lanes it
/// owns, whatever their backlog.
async fn look_for_others(ctx: &Lease) -> sqlx::Result<()> {
    let tails = db::lanes::owned(&ctx.db, &ctx.worker_id).await?;
    if !tails.is_empty() {
        let tails = tails.into_iter().map(|(w, seq)| (w.into(), seq)).collect();
        let _ = ctx.to_scheduler.send(ToScheduler::Tails(tails)).await;
    }
    Ok(())
}

/// Lets go of this worker's lanes and its lease (at shutdown): the next
/// worker claims them at once.
pub(crate) async fn release(ctx: &Lease) -> sqlx::Result<u64> {
    let n = db::lanes::release_all(&ctx.writer, &ctx.worker_id).await?;
    db::workers::forget(&ctx.writer, &ctx.worker_id).await?;
    Ok(n)
}
