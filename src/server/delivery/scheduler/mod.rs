//! What to attempt now. The queue is the `deliveries` table; this task
//! holds, for each lane (webhook) this worker owns, a small window of its
//! next pending deliveries in `seq` (event) order, and reads more from the
//! database as the window drains (docs/delivery.md, "Order"):
//! - an `ordered` webhook attempts the deliveries of each ordering key one
//!   at a time, the oldest first, and different keys in parallel, up to its
//!   concurrency (one, without a key); while a key's oldest delivery waits
//!   for a retry, its later ones wait in the database;
//! - an `unordered` webhook attempts any of its deliveries, up to its
//!   concurrency (`unordered_concurrency` unless set);
//! - a webhook's rate limit spaces its attempts, and a receiver's
//!   `Retry-After` on a 429 or 503 pauses all of them;
//! - a window holds what may be in flight and as much again (at least
//!   `lane_window`) read ahead; all windows together at most
//!   `max_held_deliveries`, and event bodies at most `max_held_bytes` (see
//!   [`Budget`]): a lane that cannot read for lack of room waits its turn,
//!   first come first served;
//! - across webhooks, up to `max_in_flight` attempts run at once, and a slow
//!   webhook only ever occupies its own slots.
//!
//! New deliveries come from the writer in memory, bodies included, while a
//! window has room and nothing older of its lane is left in the database
//! (the hot path reads nothing); otherwise they stay in the database until
//! the window reaches them. Retry waits are timers here for what is in a
//! window; the rest are due times in the database.
//!
//! - [`lane`]: one webhook's window and what of it may start (pure);
//! - [`refill`]: reading windows from the database, within the ceilings;
//! - [`ownership`]: lanes coming and going (commits, claims, releases, lapses);
//! - [`counts`]: what is held and under way; [`fifo`]: lines to wait in.
//!
//! This module holds the task's loop, starting attempts and their ends.

mod counts;
mod fifo;
mod lane;
mod ownership;
mod refill;

use super::attempt::{self, Attempts};
use super::budget::Budget;
use super::lease::Validity;
use super::messages::{Done, ToScheduler, Turn};
use crate::server::db::{now_ms, Db};
use counts::Counts;
use fifo::Fifo;
use lane::Lane;
use refill::{Reading, Refill};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{Id, JoinError, JoinSet};
use tokio::time::Instant;

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

pub(crate) struct Scheduler {
    /// Until when attempts may start ([`Validity`]).
    validity: Arc<Validity>,
    limits: Limits,
    attempt: Arc<Attempts>,
    db: Db,
    budget: Arc<Budget>,
    lanes: HashMap<Arc<str>, Lane>,
    counts: Counts,
    /// (due, webhook): when a lane's next retry (or refill retry) is due.
    timers: BinaryHeap<Reverse<(i64, Arc<str>)>>,
    /// Lanes with due work but no global slot.
    blocked: Fifo<Arc<str>>,
    /// Lanes that need a refill but found no room under the ceiling.
    starved: Fifo<Arc<str>>,
    attempts: JoinSet<Done>,
    /// What each attempt task is about.
    running: HashMap<Id, Running>,
    refills: JoinSet<Refill>,
    /// Each read under way.
    refilling: HashMap<Id, Reading>,
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
            counts: Counts::default(),
            timers: BinaryHeap::new(),
            blocked: Fifo::default(),
            starved: Fifo::default(),
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
                Some(ToScheduler::Pace(webhook, pace)) => s.pace(&webhook, pace),
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
                tracing::warn!(in_flight = s.counts.in_flight(), "shutdown grace ended: abandoning attempts in flight");
                s.attempts.abort_all();
                s.counts.abandon_attempts();
            }
        }
        s.counts.publish(&s.budget);
        if s.counts.in_flight() == 0 {
            if let Some(reply) = quiet.take() {
                let _ = reply.send(());
            }
        }
        if s.draining && s.counts.in_flight() == 0 {
            if let Some((tx, _)) = stop.take() {
                let _ = tx.send(());
            }
            return;
        }
    }
}

impl Scheduler {
    fn new_lane(&mut self) -> Lane {
        self.next_lane += 1;
        Lane::new(self.next_lane)
    }

