//! What to attempt now. One task owns every pending delivery this worker
//! holds, in memory, per webhook, in `seq` (event) order:
//! - an `ordered` webhook has at most one attempt in flight, always its
//!   oldest pending delivery: a delivery waiting for a retry holds back the
//!   ones after it (DESIGN §3);
//! - an `unordered` webhook has up to `unordered_concurrency` in flight;
//! - across webhooks, up to `max_in_flight` attempts run at once, and a slow
//!   webhook only ever occupies its own slots.
//!
//! Retry waits are timers here, not database polls: the database is written
//! (by the recorder) so that a restart resumes the same schedule.

use super::attempt::{self, Attempts};
use super::messages::{Done, Queued, ToScheduler};
use super::policy::Next;
use crate::server::config::DeliveryConfig;
use crate::server::db::now_ms;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;

struct Entry {
    q: Queued,
    running: bool,
    /// Cancelled while its attempt ran: gone when the attempt ends.
    cancelled: bool,
}

#[derive(Default)]
struct WebhookQueue {
    pending: BTreeMap<i64, Entry>,
    in_flight: usize,
    unordered: bool,
    /// Waiting in `blocked` for a global slot.
    blocked: bool,
    /// The earliest timer set for this webhook, if one is pending.
    armed: Option<i64>,
}

struct Scheduler {
    config: DeliveryConfig,
    attempt: Arc<Attempts>,
    /// Its own inbox, for the attempts' results.
    inbox: mpsc::UnboundedSender<ToScheduler>,
    queues: HashMap<Arc<str>, WebhookQueue>,
    /// (due, webhook): when a webhook's next retry is due.
    timers: BinaryHeap<Reverse<(i64, Arc<str>)>>,
    /// Webhooks with due work but no global slot, first come first served.
    blocked: VecDeque<Arc<str>>,
    in_flight: usize,
    attempts: JoinSet<()>,
    draining: bool,
}

pub(crate) async fn run(
    config: DeliveryConfig,
    attempt: Arc<Attempts>,
    inbox: mpsc::UnboundedSender<ToScheduler>,
    mut rx: mpsc::UnboundedReceiver<ToScheduler>,
) {
    let mut s = Scheduler {
        config,
        attempt,
        inbox,
        queues: HashMap::new(),
        timers: BinaryHeap::new(),
        blocked: VecDeque::new(),
        in_flight: 0,
        attempts: JoinSet::new(),
        draining: false,
    };
    let mut stop: Option<(oneshot::Sender<()>, Instant)> = None;
    loop {
        let next_timer = s.timers.peek().map(|Reverse((at, _))| *at);
        let sleep_until = match next_timer {
            Some(at) if !s.draining => {
                Instant::now() + Duration::from_millis((at - now_ms()).max(0) as u64)
            }
            _ => Instant::now() + Duration::from_secs(3600),
        };
        let deadline = stop
            .as_ref()
            .map(|(_, d)| *d)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(ToScheduler::Add(items)) => s.add(items),
                Some(ToScheduler::Done(done)) => s.done(done),
                Some(ToScheduler::Cancel(webhook, seq)) => s.cancel(&webhook, seq),
                Some(ToScheduler::Shutdown(tx)) => {
                    s.draining = true;
                    let grace = Duration::from_millis(s.config.shutdown_grace_ms);
                    stop = Some((tx, Instant::now() + grace));
                }
                None => break,
            },
            _ = tokio::time::sleep_until(sleep_until), if next_timer.is_some() && !s.draining => {
                s.fire_timers();
            }
            Some(_) = s.attempts.join_next(), if !s.attempts.is_empty() => {}
            _ = tokio::time::sleep_until(deadline), if stop.is_some() => {
                tracing::warn!(in_flight = s.in_flight, "shutdown grace ended: abandoning attempts in flight");
                s.attempts.abort_all();
                s.in_flight = 0;
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

/// Reports an attempt's end to the scheduler when dropped: normally with
/// its result, after a panic with a retry.
struct DoneGuard {
    inbox: mpsc::UnboundedSender<ToScheduler>,
    done: Option<Done>,
}

impl Drop for DoneGuard {
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            let _ = self.inbox.send(ToScheduler::Done(done));
        }
    }
}

impl Scheduler {
    fn add(&mut self, items: Vec<Queued>) {
        let mut touched: Vec<Arc<str>> = Vec::new();
        for q in items {
            let queue = self.queues.entry(q.webhook_id.clone()).or_default();
            queue.unordered = q.unordered;
            if touched.last() != Some(&q.webhook_id) {
                touched.push(q.webhook_id.clone());
            }
            queue.pending.entry(q.seq).or_insert(Entry {
                q,
                running: false,
                cancelled: false,
            });
        }
        touched.dedup();
        for w in touched {
            self.pump(&w);
        }
    }

