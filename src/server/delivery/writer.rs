//! The engine's writer: ingest's events and deliveries, and every attempt
//! with its delivery's new state, are written by this task (on PostgreSQL,
//! by two: one for publish calls, one for records; see [`Inboxes`]). Each
//! transaction takes everything that arrived while the previous one was
//! being written (group commit): many publish calls and attempts share a
//! commit, and its fsync, and a publish call waits for at most one
//! transaction ahead of its own. The auto-disable count
//! ([`auto_disable`]) is kept in the same transaction.
//!
//! When a write fails:
//! - the database cannot take writes now (disk full, I/O error, locked):
//!   the publish calls of the group are refused (503, nothing stored) and
//!   the attempt records are kept and written again after a pause, so that
//!   a delivered event does not stay `pending`; while it lasts, attempts
//!   wait for room in the writer's bounded inbox, and nothing piles up;
//! - anything else will fail the same way every time (a constraint refused
//!   a row): the group is written again item by item, each under a
//!   savepoint ([`under_savepoint`]); the items that fail are logged (with
//!   their delivery) and left out, the rest commit.

use super::auto_disable;
use super::messages::{
    LaneNote, Publish, Record, ReleaseIdle, ToScheduler, ToWriter, WriteError, Written,
};
use super::targets::Targets;
use crate::model::{DeliveryOrigin, DeliveryStatus};
use crate::server::config::DeliveryConfig;
use crate::server::db::{
    self, attempts::AttemptRow, deliveries::DeliveryUpdate, deliveries::NewDelivery,
    events::NewEvent, now_ms, Db, Tx,
};
use crate::server::metrics::Metrics;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};

/// Most attempt records written in one transaction.
const MAX_RECORDS: usize = 2_000;
/// Most publish calls written in one transaction.
const MAX_PUBLISHES: usize = 256;
/// An idempotency key is remembered this long.
pub const IDEMPOTENCY_MS: i64 = 24 * 3600 * 1000;
/// Pauses between writes that fail because the database takes no writes.
const FIRST_PAUSE: Duration = Duration::from_millis(50);
const LONGEST_PAUSE: Duration = Duration::from_secs(2);

/// What the writer task needs.
pub(crate) struct Writer {
    /// The write connection(s) ([`crate::server::db::writer`]).
    pub db: Db,
    pub worker_id: Arc<super::handle::WorkerId>,
    pub config: DeliveryConfig,
    pub to_scheduler: mpsc::Sender<ToScheduler>,
    /// Notified after every group of attempts is committed.
    pub recorded: Arc<Notify>,
    /// Told of webhooks disabled automatically.
    pub targets: Targets,
    pub metrics: Arc<Metrics>,
}

/// What one writer task reads. On SQLite one task reads all three (SQLite
/// has one writer anyway); on PostgreSQL one task takes publish calls and
/// releases, another records, each on a connection of its own, so that
/// ingest's commits and the records' run side by side. Each side's groups
/// still commit in the order they were made; the two sides touch no row
/// in an order that could make them wait for each other in a circle.
pub(crate) struct Inboxes {
    pub publishes: Option<mpsc::Receiver<Publish>>,
    pub releases: Option<mpsc::Receiver<ReleaseIdle>>,
    pub records: Option<mpsc::Receiver<ToWriter>>,
}

