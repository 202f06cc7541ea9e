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

pub(crate) async fn heartbeat(ctx: &Lease) -> sqlx::Result<()> {
    let now = now_ms();
    db::workers::heartbeat(&ctx.writer, &ctx.worker_id, now, now + ctx.lease_ms as i64).await
}

/// Renews the lease and claims what needs an owner, every third of the lease.
pub(crate) async fn run(ctx: Arc<Lease>) {
    let mut tick = tokio::time::interval(Duration::from_millis(ctx.lease_ms / 3));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Deliveries stored by another process go to the lanes this worker owns
    // without passing through its writer: the `seq` up to which it looked.
    let mut seen = match db::deliveries::newest_seq(&ctx.db).await {
        Ok(seq) => seq,
        Err(e) => {
            tracing::warn!("reading the newest delivery: {e}");
            0
        }
    };
    loop {
        tick.tick().await;
        if let Err(e) = heartbeat(&ctx).await {
            tracing::warn!("renewing the worker lease: {e}");
            continue;
        }
        match claim_all(&ctx).await {
            Ok(true) => {
                if let Err(e) = poll_others(&ctx, &mut seen).await {
                    tracing::warn!("looking for deliveries stored by other processes: {e}");
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!("claiming lanes: {e}"),
        }
    }
}

/// Claims the lanes that have pending deliveries and no live owner, then
/// forgets the dead workers. Returns whether another worker is alive.
async fn claim_all(ctx: &Lease) -> sqlx::Result<bool> {
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
    Ok(db::workers::others(&ctx.writer, &ctx.worker_id).await? > 0)
}

/// With another worker alive, deliveries to this worker's lanes may have
/// been stored by it: tells the scheduler where its lanes end now.
async fn poll_others(ctx: &Lease, seen: &mut i64) -> sqlx::Result<()> {
    let newest = db::deliveries::newest_seq(&ctx.db).await?;
    if newest <= *seen {
        return Ok(());
    }
    let tails = db::deliveries::pending_tails(&ctx.db, *seen, newest).await?;
    *seen = newest;
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
