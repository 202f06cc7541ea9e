//! What flows through the engine, in one place. Data goes one way:
//!
//! ```text
//! ingest ──Publish──▶ writer ──Committed──▶ scheduler ──Queued──▶ attempt
//!                       ▲                      ▲                     │
//!                       └───────Record─────────┼─────────────────────┤
//!                                              └────────Done─────────┘
//! ```

use super::policy::Next;
use crate::model::DeliveryOrigin;
use crate::server::db::{attempts::AttemptRow, deliveries::DeliveryUpdate};
use bytes::Bytes;
use std::sync::Arc;
use tokio::sync::oneshot;

/// An event as the worker holds it: shared by all its deliveries.
#[derive(Debug)]
pub struct EventData {
    pub id: String,
    pub name: String,
    pub body: Bytes,
}

/// A pending delivery handed to the scheduler.
#[derive(Debug, Clone)]
pub struct Queued {
    pub seq: i64,
    pub id: String,
    pub webhook_id: Arc<str>,
    pub event: Arc<EventData>,
    /// Attempts made so far.
    pub attempts: u32,
    /// Unix ms when the next attempt is due.
    pub next_at: i64,
    pub unordered: bool,
}

/// An attempt's result, as the scheduler needs it.
pub struct Done {
    pub webhook_id: Arc<str>,
    pub seq: i64,
    pub next: Next,
    /// Attempts made, this one included.
    pub attempts: u32,
}

/// An attempt's record (or a delivery that ended without one), for the writer.
pub struct Record {
    pub webhook_id: Arc<str>,
    pub update: DeliveryUpdate,
    pub attempt: Option<AttemptRow>,
    pub tracking: Tracking,
}

/// What a finished delivery means for auto-disable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracking {
    None,
    Succeeded,
    Failed,
    /// The receiver answered 410 Gone: disable at once.
    Gone,
}

/// One publish call's rows (or a redelivery's, or a replay's), on their way
/// to the writer; answered once committed.
pub(crate) struct Publish {
    pub project_id: String,
    /// `Event`: the events are new and stored with the deliveries; a
    /// repeat's events are stored already.
    pub origin: DeliveryOrigin,
    pub events: Vec<Arc<EventData>>,
    pub deliveries: Vec<NewDelivery>,
    pub idempotency_key: Option<String>,
    /// What the idempotency key remembers.
    pub answer: String,
    pub reply: oneshot::Sender<Result<Written, String>>,
}

pub(crate) struct NewDelivery {
    pub id: String,
    /// Index of its event in `Publish::events`.
    pub event: usize,
    pub webhook_id: Arc<str>,
    pub unordered: bool,
    /// The delivery this one repeats.
    pub repeats: Option<String>,
}

pub(crate) enum Written {
    /// Stored: the deliveries' `seq`s, in order, each with whether this
    /// worker holds it.
    Stored(Vec<(i64, bool)>),
    /// The idempotency key was seen: the first answer, nothing stored.
    Replayed(String),
}

impl Publish {
    /// The committed deliveries this worker holds, for the scheduler (the
    /// others wait to be claimed behind older ones: see `db::deliveries::insert`).
    pub(crate) fn queued<'a>(
        &'a self,
        seqs: &'a [(i64, bool)],
        now: i64,
    ) -> impl Iterator<Item = Queued> + 'a {
        self.deliveries
            .iter()
            .zip(seqs)
            .filter(|(_, (_, ours))| *ours)
            .map(move |(d, (seq, _))| Queued {
                seq: *seq,
                id: d.id.clone(),
                webhook_id: d.webhook_id.clone(),
                event: self.events[d.event].clone(),
                attempts: 0,
                next_at: now,
                unordered: d.unordered,
            })
    }

    pub(crate) fn answer(self, written: Result<Written, String>) {
        let _ = self.reply.send(written);
    }
}

/// To the scheduler.
pub(crate) enum ToScheduler {
    Add(Vec<Queued>),
    Done(Done),
    /// A person cancelled a pending delivery (already `cancelled` in the database).
    Cancel(Arc<str>, i64),
    Shutdown(oneshot::Sender<()>),
}

/// To the writer. Records are nearly all the traffic; boxing them would
/// cost an allocation each.
#[allow(clippy::large_enum_variant)]
pub(crate) enum ToWriter {
    Record(Record),
    Publish(Publish),
    /// Answered once everything sent before it is written.
    Flush(oneshot::Sender<()>),
}
