//! PostgreSQL's schema and migrations, beside SQLite's: the schema says
//! what SQLite's says, migrations are safe with several processes starting
//! at once, and the hourly counts' trigger counts alike. These run in every
//! run of the suite, whichever backend the servers of the other tests use.
//! `scripts/test` starts a throw-away server and sets
//! `SIGNPOST_TEST_POSTGRES_URL`; without one these tests fail, they do not
//! skip.

use crate::support::fresh_postgres_database;
use signpost::server::db;
use sqlx::{PgPool, Row, SqlitePool};
use std::collections::{BTreeMap, BTreeSet};

async fn migrated_postgres() -> PgPool {
    let pg = db::postgres::connect(&fresh_postgres_database().await)
        .await
        .unwrap();
    db::postgres::migrate(&pg).await.unwrap();
    pg
}

async fn migrated_sqlite(dir: &tempfile::TempDir) -> SqlitePool {
    let sqlite = db::connect(&format!("sqlite://{}", dir.path().join("s.db").display()))
        .await
        .unwrap();
    db::migrate(&sqlite).await.unwrap();
    let db::Db::Sqlite(sqlite) = sqlite else {
        unreachable!("a sqlite:// URL opens SQLite")
    };
    sqlite
}

/// The migrations in `migrations/postgres/`.
fn postgres_migrations() -> i64 {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .filter(|f| f.as_ref().unwrap().path().extension() == Some(std::ffi::OsStr::new("sql")))
        .count() as i64
}

type Tables = BTreeMap<String, BTreeSet<String>>;

fn group(rows: Vec<(String, String)>) -> Tables {
    let mut tables = Tables::new();
    for (table, item) in rows {
        tables.entry(table).or_default().insert(item);
    }
    tables
}

/// Every table has the same columns, and the same indexes, on both.
#[tokio::test]
async fn the_schema_has_the_same_tables_columns_and_indexes_as_sqlites() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = migrated_sqlite(&dir).await;
    let pg = migrated_postgres().await;

    let sqlite_columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, c.name FROM sqlite_master m JOIN pragma_table_info(m.name) c \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'",
    )
    .fetch_all(&sqlite)
    .await
    .unwrap();
    // Not `tower_sessions`: on PostgreSQL it comes with the migrations
    // (0002_sessions.sql), on SQLite the session store creates it at start.
    let pg_columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%' \
         AND table_name <> 'tower_sessions'",
    )
    .fetch_all(&pg)
    .await
    .unwrap();
    let (sqlite_columns, pg_columns) = (group(sqlite_columns), group(pg_columns));
    assert!(sqlite_columns.contains_key("replays") && sqlite_columns.len() == 21);
    assert_eq!(pg_columns, sqlite_columns);

    // Named indexes (not those of primary keys and UNIQUE columns).
    let sqlite_indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
    )
    .fetch_all(&sqlite)
    .await
    .unwrap();
    let pg_indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT i.tablename::text, i.indexname::text FROM pg_indexes i \
         WHERE i.schemaname = 'public' AND i.tablename <> 'tower_sessions' AND NOT EXISTS ( \
           SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
    )
    .fetch_all(&pg)
    .await
    .unwrap();
    assert_eq!(group(pg_indexes), group(sqlite_indexes));

    // The trigger that keeps the hourly counts exists on both.
    let n: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_trigger WHERE tgname = 'deliveries_finished'")
            .fetch_one(&pg)
            .await
            .unwrap();
    assert_eq!(n, 1);
}

/// Processes that start together all migrate (one applies, the others wait
/// on sqlx's advisory lock and find it done), and a second start is a no-op.
#[tokio::test]
async fn several_processes_migrating_at_once_all_succeed() {
    let url = fresh_postgres_database().await;
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                let pg = db::postgres::connect(&url).await?;
                db::postgres::migrate(&pg).await
            })
        })
        .collect();
    for start in starts {
        start.await.unwrap().unwrap();
    }
    let pg = db::postgres::connect(&url).await.unwrap();
    db::postgres::migrate(&pg).await.unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&pg)
        .await
        .unwrap();
    assert_eq!(applied, postgres_migrations());
}

