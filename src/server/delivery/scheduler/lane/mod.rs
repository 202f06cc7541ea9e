//! One webhook's deliveries as far as this worker holds them: its window
//! (the next pending deliveries, in `seq` order), what of it is in flight,
//! and where the window stands against the database. Pure: no tasks, no
//! reads; the scheduler does those.
//!
//! **Keys.** Every delivery has an ordering key (`""` for a webhook
//! without one). In an `ordered` lane only the oldest pending delivery of
//! a key may be attempted, and only once at a time; different keys go in
//! parallel up to the lane's concurrency. A key may be *parked* at a `seq`
//! (`Key::parked`): its pending deliveries after that `seq`, up to the
//! cursor, are in the database, not in the window. A key is parked when
//! its oldest delivery waits for a retry (what was read behind it goes
//! back), or when it already has its share of the window, so that a busy
//! or blocked key never keeps the window from reading past it to other
//! keys. A parked key is read again on its own ([`Want::Keys`]) once its
//! part of the window runs low. Keys with nothing held cost nothing.
//!
//! Invariant: every pending delivery of the lane up to `cursor` is in the
//! window, or belongs to a key parked before it, or finished here and is
//! on its way to the writer.

use super::super::messages::{Pace, Queued};
use super::Limits;
use crate::model::KEYED_CONCURRENCY;
use limiter::Limiter;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

mod limiter;
mod reads;

pub(in crate::server::delivery::scheduler) use reads::{KeysRead, Want};

/// Most keys read again in one read.
const KEYS_PER_READ: usize = 64;

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

/// What the lane knows of one key: only while it holds some of it, or
/// has parked it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Key {
    /// Entries of this key in the window.
    held: usize,
    /// Its pending deliveries after this `seq` (up to the cursor) are in
    /// the database only.
    parked: Option<i64>,
    /// The newest `seq` of this key left in the database while parked: a
    /// read of the key that came back short, up to at least this, has all
    /// of it.
    left: i64,
}

pub(super) struct Lane {
    /// Tells this lane from one that held the same webhook before it (the
    /// worker's lease ran out in between): an attempt started for the old
    /// one does not count against this one.
    pub id: u64,
    pace: Pace,
    limiter: Option<Limiter>,
    /// No attempt starts before this (Unix ms): the receiver asked for a
    /// pause (`Retry-After` on a 429 or 503).
    pub paused_until: i64,
    window: BTreeMap<i64, Entry>,
    keys: HashMap<Arc<str>, Key>,
    /// Entries of the window that wait for a retry (not running, attempted
    /// before): they take no share of the window's reading, up to a
    /// window's worth, so that failing keys do not keep the others out.
    waiting: usize,
    pub in_flight: usize,
    /// See the invariant in the module's comment.
    pub cursor: i64,
    /// The newest `seq` this lane is known to have.
    pub tail: i64,
    /// The database may hold deliveries after `tail` (the lane was just
    /// claimed or taken): the next read finds out.
    pub tail_unknown: bool,
    /// A read of this lane is under way (one at a time).
    pub reading: bool,
    /// The earliest timer set for this lane, if one is pending.
    pub armed: Option<i64>,
    /// Cancelled while a read was under way: not to be taken from it.
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
    /// When to look again: an entry's retry, the rate limit, a pause.
    pub wait_until: Option<i64>,
    /// Something could start but for a global slot or room for a body.
    pub blocked: bool,
}

impl Picked {
    fn wait(&mut self, at: i64) {
        self.wait_until = Some(self.wait_until.map_or(at, |t| t.min(at)));
    }
}

/// What becomes of a delivery past the cursor (new, or read).
#[derive(Debug, PartialEq, Eq)]
enum Admit {
    Take,
    /// Its key is parked (now, or already): it stays in the database.
    Leave,
}

impl Lane {
    pub fn new(id: u64) -> Lane {
        Lane {
            id,
            pace: Pace {
                unordered: false,
                keyed: false,
                max_concurrency: None,
                rate_limit: None,
                version: 0,
            },
            limiter: None,
            paused_until: 0,
            window: BTreeMap::new(),
            keys: HashMap::new(),
            waiting: 0,
            in_flight: 0,
            cursor: 0,
            tail: 0,
            tail_unknown: true,
            reading: false,
            armed: None,
            cancelled_while_reading: Vec::new(),
            active: true,
        }
    }

    /// Something happened to the lane: it is not idle.
    pub fn touch(&mut self) {
        self.active = true;
    }

