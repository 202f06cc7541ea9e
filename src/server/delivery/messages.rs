//! What flows through the engine, in one place. Data goes one way, and
//! every channel is bounded:
//!
//! ```text
//! ingest ──Publish──▶ writer ──Committed──▶ scheduler ──Queued──▶ attempt
//!                       ▲                      ▲  ▲                  │
//! lease ──Claimed/Tails─┼──────────────────────┘  └───────Done───────┤
//!                       └──────────────────Record────────────────────┘
//! ```
//!
//! (`Done` is the attempt task's return value, joined by the scheduler.
//! The lease also asks the scheduler for its `Idle` lanes and has the
//! writer release them (`ReleaseIdle`); the writer tells the scheduler
//! they were `Released`. On PostgreSQL the writer is two tasks, each with
//! a connection of its own: one for publish calls and releases, one for
//! records.)

use super::budget::Body;
use crate::model::{DeliveryOrigin, DeliveryStatus, EventSource};
pub use crate::server::db::webhooks::Pace;
use crate::server::db::{attempts::AttemptRow, deliveries::DeliveryUpdate};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, OwnedSemaphorePermit};

/// An event's name and bytes, shared by all its deliveries while hot.
#[derive(Debug)]
pub struct EventData {
    pub name: String,
    pub body: Body,
}

/// A pending delivery as the scheduler and an attempt see it.
#[derive(Debug, Clone)]
pub struct Queued {
    pub seq: i64,
    pub id: String,
    pub webhook_id: Arc<str>,
    pub event_id: Arc<str>,
    /// The event, when the worker has it in memory; an attempt reads it
    /// from the database otherwise.
    pub event: Option<Arc<EventData>>,
    /// Attempts made so far.
    pub attempts: u32,
    /// Unix ms when the next attempt is due.
    pub next_at: i64,
    /// Unix ms when the delivery was stored (its event arrived).
    pub created_at: i64,
    /// Its ordering key: deliveries of one key go one at a time, in order
    /// (`""`, the empty key, for a webhook without a key).
    pub key: Arc<str>,
    pub pace: Pace,
}

/// What became of a delivery in its turn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Turn {
    /// It ended with this status (succeeded, failed, dropped by the URL
    /// guard, or cancelled because its webhook is gone or disabled).
    Ended(DeliveryStatus),
    /// It is tried again after this long (a retry, or the database did not
    /// answer).
    RetryAfter(Duration),
    /// A retry found it no longer pending: cancelled meanwhile, through
    /// another process. Nothing was sent.
    CancelledElsewhere,
    /// This process's lease lapsed before the request went out: nothing was
    /// sent, it stays pending, and the lane's next owner attempts it.
    LeaseLapsed,
}

/// An attempt's result, as the scheduler needs it.
#[derive(Debug)]
pub struct Done {
    pub webhook_id: Arc<str>,
    pub seq: i64,
    pub turn: Turn,
    /// Attempts made, this one included.
    pub attempts: u32,
    /// The receiver asked for a pause (`Retry-After` on a 429 or 503): no
    /// attempt to this webhook starts for this long.
    pub pause: Option<std::time::Duration>,
}

impl Done {
    /// What became of delivery `seq` of `webhook_id` after `attempts`
    /// attempts; no pause asked.
    pub fn new(webhook_id: Arc<str>, seq: i64, attempts: u32, turn: Turn) -> Done {
        Done {
            webhook_id,
            seq,
            turn,
            attempts,
            pause: None,
        }
    }
}

/// An attempt's record (or a delivery that ended without one), for the writer.
pub struct Record {
    /// The worker id under which the attempt started: its state is written
    /// only while that id owns the lane.
    pub worker: Arc<str>,
    /// For the log, should the record be impossible to write.
    pub delivery_id: String,
    pub webhook_id: Arc<str>,
    /// Its project's name, for the metrics (`None`: the webhook is gone).
    pub project: Option<Arc<str>>,
    /// Unix ms when the delivery was stored.
    pub created_at: i64,
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
    /// The tenant a new event was published for (`?tenant=`).
    pub tenant: Option<String>,
    /// Unix ms when the call arrived (for the latency metrics).
    pub received_at: i64,
    /// `Event`: the events are new and stored with the deliveries; a
    /// repeat's events are stored already.
    pub origin: DeliveryOrigin,
    /// How new events came in.
    pub source: EventSource,
    pub events: Vec<PublishedEvent>,
    pub deliveries: Vec<NewDelivery>,
    pub idempotency_key: Option<String>,
    /// What the idempotency key remembers.
    pub answer: String,
    pub reply: oneshot::Sender<Result<Written, WriteError>>,
    /// Its share of the room for publish calls waiting for the writer,
    /// given back when it is answered.
    pub permit: Option<OwnedSemaphorePermit>,
}

pub(crate) struct PublishedEvent {
    pub id: Arc<str>,
    /// A new event's name and bytes (`None` for a repeat's, stored already).
    pub data: Option<Arc<EventData>>,
}

