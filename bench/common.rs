//! What the benchmarks share: percentiles of a set of timings, the real
//! server started in the bench process, a signed-in dashboard client, and
//! webhook rows. Each bench uses a part of it.
#![allow(dead_code)]

use signpost::server::config::Config;
use std::time::Duration;

/// Prints `name`, the sample count, p50, p99 and max in milliseconds.
pub fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at =
        |q: f64| samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<46} n={:<5} p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms",
        samples.len(),
        ms(at(0.50)),
        ms(at(0.99)),
        ms(*samples.last().unwrap())
    );
}

/// A new, migrated database file in `dir` with one project, "bench";
/// returns the pool, the database URL and the project.
pub async fn bench_database(
    dir: &std::path::Path,
) -> (
    signpost::server::db::Db,
    String,
    signpost::model::ProjectCredentials,
) {
    let db_url = format!("sqlite://{}", dir.join("bench.db").display());
    let db = signpost::server::db::connect(&db_url).await.unwrap();
    signpost::server::db::migrate(&db).await.unwrap();
    let project = signpost::server::projects::create(&db, "bench")
        .await
        .unwrap();
    (db, db_url, project)
}

/// The SQLite pool of a bench's database (the benches measure SQLite; their
/// SQL is SQLite's).
pub fn sqlite(db: &signpost::server::db::Db) -> &sqlx::SqlitePool {
    match db {
        signpost::server::db::Db::Sqlite(pool) => pool,
        signpost::server::db::Db::Postgres(_) => panic!("the benches run on SQLite"),
    }
}

/// A `WITH` clause naming `n(i)`, the integers 0 to `count - 1`: the rows
/// the benches fill their tables from, in one statement each.
pub fn numbers(count: i64) -> String {
    format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {})",
        count - 1
    )
}

/// `signpost serve` as a process of its own: the integration tests' own
/// helper, shared.
#[path = "../tests/it/support/process.rs"]
mod process;
pub use process::Process;

/// The release `signpost serve` as a process of its own, on a free port
/// with `env`; waits until it answers.
pub async fn serve_process(db_url: &str, env: &[(&str, &str)]) -> (Process, String) {
    serve_binary(env!("CARGO_BIN_EXE_signpost"), db_url, env).await
}

/// [`serve_process`] with another `signpost` binary (an older build, to
/// compare in one run), its rate limits out of the way.
pub async fn serve_binary(bin: &str, db_url: &str, env: &[(&str, &str)]) -> (Process, String) {
    let mut all = vec![
        ("SIGNPOST_API_RATE_LIMIT", "1000000"),
        ("SIGNPOST_INGEST_RATE_LIMIT", "1000000"),
    ];
    all.extend_from_slice(env);
    let p = Process::serve(bin, db_url, &all).await;
    let base = p.base.clone();
    (p, base)
}

/// Starts Signpost in this process on 127.0.0.1:0 and waits until it
/// answers; returns its base URL.
pub async fn serve(config: Config) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(signpost::server::serve_on(
        listener,
        config,
        std::future::pending(),
    ));
    let client = reqwest::Client::new();
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        tokio::task::yield_now().await;
    }
    base
}

/// A keep-alive client signed in to the dashboard as the first admin, made
/// through the setup page (the database must have no user yet).
pub async fn signed_in(base: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let password = "a bench password";
    let res = client
        .post(format!("{base}/api/setup"))
        .form(&[
            ("email", "bench@example.com"),
            ("password", password),
            ("confirm", password),
        ])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "setup: {}", res.status());
    client
}

/// Webhooks `wh-0` … `wh-{n-1}` of a project, one receiver host each.
pub async fn insert_webhooks(
    conn: &mut sqlx::SqliteConnection,
    project_id: &str,
    n: i64,
    created_at: i64,
) {
    for w in 0..n {
        sqlx::query(
            "INSERT INTO webhooks (id, project_id, url, scheme, secret, created_at, updated_at) \
             VALUES (?, ?, ?, 'spectrum-v0', x'00', ?, ?)",
        )
        .bind(format!("wh-{w}"))
        .bind(project_id)
        .bind(format!("https://receiver-{w}.example.com/hooks"))
        .bind(created_at)
        .bind(created_at)
        .execute(&mut *conn)
        .await
        .unwrap();
    }
}

