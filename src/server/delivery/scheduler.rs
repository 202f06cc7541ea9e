//! What to attempt now. The queue is the `deliveries` table; this task
//! holds, for each lane (webhook) this worker owns, a small window of its
//! next pending deliveries in `seq` (event) order, and reads more from the
//! database as the window drains:
//! - an `ordered` webhook has at most one attempt in flight, always its
//!   oldest pending delivery; while that one waits for a retry, the window
//!   holds it alone (docs/delivery.md);
//! - an `unordered` webhook has up to `unordered_concurrency` in flight;
//! - a window holds what may be in flight plus `lane_window` read ahead;
//!   all windows together at most `max_held_deliveries`, and event bodies
//!   at most `max_held_bytes` (see [`Budget`]): a lane that cannot refill
//!   for lack of room waits its turn, first come first served;
//! - across webhooks, up to `max_in_flight` attempts run at once, and a slow
//!   webhook only ever occupies its own slots.
//!
//! New deliveries come from the writer in memory, bodies included, while a
//! window has room and nothing older of its lane is left in the database
//! (the hot path reads nothing); otherwise they stay in the database until
//! the window reaches them. Retry waits are timers here for what is in a
//! window; the rest are due times in the database.

use super::attempt::{self, Attempts};
use super::budget::Budget;
use super::lease::Validity;
use super::messages::{Done, EventData, LaneNote, Queued, ToScheduler};
use super::policy::Next;
use crate::server::db::{self, deliveries::WindowRow, now_ms, Db};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{Id, JoinError, JoinSet};
use tokio::time::Instant;

/// A refill that failed (the database did not answer) is tried again after this.
const REFILL_RETRY_MS: i64 = 1_000;
/// A window's entry whose retry is due later than this is read without its
/// body (it is read again when due).
const BODY_AHEAD_MS: i64 = 1_000;
/// While lanes wait for room, look again this often (room also comes back
/// when attempts end, which is looked at every time).
const STARVED_TICK: Duration = Duration::from_millis(100);

/// The scheduler's knobs, from the configuration.
pub(crate) struct Limits {
    pub max_in_flight: usize,
    pub unordered_concurrency: usize,
    pub lane_window: usize,
    /// The largest event: what a refill must leave room for, per row.
    pub max_event_bytes: usize,
    pub shutdown_grace: Duration,
}

struct Entry {
    q: Queued,
    running: bool,
    /// Cancelled while its attempt ran: gone when the attempt ends.
    cancelled: bool,
}

/// One webhook's deliveries, as far as this worker holds them.
struct Lane {
    /// Tells this lane from one that held the same webhook before it (the
    /// worker's lease ran out in between): an attempt started for the old
    /// one does not count against this one.
    id: u64,
    unordered: bool,
    window: BTreeMap<i64, Entry>,
    in_flight: usize,
    /// Every pending delivery of this lane up to this `seq` is in the
    /// window (or finished here and on its way to the writer).
    cursor: i64,
    /// The newest `seq` this lane is known to have.
    tail: i64,
    /// The database may hold deliveries after `tail` (the lane was just
    /// claimed or taken): the next refill finds out.
    tail_unknown: bool,
    /// Bumped when the window is cut back, so that a refill read before
    /// the cut is not taken for one that follows it.
    generation: u64,
    refilling: bool,
    /// Waiting in `blocked` for a global slot.
    blocked: bool,
    /// Waiting in `starved` for room to refill.
    starved: bool,
    /// The earliest timer set for this lane, if one is pending.
    armed: Option<i64>,
    /// Cancelled while a refill was being read: not to be taken from it.
    cancelled_while_reading: Vec<i64>,
    /// Touched since the last [`ToScheduler::Idle`] ask.
    active: bool,
}

