//! Bulk replays (`POST /projects/{pid}/replay`, the log's "Replay these…"):
//! the deliveries a filter picks are counted, then queued again in chunks
//! by a replay row that survives a restart. Each process runs one loop
//! that takes a running replay (its own, or one whose worker's lease ran
//! out) and queues a chunk whenever the project's replayed deliveries still
//! pending are fewer than `--replay-in-flight`: a large replay shares the
//! lanes' windows with live traffic instead of putting a wall of backlog
//! in front of it.
//!
//! No delivery is queued twice: a replay picks only deliveries with no
//! newer delivery of the same event to the same webhook, so a chunk
//! committed just before a crash is not picked again after it.

use super::db::activity::{self, Actor};
use super::db::replays::{self as db_replays, NewReplay, Range, ReplayRow};
use super::delivery::ingest;
use super::scope::Scope;
use super::state::AppState;
use crate::model::{
    is_event_name, AppError, DeliveryOrigin, DeliveryStatus, LogFilter, ReplayFilter, ReplayInfo,
    MAX_REPLAY, REPLAYABLE,
};
use std::time::Duration;

/// Deliveries queued per chunk at most.
const CHUNK: i64 = 500;
/// How often an idle loop looks for a replay to run.
const LOOK_EVERY: Duration = Duration::from_millis(500);

fn info(r: &ReplayRow) -> ReplayInfo {
    ReplayInfo {
        id: r.id.clone(),
        count: r.total as u64,
        queued: r.queued as u64,
        state: r.state.clone(),
        created_at: r.created_at,
        finished_at: r.finished_at,
    }
}

/// Checks a filter; an empty status list means failed and dropped.
fn check(f: &mut ReplayFilter) -> Result<(), AppError> {
    if f.since > super::db::now_ms() {
        return Err(AppError::Invalid("since: choose a time in the past".into()));
    }
    if let Some(until) = f.until {
        if until <= f.since {
            return Err(AppError::Invalid("until must be after since".into()));
        }
    }
    if f.statuses.is_empty() {
        f.statuses = vec![DeliveryStatus::Failed, DeliveryStatus::Dropped];
    }
    if let Some(s) = f.statuses.iter().find(|s| !REPLAYABLE.contains(s)) {
        return Err(AppError::Invalid(format!(
            "status {}: only finished deliveries are replayed (failed, dropped, cancelled, succeeded)",
            s.as_str()
        )));
    }
    f.statuses.sort_by_key(|s| s.as_str());
    f.statuses.dedup();
    if f.event_types.len() > 100 || f.webhook_ids.len() > 100 {
        return Err(AppError::Invalid(
            "At most 100 event types and 100 webhooks".into(),
        ));
    }
    if let Some(n) = f.event_types.iter().find(|n| !is_event_name(n)) {
        return Err(AppError::Invalid(format!("{n:?} is not an event name")));
    }
    if let Some(w) = f.webhook_ids.iter().find(|w| w.is_empty() || w.len() > 100) {
        return Err(AppError::Invalid(format!("{w:?} is not a webhook id")));
    }
    Ok(())
}

/// The replay of what a delivery log page shows: its time range (or all
/// that is kept), its status (else failed and dropped), event and webhook.
/// A page filtered by ordering key or id, or showing pending deliveries,
/// has no replay.
pub fn of_log(f: &LogFilter) -> Result<ReplayFilter, AppError> {
    if f.key.is_some() || f.search.is_some() {
        return Err(AppError::Invalid(
            "Replay takes the time, status, event and webhook filters: clear the key and id filters first".into(),
        ));
    }
    let since = match (f.within, f.since) {
        (Some(r), _) => super::db::now_ms() - r.millis(),
        (None, Some(s)) => s,
        (None, None) => 0,
    };
    Ok(ReplayFilter {
        since,
        until: f.until,
        statuses: f.status.into_iter().collect(),
        event_types: f.event.iter().cloned().collect(),
        webhook_ids: f.webhook.iter().cloned().collect(),
    })
}