/// A field of `/proc/{pid}/status` in KiB (`pid` "self" for this process),
/// e.g. `VmRSS:` or `RssAnon:`; 0 once the process is gone.
pub fn proc_kib(pid: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Microseconds since the Unix epoch, comparable across processes.
pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

/// Publishes `body(n)` for n in 0..count to `url` at a steady `per_second`,
/// each call on its own task (a late call does not hold back the next);
/// every answer must be 202. Returns (n, µs the call started, µs it returned).
pub async fn publish_at_rate(
    client: &reqwest::Client,
    url: &str,
    (pid, secret): (&str, &str),
    per_second: u64,
    count: u64,
    body: fn(u64) -> String,
) -> Vec<(u64, u64, u64)> {
    let returned: std::sync::Arc<std::sync::Mutex<Vec<(u64, u64, u64)>>> = Default::default();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / per_second));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut calls = Vec::new();
    for n in 0..count {
        tick.tick().await;
        let (client, url, pid, secret, returned) = (
            client.clone(),
            url.to_string(),
            pid.to_string(),
            secret.to_string(),
            returned.clone(),
        );
        calls.push(tokio::spawn(async move {
            let start = now_us();
            let res = client
                .post(&url)
                .basic_auth(&pid, Some(&secret))
                .header("content-type", "application/json")
                .body(body(n))
                .send()
                .await
                .unwrap();
            let back = now_us();
            assert_eq!(res.status(), 202);
            returned.lock().unwrap().push((n, start, back));
        }));
    }
    for c in calls {
        c.await.unwrap();
    }
    let out = returned.lock().unwrap().clone();
    out
}

/// POSTs `body(i)` for i in 0..count to `url` from `concurrency` clients,
/// each taking the next until none is left. A 503 (Signpost's back-pressure)
/// is waited out as its `Retry-After` says and sent again; any other answer
/// but 202 fails the bench.
pub async fn publish_all(
    client: &reqwest::Client,
    url: &str,
    (pid, secret): (&str, &str),
    count: usize,
    body: impl Fn(usize) -> String + Send + Sync + 'static,
    concurrency: usize,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let body = std::sync::Arc::new(body);
    let next = std::sync::Arc::new(AtomicUsize::new(0));
    let mut publishers = Vec::new();
    for _ in 0..concurrency {
        let (client, url, pid, secret) = (
            client.clone(),
            url.to_string(),
            pid.to_string(),
            secret.to_string(),
        );
        let (body, next) = (body.clone(), next.clone());
        publishers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let bytes = body(i);
                loop {
                    let res = client
                        .post(&url)
                        .basic_auth(&pid, Some(&secret))
                        .header("content-type", "application/json")
                        .body(bytes.clone())
                        .send()
                        .await
                        .unwrap();
                    match res.status().as_u16() {
                        202 => break,
                        503 => {
                            let wait = res
                                .headers()
                                .get("retry-after")
                                .and_then(|v| v.to_str().ok()?.parse().ok())
                                .unwrap_or(1);
                            tokio::time::sleep(Duration::from_secs(wait)).await;
                        }
                        s => panic!("publish answered {s}: {}", res.text().await.unwrap()),
                    }
                }
            }
        }));
    }
    for p in publishers {
        p.await.unwrap();
    }
}

// ---------------------------------------------------------------- the receiver

/// What the receiver counts.
#[derive(Default)]
struct Counters {
    hits: std::sync::atomic::AtomicU64,
    /// `/late/` requests being answered now, and the most at once.
    late_now: std::sync::atomic::AtomicU64,
    late_peak: std::sync::atomic::AtomicU64,
    /// (event n, arrival µs) of requests to /lat/…
    arrivals: std::sync::Mutex<Vec<(u64, u64)>>,
}