impl Lane {
    fn new(id: u64) -> Lane {
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
            blocked: false,
            starved: false,
            armed: None,
            cancelled_while_reading: Vec::new(),
            active: true,
        }
    }

    /// Something happened to the lane: it is not idle.
    fn touch(&mut self) {
        self.active = true;
    }

    /// Nothing held, in flight, being read, or left in the database.
    fn idle(&self) -> bool {
        self.window.is_empty() && self.in_flight == 0 && !self.refilling && self.complete()
    }

    /// Nothing of this lane is left in the database that is not in the window.
    fn complete(&self) -> bool {
        !self.tail_unknown && self.cursor >= self.tail
    }

    fn limit(&self, limits: &Limits) -> usize {
        if self.unordered {
            limits.unordered_concurrency
        } else {
            1
        }
    }

    fn capacity(&self, limits: &Limits) -> usize {
        self.limit(limits) + limits.lane_window
    }

    /// An ordered lane whose oldest delivery is being retried holds that
    /// one alone: nothing after it may go first anyway.
    fn head_retrying(&self) -> bool {
        !self.unordered
            && self
                .window
                .values()
                .next()
                .is_some_and(|e| e.q.attempts > 0)
    }
}

/// A window read from the database.
struct Refill {
    webhook: Arc<str>,
    lane: u64,
    generation: u64,
    tail_at_issue: i64,
    asked: usize,
    reserved_bytes: usize,
    rows: sqlx::Result<Vec<WindowRow>>,
}

pub(crate) struct Scheduler {
    /// Until when attempts may start ([`Validity`]).
    validity: Arc<Validity>,
    limits: Limits,
    attempt: Arc<Attempts>,
    db: Db,
    budget: Arc<Budget>,
    lanes: HashMap<Arc<str>, Lane>,
    /// (due, webhook): when a lane's next retry (or refill retry) is due.
    timers: BinaryHeap<Reverse<(i64, Arc<str>)>>,
    /// Lanes with due work but no global slot, first come first served.
    blocked: VecDeque<Arc<str>>,
    /// Lanes that need a refill but found no room under the ceiling.
    starved: VecDeque<Arc<str>>,
    in_flight: usize,
    /// Entries in all windows.
    held: usize,
    /// Rows and body bytes that refills under way may bring.
    reserved: usize,
    reserved_bytes: usize,
    attempts: JoinSet<Done>,
    /// What each attempt task is about.
    running: HashMap<Id, Running>,
    refills: JoinSet<Refill>,
    /// Each refill under way: its lane (webhook and id) and the rows and
    /// bytes it reserved.
    refilling: HashMap<Id, (Arc<str>, u64, usize, usize)>,
    /// The id of the next lane made.
    next_lane: u64,
    draining: bool,
}

/// An attempt under way.
struct Running {
    webhook_id: Arc<str>,
    seq: i64,
    attempts: u32,
    lane: u64,
    /// Bytes reserved for the event body it reads from the database.
    reserved_bytes: usize,
}

impl Scheduler {
    pub(crate) fn new(
        limits: Limits,
        attempt: Arc<Attempts>,
        db: Db,
        budget: Arc<Budget>,
        validity: Arc<Validity>,
    ) -> Self {
        Scheduler {
            validity,
            limits,
            attempt,
            db,
            budget,
            lanes: HashMap::new(),
            timers: BinaryHeap::new(),
            blocked: VecDeque::new(),
            starved: VecDeque::new(),
            in_flight: 0,
            held: 0,
            reserved: 0,
            reserved_bytes: 0,
            attempts: JoinSet::new(),
            running: HashMap::new(),
            refills: JoinSet::new(),
            refilling: HashMap::new(),
            next_lane: 0,
            draining: false,
        }
    }
}

