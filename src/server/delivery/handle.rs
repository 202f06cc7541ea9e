//! What the rest of the server holds to talk to the worker.

use super::messages::{Publish, ToScheduler, ToWriter};
use super::targets::Targets;
use crate::server::db::Db;
use crate::server::secrets::SecretBox;
use crate::server::url_guard::AllowList;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Notify};

/// Cheap to clone; made before the worker starts, so that the HTTP side
/// can be built first.
#[derive(Clone)]
pub struct Handle {
    /// This process's worker id (its lease in the `workers` table).
    pub worker_id: Arc<str>,
    pub(crate) to_scheduler: mpsc::UnboundedSender<ToScheduler>,
    pub(crate) to_writer: mpsc::UnboundedSender<ToWriter>,
    pub targets: Targets,
    /// Notified after every group of attempts is committed.
    pub recorded: Arc<Notify>,
    /// Ingest, claims and attempts are written through this one connection
    /// ([`crate::server::db::writer`]).
    pub writer: Db,
    /// Whether pending deliveries may be held by someone else (another or
    /// a dead worker, or no one): true until a claim round finds that all
    /// are ours.
    pub(crate) others_may_hold: Arc<AtomicBool>,
    /// The scheduler's and the writer's inboxes, taken by `delivery::start`.
    pub(crate) inboxes: Arc<Mutex<Option<Inboxes>>>,
}

pub(crate) struct Inboxes {
    pub scheduler: mpsc::UnboundedReceiver<ToScheduler>,
    pub writer: mpsc::UnboundedReceiver<ToWriter>,
}

impl Handle {
    pub fn new(db: Db, writer: Db, secrets: SecretBox, allow: AllowList) -> Handle {
        let (to_scheduler, scheduler) = mpsc::unbounded_channel();
        let (to_writer, writer_inbox) = mpsc::unbounded_channel();
        Handle {
            worker_id: format!("wkr_{}", uuid::Uuid::new_v4().simple()).into(),
            to_scheduler,
            to_writer,
            targets: Targets::new(db, secrets, allow),
            recorded: Arc::new(Notify::new()),
            writer,
            others_may_hold: Arc::new(AtomicBool::new(true)),
            inboxes: Arc::new(Mutex::new(Some(Inboxes {
                scheduler,
                writer: writer_inbox,
            }))),
        }
    }

    /// Sends a publish call's rows to the writer.
    pub(crate) fn publish(&self, publish: Publish) {
        let _ = self.to_writer.send(ToWriter::Publish(publish));
    }

    /// Forgets a delivery that was cancelled in the database: no further
    /// attempt (one in flight finishes; its state is not written).
    pub fn cancelled(&self, webhook_id: &str, seq: i64) {
        let _ = self
            .to_scheduler
            .send(ToScheduler::Cancel(webhook_id.into(), seq));
    }

    /// A webhook changed (edited, disabled, rotated, deleted): the next
    /// attempt reads it again.
    pub fn webhook_changed(&self, webhook_id: &str) {
        self.targets.forget(webhook_id);
    }
}
