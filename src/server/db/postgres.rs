//! PostgreSQL, for several Signpost processes on one database: its pools,
//! its migrations (`migrations/postgres/`), and how its URLs are told apart
//! and shown.

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::str::FromStr;
use std::time::Duration;

/// Whether a database URL names PostgreSQL.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// A transaction left open this long is ended by the server, with its
/// session: a process frozen in the middle of one (a SIGSTOP, a paused VM)
/// would otherwise hold its row locks, and stall every other process that
/// needs those rows, for as long as it stays frozen.
const IDLE_IN_TRANSACTION_MS: u64 = 2_000;

fn options(url: &str) -> anyhow::Result<PgConnectOptions> {
    Ok(PgConnectOptions::from_str(url)
        .with_context(|| format!("invalid database URL {}", redact(url)))?
        .options([(
            "idle_in_transaction_session_timeout",
            IDLE_IN_TRANSACTION_MS.to_string(),
        )]))
}

pub async fn connect(url: &str) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options(url)?)
        .await
        .with_context(|| format!("cannot open database {}", redact(url)))
}

/// The delivery engine's writer: two connections, one for each writer
/// task (publish calls, records), each of which commits its groups in the
/// order it made them. Opened on first use.
pub fn writer(url: &str) -> anyhow::Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(30))
        .connect_lazy_with(options(url)?.statement_cache_capacity(512)))
}

/// Applies `migrations/postgres/` (embedded at build time). Several
/// processes may start at once: sqlx holds an advisory lock while it
/// migrates, so one applies them and the others find them applied.
pub async fn migrate(db: &PgPool) -> anyhow::Result<()> {
    sqlx::migrate!("./migrations/postgres")
        .run(db)
        .await
        .context("database migration failed")
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_are_told_apart_and_their_passwords_never_shown() {
        assert!(is_postgres("postgres://u@h/db"));
        assert!(is_postgres("postgresql://u@h/db"));
        assert!(!is_postgres("sqlite://signpost.db"));
        assert_eq!(
            redact("postgres://u:hunter2@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
