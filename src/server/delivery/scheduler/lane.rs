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

use super::super::budget::Budget;
use super::super::messages::{EventData, Pace, Queued};
use super::Limits;
use crate::model::KEYED_CONCURRENCY;
use crate::server::db::deliveries::WindowRow;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::Arc;

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

/// A webhook's rate limit (smooth: a token bucket of about one).
struct Limiter {
    rate: f64,
    bucket: DefaultDirectRateLimiter,
}

impl Limiter {
    fn new(rate: f64) -> Option<Limiter> {
        let period = std::time::Duration::from_secs_f64(1.0 / rate);
        // Timers have millisecond steps: above 500/s a start may take the
        // next few of the same two milliseconds.
        let burst = NonZeroU32::new((rate / 500.0).ceil().max(1.0) as u32)?;
        let quota = Quota::with_period(period)?.allow_burst(burst);
        Some(Limiter {
            rate,
            bucket: DefaultDirectRateLimiter::direct(quota),
        })
    }

    /// Takes a token, or says in how many ms the next one comes.
    fn take(&self) -> Result<(), i64> {
        self.bucket.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_micros().div_ceil(1000).max(1) as i64
        })
    }
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

/// The read a lane wants.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Want {
    /// Parked keys, each after its `seq`, up to `per_key` rows each (up to
    /// the cursor).
    Keys {
        keys: Vec<(Arc<str>, i64)>,
        per_key: usize,
    },
    /// Up to `n` rows after the cursor, leaving out the parked keys.
    General { n: usize, skip: Vec<Arc<str>> },
}

/// A read of parked keys: each after its `seq`, up to `per_key` rows each,
/// up to `upto` (the cursor when it was asked).
#[derive(Debug)]
pub(super) struct KeysRead {
    pub keys: Vec<(Arc<str>, i64)>,
    pub per_key: usize,
    pub upto: i64,
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
        let behind: Vec<i64> = self
            .window
            .range(seq + 1..)
            .filter(|(_, e)| e.q.key == key)
            .map(|(s, e)| (*s, e.running))
            .take_while(|(_, running)| !running)
            .map(|(s, _)| s)
            .collect();
        let all = self
            .window
            .range(seq + 1..)
            .filter(|(_, e)| e.q.key == key)
            .count();
        if all != behind.len() {
            return 0; // one of them is in flight (the lane was unordered): keep all
        }
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

    /// The read the lane wants, if any: parked keys whose part of the
    /// window ran low first, then the deliveries past the cursor while the
    /// window is at most half full.
    pub fn wants_read(&self, limits: &Limits) -> Option<Want> {
        if self.reading {
            return None;
        }
        let quota = self.quota(limits);
        let parked: Vec<(&Arc<str>, usize, i64)> = self
            .keys
            .iter()
            .filter_map(|(name, k)| k.parked.map(|from| (name, k.held, from)))
            .collect();
        if !parked.is_empty() {
            // Each parked key's oldest entry: a key whose oldest waits for
            // a retry reads nothing behind it.
            let mut oldest: HashMap<&Arc<str>, &Entry> = HashMap::new();
            for e in self.window.values() {
                oldest.entry(&e.q.key).or_insert(e);
            }
            let mut keys: Vec<(Arc<str>, i64)> = parked
                .iter()
                .filter(|(name, held, _)| {
                    *held == 0
                        || (held * 2 <= quota
                            && oldest
                                .get(name)
                                .is_none_or(|e| e.running || e.q.attempts == 0))
                })
                .map(|(name, _, from)| ((*name).clone(), *from))
                .collect();
            let room = self.room(limits);
            if !keys.is_empty() && room > 0 {
                // The longest-waiting first: lowest `seq` behind; as many
                // as the window has room for.
                keys.sort_unstable_by_key(|(_, from)| *from);
                let per_key = quota.min(room);
                keys.truncate((room / per_key).clamp(1, KEYS_PER_READ));
                return Some(Want::Keys { keys, per_key });
            }
        }
        if self.complete() {
            return None;
        }
        let capacity = self.capacity(limits);
        // Parked keys are bounded by the window: past that, wait for them.
        let room = self.room(limits);
        if parked.len() > capacity || room == 0 {
            return None;
        }
        // Read when the window is half empty (a read brings many rows), or
        // when an ordered lane holds fewer keys than it may have in flight
        // (its keys are busy: reading past them is what lets it use its
        // concurrency).
        let short_of_keys = !self.pace.unordered
            && self.keys.values().filter(|k| k.held > 0).count() < self.limit(limits);
        if self.busy() * 2 > capacity && !short_of_keys {
            return None;
        }
        Some(Want::General {
            n: room,
            skip: parked
                .into_iter()
                .map(|(name, _, _)| name.clone())
                .collect(),
        })
    }

