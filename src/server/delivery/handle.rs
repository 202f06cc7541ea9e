//! What the rest of the server holds to talk to the worker.

use super::budget::{Budget, Held};
use super::messages::{Pace, Publish, ReleaseIdle, ToScheduler, ToWriter, WriteError, Written};
use super::targets::Targets;
use crate::model::AppError;
use crate::server::config::DeliveryConfig;
use crate::server::db::Db;
use crate::server::errors::internal;
use crate::server::metrics::Metrics;
use crate::server::secrets::SecretBox;
use crate::server::url_guard::AllowList;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify, Semaphore};

/// Publish calls queued for the writer, at most (they are also held to
/// their bytes: see `publish_room`).
const PUBLISH_QUEUE: usize = 1024;
/// Records of attempts queued for the writer, at most; an attempt waits
/// (holding its in-flight slot) while the writer is behind.
const RECORD_QUEUE: usize = 1024;
/// Messages queued for the scheduler, at most.
const SCHEDULER_QUEUE: usize = 1024;
/// What one delivery of a publish call costs in memory until the
/// scheduler has seen it, roughly, counted against the publish room.
const DELIVERY_COST: usize = 200;
/// What a publish call refused for lack of room is told to wait.
pub const RETRY_AFTER_SECS: u64 = 1;

/// The id under which this process's worker holds its lease and its
/// lanes. A new one each time the worker rejoins after its lease ran out,
/// so that nothing it recorded under the old id (an attempt that was on the
/// wire when it stalled) passes for the new owner's.
pub struct WorkerId(std::sync::RwLock<Arc<str>>);

impl WorkerId {
    fn fresh() -> Arc<str> {
        format!("wkr_{}", uuid::Uuid::new_v4().simple()).into()
    }

    pub fn new() -> WorkerId {
        WorkerId(std::sync::RwLock::new(WorkerId::fresh()))
    }

    /// The current id.
    pub fn get(&self) -> Arc<str> {
        self.0.read().expect("not poisoned").clone()
    }

    /// Takes a new id; returns it.
    pub(crate) fn renew(&self) -> Arc<str> {
        let id = WorkerId::fresh();
        *self.0.write().expect("not poisoned") = id.clone();
        id
    }
}

impl Default for WorkerId {
    fn default() -> Self {
        WorkerId::new()
    }
}

impl std::fmt::Display for WorkerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.get())
    }
}

/// Cheap to clone; made before the worker starts, so that the HTTP side
/// can be built first.
#[derive(Clone)]
pub struct Handle {
    /// This process's worker id (its lease in the `workers` table).
    pub worker_id: Arc<WorkerId>,
    publishes: mpsc::Sender<Publish>,
    pub(crate) to_scheduler: mpsc::Sender<ToScheduler>,
    pub(crate) to_writer: mpsc::Sender<ToWriter>,
    /// Idle lanes to release, for the writer of publish calls.
    pub(crate) to_releases: mpsc::Sender<ReleaseIdle>,
    /// Room, in bytes, for publish calls not yet answered (and their
    /// deliveries not yet seen by the scheduler): the writer's back-pressure.
    publish_room: Arc<Semaphore>,
    publish_room_bytes: usize,
    publish_wait: Duration,
    /// What the worker holds in memory.
    pub budget: Arc<Budget>,
    pub targets: Targets,
    /// Notified after every group of attempts is committed.
    pub recorded: Arc<Notify>,
    /// What the engine counts.
    pub metrics: Arc<Metrics>,
    /// Ingest and attempts are written through this pool
    /// ([`crate::server::db::writer`]: one connection on SQLite, one per
    /// writer task on PostgreSQL).
    pub writer: Db,
    /// Each project's enabled webhooks, for publish calls.
    pub subscribers: Arc<super::subscribers::Cache>,
    /// The inboxes of the writer and the scheduler, taken by `delivery::start`.
    pub(crate) inboxes: Arc<Mutex<Option<Inboxes>>>,
}

pub(crate) struct Inboxes {
    pub scheduler: mpsc::Receiver<ToScheduler>,
    pub publishes: mpsc::Receiver<Publish>,
    pub releases: mpsc::Receiver<ReleaseIdle>,
    pub records: mpsc::Receiver<ToWriter>,
}

