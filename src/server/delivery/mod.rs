//! The delivery engine (docs/delivery.md): ingest stores an event and its
//! deliveries in one transaction and hands them to the worker in memory;
//! the worker attempts them (in order per webhook), signs, sends through
//! the URL guard, retries on schedule and records every attempt in groups.
//! The queue is the database: the worker holds a bounded window of it
//! (see [`scheduler`] and [`budget`]), and every channel between the parts
//! is bounded (see [`messages`]).
//!
//! - [`messages`]: every type that flows between the parts, in one place.
//! - [`handle`]: what the HTTP side holds: the inboxes of the writer and the scheduler.
//! - [`ingest`]: validation, and a publish call's rows on their way to the writer.
//! - [`writer`]: group-commits ingest's rows, attempts and delivery states (one task on SQLite, two on PostgreSQL); auto-disable.
//! - [`scheduler`]: what to attempt now (per-webhook order, in-flight caps, retry timers).
//! - [`attempt`]: one attempt: sign, POST, classify, record.
//! - [`client`]: the HTTP client and its guarded resolver; [`targets`]: the webhooks it sends to.
//! - [`lease`]: the worker's lease, claiming lanes no live worker owns, release.
//! - [`budget`]: what the worker holds in memory, against its ceilings.
//! - [`policy`], [`signer`]: pure rules; [`retention`]: deleting old rows.

pub mod attempt;
pub mod auto_disable;
pub mod budget;
pub mod client;
pub mod handle;
pub mod ingest;
pub mod lease;
pub mod messages;
pub mod policy;
pub mod retention;
pub mod scheduler;
pub mod signer;
pub mod subscribers;
pub mod targets;
pub mod writer;

pub use handle::Handle;

use super::config::DeliveryConfig;
use super::db::Db;
use super::url_guard::{AllowList, Resolver};
use messages::ToScheduler;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

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

/// How long a shutdown waits for the writer to write what it was sent.
const FLUSH_LIMIT: Duration = Duration::from_secs(10);

/// The running worker: stop it with [`Worker::shutdown`].
pub struct Worker {
    to_scheduler: mpsc::Sender<ToScheduler>,
    to_writer: mpsc::Sender<messages::ToWriter>,
    lease: Arc<lease::Lease>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    lease_task: tokio::task::JoinHandle<()>,
    scheduler: Option<tokio::task::JoinHandle<()>>,
}

/// Starts the worker: lease heartbeat and claiming, scheduler, writer.
pub async fn start(
    db: Db,
    config: DeliveryConfig,
    allow: AllowList,
    resolver: Resolver,
    handle: Handle,
) -> anyhow::Result<Worker> {
    let inboxes = handle
        .inboxes
        .lock()
        .expect("not poisoned")
        .take()
        .ok_or_else(|| anyhow::anyhow!("the worker was started twice"))?;
    let policy = policy::RetryPolicy::from(&config);
    let validity = Arc::new(lease::Validity::new());
    let attempts = Arc::new(attempt::Attempts {
        client: client::client(&config, allow, resolver)?,
        policy,
        targets: handle.targets.clone(),
        db: db.clone(),
        budget: handle.budget.clone(),
        to_writer: handle.to_writer.clone(),
        worker_id: handle.worker_id.clone(),
        validity: validity.clone(),
        metrics: handle.metrics.clone(),
    });
    let lease = Arc::new(lease::Lease {
        worker_id: handle.worker_id.clone(),
        writer: handle.writer.clone(),
        db: db.clone(),
        lease_ms: config.lease_ms,
        to_scheduler: handle.to_scheduler.clone(),
        to_writer: handle.to_writer.clone(),
        to_releases: handle.to_releases.clone(),
        validity: validity.clone(),
        budget: handle.budget.clone(),
        targets: handle.targets.clone(),
        max_in_flight: config.max_in_flight as usize,
    });
    let writer = Arc::new(writer::Writer {
        db: handle.writer.clone(),
        worker_id: handle.worker_id.clone(),
        config: config.clone(),
        to_scheduler: handle.to_scheduler.clone(),
        recorded: handle.recorded.clone(),
        targets: handle.targets.clone(),
        metrics: handle.metrics.clone(),
    });
    let scheduler = scheduler::Scheduler::new(
        scheduler::Limits {
            max_in_flight: config.max_in_flight as usize,
            unordered_concurrency: config.unordered_concurrency as usize,
            lane_window: config.lane_window as usize,
            max_event_bytes: config.max_event_bytes as usize,
            shutdown_grace: Duration::from_millis(config.shutdown_grace_ms),
        },
        attempts,
        db,
        handle.budget.clone(),
        validity,
    );
    // Register the lease before anything is claimed or handed over.
    lease::register(&lease).await?;
    // One writer task on SQLite; on PostgreSQL ingest's and the records'
    // commits run side by side, each task on a connection of its own.
    let mut writer_tasks = Vec::new();
    if writer.db.is_postgres() {
        writer_tasks.push(tokio::spawn(writer::run(
            writer.clone(),
            writer::Inboxes {
                publishes: Some(inboxes.publishes),
                releases: Some(inboxes.releases),
                records: None,
            },
        )));
        writer_tasks.push(tokio::spawn(writer::run(
            writer,
            writer::Inboxes {
                publishes: None,
                releases: None,
                records: Some(inboxes.records),
            },
        )));
    } else {
        writer_tasks.push(tokio::spawn(writer::run(
            writer,
            writer::Inboxes {
                publishes: Some(inboxes.publishes),
                releases: Some(inboxes.releases),
                records: Some(inboxes.records),
            },
        )));
    }
    let lease_task = tokio::spawn(lease::run(lease.clone()));
    let checkpoints = tokio::spawn(checkpoints(handle.writer.clone()));
    let scheduler = tokio::spawn(scheduler::run(scheduler, inboxes.scheduler));
    Ok(Worker {
        to_scheduler: handle.to_scheduler.clone(),
        to_writer: handle.to_writer.clone(),
        lease,
        tasks: writer_tasks.into_iter().chain([checkpoints]).collect(),
        lease_task,
        scheduler: Some(scheduler),
    })
}

impl Worker {
    /// Graceful stop: no new attempts; attempts in flight get until the
    /// grace deadline; every result so far is written; this worker's lanes
    /// are released for the next one. Nothing is lost.
    pub async fn shutdown(mut self) {
        let (done_tx, done_rx) = oneshot::channel();
        if self
            .to_scheduler
            .send(ToScheduler::Shutdown(done_tx))
            .await
            .is_ok()
        {
            let _ = done_rx.await;
        }
        if let Some(s) = self.scheduler.take() {
            let _ = s.await;
        }
        // No more claims; every result written; then let go of the lanes.
        self.lease_task.abort();
        if !writer::flush(&self.to_writer, FLUSH_LIMIT).await {
            tracing::warn!("the writer did not write every result before the shutdown");
        }
        for t in self.tasks.drain(..) {
            t.abort();
        }
        match lease::release(&self.lease).await {
            Ok(n) => tracing::info!(lanes = n, "worker stopped"),
            Err(e) => tracing::warn!("releasing lanes at shutdown: {e}"),
        }
    }
}
