//! Server render time of the Delivery log page with 1,000,000 deliveries,
//! per filter, and SQLite's plan for each page's query.
//!
//!     cargo bench --features ssr --bench log_page
//!
//! The database is filled with SQL (1,000,000 events, deliveries and
//! attempts over 30 days, 10 webhooks, 20 event names and a rare one; 2%
//! failed, 0.3% dropped, the rest succeeded, nothing pending so the worker
//! stays idle; no `ANALYZE`, as in production). Then the real server runs in this process on 127.0.0.1:0,
//! an admin signs in, and one keep-alive client asks for each page
//! `ROUNDS` times: the time is from request to the last byte of the HTML,
//! which the server sends once every query of the page is done (the pages
//! render with `SsrMode::Async`).

#[path = "common.rs"]
mod common;
use common::summary;
use signpost::model::{Cursor, DeliveryStatus, LogFilter, TimeRange};
use signpost::server::config::Config;
use std::time::Instant;

const DELIVERIES: i64 = 1_000_000;
const WEBHOOKS: i64 = 10;
const ROUNDS: usize = 200;
const DAY_MS: i64 = 86_400_000;

async fn fill(db: &signpost::server::db::Db, project_id: &str) {
    let now = signpost::server::db::now_ms();
    let start = now - 30 * DAY_MS;
    let step = 30 * DAY_MS / DELIVERIES;
    let mut tx = common::sqlite(db).begin().await.unwrap();
    common::insert_webhooks(&mut tx, project_id, WEBHOOKS, start).await;
    let n = common::numbers(DELIVERIES);
    sqlx::query(&format!(
        "{n} INSERT INTO events (id, project_id, event, body, created_at) \
         SELECT printf('evt_%08d', i), ?1, \
           CASE WHEN i % 1000 = 7 THEN 'rare.event' ELSE 'event.' || (i % 20) END, \
           '{{\"event\":\"x\",\"n\":' || i || '}}', ?2 + i * ?3 FROM n"
    ))
    .bind(project_id)
    .bind(start)
    .bind(step)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(&format!(
        "{n} INSERT INTO deliveries (seq, id, project_id, event_id, webhook_id, status, attempts, \
           next_at, last_status, created_at, finished_at) \
         SELECT i + 1, printf('dlv_%08d', i), ?1, printf('evt_%08d', i), 'wh-' || (i % {WEBHOOKS}), \
           CASE WHEN i % 50 = 3 THEN 'failed' WHEN i % 333 = 5 THEN 'dropped' ELSE 'succeeded' END, \
           1, ?2 + i * ?3, CASE WHEN i % 50 = 3 THEN 500 ELSE 200 END, ?2 + i * ?3, ?2 + i * ?3 FROM n"
    ))
    .bind(project_id)
    .bind(start)
    .bind(step)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(&format!(
        "{n} INSERT INTO attempts (delivery_seq, number, started_at, duration_ms, request_headers, \
           response_status) \
         SELECT i + 1, 1, ?1 + i * ?2, i % 97, '[]', CASE WHEN i % 50 = 3 THEN 500 ELSE 200 END FROM n"
    ))
    .bind(start)
    .bind(step)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // No ANALYZE: Signpost never runs it, so the planner here sees what it
    // sees in production (no statistics).
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let (db, db_url, project) = common::bench_database(dir.path()).await;
    let filling = Instant::now();
    fill(&db, &project.id).await;
    println!(
        "filled {DELIVERIES} deliveries in {:.1} s",
        filling.elapsed().as_secs_f64()
    );

    let base = common::serve(Config::for_database(&db_url)).await;
    let client = common::signed_in(&base).await;

    let deep = Cursor::Before(DELIVERIES / 2);
    let pages: Vec<(&str, LogFilter, Cursor)> = vec![
        ("newest page", LogFilter::default(), Cursor::Newest),
        ("a page in the middle (cursor)", LogFilter::default(), deep),
        (
            "status = failed",
            LogFilter {
                status: Some(DeliveryStatus::Failed),
                ..LogFilter::default()
            },
            Cursor::Newest,
        ),
        (
            "status = succeeded (from the plain index)",
            LogFilter {
                status: Some(DeliveryStatus::Succeeded),
                ..LogFilter::default()
            },
            Cursor::Newest,
        ),
        (
            "status = dropped, in the middle",
            LogFilter {
                status: Some(DeliveryStatus::Dropped),
                ..LogFilter::default()
            },
            deep,
        ),
        (
            "webhook",
            LogFilter {
                webhook: Some("wh-3".into()),
                ..LogFilter::default()
            },
            Cursor::Newest,
        ),
        (
            "webhook + status = failed",
            LogFilter {
                webhook: Some("wh-3".into()),
                status: Some(DeliveryStatus::Failed),
                ..LogFilter::default()
            },
            Cursor::Newest,
        ),
        (
            "event name (common)",
            LogFilter {
                event: Some("event.4".into()),
                ..LogFilter::default()
            },
            Cursor::Newest,
        ),
        (
            "event name (rare: 1 in 1,000)",
            LogFilter {
                event: Some("rare.event".into()),
                ..LogFilter::default()
            },
            Cursor::Newest,
        ),
        (
            "search by delivery id",
            LogFilter {
                search: Some("dlv_00500000".into()),
                ..LogFilter::default()
            },
            Cursor::Newest,
        ),
        (
            "last 24 hours",
            LogFilter {
                within: Some(TimeRange::Day),
                ..LogFilter::default()
            },
            Cursor::Newest,
        ),
        (
            "since 15 days ago, until 14 days ago",
            LogFilter {
                since: Some(signpost::server::db::now_ms() - 15 * DAY_MS),
                until: Some(signpost::server::db::now_ms() - 14 * DAY_MS),
                ..LogFilter::default()
            },
            Cursor::Newest,
        ),
    ];

    println!("\nGET /p/{{pid}}/deliveries… (whole page, server render), {ROUNDS} requests each:");
    for (name, filter, cursor) in &pages {
        let url = format!(
            "{base}/p/{}/deliveries{}",
            project.id,
            filter.to_query(cursor.encode().as_deref())
        );
        let mut samples = Vec::with_capacity(ROUNDS);
        let mut rows = 0;
        for _ in 0..ROUNDS {
            let start = Instant::now();
            let res = client.get(&url).send().await.unwrap();
            assert_eq!(res.status(), 200, "{url}");
            let html = res.text().await.unwrap();
            samples.push(start.elapsed());
            rows = html.matches("data-delivery=").count();
        }
        summary(&format!("{name} ({rows} rows)"), samples);
    }

    println!("\nThe page's query alone (db::delivery_log::page), 50 calls each:");
    for (name, filter, cursor) in &pages {
        let mut filter = filter.clone();
        if let Some(range) = filter.within.take() {
            filter.since = Some(signpost::server::db::now_ms() - range.millis());
        }
        let mut samples = Vec::new();
        for _ in 0..50 {
            let start = Instant::now();
            signpost::server::db::delivery_log::page(&db, &project.id, &filter, *cursor, 50)
                .await
                .unwrap();
            samples.push(start.elapsed());
        }
        summary(name, samples);
    }

    println!("\nQuery plans (EXPLAIN QUERY PLAN):");
    for (name, filter, cursor) in &pages {
        let mut filter = filter.clone();
        if let Some(range) = filter.within.take() {
            filter.since = Some(signpost::server::db::now_ms() - range.millis());
        }
        let plan =
            signpost::server::db::delivery_log::explain(&db, &project.id, &filter, *cursor, 50)
                .await
                .unwrap();
        println!("{name}:");
        for line in plan {
            println!("    {line}");
        }
    }
}
