//! The database: connection, migrations, and one module per table.

pub mod activity;
pub mod attempts;
pub mod deliveries;
pub mod delivery_log;
pub mod events;
pub mod idempotency_keys;
pub mod login_failures;
pub mod projects;
pub mod sign_in_links;
pub mod users;
pub mod webhooks;
pub mod workers;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub type Db = SqlitePool;

fn options(url: &str) -> anyhow::Result<SqliteConnectOptions> {
    Ok(SqliteConnectOptions::from_str(url)
        .with_context(|| format!("invalid database URL {url:?}"))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
        // Read pages through a memory map instead of a read() per page.
        .pragma("mmap_size", "268435456"))
}

/// The delivery engine's writer: one connection, so that ingest, claims
/// and the recorder take turns in order (SQLite has one writer anyway) and
/// its page cache stays warm instead of being invalidated by the other
/// connections' writes. Group sizes vary, hence the larger statement cache.
/// Opened on first use.
pub fn writer(url: &str) -> anyhow::Result<Db> {
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .connect_lazy_with(
            options(url)?
                .statement_cache_capacity(512)
                // Its commits never run a checkpoint (and its fsyncs): see
                // `checkpoint`, which runs them beside the writer.
                .pragma("wal_autocheckpoint", "0"),
        ))
}

/// Copies the write-ahead log into the database file without stopping the
/// writer (a PASSIVE checkpoint). The engine's writer leaves this to a
/// background task so that no commit waits for it.
pub async fn checkpoint(db: &Db) -> sqlx::Result<()> {
    sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .execute(db)
        .await
        .map(|_| ())
}

/// Opens the database (creating the SQLite file if needed) in WAL mode.
pub async fn connect(url: &str) -> anyhow::Result<Db> {
    let options = options(url)?;
    SqlitePoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .with_context(|| format!("cannot open database {url}"))
}

/// Applies the migrations in `migrations/` (embedded at build time).
pub async fn migrate(db: &Db) -> anyhow::Result<()> {
    sqlx::migrate!("./migrations")
        .run(db)
        .await
        .context("database migration failed")
}

/// Milliseconds since the Unix epoch, the unit of every stored timestamp.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
