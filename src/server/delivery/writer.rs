//! The engine's one writer: ingest's events and deliveries, and every
//! attempt with its delivery's new state, are written by this task. Each
//! transaction takes everything that arrived while the previous one was
//! being written (group commit): many publish calls and attempts share a
//! commit, and a publish call waits for at most one transaction ahead of
//! its own. Also keeps the auto-disable count (DESIGN §3).

use super::messages::{Publish, Record, ToScheduler, ToWriter, Tracking, Written};
use super::targets::Targets;
use crate::model::DeliveryOrigin;
use crate::server::config::DeliveryConfig;
use crate::server::db::{
    self, attempts::AttemptRow, deliveries::DeliveryUpdate, deliveries::NewDelivery,
    events::NewEvent, now_ms, Db,
};
use sqlx::SqliteConnection;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};

/// Most attempt records written in one transaction.
const MAX_RECORDS: usize = 2_000;
/// Most publish calls written in one transaction.
const MAX_PUBLISHES: usize = 256;
/// An idempotency key is remembered this long.
pub const IDEMPOTENCY_MS: i64 = 24 * 3600 * 1000;

/// What the writer task needs.
pub(crate) struct Writer {
    /// The one write connection ([`crate::server::db::writer`]).
    pub db: Db,
    pub worker_id: Arc<str>,
    pub config: DeliveryConfig,
    pub to_scheduler: mpsc::UnboundedSender<ToScheduler>,
    /// Notified after every group of attempts is committed.
    pub recorded: Arc<Notify>,
    /// Told of webhooks disabled automatically.
    pub targets: Targets,
    pub others_may_hold: Arc<AtomicBool>,
}

pub(crate) async fn run(ctx: Arc<Writer>, mut rx: mpsc::UnboundedReceiver<ToWriter>) {
    let mut records = Vec::new();
    let mut publishes = Vec::new();
    let mut flushes = Vec::new();
    loop {
        // Records left over from a failed write go again without waiting
        // for new work (the failed write already waited before giving up).
        let mut next = if records.is_empty() {
            match rx.recv().await {
                Some(msg) => Some(msg),
                None => return,
            }
        } else {
            rx.try_recv().ok()
        };
        while let Some(msg) = next.take() {
            match msg {
                ToWriter::Record(r) => records.push(r),
                ToWriter::Publish(p) => publishes.push(p),
                ToWriter::Flush(tx) => flushes.push(tx),
            }
            if records.len() < MAX_RECORDS && publishes.len() < MAX_PUBLISHES {
                next = rx.try_recv().ok();
            }
        }
        if !records.is_empty() || !publishes.is_empty() {
            let (written, ok) = write_with_retries(&ctx, &records, &publishes).await;
            // Committed: the scheduler gets the new deliveries in `seq`
            // order (this task is the only one that hands them over), then
            // the publish calls get their answers.
            let now = now_ms();
            let mut queued = Vec::new();
            for (p, w) in publishes.iter().zip(&written) {
                if let Ok(Written::Stored(seqs)) = w {
                    queued.extend(p.queued(seqs, now));
                }
            }
            if !queued.is_empty() {
                let _ = ctx.to_scheduler.send(ToScheduler::Add(queued));
            }
            for (p, w) in publishes.drain(..).zip(written) {
                p.answer(w);
            }
            // Records that could not be written are kept for the next
            // transaction: the deliveries they finish must not stay pending.
            if ok && !records.is_empty() {
                records.clear();
                ctx.recorded.notify_waiters();
            }
        }
        for tx in flushes.drain(..) {
            let _ = tx.send(());
        }
    }
}

/// Waits until everything sent to the writer so far is written.
pub(crate) async fn flush(to_writer: &mpsc::UnboundedSender<ToWriter>) {
    let (tx, rx) = oneshot::channel();
    if to_writer.send(ToWriter::Flush(tx)).is_ok() {
        let _ = rx.await;
    }
}

/// Writes a group; on failure tries again a few times. Returns what each
/// publish call got (an error message if the group could not be written)
/// and whether the group was written.
async fn write_with_retries(
    ctx: &Writer,
    records: &[Record],
    publishes: &[Publish],
) -> (Vec<Result<Written, String>>, bool) {
    let mut wait = Duration::from_millis(50);
    let mut attempt = 1;
    loop {
        match write(ctx, records, publishes).await {
            Ok(written) => return (written.into_iter().map(Ok).collect(), true),
            Err(e) if attempt < 5 => {
                tracing::warn!(
                    "writing {} attempts and {} publish calls failed, retrying: {e}",
                    records.len(),
                    publishes.len()
                );
                tokio::time::sleep(wait).await;
                wait *= 4;
                attempt += 1;
            }
            Err(e) => {
                // The publish calls fail (nothing of theirs was stored);
                // the attempts are tried again with the next group.
                tracing::error!(
                    "writing {} attempts and {} publish calls failed: {e}",
                    records.len(),
                    publishes.len()
                );
                return (
                    publishes.iter().map(|_| Err(e.to_string())).collect(),
                    false,
                );
            }
        }
    }
}

/// Per webhook, from a group in order: was there a success, and how many
/// failures (and since when) after the last one.
#[derive(Default)]
struct Tally {
    reset: bool,
    failures: i64,
    first_failure_at: i64,
    gone: bool,
}

