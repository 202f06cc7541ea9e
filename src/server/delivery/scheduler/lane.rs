//! One webhook's deliveries as far as this worker holds them: its window
//! (the next pending deliveries, in `seq` order), what of it is in flight,
//! and where the window stands against the database. Pure: no tasks, no
//! reads; the scheduler does those.

use super::super::budget::Budget;
use super::super::messages::{EventData, Queued};
use super::Limits;
use crate::server::db::deliveries::WindowRow;
use std::collections::BTreeMap;
use std::sync::Arc;

pub(super) struct Entry {
    pub q: Queued,
    pub running: bool,
    /// Cancelled while its attempt ran: gone when the attempt ends.
    pub cancelled: bool,
}

impl Entry {
    pub fn new(q: Queued) -> Entry {
        Entry {
            q,
            running: false,
            cancelled: false,
        }
    }
}

pub(super) struct Lane {
    /// Tells this lane from one that held the same webhook before it (the
    /// worker's lease ran out in between): an attempt started for the old
    /// one does not count against this one.
    pub id: u64,
    pub unordered: bool,
    pub window: BTreeMap<i64, Entry>,
    pub in_flight: usize,
    /// Every pending delivery of this lane up to this `seq` is in the
    /// window (or finished here and on its way to the writer).
    pub cursor: i64,
    /// The newest `seq` this lane is known to have.
    pub tail: i64,
    /// The database may hold deliveries after `tail` (the lane was just
    /// claimed or taken): the next refill finds out.
    pub tail_unknown: bool,
    /// Bumped when the window is cut back, so that a refill read before
    /// the cut is not taken for one that follows it.
    pub generation: u64,
    pub refilling: bool,
    /// The earliest timer set for this lane, if one is pending.
    pub armed: Option<i64>,
    /// Cancelled while a refill was being read: not to be taken from it.
    pub cancelled_while_reading: Vec<i64>,
    /// Touched since the last `Idle` ask.
    pub active: bool,
}

/// What [`Lane::pick`] chose to start.
#[derive(Debug, Default)]
pub(super) struct Picked {
    pub start: Vec<Queued>,
    /// How many of them read their event from the database.
    pub reads: usize,
    /// The earliest due time of an entry that waits for it.
    pub wait_until: Option<i64>,
    /// Something could start but for a global slot or room for a body.
    pub blocked: bool,
}

impl Lane {
    pub fn new(id: u64) -> Lane {
        Lane {
            id,
            unordered: false,
            window: BTreeMap::new(),
            in_flight: 0,
            cursor: 0,
            tail: 0,
            tail_unknown: true,
            generation: 0,
            refilling: false,
            armed: None,
            cancelled_while_reading: Vec::new(),
            active: true,
        }
    }

    /// Something happened to the lane: it is not idle.
    pub fn touch(&mut self) {
        self.active = true;
    }

    /// Nothing held, in flight, being read, or left in the database.
    pub fn idle(&self) -> bool {
        self.window.is_empty() && self.in_flight == 0 && !self.refilling && self.complete()
    }

    /// Nothing of this lane is left in the database that is not in the window.
    pub fn complete(&self) -> bool {
        !self.tail_unknown && self.cursor >= self.tail
    }

    /// Attempts in flight at once.
    pub fn limit(&self, limits: &Limits) -> usize {
        if self.unordered {
            limits.unordered_concurrency
        } else {
            1
        }
    }

    /// Entries the window holds at most.
    pub fn capacity(&self, limits: &Limits) -> usize {
        self.limit(limits) + limits.lane_window
    }

    /// An ordered lane whose oldest delivery is being retried holds that
    /// one alone: nothing after it may go first anyway.
    pub fn head_retrying(&self) -> bool {
        !self.unordered
            && self
                .window
                .values()
                .next()
                .is_some_and(|e| e.q.attempts > 0)
    }

    /// Marks what may start now as running and returns it: the oldest
    /// pending delivery of an ordered lane, or as many due ones as the
    /// lane's limit allows of an unordered one. `slots` is what is left
    /// under the global cap; `may_read(k)` says whether a `k + 1`th event
    /// read from the database fits under the byte ceiling.
    pub fn pick(
        &mut self,
        now: i64,
        limits: &Limits,
        slots: usize,
        may_read: impl Fn(usize) -> bool,
    ) -> Picked {
        let limit = self.limit(limits);
        let mut p = Picked::default();
        for e in self.window.values_mut() {
            if self.in_flight + p.start.len() >= limit {
                break;
            }
            if e.running {
                continue;
            }
            if e.q.next_at > now {
                p.wait_until = Some(p.wait_until.map_or(e.q.next_at, |t| t.min(e.q.next_at)));
                if self.unordered {
                    continue;
                }
                break; // ordered: nothing after it may go first
            }
            // An attempt whose body is not in memory reads it: room for it
            // under the byte ceiling first (or it goes alone).
            let reads = e.q.event.is_none();
            if p.start.len() >= slots || (reads && !may_read(p.reads)) {
                p.blocked = true;
                break;
            }
            e.running = true;
            p.reads += usize::from(reads);
            p.start.push(e.q.clone());
            if !self.unordered {
                break;
            }
        }
        self.in_flight += p.start.len();
        p
    }

