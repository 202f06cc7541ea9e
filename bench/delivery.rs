//! The delivery benchmark (issue 4), in one run:
//!
//! 1. the limit: a local receiver answering 200 at once, driven by plain
//!    keep-alive POSTs of the same body at the same concurrency (50), no
//!    signing and no database;
//! 2. Signpost end to end: events published through the API to 50 webhooks
//!    until 100,000 deliveries have been received; deliveries/s and the
//!    ratio to (1); peak RSS of this process meanwhile (Signpost and the
//!    publishing client; the receiver is another process);
//!    (2b) the same through `POST /projects/{pid}/events/batch`, 100 events
//!    a call;
//! 3. latency from the ingest call's return to the receiver's arrival,
//!    p50/p99, at a steady 500 events/s to 10 webhooks for 10 s;
//! 4. the machine's real limit: nginx (Debian's, one worker, `return 200`,
//!    keep-alive) driven by `wrk -t1 -c64` POSTing the same body for 10 s;
//! 5. Signpost delivering to that nginx: 2,000 events to 50 webhooks, until
//!    all 100,000 deliveries are recorded `succeeded`, with commits fsynced
//!    (`synchronous=FULL`, the default) and then without (`NORMAL`): the
//!    ratios to (4), and what the fsync costs.
//!
//! Run it with (nginx and wrk are Debian packages, for (4) and (5)):
//!
//! ```text
//! apt-get install -y nginx wrk
//! cargo bench --features ssr --bench delivery
//! ```
//!
//! The receiver is the benches' own (`common::receiver`): this same
//! executable started again with `SIGNPOST_BENCH_ROLE=receiver`, so that it
//! runs in its own process.

#[path = "common.rs"]
mod common;
#[path = "nginx.rs"]
mod nginx;
use axum::body::Bytes;
use signpost::server::config::{Config, Durability};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONCURRENCY: usize = 50;
const WEBHOOKS: usize = 50;
const DELIVERIES: u64 = 100_000;
const PUBLISHERS: usize = 8;
const BATCH: u64 = 100;
const LATENCY_WEBHOOKS: usize = 10;
const LATENCY_RATE: u64 = 500;
const LATENCY_SECONDS: u64 = 10;

fn event_body(n: u64) -> String {
    // ~200 bytes, like a small real event.
    format!(
        r#"{{"event":"order.paid","n":{n},"order":{{"id":"ord_{n:012}","amount":4200,"currency":"EUR","customer":"cus_0000000000000001","items":3}}}}"#
    )
}

// ---------------------------------------------------------------- driver

