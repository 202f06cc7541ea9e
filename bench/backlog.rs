//! The bounded engine (issue 11), measured on the real release binary:
//!
//! A. 20,000 events of 32 KiB (640 MiB) published to one ordered webhook
//!    whose receiver answers 503 to everything: the server's peak RSS while
//!    they pile up; then `kill -9` and a restart on that backlog: time to
//!    the first 200 on `/healthz`, time to the first attempt, peak RSS over
//!    the next 20 s.
//! B. 1,000,000 small pending deliveries (10 such webhooks × 100,000),
//!    written straight into the database: the same restart figures, and
//!    meanwhile a healthy webhook's latency (1,000 events at 200/s, from the
//!    publish call's return to the receiver).
//!
//!     scripts/build --release && cargo bench --features ssr --bench backlog
//!
//! `SIGNPOST_BIN` names another binary. The receiver runs in this process.

#[path = "common.rs"]
mod common;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const EVENTS_A: usize = 20_000;
const BODY_A: usize = 32 * 1024;
/// Events per batch call (under 1 MiB: the figures in docs/benchmarks.md
/// were measured so, before batches could be the documented 8 MiB).
const BATCH_A: usize = 25;
const DEAD_B: usize = 10;
const PER_WEBHOOK_B: i64 = 100_000;
const HEALTHY_EVENTS: u64 = 1_000;
const HEALTHY_RATE: u64 = 200;
const WATCH: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------- receiver

#[derive(Default)]
struct Seen {
    /// When a request last reached /dead (µs), and how many did.
    dead: Vec<u64>,
    /// (event n, arrival µs) on /ok.
    ok: Vec<(u64, u64)>,
}

type Shared = Arc<Mutex<Seen>>;