/// The same finished deliveries make the same rows of `webhook_hours` on
/// both engines (the bucket is two significant digits of the final
/// attempt's duration, -1 without one).
#[tokio::test]
async fn the_hourly_counts_trigger_counts_alike_on_both() {
    // (final status, durations of its attempts in order)
    let cases: [(&str, &[i64]); 8] = [
        ("succeeded", &[]),
        ("succeeded", &[0]),
        ("succeeded", &[57]),
        ("failed", &[3000, 134]),
        ("succeeded", &[134]),
        ("dropped", &[2345]),
        ("succeeded", &[99_999]),
        ("cancelled", &[12]),
    ];
    const SETUP: [&str; 3] = [
        "INSERT INTO projects (id, name, secret_hash, created_at, updated_at) \
         VALUES ('prj_1', 'P', $1, 0, 0)",
        "INSERT INTO webhooks (id, project_id, url, scheme, secret, created_at, updated_at) \
         VALUES ('wh_1', 'prj_1', 'https://x.example/', 'spectrum-v0', $1, 0, 0)",
        "INSERT INTO events (id, project_id, event, body, created_at) \
         VALUES ('evt_1', 'prj_1', 'e', $1, 0)",
    ];
    const DELIVERY: &str = "INSERT INTO deliveries (seq, id, project_id, event_id, webhook_id, \
         next_at, created_at) VALUES ($1, $2, 'prj_1', 'evt_1', 'wh_1', 0, $3)";
    const ATTEMPT: &str = "INSERT INTO attempts (delivery_seq, number, started_at, duration_ms, \
         request_headers) VALUES ($1, $2, 0, $3, '[]')";
    const FINISH: &str = "UPDATE deliveries SET status = $1, finished_at = $2 WHERE seq = $3";
    const HOURS: &str = "SELECT webhook_id, hour, succeeded, bucket, count FROM webhook_hours \
         ORDER BY hour, succeeded, bucket";

    let dir = tempfile::tempdir().unwrap();
    let sqlite = migrated_sqlite(&dir).await;
    let pg = migrated_postgres().await;
    type Hour = (String, i64, bool, i64, i64);
    let mut seen: Vec<Vec<Hour>> = Vec::new();
    macro_rules! run_on {
        ($db:expr) => {{
            for sql in SETUP {
                sqlx::query(sql).bind(vec![1u8]).execute($db).await.unwrap();
            }
            for (i, (status, durations)) in cases.iter().enumerate() {
                let seq = i as i64 + 1;
                let at = 3_600_000 * (i as i64 % 2) + 42;
                sqlx::query(DELIVERY)
                    .bind(seq)
                    .bind(format!("dlv_{seq}"))
                    .bind(at)
                    .execute($db)
                    .await
                    .unwrap();
                for (n, d) in durations.iter().enumerate() {
                    sqlx::query(ATTEMPT)
                        .bind(seq)
                        .bind(n as i64 + 1)
                        .bind(*d)
                        .execute($db)
                        .await
                        .unwrap();
                }
                sqlx::query(FINISH)
                    .bind(*status)
                    .bind(at + 5)
                    .bind(seq)
                    .execute($db)
                    .await
                    .unwrap();
            }
            let rows = sqlx::query(HOURS).fetch_all($db).await.unwrap();
            let hours: Vec<Hour> = rows
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
                .collect();
            seen.push(hours);
        }};
    }
    run_on!(&sqlite);
    run_on!(&pg);
    assert_eq!(seen[1], seen[0]);
    // And what they agree on is right: 134 ms in bucket 313, none -1, ...
    let buckets: BTreeSet<i64> = seen[0].iter().map(|h| h.3).collect();
    assert_eq!(buckets, BTreeSet::from([-1, 0, 57, 313, 423, 599]));
    let total: i64 = seen[0].iter().map(|h| h.4).sum();
    assert_eq!(total, 7, "a cancelled delivery is not counted");
}

fn signpost(db: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_signpost"))
        .env("SIGNPOST_DATABASE_URL", db)
        .env("SIGNPOST_ADDR", "127.0.0.1:0")
        .env("SIGNPOST_LOG", "warn")
        .args(args)
        .output()
        .unwrap()
}

/// `signpost migrate` creates the schema on PostgreSQL, and the other
/// commands work on it.
#[tokio::test]
async fn migrate_works_on_postgres_and_so_do_the_other_commands() {
    let url = fresh_postgres_database().await;
    let out = signpost(&url, &["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "migrations applied"
    );
    let pg = db::postgres::connect(&url).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM lanes")
        .fetch_one(&pg)
        .await
        .unwrap();
    assert_eq!(n, 0);

    let out = signpost(&url, &["project", "create", "--name", "x", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = v["id"].as_str().unwrap();
    let stored: String = sqlx::query_scalar("SELECT name FROM projects WHERE id = $1")
        .bind(id)
        .fetch_one(&pg)
        .await
        .unwrap();
    assert_eq!(stored, "x");
    // Migrating again is a no-op.
    let out = signpost(&url, &["migrate"]);
    assert!(out.status.success());
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&pg)
        .await
        .unwrap();
    assert_eq!(applied, postgres_migrations());
}
