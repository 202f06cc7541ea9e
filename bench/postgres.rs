//! PostgreSQL beside SQLite, in one run (`scripts/bench-postgres` starts a
//! throw-away PostgreSQL with fsync on and sets `SIGNPOST_BENCH_POSTGRES_URL`):
//!
//! 1. one `signpost serve` process on each backend: 400 events × 50
//!    webhooks (20,000 deliveries) to a receiver answering at once:
//!    deliveries/s, and the ratio of PostgreSQL's to SQLite's;
//! 2. latency from the publish call's return to the receiver's arrival,
//!    p50/p99, at 500 events/s × 10 webhooks for 10 s, then at 250, on
//!    each backend; then at 500 again with the 10 webhooks keyed by the
//!    event's order id (`orderingKey` `/order/id`: every event its own key,
//!    so up to 16 at once per webhook);
//! 3. scaling with processes on one PostgreSQL: 1, 2 and 3 processes, each
//!    with `SIGNPOST_MAX_IN_FLIGHT=8` against a receiver that takes 20 ms
//!    (so each process's concurrency is the limit, not this machine's two
//!    cores): each process gets its own project of 8 ordered webhooks and
//!    its events are published through it (a lane belongs to the process
//!    that first stores a delivery in it).
//!
//! ```text
//! scripts/bench-postgres
//! ```
//!
//! The processes are the release binary; the receiver is the benches' own
//! (`common::receiver`), in its own process.

#[path = "common.rs"]
mod common;
use std::time::{Duration, Instant};

/// A fresh database: a SQLite file in `dir`, or a new PostgreSQL database.
async fn fresh(postgres: Option<&str>, dir: &std::path::Path, name: &str) -> String {
    match postgres {
        None => format!("sqlite://{}", dir.join(format!("{name}.db")).display()),
        Some(admin) => {
            let pool = sqlx::PgPool::connect(admin).await.unwrap();
            let db = format!("bench_{name}_{}", std::process::id());
            sqlx::query(&format!("CREATE DATABASE {db}"))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
            format!("{}/{db}", admin.rsplit_once('/').unwrap().0)
        }
    }
}

/// A project with `count` webhooks to `{rx}/{path}/{i}`, made through
/// `base` with the fields of `extra`; returns its credentials.
async fn project(
    client: &reqwest::Client,
    db_url: &str,
    base: &str,
    rx: &str,
    (path, extra): (&str, serde_json::Value),
    count: usize,
) -> (String, String) {
    let db = signpost::server::db::connect(db_url).await.unwrap();
    let p = signpost::server::projects::create(&db, path).await.unwrap();
    db.close().await;
    let prefix = format!("{rx}/{path}");
    common::add_webhooks_with(client, base, (&p.id, &p.secret), &prefix, count, extra).await;
    (p.id, p.secret)
}

fn plain(path: &str) -> (&str, serde_json::Value) {
    (path, serde_json::json!({}))
}

fn event_body(n: u64) -> String {
    format!(
        r#"{{"event":"order.paid","n":{n},"order":{{"id":"ord_{n:012}","amount":4200,"currency":"EUR","customer":"cus_0000000000000001","items":3}}}}"#
    )
}

