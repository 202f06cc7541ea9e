//! The delivery engine (DESIGN §2, §3): ingest stores an event and its
//! deliveries in one transaction and hands them to the worker in memory;
//! the worker attempts them (in order per webhook), signs, sends through
//! the URL guard, retries on schedule and records every attempt in groups.
//!
//! - [`ingest`]: validation and the ingest transaction.
//! - [`scheduler`]: what to attempt now (per-webhook order, in-flight caps, retry timers).
//! - [`sender`]: one attempt: sign, POST through the guarded resolver, classify.
//! - [`writer`]: one task group-commits ingest's rows, attempts and delivery states; auto-disable.
//! - [`lease`]: the worker's lease, claiming deliveries no live worker holds, release.
//! - [`policy`], [`signer`]: pure rules.

pub mod ingest;
pub mod lease;
pub mod policy;
pub mod retention;
pub mod scheduler;
pub mod sender;
pub mod signer;
pub mod writer;

use super::config::DeliveryConfig;
use super::db::Db;
use super::secrets::SecretBox;
use super::url_guard::{AllowList, Resolver};
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};

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

/// Messages to the scheduler.
pub(crate) enum Msg {
    Add(Vec<Queued>),
    Done(scheduler::Done),
    /// A person cancelled a pending delivery (already `cancelled` in the database).
    Cancel(Arc<str>, i64),
    Shutdown(oneshot::Sender<()>),
}

/// What the rest of the server holds to talk to the worker: cheap to clone.
#[derive(Clone)]
pub struct Handle {
    /// This process's worker id (its lease in the `workers` table).
    pub worker_id: Arc<str>,
    tx: mpsc::UnboundedSender<Msg>,
    pub targets: sender::Targets,
    /// Notified after every group of attempts is committed.
    pub recorded: Arc<Notify>,
    /// Ingest, claims and attempts are written through this one connection
    /// ([`crate::server::db::writer`]).
    pub writer: Db,
    /// To the writer task.
    write: mpsc::UnboundedSender<writer::RecMsg>,
    /// Whether pending deliveries may be held by someone else (another or
    /// a dead worker, or no one): true until a claim round finds that all
    /// are ours.
    pub(crate) others_may_hold: Arc<std::sync::atomic::AtomicBool>,
    /// The scheduler's and the writer's inboxes, taken by [`start`].
    inboxes: Arc<std::sync::Mutex<Option<Inboxes>>>,
}

type Inboxes = (
    mpsc::UnboundedReceiver<Msg>,
    mpsc::UnboundedReceiver<writer::RecMsg>,
);

impl Handle {
    pub fn new(db: Db, writer: Db, secrets: SecretBox, allow: AllowList) -> Handle {
        let (tx, rx) = mpsc::unbounded_channel();
        let (write, write_rx) = mpsc::unbounded_channel();
        Handle {
            write,
            others_may_hold: Arc::new(std::sync::atomic::AtomicBool::new(true)),
            inboxes: Arc::new(std::sync::Mutex::new(Some((rx, write_rx)))),
            worker_id: format!("wkr_{}", uuid::Uuid::new_v4().simple()).into(),
            tx,
            targets: sender::Targets::new(db, secrets, allow),
            recorded: Arc::new(Notify::new()),
            writer,
        }
    }

    /// Sends a publish call's rows to the writer.
    pub(crate) fn store(&self, pending: ingest::Pending) {
        let _ = self.write.send(writer::RecMsg::Ingest(pending));
    }

    /// Hands freshly committed deliveries to the worker (no database read).
    pub fn enqueue(&self, deliveries: Vec<Queued>) {
        if !deliveries.is_empty() {
            let _ = self.tx.send(Msg::Add(deliveries));
        }
    }

    /// Forgets a delivery that was cancelled in the database: no further
    /// attempt (one in flight finishes; its state is not written).
    pub fn cancelled(&self, webhook_id: &str, seq: i64) {
        let _ = self.tx.send(Msg::Cancel(webhook_id.into(), seq));
    }

    /// A webhook changed (edited, disabled, rotated, deleted): the next
    /// attempt reads it again.
    pub fn webhook_changed(&self, webhook_id: &str) {
        self.targets.forget(webhook_id);
    }
}

/// Everything the worker's tasks share.
pub(crate) struct Ctx {
    pub db: Db,
    pub config: DeliveryConfig,
    pub policy: policy::RetryPolicy,
    pub client: reqwest::Client,
    pub handle: Handle,
    pub recorder: mpsc::UnboundedSender<writer::RecMsg>,
}

/// Checkpoints the write-ahead log four times a second, beside the writer
/// (whose commits never do it themselves: see `db::writer`).
async fn checkpoints(db: Db) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        if let Err(e) = super::db::checkpoint(&db).await {
            tracing::warn!("checkpoint: {e}");
        }
    }
}

/// The running worker: stop it with [`Worker::shutdown`].
pub struct Worker {
    handle: Handle,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    scheduler: Option<tokio::task::JoinHandle<()>>,
    ctx: Arc<Ctx>,
}

/// Starts the worker: lease heartbeat and claiming, scheduler, writer.
pub async fn start(
    db: Db,
    config: DeliveryConfig,
    allow: AllowList,
    resolver: Resolver,
    handle: Handle,
) -> anyhow::Result<Worker> {
    let (rx, record_rx) = handle
        .inboxes
        .lock()
        .expect("not poisoned")
        .take()
        .ok_or_else(|| anyhow::anyhow!("the worker was started twice"))?;
    let ctx = Arc::new(Ctx {
        client: sender::client(&config, allow, resolver)?,
        policy: policy::RetryPolicy {
            max_attempts: config.max_attempts,
            base: Duration::from_millis(config.retry_base_ms),
            cap: Duration::from_millis(config.retry_max_ms),
        },
        db,
        config,
        handle: handle.clone(),
        recorder: handle.write.clone(),
    });
    // Register the lease before anything is claimed or handed over.
    lease::heartbeat(&ctx).await?;
    let recorder = tokio::spawn(writer::run(ctx.clone(), record_rx));
    let lease = tokio::spawn(lease::run(ctx.clone()));
    let checkpoints = tokio::spawn(checkpoints(ctx.db.clone()));
    let scheduler = tokio::spawn(scheduler::run(ctx.clone(), rx));
    Ok(Worker {
        handle,
        tasks: vec![lease, recorder, checkpoints],
        scheduler: Some(scheduler),
        ctx,
    })
}

impl Worker {
    /// Graceful stop: no new attempts; attempts in flight get until the
    /// grace deadline; every result so far is written; what this worker
    /// still holds is released for the next one. Nothing is lost.
    pub async fn shutdown(mut self) {
        let (done_tx, done_rx) = oneshot::channel();
        if self.handle.tx.send(Msg::Shutdown(done_tx)).is_ok() {
            let _ = done_rx.await;
        }
        if let Some(s) = self.scheduler.take() {
            let _ = s.await;
        }
        // No more claims; every result written; then let go of the rest.
        let lease = self.tasks.remove(0);
        lease.abort();
        writer::flush(&self.ctx).await;
        for t in self.tasks.drain(..) {
            t.abort();
        }
        match lease::release(&self.ctx).await {
            Ok(n) => tracing::info!(released = n, "worker stopped"),
            Err(e) => tracing::warn!("releasing deliveries at shutdown: {e}"),
        }
    }
}