    fn joined(&mut self, joined: Result<(Id, Done), JoinError>) {
        let id = match &joined {
            Ok((id, _)) => *id,
            Err(e) => e.id(),
        };
        let Some(running) = self.running.remove(&id) else {
            return;
        };
        let done = match joined {
            Ok((_, done)) => done,
            Err(e) => {
                if e.is_panic() {
                    tracing::error!(webhook = %running.webhook_id, seq = running.seq,
                        "an attempt panicked: retrying it later");
                }
                // Its slot is freed and the delivery retried later, so
                // that its webhook is not stuck.
                Done::new(
                    running.webhook_id.clone(),
                    running.seq,
                    running.attempts,
                    Turn::RetryAfter(self.attempt.policy.cap),
                )
            }
        };
        self.done(done, &running);
    }

    fn done(&mut self, done: Done, running: &Running) {
        self.counts.end(running.reserved_bytes);
        let webhook = done.webhook_id.clone();
        if let Some(lane) = self
            .lanes
            .get_mut(&webhook)
            .filter(|l| l.id == running.lane)
        {
            lane.touch();
            lane.in_flight -= 1;
            if let Some(pause) = done.pause {
                // The receiver is overloaded: the whole webhook waits.
                lane.paused_until = lane.paused_until.max(now_ms() + pause.as_millis() as i64);
            }
            let cancelled = lane.get(done.seq).is_some_and(|e| e.cancelled);
            match done.turn {
                Turn::RetryAfter(delay) if !cancelled => {
                    let at = now_ms() + delay.as_millis() as i64;
                    self.counts
                        .let_go(lane.retry_later(done.seq, done.attempts, at));
                }
                _ => {
                    if lane.remove(done.seq).is_some() {
                        self.counts.let_go(1);
                    }
                }
            }
            if !self.blocked.is_empty() {
                // Others wait for a slot: this lane queues behind them
                // instead of taking back the slot it just freed.
                self.blocked.push(webhook.clone());
                self.maybe_refill(&webhook);
            } else {
                self.pump(&webhook);
            }
        }
        // A slot came free: the longest-waiting lanes go first (each at
        // most once: one that still finds no room queues again).
        for _ in 0..self.blocked.len() {
            if self.counts.in_flight() >= self.limits.max_in_flight {
                break;
            }
            let Some(w) = self.blocked.pop() else {
                break;
            };
            self.pump(&w);
        }
        self.serve_starved();
    }

    fn cancel(&mut self, webhook: &Arc<str>, seq: i64) {
        let Some(lane) = self.lanes.get_mut(webhook) else {
            return;
        };
        let reading = lane.reading;
        match lane.get_mut(seq) {
            Some(e) if e.running => e.cancelled = true,
            Some(_) => {
                lane.remove(seq);
                self.counts.let_go(1);
                // An ordered lane's later deliveries may go now.
                self.pump(webhook);
            }
            // A read under way may have read it while it was pending.
            None if reading => lane.cancelled_while_reading.push(seq),
            None => {}
        }
    }

    /// A webhook's pace changed: it applies at once.
    fn pace(&mut self, webhook: &Arc<str>, pace: super::messages::Pace) {
        if let Some(lane) = self.lanes.get_mut(webhook) {
            lane.set_pace(pace);
            self.pump(webhook);
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
        let Some(lane) = self.lanes.get_mut(webhook) else {
            return;
        };
        lane.touch();
        let per_row = self.limits.max_event_bytes.max(1);
        let slots = self
            .limits
            .max_in_flight
            .saturating_sub(self.counts.in_flight());
        let (reserved, budget) = (self.counts.reserved_bytes(), &self.budget);
        let may_read = |k: usize| {
            reserved + k * per_row == 0
                || budget.bytes() + reserved + (k + 1) * per_row <= budget.max_bytes
        };
        let picked = lane.pick(now_ms(), &self.limits, slots, may_read);
        let lane_id = lane.id;
        self.counts
            .start(picked.start.len(), picked.reads * per_row);
        if picked.blocked {
            self.blocked.push(webhook.clone());
        }
        if let Some(at) = picked.wait_until {
            self.arm(webhook, at);
        }
        for q in picked.start {
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
}
