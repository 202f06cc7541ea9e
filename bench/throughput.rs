//! What `scripts/bench` runs: Signpost's throughput against this machine's
//! own limit, in one run, as ratios.
//!
//! 1. The limit: nginx (one worker, `return 200`, keep-alive) driven by
//!    `wrk -t1 -c64 -d10s` POSTing the same ~200-byte body.
//! 2. The release `signpost serve` as a process of its own, its database
//!    fresh, commits fsynced (SQLite `synchronous=FULL`, the default), 50
//!    webhooks (the defaults: ordered, no key) pointing at that nginx:
//!    - single: 2,000 events published one a call by 16 clients, until all
//!      100,000 deliveries are recorded;
//!    - batched: the same through `POST …/events/batch`, 100 events a call;
//!    - backlog: the server stopped, 100,000 more deliveries written straight
//!      into its database, the server started again: until they are all
//!      recorded. Nothing else runs meanwhile but a probe: one single-event
//!      publish every 10 ms to another project, whose call latency (start to
//!      answer) is the "publish p50 / p99" column.
//!
//! Each rate counts from the first publish call (or the restart) to the
//! last delivery recorded `succeeded`; "CPU" is the server process's user +
//! system time over the same span, per delivery; "RSS" is the server's peak.
//!
//! ```text
//! scripts/bench                                   # installs nginx and wrk if missing
//! SIGNPOST_BENCH_BEFORE=/path/to/old/signpost scripts/bench   # old and new, back to back
//! ```
//!
//! `SIGNPOST_BENCH_ROUNDS` (default 1) repeats the runs, alternating the
//! binaries; `SIGNPOST_BENCH_POSTGRES_URL` (set by `scripts/bench --postgres`)
//! adds the same runs on PostgreSQL (a database of their own each).

#[path = "common.rs"]
mod common;
#[path = "nginx.rs"]
mod nginx;
use std::time::{Duration, Instant};

const WEBHOOKS: usize = 50;
const EVENTS: usize = 2_000;
const DELIVERIES: u64 = (WEBHOOKS * EVENTS) as u64;
const PUBLISHERS: usize = 16;
const BATCH: usize = 100;
const BATCH_PUBLISHERS: usize = 4;
const PROBE_EVERY: Duration = Duration::from_millis(10);

fn event_body(n: u64) -> String {
    format!(
        r#"{{"event":"order.paid","n":{n},"order":{{"id":"ord_{n:012}","amount":4200,"currency":"EUR","customer":"cus_0000000000000001","items":3}}}}"#
    )
}

/// What one run measured.
struct Run {
    label: String,
    database: &'static str,
    single: Phase,
    batched: Phase,
    backlog: Phase,
    probe: Vec<Duration>,
    /// The writer in the backlog phase: commits, mean ms, mean size.
    writer: (f64, f64, f64),
    peak_rss_mib: u64,
}

/// One phase: deliveries per second and server CPU per delivery.
struct Phase {
    rate: f64,
    cpu_us: f64,
}

#[tokio::main]
async fn main() {
    let nginx = nginx::Nginx::start();
    let body = event_body(1);
    let limit = nginx::wrk(&nginx.url("/hook/0"), &body);

    let this = env!("CARGO_BIN_EXE_signpost").to_string();
    let mut binaries = vec![("this".to_string(), this)];
    if let Ok(before) = std::env::var("SIGNPOST_BENCH_BEFORE") {
        binaries.insert(0, ("before".to_string(), before));
    }
    let rounds: usize = std::env::var("SIGNPOST_BENCH_ROUNDS")
        .ok()
        .map(|r| r.parse().expect("SIGNPOST_BENCH_ROUNDS is a number"))
        .unwrap_or(1);
    let postgres = std::env::var("SIGNPOST_BENCH_POSTGRES_URL").ok();

    print_header(limit, body.len());
    let mut databases = 0;
    for round in 0..rounds {
        let mut order: Vec<&(String, String)> = binaries.iter().collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for (label, bin) in order {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/bench.db", dir.path().display());
            eprintln!("running {label} on SQLite …");
            print_row(limit, &run(label, bin, "sqlite", &url, &nginx).await);
            if let Some(admin) = &postgres {
                databases += 1;
                let url = fresh_postgres(admin, databases).await;
                eprintln!("running {label} on PostgreSQL …");
                print_row(limit, &run(label, bin, "postgres", &url, &nginx).await);
            }
        }
    }
}

