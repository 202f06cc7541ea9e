//! The delivery log's rules, shared by the dashboard and the HTTP API:
//! pages with filters and keyset cursors, a delivery with its attempts,
//! redeliver, replay, cancel, and a webhook's last 24 hours.

use super::db::activity::{self, Actor};
use super::db::delivery_log::{self as log, LogRow};
use super::db::{self, now_ms};
use super::delivery::ingest::{self, MAX_REPEATS};
use super::filters;
use super::scope::Scope;
use super::state::AppState;
use crate::model::{
    AppError, AttemptInfo, Cursor, DeliveryDetail, DeliveryOrigin, DeliveryPage, DeliveryStatus,
    DeliverySummary, HourStats, LogFilter, WebhookHealth, LOG_PAGE_MAX,
};
use std::collections::HashMap;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

fn summary(state: &AppState, r: LogRow) -> DeliverySummary {
    let status = r.status;
    DeliverySummary {
        next_at: (status == DeliveryStatus::Pending).then_some(r.next_at),
        id: r.id,
        event_id: r.event_id,
        event: r.event,
        webhook_id: r.webhook_id,
        webhook_url: r.url,
        ordering_key: r.ordering_key,
        status,
        origin: r.origin,
        repeats: r.repeats,
        attempts: r.attempts as u32,
        max_attempts: state.config.delivery.max_attempts,
        last_status: r.last_status.map(|s| s as u16),
        last_error: r.last_error,
        duration_ms: r.duration_ms,
        created_at: r.created_at,
        finished_at: r.finished_at,
    }
}

/// Checks a filter that came from a URL or a query string.
fn check(filter: &mut LogFilter) -> Result<(), AppError> {
    filters::tenant(&mut filter.tenant)?;
    for field in [&mut filter.webhook, &mut filter.event, &mut filter.search] {
        filters::text(field, true)?;
    }
    // A key is compared as stored: cut as ingest cuts it.
    if let Some(key) = filter.key.take() {
        let key = key.trim();
        if !key.is_empty() {
            filter.key = Some(ingest::cut_key(key).to_string());
        }
    }
    filters::time_range(&mut filter.within, &mut filter.since, filter.until)
}

/// One page of a scope's log (newest first).
pub async fn page(
    state: &AppState,
    scope: &Scope,
    filter: LogFilter,
    cursor: Cursor,
    limit: u32,
) -> Result<DeliveryPage, AppError> {
    let (rows, older, newer) = rows_page(state, scope, filter, cursor, limit).await?;
    Ok(DeliveryPage {
        deliveries: rows.into_iter().map(|r| summary(state, r)).collect(),
        older,
        newer,
    })
}

/// A page's rows and the cursors of the pages older and newer than it.
async fn rows_page(
    state: &AppState,
    scope: &Scope,
    mut filter: LogFilter,
    cursor: Cursor,
    limit: u32,
) -> Result<(Vec<LogRow>, Option<String>, Option<String>), AppError> {
    let project_id = scope.project_id.as_str();
    super::projects::get(state, project_id).await?;
    if scope.tenant.is_some() {
        // A tenant's log is its own, whatever the filter asks.
        filter.tenant = scope.tenant.clone();
    }
    check(&mut filter)?;
    let limit = limit.clamp(1, LOG_PAGE_MAX);
    let (rows, more) = log::page(&state.db, project_id, &filter, cursor, limit).await?;
    let (Some(first), Some(last)) = (rows.first().map(|r| r.seq), rows.last().map(|r| r.seq))
    else {
        return Ok((rows, None, None));
    };
    // Going newer, `more` means more newer rows; older ones exist since we
    // came from them. Going older (or from the top), the reverse.
    let (older, newer) = match cursor {
        Cursor::After(_) => (true, more),
        Cursor::Before(_) => (more, true),
        Cursor::Newest => (more, false),
    };
    let newer = newer && log::newer_exists(&state.db, project_id, &filter, first).await?;
    Ok((
        rows,
        older.then(|| Cursor::Before(last).encode()).flatten(),
        newer.then(|| Cursor::After(first).encode()).flatten(),
    ))
}