/// The next message of an inbox this task may not have.
async fn next<T>(inbox: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match inbox {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn try_next<T>(inbox: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    inbox.as_mut().and_then(|rx| rx.try_recv().ok())
}

pub(crate) async fn run(ctx: Arc<Writer>, mut inboxes: Inboxes) {
    // Records not yet written (kept across a failed write), publish calls
    // of this group, flushes waiting for the records before them, and
    // idle lanes to release after the group.
    let mut kept: Vec<Record> = Vec::new();
    let mut group: Vec<Publish> = Vec::new();
    let mut flushes: Vec<oneshot::Sender<()>> = Vec::new();
    let mut releases: Vec<ReleaseIdle> = Vec::new();
    let mut pause = FIRST_PAUSE;
    let mut publishes_open = inboxes.publishes.is_some();
    let mut records_open = inboxes.records.is_some();
    let mut releases_open = inboxes.releases.is_some();
    loop {
        if kept.is_empty() {
            // Wait for work.
            tokio::select! {
                biased;
                msg = next(&mut inboxes.records), if records_open => match msg {
                    Some(ToWriter::Record(r)) => kept.push(r),
                    Some(ToWriter::Flush(tx)) => flushes.push(tx),
                    None => records_open = false,
                },
                p = next(&mut inboxes.publishes), if publishes_open => match p {
                    Some(p) => group.push(p),
                    None => publishes_open = false,
                },
                r = next(&mut inboxes.releases), if releases_open => match r {
                    Some(r) => releases.push(r),
                    None => releases_open = false,
                },
                else => return,
            }
        }
        // Everything else that is there already, up to a group's size.
        while kept.len() < MAX_RECORDS {
            match try_next(&mut inboxes.records) {
                Some(ToWriter::Record(r)) => kept.push(r),
                Some(ToWriter::Flush(tx)) => flushes.push(tx),
                None => break,
            }
        }
        while group.len() < MAX_PUBLISHES {
            match try_next(&mut inboxes.publishes) {
                Some(p) => group.push(p),
                None => break,
            }
        }
        while let Some(r) = try_next(&mut inboxes.releases) {
            releases.push(r);
        }
        if kept.is_empty() && group.is_empty() {
            for tx in flushes.drain(..) {
                let _ = tx.send(());
            }
            release(&ctx, &mut releases).await;
            continue;
        }

        let began = std::time::Instant::now();
        let mut outcome = write(&ctx, &kept, &group, false).await;
        if let Err(e) = &outcome {
            if !db::is_transient(e) {
                tracing::warn!("a group of writes was refused ({e}); writing its items one by one");
                outcome = write(&ctx, &kept, &group, true).await;
            }
        }
        match outcome {
            Ok(written) => {
                pause = FIRST_PAUSE;
                ctx.metrics
                    .committed(began.elapsed().as_secs_f64(), kept.len() + group.len());
                count_finished(&ctx.metrics, &kept);
                committed(&ctx, written, &mut group).await;
                if !kept.is_empty() {
                    kept.clear();
                    ctx.recorded.notify_waiters();
                }
                for tx in flushes.drain(..) {
                    let _ = tx.send(());
                }
                release(&ctx, &mut releases).await;
            }
            Err(e) => {
                // The database takes no writes now: refuse the publish
                // calls (nothing of theirs is stored), keep the records.
                tracing::warn!(
                    records = kept.len(),
                    publishes = group.len(),
                    "the database takes no writes, trying again in {pause:?}: {e}"
                );
                for p in group.drain(..) {
                    p.answer(Err(WriteError::Busy(e.to_string())));
                }
                // Not released now: the lease asks again at its next tick.
                releases.clear();
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(LONGEST_PAUSE);
            }
        }
    }
}

/// Counts the deliveries that a committed group ended.
fn count_finished(metrics: &Metrics, records: &[Record]) {
    for r in records {
        let outcome = r.update.status;
        if outcome == DeliveryStatus::Pending {
            continue;
        }
        let project = r.project.as_deref().unwrap_or("");
        metrics
            .deliveries_finished
            .with_label_values(&[project, outcome.as_str()])
            .inc();
        if outcome == DeliveryStatus::Succeeded {
            let at = r.update.finished_at.unwrap_or_else(now_ms);
            metrics
                .success_latency
                .observe((at - r.created_at).max(0) as f64 / 1000.0);
        }
    }
}

/// Lets go of idle lanes (see [`ReleaseIdle`]) between two commits, so
/// that the scheduler hears of it in line with the commits that might
/// take a lane back.
async fn release(ctx: &Writer, releases: &mut Vec<ReleaseIdle>) {
    for r in releases.drain(..) {
        if r.reply.is_closed() || r.worker != ctx.worker_id.get() {
            continue;
        }
        let pairs: Vec<(&str, i64)> = r.lanes.iter().map(|(w, seq)| (&**w, *seq)).collect();
        match db::lanes::release_idle(&ctx.db, &r.worker, &pairs).await {
            Ok(released) if !released.is_empty() => {
                tracing::debug!(lanes = released.len(), "released idle lanes");
                let released = released.into_iter().map(Arc::from).collect();
                let _ = ctx.to_scheduler.send(ToScheduler::Released(released)).await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("releasing idle lanes: {e}"),
        }
        let _ = r.reply.send(());
    }
}

/// Hands what a group committed to the scheduler (in `seq` order: this task
/// is the only one that hands deliveries over), then answers its publish
/// calls.
async fn committed(ctx: &Writer, written: Group, group: &mut Vec<Publish>) {
    let now = now_ms();
    let mut deliveries = Vec::new();
    let mut permits = Vec::new();
    for (p, answer) in group.iter_mut().zip(&written.answers) {
        if let Ok(Written::Stored(seqs)) = answer {
            deliveries.extend(p.queued(seqs, now));
        }
        // The room a publish call took is given back once the scheduler
        // has seen its deliveries.
        permits.extend(p.permit.take());
    }
    if !deliveries.is_empty() {
        // Noted under an id the worker has left since (its lease ran out
        // while the group was written): not this worker's lanes, which
        // another claims once that id is forgotten.
        let current = written.worker == ctx.worker_id.get();
        let lanes = written
            .lanes
            .into_iter()
            .map(|n| LaneNote {
                webhook_id: n.webhook_id.into(),
                before: n.before,
                taken: n.taken,
                mine: current && n.owner.as_deref().is_none_or(|o| o == &*written.worker),
            })
            .collect();
        let _ = ctx
            .to_scheduler
            .send(ToScheduler::Committed {
                lanes,
                deliveries,
                permits,
            })
            .await;
    }
    for (p, answer) in group.drain(..).zip(written.answers) {
        p.answer(answer);
    }
}

/// Waits until everything sent to the writer so far is written, or `limit`.
pub(crate) async fn flush(to_writer: &mpsc::Sender<ToWriter>, limit: Duration) -> bool {
    let (tx, rx) = oneshot::channel();
    let flushed = async { to_writer.send(ToWriter::Flush(tx)).await.is_ok() && rx.await.is_ok() };
    tokio::time::timeout(limit, flushed).await.unwrap_or(false)
}

/// What a committed group did.
struct Group {
    /// Per publish call, in order.
    answers: Vec<Result<Written, WriteError>>,
    /// The lanes of the new deliveries.
    lanes: Vec<db::lanes::Noted>,
    /// The worker id the lanes were noted under.
    worker: Arc<str>,
}

/// Writes a group in one transaction. With `one_by_one`, each publish call,
/// each record and the auto-disable bookkeeping go under a savepoint of
/// their own, and those that a constraint refuses are left out (logged);
/// any other failure fails the whole group.
async fn write(
    ctx: &Writer,
    records: &[Record],
    publishes: &[Publish],
    one_by_one: bool,
) -> sqlx::Result<Group> {
    // New lanes are taken for the worker's current id.
    let me = ctx.worker_id.get();
    let mut tx = ctx.db.begin_write().await?;
    let mut answers = Vec::with_capacity(publishes.len());
    let mut noted = Vec::new();
    if one_by_one {
        for p in publishes {
            let stored = under_savepoint(&mut tx, async |tx: &mut Tx| {
                store_publishes(tx, &me, std::slice::from_ref(p)).await
            })
            .await?;
            match stored {
                Ok((mut written, lanes)) => {
                    answers.push(Ok(written.remove(0)));
                    noted.extend(lanes);
                }
                Err(e) => answers.push(Err(WriteError::Refused(format!(
                    "a publish call to project {} could not be stored: {e}",
                    p.project_id
                )))),
            }
        }
    } else {
        let (written, lanes) = store_publishes(&mut tx, &me, publishes).await?;
        answers.extend(written.into_iter().map(Ok));
        noted = lanes;
    }
    let records: Vec<&Record> = if one_by_one {
        let mut written = Vec::with_capacity(records.len());
        for r in records {
            match under_savepoint(&mut tx, async |tx: &mut Tx| store_records(tx, &[r]).await)
                .await?
            {
                Ok(()) => written.push(r),
                Err(e) => tracing::error!(
                    delivery = r.delivery_id,
                    webhook = %r.webhook_id,
                    "the record of an attempt could not be written and is left out \
                     (the delivery stays pending until a restart): {e}"
                ),
            }
        }
        written
    } else {
        let all: Vec<&Record> = records.iter().collect();
        store_records(&mut tx, &all).await?;
        all
    };
    let disabled = if one_by_one {
        // Bookkeeping that fails for good is left out too, not the records.
        let tracked = under_savepoint(&mut tx, async |tx: &mut Tx| {
            auto_disable::track(&ctx.config, tx, &records).await
        })
        .await?;
        tracked.unwrap_or_else(|e| {
            tracing::error!("auto-disable bookkeeping left out of a group: {e}");
            Vec::new()
        })
    } else {
        auto_disable::track(&ctx.config, &mut tx, &records).await?
    };
    tx.commit().await?;
    for (webhook, reason) in disabled {
        ctx.metrics.webhooks_auto_disabled.inc();
        tracing::warn!(webhook, reason, "webhook disabled automatically");
        ctx.targets.forget(&webhook);
    }
    Ok(Group {
        answers,
        lanes: noted,
        worker: me,
    })
}

/// Runs `op` under a savepoint of the writer's transaction. A failure that
/// would fail the same way every time (a constraint) is rolled back to the
/// savepoint and handed back as `Ok(Err(_))`, and the transaction goes on;
/// any other failure fails the transaction.
async fn under_savepoint<T>(
    tx: &mut Tx,
    op: impl AsyncFnOnce(&mut Tx) -> sqlx::Result<T>,
) -> sqlx::Result<sqlx::Result<T>> {
    tx.savepoint().await?;
    match op(tx).await {
        Ok(value) => {
            tx.release().await?;
            Ok(Ok(value))
        }
        Err(e) if !db::is_transient(&e) => {
            tx.roll_back_to_savepoint().await?;
            Ok(Err(e))
        }
        Err(e) => Err(e),
    }
}

/// Attempts first, then the deliveries' new states (the trigger that
/// counts a finished delivery reads its final attempt).
async fn store_records(tx: &mut Tx, records: &[&Record]) -> sqlx::Result<()> {
    let attempts: Vec<(i64, &AttemptRow)> = records
        .iter()
        .filter_map(|r| r.attempt.as_ref().map(|a| (r.update.seq, a)))
        .collect();
    db::attempts::insert(tx, &attempts).await?;
    // Each state under the id its attempt started with (one id, but for
    // attempts that were on the wire when the worker rejoined).
    let mut by_worker: Vec<(&str, Vec<&DeliveryUpdate>)> = Vec::new();
    for r in records {
        match by_worker.iter_mut().find(|(w, _)| *w == &*r.worker) {
            Some((_, updates)) => updates.push(&r.update),
            None => by_worker.push((&r.worker, vec![&r.update])),
        }
    }
    for (worker, updates) in by_worker {
        db::deliveries::update_states(tx, worker, &updates).await?;
    }
    Ok(())
}

/// Writes a group of publish calls in the writer's transaction: their
/// idempotency keys, events and deliveries, and notes the lanes of the
/// webhooks they go to (taking the free ones for this worker). Returns what
/// each call got and the lanes noted.
async fn store_publishes(
    tx: &mut Tx,
    worker: &str,
    group: &[Publish],
) -> sqlx::Result<(Vec<Written>, Vec<db::lanes::Noted>)> {
    if group.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let now = now_ms();
    // Idempotency first: a replay stores nothing.
    let mut replayed: Vec<Option<String>> = Vec::with_capacity(group.len());
    for p in group {
        let first = match &p.idempotency_key {
            Some(key) => {
                let since = now - IDEMPOTENCY_MS;
                db::idempotency_keys::take(tx, &p.project_id, key, &p.answer, now, since).await?
            }
            None => None,
        };
        replayed.push(first);
    }
    let storing = || group.iter().zip(&replayed).filter(|(_, r)| r.is_none());
    let events: Vec<NewEvent> = storing()
        .filter(|(p, _)| p.origin == DeliveryOrigin::Event)
        .flat_map(|(p, _)| {
            p.events.iter().filter_map(|e| {
                e.data.as_ref().map(|d| NewEvent {
                    id: &e.id,
                    project_id: &p.project_id,
                    tenant: p.tenant.as_deref(),
                    name: &d.name,
                    body: d.body.bytes(),
                    source: p.source.as_str(),
                })
            })
        })
        .collect();
    db::events::insert(tx, &events, now).await?;
    let deliveries: Vec<NewDelivery> = storing()
        .flat_map(|(p, _)| {
            p.deliveries.iter().map(|d| NewDelivery {
                id: &d.id,
                project_id: &p.project_id,
                event_id: &p.events[d.event].id,
                webhook_id: &d.webhook_id,
                ordering_key: &d.key,
                origin: p.origin,
                repeats: d.repeats.as_deref(),
            })
        })
        .collect();
    let mut webhooks: Vec<&str> = deliveries.iter().map(|d| d.webhook_id).collect();
    webhooks.sort_unstable();
    webhooks.dedup();
    db::lanes::lock(tx, &webhooks).await?;
    let seqs = db::deliveries::insert(tx, &deliveries, now).await?;
    // Per webhook, the newest delivery stored.
    let mut newest: HashMap<&str, i64> = HashMap::new();
    for (d, seq) in deliveries.iter().zip(&seqs) {
        newest.insert(d.webhook_id, *seq);
    }
    let lanes: Vec<(&str, i64)> = newest.into_iter().collect();
    let noted = db::lanes::note(tx, worker, &lanes).await?;
    let mut others: Vec<&str> = noted
        .iter()
        .filter_map(|n| n.owner.as_deref())
        .filter(|o| *o != worker)
        .collect();
    others.sort_unstable();
    others.dedup();
    db::lanes::notify(tx, &others).await?;
    let mut seqs = seqs.into_iter();
    let written = group
        .iter()
        .zip(replayed)
        .map(|(p, r)| match r {
            Some(first) => Written::Replayed(first),
            None => Written::Stored(seqs.by_ref().take(p.deliveries.len()).collect()),
        })
        .collect();
    Ok((written, noted))
}