async fn wait_for(client: &reqwest::Client, rx: &str, n: u64) {
    while common::hits(client, rx).await < n {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::main]
async fn main() {
    if std::env::var("SIGNPOST_BENCH_ROLE").as_deref() == Ok("receiver") {
        return common::receiver().await;
    }
    let postgres = std::env::var("SIGNPOST_BENCH_POSTGRES_URL").expect(
        "SIGNPOST_BENCH_POSTGRES_URL (a PostgreSQL server's admin URL): run scripts/bench-postgres",
    );
    let (_receiver, rx) = common::start_receiver();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();

    // 1 and 2, on each backend.
    let mut rates = Vec::new();
    for (run, (name, backend)) in [("sqlite", None), ("postgres", Some(postgres.as_str()))]
        .into_iter()
        .enumerate()
    {
        let db_url = fresh(backend, dir.path(), &format!("one_{name}")).await;
        let (_p, base) = common::serve_process(&db_url, &[]).await;
        let (pid, secret) = project(&client, &db_url, &base, &rx, plain("now"), 50).await;
        let before = common::hits(&client, &rx).await;
        let started = Instant::now();
        let url = format!("{base}/projects/{pid}/events");
        common::publish_all(
            &client,
            &url,
            (&pid, &secret),
            400,
            |i| event_body(i as u64),
            8,
        )
        .await;
        wait_for(&client, &rx, before + 20_000).await;
        let rate = 20_000.0 / started.elapsed().as_secs_f64();
        println!("1. {name:<8} one process: 20000 deliveries: {rate:>7.0} deliveries/s");
        rates.push(rate);

        let keyed = serde_json::json!({ "orderingKey": "/order/id" });
        for (k, (rate, extra)) in [
            (500u64, serde_json::json!({})),
            (250, serde_json::json!({})),
            (500, keyed),
        ]
        .into_iter()
        .enumerate()
        {
            let what = if extra.get("orderingKey").is_some() {
                "keyed"
            } else {
                ""
            };
            let (pid, secret) = project(&client, &db_url, &base, &rx, ("lat", extra), 10).await;
            let url = format!("{base}/projects/{pid}/events");
            // The receiver keeps every run's arrivals: this run's events are
            // numbered from `first`.
            let first = (run * 3 + k) as u64 * 1_000_000;
            let body: fn(u64) -> String = match run * 3 + k {
                0 => event_body,
                1 => |n| event_body(n + 1_000_000),
                2 => |n| event_body(n + 2_000_000),
                3 => |n| event_body(n + 3_000_000),
                4 => |n| event_body(n + 4_000_000),
                _ => |n| event_body(n + 5_000_000),
            };
            let returned =
                common::publish_at_rate(&client, &url, (&pid, &secret), rate, rate * 10, body)
                    .await;
            // When each publish call returned.
            let back: std::collections::HashMap<u64, u64> = returned
                .iter()
                .map(|(n, _, back)| (first + *n, *back))
                .collect();
            let expected = returned.len() * 10;
            let deadline = Instant::now() + Duration::from_secs(30);
            let arrivals = loop {
                let mine: Vec<(u64, u64)> = common::arrivals(&client, &rx)
                    .await
                    .into_iter()
                    .filter(|(n, _)| (first..first + 1_000_000).contains(n))
                    .collect();
                if mine.len() >= expected || Instant::now() > deadline {
                    break mine;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            let mut lat: Vec<u64> = arrivals
                .iter()
                .filter_map(|(n, at)| back.get(n).map(|b| at.saturating_sub(*b)))
                .collect();
            lat.sort_unstable();
            let pct = |q: f64| common::percentile(&lat, q);
            println!(
                "2. {name:<8} publish→arrival at {rate} events/s × 10 {what:<5} webhooks for 10 s, \
                 {} arrivals: p50 {:.1} ms, p99 {:.1} ms",
                lat.len(),
                pct(0.50) as f64 / 1000.0,
                pct(0.99) as f64 / 1000.0
            );
        }
    }
    println!(
        "   PostgreSQL's throughput is {:.2} × SQLite's",
        rates[1] / rates[0]
    );

    // 3. Scaling with processes.
    let mut first = 0.0;
    for procs in 1..=3usize {
        let db_url = fresh(Some(&postgres), dir.path(), &format!("scale_{procs}")).await;
        let mut servers = Vec::new();
        for _ in 0..procs {
            servers.push(common::serve_process(&db_url, &[("SIGNPOST_MAX_IN_FLIGHT", "8")]).await);
        }
        let mut projects = Vec::new();
        for (_, base) in &servers {
            projects.push(project(&client, &db_url, base, &rx, plain("slow"), 8).await);
        }
        const EVENTS: usize = 300; // × 8 webhooks, per process
        let before = common::hits(&client, &rx).await;
        let started = Instant::now();
        let mut publishing = Vec::new();
        for ((_, base), (pid, secret)) in servers.iter().zip(&projects) {
            let (client, url, pid, secret) = (
                client.clone(),
                format!("{base}/projects/{pid}/events"),
                pid.clone(),
                secret.clone(),
            );
            publishing.push(tokio::spawn(async move {
                common::publish_all(
                    &client,
                    &url,
                    (&pid, &secret),
                    EVENTS,
                    |i| event_body(i as u64),
                    4,
                )
                .await
            }));
        }
        for p in publishing {
            p.await.unwrap();
        }
        let total = (procs * EVENTS * 8) as u64;
        wait_for(&client, &rx, before + total).await;
        let rate = total as f64 / started.elapsed().as_secs_f64();
        if procs == 1 {
            first = rate;
        }
        println!(
            "3. {procs} process(es), 8 in flight each, receiver 20 ms: {total} deliveries: \
             {rate:>6.0} deliveries/s, {:.2} × one process",
            rate / first
        );
    }
}