async fn receiver() -> (String, Shared) {
    let seen: Shared = Arc::default();
    let app = axum::Router::new()
        .route(
            "/dead/{i}",
            post(|State(s): State<Shared>| async move {
                s.lock().unwrap().dead.push(common::now_us());
                axum::http::StatusCode::SERVICE_UNAVAILABLE
            }),
        )
        .route(
            "/ok",
            post(|State(s): State<Shared>, body: Bytes| async move {
                let at = common::now_us();
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                s.lock().unwrap().ok.push((v["n"].as_u64().unwrap(), at));
            }),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

// ---------------------------------------------------------------- the server process

struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Starts the binary on the database in `dir` and waits for `/healthz`;
    /// returns it and how long that took.
    async fn start(dir: &std::path::Path) -> (Server, Duration) {
        let bin = std::env::var("SIGNPOST_BIN").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/signpost").to_string()
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let started = Instant::now();
        let child = Command::new(&bin)
            .arg("serve")
            .env(
                "SIGNPOST_DATABASE_URL",
                format!("sqlite://{}/bench.db", dir.display()),
            )
            .env("SIGNPOST_ADDR", format!("127.0.0.1:{port}"))
            .env("SIGNPOST_ALLOW_TARGETS", "127.0.0.1")
            .env("SIGNPOST_API_RATE_LIMIT", "100000")
            .env("SIGNPOST_INGEST_RATE_LIMIT", "100000")
            .env("SIGNPOST_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin} (scripts/build --release first): {e}"));
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        loop {
            if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(started.elapsed() < Duration::from_secs(60), "no /healthz");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let took = started.elapsed();
        (Server { child, base }, took)
    }

    /// (VmRSS, RssAnon, RssFile) in KiB.
    fn rss(&self) -> (u64, u64, u64) {
        rss(&self.child.id().to_string())
    }

    fn kill9(mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }

    /// SIGTERM, and wait for the graceful stop.
    fn stop(mut self) {
        Command::new("kill")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    /// A bench that fails leaves no server behind (after `stop` or
    /// `kill9` this finds it gone).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Samples a server's RSS every 20 ms while `work` runs; returns the work's
/// result and the peaks (VmRSS, RssAnon, RssFile) in MiB.
async fn peak_rss<T>(
    server: &Server,
    work: impl std::future::Future<Output = T>,
) -> (T, (u64, u64, u64)) {
    let peak = Arc::new(Mutex::new((0u64, 0u64, 0u64)));
    let pid = server.child.id().to_string();
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                let (rss, anon, file) = rss(&pid);
                {
                    let mut p = peak.lock().unwrap();
                    p.0 = p.0.max(rss);
                    p.1 = p.1.max(anon);
                    p.2 = p.2.max(file);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let out = work.await;
    sampler.abort();
    let p = *peak.lock().unwrap();
    (out, (p.0 / 1024, p.1 / 1024, p.2 / 1024))
}

/// A process's (VmRSS, RssAnon, RssFile) in KiB.
fn rss(pid: &str) -> (u64, u64, u64) {
    (
        common::proc_kib(pid, "VmRSS:"),
        common::proc_kib(pid, "RssAnon:"),
        common::proc_kib(pid, "RssFile:"),
    )
}

fn project(dir: &std::path::Path) -> (String, String) {
    let bin = std::env::var("SIGNPOST_BIN").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/signpost").to_string()
    });
    common::cli_project(
        &bin,
        &format!("sqlite://{}/bench.db", dir.display()),
        "Backlog",
    )
}

async fn register(base: &str, (pid, secret): &(String, String), url: &str, events: &str) {
    let res = reqwest::Client::new()
        .post(format!("{base}/projects/{pid}/webhooks"))
        .basic_auth(pid, Some(secret))
        .json(&serde_json::json!({ "webhookUrl": url, "events": [events] }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
}

/// Waits until the receiver has seen a request on /dead after `since` (µs);
/// returns how long after `since` it came.
async fn first_dead_hit(seen: &Shared, since: u64) -> Duration {
    loop {
        if let Some(at) = seen.lock().unwrap().dead.iter().find(|at| **at >= since) {
            return Duration::from_micros(at - since);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::main]
async fn main() {
    let (rx, seen) = receiver().await;

    // ------------------------------------------------------------ A
    let dir = tempfile::tempdir().unwrap();
    let creds = project(dir.path());
    let (server, _) = Server::start(dir.path()).await;
    register(&server.base, &creds, &format!("{rx}/dead/0"), "big").await;
    let (pid, secret) = creds.clone();
    let url = format!("{}/projects/{pid}/events/batch", server.base);
    let filler = "x".repeat(BODY_A - 40);
    let started = Instant::now();
    let ((), peak) = peak_rss(&server, async {
        let batch = move |b: usize| {
            let items: Vec<String> = (b * BATCH_A..(b + 1) * BATCH_A)
                .map(|n| format!(r#"{{"event":"big","n":{n},"filler":"{filler}"}}"#))
                .collect();
            format!("[{}]", items.join(","))
        };
        let client = reqwest::Client::new();
        common::publish_all(&client, &url, (&pid, &secret), EVENTS_A / BATCH_A, batch, 4).await;
    })
    .await;
    println!(
        "A. {EVENTS_A} events × {} KiB behind a 503 receiver, published in {:.1} s: \
         peak RSS {} MiB (anon {} MiB, file-backed {} MiB)",
        BODY_A / 1024,
        started.elapsed().as_secs_f64(),
        peak.0,
        peak.1,
        peak.2
    );
    let (rss, anon, _) = server.rss();
    println!(
        "   RSS once published: {} MiB (anon {} MiB)",
        rss / 1024,
        anon / 1024
    );
    server.kill9();
    let killed_at = common::now_us();
    let (server, healthz) = Server::start(dir.path()).await;
    let (first, peak) = peak_rss(&server, async {
        let first = first_dead_hit(&seen, killed_at).await;
        tokio::time::sleep(WATCH.saturating_sub(first)).await;
        first
    })
    .await;
    println!(
        "   after kill -9 and restart: /healthz in {} ms; first attempt {:.1} s after the kill \
         (the dead worker's lease is 15 s); peak RSS over {} s {} MiB (anon {} MiB, file {} MiB)",
        healthz.as_millis(),
        first.as_secs_f64(),
        WATCH.as_secs(),
        peak.0,
        peak.1,
        peak.2
    );
    server.stop();

    // ------------------------------------------------------------ B
    let dir = tempfile::tempdir().unwrap();
    let creds = project(dir.path());
    let (server, _) = Server::start(dir.path()).await;
    for i in 0..DEAD_B {
        register(&server.base, &creds, &format!("{rx}/dead/{i}"), "backlog").await;
    }
    register(&server.base, &creds, &format!("{rx}/ok"), "healthy").await;
    server.stop();
    let db_url = format!("sqlite://{}/bench.db", dir.path().display());
    let db = signpost::server::db::connect(&db_url).await.unwrap();
    let pool = common::sqlite(&db);
    let filled = Instant::now();
    let (pid, secret) = creds.clone();
    let webhooks: Vec<String> =
        sqlx::query_scalar("SELECT id FROM webhooks WHERE url LIKE '%/dead/%' ORDER BY url")
            .fetch_all(pool)
            .await
            .unwrap();
    let now = signpost::server::db::now_ms();
    sqlx::query(&format!(
        "{} INSERT INTO events (id, project_id, event, body, created_at) \
         SELECT 'evt_b' || i, ?, 'backlog', '{{\"event\":\"backlog\",\"n\":' || i || '}}', ? FROM n",
        common::numbers(PER_WEBHOOK_B)
    ))
    .bind(&pid)
    .bind(now)
    .execute(pool)
    .await
    .unwrap();
    for w in &webhooks {
        sqlx::query(&format!(
            "{} INSERT INTO deliveries (id, project_id, event_id, webhook_id, next_at, created_at) \
             SELECT 'dlv_' || ?1 || i, ?2, 'evt_b' || i, ?1, ?3, ?3 FROM n",
            common::numbers(PER_WEBHOOK_B)
        ))
        .bind(w)
        .bind(&pid)
        .bind(now)
        .execute(pool)
        .await
        .unwrap();
    }
    // Free lanes, as a restart finds them. (A binary from before lanes has
    // no such table, and holds each delivery by itself instead.)
    let _ = sqlx::query("INSERT OR IGNORE INTO lanes (webhook_id) SELECT id FROM webhooks")
        .execute(pool)
        .await;
    db.close().await;
    println!(
        "B. {} pending deliveries ({DEAD_B} webhooks × {PER_WEBHOOK_B}) filled in {:.1} s",
        DEAD_B as i64 * PER_WEBHOOK_B,
        filled.elapsed().as_secs_f64()
    );
    let before = common::now_us();
    let (server, healthz) = Server::start(dir.path()).await;
    let url = format!("{}/projects/{pid}/events", server.base);
    let ((first, returned), peak) = peak_rss(&server, async {
        let first = first_dead_hit(&seen, before).await;
        // A healthy webhook meanwhile, at a steady rate.
        let returned = common::publish_at_rate(
            &reqwest::Client::new(),
            &url,
            (&pid, &secret),
            HEALTHY_RATE,
            HEALTHY_EVENTS,
            |n| format!(r#"{{"event":"healthy","n":{n}}}"#),
        )
        .await;
        while (seen.lock().unwrap().ok.len() as u64) < HEALTHY_EVENTS {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        (first, returned)
    })
    .await;
    let arrivals: std::collections::HashMap<u64, u64> =
        seen.lock().unwrap().ok.iter().copied().collect();
    let latencies: Vec<Duration> = returned
        .iter()
        .map(|(n, _, back)| Duration::from_micros(arrivals[n].saturating_sub(*back)))
        .collect();
    println!(
        "   restart on it: /healthz in {} ms; first attempt {:.2} s after the start; \
         peak RSS {} MiB (anon {} MiB, file {} MiB)",
        healthz.as_millis(),
        first.as_secs_f64(),
        peak.0,
        peak.1,
        peak.2
    );
    common::summary(
        "   a healthy webhook meanwhile, return → arrival",
        latencies,
    );
    server.stop();
}