pub(crate) struct NewDelivery {
    pub id: String,
    /// Index of its event in `Publish::events`.
    pub event: usize,
    pub webhook_id: Arc<str>,
    /// Its ordering key, read from the event when it was queued.
    pub key: Arc<str>,
    pub pace: Pace,
    /// The delivery this one repeats.
    pub repeats: Option<String>,
}

pub(crate) enum Written {
    /// Stored: the deliveries' `seq`s, in order.
    Stored(Vec<i64>),
    /// The idempotency key was seen: the first answer, nothing stored.
    Replayed(String),
}

/// Why a publish call's rows were not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WriteError {
    /// The database cannot take writes now (disk full, I/O error, locked):
    /// try again later.
    Busy(String),
    /// These rows can never be written (a constraint refused them).
    Refused(String),
}

impl Publish {
    /// The committed deliveries, for the scheduler.
    pub(crate) fn queued<'a>(
        &'a self,
        seqs: &'a [i64],
        now: i64,
    ) -> impl Iterator<Item = Queued> + 'a {
        self.deliveries
            .iter()
            .zip(seqs)
            .map(move |(d, seq)| Queued {
                seq: *seq,
                id: d.id.clone(),
                webhook_id: d.webhook_id.clone(),
                event_id: self.events[d.event].id.clone(),
                event: self.events[d.event].data.clone(),
                attempts: 0,
                next_at: now,
                created_at: self.received_at,
                key: d.key.clone(),
                pace: d.pace,
            })
    }

    pub(crate) fn answer(self, written: Result<Written, WriteError>) {
        let _ = self.reply.send(written);
    }
}

/// To the scheduler.
pub(crate) enum ToScheduler {
    /// The writer committed these deliveries (in `seq` order) and, in the
    /// same transaction, noted their lanes.
    Committed {
        lanes: Vec<LaneNote>,
        deliveries: Vec<Queued>,
        /// The publish calls' room, given back once this is seen.
        permits: Vec<OwnedSemaphorePermit>,
    },
    /// A claim round took these lanes (free, or their owner died).
    Claimed(Vec<Arc<str>>),
    /// Another process stored deliveries up to these `seq`s in these lanes.
    Tails(Vec<(Arc<str>, i64)>),
    /// A person cancelled a pending delivery (already `cancelled` in the database).
    Cancel(Arc<str>, i64),
    /// A webhook's pace changed (edited here, or in another process).
    Pace(Arc<str>, Pace),
    /// Other workers are live: which lanes sat idle (nothing held, nothing
    /// in flight, nothing left in the database) since the last ask, each
    /// with its newest `seq`? The lease has the writer release them.
    Idle(oneshot::Sender<Vec<(Arc<str>, i64)>>),
    /// The writer released these idle lanes (their newest `seq` had not
    /// moved): they are no longer this worker's. Sent by the writer of
    /// publish calls between its commits, so a later `Committed` that takes
    /// one back comes after.
    Released(Vec<Arc<str>>),
    /// This worker's lease ran out: every lane may have been taken over, so
    /// it forgets them all (they are released, then claimed again).
    /// Answered once no attempt is in flight any more, so that the lanes
    /// are let go of only then: another worker that claims one at once
    /// must not send beside a request of this one still on the wire.
    Lapsed(oneshot::Sender<()>),
    Shutdown(oneshot::Sender<()>),
}

/// What a commit did to the lane of one webhook it stored deliveries for.
pub(crate) struct LaneNote {
    pub webhook_id: Arc<str>,
    /// The lane's newest `seq` before this commit: if the scheduler has not
    /// read that far, older deliveries (another process's) come first.
    pub before: i64,
    /// No one owned the lane: this worker does now.
    pub taken: bool,
    /// After the commit the lane is this worker's (it was, or was taken).
    /// The scheduler holds exactly the lanes that are: one it holds that
    /// another worker owns is dropped, one it does not hold is read.
    pub mine: bool,
}

/// To the writer, from the attempts (publish calls have their own inbox).
/// Records are nearly all the traffic; boxing them would cost an
/// allocation each.
#[allow(clippy::large_enum_variant)]
pub(crate) enum ToWriter {
    Record(Record),
    /// Answered once everything sent before it is written.
    Flush(oneshot::Sender<()>),
}

/// To the writer that stores publish calls, from the lease, once the
/// records are flushed (the lanes' last outcomes are kept only while this
/// worker owns them): let go of these idle lanes whose newest `seq` has
/// not moved, tell the scheduler which between two commits (so that a
/// commit taking one back comes after), then answer.
pub(crate) struct ReleaseIdle {
    /// The worker id the scheduler held them under: nothing is released
    /// if the worker rejoined under another since.
    pub worker: Arc<str>,
    pub lanes: Vec<(Arc<str>, i64)>,
    /// Dropped by a lease task that stopped waiting: then nothing is
    /// released (its next claim may already be under way).
    pub reply: oneshot::Sender<()>,
}
