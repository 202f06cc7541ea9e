//! Reading a lane's next deliveries from the database when its window runs
//! low, within the ceilings on what is held in memory; lanes that find no
//! room wait their turn, first come first served.

use super::Scheduler;
use crate::server::db::{self, deliveries::WindowRow, now_ms};
use std::sync::Arc;
use tokio::task::{Id, JoinError};

/// A refill that failed (the database did not answer) is tried again after this.
const REFILL_RETRY_MS: i64 = 1_000;
/// A window's entry whose retry is due later than this is read without its
/// body (it is read again when due).
const BODY_AHEAD_MS: i64 = 1_000;

/// A window read from the database.
pub(super) struct Refill {
    webhook: Arc<str>,
    lane: u64,
    generation: u64,
    tail_at_issue: i64,
    asked: usize,
    reserved_bytes: usize,
    rows: sqlx::Result<Vec<WindowRow>>,
}

/// Whether a lane asked for a refill got one.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Asked {
    /// Read now, or nothing to read.
    Served,
    /// No room under the ceilings: the lane waits in line.
    NoRoom,
}

impl Scheduler {
    /// Reads the next deliveries of `webhook` from the database when its
    /// window is half empty and the database holds more, within the
    /// ceilings; otherwise the lane waits for room.
    pub(super) fn maybe_refill(&mut self, webhook: &Arc<str>) {
        if self.try_refill(webhook) == Asked::NoRoom {
            self.starved.push(webhook.clone());
        }
    }

    fn try_refill(&mut self, webhook: &Arc<str>) -> Asked {
        if self.draining || self.starved.contains(webhook) {
            return Asked::Served;
        }
        let Some(lane) = self.lanes.get_mut(webhook) else {
            return Asked::Served;
        };
        let Some(wanted) = lane.wants_refill(&self.limits) else {
            return Asked::Served;
        };
        let room = self.counts.rows_room(&self.budget);
        let per_row = self.limits.max_event_bytes.max(1);
        let bytes_in_use = self.counts.bytes_in_use(&self.budget);
        let bytes_room = self.budget.max_bytes.saturating_sub(bytes_in_use) / per_row;
        let mut n = wanted.min(room).min(bytes_room);
        if n == 0 && room > 0 && bytes_in_use < self.budget.max_bytes && self.refills.is_empty() {
            n = 1; // one row at a time, when nothing else is being read
        }
        if n == 0 {
            return Asked::NoRoom;
        }
        lane.refilling = true;
        let reserved_bytes = n * per_row;
        self.counts.reserve(n, reserved_bytes);
        let (db, w) = (self.db.clone(), webhook.clone());
        let (lane_id, after, generation, tail_at_issue) =
            (lane.id, lane.cursor, lane.generation, lane.tail);
        let task = self.refills.spawn(async move {
            let due_by = now_ms() + BODY_AHEAD_MS;
            let rows = db::deliveries::window(&db, &w, after, n as i64, due_by).await;
            Refill {
                webhook: w,
                lane: lane_id,
                generation,
                tail_at_issue,
                asked: n,
                reserved_bytes,
                rows,
            }
        });
        self.refilling
            .insert(task.id(), (webhook.clone(), lane_id, n, reserved_bytes));
        Asked::Served
    }

    pub(super) fn refill_joined(&mut self, joined: Result<(Id, Refill), JoinError>) {
        match joined {
            Ok((id, refill)) => {
                self.refilling.remove(&id);
                self.refilled(refill);
            }
            Err(e) => {
                // Aborted at shutdown, or a panic: the lane may read again.
                let Some((w, lane_id, asked, bytes)) = self.refilling.remove(&e.id()) else {
                    return;
                };
                self.counts.unreserve(asked, bytes);
                if let Some(lane) = self.lanes.get_mut(&w).filter(|l| l.id == lane_id) {
                    lane.refilling = false;
                    lane.cancelled_while_reading.clear();
                }
                if !self.draining {
                    tracing::error!(webhook = %w, "reading a lane's window failed: {e}");
                    self.arm(&w, now_ms() + REFILL_RETRY_MS);
                }
            }
        }
    }

    fn refilled(&mut self, r: Refill) {
        self.counts.unreserve(r.asked, r.reserved_bytes);
        let webhook = r.webhook.clone();
        // Read for a lane this worker has forgotten since (its lease ran out).
        let Some(lane) = self.lanes.get_mut(&webhook).filter(|l| l.id == r.lane) else {
            return;
        };
        lane.refilling = false;
        match r.rows {
            Err(e) => {
                lane.cancelled_while_reading.clear();
                tracing::warn!(webhook = %webhook, "reading the next deliveries: {e}");
                self.arm(&webhook, now_ms() + REFILL_RETRY_MS);
                return;
            }
            // The window was cut back while this was read: read again.
            Ok(_) if r.generation != lane.generation => lane.cancelled_while_reading.clear(),
            Ok(rows) => {
                let taken = lane.refilled(&webhook, rows, r.asked, r.tail_at_issue, &self.budget);
                self.counts.hold(taken);
            }
        }
        self.pump(&webhook);
        self.serve_starved();
    }

    /// Lanes that waited for room refill now, oldest first, while there is room.
    pub(super) fn serve_starved(&mut self) {
        for _ in 0..self.starved.len() {
            let Some(w) = self.starved.pop() else {
                break;
            };
            if self.try_refill(&w) == Asked::NoRoom {
                // No room yet: it stays first in line.
                self.starved.push_front(w);
                break;
            }
        }
    }
}
