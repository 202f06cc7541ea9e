//! Lanes coming and going: deliveries committed by this process's writer
//! (which may take a lane no one owned), claims, tails stored by other
//! processes, idle lanes released, and a lapse of the lease.

use super::Scheduler;
use crate::server::delivery::messages::{LaneNote, Queued};
use std::collections::HashSet;
use std::sync::Arc;

impl Scheduler {
    pub(super) fn committed(&mut self, lanes: Vec<LaneNote>, deliveries: Vec<Queued>) {
        let mut touched: HashSet<Arc<str>> = HashSet::new();
        for note in lanes {
            if !note.mine {
                // Another worker's lane. Held here only if this worker lost
                // track (a release whose answer was lost): the database is
                // right, so it is let go of; attempts under way finish.
                if let Some(lane) = self.lanes.remove(&note.webhook_id) {
                    tracing::warn!(webhook = %note.webhook_id,
                        "a lane held here belongs to another worker: letting it go");
                    self.counts.let_go(lane.len());
                }
                continue;
            }
            if !self.lanes.contains_key(&note.webhook_id) {
                // Taken from no one (or this worker's but not held): what
                // the database holds for it is read first.
                let lane = self.new_lane();
                self.lanes.insert(note.webhook_id.clone(), lane);
            }
            let lane = self.lanes.get_mut(&note.webhook_id).expect("just made");
            // Deliveries older than these, stored by another process, come
            // first: the lane is not complete until it has read them.
            lane.tail = lane.tail.max(note.before);
            if note.taken {
                lane.tail_unknown = true;
            }
            touched.insert(note.webhook_id);
        }
        for q in deliveries {
            let room = self.counts.room_for_one(&self.budget);
            // Another worker's lane: it reads the delivery from the database.
            let Some(lane) = self.lanes.get_mut(&q.webhook_id) else {
                continue;
            };
            // Else it stays in the database until the window reaches it.
            if lane.committed(q, room, &self.limits) {
                self.counts.hold(1);
            }
        }
        for webhook in touched {
            self.pump(&webhook);
        }
    }

    /// The lease ran out: forget every lane (attempts under way finish,
    /// their records are kept only where this worker still owns the lane).
    pub(super) fn lapsed(&mut self) {
        for lane in self.lanes.values() {
            self.counts.let_go(lane.len());
        }
        self.lanes.clear();
        self.blocked.clear();
        self.starved.clear();
        self.timers.clear();
    }

    /// The lanes idle since the last ask, each with its newest `seq`;
    /// every lane's activity starts afresh.
    pub(super) fn idle(&mut self) -> Vec<(Arc<str>, i64)> {
        if self.draining {
            return Vec::new();
        }
        let mut idle = Vec::new();
        for (webhook, lane) in &mut self.lanes {
            if !lane.active && lane.idle() {
                idle.push((webhook.clone(), lane.tail));
            }
            lane.active = false;
        }
        idle
    }

    /// Forgets the lanes the writer released, whatever happened to them
    /// since they were offered (the database says they are free). Each is
    /// still idle: anything stored in it before the release moved its
    /// newest `seq` (so it was not released), and a commit after it comes
    /// after this message.
    pub(super) fn released(&mut self, lanes: Vec<Arc<str>>) {
        for webhook in lanes {
            if let Some(lane) = self.lanes.remove(&webhook) {
                if !lane.idle() {
                    tracing::warn!(webhook = %webhook, "a released lane was not idle");
                }
                self.counts.let_go(lane.len());
            }
        }
    }

    pub(super) fn claimed(&mut self, lanes: Vec<Arc<str>>) {
        for webhook in lanes {
            // Claimed again while held (this worker's own lease ran out and
            // it took the lane back): look for more all the same.
            if !self.lanes.contains_key(&webhook) {
                let lane = self.new_lane();
                self.lanes.insert(webhook.clone(), lane);
            }
            self.lanes
                .get_mut(&webhook)
                .expect("just made")
                .tail_unknown = true;
            self.pump(&webhook);
        }
    }

    pub(super) fn tails(&mut self, tails: Vec<(Arc<str>, i64)>) {
        for (webhook, seq) in tails {
            if let Some(lane) = self.lanes.get_mut(&webhook) {
                if seq > lane.tail {
                    lane.tail = seq;
                    self.pump(&webhook);
                }
            }
        }
    }
}