/// One run of the three phases with `bin` on the database at `db_url`.
async fn run(
    label: &str,
    bin: &str,
    database: &'static str,
    db_url: &str,
    nginx: &nginx::Nginx,
) -> Run {
    let (pid, secret) = common::cli_project(bin, db_url, "Throughput");
    let probe_project = common::cli_project(bin, db_url, "Probe");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let (server, base) = common::serve_binary(bin, db_url, &[]).await;
    common::add_webhooks(
        &client,
        &base,
        (&pid, &secret),
        &nginx.url("/hook"),
        WEBHOOKS,
    )
    .await;
    let probe_auth = (probe_project.0.as_str(), probe_project.1.as_str());
    common::add_webhooks(&client, &base, probe_auth, &nginx.url("/probe"), 1).await;
    let db = signpost::server::db::connect(db_url).await.unwrap();

    // Single events.
    let cpu = cpu_ticks(server.id());
    let started = Instant::now();
    common::publish_all(
        &client,
        &format!("{base}/projects/{pid}/events"),
        (&pid, &secret),
        EVENTS,
        |i| event_body(i as u64),
        PUBLISHERS,
    )
    .await;
    wait_delivered(&db, &pid, DELIVERIES).await;
    let single = phase(started, cpu, cpu_ticks(server.id()));

    // Batches.
    let cpu = cpu_ticks(server.id());
    let started = Instant::now();
    common::publish_all(
        &client,
        &format!("{base}/projects/{pid}/events/batch"),
        (&pid, &secret),
        EVENTS / BATCH,
        |b| {
            let events: Vec<String> = (0..BATCH)
                .map(|i| event_body((EVENTS + b * BATCH + i) as u64))
                .collect();
            format!("[{}]", events.join(","))
        },
        BATCH_PUBLISHERS,
    )
    .await;
    wait_delivered(&db, &pid, 2 * DELIVERIES).await;
    let batched = phase(started, cpu, cpu_ticks(server.id()));
    let mut peak_rss_mib = common::proc_kib(&server.id().to_string(), "VmHWM:") / 1024;
    server.stop();

    // A backlog: written while the server is down, delivered when it is back.
    fill_backlog(&db, &pid).await;
    let started = Instant::now();
    let (server, base) =
        common::serve_binary(bin, db_url, &[("SIGNPOST_METRICS_TOKEN", METRICS_TOKEN)]).await;
    let cpu = cpu_ticks(server.id());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let probe = tokio::spawn(probe(
        client.clone(),
        format!("{base}/projects/{}/events", probe_project.0),
        probe_project.clone(),
        stop.clone(),
    ));
    wait_delivered(&db, &pid, 3 * DELIVERIES).await;
    let backlog = phase(started, cpu, cpu_ticks(server.id()));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let probe = probe.await.unwrap();
    let writer = writer_stats(&client, &base).await;
    peak_rss_mib = peak_rss_mib.max(common::proc_kib(&server.id().to_string(), "VmHWM:") / 1024);
    server.stop();
    db.close().await;
    Run {
        label: label.to_string(),
        database,
        single,
        batched,
        backlog,
        probe,
        writer,
        peak_rss_mib,
    }
}

const METRICS_TOKEN: &str = "bench-metrics-token";