async fn write(
    ctx: &Writer,
    group: &[Record],
    publishes: &[Publish],
) -> sqlx::Result<Vec<Written>> {
    let mut tallies: HashMap<&str, Tally> = HashMap::new();
    for r in group {
        let t = tallies.entry(&r.webhook_id).or_default();
        let at = r.update.finished_at.unwrap_or_else(now_ms);
        match r.tracking {
            Tracking::None => {}
            Tracking::Succeeded => {
                *t = Tally {
                    reset: true,
                    gone: t.gone,
                    ..Tally::default()
                }
            }
            Tracking::Failed | Tracking::Gone => {
                if t.failures == 0 {
                    t.first_failure_at = at;
                }
                t.failures += 1;
                t.gone |= r.tracking == Tracking::Gone;
            }
        }
    }
    let updates: Vec<&DeliveryUpdate> = group.iter().map(|r| &r.update).collect();
    let attempts: Vec<(i64, &AttemptRow)> = group
        .iter()
        .filter_map(|r| r.attempt.as_ref().map(|a| (r.update.seq, a)))
        .collect();
    let mut tx = ctx.db.begin_with("BEGIN IMMEDIATE").await?;
    let others = ctx.others_may_hold.load(Ordering::Relaxed);
    let written = store_publishes(&mut tx, &ctx.worker_id, others, publishes).await?;
    db::attempts::insert(&mut tx, &attempts).await?;
    db::deliveries::update_states(&mut tx, &ctx.worker_id, &updates).await?;
    let now = now_ms();
    let window = ctx.config.auto_disable_after_seconds as i64 * 1000;
    let mut disabled = Vec::new();
    // The common case, successes only: one statement for all webhooks.
    let only_succeeded: Vec<&str> = tallies
        .iter()
        .filter(|(_, t)| t.reset && t.failures == 0)
        .map(|(w, _)| *w)
        .collect();
    db::webhooks::clear_failures(&mut tx, &only_succeeded).await?;
    for (webhook, t) in &tallies {
        if t.failures == 0 {
            continue;
        }
        db::webhooks::track_failures(&mut tx, webhook, t.reset, t.failures, t.first_failure_at)
            .await?;
        let reason = if t.gone {
            "The receiver answered 410 Gone".to_string()
        } else {
            format!(
                "Every delivery failed for {} with at least {} failures",
                human_duration(ctx.config.auto_disable_after_seconds),
                ctx.config.auto_disable_min_failures
            )
        };
        if db::webhooks::auto_disable(
            &mut tx,
            webhook,
            &reason,
            t.gone,
            now - window,
            ctx.config.auto_disable_min_failures as i64,
            now,
        )
        .await?
        {
            // Recorded in the same transaction: the activity trail shows it.
            db::activity::auto_disabled(&mut tx, webhook, &reason, now).await?;
            disabled.push((webhook.to_string(), reason));
        }
    }
    tx.commit().await?;
    for (webhook, reason) in disabled {
        tracing::warn!(webhook, reason, "webhook disabled automatically");
        ctx.targets.forget(&webhook);
    }
    Ok(written)
}

/// Writes a group of publish calls in the writer's transaction.
/// `others_may_hold`: whether deliveries to ordered webhooks must look for
/// an older holder (see `db::deliveries::insert`).
async fn store_publishes(
    tx: &mut SqliteConnection,
    worker: &str,
    others_may_hold: bool,
    group: &[Publish],
) -> sqlx::Result<Vec<Written>> {
    if group.is_empty() {
        return Ok(Vec::new());
    }
    let now = now_ms();
    // Idempotency first: a replay stores nothing.
    let mut replayed: Vec<Option<String>> = Vec::with_capacity(group.len());
    for p in group {
        let mut first = None;
        if let Some(key) = &p.idempotency_key {
            first =
                db::idempotency_keys::answer(&mut *tx, &p.project_id, key, now - IDEMPOTENCY_MS)
                    .await?;
            if first.is_none() {
                db::idempotency_keys::remember(tx, &p.project_id, key, &p.answer, now).await?;
            }
        }
        replayed.push(first);
    }
    let storing = || group.iter().zip(&replayed).filter(|(_, r)| r.is_none());
    let events: Vec<NewEvent> = storing()
        .filter(|(p, _)| p.origin == DeliveryOrigin::Event)
        .flat_map(|(p, _)| {
            p.events.iter().map(|e| NewEvent {
                id: &e.id,
                project_id: &p.project_id,
                name: &e.name,
                body: &e.body,
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
                ordered: !d.unordered && others_may_hold,
                origin: p.origin.as_str(),
                repeats: d.repeats.as_deref(),
            })
        })
        .collect();
    let seqs = db::deliveries::insert(tx, &deliveries, worker, now).await?;
    let mut seqs = seqs.into_iter();
    Ok(group
        .iter()
        .zip(replayed)
        .map(|(p, r)| match r {
            Some(first) => Written::Replayed(first),
            None => Written::Stored(seqs.by_ref().take(p.deliveries.len()).collect()),
        })
        .collect())
}

fn human_duration(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 && s >= 86_400 => plural(s / 86_400, "day"),
        s if s % 3_600 == 0 && s >= 3_600 => plural(s / 3_600, "hour"),
        s if s % 60 == 0 && s >= 60 => plural(s / 60, "minute"),
        s => plural(s, "second"),
    }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_well() {
        assert_eq!(super::human_duration(86_400), "1 day");
        assert_eq!(super::human_duration(7_200), "2 hours");
        assert_eq!(super::human_duration(90), "90 seconds");
    }
}