    /// Nothing held, in flight, being read, parked, or left in the database.
    pub fn idle(&self) -> bool {
        self.window.is_empty()
            && self.in_flight == 0
            && !self.reading
            && self.keys.is_empty()
            && self.complete()
    }

    /// The window has read as far as the lane goes (parked keys aside).
    pub fn complete(&self) -> bool {
        !self.tail_unknown && self.cursor >= self.tail
    }

    pub fn len(&self) -> usize {
        self.window.len()
    }

    pub fn get(&self, seq: i64) -> Option<&Entry> {
        self.window.get(&seq)
    }

    pub fn get_mut(&mut self, seq: i64) -> Option<&mut Entry> {
        self.window.get_mut(&seq)
    }

    /// The webhook's pace, as read with its deliveries or told of a
    /// change; an older reading than the one in force changes nothing.
    pub fn set_pace(&mut self, pace: Pace) {
        if pace == self.pace || pace.version < self.pace.version {
            return;
        }
        if pace.rate_limit != self.limiter.as_ref().map(|l| l.rate) {
            self.limiter = pace.rate_limit.and_then(Limiter::new);
        }
        self.pace = pace;
    }

    /// Attempts in flight at once: the webhook's `maxConcurrency`, or its
    /// default; one for an ordered webhook without a key.
    pub fn limit(&self, limits: &Limits) -> usize {
        let set = self.pace.max_concurrency.map(usize::from);
        match (self.pace.unordered, self.pace.keyed) {
            (true, _) => set.unwrap_or(limits.unordered_concurrency),
            (false, true) => set.unwrap_or(usize::from(KEYED_CONCURRENCY)),
            (false, false) => 1,
        }
        .max(1)
    }

    /// Entries the window holds at most: what may be in flight and as much
    /// again (at least `lane_window`) read ahead.
    pub fn capacity(&self, limits: &Limits) -> usize {
        let limit = self.limit(limits);
        limit + limits.lane_window.max(limit)
    }

    /// Entries of one key the window holds at most: an equal share of the
    /// window for each key that may be in flight (at least two: the one in
    /// flight and the next), so that one key never fills the window. An
    /// unordered lane reads any key as far as its window goes.
    fn quota(&self, limits: &Limits) -> usize {
        if self.pace.unordered {
            return self.capacity(limits);
        }
        (self.capacity(limits) / self.limit(limits)).max(2)
    }

    /// Entries that count against the window's capacity: all but those
    /// waiting for a retry.
    fn busy(&self) -> usize {
        self.window.len() - self.waiting
    }

    /// Whether the window may take `n` more entries: what is not waiting
    /// for a retry within its capacity, and all of it within twice that.
    fn room(&self, limits: &Limits) -> usize {
        let capacity = self.capacity(limits);
        (capacity.saturating_sub(self.busy())).min((2 * capacity).saturating_sub(self.len()))
    }

    fn insert(&mut self, q: Queued) {
        self.keys.entry(q.key.clone()).or_default().held += 1;
        let entry = Entry::new(q);
        self.waiting += usize::from(waits(&entry));
        self.window.insert(entry.q.seq, entry);
    }

    /// Takes an entry out of the window.
    pub fn remove(&mut self, seq: i64) -> Option<Entry> {
        let e = self.window.remove(&seq)?;
        self.waiting -= usize::from(waits(&e));
        if let Some(k) = self.keys.get_mut(&e.q.key) {
            k.held -= 1;
            if k.held == 0 && k.parked.is_none() {
                self.keys.remove(&e.q.key);
            }
        }
        Some(e)
    }

    /// Whether the delivery `seq` past the cursor joins the window, as far
    /// as its key goes (parking the key when it has its share already).
    /// The caller moves the cursor past it either way.
    fn admit(&mut self, key: &Arc<str>, seq: i64, limits: &Limits) -> Admit {
        let quota = self.quota(limits);
        let (cursor, ordered) = (self.cursor, !self.pace.unordered);
        match self.keys.get_mut(key) {
            Some(k) if k.parked.is_some() => {
                k.left = k.left.max(seq);
                Admit::Leave
            }
            Some(k) if ordered && k.held >= quota => {
                k.parked = Some(cursor);
                k.left = k.left.max(seq);
                Admit::Leave
            }
            _ => Admit::Take,
        }
    }

