//! What a lane reads from the database, and what it takes of it: past
//! the cursor (leaving parked keys out), or parked keys on their own.

use super::super::super::budget::Budget;
use super::super::super::messages::{EventData, Queued};
use super::super::Limits;
use super::{Admit, Entry, Lane, KEYS_PER_READ};
use crate::server::db::deliveries::WindowRow;
use std::collections::HashMap;
use std::sync::Arc;

/// The read a lane wants.
#[derive(Debug, PartialEq, Eq)]
pub(in crate::server::delivery::scheduler) enum Want {
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
pub(in crate::server::delivery::scheduler) struct KeysRead {
    pub keys: Vec<(Arc<str>, i64)>,
    pub per_key: usize,
    pub upto: i64,
}

impl Lane {
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