/// A webhook's deliveries (the API's `GET …/webhooks/{id}/deliveries`),
/// each with its attempts.
pub async fn webhook_page(
    state: &AppState,
    scope: &Scope,
    webhook_id: &str,
    status: Option<DeliveryStatus>,
    key: Option<String>,
    cursor: Cursor,
    limit: u32,
) -> Result<(Vec<DeliveryDetail>, Option<String>), AppError> {
    super::webhooks::get(state, scope, webhook_id).await?;
    let filter = LogFilter {
        status,
        webhook: Some(webhook_id.to_string()),
        key,
        ..LogFilter::default()
    };
    let (rows, older, _) = rows_page(state, scope, filter, cursor, limit).await?;
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    let mut attempts = attempts_of(state, &seqs).await?;
    let out = rows
        .into_iter()
        .map(|r| DeliveryDetail {
            attempts: attempts.remove(&r.seq).unwrap_or_default(),
            delivery: summary(state, r),
            body: String::new(),
        })
        .collect();
    Ok((out, older))
}

/// The attempts of some deliveries, by `seq`, in one query.
async fn attempts_of(
    state: &AppState,
    seqs: &[i64],
) -> Result<HashMap<i64, Vec<AttemptInfo>>, AppError> {
    let mut by_seq: HashMap<i64, Vec<AttemptInfo>> = HashMap::new();
    for a in log::attempts(&state.db, seqs).await? {
        by_seq.entry(a.delivery_seq).or_default().push(AttemptInfo {
            number: a.number as u32,
            started_at: a.started_at,
            duration_ms: a.duration_ms,
            request_headers: serde_json::from_str(&a.request_headers).unwrap_or_default(),
            response_status: a.response_status.map(|s| s as u16),
            response_headers: a
                .response_headers
                .and_then(|h| serde_json::from_str(&h).ok())
                .unwrap_or_default(),
            response_body: a
                .response_body
                .map(|b| String::from_utf8_lossy(&b).into_owned()),
            error_kind: a.error_kind,
            error_message: a.error_message,
        });
    }
    Ok(by_seq)
}

/// One log row of the scope: another project's or tenant's answers 404.
async fn one(state: &AppState, scope: &Scope, delivery_id: &str) -> Result<LogRow, AppError> {
    log::one(&state.db, &scope.project_id, delivery_id)
        .await?
        .filter(|r| scope.tenant.is_none() || r.tenant == scope.tenant)
        .ok_or(AppError::NotFound)
}

/// A delivery with its event's body and every attempt.
pub async fn detail(
    state: &AppState,
    scope: &Scope,
    delivery_id: &str,
) -> Result<DeliveryDetail, AppError> {
    let row = one(state, scope, delivery_id).await?;
    let attempts = attempts_of(state, &[row.seq])
        .await?
        .remove(&row.seq)
        .unwrap_or_default();
    let bytes = db::events::body(&state.db, &row.event_id)
        .await?
        .unwrap_or_default();
    Ok(DeliveryDetail {
        body: String::from_utf8_lossy(&bytes).into_owned(),
        delivery: summary(state, row),
        attempts,
    })
}