    /// A delivery the writer just committed: into the window if the
    /// window has read everything before it and has room (`room`: under
    /// the global ceiling); past a parked key it stays in the database.
    /// Returns whether it joined the window.
    pub fn committed(&mut self, q: Queued, room: bool, limits: &Limits) -> bool {
        if q.seq <= self.cursor {
            return false; // a read took it already
        }
        self.set_pace(q.pace);
        let complete = self.complete();
        self.tail = self.tail.max(q.seq);
        if !complete {
            return false; // a read reaches it in its turn
        }
        match self.admit(&q.key, q.seq, limits) {
            Admit::Leave => {
                self.cursor = q.seq;
                false
            }
            Admit::Take if room && self.room(limits) > 0 => {
                self.cursor = q.seq;
                self.insert(q);
                true
            }
            // No room: it stays in the database, and the lane reads it later.
            Admit::Take => false,
        }
    }

    /// Marks what may start now as running and returns it: in an ordered
    /// lane the oldest pending delivery of each key that has none in
    /// flight, in a `unordered` one any due delivery, in `seq` order, up to
    /// the lane's limit and its rate limit. `slots` is what is left under
    /// the global cap; `may_read(k)` says whether a `k + 1`th event read
    /// from the database fits under the byte ceiling.
    pub fn pick(
        &mut self,
        now: i64,
        limits: &Limits,
        slots: usize,
        may_read: impl Fn(usize) -> bool,
    ) -> Picked {
        let mut p = Picked::default();
        if now < self.paused_until {
            p.wait(self.paused_until);
            return p;
        }
        let limit = self.limit(limits);
        let ordered = !self.pace.unordered;
        // One key: nothing after its oldest delivery may go.
        let one_key = ordered && self.keys.len() <= 1;
        // The keys whose oldest delivery was passed (none to keep with one key).
        let mut seen: HashSet<Arc<str>> = HashSet::new();
        for (i, e) in self.window.values_mut().enumerate() {
            if self.in_flight + p.start.len() >= limit || (one_key && i > 0) {
                break;
            }
            if ordered && !one_key && !seen.insert(e.q.key.clone()) {
                continue; // not the oldest of its key
            }
            if e.running {
                if one_key {
                    break;
                }
                continue;
            }
            if e.q.next_at > now {
                p.wait(e.q.next_at);
                if one_key {
                    break;
                }
                continue;
            }
            // An attempt whose body is not in memory reads it: room for it
            // under the byte ceiling first (or it goes alone).
            let reads = e.q.event.is_none();
            if p.start.len() >= slots || (reads && !may_read(p.reads)) {
                p.blocked = true;
                break;
            }
            if let Some(Err(wait)) = self.limiter.as_ref().map(Limiter::take) {
                p.wait(now + wait);
                break;
            }
            self.waiting -= usize::from(waits(e));
            e.running = true;
            p.reads += usize::from(reads);
            p.start.push(e.q.clone());
        }
        self.in_flight += p.start.len();
        p
    }

    /// An attempt of `seq` ended and it is to be tried again at `next_at`.
    /// In an ordered lane, what the window holds behind it of its key goes
    /// back to the database (it was never attempted), and the key is
    /// parked at it. Returns how many left the window.
    pub fn retry_later(&mut self, seq: i64, attempts: u32, next_at: i64) -> usize {
        let Some(e) = self.window.get_mut(&seq) else {
            return 0;
        };
        e.running = false;
        e.q.attempts = attempts;
        e.q.next_at = next_at;
        // Read again when due: a dead receiver's backlog costs no memory
        // for its bodies.
        e.q.event = None;
        let key = e.q.key.clone();
        self.waiting += usize::from(waits(e));
        if self.pace.unordered {
            return 0;
        }
        let behind: Vec<(i64, bool)> = self
            .window
            .range(seq + 1..)
            .filter(|(_, e)| e.q.key == key)
            .map(|(s, e)| (*s, e.running))
            .collect();
        if behind.iter().any(|(_, running)| *running) {
            return 0; // one of them is in flight (the lane was unordered): keep all
        }
        let behind: Vec<i64> = behind.into_iter().map(|(s, _)| s).collect();
        for s in &behind {
            self.remove(*s);
        }
        if let (Some(first), Some(last)) = (behind.first(), behind.last()) {
            // Just before what went back (not at `seq`: after a switch from
            // unordered, a later delivery of the key may have finished
            // meanwhile, and must not be read again).
            let k = self.keys.entry(key).or_default();
            k.parked = Some(first - 1);
            k.left = k.left.max(*last);
        }
        behind.len()
    }
}

/// Whether an entry waits for a retry (see [`Lane::waiting`]).
fn waits(e: &Entry) -> bool {
    !e.running && e.q.attempts > 0
}

#[cfg(test)]
mod tests;