/// Whose deliveries a log page's replay picks: a tenant's log (`?tenant=`)
/// replays that tenant's only.
pub fn log_scope(scope: &Scope, f: &LogFilter) -> Scope {
    match (&scope.tenant, &f.tenant) {
        (None, Some(t)) => Scope::tenant(&scope.project_id, t),
        _ => scope.clone(),
    }
}

/// How many deliveries a replay with this filter would queue now.
pub async fn count(
    state: &AppState,
    scope: &Scope,
    mut filter: ReplayFilter,
) -> Result<u64, AppError> {
    super::projects::get(state, &scope.project_id).await?;
    check(&mut filter)?;
    let range = Range {
        after: 0,
        max: db_replays::max_seq(&state.db).await?,
    };
    let n = db_replays::count(
        &state.db,
        &scope.project_id,
        scope.tenant.as_deref(),
        &filter,
        &range,
    )
    .await?;
    Ok(n as u64)
}

/// Starts a replay: counts what it picks (as [`count`] does, up to the
/// newest delivery now) and stores it to be queued. A replay that picks
/// nothing is done at once.
pub async fn start(
    state: &AppState,
    scope: &Scope,
    mut filter: ReplayFilter,
    actor: &Actor<'_>,
) -> Result<ReplayInfo, AppError> {
    let project_id = scope.project_id.as_str();
    super::projects::get(state, project_id).await?;
    check(&mut filter)?;
    if let Some(r) = db_replays::running(&state.db, project_id).await? {
        return Err(busy(&r));
    }
    let max = db_replays::max_seq(&state.db).await?;
    let total = db_replays::count(
        &state.db,
        project_id,
        scope.tenant.as_deref(),
        &filter,
        &Range { after: 0, max },
    )
    .await?;
    if total > MAX_REPLAY {
        return Err(AppError::Invalid(format!(
            "{total} deliveries: a replay queues at most {MAX_REPLAY}; narrow it"
        )));
    }
    let id = format!("rpl_{}", uuid::Uuid::now_v7().simple());
    let who = actor.email.unwrap_or("Signpost");
    let stored = db_replays::insert(
        &state.db,
        NewReplay {
            id: &id,
            project_id,
            tenant: scope.tenant.as_deref(),
            filter: &serde_json::to_string(&filter).expect("serializable"),
            max_seq: max,
            total,
            created_by: who,
        },
    )
    .await?;
    if !stored {
        let r = db_replays::running(&state.db, project_id).await?;
        return Err(r.map_or_else(
            || AppError::Conflict("A replay is running".into()),
            |r| busy(&r),
        ));
    }
    activity::record(
        &state.db,
        Some(project_id),
        actor,
        "deliveries.replayed",
        &id,
        &describe(&filter, total),
    )
    .await?;
    state.replays.notify_one();
    let r = db_replays::get(&state.db, project_id, &id)
        .await?
        .ok_or(AppError::Internal)?;
    Ok(info(&r))
}

fn busy(r: &ReplayRow) -> AppError {
    AppError::Conflict(format!(
        "A replay is running ({}: {} of {} queued); start another when it is done",
        r.id, r.queued, r.total
    ))
}

/// The activity log's line.
fn describe(f: &ReplayFilter, total: i64) -> String {
    let statuses: Vec<&str> = f.statuses.iter().map(|s| s.as_str()).collect();
    let mut s = format!(
        "{total} {} deliveries since {}",
        statuses.join("/"),
        crate::components::time::utc_text(f.since)
    );
    if let Some(until) = f.until {
        s.push_str(&format!(
            " until {}",
            crate::components::time::utc_text(until)
        ));
    }
    if !f.event_types.is_empty() {
        s.push_str(&format!(", events {}", f.event_types.join(", ")));
    }
    if !f.webhook_ids.is_empty() {
        s.push_str(&format!(", {} webhooks", f.webhook_ids.len()));
    }
    s
}

