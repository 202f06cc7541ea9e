//! Ordering keys (issue 22), in one run: one webhook behind a receiver
//! that answers in 50 ms, 100 keys × 20 events (2,000 deliveries), on
//! SQLite and, when `SIGNPOST_BENCH_POSTGRES_URL` is set (as
//! `scripts/bench-ordering` does, fsync on), on PostgreSQL:
//!
//! - A. `ordered` without a key: deliveries/s over 10 s (one at a time);
//! - B. `ordered` with the key `/space/id` and `maxConcurrency` 32, the
//!   events published key after key in turn (a conversation's messages
//!   spread out in time);
//! - C. the same with the events grouped by key (20 of one key, then 20 of
//!   the next): the window must read past the keys that wait;
//! - D. `unordered` with `maxConcurrency` 32.
//!
//! For B–D: deliveries/s from the first publish call to the last arrival,
//! and the ratio to 32 / 50 ms = 640/s (the goal is ≥ 0.8); every case
//! also checks that each key's events first arrived in publish order.
//!
//! ```text
//! scripts/bench-ordering            # both backends
//! cargo bench --features ssr --bench ordering   # SQLite only
//! ```
//!
//! Signpost is the release binary in its own process, as a user runs it;
//! the receiver is the benches' own (`common::receiver`), in another.

#[path = "common.rs"]
mod common;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const KEYS: u64 = 100;
const PER_KEY: u64 = 20;
const CONCURRENCY: u64 = 32;
const RECEIVER_MS: f64 = 50.0;

struct Case {
    name: &'static str,
    webhook: Value,
    grouped: bool,
    /// Measure this long instead of until every delivery arrived.
    window: Option<Duration>,
}

/// Case `c`'s `n`th message of conversation `k`.
fn event(c: u64, k: u64, n: u64) -> Value {
    json!({ "event": "messages", "space": { "id": format!("spc_{k:03}") }, "c": c, "k": k, "n": n,
            "message": { "text": "a message of a conversation, about this long" } })
}

/// The receiver's arrivals of case `c`: (conversation, message) in order.
async fn arrivals_of(client: &reqwest::Client, rx: &str, c: u64) -> Vec<(u64, u64)> {
    common::arrivals(client, rx)
        .await
        .into_iter()
        .filter(|(id, _)| id / 1_000_000 == c)
        .map(|(id, _)| ((id % 1_000_000) / 1_000, id % 1_000))
        .collect()
}