    fn row_to_queued(webhook: &Arc<str>, row: WindowRow, budget: &Arc<Budget>) -> Queued {
        let pace = row.pace();
        let event = row.body.map(|body| {
            Arc::new(EventData {
                name: row.event,
                body: budget.body(body.into()),
            })
        });
        Queued {
            seq: row.seq,
            id: row.id,
            webhook_id: webhook.clone(),
            event_id: row.event_id.into(),
            event,
            attempts: row.attempts as u32,
            next_at: row.next_at,
            created_at: row.created_at,
            key: row.ordering_key.into(),
            pace,
        }
    }

    /// Takes a general read's rows (read after the cursor as it was when
    /// it was asked for `asked` rows, when the lane's newest `seq` was
    /// `tail_at_issue`) into the window; returns how many it took.
    pub fn general_read(
        &mut self,
        webhook: &Arc<str>,
        rows: Vec<WindowRow>,
        asked: usize,
        tail_at_issue: i64,
        limits: &Limits,
        budget: &Arc<Budget>,
    ) -> usize {
        let cancelled = std::mem::take(&mut self.cancelled_while_reading);
        let short = rows.len() < asked;
        let mut taken = 0;
        for row in rows {
            if row.seq <= self.cursor {
                continue;
            }
            let seq = row.seq;
            self.set_pace(row.pace());
            if !cancelled.contains(&seq) {
                let q = Lane::row_to_queued(webhook, row, budget);
                if self.admit(&q.key, seq, limits) == Admit::Take {
                    self.insert(q);
                    taken += 1;
                }
            }
            self.cursor = seq;
        }
        self.tail = self.tail.max(self.cursor);
        if short {
            // Nothing else was pending when it was read: what the lane was
            // known to have by then was finished or cancelled (or is a
            // parked key's). Newer deliveries come from the writer.
            self.tail_unknown = false;
            self.cursor = self.cursor.max(tail_at_issue);
        }
        taken
    }

    /// Takes a read of parked keys into the window; returns how many it took.
    pub fn keys_read(
        &mut self,
        webhook: &Arc<str>,
        rows: Vec<WindowRow>,
        read: &KeysRead,
        limits: &Limits,
        budget: &Arc<Budget>,
    ) -> usize {
        let KeysRead {
            keys: asked,
            per_key,
            upto,
        } = read;
        let (per_key, upto) = (*per_key, *upto);
        let cancelled = std::mem::take(&mut self.cancelled_while_reading);
        let quota = self.quota(limits);
        let mut by_key: HashMap<Arc<str>, Vec<WindowRow>> = HashMap::new();
        for row in rows {
            by_key
                .entry(Arc::from(row.ordering_key.as_str()))
                .or_default()
                .push(row);
        }
        let mut taken = 0;
        for (name, from) in asked {
            let rows = by_key.remove(name).unwrap_or_default();
            // Parked elsewhere since (its oldest went back to waiting for
            // a retry): read again later.
            if self.keys.get(name).and_then(|k| k.parked) != Some(*from) {
                continue;
            }
            let short = rows.len() < per_key;
            let mut last = *from;
            let mut full = false;
            for row in rows {
                let key_full = self.keys.get(name).is_some_and(|k| k.held >= quota);
                if key_full || self.room(limits) == 0 {
                    full = true;
                    break;
                }
                let seq = row.seq;
                self.set_pace(row.pace());
                if !cancelled.contains(&seq) {
                    self.insert(Lane::row_to_queued(webhook, row, budget));
                    taken += 1;
                }
                last = seq;
            }
            let k = self.keys.entry(name.clone()).or_default();
            k.parked = if full || !short {
                Some(last)
            } else if k.left <= upto {
                None // all of it is in the window
            } else {
                Some(upto) // more of it was stored since, past `upto`
            };
            if k.held == 0 && k.parked.is_none() {
                self.keys.remove(name);
            }
        }
        taken
    }
}