    fn done(&mut self, done: Done) {
        self.in_flight -= 1;
        if let Some(queue) = self.queues.get_mut(&done.webhook_id) {
            queue.in_flight -= 1;
            let cancelled = queue.pending.get(&done.seq).is_some_and(|e| e.cancelled);
            match done.next {
                _ if cancelled => {
                    queue.pending.remove(&done.seq);
                }
                Next::RetryAfter(delay) => {
                    if let Some(e) = queue.pending.get_mut(&done.seq) {
                        e.running = false;
                        e.q.attempts = done.attempts;
                        e.q.next_at = now_ms() + delay.as_millis() as i64;
                    }
                }
                Next::Succeeded | Next::Failed | Next::Dropped => {
                    queue.pending.remove(&done.seq);
                }
            }
            if queue.pending.is_empty() && queue.in_flight == 0 {
                self.queues.remove(&done.webhook_id);
            } else if !self.blocked.is_empty() {
                // Others wait for a slot: this webhook queues behind them
                // instead of taking back the slot it just freed.
                if !queue.blocked {
                    queue.blocked = true;
                    self.blocked.push_back(done.webhook_id.clone());
                }
            } else {
                self.pump(&done.webhook_id);
            }
        }
        // A global slot came free: the longest-waiting webhook goes first.
        while self.in_flight < self.config.max_in_flight as usize {
            let Some(w) = self.blocked.pop_front() else {
                break;
            };
            if let Some(q) = self.queues.get_mut(&w) {
                q.blocked = false;
            }
            self.pump(&w);
        }
    }

    fn cancel(&mut self, webhook: &Arc<str>, seq: i64) {
        let Some(queue) = self.queues.get_mut(webhook) else {
            return;
        };
        match queue.pending.get_mut(&seq) {
            Some(e) if e.running => e.cancelled = true,
            Some(_) => {
                queue.pending.remove(&seq);
                if queue.pending.is_empty() && queue.in_flight == 0 {
                    self.queues.remove(webhook);
                } else {
                    // An ordered webhook's later deliveries may go now.
                    self.pump(webhook);
                }
            }
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
            if let Some(q) = self.queues.get_mut(&w) {
                if q.armed == Some(at) {
                    q.armed = None;
                }
            }
            self.pump(&w);
        }
    }

    /// Starts every attempt of `webhook` that may start now.
    fn pump(&mut self, webhook: &Arc<str>) {
        if self.draining {
            return;
        }
        let cap = self.config.max_in_flight as usize;
        let Some(queue) = self.queues.get_mut(webhook) else {
            return;
        };
        let limit = if queue.unordered {
            self.config.unordered_concurrency as usize
        } else {
            1
        };
        let now = now_ms();
        let mut earliest_wait: Option<i64> = None;
        let mut to_start = Vec::new();
        for (seq, e) in queue.pending.iter_mut() {
            if queue.in_flight + to_start.len() >= limit {
                break;
            }
            if e.running {
                continue;
            }
            if e.q.next_at > now {
                earliest_wait = Some(earliest_wait.map_or(e.q.next_at, |t| t.min(e.q.next_at)));
                if queue.unordered {
                    continue;
                }
                break; // ordered: nothing after it may go first
            }
            if self.in_flight + to_start.len() >= cap {
                if !queue.blocked {
                    queue.blocked = true;
                    self.blocked.push_back(webhook.clone());
                }
                break;
            }
            e.running = true;
            to_start.push((*seq, e.q.clone()));
            if !queue.unordered {
                break;
            }
        }
        queue.in_flight += to_start.len();
        self.in_flight += to_start.len();
        if let Some(at) = earliest_wait {
            if queue.armed.is_none_or(|armed| at < armed) {
                queue.armed = Some(at);
                self.timers.push(Reverse((at, webhook.clone())));
            }
        }
        for (_, q) in to_start {
            let (ctx, inbox) = (self.attempt.clone(), self.inbox.clone());
            self.attempts.spawn(async move {
                // Should the attempt panic, the guard still frees its slot and
                // retries the delivery later, so its webhook is not stuck.
                let mut guard = DoneGuard {
                    inbox,
                    done: Some(Done {
                        webhook_id: q.webhook_id.clone(),
                        seq: q.seq,
                        next: Next::RetryAfter(ctx.policy.cap),
                        attempts: q.attempts,
                    }),
                };
                let done = attempt::run(&ctx, q).await;
                guard.done = Some(done);
            });
        }
    }
}
