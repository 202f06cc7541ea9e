//! The database: connection, migrations, and one module per table.

pub mod access;
pub mod activity;
pub mod alerts;
pub mod attempts;
mod columns;
pub mod deliveries;
pub mod delivery_log;
pub mod event_types;
pub mod events;
pub mod idempotency_keys;
pub mod lanes;
pub mod login_failures;
pub mod portal;
pub mod postgres;
pub mod projects;
pub mod queue;
pub mod replays;
pub mod sessions;
pub mod settings;
pub mod sign_in_links;
pub mod users;
pub mod webhook_states;
pub mod webhooks;
pub mod workers;

use anyhow::Context;
use sqlx::postgres::PgDatabaseError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Connection, PgPool, Postgres, Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The database: SQLite (embedded, the default) or PostgreSQL (several
/// processes on one database), chosen by the URL at run time. The SQL of
/// the storage modules is written once for both where it can be (`$N`
/// parameters, which sqlx's SQLite driver binds by number; `TRUE`/`FALSE`;
/// casts to `BIGINT`), and per backend where it pays.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A transaction on either backend.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs `$body` once per backend, with `$pool` bound to the concrete pool
/// (`&SqlitePool` or `&PgPool`) and, in the second form, `$DB` naming the
/// backend's `sqlx::Database` (for a `QueryBuilder`). The body is compiled
/// twice, so the same query text and binds serve both.
#[macro_export]
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::server::db::Db::Sqlite($pool) => $body,
            $crate::server::db::Db::Postgres($pool) => $body,
        }
    };
    ($db:expr, $pool:ident, $DB:ident => $body:expr) => {
        match $db {
            $crate::server::db::Db::Sqlite($pool) => {
                #[allow(dead_code)]
                type $DB = ::sqlx::Sqlite;
                $body
            }
            $crate::server::db::Db::Postgres($pool) => {
                #[allow(dead_code)]
                type $DB = ::sqlx::Postgres;
                $body
            }
        }
    };
}

/// Like [`on_db!`], in a transaction: `$conn` is the transaction's
/// connection (`&mut SqliteConnection` or `&mut PgConnection`); use it as
/// `&mut *$conn` for each statement.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::server::db::Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::server::db::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
    ($tx:expr, $conn:ident, $DB:ident => $body:expr) => {
        match $tx {
            $crate::server::db::Tx::Sqlite(t) => {
                #[allow(dead_code)]
                type $DB = ::sqlx::Sqlite;
                let $conn = &mut **t;
                $body
            }
            $crate::server::db::Tx::Postgres(t) => {
                #[allow(dead_code)]
                type $DB = ::sqlx::Postgres;
                let $conn = &mut **t;
                $body
            }
        }
    };
}

/// What only one transaction at a time may do, across every process on
/// the database. On PostgreSQL each is an advisory lock held until the
/// transaction ends; SQLite has one writer, so there it costs nothing.
#[derive(Clone, Copy, Debug)]
pub enum Guard {
    /// Creating the first user, changing roles and removing users (the
    /// last-admin guard).
    Users,
    /// Reserving a password check under the sign-in throttle.
    SignInThrottle,
}

/// The periodic work one process at a time does (see [`Db::exclusive`]).
#[derive(Clone, Copy, Debug)]
pub enum Exclusive {
    /// Retention, expired sessions and old sign-in failures.
    Maintenance = 0x5167_0010,
}

impl Db {
    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }

    /// The database's clock in milliseconds since the Unix epoch, as an SQL
    /// expression: leases are compared on it, so that several machines'
    /// clocks never are. (SQLite's is this machine's clock.)
    pub fn clock(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "CAST(unixepoch('subsec') * 1000 AS INTEGER)",
            Db::Postgres(_) => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
        }
    }

    /// `sql` on SQLite, nothing on PostgreSQL: for SQLite's planner hints
    /// (`INDEXED BY`), which PostgreSQL's planner, with its statistics,
    /// does not need.
    pub fn sqlite_hint<'a>(&self, sql: &'a str) -> &'a str {
        match self {
            Db::Sqlite(_) => sql,
            Db::Postgres(_) => "",
        }
    }

    /// A transaction (on SQLite, it takes the write lock at its first write).
    pub async fn begin(&self) -> sqlx::Result<Tx> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin().await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// A transaction that writes: on SQLite it takes the write lock at
    /// once (`BEGIN IMMEDIATE`), so it never fails half-way for want of it.
    pub async fn begin_write(&self) -> sqlx::Result<Tx> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Runs `work` unless another process on this database is running work
    /// under the same `key` (the periodic sweeps: one process does each).
    /// On PostgreSQL a session-level advisory lock on a connection held for
    /// the while (freed with the session if the process dies); on SQLite,
    /// `work` just runs. Returns `None` when another process had it.
    pub async fn exclusive<T>(
        &self,
        key: Exclusive,
        work: impl std::future::Future<Output = T>,
    ) -> sqlx::Result<Option<T>> {
        let Db::Postgres(pool) = self else {
            return Ok(Some(work.await));
        };
        let key = key as i64;
        let mut conn = pool.acquire().await?;
        let mine: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut *conn)
            .await?;
        if !mine {
            return Ok(None);
        }
        let out = work.await;
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(key)
            .execute(&mut *conn)
            .await?;
        Ok(Some(out))
    }

    pub async fn close(&self) {
        on_db!(self, p => p.close().await)
    }
}

