//! The database: connection, migrations, and one module per table.

pub mod activity;
pub mod attempts;
pub mod deliveries;
pub mod delivery_log;
pub mod events;
pub mod idempotency_keys;
pub mod lanes;
pub mod login_failures;
pub mod postgres;
pub mod projects;
pub mod sign_in_links;
pub mod users;
pub mod webhooks;
pub mod workers;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Connection, SqlitePool};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub type Db = SqlitePool;

/// How a commit reaches the disk. `Full` (the default) fsyncs the
/// write-ahead log at every commit, so that what was answered 202 survives
/// a power cut or an OS crash; `Normal` only at checkpoints, so a power cut
/// can lose the last commits (a crash of the process alone loses nothing).
pub use sqlx::sqlite::SqliteSynchronous as Synchronous;

fn options(url: &str, synchronous: Synchronous) -> anyhow::Result<SqliteConnectOptions> {
    Ok(SqliteConnectOptions::from_str(url)
        .with_context(|| format!("invalid database URL {url:?}"))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
        // Read pages through a memory map instead of a read() per page.
        .pragma("mmap_size", "268435456"))
}

/// A pool whose connections go back only when they are out of any
/// transaction. When SQLite rolls a transaction back by itself (a full
/// disk, an I/O error), sqlx's own rollback then fails and the connection
/// would refuse every later `BEGIN`: such a connection is closed instead,
/// and the next user gets a fresh one.
fn pool() -> SqlitePoolOptions {
    SqlitePoolOptions::new().after_release(|conn, _| {
        Box::pin(async move {
            // A rollback queued by a dropped transaction runs before this.
            conn.ping().await?;
            Ok(!conn.is_in_transaction())
        })
    })
}

/// The delivery engine's writer: one connection, so that ingest, claims
/// and the recorder take turns in order (SQLite has one writer anyway) and
/// its page cache stays warm instead of being invalidated by the other
/// connections' writes. Group sizes vary, hence the larger statement cache.
/// Opened on first use.
pub fn writer(url: &str, synchronous: Synchronous) -> anyhow::Result<Db> {
    Ok(pool()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .connect_lazy_with(
            options(url, synchronous)?
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

/// Opens the database (creating the SQLite file if needed) in WAL mode,
/// every commit on disk.
pub async fn connect(url: &str) -> anyhow::Result<Db> {
    connect_with(url, Synchronous::Full).await
}

/// Opens the database with the given durability of commits.
pub async fn connect_with(url: &str, synchronous: Synchronous) -> anyhow::Result<Db> {
    if postgres::is_postgres(url) {
        anyhow::bail!(
            "this version of Signpost serves SQLite only: on PostgreSQL it can so far only \
             create the schema (`signpost migrate`)"
        );
    }
    let options = options(url, synchronous)?;
    pool()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .with_context(|| format!("cannot open database {url}"))
}

/// Applies the migrations in `migrations/sqlite/` (embedded at build time).
pub async fn migrate(db: &Db) -> anyhow::Result<()> {
    sqlx::migrate!("./migrations/sqlite")
        .run(db)
        .await
        .context("database migration failed")
}

/// Whether a failed write may pass if tried again later: the database is
/// busy or locked, the disk is full, an I/O error, no connection. Anything
/// else (a constraint, a type, a size, a statement that cannot work) will
/// fail the same way every time.
pub fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(e) => {
            let code = e.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0);
            // SQLITE_BUSY, _LOCKED, _NOMEM, _IOERR, _FULL, _CANTOPEN,
            // _PROTOCOL (with their extended codes).
            matches!(code & 0xff, 5 | 6 | 7 | 10 | 13 | 14 | 15)
        }
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        _ => false,
    }
}

/// Milliseconds since the Unix epoch, the unit of every stored timestamp.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