/// A fresh attempt chain for a delivery's event to its webhook; the
/// original is kept as it is. Returns the new delivery's id.
pub async fn redeliver(
    state: &AppState,
    scope: &Scope,
    delivery_id: &str,
    actor: &Actor<'_>,
) -> Result<String, AppError> {
    let project_id = scope.project_id.as_str();
    let source = log::repeat_source(&state.db, project_id, delivery_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let webhook = super::webhooks::get(state, scope, &source.webhook_id).await?;
    if !webhook.enabled {
        return Err(AppError::Conflict(
            "The webhook is disabled: enable it before redelivering".into(),
        ));
    }
    let ids = ingest::repeat(
        &state.delivery,
        project_id,
        vec![source],
        DeliveryOrigin::Redelivery,
    )
    .await?;
    let id = ids.into_iter().next().ok_or(AppError::Internal)?;
    activity::record(
        &state.db,
        Some(project_id),
        actor,
        "delivery.redelivered",
        delivery_id,
        &id,
    )
    .await?;
    Ok(id)
}

/// How many failed or dropped deliveries of a webhook a replay since
/// `since` would repeat.
pub async fn replay_count(
    state: &AppState,
    scope: &Scope,
    webhook_id: &str,
    since: i64,
) -> Result<u64, AppError> {
    super::webhooks::get(state, scope, webhook_id).await?;
    let n = log::replay_count(&state.db, webhook_id, since).await?;
    Ok(n as u64)
}

/// Queues again every failed or dropped delivery of a webhook created
/// since `since` (durably: they are pending rows before this returns).
pub async fn replay(
    state: &AppState,
    scope: &Scope,
    webhook_id: &str,
    since: i64,
    actor: &Actor<'_>,
) -> Result<u64, AppError> {
    let project_id = scope.project_id.as_str();
    let webhook = super::webhooks::get(state, scope, webhook_id).await?;
    if !webhook.enabled {
        return Err(AppError::Conflict(
            "The webhook is disabled: enable it before replaying".into(),
        ));
    }
    if since > now_ms() {
        return Err(AppError::Invalid("Choose a time in the past".into()));
    }
    let sources = log::replay_sources(&state.db, webhook_id, since, MAX_REPEATS as i64).await?;
    if sources.len() > MAX_REPEATS {
        return Err(AppError::Invalid(format!(
            "More than {MAX_REPEATS} deliveries would be replayed: choose a later time"
        )));
    }
    let n = sources.len() as u64;
    if n > 0 {
        ingest::repeat(&state.delivery, project_id, sources, DeliveryOrigin::Replay).await?;
    }
    activity::record(
        &state.db,
        Some(project_id),
        actor,
        "webhook.replayed",
        &webhook.url,
        &format!(
            "{n} deliveries since {}",
            crate::components::time::utc_text(since)
        ),
    )
    .await?;
    Ok(n)
}

/// Cancels a pending delivery: no further attempt.
pub async fn cancel(
    state: &AppState,
    scope: &Scope,
    delivery_id: &str,
    actor: &Actor<'_>,
) -> Result<(), AppError> {
    let project_id = scope.project_id.as_str();
    one(state, scope, delivery_id).await?;
    let reason = match actor.email {
        Some(email) => format!("Cancelled by {email}"),
        None => "Cancelled through the API".to_string(),
    };
    let Some((webhook_id, seq)) =
        log::cancel(&state.db, project_id, delivery_id, &reason, now_ms()).await?
    else {
        return match log::one(&state.db, project_id, delivery_id).await? {
            None => Err(AppError::NotFound),
            Some(_) => Err(AppError::Conflict(
                "Only a delivery that is still being tried can be cancelled".into(),
            )),
        };
    };
    state.delivery.cancelled(&webhook_id, seq).await;
    activity::record(
        &state.db,
        Some(project_id),
        actor,
        "delivery.cancelled",
        delivery_id,
        "",
    )
    .await?;
    Ok(())
}

/// The first of the 24 hourly buckets that end with the current hour: the
/// window of a webhook's chart and of the list's 24 h success rate.
fn first_hour(now: i64) -> i64 {
    (now - DAY_MS) / HOUR_MS * HOUR_MS + HOUR_MS
}

/// A webhook's last 24 hours in hourly buckets, oldest first: successes,
/// failures, and the p50/p95 duration of the last attempts.
pub async fn hourly(
    state: &AppState,
    scope: &Scope,
    webhook_id: &str,
) -> Result<Vec<HourStats>, AppError> {
    super::webhooks::get(state, scope, webhook_id).await?;
    let first_hour = first_hour(now_ms());
    let rows = log::hours(&state.db, webhook_id, first_hour).await?;
    Ok(buckets(first_hour, &rows))
}

/// Adds up `webhook_hours` rows into 24 hours from `first_hour`.
fn buckets(first_hour: i64, rows: &[log::HourRow]) -> Vec<HourStats> {
    // Per hour, (duration bucket, count) pairs: the latency histogram.
    let mut hours: Vec<(HourStats, Vec<(i64, i64)>)> = (0..24)
        .map(|i| {
            (
                HourStats {
                    hour: first_hour + i * HOUR_MS,
                    ..HourStats::default()
                },
                Vec::new(),
            )
        })
        .collect();
    for r in rows {
        let Some((h, histogram)) = usize::try_from((r.hour - first_hour) / HOUR_MS)
            .ok()
            .filter(|_| r.hour >= first_hour)
            .and_then(|i| hours.get_mut(i))
        else {
            continue;
        };
        let count = u32::try_from(r.count).unwrap_or(u32::MAX);
        if r.succeeded {
            h.succeeded = h.succeeded.saturating_add(count);
        } else {
            h.failed = h.failed.saturating_add(count);
        }
        if r.bucket >= 0 {
            histogram.push((r.bucket, r.count));
        }
    }
    hours
        .into_iter()
        .map(|(mut h, mut histogram)| {
            histogram.sort_unstable();
            h.p50_ms = percentile(&histogram, 50);
            h.p95_ms = percentile(&histogram, 95);
            h
        })
        .collect()
}

/// Nearest-rank percentile of a histogram of (bucket, count), sorted by
/// bucket: the upper end of the bucket that holds that rank.
fn percentile(histogram: &[(i64, i64)], p: i64) -> Option<i64> {
    let total: i64 = histogram.iter().map(|(_, n)| n).sum();
    let rank = ((p * total + 99) / 100).max(1);
    let mut seen = 0;
    histogram.iter().find_map(|&(bucket, n)| {
        seen += n;
        (seen >= rank).then(|| bucket_max(bucket))
    })
}

/// The longest duration (ms) a `webhook_hours` bucket holds: durations keep
/// two significant digits (migrations/sqlite/0006_webhook_hours.sql), so 0–99 ms
/// are exact and 313 (130–139 ms) answers 139.
fn bucket_max(bucket: i64) -> i64 {
    if bucket < 100 {
        return bucket;
    }
    let (digits, lead) = (bucket / 100, bucket % 100);
    (lead + 1) * 10_i64.pow(digits.saturating_sub(2) as u32) - 1
}

/// Every webhook of a scope: its last delivery and 24 h success rate.
pub async fn health(state: &AppState, scope: &Scope) -> Result<Vec<WebhookHealth>, AppError> {
    let rows = log::health(&state.db, &scope.project_id, first_hour(now_ms())).await?;
    let mine: Option<Vec<String>> = match scope.tenant {
        Some(_) => Some(
            super::webhooks::list(state, scope)
                .await?
                .into_iter()
                .map(|w| w.id)
                .collect(),
        ),
        None => None,
    };
    Ok(rows
        .into_iter()
        .filter(|r| mine.as_ref().is_none_or(|ids| ids.contains(&r.webhook_id)))
        .map(|r| WebhookHealth {
            webhook_id: r.webhook_id,
            last_status: r.last_status,
            last_http: r.last_http.map(|s| s as u16),
            last_at: r.last_at,
            success_rate: (r.finished > 0).then(|| r.succeeded as f64 / r.finished as f64),
        })
        .collect())
}

/// The project's activity record, newest first.
pub async fn activity(
    state: &AppState,
    project_id: &str,
) -> Result<Vec<crate::model::ActivityEntry>, AppError> {
    super::projects::get(state, project_id).await?;
    Ok(db::activity::project(&state.db, project_id, 200).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_over_the_histogram() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[(7, 1)], 95), Some(7));
        let ones: Vec<(i64, i64)> = (1..=99).map(|ms| (ms, 1)).collect();
        assert_eq!(percentile(&ones, 50), Some(50));
        assert_eq!(percentile(&ones, 95), Some(95));
        // 90 fast ones at 12 ms, 10 slow ones in 2,300–2,399 ms.
        assert_eq!(percentile(&[(12, 90), (423, 10)], 50), Some(12));
        assert_eq!(percentile(&[(12, 90), (423, 10)], 95), Some(2_399));
    }

    #[test]
    fn buckets_keep_two_significant_digits() {
        // The keys the migration's trigger computes, and what they hold.
        for (bucket, max) in [(0, 0), (99, 99), (310, 109), (313, 139), (399, 999)] {
            assert_eq!(bucket_max(bucket), max);
        }
        assert_eq!(bucket_max(410), 1_099);
        assert_eq!(bucket_max(530), 30_999);
    }

    #[test]
    fn rows_fall_into_their_hour() {
        let first = 1_000 * HOUR_MS;
        let row = |hour, succeeded, bucket, count| log::HourRow {
            hour,
            succeeded,
            bucket,
            count,
        };
        let rows = vec![
            row(first, true, 10, 1),
            row(first, false, 30, 1),
            row(first + 23 * HOUR_MS, false, -1, 4), // dropped: no attempt
            row(first - HOUR_MS, true, 1, 9),        // before the window
        ];
        let b = buckets(first, &rows);
        assert_eq!(b.len(), 24);
        assert_eq!((b[0].succeeded, b[0].failed), (1, 1));
        assert_eq!((b[0].p50_ms, b[0].p95_ms), (Some(10), Some(30)));
        assert_eq!((b[23].succeeded, b[23].failed, b[23].p50_ms), (0, 4, None));
        assert_eq!(b[1].hour, first + HOUR_MS);
    }

    #[test]
    fn the_window_is_the_24_hours_ending_with_this_one() {
        let now = 500 * HOUR_MS + 25 * 60_000;
        assert_eq!(first_hour(now), 477 * HOUR_MS);
        assert_eq!(first_hour(now) + 23 * HOUR_MS, 500 * HOUR_MS);
    }
}
