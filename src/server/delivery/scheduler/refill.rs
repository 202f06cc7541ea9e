//! Reading a lane's next deliveries from the database when its window runs
//! low (past the cursor, or a parked key's: see [`super::lane`]), within
//! the ceilings on what is held in memory; lanes that find no room wait
//! their turn, first come first served.

use super::lane::{KeysRead, Want};
use super::Scheduler;
use crate::server::db::{self, deliveries::WindowRow, now_ms};
use std::sync::Arc;
use tokio::task::{Id, JoinError};

/// A read that failed (the database did not answer) is tried again after this.
const REFILL_RETRY_MS: i64 = 1_000;
/// A window's entry whose retry is due later than this is read without its
/// body (it is read again when due).
const BODY_AHEAD_MS: i64 = 1_000;

/// What a read was asked for.
pub(super) enum Asked {
    /// Past the cursor (`n` rows), when the lane's newest `seq` was `tail`.
    General { n: usize, tail: i64 },
    /// Parked keys.
    Keys(KeysRead),
}

/// Rows read from the database for a lane (which is in [`Reading`]).
pub(super) struct Refill {
    asked: Asked,
    rows: sqlx::Result<Vec<WindowRow>>,
}

/// A read under way: its lane, and the rows and bytes it reserved.
pub(super) struct Reading {
    webhook: Arc<str>,
    lane: u64,
    rows: usize,
    bytes: usize,
}

/// Whether a lane that may want a read got one.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Served {
    /// Read now, or nothing to read.
    Yes,
    /// No room under the ceilings: the lane waits in line.
    NoRoom,
}

impl Scheduler {
    /// Reads what `webhook`'s window needs next from the database, within
    /// the ceilings; otherwise the lane waits for room.
    pub(super) fn maybe_refill(&mut self, webhook: &Arc<str>) {
        if self.try_refill(webhook) == Served::NoRoom {
            self.starved.push(webhook.clone());
        }
    }

    fn try_refill(&mut self, webhook: &Arc<str>) -> Served {
        if self.draining || self.starved.contains(webhook) {
            return Served::Yes;
        }
        let Some(lane) = self.lanes.get_mut(webhook) else {
            return Served::Yes;
        };
        let Some(want) = lane.wants_read(&self.limits) else {
            return Served::Yes;
        };
        let room = self.counts.rows_room(&self.budget);
        let per_row = self.limits.max_event_bytes.max(1);
        let bytes_in_use = self.counts.bytes_in_use(&self.budget);
        let bytes_room = self.budget.max_bytes.saturating_sub(bytes_in_use) / per_row;
        let mut fits = room.min(bytes_room);
        if fits == 0 && room > 0 && bytes_in_use < self.budget.max_bytes && self.refills.is_empty()
        {
            fits = 1; // one row at a time, when nothing else is being read
        }
        if fits == 0 {
            return Served::NoRoom;
        }
        let due_by = now_ms() + BODY_AHEAD_MS;
        let (db, w) = (self.db.clone(), webhook.clone());
        let (rows, task) = match want {
            Want::General { n, skip } => {
                let n = n.min(fits);
                let (after, tail) = (lane.cursor, lane.tail);
                let task = self.refills.spawn(async move {
                    let skip: Vec<&str> = skip.iter().map(|k| &**k).collect();
                    let rows =
                        db::deliveries::window(&db, &w, after, n as i64, due_by, &skip).await;
                    Refill {
                        asked: Asked::General { n, tail },
                        rows,
                    }
                });
                (n, task)
            }
            Want::Keys { mut keys, per_key } => {
                let per_key = per_key.min(fits);
                keys.truncate((fits / per_key).max(1));
                let upto = lane.cursor;
                let rows = keys.len() * per_key;
                let task = self.refills.spawn(async move {
                    let pairs: Vec<(&str, i64)> = keys.iter().map(|(k, s)| (&**k, *s)).collect();
                    let rows =
                        db::deliveries::keys_window(&db, &w, &pairs, upto, per_key as i64, due_by)
                            .await;
                    Refill {
                        asked: Asked::Keys(KeysRead {
                            keys,
                            per_key,
                            upto,
                        }),
                        rows,
                    }
                });
                (rows, task)
            }
        };
        lane.reading = true;
        let bytes = rows * per_row;
        self.counts.reserve(rows, bytes);
        self.refilling.insert(
            task.id(),
            Reading {
                webhook: webhook.clone(),
                lane: lane.id,
                rows,
                bytes,
            },
        );
        Served::Yes
    }

    pub(super) fn refill_joined(&mut self, joined: Result<(Id, Refill), JoinError>) {
        let id = match &joined {
            Ok((id, _)) => *id,
            Err(e) => e.id(),
        };
        let Some(reading) = self.refilling.remove(&id) else {
            return;
        };
        self.counts.unreserve(reading.rows, reading.bytes);
        let w = reading.webhook;
        // Read for a lane this worker has forgotten since (its lease ran out).
        let Some(lane) = self.lanes.get_mut(&w).filter(|l| l.id == reading.lane) else {
            return;
        };
        lane.reading = false;
        let refill = match joined {
            Ok((_, refill)) => refill,
            Err(e) => {
                // Aborted at shutdown, or a panic: the lane may read again.
                lane.cancelled_while_reading.clear();
                if !self.draining {
                    tracing::error!(webhook = %w, "reading a lane's window failed: {e}");
                    self.arm(&w, now_ms() + REFILL_RETRY_MS);
                }
                return;
            }
        };
        let rows = match refill.rows {
            Ok(rows) => rows,
            Err(e) => {
                lane.cancelled_while_reading.clear();
                tracing::warn!(webhook = %w, "reading the next deliveries: {e}");
                self.arm(&w, now_ms() + REFILL_RETRY_MS);
                return;
            }
        };
        let taken = match refill.asked {
            Asked::General { n, tail } => {
                lane.general_read(&w, rows, n, tail, &self.limits, &self.budget)
            }
            Asked::Keys(read) => lane.keys_read(&w, rows, &read, &self.limits, &self.budget),
        };
        self.counts.hold(taken);
        self.pump(&w);
        self.serve_starved();
    }

    /// Lanes that waited for room read now, oldest first, while there is room.
    pub(super) fn serve_starved(&mut self) {
        for _ in 0..self.starved.len() {
            let Some(w) = self.starved.pop() else {
                break;
            };
            if self.try_refill(&w) == Served::NoRoom {
                // No room yet: it stays first in line.
                self.starved.push_front(w);
                break;
            }
        }
    }
}
