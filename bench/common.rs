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

/// A `WITH` clause naming `n(i)`, the integers 0 to `count - 1`: the rows
/// the benches fill their tables from, in one statement each.
pub fn numbers(count: i64) -> String {
    format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {})",
        count - 1
    )
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
