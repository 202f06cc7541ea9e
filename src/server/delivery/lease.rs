//! The worker's lease and its lanes. A worker renews its lease (a row in
//! `workers`) every third of the lease time. A lane (one webhook's
//! deliveries) belongs to one worker; when a worker stops renewing (it
//! died), another claims its lanes and reads their deliveries from the
//! database, in order: at-least-once. Claims also pick up lanes no one owns
//! (released at a graceful shutdown). A claim moves lanes, not deliveries,
//! so a takeover costs the same whatever the backlog.

use super::handle::WorkerId;
use super::messages::{ReleaseIdle, ToScheduler, ToWriter};
use super::writer;
use crate::server::db::{self, Db};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Lanes claimed per statement.
const CLAIM_BATCH: i64 = 500;

/// What the lease task needs.
pub(crate) struct Lease {
    pub worker_id: Arc<WorkerId>,
    /// The writer's connection: on SQLite, claims and heartbeats go through it ([`Lease::writes`]).
    pub writer: Db,
    pub db: Db,
    pub lease_ms: u64,
    pub to_scheduler: mpsc::Sender<ToScheduler>,
    /// The writer's record inbox: flushed before idle lanes are released.
    pub to_writer: mpsc::Sender<ToWriter>,
    /// Where idle lanes go to be released (the writer of publish calls).
    pub to_releases: mpsc::Sender<ReleaseIdle>,
    /// Until when this worker may start attempts.
    pub validity: Arc<Validity>,
    /// What the worker holds: noted with each renewal.
    pub budget: Arc<super::budget::Budget>,
    /// The webhooks the worker sends to: a change told by another process
    /// is read again at once.
    pub targets: super::targets::Targets,
    pub max_in_flight: usize,
}

impl Lease {
    /// Where the lease's own writes go. On SQLite, through the writer's one
    /// connection (SQLite has one writer anyway). On PostgreSQL, through
    /// the pool: a renewal must never wait behind the writer, which may
    /// itself be waiting for rows another process holds.
    fn writes(&self) -> &Db {
        if self.db.is_postgres() {
            &self.db
        } else {
            &self.writer
        }
    }

    fn stats(&self) -> db::workers::Stats {
        let held = self.budget.held();
        db::workers::Stats {
            in_flight: held.in_flight as i64,
            max_in_flight: self.max_in_flight as i64,
            held_deliveries: held.deliveries as i64,
            held_bytes: held.bytes as i64,
        }
    }
}

/// Until when the worker may start attempts, on this process's monotonic
/// clock: a renewal that began at `t` and found the lease live makes it
/// `t` + the lease − a fifth of it (the database's lease, on its own
/// clock, runs at least as long). The scheduler starts no attempt past it,
/// so a process that stalled (a SIGSTOP, a frozen VM) stops at once when it
/// wakes, before its lease task has run; the lease task then gives up its
/// lanes and rejoins. Attempts already on the wire finish (at-least-once).
pub(crate) struct Validity {
    base: Instant,
    until_ms: AtomicU64,
}

impl Validity {
    pub(crate) fn new() -> Validity {
        Validity {
            base: Instant::now(),
            until_ms: AtomicU64::new(0),
        }
    }

    pub(crate) fn valid(&self) -> bool {
        (self.base.elapsed().as_millis() as u64) < self.until_ms.load(Ordering::Acquire)
    }

    fn extend(&self, began: Instant, lease_ms: u64) {
        let at = began.duration_since(self.base).as_millis() as u64 + lease_ms - lease_ms / 5;
        self.until_ms.store(at, Ordering::Release);
    }

    fn void(&self) {
        self.until_ms.store(0, Ordering::Release);
    }
}

/// Registers this worker's lease (on the database's clock).
pub(crate) async fn register(ctx: &Lease) -> sqlx::Result<()> {
    let began = Instant::now();
    db::workers::register(ctx.writes(), &ctx.worker_id.get(), ctx.lease_ms as i64).await?;
    ctx.validity.extend(began, ctx.lease_ms);
    Ok(())
}