    /// How many rows a refill should read, if the window runs low and the
    /// database holds more.
    pub fn wants_refill(&self, limits: &Limits) -> Option<usize> {
        if self.refilling || self.complete() || self.head_retrying() {
            return None;
        }
        let capacity = self.capacity(limits);
        let len = self.window.len();
        (len * 2 <= capacity).then(|| capacity - len)
    }

    /// Takes a refill's rows (read after the cursor as it was when it was
    /// asked for `asked` rows, when the lane's newest `seq` was
    /// `tail_at_issue`) into the window; returns how many it took.
    pub fn refilled(
        &mut self,
        webhook: &Arc<str>,
        rows: Vec<WindowRow>,
        asked: usize,
        tail_at_issue: i64,
        budget: &Arc<Budget>,
    ) -> usize {
        let cancelled = std::mem::take(&mut self.cancelled_while_reading);
        let short = rows.len() < asked;
        let mut last = self.cursor;
        let mut taken = 0;
        for row in rows {
            if row.seq <= self.cursor || cancelled.contains(&row.seq) {
                continue;
            }
            self.unordered = row.ordering == "unordered";
            let event = row.body.map(|body| {
                Arc::new(EventData {
                    name: row.event,
                    body: budget.body(body.into()),
                })
            });
            let q = Queued {
                seq: row.seq,
                id: row.id,
                webhook_id: webhook.clone(),
                event_id: row.event_id.into(),
                event,
                attempts: row.attempts as u32,
                next_at: row.next_at,
                created_at: row.created_at,
                unordered: self.unordered,
            };
            self.window.insert(row.seq, Entry::new(q));
            taken += 1;
            self.cursor = row.seq;
            last = row.seq;
        }
        self.tail = self.tail.max(last);
        if short {
            // Nothing else was pending when it was read: what the lane was
            // known to have by then was finished or cancelled. Newer
            // deliveries come from the writer.
            self.tail_unknown = false;
            self.cursor = self.cursor.max(tail_at_issue);
        }
        taken
    }

