//! Publishing into a project with 1,000 webhooks, 990 of which filter the
//! event out (issue 25: what ingest pays for telling later where an event
//! did not go), and the same with a JSON Schema checked on each 1 KiB event.
//!
//!     cargo bench --features ssr --bench ingest
//!
//! The real server runs in this process on 127.0.0.1:0 with a fresh SQLite
//! database (`synchronous=FULL`, the default); the 10 webhooks that take
//! the event point at the benches' receiver (its own process, 200 at
//! once). 16 clients publish one event per call. Built unchanged in an
//! older tree, the schema case is skipped where the catalog does not exist.

#[path = "common.rs"]
mod common;
use common::summary;
use signpost::server::config::Config;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TAKING: usize = 10;
const EVENTS: usize = 6_000;
const CLIENTS: usize = 16;

/// A 1 KiB `order.created` event (`i` makes each one different).
fn event(i: usize) -> String {
    let lines: Vec<serde_json::Value> = (0..6)
        .map(|l| serde_json::json!({"sku": format!("SKU-{l:04}"), "qty": l + 1, "price": 9.5 + l as f64}))
        .collect();
    let mut e = serde_json::json!({
        "event": "order.created",
        "orderId": format!("ord_{i:08}"),
        "customer": {"id": format!("cus_{:06}", i % 977), "email": "buyer@example.com", "name": "A. Buyer"},
        "lines": lines,
        "currency": "EUR",
        "note": "",
    });
    let pad = 1024usize.saturating_sub(e.to_string().len());
    e["note"] = serde_json::Value::String("n".repeat(pad));
    e.to_string()
}

fn schema() -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "required": ["orderId", "customer", "lines", "currency"],
        "properties": {
            "orderId": {"type": "string", "pattern": "^ord_[0-9]+$"},
            "customer": {
                "type": "object",
                "required": ["id", "email"],
                "properties": {"id": {"type": "string"}, "email": {"type": "string"}, "name": {"type": "string"}}
            },
            "lines": {
                "type": "array", "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["sku", "qty", "price"],
                    "properties": {
                        "sku": {"type": "string"},
                        "qty": {"type": "integer", "minimum": 1},
                        "price": {"type": "number", "minimum": 0}
                    }
                }
            },
            "currency": {"enum": ["EUR", "USD", "GBP"]},
            "note": {"type": "string", "maxLength": 2048}
        }
    })
}

/// Publishes `EVENTS` events from `CLIENTS` clients; returns each call's time.
async fn publish(
    client: &reqwest::Client,
    url: &str,
    pid: &str,
    secret: &str,
) -> (Vec<Duration>, Duration) {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (client, url, pid, secret, next) = (
            client.clone(),
            url.to_string(),
            pid.to_string(),
            secret.to_string(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= EVENTS {
                    return times;
                }
                let body = event(i);
                let t = Instant::now();
                let res = client
                    .post(&url)
                    .basic_auth(&pid, Some(&secret))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = res.status();
                res.bytes().await.unwrap();
                assert_eq!(status, 202, "publish");
                times.push(t.elapsed());
            }
        }));
    }
    let mut all = Vec::with_capacity(EVENTS);
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (all, start.elapsed())
}

#[tokio::main]
async fn main() {
    if std::env::var("SIGNPOST_BENCH_ROLE").as_deref() == Ok("receiver") {
        return common::receiver().await;
    }
    // `SIGNPOST_BENCH_WEBHOOKS=10`: the same without the filtered-out ones.
    let webhooks: usize = std::env::var("SIGNPOST_BENCH_WEBHOOKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
        .max(TAKING);
    let (_rx, rx) = common::start_receiver();
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let mut config = Config::for_database(&db_url);
    config.allow_targets = "127.0.0.1".parse().unwrap();
    config.api_rate_limit = 1_000_000;
    config.ingest_rate_limit = 1_000_000;
    let base = common::serve(config).await;
    let client = reqwest::Client::new();
    let db = signpost::server::db::connect(&db_url).await.unwrap();
    let project = signpost::server::projects::create(&db, "bench")
        .await
        .unwrap();
    let (pid, secret) = (project.id.as_str(), project.secret.as_str());
    let api = |path: &str| format!("{base}/projects/{pid}{path}");
    for i in 0..webhooks {
        let (url, events) = if i % (webhooks / TAKING) == 0 {
            (
                format!("{rx}/hook/{i}"),
                serde_json::json!(["order.created"]),
            )
        } else {
            (
                format!("http://127.0.0.1:9/never/{i}"),
                serde_json::json!([format!("other.event.{i}")]),
            )
        };
        let res = client
            .post(api("/webhooks"))
            .basic_auth(pid, Some(secret))
            .json(&serde_json::json!({ "webhookUrl": url, "events": events, "ordering": "unordered" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "register");
    }
    let url = api("/events");
    println!(
        "Signpost ingest, SQLite, {webhooks} webhooks ({TAKING} take the event), {CLIENTS} clients, {} B events",
        event(0).len()
    );
    let (times, took) = publish(&client, &url, pid, secret).await;
    summary("POST /events, no schema", times);
    println!(
        "{:<46} {:.0} events/s",
        "",
        EVENTS as f64 / took.as_secs_f64()
    );

    let res = client
        .put(api("/event-types/order.created"))
        .basic_auth(pid, Some(secret))
        .json(&serde_json::json!({ "schema": schema() }))
        .send()
        .await
        .unwrap();
    if res.status() != 200 {
        println!("(no event catalog in this build: the schema case is skipped)");
        return;
    }
    let (times, took) = publish(&client, &url, pid, secret).await;
    summary("POST /events, schema checked", times);
    println!(
        "{:<46} {:.0} events/s",
        "",
        EVENTS as f64 / took.as_secs_f64()
    );
}