/// A replay of the scope.
pub async fn get(state: &AppState, scope: &Scope, id: &str) -> Result<ReplayInfo, AppError> {
    let r = db_replays::get(&state.db, &scope.project_id, id)
        .await?
        .filter(|r| scope.tenant.is_none() || r.tenant == scope.tenant)
        .ok_or(AppError::NotFound)?;
    Ok(info(&r))
}

/// This process's replay loop.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match run_one(&state).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::warn!("replay: {e}"),
            }
            let _ = tokio::time::timeout(LOOK_EVERY, state.replays.notified()).await;
        }
    })
}

/// Takes a replay and queues it to the end (or until it is lost to another
/// worker); `false` when there was none to take.
async fn run_one(state: &AppState) -> anyhow::Result<bool> {
    let worker = state.delivery.worker_id.get();
    let Some(r) = db_replays::claim(&state.db, &worker).await? else {
        return Ok(false);
    };
    let filter: ReplayFilter = serde_json::from_str(&r.filter)?;
    let in_flight = state.config.delivery.replay_in_flight as i64;
    let mut cursor = r.cursor;
    if cursor > 0 {
        // Resumed: a chunk queued just before the last owner stopped may
        // not be counted; what is still to pick tells what was queued.
        let left = db_replays::count(
            &state.db,
            &r.project_id,
            r.tenant.as_deref(),
            &filter,
            &Range {
                after: 0,
                max: r.max_seq,
            },
        )
        .await?;
        db_replays::set_queued(&state.db, &r.id, &worker, (r.total - left).max(0)).await?;
    }
    loop {
        // Paced: the replay's deliveries go out with the live ones.
        let pending = db_replays::pending_repeats(&state.db, &r.project_id).await?;
        if pending >= in_flight {
            tokio::time::sleep(Duration::from_millis(200)).await;
            // Still ours? (A worker that lost its lease lost the replay.)
            if db_replays::claim(&state.db, &worker)
                .await?
                .is_none_or(|c| c.id != r.id)
            {
                return Ok(true);
            }
            continue;
        }
        let room = (in_flight - pending).clamp(1, CHUNK);
        let range = Range {
            after: cursor,
            max: r.max_seq,
        };
        let picks = db_replays::picks(
            &state.db,
            &r.project_id,
            r.tenant.as_deref(),
            &filter,
            &range,
            room,
        )
        .await?;
        let Some(last) = picks.last().map(|p| p.seq) else {
            db_replays::finish(&state.db, &r.id, &worker).await?;
            tracing::info!(replay = r.id, project = r.project_id, "replay done");
            return Ok(true);
        };
        let n = picks.len() as i64;
        match ingest::repeat(
            &state.delivery,
            &r.project_id,
            picks,
            DeliveryOrigin::Replay,
        )
        .await
        {
            Ok(_) => {}
            // The writer is behind: try the chunk again shortly.
            Err(e) => {
                tracing::debug!(replay = r.id, "replay chunk deferred: {e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        }
        cursor = last;
        if !db_replays::advance(&state.db, &r.id, &worker, cursor, n).await? {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter() -> ReplayFilter {
        ReplayFilter {
            since: 1,
            until: None,
            statuses: Vec::new(),
            event_types: Vec::new(),
            webhook_ids: Vec::new(),
        }
    }

    #[test]
    fn a_filter_defaults_to_failed_and_dropped_and_refuses_pending() {
        let mut f = filter();
        check(&mut f).unwrap();
        assert_eq!(
            f.statuses,
            [DeliveryStatus::Dropped, DeliveryStatus::Failed]
        );
        let mut f = ReplayFilter {
            statuses: vec![DeliveryStatus::Pending],
            ..filter()
        };
        assert!(check(&mut f).is_err());
        let mut f = ReplayFilter {
            until: Some(1),
            ..filter()
        };
        assert!(check(&mut f).is_err());
        let mut f = ReplayFilter {
            since: super::super::db::now_ms() + 60_000,
            ..filter()
        };
        assert!(check(&mut f).is_err());
        let mut f = ReplayFilter {
            event_types: vec!["has space".into()],
            ..filter()
        };
        assert!(check(&mut f).is_err());
    }
}
