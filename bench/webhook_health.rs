//! A busy day on the Webhooks list and a webhook's page: their 24 h figures
//! (the list's last result and success rate per webhook, the webhook page's
//! hourly chart with p50/p95) with 1,000,000 deliveries finished in the last
//! 24 hours, 100,000 to each of 10 webhooks.
//!
//!     cargo bench --features ssr --bench webhook_health
//!
//! The deliveries and one attempt each are inserted with SQL as pending,
//! then finished with one `UPDATE` per 100,000 (as the engine's writer
//! finishes them, so whatever it maintains on the way is maintained here
//! too); 2% failed, 0.3% dropped. Then the real server runs in this process
//! on 127.0.0.1:0, an admin signs in, and one keep-alive client asks for each
//! server function and each whole page (server render) `ROUNDS` times.

#[path = "common.rs"]
mod common;
use common::summary;
use signpost::server::config::Config;
use std::time::Instant;

const DELIVERIES: i64 = 1_000_000;
const WEBHOOKS: i64 = 10;
const ROUNDS: usize = 20;
const DAY_MS: i64 = 86_400_000;

async fn fill(db: &signpost::server::db::Db, project_id: &str) {
    let now = signpost::server::db::now_ms();
    // The day ends a minute ago: every delivery is inside the 24 h window.
    let start = now - DAY_MS + 60_000;
    let step = (DAY_MS - 120_000) / DELIVERIES;
    let mut tx = common::sqlite(db).begin().await.unwrap();
    common::insert_webhooks(&mut tx, project_id, WEBHOOKS, start).await;
    let n = common::numbers(DELIVERIES);
    sqlx::query(&format!(
        "{n} INSERT INTO events (id, project_id, event, body, created_at) \
         SELECT printf('evt_%08d', i), ?1, 'event.' || (i % 20), \
           '{{\"event\":\"x\",\"n\":' || i || '}}', ?2 + i * ?3 FROM n"
    ))
    .bind(project_id)
    .bind(start)
    .bind(step)
    .execute(&mut *tx)
    .await
    .unwrap();
    // Pending, held by no one: the bench's own worker claims nothing before
    // the UPDATE below, which runs before the server starts.
    sqlx::query(&format!(
        "{n} INSERT INTO deliveries (seq, id, project_id, event_id, webhook_id, status, attempts, \
           next_at, created_at) \
         SELECT i + 1, printf('dlv_%08d', i), ?1, printf('evt_%08d', i), 'wh-' || (i % {WEBHOOKS}), \
           'pending', 0, ?2 + i * ?3, ?2 + i * ?3 FROM n"
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
         SELECT i + 1, 1, ?1 + i * ?2, 5 + i % 397, '[]', CASE WHEN i % 50 = 3 THEN 500 ELSE 200 END \
         FROM n"
    ))
    .bind(start)
    .bind(step)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    for part in 0..10 {
        let (low, high) = (part * DELIVERIES / 10, (part + 1) * DELIVERIES / 10);
        sqlx::query(
            "UPDATE deliveries SET \
               status = CASE WHEN seq % 50 = 4 THEN 'failed' WHEN seq % 333 = 6 THEN 'dropped' \
                 ELSE 'succeeded' END, \
               attempts = 1, \
               last_status = CASE WHEN seq % 50 = 4 THEN 500 ELSE 200 END, \
               finished_at = created_at + 1 \
             WHERE seq > ? AND seq <= ?",
        )
        .bind(low)
        .bind(high)
        .execute(common::sqlite(db))
        .await
        .unwrap();
    }
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let (db, db_url, project) = common::bench_database(dir.path()).await;
    let filling = Instant::now();
    fill(&db, &project.id).await;
    println!(
        "filled and finished {DELIVERIES} deliveries in {:.1} s",
        filling.elapsed().as_secs_f64()
    );

    let base = common::serve(Config::for_database(&db_url)).await;
    let client = common::signed_in(&base).await;

    let pid = project.id.as_str();
    let calls = [
        (
            "health (the Webhooks list's figures)",
            format!("{base}/api/deliveries/health"),
            vec![("project_id", pid)],
        ),
        (
            "hourly (a webhook's 24 h chart)",
            format!("{base}/api/deliveries/hourly"),
            vec![("project_id", pid), ("webhook_id", "wh-3")],
        ),
    ];
    println!("\nServer functions, {ROUNDS} calls each:");
    for (name, url, form) in &calls {
        let mut samples = Vec::with_capacity(ROUNDS);
        let mut body = String::new();
        for _ in 0..ROUNDS {
            let start = Instant::now();
            let res = client.post(url).form(form).send().await.unwrap();
            assert_eq!(res.status(), 200, "{url}");
            body = res.text().await.unwrap();
            samples.push(start.elapsed());
        }
        summary(name, samples);
        println!("    {}", &body[..body.len().min(300)]);
    }

    println!("\nWhole pages (server render), {ROUNDS} requests each:");
    for (name, path) in [
        ("GET /p/{pid}/webhooks", format!("/p/{pid}/webhooks")),
        (
            "GET /p/{pid}/webhooks/{wid}",
            format!("/p/{pid}/webhooks/wh-3"),
        ),
    ] {
        let mut samples = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let start = Instant::now();
            let res = client.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            res.text().await.unwrap();
            samples.push(start.elapsed());
        }
        summary(name, samples);
    }
}