impl Tx {
    pub async fn commit(self) -> sqlx::Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }

    /// Holds `guard` until the transaction ends (see [`Guard`]).
    pub async fn guard(&mut self, guard: Guard) -> sqlx::Result<()> {
        if let Tx::Postgres(t) = self {
            // Keys of our own, far from anything another program would pick.
            let key: i64 = match guard {
                Guard::Users => 0x5167_0001,
                Guard::SignInThrottle => 0x5167_0002,
            };
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(key)
                .execute(&mut **t)
                .await?;
        }
        Ok(())
    }

    /// `SAVEPOINT`, `RELEASE` and `ROLLBACK TO` of one savepoint, the same
    /// on both backends.
    pub async fn savepoint(&mut self) -> sqlx::Result<()> {
        on_tx!(self, c => sqlx::query("SAVEPOINT item").execute(c).await.map(|_| ()))
    }

    pub async fn release(&mut self) -> sqlx::Result<()> {
        on_tx!(self, c => sqlx::query("RELEASE SAVEPOINT item").execute(c).await.map(|_| ()))
    }

    pub async fn roll_back_to_savepoint(&mut self) -> sqlx::Result<()> {
        on_tx!(self, c => sqlx::query("ROLLBACK TO SAVEPOINT item").execute(c).await.map(|_| ()))?;
        self.release().await
    }
}

/// How a commit reaches the disk. `Full` (the default) fsyncs the
/// write-ahead log at every commit, so that what was answered 202 survives
/// a power cut or an OS crash; `Normal` only at checkpoints, so a power cut
/// can lose the last commits (a crash of the process alone loses nothing).
/// SQLite only: PostgreSQL's durability is its own server's setting.
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

/// The delivery engine's writer. On SQLite one connection, so that ingest
/// and the records take turns in order (SQLite has one writer anyway) and
/// its page cache stays warm instead of being invalidated by the other
/// connections' writes; on PostgreSQL one per writer task
/// ([`postgres::writer`]). Group sizes vary, hence the larger statement
/// cache. Opened on first use.
pub fn writer(url: &str, synchronous: Synchronous) -> anyhow::Result<Db> {
    if postgres::is_postgres(url) {
        return postgres::writer(url).map(Db::Postgres);
    }
    Ok(Db::Sqlite(
        pool()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_lazy_with(
                options(url, synchronous)?
                    .statement_cache_capacity(512)
                    // Its commits never run a checkpoint (and its fsyncs): see
                    // `checkpoint`, which runs them beside the writer.
                    .pragma("wal_autocheckpoint", "0"),
            ),
    ))
}

/// Copies SQLite's write-ahead log into the database file without stopping
/// the writer (a PASSIVE checkpoint). The engine's writer leaves this to a
/// background task so that no commit waits for it. Nothing on PostgreSQL.
pub async fn checkpoint(db: &Db) -> sqlx::Result<()> {
    match db {
        Db::Sqlite(p) => sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(p)
            .await
            .map(|_| ()),
        Db::Postgres(_) => Ok(()),
    }
}

/// Opens the database (creating the SQLite file if needed) in WAL mode,
/// every commit on disk.
pub async fn connect(url: &str) -> anyhow::Result<Db> {
    connect_with(url, Synchronous::Full).await
}

/// Opens the database with the given durability of commits (SQLite).
pub async fn connect_with(url: &str, synchronous: Synchronous) -> anyhow::Result<Db> {
    if postgres::is_postgres(url) {
        return postgres::connect(url).await.map(Db::Postgres);
    }
    let options = options(url, synchronous)?;
    pool()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map(Db::Sqlite)
        .with_context(|| format!("cannot open database {url}"))
}

/// Applies the migrations of the backend (`migrations/sqlite/` or
/// `migrations/postgres/`, embedded at build time).
pub async fn migrate(db: &Db) -> anyhow::Result<()> {
    match db {
        Db::Sqlite(p) => sqlx::migrate!("./migrations/sqlite")
            .run(p)
            .await
            .context("database migration failed"),
        Db::Postgres(p) => postgres::migrate(p).await,
    }
}

/// Whether a failed write may pass if tried again later: the database is
/// busy or locked, the disk is full, an I/O error, no connection, a
/// deadlock or serialization failure. Anything else (a constraint, a type,
/// a size, a statement that cannot work) will fail the same way every time.
pub fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(e) => {
            if let Some(pg) = e.try_downcast_ref::<PgDatabaseError>() {
                let code = pg.code();
                // Connection, transaction rollback (deadlock, serialization),
                // insufficient resources, operator intervention, system error.
                return ["08", "40", "53", "57", "58"]
                    .iter()
                    .any(|class| code.starts_with(class));
            }
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
