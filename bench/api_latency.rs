//! p50/p99 latency of `POST /projects/{pid}/webhooks/` and
//! `GET /projects/{pid}/webhooks/` with 1,000 webhooks in a project.
//!
//!     cargo bench --features ssr --bench api_latency
//!
//! The real server runs in this process on 127.0.0.1:0 with a fresh SQLite
//! database; one keep-alive client sends the requests one after another.

#[path = "common.rs"]
mod common;
use common::summary;
use signpost::server::config::Config;
use std::time::Instant;

const WEBHOOKS: usize = 1_000;
const LIST_CALLS: usize = 200;

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let mut config = Config::for_database(&db_url);
    config.allow_targets = "127.0.0.1".parse().unwrap();
    config.api_rate_limit = 1_000_000;
    let base = common::serve(config).await;
    let client = reqwest::Client::new();
    let db = signpost::server::db::connect(&db_url).await.unwrap();
    let project = signpost::server::projects::create(&db, "bench")
        .await
        .unwrap();
    let url = format!("{base}/projects/{}/webhooks/", project.id);

    let mut posts = Vec::with_capacity(WEBHOOKS);
    for i in 0..WEBHOOKS {
        let body = serde_json::json!({ "webhookUrl": format!("http://127.0.0.1:9/hook/{i}") });
        let start = Instant::now();
        let res = client
            .post(&url)
            .basic_auth(&project.id, Some(&project.secret))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.bytes().await.unwrap();
        posts.push(start.elapsed());
    }

    let mut gets = Vec::with_capacity(LIST_CALLS);
    for _ in 0..LIST_CALLS {
        let start = Instant::now();
        let res = client
            .get(&url)
            .basic_auth(&project.id, Some(&project.secret))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body = res.bytes().await.unwrap();
        gets.push(start.elapsed());
        assert!(body.len() > WEBHOOKS * 100, "the list holds every webhook");
    }

    println!("Signpost management API, SQLite, one keep-alive client, {WEBHOOKS} webhooks");
    summary("POST /webhooks/ (register)", posts);
    summary(&format!("GET /webhooks/ (list of {WEBHOOKS})"), gets);
}
