//! The System page's view: every live worker on the database (from what
//! each notes with its lease; this process's own figures are read live),
//! the queue per project, and this process's last writer commits.

use super::db::{self, now_ms};
use super::state::AppState;
use crate::model::{AppError, CommitView, ProjectQueueView, SystemView, WorkerView};

pub async fn view(state: &AppState) -> Result<SystemView, AppError> {
    let now = now_ms();
    let me = state.delivery.worker_id.get();
    let held = state.delivery.held();
    let workers = db::workers::live(&state.db)
        .await?
        .into_iter()
        .map(|w| {
            let mut view = WorkerView {
                this_process: *w.id == *me,
                in_flight: w.in_flight,
                max_in_flight: w.max_in_flight,
                held_deliveries: w.held_deliveries,
                max_held_deliveries: None,
                held_bytes: w.held_bytes,
                max_held_bytes: None,
                version: w.version,
                id: w.id,
                started_at: w.started_at,
                lease_until: w.lease_until,
                lanes: w.lanes,
            };
            // This process's own figures, live, and its ceilings.
            if view.this_process {
                view.in_flight = held.in_flight as i64;
                view.max_in_flight = state.config.delivery.max_in_flight as i64;
                view.held_deliveries = held.deliveries as i64;
                view.max_held_deliveries = Some(held.max_deliveries as i64);
                view.held_bytes = held.bytes as i64;
                view.max_held_bytes = Some(held.max_bytes as i64);
                view.version = env!("CARGO_PKG_VERSION").to_string();
            }
            view
        })
        .collect();
    let queue = db::queue::by_project(&state.db, now)
        .await?
        .into_iter()
        .map(|q| ProjectQueueView {
            project_id: q.project_id,
            project: q.project,
            due: q.due,
            retrying: q.retrying,
            oldest_due_ms: q.oldest_due_at.map(|at| (now - at).max(0)),
        })
        .collect();
    let commits = state
        .metrics
        .recent_commits()
        .into_iter()
        .rev()
        .map(|c| CommitView {
            at: c.at,
            micros: c.micros,
            items: c.items,
        })
        .collect();
    Ok(SystemView {
        version: env!("CARGO_PKG_VERSION").to_string(),
        now,
        workers,
        queue,
        commits,
    })
}