/// The benches' webhook receiver, run as its own process (the bench's own
/// executable with `SIGNPOST_BENCH_ROLE=receiver`; see [`start_receiver`]):
/// `/hook/{i}` and `/now/{i}` answer 200 at once, `/slow/{i}` after 20 ms,
/// `/lat/{i}` keeps (event `n`, arrival µs) for `/arrivals`, `/late/{i}`
/// answers after 50 ms and keeps (`c` × 1,000,000 + `k` × 1,000 + `n`,
/// arrival µs) of an event `{"c": c, "k": k, "n": n, …}`, and `/peak` is
/// the most `/late/` requests it answered at once since the last `/peak`;
/// `/stats` is the count of requests so far. Prints its port, then serves.
pub async fn receiver() {
    use axum::extract::State;
    use axum::routing::{get, post};
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    let counters = Arc::new(Counters::default());
    let now = post(|State(c): State<Arc<Counters>>| async move {
        c.hits.fetch_add(1, Ordering::Relaxed);
    });
    let app = axum::Router::new()
        .route("/hook/{i}", now.clone())
        .route("/now/{i}", now)
        .route(
            "/slow/{i}",
            post(|State(c): State<Arc<Counters>>| async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                c.hits.fetch_add(1, Ordering::Relaxed);
            }),
        )
        .route(
            "/lat/{i}",
            post(
                |State(c): State<Arc<Counters>>, body: axum::body::Bytes| async move {
                    let at = now_us();
                    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    let n = v["n"].as_u64().unwrap();
                    c.hits.fetch_add(1, Ordering::Relaxed);
                    c.arrivals.lock().unwrap().push((n, at));
                },
            ),
        )
        .route(
            "/late/{i}",
            post(
                |State(c): State<Arc<Counters>>, body: axum::body::Bytes| async move {
                    let at = now_us();
                    let now = c.late_now.fetch_add(1, Ordering::Relaxed) + 1;
                    c.late_peak.fetch_max(now, Ordering::Relaxed);
                    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    let field = |f: &str| v[f].as_u64().unwrap();
                    let id = field("c") * 1_000_000 + field("k") * 1_000 + field("n");
                    c.arrivals.lock().unwrap().push((id, at));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    c.late_now.fetch_sub(1, Ordering::Relaxed);
                    c.hits.fetch_add(1, Ordering::Relaxed);
                },
            ),
        )
        .route(
            "/peak",
            get(|State(c): State<Arc<Counters>>| async move {
                c.late_peak.swap(0, Ordering::Relaxed).to_string()
            }),
        )
        .route(
            "/stats",
            get(|State(c): State<Arc<Counters>>| async move {
                c.hits.load(Ordering::Relaxed).to_string()
            }),
        )
        .route(
            "/arrivals",
            get(|State(c): State<Arc<Counters>>| async move {
                serde_json::to_string(&*c.arrivals.lock().unwrap()).unwrap()
            }),
        )
        .with_state(counters);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("{}", listener.local_addr().unwrap().port());
    axum::serve(listener, app).await.unwrap();
}

/// The receiver process, killed when dropped.
pub struct ReceiverProcess(std::process::Child);

impl Drop for ReceiverProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts [`receiver`] in its own process; returns it and its base URL.
pub fn start_receiver() -> (ReceiverProcess, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .env("SIGNPOST_BENCH_ROLE", "receiver")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut port = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let rx = format!("http://127.0.0.1:{}", port.trim());
    (ReceiverProcess(child), rx)
}

/// Every (event `n`, arrival time in µs) the receiver has seen so far.
pub async fn arrivals(client: &reqwest::Client, rx: &str) -> Vec<(u64, u64)> {
    client
        .get(format!("{rx}/arrivals"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The body of a GET, as text.
pub async fn get(client: &reqwest::Client, url: &str) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

/// The `q` quantile of sorted samples (nearest rank).
pub fn percentile(sorted: &[u64], q: f64) -> u64 {
    sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// How many requests the receiver has had.
pub async fn hits(client: &reqwest::Client, rx: &str) -> u64 {
    client
        .get(format!("{rx}/stats"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .parse()
        .unwrap()
}

/// Registers `count` webhooks through the API of `base` on the project
/// `(pid, secret)`, the i-th to `{prefix}/{i}`.
pub async fn add_webhooks(
    client: &reqwest::Client,
    base: &str,
    auth: (&str, &str),
    prefix: &str,
    count: usize,
) {
    add_webhooks_with(client, base, auth, prefix, count, serde_json::json!({})).await
}

/// [`add_webhooks`], each registered with the fields of `extra` too.
pub async fn add_webhooks_with(
    client: &reqwest::Client,
    base: &str,
    (pid, secret): (&str, &str),
    prefix: &str,
    count: usize,
    extra: serde_json::Value,
) {
    for i in 0..count {
        let mut body = extra.clone();
        body["webhookUrl"] = serde_json::json!(format!("{prefix}/{i}"));
        let res = client
            .post(format!("{base}/projects/{pid}/webhooks"))
            .basic_auth(pid, Some(secret))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    }
}

/// A new project made by `bin`'s `project create` on the database at
/// `db_url`: its (id, secret).
pub fn cli_project(bin: &str, db_url: &str, name: &str) -> (String, String) {
    let out = std::process::Command::new(bin)
        .args(["project", "create", "--name", name, "--json"])
        .env("SIGNPOST_DATABASE_URL", db_url)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin} (scripts/build --release first): {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        v["id"].as_str().unwrap().into(),
        v["secret"].as_str().unwrap().into(),
    )
}