/// Whether an entry waits for a retry (see [`Lane::waiting`]).
fn waits(e: &Entry) -> bool {
    !e.running && e.q.attempts > 0
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

    fn pace(unordered: bool, keyed: bool, n: Option<u16>) -> Pace {
        Pace {
            unordered,
            keyed,
            max_concurrency: n,
            rate_limit: None,
            version: 0,
        }
    }

    pub fn queued(seq: i64, key: &str) -> Queued {
        Queued {
            seq,
            id: format!("dlv_{seq}"),
            webhook_id: "wh".into(),
            event_id: "evt".into(),
            event: None,
            attempts: 0,
            next_at: 0,
            created_at: 0,
            key: key.into(),
            pace: pace(false, false, None),
        }
    }

    pub fn row(seq: i64, key: &str) -> WindowRow {
        row_at(seq, key, None)
    }

    /// A row of a webhook whose concurrency is set to `n`.
    pub fn row_at(seq: i64, key: &str, n: Option<i64>) -> WindowRow {
        WindowRow {
            seq,
            id: format!("dlv_{seq}"),
            event_id: "evt".into(),
            event: "e".into(),
            attempts: 0,
            next_at: 0,
            created_at: 0,
            body: Some(b"{}".to_vec()),
            ordering_key: key.into(),
            ordering: "ordered".into(),
            keyed: !key.is_empty(),
            max_concurrency: n,
            rate_limit: None,
            pace_version: 0,
        }
    }

    fn seqs(lane: &Lane) -> Vec<i64> {
        lane.window.keys().copied().collect()
    }

    fn started(p: &Picked) -> Vec<i64> {
        p.start.iter().map(|q| q.seq).collect()
    }

    /// A lane that has read everything up to `cursor`, holding `entries`.
    fn lane_with(p: Pace, entries: &[(i64, &str)], cursor: i64) -> Lane {
        let mut lane = Lane::new(1);
        lane.set_pace(p);
        for (seq, key) in entries {
            let mut q = queued(*seq, key);
            q.pace = p;
            lane.insert(q);
        }
        lane.tail_unknown = false;
        lane.cursor = cursor;
        lane.tail = cursor;
        lane
    }

    #[test]
    fn an_ordered_lane_retrying_its_head_keeps_the_head_alone() {
        let mut lane = lane_with(pace(false, false, None), &[(3, ""), (5, ""), (8, "")], 8);
        lane.get_mut(3).unwrap().running = true;
        assert_eq!(lane.retry_later(3, 1, 500), 2);
        assert_eq!(seqs(&lane), vec![3]);
        // What was cut goes back to the database: the key is parked at the
        // head (just before the first that went back).
        assert_eq!(lane.keys[""].parked, Some(4));
        assert_eq!((lane.waiting, lane.busy()), (1, 0));
        assert!(lane.complete(), "the cursor never goes back");
        assert!(!lane.idle());
        // Nothing is read behind a head that waits for its retry.
        assert_eq!(lane.wants_read(&limits()), None);
        // Nothing is cut from an unordered lane.
        let mut other = lane_with(pace(true, false, None), &[(1, ""), (2, "")], 2);
        assert_eq!(other.retry_later(1, 1, 500), 0);
        assert_eq!(seqs(&other), vec![1, 2]);
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
        assert!(lane.idle());
    }

    #[test]
    fn a_general_read_fills_the_window_and_a_short_one_completes_the_lane() {
        let budget = Budget::new(100, 1 << 20);
        let limits = limits();
        let wh: Arc<str> = "wh".into();
        let mut lane = Lane::new(1);
        // A new lane reads up to its capacity (1 in flight + 4 ahead).
        let want = lane.wants_read(&limits);
        assert_eq!(want, Some(Want::General { n: 5, skip: vec![] }));
        lane.reading = true;
        assert_eq!(lane.wants_read(&limits), None, "one read at a time");
        lane.reading = false;
        let rows = (1..=5).map(|s| row(s, "")).collect();
        let taken = lane.general_read(&wh, rows, 5, 0, &limits, &budget);
        assert_eq!((taken, lane.cursor, lane.tail), (5, 5, 5));
        assert!(!lane.complete(), "a full read may have left more behind");
        assert_eq!(lane.wants_read(&limits), None, "the window is full");
        // Drained below half: read again; a short read finds the end.
        for s in 1..=3 {
            lane.remove(s);
        }
        assert!(matches!(
            lane.wants_read(&limits),
            Some(Want::General { n: 3, .. })
        ));
        lane.cancelled_while_reading.push(7);
        let taken = lane.general_read(&wh, vec![row(6, ""), row(7, "")], 3, 9, &limits, &budget);
        assert_eq!(taken, 1, "one cancelled while it was read");
        assert_eq!(seqs(&lane), vec![4, 5, 6]);
        assert_eq!(lane.cursor, 9, "what the lane had by then is all read");
        assert!(lane.complete());
        assert_eq!(lane.wants_read(&limits), None);
        // Rows at or before the cursor were taken already (from the writer).
        lane.tail = 11;
        let rows = vec![row(9, ""), row(10, ""), row(11, "")];
        let taken = lane.general_read(&wh, rows, 3, 11, &limits, &budget);
        assert_eq!((taken, lane.cursor), (2, 11));
    }

    #[test]
    fn an_ordered_lane_starts_its_oldest_only_and_an_unordered_one_up_to_its_limit() {
        let limits = limits();
        let entries: Vec<(i64, &str)> = (1..=5).map(|s| (s, "")).collect();
        let mut lane = lane_with(pace(false, false, None), &entries, 5);
        let p = lane.pick(0, &limits, 100, |_| true);
        assert_eq!(started(&p), vec![1]);
        assert_eq!(p.reads, 1);
        assert!(lane.pick(0, &limits, 100, |_| true).start.is_empty());

        let mut lane = lane_with(pace(true, false, None), &entries, 5);
        // The second waits for a retry: the others pass it.
        lane.get_mut(2).unwrap().q.next_at = 50;
        let p = lane.pick(10, &limits, 100, |_| true);
        assert_eq!(started(&p), vec![1, 3, 4]);
        assert_eq!((p.wait_until, lane.in_flight), (Some(50), 3));
    }

    #[test]
    fn a_lane_without_a_global_slot_or_room_for_a_body_is_blocked() {
        let limits = limits();
        let mut lane = lane_with(pace(true, false, None), &[(1, ""), (2, ""), (3, "")], 3);
        let p = lane.pick(0, &limits, 1, |_| true);
        assert_eq!((p.start.len(), p.blocked), (1, true));
        // Only one body read fits: the next one waits.
        let p = lane.pick(0, &limits, 10, |k| k == 0);
        assert_eq!((p.start.len(), p.blocked), (1, true));
    }

    #[test]
    fn keys_go_in_parallel_each_in_order() {
        let limits = limits();
        let keyed = pace(false, true, Some(3));
        let entries = [(1, "a"), (2, "a"), (3, "b"), (4, "c"), (5, "b"), (6, "d")];
        let mut lane = lane_with(keyed, &entries, 6);
        // The oldest of a, b and c; d waits for a slot (limit 3).
        let p = lane.pick(0, &limits, 100, |_| true);
        assert_eq!(started(&p), vec![1, 3, 4]);
        // b's next waits for b's first, even with a slot free.
        lane.remove(4);
        lane.in_flight -= 1;
        let p = lane.pick(0, &limits, 100, |_| true);
        assert_eq!(started(&p), vec![6]);
        // a's first waits for a retry: a's second stays behind it (back to
        // the database), and the other keys go on.
        lane.in_flight -= 1;
        assert_eq!(lane.retry_later(1, 1, 100), 1);
        assert_eq!(seqs(&lane), vec![1, 3, 5, 6]);
        assert_eq!(lane.keys[&Arc::from("a")].parked, Some(1));
        lane.remove(3);
        lane.in_flight -= 1;
        let p = lane.pick(10, &limits, 100, |_| true);
        assert_eq!(started(&p), vec![5]);
        assert_eq!(p.wait_until, Some(100));
    }

    #[test]
    fn a_read_goes_past_a_key_that_has_its_share_and_comes_back_for_it() {
        let row2 = |s, k| row_at(s, k, Some(2));
        let budget = Budget::new(100, 1 << 20);
        let limits = limits();
        let wh: Arc<str> = "wh".into();
        // 2 at once + 4 read ahead: a key may hold 3.
        let mut lane = lane_with(pace(false, true, Some(2)), &[], 0);
        lane.tail_unknown = true;
        let Some(Want::General { n, skip }) = lane.wants_read(&limits) else {
            panic!("a new lane reads");
        };
        assert_eq!((n, skip.len()), (6, 0));
        let rows = vec![
            row2(1, "a"),
            row2(2, "a"),
            row2(3, "a"),
            row2(4, "a"),
            row2(5, "b"),
            row2(6, "a"),
        ];
        let taken = lane.general_read(&wh, rows, 6, 20, &limits, &budget);
        assert_eq!(taken, 4);
        assert_eq!(
            seqs(&lane),
            vec![1, 2, 3, 5],
            "a's fourth and later stay behind"
        );
        assert_eq!(lane.keys[&Arc::from("a")].parked, Some(3));
        // b is done: the next read leaves a out.
        lane.remove(5);
        let Some(Want::General { n, skip }) = lane.wants_read(&limits) else {
            panic!("the window is half empty");
        };
        assert_eq!((n, skip), (3, vec![Arc::from("a")]));
        let taken = lane.general_read(&wh, vec![row2(7, "c")], 3, 20, &limits, &budget);
        assert_eq!((taken, lane.cursor), (1, 20));
        assert!(lane.complete());
        // a drains to one entry: read again, after 3, up to the cursor.
        lane.remove(1);
        lane.remove(2);
        let Some(Want::Keys { keys, per_key }) = lane.wants_read(&limits) else {
            panic!("a is read again");
        };
        assert_eq!((keys, per_key), (vec![(Arc::from("a"), 3)], 3));
        lane.reading = true;
        // A new delivery of a meanwhile stays behind too.
        let mut late = queued(21, "a");
        late.pace = lane.pace;
        assert!(!lane.committed(late, true, &limits));
        assert_eq!(lane.cursor, 21);
        lane.reading = false;
        let asked = [(Arc::from("a"), 3)];
        let rows = vec![row2(4, "a"), row2(6, "a")];
        let taken = lane.keys_read(
            &wh,
            rows,
            &KeysRead {
                keys: asked.to_vec(),
                per_key: 3,
                upto: 20,
            },
            &limits,
            &budget,
        );
        assert_eq!(taken, 2);
        assert_eq!(seqs(&lane), vec![3, 4, 6, 7]);
        // Short, but the cursor moved on (21): still parked, from 20.
        assert_eq!(lane.keys[&Arc::from("a")].parked, Some(20));
        for s in [3, 4, 6] {
            lane.remove(s);
        }
        let asked = [(Arc::from("a"), 20)];
        let taken = lane.keys_read(
            &wh,
            vec![row2(21, "a")],
            &KeysRead {
                keys: asked.to_vec(),
                per_key: 3,
                upto: 21,
            },
            &limits,
            &budget,
        );
        assert_eq!(taken, 1);
        let a = lane.keys[&Arc::from("a")];
        assert_eq!((a.held, a.parked), (1, None));
        assert_eq!(seqs(&lane), vec![7, 21]);
    }

    #[test]
    fn a_read_of_a_key_parked_elsewhere_meanwhile_is_dropped() {
        let budget = Budget::new(100, 1 << 20);
        let limits = limits();
        let wh: Arc<str> = "wh".into();
        let mut lane = lane_with(pace(false, true, Some(2)), &[(5, "a")], 10);
        // Asked after 7; a's oldest went back to waiting for a retry since.
        lane.keys.get_mut("a").unwrap().parked = Some(5);
        let asked = [(Arc::from("a"), 7)];
        let taken = lane.keys_read(
            &wh,
            vec![row(8, "a")],
            &KeysRead {
                keys: asked.to_vec(),
                per_key: 3,
                upto: 10,
            },
            &limits,
            &budget,
        );
        assert_eq!(taken, 0);
        assert_eq!(lane.keys[&Arc::from("a")].parked, Some(5));
    }

    #[test]
    fn a_parked_key_comes_back_though_other_keys_move_the_cursor() {
        let budget = Budget::new(100, 1 << 20);
        let limits = limits();
        let wh: Arc<str> = "wh".into();
        let keyed = pace(false, true, Some(2));
        let mut lane = lane_with(keyed, &[], 10);
        lane.keys.insert(
            "a".into(),
            Key {
                held: 0,
                parked: Some(8),
                left: 9,
            },
        );
        lane.reading = true;
        // While a's read is under way, b's delivery moves the cursor.
        let mut b = queued(11, "b");
        b.pace = keyed;
        assert!(lane.committed(b, true, &limits));
        lane.reading = false;
        let read = KeysRead {
            keys: vec![("a".into(), 8)],
            per_key: 3,
            upto: 10,
        };
        let taken = lane.keys_read(&wh, vec![row_at(9, "a", Some(2))], &read, &limits, &budget);
        assert_eq!(taken, 1);
        // Nothing of a was left past 10: it is all in the window.
        assert_eq!(lane.keys[&Arc::from("a")].parked, None);
    }

    #[test]
    fn deliveries_waiting_for_retries_do_not_keep_other_keys_out() {
        let limits = limits();
        let keyed = pace(false, true, Some(2));
        // Capacity 6: six keys whose one delivery each waits for a retry.
        let entries: Vec<(i64, String)> = (1..=6).map(|s| (s, format!("k{s}"))).collect();
        let refs: Vec<(i64, &str)> = entries.iter().map(|(s, k)| (*s, k.as_str())).collect();
        let mut lane = lane_with(keyed, &refs, 6);
        for s in 1..=6 {
            lane.get_mut(s).unwrap().running = true;
            lane.retry_later(s, 1, 10_000);
        }
        lane.tail = 100;
        // The window still reads past them, up to twice its capacity.
        assert_eq!(
            lane.wants_read(&limits),
            Some(Want::General { n: 6, skip: vec![] })
        );
        // And an unordered lane's key reads stay within its window.
        let mut unordered = lane_with(pace(true, false, None), &[], 50);
        unordered.keys.insert(
            "a".into(),
            Key {
                held: 0,
                parked: Some(0),
                left: 50,
            },
        );
        let Some(Want::Keys { per_key, keys }) = unordered.wants_read(&limits) else {
            panic!("the parked key is read");
        };
        assert!(per_key * keys.len() <= unordered.capacity(&limits));
    }

    #[test]
    fn an_older_reading_of_the_pace_changes_nothing() {
        let mut lane = Lane::new(1);
        let mut newer = pace(false, true, Some(4));
        newer.version = 20;
        lane.set_pace(newer);
        let mut older = pace(true, false, None);
        older.version = 10;
        lane.set_pace(older);
        assert_eq!(lane.pace, newer);
        assert_eq!(lane.limit(&limits()), 4);
    }

    #[test]
    fn many_keys_cost_no_more_than_the_window() {
        let budget = Budget::new(1_000_000, 1 << 30);
        let limits = limits();
        let wh: Arc<str> = "wh".into();
        let mut lane = lane_with(pace(false, true, Some(4)), &[], 0);
        lane.tail_unknown = true;
        let mut next = 1;
        let mut reads = 0;
        // Every delivery of its own key: windows come and go, keys with
        // nothing held are forgotten.
        while next <= 100_000 {
            let Some(Want::General { n, .. }) = lane.wants_read(&limits) else {
                let p = lane.pick(0, &limits, 100, |_| true);
                for q in p.start {
                    lane.remove(q.seq);
                    lane.in_flight -= 1;
                }
                continue;
            };
            let rows: Vec<WindowRow> = (next..next + n as i64)
                .map(|s| row_at(s, &format!("k{s}"), Some(4)))
                .collect();
            next += n as i64;
            lane.general_read(&wh, rows, n, 2_000_000, &limits, &budget);
            reads += 1;
            assert!(lane.len() <= lane.capacity(&limits));
            assert!(lane.keys.len() <= lane.capacity(&limits));
        }
        assert!(reads > 10_000);
    }

    #[test]
    fn the_rate_limit_spaces_starts_and_a_pause_holds_them() {
        let limits = limits();
        let mut p = pace(true, false, Some(100));
        p.rate_limit = Some(10.0);
        let entries: Vec<(i64, &str)> = (1..=5).map(|s| (s, "")).collect();
        let mut lane = lane_with(p, &entries, 5);
        let picked = lane.pick(0, &limits, 100, |_| true);
        assert_eq!(started(&picked), vec![1], "a bucket of one");
        let wait = picked.wait_until.expect("the next in about 100 ms");
        assert!((90..=101).contains(&wait), "{wait}");
        lane.paused_until = 5_000;
        let picked = lane.pick(1_000, &limits, 100, |_| true);
        assert!(picked.start.is_empty());
        assert_eq!(picked.wait_until, Some(5_000));
    }
}