    /// An ordered lane whose head waits for a retry keeps only the head:
    /// the deliveries read ahead of it go back to the database (they were
    /// never attempted) and are read again when the head is done. Returns
    /// how many left the window.
    pub fn cut_back(&mut self, head: i64) -> usize {
        let is_head = self.window.keys().next() == Some(&head);
        if self.unordered || !is_head || self.window.values().skip(1).any(|e| e.running) {
            return 0;
        }
        let later = self.window.split_off(&(head + 1));
        if !later.is_empty() {
            self.cursor = head;
            self.generation += 1;
        }
        later.len()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::time::Duration;

    pub fn limits() -> Limits {
        Limits {
            max_in_flight: 100,
            unordered_concurrency: 3,
            lane_window: 4,
            max_event_bytes: 1000,
            shutdown_grace: Duration::ZERO,
        }
    }

    pub fn queued(seq: i64, attempts: u32) -> Queued {
        Queued {
            seq,
            id: format!("dlv_{seq}"),
            webhook_id: "wh".into(),
            event_id: "evt".into(),
            event: None,
            attempts,
            next_at: 0,
            created_at: 0,
            unordered: false,
        }
    }

    fn entry(seq: i64, attempts: u32, running: bool) -> Entry {
        Entry {
            running,
            ..Entry::new(queued(seq, attempts))
        }
    }

    pub fn row(seq: i64) -> WindowRow {
        WindowRow {
            seq,
            id: format!("dlv_{seq}"),
            event_id: "evt".into(),
            event: "e".into(),
            attempts: 0,
            next_at: 0,
            created_at: 0,
            body: Some(b"{}".to_vec()),
            ordering: "ordered".into(),
        }
    }

    fn seqs(lane: &Lane) -> Vec<i64> {
        lane.window.keys().copied().collect()
    }

    #[test]
    fn an_ordered_lane_retrying_its_head_keeps_the_head_alone() {
        let mut lane = Lane::new(1);
        lane.tail_unknown = false;
        for seq in [3, 5, 8] {
            lane.window
                .insert(seq, entry(seq, u32::from(seq == 3), false));
        }
        lane.cursor = 8;
        lane.tail = 9;
        assert!(lane.head_retrying());
        assert_eq!(lane.cut_back(3), 2);
        assert_eq!(seqs(&lane), vec![3]);
        // What was cut goes back to the database: the lane reads from the head on.
        assert_eq!((lane.cursor, lane.generation), (3, 1));
        assert!(!lane.complete());
        // Nothing is cut from an unordered lane, or past a running attempt.
        let mut other = Lane::new(1);
        other.unordered = true;
        other.window.insert(1, entry(1, 1, false));
        other.window.insert(2, entry(2, 0, false));
        assert_eq!(other.cut_back(1), 0);
        other.unordered = false;
        other.window.insert(3, entry(3, 0, true));
        assert_eq!(other.cut_back(1), 0);
    }

    #[test]
    fn a_lane_is_complete_once_its_window_reaches_its_tail() {
        let mut lane = Lane::new(1);
        assert!(!lane.complete(), "a new lane reads the database first");
        lane.tail_unknown = false;
        lane.tail = 10;
        lane.cursor = 9;
        assert!(!lane.complete());
        lane.cursor = 10;
        assert!(lane.complete());
    }

    #[test]
    fn a_refill_fills_the_window_and_a_short_one_completes_the_lane() {
        let budget = Budget::new(100, 1 << 20);
        let limits = limits();
        let wh: Arc<str> = "wh".into();
        let mut lane = Lane::new(1);
        // A new lane reads up to its capacity (1 in flight + 4 ahead).
        assert_eq!(lane.wants_refill(&limits), Some(5));
        lane.refilling = true;
        assert_eq!(lane.wants_refill(&limits), None, "one read at a time");
        lane.refilling = false;
        let taken = lane.refilled(&wh, (1..=5).map(row).collect(), 5, 0, &budget);
        assert_eq!((taken, lane.cursor, lane.tail), (5, 5, 5));
        assert!(!lane.complete(), "a full read may have left more behind");
        assert_eq!(lane.wants_refill(&limits), None, "the window is full");
        // Drained below half: read again; a short read finds the end.
        lane.window.retain(|s, _| *s > 3);
        assert_eq!(lane.wants_refill(&limits), Some(3));
        lane.cancelled_while_reading.push(7);
        let taken = lane.refilled(&wh, vec![row(6), row(7)], 3, 9, &budget);
        assert_eq!(taken, 1, "one cancelled while it was read");
        assert_eq!(seqs(&lane), vec![4, 5, 6]);
        assert_eq!(lane.cursor, 9, "what the lane had by then is all read");
        assert!(lane.complete());
        assert_eq!(lane.wants_refill(&limits), None);
        // Rows at or before the cursor were taken already (from the writer).
        lane.tail = 11;
        let taken = lane.refilled(&wh, vec![row(9), row(10), row(11)], 3, 11, &budget);
        assert_eq!((taken, lane.cursor), (2, 11));
    }

    #[test]
    fn an_ordered_lane_starts_its_oldest_only_and_an_unordered_one_up_to_its_limit() {
        let limits = limits();
        let mut lane = Lane::new(1);
        for seq in 1..=5 {
            lane.window.insert(seq, Entry::new(queued(seq, 0)));
        }
        let p = lane.pick(0, &limits, 100, |_| true);
        assert_eq!(p.start.iter().map(|q| q.seq).collect::<Vec<_>>(), vec![1]);
        assert_eq!(p.reads, 1);
        assert!(lane.pick(0, &limits, 100, |_| true).start.is_empty());

        let mut lane = Lane::new(2);
        lane.unordered = true;
        for seq in 1..=5 {
            let mut q = queued(seq, 0);
            // The second waits for a retry: the others pass it.
            q.next_at = if seq == 2 { 50 } else { 0 };
            lane.window.insert(seq, Entry::new(q));
        }
        let p = lane.pick(10, &limits, 100, |_| true);
        assert_eq!(
            p.start.iter().map(|q| q.seq).collect::<Vec<_>>(),
            vec![1, 3, 4]
        );
        assert_eq!((p.wait_until, lane.in_flight), (Some(50), 3));
    }

    #[test]
    fn a_lane_without_a_global_slot_or_room_for_a_body_is_blocked() {
        let limits = limits();
        let mut lane = Lane::new(1);
        lane.unordered = true;
        for seq in 1..=3 {
            lane.window.insert(seq, Entry::new(queued(seq, 0)));
        }
        let p = lane.pick(0, &limits, 1, |_| true);
        assert_eq!((p.start.len(), p.blocked), (1, true));
        // Only one body read fits: the next one waits.
        let p = lane.pick(0, &limits, 10, |k| k == 0);
        assert_eq!((p.start.len(), p.blocked), (1, true));
    }

    #[test]
    fn an_ordered_lane_waits_for_its_head() {
        let limits = limits();
        let mut lane = Lane::new(1);
        let mut head = queued(1, 1);
        head.next_at = 100;
        lane.window.insert(1, Entry::new(head));
        lane.window.insert(2, Entry::new(queued(2, 0)));
        let p = lane.pick(10, &limits, 10, |_| true);
        assert!(p.start.is_empty());
        assert_eq!(p.wait_until, Some(100));
        assert!(lane.head_retrying());
        lane.tail_unknown = false;
        assert_eq!(
            lane.wants_refill(&limits),
            None,
            "no read past a retrying head"
        );
    }
}