async fn run(label: &str, db_url: &str, rx: &str) {
    let (_signpost, base) = common::serve_process(db_url, &[]).await;
    let client = reqwest::Client::new();
    let db = signpost::server::db::connect(db_url).await.unwrap();
    signpost::server::db::migrate(&db).await.unwrap();
    let cases = [
        Case {
            name: "A. ordered, no key",
            webhook: json!({}),
            grouped: false,
            window: Some(Duration::from_secs(10)),
        },
        Case {
            name: "B. ordered, key, 32 at once (keys in turn)",
            webhook: json!({ "orderingKey": "/space/id", "maxConcurrency": CONCURRENCY }),
            grouped: false,
            window: None,
        },
        Case {
            name: "C. ordered, key, 32 at once (grouped by key)",
            webhook: json!({ "orderingKey": "/space/id", "maxConcurrency": CONCURRENCY }),
            grouped: true,
            window: None,
        },
        Case {
            name: "D. unordered, 32 at once",
            webhook: json!({ "ordering": "unordered", "maxConcurrency": CONCURRENCY }),
            grouped: false,
            window: None,
        },
    ];
    for (i, case) in cases.iter().enumerate() {
        // A project per case: its events go to its webhook alone.
        let project = signpost::server::projects::create(&db, case.name)
            .await
            .unwrap();
        let auth = (project.id.as_str(), project.secret.as_str());
        let mut body = case.webhook.clone();
        body["webhookUrl"] = json!(format!("{rx}/late/{label}-{i}"));
        let res = client
            .post(format!("{base}/projects/{}/webhooks", auth.0))
            .basic_auth(auth.0, Some(auth.1))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
        let webhook_id = res.json::<Value>().await.unwrap()["data"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let c = i as u64 + if label == "sqlite" { 0 } else { 10 };
        let events: Vec<Value> = if case.grouped {
            (0..KEYS)
                .flat_map(|k| (0..PER_KEY).map(move |n| event(c, k, n)))
                .collect()
        } else {
            (0..PER_KEY)
                .flat_map(|n| (0..KEYS).map(move |k| event(c, k, n)))
                .collect()
        };
        common::get(&client, &format!("{rx}/peak")).await;
        let began = Instant::now();
        for batch in events.chunks(500) {
            let res = client
                .post(format!("{base}/projects/{}/events/batch", auth.0))
                .basic_auth(auth.0, Some(auth.1))
                .json(&batch)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 202);
        }
        let total = (KEYS * PER_KEY) as usize;
        let delivered = loop {
            let n = arrivals_of(&client, rx, c).await.len();
            match case.window {
                Some(w) if began.elapsed() >= w => break n,
                None if n >= total => break n,
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        };
        // The last arrival's answer takes 50 ms more.
        let took = began.elapsed() + Duration::from_millis(RECEIVER_MS as u64);
        let peak = common::get(&client, &format!("{rx}/peak")).await;
        // The rest of an unfinished case is cancelled (disabled): it does
        // not share the receiver with the next case.
        if case.window.is_some() {
            let res = client
                .patch(format!("{base}/projects/{}/webhooks/{webhook_id}", auth.0))
                .basic_auth(auth.0, Some(auth.1))
                .json(&json!({ "enabled": false }))
                .send()
                .await
                .unwrap();
            assert!(res.status().is_success(), "{}", res.text().await.unwrap());
        }
        // Whatever else of this case arrives now is a repeat.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let arrivals = arrivals_of(&client, rx, c).await;
        let repeats = arrivals.len() - delivered;
        let in_order = per_key_order_held(&arrivals, case.webhook.get("ordering").is_none());
        let rate = delivered as f64 / took.as_secs_f64();
        let ideal = CONCURRENCY as f64 * 1000.0 / RECEIVER_MS;
        println!(
            "{label:<8} {:<44} {delivered:>5} in {:>5.2} s {rate:>6.1}/s  {}  at once ≤ {peak:>2}, \
             repeats {repeats}, order per key {}",
            case.name,
            took.as_secs_f64(),
            if case.window.is_some() {
                format!("(one at a time: ≤ {:.0}/s)", 1000.0 / RECEIVER_MS)
            } else {
                format!("{:.2} of {ideal:.0}/s", rate / ideal)
            },
            if in_order { "held" } else { "BROKEN" },
        );
    }
}

/// Each key's events arrived in publish order, none skipped (an
/// `ordered` webhook's promise; an unordered one is not checked).
fn per_key_order_held(arrivals: &[(u64, u64)], ordered: bool) -> bool {
    if !ordered {
        return true;
    }
    let mut next: HashMap<u64, u64> = HashMap::new();
    arrivals.iter().all(|(k, n)| {
        let want = next.entry(*k).or_insert(0);
        let ok = *n == *want;
        *want += 1;
        ok
    })
}

#[tokio::main]
async fn main() {
    if std::env::var("SIGNPOST_BENCH_ROLE").as_deref() == Ok("receiver") {
        common::receiver().await;
        return;
    }
    let (_receiver, rx) = common::start_receiver();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("ordering.db").display());
    run("sqlite", &sqlite, &rx).await;
    if let Ok(pg) = std::env::var("SIGNPOST_BENCH_POSTGRES_URL") {
        // A database of its own on that server.
        let admin = sqlx::PgPool::connect(&pg).await.unwrap();
        let name = format!("ordering_{}", std::process::id());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .unwrap();
        let (server, _) = pg.rsplit_once('/').unwrap();
        run("postgres", &format!("{server}/{name}"), &rx).await;
    }
}
