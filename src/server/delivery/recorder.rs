//! Writes attempts and delivery states in groups: whatever arrived while
//! the previous group was being written goes in the next transaction, so
//! recording keeps up with sending (group commit). Also keeps the
//! auto-disable count (DESIGN §3).

use super::Ctx;
use crate::server::db::{self, deliveries::DeliveryUpdate, now_ms};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Most records written in one transaction.
const MAX_GROUP: usize = 2_000;

// Records are nearly all the traffic; boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
pub(crate) enum RecMsg {
    Record(Record),
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
    let mut group = Vec::new();
    let mut flushes = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                RecMsg::Record(r) => group.push(r),
                RecMsg::Flush(tx) => flushes.push(tx),
            }
            if group.len() < MAX_GROUP {
                next = rx.try_recv().ok();
            }
        }
        if !group.is_empty() {
            write_with_retries(&ctx, &group).await;
            group.clear();
            ctx.handle.recorded.notify_waiters();
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

async fn write_with_retries(ctx: &Ctx, group: &[Record]) {
    let mut wait = Duration::from_millis(50);
    for attempt in 1..=5 {
        match write(ctx, group).await {
            Ok(()) => return,
            Err(e) if attempt < 5 => {
                tracing::warn!("recording {} attempts failed, retrying: {e}", group.len());
                tokio::time::sleep(wait).await;
                wait *= 4;
            }
            Err(e) => {
                // The deliveries stay pending in the database under this
                // worker's lease: after a restart they are attempted again.
                tracing::error!("recording {} attempts failed: {e}", group.len());
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

async fn write(ctx: &Ctx, group: &[Record]) -> sqlx::Result<()> {
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
    db::deliveries::record(&mut tx, &updates).await?;
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
        if t.failures == 0 {
            continue;
        }
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
    Ok(())
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