/// On PostgreSQL: listens for the notifications of other processes that
/// stored deliveries in this worker's lanes, and reads where those lanes
/// end now at once (the lease tick's poll is the backstop, for a lost
/// notification or a reconnect).
async fn listen(ctx: Arc<Lease>) {
    let Db::Postgres(pool) = &ctx.db else {
        return;
    };
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect_with(pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("listening for other processes' deliveries: {e}");
                tokio::time::sleep(Duration::from_millis(ctx.lease_ms / 3)).await;
                continue;
            }
        };
        let channels = [db::lanes::CHANNEL, db::webhooks::CHANGED];
        if let Err(e) = listener.listen_all(channels).await {
            tracing::warn!("listening for other processes' deliveries: {e}");
            tokio::time::sleep(Duration::from_millis(ctx.lease_ms / 3)).await;
            continue;
        }
        loop {
            match listener.recv().await {
                Ok(n) if n.channel() == db::webhooks::CHANGED => {
                    webhook_changed(&ctx, n.payload()).await;
                }
                Ok(n) if n.payload() == &*ctx.worker_id.get() => {
                    if let Err(e) = look_for_others(&ctx).await {
                        tracing::warn!("reading deliveries stored by other processes: {e}");
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!("listening for other processes' deliveries: {e}");
                    break;
                }
            }
        }
    }
}

/// A webhook changed (in any process): what this worker read of it
/// (secrets, enabled) is read again at its next attempt, and its lane, if
/// this worker holds it, takes its new pace now.
async fn webhook_changed(ctx: &Lease, webhook_id: &str) {
    ctx.targets.forget(webhook_id);
    match db::webhooks::pace(&ctx.db, webhook_id).await {
        Ok(Some(pace)) => {
            let _ = ctx
                .to_scheduler
                .send(ToScheduler::Pace(webhook_id.into(), pace))
                .await;
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(webhook = webhook_id, "reading a changed webhook: {e}"),
    }
}

/// Renews the lease, claims what needs an owner and looks for deliveries
/// other processes stored in this worker's lanes, every third of the lease.
pub(crate) async fn run(ctx: Arc<Lease>) {
    // Ends with this task (aborted at shutdown).
    struct AbortOnDrop(tokio::task::JoinHandle<()>);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let _listener = AbortOnDrop(tokio::spawn(listen(ctx.clone())));
    let mut tick = tokio::time::interval(Duration::from_millis(ctx.lease_ms / 3));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let began = Instant::now();
        let renewed = if ctx.validity.valid() {
            // A renewal that takes longer than the lease has left is no renewal.
            let left = Duration::from_millis(ctx.lease_ms / 2);
            match tokio::time::timeout(
                left,
                db::workers::renew(
                    ctx.writes(),
                    &ctx.worker_id.get(),
                    ctx.lease_ms as i64,
                    ctx.stats(),
                ),
            )
            .await
            {
                Ok(Ok(live)) => Some(live),
                Ok(Err(e)) => {
                    tracing::warn!("renewing the worker lease: {e}");
                    None
                }
                Err(_) => {
                    tracing::warn!("renewing the worker lease took too long");
                    None
                }
            }
        } else {
            Some(false)
        };
        match renewed {
            Some(true) => ctx.validity.extend(began, ctx.lease_ms),
            Some(false) => {
                // The lease ran out (the process stalled, or could not renew
                // in time): another worker may have taken lanes over. Stop
                // attempting, give up every lane and start afresh.
                ctx.validity.void();
                tracing::warn!(
                    "the worker's lease ran out: releasing its lanes to claim them again"
                );
                // Its lanes go once its attempts on the wire have ended (at
                // most a lease: past that, they are taken over anyway).
                let (quiet, ended) = tokio::sync::oneshot::channel();
                if ctx
                    .to_scheduler
                    .send(ToScheduler::Lapsed(quiet))
                    .await
                    .is_ok()
                {
                    let limit = Duration::from_millis(ctx.lease_ms);
                    let _ = tokio::time::timeout(limit, ended).await;
                }
                if let Err(e) = lapse(&ctx).await {
                    tracing::warn!("rejoining after the lease ran out: {e}");
                    continue;
                }
            }
            None => continue,
        }
        if let Err(e) = claim_all(&ctx).await {
            tracing::warn!("claiming lanes: {e}");
        }
        if let Err(e) = look_for_others(&ctx).await {
            tracing::warn!("looking for deliveries stored by other processes: {e}");
        }
        if let Err(e) = release_idle(&ctx).await {
            tracing::warn!("releasing idle lanes: {e}");
        }
    }
}