#[tokio::main]
async fn main() {
    if std::env::var("SIGNPOST_BENCH_ROLE").as_deref() == Ok("receiver") {
        return common::receiver().await;
    }
    let (_receiver, rx) = common::start_receiver();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();

    // 1. The limit.
    let body = Bytes::from(event_body(1));
    let started = Instant::now();
    let sent = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for i in 0..CONCURRENCY {
        let (client, body, sent, url) = (
            client.clone(),
            body.clone(),
            sent.clone(),
            format!("{rx}/hook/{i}"),
        );
        tasks.push(tokio::spawn(async move {
            while sent.fetch_add(1, Ordering::Relaxed) < DELIVERIES {
                let res = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                assert!(res.status().is_success());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let limit = DELIVERIES as f64 / started.elapsed().as_secs_f64();
    println!(
        "1. limit: plain keep-alive POSTs, concurrency {CONCURRENCY}: {limit:>9.0} requests/s"
    );

    // 2. Signpost end to end.
    let dir = tempfile::tempdir().unwrap();
    let (config, db_url) = bench_config(dir.path(), Durability::Full);
    let base = common::serve(config).await;
    let db = signpost::server::db::connect(&db_url).await.unwrap();
    let register = |prefix: &'static str, count: usize| {
        let (client, base, db, rx) = (client.clone(), base.clone(), db.clone(), rx.clone());
        async move {
            let p = signpost::server::projects::create(&db, prefix)
                .await
                .unwrap();
            let urls = format!("{rx}/{prefix}");
            common::add_webhooks(&client, &base, (&p.id, &p.secret), &urls, count).await;
            (p.id, p.secret)
        }
    };
    let (pid, secret) = register("hook", WEBHOOKS).await;
    let before = common::hits(&client, &rx).await;
    let events = DELIVERIES / WEBHOOKS as u64;
    let peak = Arc::new(AtomicU64::new(0));
    let peak_anon = Arc::new(AtomicU64::new(0));
    let sampling = {
        let (peak, peak_anon) = (peak.clone(), peak_anon.clone());
        tokio::spawn(async move {
            loop {
                peak.fetch_max(common::proc_kib("self", "VmRSS:"), Ordering::Relaxed);
                peak_anon.fetch_max(common::proc_kib("self", "RssAnon:"), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let started = Instant::now();
    let url = format!("{base}/projects/{pid}/events");
    let body = |i: usize| event_body(i as u64);
    common::publish_all(
        &client,
        &url,
        (&pid, &secret),
        events as usize,
        body,
        PUBLISHERS,
    )
    .await;
    let published = started.elapsed();
    while common::hits(&client, &rx).await - before < DELIVERIES {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed();
    sampling.abort();
    let rate = DELIVERIES as f64 / took.as_secs_f64();
    println!(
        "2. signpost: {events} events × {WEBHOOKS} webhooks = {DELIVERIES} deliveries in {:.2} s: \
         {rate:>9.0} deliveries/s, ratio to (1) {:.2}; all {events} events published after {:.2} s \
         ({:.0} events/s)",
        took.as_secs_f64(),
        rate / limit,
        published.as_secs_f64(),
        events as f64 / published.as_secs_f64()
    );
    println!(
        "   peak RSS of this process during (2): {} MiB, of which anonymous {} MiB \
         (the rest is the database file's pages mapped in) (VmHWM since start {} MiB)",
        peak.load(Ordering::Relaxed) / 1024,
        peak_anon.load(Ordering::Relaxed) / 1024,
        common::proc_kib("self", "VmHWM:") / 1024
    );

    // 2b. The same through the batch endpoint, 100 events per call.
    let (pid, secret) = register("hook", WEBHOOKS).await;
    let before = common::hits(&client, &rx).await;
    let started = Instant::now();
    let batch = |b: usize| {
        let b = b as u64;
        let items: Vec<String> = (b * BATCH..(b + 1) * BATCH).map(event_body).collect();
        format!("[{}]", items.join(","))
    };
    let url = format!("{base}/projects/{pid}/events/batch");
    let batches = (events / BATCH) as usize;
    common::publish_all(
        &client,
        &url,
        (&pid, &secret),
        batches,
        batch,
        PUBLISHERS / 2,
    )
    .await;
    let published = started.elapsed();
    while common::hits(&client, &rx).await - before < DELIVERIES {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed();
    let rate = DELIVERIES as f64 / took.as_secs_f64();
    println!(
        "2b. batches of {BATCH}: {DELIVERIES} deliveries in {:.2} s: {rate:>9.0} deliveries/s, ratio \
         to (1) {:.2}; published after {:.2} s",
        took.as_secs_f64(),
        rate / limit,
        published.as_secs_f64()
    );

    // The recorder may still be writing attempts: let it finish, so that
    // (3) measures a steady state, not the tail of (2).
    let recorded = Instant::now();
    loop {
        let pending: i64 = signpost::on_db!(&db, p => {
            sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE status = 'pending'")
                .fetch_one(p)
                .await
        })
        .unwrap();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "   every attempt of (2) recorded {:.2} s after the last arrival",
        recorded.elapsed().as_secs_f64()
    );

    // 3. Latency at a steady rate.
    let (pid, secret) = register("lat", LATENCY_WEBHOOKS).await;
    let total = LATENCY_RATE * LATENCY_SECONDS;
    let url = format!("{base}/projects/{pid}/events");
    let returned = common::publish_at_rate(
        &client,
        &url,
        (&pid, &secret),
        LATENCY_RATE,
        total,
        event_body,
    )
    .await;
    let expected = total * LATENCY_WEBHOOKS as u64;
    let arrivals: Vec<(u64, u64)> = loop {
        let a = common::arrivals(&client, &rx).await;
        if a.len() as u64 >= expected {
            break a;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let calls: std::collections::HashMap<u64, (u64, u64)> = returned
        .iter()
        .map(|&(n, start, back)| (n, (start, back)))
        .collect();
    let mut from_start: Vec<u64> = arrivals
        .iter()
        .map(|(n, at)| at.saturating_sub(calls[n].0))
        .collect();
    from_start.sort_unstable();
    let mut early = 0;
    let mut lat: Vec<u64> = arrivals
        .iter()
        .map(|(n, at)| {
            let back = calls[n].1;
            if *at < back {
                early += 1; // delivered before the ingest answer reached the client
            }
            at.saturating_sub(back)
        })
        .collect();
    lat.sort_unstable();
    println!(
        "3. latency, ingest return → receiver, {LATENCY_RATE} events/s × {LATENCY_WEBHOOKS} webhooks \
         for {LATENCY_SECONDS} s ({} deliveries): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms \
         ({early} arrived before the ingest answer; counted as 0)",
        lat.len(),
        common::percentile(&lat, 0.50) as f64 / 1000.0,
        common::percentile(&lat, 0.99) as f64 / 1000.0,
        *lat.last().unwrap() as f64 / 1000.0,
    );
    println!(
        "   from the ingest call's start instead (publish included): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        common::percentile(&from_start, 0.50) as f64 / 1000.0,
        common::percentile(&from_start, 0.99) as f64 / 1000.0,
        *from_start.last().unwrap() as f64 / 1000.0,
    );

    // 4. The machine's real limit.
    let nginx = nginx::Nginx::start();
    let body = event_body(1);
    let limit = nginx::wrk(&nginx.url("/hook/0"), &body);
    println!("4. limit: nginx, one worker, `return 200`; wrk -t1 -c64 -d10s POSTing the same {} bytes: {limit:>9.0} requests/s", body.len());

    // 5. Signpost to nginx, fsynced and not.
    let mut rates = Vec::new();
    for durability in [Durability::Full, Durability::Normal] {
        let dir = tempfile::tempdir().unwrap();
        let (config, db_url) = bench_config(dir.path(), durability);
        let base = common::serve(config).await;
        let db = signpost::server::db::connect(&db_url).await.unwrap();
        let p = signpost::server::projects::create(&db, "nginx")
            .await
            .unwrap();
        for i in 0..WEBHOOKS {
            let res = client
                .post(format!("{base}/projects/{}/webhooks", p.id))
                .basic_auth(&p.id, Some(&p.secret))
                .json(&serde_json::json!({ "webhookUrl": nginx.url(&format!("/hook/{i}")) }))
                .send()
                .await
                .unwrap();
            assert!(res.status().is_success());
        }
        let started = Instant::now();
        let url = format!("{base}/projects/{}/events", p.id);
        let body = |i: usize| event_body(i as u64);
        common::publish_all(
            &client,
            &url,
            (&p.id, &p.secret),
            events as usize,
            body,
            PUBLISHERS,
        )
        .await;
        let published = started.elapsed();
        loop {
            let done: i64 = signpost::on_db!(&db, pool => {
                sqlx::query_scalar(
                    "SELECT count(*) FROM deliveries WHERE project_id = $1 AND status = 'succeeded'",
                )
                .bind(&p.id)
                .fetch_one(pool)
                .await
            })
            .unwrap();
            if done as u64 >= DELIVERIES {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let rate = DELIVERIES as f64 / started.elapsed().as_secs_f64();
        println!(
            "5. signpost → nginx, synchronous={durability:?}: {DELIVERIES} deliveries recorded succeeded \
             in {:.2} s: {rate:>9.0} deliveries/s, ratio to (4) {:.3}; published after {:.2} s",
            started.elapsed().as_secs_f64(),
            rate / limit,
            published.as_secs_f64()
        );
        rates.push(rate);
    }
    if let [full, normal] = rates[..] {
        println!(
            "   fsync at every commit costs {:.1}% of the throughput (FULL / NORMAL = {:.2})",
            (1.0 - full / normal) * 100.0,
            full / normal
        );
    }
}

/// A Signpost for the bench with its database in `dir`, no rate limits,
/// commits as `durability` says, and the lane window from
/// `SIGNPOST_LANE_WINDOW` if set (to compare windows); returns it and the
/// database URL.
fn bench_config(dir: &std::path::Path, durability: Durability) -> (Config, String) {
    let db_url = format!("sqlite://{}", dir.join("bench.db").display());
    let mut config = Config::for_database(&db_url);
    config.allow_targets = "127.0.0.1".parse().unwrap();
    config.api_rate_limit = 1_000_000;
    config.ingest_rate_limit = 1_000_000;
    config.secret_key_file = Some(dir.join("bench.key"));
    config.sqlite_synchronous = durability;
    if let Ok(w) = std::env::var("SIGNPOST_LANE_WINDOW") {
        config.delivery.lane_window = w.parse().expect("SIGNPOST_LANE_WINDOW is a number");
    }
    (config, db_url)
}