/// The writer's commits over the backlog phase, from `/metrics`: how many,
/// their mean duration (ms) and mean size (records and publish calls).
async fn writer_stats(client: &reqwest::Client, base: &str) -> (f64, f64, f64) {
    let text = client
        .get(format!("{base}/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or(f64::NAN)
    };
    let commits = value("signpost_writer_commit_duration_seconds_count");
    (
        commits,
        value("signpost_writer_commit_duration_seconds_sum") * 1000.0 / commits,
        value("signpost_writer_group_size_sum") / commits,
    )
}

/// Waits until `total` of the project's deliveries are recorded succeeded
/// (none pending); a failed or dropped one fails the bench.
async fn wait_delivered(db: &signpost::server::db::Db, pid: &str, total: u64) {
    loop {
        let pending: Option<i32> = signpost::on_db!(db, pool => {
            sqlx::query_scalar(
                "SELECT 1 FROM deliveries WHERE status = 'pending' AND project_id = $1 LIMIT 1",
            )
            .bind(pid)
            .fetch_optional(pool)
            .await
        })
        .unwrap();
        if pending.is_none() {
            let done: i64 = signpost::on_db!(db, pool => {
                sqlx::query_scalar(
                    "SELECT count(*) FROM deliveries WHERE project_id = $1 AND status = 'succeeded'",
                )
                .bind(pid)
                .fetch_one(pool)
                .await
            })
            .unwrap();
            if done as u64 >= total {
                assert_eq!(done as u64, total, "more deliveries than published");
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// 2,000 events, each to the 50 webhooks, written into the database as
/// ingest would leave them (pending, due now), with the lanes told.
async fn fill_backlog(db: &signpost::server::db::Db, pid: &str) {
    let now = signpost::server::db::now_ms();
    let body = r#"'{"event":"order.paid","n":' || i || ',"order":{"id":"ord_000000000001","amount":4200,"currency":"EUR","customer":"cus_0000000000000001","items":3}}'"#;
    let n = EVENTS as i64;
    // The same statements on both databases but for the numbers 0..n and
    // text to bytes.
    let (numbers, from, bytes) = match db {
        signpost::server::db::Db::Sqlite(_) => (
            common::numbers(n),
            "n".to_string(),
            format!("CAST({body} AS BLOB)"),
        ),
        signpost::server::db::Db::Postgres(_) => (
            String::new(),
            format!("generate_series(0, {}) AS n(i)", n - 1),
            format!("convert_to({body}, 'UTF8')"),
        ),
    };
    for sql in [
        format!(
            "{numbers} INSERT INTO events (id, project_id, event, body, created_at) \
             SELECT 'evt_backlog_' || i, $1, 'order.paid', {bytes}, $2 FROM {from}"
        ),
        format!(
            "{numbers} INSERT INTO deliveries (id, project_id, event_id, webhook_id, next_at, created_at) \
             SELECT 'dlv_backlog_' || w.id || '_' || i, $1, 'evt_backlog_' || i, w.id, $2, $2 \
             FROM {from}, webhooks w WHERE w.project_id = $1 ORDER BY i, w.id"
        ),
    ] {
        signpost::on_db!(db, pool => {
            sqlx::query(&sql).bind(pid).bind(now).execute(pool).await.map(|_| ())
        })
        .unwrap();
    }
    for sql in [
        "INSERT INTO lanes (webhook_id) SELECT id FROM webhooks WHERE project_id = $1 \
         ON CONFLICT DO NOTHING",
        "UPDATE lanes SET last_seq = (SELECT max(seq) FROM deliveries d \
         WHERE d.webhook_id = lanes.webhook_id) \
         WHERE webhook_id IN (SELECT id FROM webhooks WHERE project_id = $1)",
    ] {
        signpost::on_db!(db, pool => {
            sqlx::query(sql).bind(pid).execute(pool).await.map(|_| ())
        })
        .unwrap();
    }
}

/// One single-event publish every [`PROBE_EVERY`] until `stop`; each call's
/// time from its start to its answer (each call on a task of its own, so a
/// slow one does not delay the next).
async fn probe(
    client: reqwest::Client,
    url: String,
    (pid, secret): (String, String),
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<Duration> {
    let mut tick = tokio::time::interval(PROBE_EVERY);
    let mut calls = Vec::new();
    let mut n = 0;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        tick.tick().await;
        n += 1;
        let (client, url, pid, secret) = (client.clone(), url.clone(), pid.clone(), secret.clone());
        calls.push(tokio::spawn(async move {
            let started = Instant::now();
            let res = client
                .post(&url)
                .basic_auth(&pid, Some(&secret))
                .header("content-type", "application/json")
                .body(event_body(n))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 202);
            started.elapsed()
        }));
    }
    let mut out = Vec::new();
    for c in calls {
        out.push(c.await.unwrap());
    }
    out
}

/// A process's user + system time in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command's closing parenthesis: utime is the 12th, stime the 13th.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn phase(started: Instant, cpu_before: u64, cpu_after: u64) -> Phase {
    let ticks_per_second = clock_ticks();
    let cpu_s = (cpu_after - cpu_before) as f64 / ticks_per_second;
    Phase {
        rate: DELIVERIES as f64 / started.elapsed().as_secs_f64(),
        cpu_us: cpu_s * 1e6 / DELIVERIES as f64,
    }
}

fn clock_ticks() -> f64 {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(100.0)
}

/// A database of its own on the PostgreSQL at `admin` for run `n`.
async fn fresh_postgres(admin: &str, n: usize) -> String {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin).await.unwrap();
    let name = format!("signpost_bench_{}_{n}", std::process::id());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
    format!("{base}/{name}")
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem_kib: u64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:")?
                .trim()
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0);
    let mem_gib = mem_kib / 1024 / 1024;
    format!("{cores} cores ({cpu}), {mem_gib} GiB")
}

fn print_header(limit: f64, body_bytes: usize) {
    println!();
    println!("machine: {}", machine());
    println!(
        "limit: nginx (1 worker, `return 200`) ← wrk -t1 -c64 -d10s POSTing {body_bytes} bytes: {limit:.0} requests/s"
    );
    println!(
        "Signpost: {WEBHOOKS} webhooks → that nginx, {DELIVERIES} signed deliveries a phase, recorded durably (fsync on)"
    );
    println!();
    println!(
        "| database | binary | single: deliveries/s (ratio) | CPU µs/delivery | batched: deliveries/s (ratio) | CPU µs | backlog: deliveries/s (ratio) | CPU µs | publish during backlog p50 / p99 | writer during backlog: commits, mean | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
}

fn print_row(limit: f64, r: &Run) {
    let mut probe: Vec<u64> = r.probe.iter().map(|d| d.as_micros() as u64).collect();
    probe.sort_unstable();
    let at = |q: f64| match probe.is_empty() {
        true => f64::NAN,
        false => common::percentile(&probe, q) as f64 / 1000.0,
    };
    println!(
        "| {} | {} | {:.0} ({:.3}) | {:.0} | {:.0} ({:.3}) | {:.0} | {:.0} ({:.3}) | {:.0} | {:.1} / {:.1} ms (n={}) | {:.0}, {:.1} ms, {:.0} items | {} MiB |",
        r.database,
        r.label,
        r.single.rate,
        r.single.rate / limit,
        r.single.cpu_us,
        r.batched.rate,
        r.batched.rate / limit,
        r.batched.cpu_us,
        r.backlog.rate,
        r.backlog.rate / limit,
        r.backlog.cpu_us,
        at(0.5),
        at(0.99),
        probe.len(),
        r.writer.0,
        r.writer.1,
        r.writer.2,
        r.peak_rss_mib
    );
}