pub(crate) async fn run(mut s: Scheduler, mut inbox: mpsc::Receiver<ToScheduler>) {
    let mut stop: Option<(oneshot::Sender<()>, Instant)> = None;
    // A lapse waiting for the attempts in flight to end.
    let mut quiet: Option<oneshot::Sender<()>> = None;
    let far = || Instant::now() + Duration::from_secs(3600);
    let mut starved_tick = tokio::time::interval(STARVED_TICK);
    starved_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let next_timer = s.timers.peek().map(|Reverse((at, _))| *at);
        let sleep_until = match next_timer {
            Some(at) if !s.draining => {
                Instant::now() + Duration::from_millis((at - now_ms()).max(0) as u64)
            }
            _ => far(),
        };
        let deadline = stop.as_ref().map(|(_, d)| *d).unwrap_or_else(far);
        tokio::select! {
            msg = inbox.recv() => match msg {
                Some(ToScheduler::Committed { lanes, deliveries, permits }) => {
                    s.committed(lanes, deliveries);
                    drop(permits);
                }
                Some(ToScheduler::Lapsed(reply)) => {
                    s.lapsed();
                    quiet = Some(reply);
                }
                Some(ToScheduler::Claimed(lanes)) => s.claimed(lanes),
                Some(ToScheduler::Tails(tails)) => s.tails(tails),
                Some(ToScheduler::Cancel(webhook, seq)) => s.cancel(&webhook, seq),
                Some(ToScheduler::Idle(reply)) => {
                    let _ = reply.send(s.idle());
                }
                Some(ToScheduler::Released(lanes)) => s.released(lanes),
                Some(ToScheduler::Shutdown(tx)) => {
                    s.draining = true;
                    s.refills.abort_all();
                    stop = Some((tx, Instant::now() + s.limits.shutdown_grace));
                }
                None => break,
            },
            Some(joined) = s.attempts.join_next_with_id(), if !s.attempts.is_empty() => {
                s.joined(joined);
            }
            Some(joined) = s.refills.join_next_with_id(), if !s.refills.is_empty() => {
                s.refill_joined(joined);
            }
            _ = tokio::time::sleep_until(sleep_until), if next_timer.is_some() && !s.draining => {
                s.fire_timers();
            }
            _ = starved_tick.tick(), if !s.starved.is_empty() && !s.draining => {
                s.serve_starved();
            }
            _ = tokio::time::sleep_until(deadline), if stop.is_some() => {
                tracing::warn!(in_flight = s.in_flight, "shutdown grace ended: abandoning attempts in flight");
                s.attempts.abort_all();
                s.in_flight = 0;
            }
        }
        s.budget.set_deliveries(s.held);
        s.budget.set_in_flight(s.in_flight);
        if s.in_flight == 0 {
            if let Some(reply) = quiet.take() {
                let _ = reply.send(());
            }
        }
        if s.draining && s.in_flight == 0 {
            if let Some((tx, _)) = stop.take() {
                let _ = tx.send(());
            }
            return;
        }
    }
}

impl Scheduler {
    /// Room under the ceiling for one more delivery in a window.
    fn room_for_one(&self) -> bool {
        self.held + self.reserved < self.budget.max_deliveries
            && self.budget.bytes() <= self.budget.max_bytes
    }

    fn new_lane(&mut self) -> Lane {
        self.next_lane += 1;
        Lane::new(self.next_lane)
    }