impl Handle {
    pub fn new(
        db: Db,
        writer: Db,
        secrets: SecretBox,
        allow: AllowList,
        config: &DeliveryConfig,
        metrics: Arc<Metrics>,
    ) -> Handle {
        let (to_scheduler, scheduler) = mpsc::channel(SCHEDULER_QUEUE);
        let (publishes, publish_inbox) = mpsc::channel(PUBLISH_QUEUE);
        let (to_writer, records) = mpsc::channel(RECORD_QUEUE);
        // One ask at a time comes from the lease task.
        let (to_releases, releases) = mpsc::channel(4);
        let room = (config.max_held_bytes / 4) as usize;
        Handle {
            worker_id: Arc::new(WorkerId::new()),
            publishes,
            to_scheduler,
            to_writer,
            to_releases,
            publish_room: Arc::new(Semaphore::new(room)),
            publish_room_bytes: room,
            publish_wait: Duration::from_millis(config.publish_wait_ms),
            budget: Budget::new(
                config.max_held_deliveries as usize,
                config.max_held_bytes as usize,
            ),
            targets: Targets::new(db, secrets, allow),
            recorded: Arc::new(Notify::new()),
            subscribers: Default::default(),
            metrics,
            writer,
            inboxes: Arc::new(Mutex::new(Some(Inboxes {
                scheduler,
                publishes: publish_inbox,
                releases,
                records,
            }))),
        }
    }

    /// What the worker holds in memory now, and at most so far.
    pub fn held(&self) -> Held {
        self.budget.held()
    }

    /// Hands a publish call's rows to the writer and waits until they are
    /// committed. When the writer is behind, waits for room at most
    /// `--publish-wait-ms`, then gives up with [`AppError::Busy`]: nothing
    /// was stored, and the caller may try again.
    pub(crate) async fn publish(
        &self,
        mut publish: Publish,
        written: oneshot::Receiver<Result<Written, WriteError>>,
    ) -> Result<Written, AppError> {
        let busy = || {
            self.metrics.publish_refused.inc();
            AppError::Busy {
                retry_after_secs: RETRY_AFTER_SECS,
            }
        };
        let _waiting = Waiting::new(&self.metrics.publish_waiting);
        let weight = publish
            .events
            .iter()
            .filter_map(|e| e.data.as_ref())
            .map(|d| d.body.bytes().len())
            .sum::<usize>()
            + publish.deliveries.len() * DELIVERY_COST;
        // A call larger than the whole room takes all of it, alone.
        let weight = weight.clamp(1, self.publish_room_bytes) as u32;
        let deadline = tokio::time::Instant::now() + self.publish_wait;
        let permit = tokio::time::timeout_at(
            deadline,
            self.publish_room.clone().acquire_many_owned(weight),
        )
        .await
        .map_err(|_| busy())?
        .map_err(internal)?;
        publish.permit = Some(permit);
        tokio::time::timeout_at(deadline, self.publishes.send(publish))
            .await
            .map_err(|_| busy())?
            .map_err(|_| internal("the writer has stopped"))?;
        match written.await {
            Err(_) => Err(internal("the writer dropped a publish call")),
            Ok(Ok(w)) => Ok(w),
            Ok(Err(WriteError::Busy(e))) => {
                tracing::warn!("publishing refused while the database takes no writes: {e}");
                Err(busy())
            }
            Ok(Err(WriteError::Refused(e))) => Err(internal(e)),
        }
    }

    /// Forgets a delivery that was cancelled in the database: no further
    /// attempt (one in flight finishes; its state is not written).
    pub async fn cancelled(&self, webhook_id: &str, seq: i64) {
        let _ = self
            .to_scheduler
            .send(ToScheduler::Cancel(webhook_id.into(), seq))
            .await;
    }

    /// A webhook changed (edited, disabled, rotated, deleted): the next
    /// attempt reads it again. (Other processes hear of it through
    /// `db::webhooks::notify_changed`.)
    pub fn webhook_changed(&self, webhook_id: &str) {
        self.targets.forget(webhook_id);
    }

    /// A webhook's pace changed: its lane, if this worker holds it, takes
    /// it at once (else with its next deliveries).
    pub fn pace_changed(&self, webhook_id: &str, pace: Pace) {
        let _ = self
            .to_scheduler
            .try_send(ToScheduler::Pace(webhook_id.into(), pace));
    }
}

/// Counts a publish call as waiting for the writer while it lives.
struct Waiting<'a>(&'a prometheus::IntGauge);

impl<'a> Waiting<'a> {
    fn new(gauge: &'a prometheus::IntGauge) -> Self {
        gauge.inc();
        Waiting(gauge)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}