/// While other workers are live, lets go of the lanes that sat idle for a
/// whole tick, so that load spreads as processes join: a free lane is
/// taken by the next process that stores a delivery in it (or claims it).
/// Alone, a worker keeps its lanes (releasing them would cost each new
/// delivery a read). A busy lane never moves while its owner lives.
async fn release_idle(ctx: &Lease) -> sqlx::Result<()> {
    let me = ctx.worker_id.get();
    if !ctx.validity.valid() || db::workers::others(&ctx.db, &me).await? == 0 {
        return Ok(());
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    if ctx.to_scheduler.send(ToScheduler::Idle(tx)).await.is_err() {
        return Ok(());
    }
    let Ok(idle) = rx.await else {
        return Ok(());
    };
    if idle.is_empty() {
        return Ok(());
    }
    // The records before are written first (a lane's last outcomes are
    // kept only while this worker owns it); then the writer of publish
    // calls releases them between two of its commits (see
    // `ToScheduler::Released`). Waited for, so that this task's next claim
    // comes after it.
    // Both within a sixth of the lease, so that the next renewal is on time.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(ctx.lease_ms / 6);
    let (reply, rx) = tokio::sync::oneshot::channel();
    let released = async {
        if !writer::flush(&ctx.to_writer, Duration::from_millis(ctx.lease_ms / 6)).await {
            return;
        }
        let ask = ReleaseIdle {
            worker: me,
            lanes: idle,
            reply,
        };
        if ctx.to_releases.send(ask).await.is_ok() {
            let _ = rx.await;
        }
    };
    let _ = tokio::time::timeout_at(deadline, released).await;
    Ok(())
}

/// Gives up every lane of the old id and rejoins under a new one.
async fn lapse(ctx: &Lease) -> sqlx::Result<()> {
    let old = ctx.worker_id.get();
    db::lanes::release_all(ctx.writes(), &old).await?;
    db::workers::forget(ctx.writes(), &old).await?;
    let new = ctx.worker_id.renew();
    tracing::warn!(old = %old, new = %new, "the worker rejoins under a new id");
    register(ctx).await
}

/// Claims the lanes that have pending deliveries and no live owner, then
/// forgets the dead workers.
async fn claim_all(ctx: &Lease) -> sqlx::Result<()> {
    let dead = db::workers::dead(&ctx.db).await?;
    loop {
        let claimed = db::lanes::claim(ctx.writes(), &ctx.worker_id.get(), CLAIM_BATCH).await?;
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
        if worker.as_str() != &*ctx.worker_id.get() {
            db::workers::forget(ctx.writes(), worker).await?;
        }
    }
    Ok(())
}

/// Another process may have stored deliveries in this worker's lanes (its
/// writer moves the lane's newest `seq` on, not this one's): tells the
/// scheduler where each lane ends now. One indexed read of the lanes it
/// owns, whatever their backlog.
async fn look_for_others(ctx: &Lease) -> sqlx::Result<()> {
    let tails = db::lanes::owned(&ctx.db, &ctx.worker_id.get()).await?;
    if !tails.is_empty() {
        let tails = tails.into_iter().map(|(w, seq)| (w.into(), seq)).collect();
        let _ = ctx.to_scheduler.send(ToScheduler::Tails(tails)).await;
    }
    Ok(())
}

/// Lets go of this worker's lanes and its lease (at shutdown): the next
/// worker claims them at once.
pub(crate) async fn release(ctx: &Lease) -> sqlx::Result<u64> {
    let me = ctx.worker_id.get();
    let n = db::lanes::release_all(ctx.writes(), &me).await?;
    db::workers::forget(ctx.writes(), &me).await?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_may_start_only_within_the_lease_less_a_fifth() {
        assert!(
            !Validity::new().valid(),
            "nothing before the first registration"
        );
        // A worker that started a while ago.
        let v = Validity {
            base: Instant::now() - Duration::from_secs(5),
            until_ms: AtomicU64::new(0),
        };
        let began = Instant::now();
        v.extend(began, 1_000);
        assert!(v.valid());
        // As if the renewal had begun 900 ms ago (the process stalled
        // since): past 800 ms of a 1 s lease, nothing starts.
        v.extend(began - Duration::from_millis(900), 1_000);
        assert!(!v.valid());
        v.extend(Instant::now(), 1_000);
        v.void();
        assert!(!v.valid(), "a lapse stops attempts at once");
    }
}