    fn committed(&mut self, lanes: Vec<LaneNote>, deliveries: Vec<Queued>) {
        let mut touched: HashSet<Arc<str>> = HashSet::new();
        for note in lanes {
            if !note.mine {
                // Another worker's lane. Held here only if this worker lost
                // track (a release whose answer was lost): the database is
                // right, so it is let go of; attempts under way finish.
                if let Some(lane) = self.lanes.remove(&note.webhook_id) {
                    tracing::warn!(webhook = %note.webhook_id,
                        "a lane held here belongs to another worker: letting it go");
                    self.held -= lane.window.len();
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
            let room = self.room_for_one();
            let capacity_of = |lane: &Lane| lane.capacity(&self.limits);
            // Another worker's lane: it reads the delivery from the database.
            let Some(lane) = self.lanes.get_mut(&q.webhook_id) else {
                continue;
            };
            if q.seq <= lane.cursor {
                continue; // a refill read it already
            }
            lane.unordered = q.unordered;
            let fits = lane.complete()
                && !lane.head_retrying()
                && lane.window.len() < capacity_of(lane)
                && room;
            lane.tail = lane.tail.max(q.seq);
            if fits {
                lane.cursor = q.seq;
                lane.window.insert(
                    q.seq,
                    Entry {
                        q,
                        running: false,
                        cancelled: false,
                    },
                );
                self.held += 1;
            }
            // Else it stays in the database until the window reaches it.
        }
        for webhook in touched {
            self.pump(&webhook);
        }
    }

    /// The lease ran out: forget every lane (attempts under way finish,
    /// their records are kept only where this worker still owns the lane).
    fn lapsed(&mut self) {
        for lane in self.lanes.values() {
            self.held -= lane.window.len();
        }
        self.lanes.clear();
        self.blocked.clear();
        self.starved.clear();
        self.timers.clear();
    }

    /// The lanes idle since the last ask, each with its newest `seq`;
    /// every lane's activity starts afresh.
    fn idle(&mut self) -> Vec<(Arc<str>, i64)> {
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
    fn released(&mut self, lanes: Vec<Arc<str>>) {
        for webhook in lanes {
            if let Some(lane) = self.lanes.remove(&webhook) {
                if !lane.idle() {
                    tracing::warn!(webhook = %webhook, "a released lane was not idle");
                }
                self.held -= lane.window.len();
            }
        }
    }

    fn claimed(&mut self, lanes: Vec<Arc<str>>) {
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

    fn tails(&mut self, tails: Vec<(Arc<str>, i64)>) {
        for (webhook, seq) in tails {
            if let Some(lane) = self.lanes.get_mut(&webhook) {
                if seq > lane.tail {
                    lane.tail = seq;
                    self.pump(&webhook);
                }
            }
        }
    }

    fn joined(&mut self, joined: Result<(Id, Done), JoinError>) {
        let id = match &joined {
            Ok((id, _)) => *id,
            Err(e) => e.id(),
        };
        let Some(running) = self.running.remove(&id) else {
            return;
        };
        self.reserved_bytes -= running.reserved_bytes;
        let done = match joined {
            Ok((_, done)) => done,
            Err(e) => {
                if e.is_panic() {
                    tracing::error!(webhook = %running.webhook_id, seq = running.seq,
                        "an attempt panicked: retrying it later");
                }
                // Its slot is freed and the delivery retried later, so
                // that its webhook is not stuck.
                Done {
                    webhook_id: running.webhook_id,
                    seq: running.seq,
                    next: Next::RetryAfter(self.attempt.policy.cap),
                    attempts: running.attempts,
                }
            }
        };
        self.done(done, running.lane);
    }

    fn done(&mut self, done: Done, lane_id: u64) {
        self.in_flight -= 1;
        let webhook = done.webhook_id.clone();
        if let Some(lane) = self.lanes.get_mut(&webhook).filter(|l| l.id == lane_id) {
            lane.touch();
            lane.in_flight -= 1;
            let cancelled = lane.window.get(&done.seq).is_some_and(|e| e.cancelled);
            match done.next {
                Next::RetryAfter(delay) if !cancelled => {
                    if let Some(e) = lane.window.get_mut(&done.seq) {
                        e.running = false;
                        e.q.attempts = done.attempts;
                        e.q.next_at = now_ms() + delay.as_millis() as i64;
                        // Read again when due: a dead receiver's backlog
                        // costs no memory for its bodies.
                        e.q.event = None;
                    }
                    self.held -= cut_back(lane, done.seq);
                }
                _ => {
                    if lane.window.remove(&done.seq).is_some() {
                        self.held -= 1;
                    }
                }
            }
            if !self.blocked.is_empty() {
                // Others wait for a slot: this lane queues behind them
                // instead of taking back the slot it just freed.
                if !lane.blocked {
                    lane.blocked = true;
                    self.blocked.push_back(webhook.clone());
                }
                self.maybe_refill(&webhook);
            } else {
                self.pump(&webhook);
            }
        }
        // A slot came free: the longest-waiting lanes go first (each at
        // most once: one that still finds no room queues again).
        for _ in 0..self.blocked.len() {
            if self.in_flight >= self.limits.max_in_flight {
                break;
            }
            let Some(w) = self.blocked.pop_front() else {
                break;
            };
            if let Some(lane) = self.lanes.get_mut(&w) {
                lane.blocked = false;
            }
            self.pump(&w);
        }
        self.serve_starved();
    }

    fn cancel(&mut self, webhook: &Arc<str>, seq: i64) {
        let Some(lane) = self.lanes.get_mut(webhook) else {
            return;
        };
        match lane.window.get_mut(&seq) {
            Some(e) if e.running => e.cancelled = true,
            Some(_) => {
                lane.window.remove(&seq);
                self.held -= 1;
                // An ordered lane's later deliveries may go now.
                self.pump(webhook);
            }
            // A refill under way may have read it while it was pending.
            None if lane.refilling => lane.cancelled_while_reading.push(seq),
            None => {}
        }
    }

    fn fire_timers(&mut self) {
        let now = now_ms();
        while let Some(Reverse((at, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            let Reverse((at, w)) = self.timers.pop().expect("peeked");
            if let Some(lane) = self.lanes.get_mut(&w) {
                if lane.armed == Some(at) {
                    lane.armed = None;
                }
            }
            self.pump(&w);
        }
    }

    fn arm(&mut self, webhook: &Arc<str>, at: i64) {
        if let Some(lane) = self.lanes.get_mut(webhook) {
            if lane.armed.is_none_or(|armed| at < armed) {
                lane.armed = Some(at);
                self.timers.push(Reverse((at, webhook.clone())));
            }
        }
    }

    /// Starts every attempt of `webhook` that may start now, then refills
    /// its window if it runs low.
    fn pump(&mut self, webhook: &Arc<str>) {
        // Past the lease (a stall): nothing starts; the lease task is about
        // to give every lane up (`lapsed`), and another worker takes them.
        if self.draining || !self.validity.valid() {
            return;
        }
        let cap = self.limits.max_in_flight;
        let Some(lane) = self.lanes.get_mut(webhook) else {
            return;
        };
        lane.touch();
        let limit = lane.limit(&self.limits);
        let now = now_ms();
        let per_row = self.limits.max_event_bytes.max(1);
        let mut earliest_wait: Option<i64> = None;
        let mut to_start = Vec::new();
        let mut reserving = 0;
        for e in lane.window.values_mut() {
            if lane.in_flight + to_start.len() >= limit {
                break;
            }
            if e.running {
                continue;
            }
            if e.q.next_at > now {
                earliest_wait = Some(earliest_wait.map_or(e.q.next_at, |t| t.min(e.q.next_at)));
                if lane.unordered {
                    continue;
                }
                break; // ordered: nothing after it may go first
            }
            // An attempt whose body is not in memory reads it: room for it
            // under the byte ceiling first (or it goes alone).
            let reads = e.q.event.is_none();
            let bytes_room = !reads
                || self.reserved_bytes + reserving == 0
                || self.budget.bytes() + self.reserved_bytes + reserving + per_row
                    <= self.budget.max_bytes;
            if self.in_flight + to_start.len() >= cap || !bytes_room {
                if !lane.blocked {
                    lane.blocked = true;
                    self.blocked.push_back(webhook.clone());
                }
                break;
            }
            e.running = true;
            if reads {
                reserving += per_row;
            }
            to_start.push(e.q.clone());
            if !lane.unordered {
                break;
            }
        }
        lane.in_flight += to_start.len();
        let lane_id = lane.id;
        self.in_flight += to_start.len();
        self.reserved_bytes += reserving;
        if let Some(at) = earliest_wait {
            self.arm(webhook, at);
        }
        for q in to_start {
            let ctx = self.attempt.clone();
            let running = Running {
                webhook_id: q.webhook_id.clone(),
                seq: q.seq,
                attempts: q.attempts,
                lane: lane_id,
                reserved_bytes: if q.event.is_none() { per_row } else { 0 },
            };
            let task = self
                .attempts
                .spawn(async move { attempt::run(&ctx, q).await });
            self.running.insert(task.id(), running);
        }
        self.maybe_refill(webhook);
    }

    /// Reads the next deliveries of `webhook` from the database when its
    /// window is half empty and the database holds more, within the
    /// ceilings; otherwise the lane waits for room.
    fn maybe_refill(&mut self, webhook: &Arc<str>) {
        let Some(lane) = self.lanes.get(webhook) else {
            return;
        };
        if self.draining || lane.refilling || lane.starved || lane.complete() {
            return;
        }
        let capacity = lane.capacity(&self.limits);
        let len = lane.window.len();
        if lane.head_retrying() || len * 2 > capacity {
            return;
        }
        let room = self
            .budget
            .max_deliveries
            .saturating_sub(self.held + self.reserved);
        let per_row = self.limits.max_event_bytes.max(1);
        let bytes_in_use = self.budget.bytes() + self.reserved_bytes;
        let bytes_room = self.budget.max_bytes.saturating_sub(bytes_in_use) / per_row;
        let mut n = (capacity - len).min(room).min(bytes_room);
        if n == 0 && room > 0 && bytes_in_use < self.budget.max_bytes && self.refills.is_empty() {
            n = 1; // one row at a time, when nothing else is being read
        }
        if n == 0 {
            let lane = self.lanes.get_mut(webhook).expect("looked up");
            lane.starved = true;
            self.starved.push_back(webhook.clone());
            return;
        }
        let lane = self.lanes.get_mut(webhook).expect("looked up");
        lane.refilling = true;
        let reserved_bytes = n * per_row;
        self.reserved += n;
        self.reserved_bytes += reserved_bytes;
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
    }

    fn refill_joined(&mut self, joined: Result<(Id, Refill), JoinError>) {
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
                self.reserved -= asked;
                self.reserved_bytes -= bytes;
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
        self.reserved -= r.asked;
        self.reserved_bytes -= r.reserved_bytes;
        let webhook = r.webhook.clone();
        // Read for a lane this worker has forgotten since (its lease ran out).
        let Some(lane) = self.lanes.get_mut(&webhook).filter(|l| l.id == r.lane) else {
            return;
        };
        lane.refilling = false;
        let cancelled = std::mem::take(&mut lane.cancelled_while_reading);
        match r.rows {
            Err(e) => {
                tracing::warn!(webhook = %webhook, "reading the next deliveries: {e}");
                self.arm(&webhook, now_ms() + REFILL_RETRY_MS);
                return;
            }
            // The window was cut back while this was read: read again.
            Ok(_) if r.generation != lane.generation => {}
            Ok(rows) => {
                let short = rows.len() < r.asked;
                let mut last = lane.cursor;
                for row in rows {
                    if row.seq <= lane.cursor || cancelled.contains(&row.seq) {
                        continue;
                    }
                    lane.unordered = row.ordering == "unordered";
                    let event = row.body.map(|body| {
                        Arc::new(EventData {
                            name: row.event,
                            body: self.budget.body(body.into()),
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
                        unordered: lane.unordered,
                    };
                    lane.window.insert(
                        row.seq,
                        Entry {
                            q,
                            running: false,
                            cancelled: false,
                        },
                    );
                    self.held += 1;
                    lane.cursor = row.seq;
                    last = row.seq;
                }
                lane.tail = lane.tail.max(last);
                if short {
                    // Nothing else was pending when it was read: what the
                    // lane was known to have by then was finished or
                    // cancelled. Newer deliveries come from the writer.
                    lane.tail_unknown = false;
                    lane.cursor = lane.cursor.max(r.tail_at_issue);
                }
            }
        }
        self.pump(&webhook);
        self.serve_starved();
    }

    /// Lanes that waited for room refill now, oldest first, while there is room.
    fn serve_starved(&mut self) {
        for _ in 0..self.starved.len() {
            let Some(w) = self.starved.pop_front() else {
                break;
            };
            if let Some(lane) = self.lanes.get_mut(&w) {
                lane.starved = false;
            }
            self.maybe_refill(&w);
            if self.lanes.get(&w).is_some_and(|l| l.starved) {
                // No room yet: it stays first in line.
                if let Some(back) = self.starved.pop_back() {
                    self.starved.push_front(back);
                }
                break;
            }
        }
    }
}

/// An ordered lane whose head waits for a retry keeps only the head: the
/// deliveries read ahead of it go back to the database (they were never
/// attempted) and are read again when the head is done. Returns how many
/// left the window.
fn cut_back(lane: &mut Lane, head: i64) -> usize {
    let is_head = lane.window.keys().next() == Some(&head);
    if lane.unordered || !is_head || lane.window.values().skip(1).any(|e| e.running) {
        return 0;
    }
    let later = lane.window.split_off(&(head + 1));
    if !later.is_empty() {
        lane.cursor = head;
        lane.generation += 1;
    }
    later.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, attempts: u32, running: bool) -> Entry {
        Entry {
            q: Queued {
                seq,
                id: format!("dlv_{seq}"),
                webhook_id: "wh".into(),
                event_id: "evt".into(),
                event: None,
                attempts,
                next_at: 0,
                created_at: 0,
                unordered: false,
            },
            running,
            cancelled: false,
        }
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
        assert_eq!(cut_back(&mut lane, 3), 2);
        assert_eq!(lane.window.keys().copied().collect::<Vec<_>>(), vec![3]);
        // What was cut goes back to the database: the lane reads from the head on.
        assert_eq!((lane.cursor, lane.generation), (3, 1));
        assert!(!lane.complete());
        // Nothing is cut from an unordered lane, or past a running attempt.
        let mut other = Lane::new(1);
        other.unordered = true;
        other.window.insert(1, entry(1, 1, false));
        other.window.insert(2, entry(2, 0, false));
        assert_eq!(cut_back(&mut other, 1), 0);
        other.unordered = false;
        other.window.insert(3, entry(3, 0, true));
        assert_eq!(cut_back(&mut other, 1), 0);
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
}
