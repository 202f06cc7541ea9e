//! Auto-disable (docs/delivery.md): per webhook, the run of failed
//! deliveries since its last success, kept by the writer in the same
//! transaction as the records that end them; a webhook whose run is long
//! and old enough, or that answered 410 Gone, is disabled, and the disable
//! is recorded in the project's activity.

use super::messages::{Record, Tracking};
use crate::server::config::DeliveryConfig;
use crate::server::db::{self, now_ms, Tx};
use std::collections::HashMap;

/// Per webhook, from a group in order: was there a success, and how many
/// failures (and since when) after the last one.
#[derive(Default)]
struct Tally {
    reset: bool,
    failures: i64,
    first_failure_at: i64,
    gone: bool,
}

/// Auto-disable bookkeeping for the records of a group; returns the
/// webhooks it disabled, with the reason.
pub(crate) async fn track(
    config: &DeliveryConfig,
    tx: &mut Tx,
    records: &[&Record],
) -> sqlx::Result<Vec<(String, String)>> {
    let mut tallies: HashMap<&str, Tally> = HashMap::new();
    for r in records {
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
    let now = now_ms();
    let window = config.auto_disable_after_seconds as i64 * 1000;
    let mut disabled = Vec::new();
    // The common case, successes only: one statement for all webhooks.
    let only_succeeded: Vec<&str> = tallies
        .iter()
        .filter(|(_, t)| t.reset && t.failures == 0)
        .map(|(w, _)| *w)
        .collect();
    db::webhooks::clear_failures(tx, &only_succeeded).await?;
    for (webhook, t) in &tallies {
        if t.failures == 0 {
            continue;
        }
        db::webhooks::track_failures(tx, webhook, t.reset, t.failures, t.first_failure_at).await?;
        let reason = if t.gone {
            "The receiver answered 410 Gone".to_string()
        } else {
            format!(
                "Every delivery failed for {} with at least {} failures",
                human_duration(config.auto_disable_after_seconds),
                config.auto_disable_min_failures
            )
        };
        if db::webhooks::auto_disable(
            tx,
            webhook,
            &reason,
            t.gone,
            now - window,
            config.auto_disable_min_failures as i64,
            now,
        )
        .await?
        {
            // Recorded in the same transaction: the activity trail shows it.
            db::activity::auto_disabled(tx, webhook, &reason, now).await?;
            disabled.push((webhook.to_string(), reason));
        }
    }
    Ok(disabled)
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
