//! The engine's one writer: ingest's events and deliveries, and every
//! attempt with its delivery's new state, are written by this task. Each
//! transaction takes everything that arrived while the previous one was
//! being written (group commit): many publish calls and attempts share a
//! commit, and a publish call waits for at most one transaction ahead of
//! its own. Also keeps the auto-disable count (DESIGN §3).

use super::ingest::{self, Pending, Written};
use super::Ctx;
use crate::server::db::{self, deliveries::DeliveryUpdate, now_ms};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Most attempt records written in one transaction.
const MAX_RECORDS: usize = 2_000;
/// Most publish calls written in one transaction.
const MAX_PUBLISHES: usize = 256;

// Records are nearly all the traffic; boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
pub(crate) enum RecMsg {
    Record(Record),
    /// A publish call's rows; answered once committed.
    Ingest(Pending),
    /// Answered once everything sent before it is written.
    Flush(oneshot::Sender<()>),
}

pub(crate) struct Record {
    pub webhook_id: Arc<str>,
    pub update: DeliveryUpdate,
    pub tracking: Tracking,
}

/// What a finished delivery means for auto-disable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tracking {
    None,
    Succeeded,
    Failed,
    /// The receiver answered 410 Gone: disable at once.
    Gone,
}

pub(crate) async fn run(ctx: Arc<Ctx>, mut rx: mpsc::UnboundedReceiver<RecMsg>) {
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
                RecMsg::Record(r) => records.push(r),
                RecMsg::Ingest(p) => publishes.push(p),
                RecMsg::Flush(tx) => flushes.push(tx),
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
            ctx.handle.enqueue(queued);
            for (p, w) in publishes.drain(..).zip(written) {
                p.answer(w);
            }
            // Records that could not be written are kept for the next
            // transaction: the deliveries they finish must not stay pending.
            if ok && !records.is_empty() {
                records.clear();
                ctx.handle.recorded.notify_waiters();
            }
        }
        for tx in flushes.drain(..) {
            let _ = tx.send(());
        }
    }
}

/// Waits until everything recorded so far is written.
pub(crate) async fn flush(ctx: &Ctx) {
    let (tx, rx) = oneshot::channel();
    if ctx.recorder.send(RecMsg::Flush(tx)).is_ok() {
        let _ = rx.await;
    }
}

/// Writes a group; on failure tries again a few times. Returns what each
/// publish call got (an error message if the group could not be written)
/// and whether the group was written.
async fn write_with_retries(
    ctx: &Ctx,
    records: &[Record],
    publishes: &[Pending],
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

async fn write(ctx: &Ctx, group: &[Record], publishes: &[Pending]) -> sqlx::Result<Vec<Written>> {
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
    let mut tx = ctx.handle.writer.begin_with("BEGIN IMMEDIATE").await?;
    let others = ctx
        .handle
        .others_may_hold
        .load(std::sync::atomic::Ordering::Relaxed);
    let written = ingest::write_group(&mut tx, &ctx.handle.worker_id, others, publishes).await?;
    db::deliveries::record(&mut tx, &ctx.handle.worker_id, &updates).await?;
    let now = now_ms();
    let window = ctx.config.auto_disable_after_seconds as i64 * 1000;
    let mut disabled = Vec::new();
    // The common case, successes only: one statement for all webhooks.
    let only_succeeded: Vec<&str> = tallies
        .iter()
        .filter(|(_, t)| t.reset && t.failures == 0)
        .map(|(w, _)| *w)
        .collect();
    db::deliveries::clear_failures(&mut tx, &only_succeeded).await?;
    for (webhook, t) in &tallies {
        if t.failures == 0 {
            continue;
        }
        db::deliveries::track_failures(&mut tx, webhook, t.reset, t.failures, t.first_failure_at)
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
        if db::deliveries::auto_disable(
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
            disabled.push((webhook.to_string(), reason));
        }
    }
    tx.commit().await?;
    for (webhook, reason) in disabled {
        tracing::warn!(webhook, reason, "webhook disabled automatically");
        ctx.handle.webhook_changed(&webhook);
    }
    Ok(written)
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
