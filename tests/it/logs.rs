//! `SIGNPOST_LOG_FORMAT=json` (issue 14): the real binary logs one JSON
//! object per line; a request's lines carry its request id, an attempt's
//! the delivery, webhook and event ids; no secret is ever logged.

use crate::receiver::{Receiver, Reply};
use crate::support::TEST_SECRET_KEY;
use crate::support::WAIT;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[tokio::test]
async fn json_logs_carry_the_ids_a_person_searches_for_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = crate::support::fresh_database_url(dir.path(), "logs.db").await;
    let log_path = dir.path().join("signpost.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_signpost"))
        .arg("serve")
        .env("SIGNPOST_DATABASE_URL", &db_url)
        .env("SIGNPOST_ADDR", format!("127.0.0.1:{port}"))
        .env("SIGNPOST_SECRET_KEY", TEST_SECRET_KEY)
        .env("SIGNPOST_ALLOW_TARGETS", "127.0.0.1")
        .env("SIGNPOST_LOG_FORMAT", "json")
        // Per-request lines too (tower_http logs each answer at debug).
        .env("SIGNPOST_LOG", "info,tower_http=debug")
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = Client::new();
    let deadline = Instant::now() + WAIT;
    while !matches!(http.get(format!("{base}/healthz")).send().await, Ok(r) if r.status() == StatusCode::OK)
    {
        assert!(Instant::now() < deadline, "signpost did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let db = signpost::server::db::connect(&db_url).await.unwrap();
    let project = signpost::server::projects::create(&db, "Logs")
        .await
        .unwrap();
    let rx = Receiver::start().await;
    rx.otherwise("/down", Reply::Status(500));
    let res = http
        .post(format!("{base}/projects/{}/webhooks", project.id))
        .basic_auth(&project.id, Some(&project.secret))
        .json(&json!({ "webhookUrl": rx.url("/down") }))
        .send()
        .await
        .unwrap();
    let webhook: Value = res.json().await.unwrap();
    let webhook_id = webhook["data"]["id"].as_str().unwrap().to_string();
    let signing_secret = webhook["data"]["signingSecret"]
        .as_str()
        .unwrap()
        .to_string();
    let res = http
        .post(format!("{base}/projects/{}/events", project.id))
        .basic_auth(&project.id, Some(&project.secret))
        .header("x-request-id", "req-logs-test-1")
        .json(&json!({ "event": "order.paid" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let event: Value = res.json().await.unwrap();
    let event_id = event["data"]["id"].as_str().unwrap().to_string();

    // The first attempt fails (500): its line is at info.
    let lines = loop {
        let text = std::fs::read_to_string(&log_path).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        if lines
            .iter()
            .any(|l| l["message"] == "attempt failed; tried again later")
        {
            break lines;
        }
        assert!(Instant::now() < deadline, "no attempt was logged:\n{text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let _ = child.kill();
    let _ = child.wait();

    for l in &lines {
        assert!(l["timestamp"].is_string() && l["level"].is_string(), "{l}");
    }
    let attempt = lines
        .iter()
        .find(|l| l["message"] == "attempt failed; tried again later")
        .unwrap();
    assert_eq!(attempt["level"], "INFO");
    assert_eq!(attempt["webhook"], webhook_id.as_str());
    assert_eq!(attempt["event"], event_id.as_str());
    assert!(attempt["delivery"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(attempt["attempt"], 1);
    assert_eq!(attempt["status"], 500);
    // The publish call's lines are in its request's span, with its id.
    let publish = lines
        .iter()
        .find(|l| {
            l["spans"].as_array().is_some_and(|spans| {
                spans
                    .iter()
                    .any(|s| s["name"] == "request" && s["id"] == "req-logs-test-1")
            })
        })
        .unwrap_or_else(|| panic!("no line of the publish call: {lines:#?}"));
    let span = &publish["spans"][0];
    assert_eq!(span["method"], "POST");
    assert_eq!(span["path"], format!("/projects/{}/events", project.id));
    // No secret: not the project's, not the webhook's signing secret, not
    // the server's key.
    let text = std::fs::read_to_string(&log_path).unwrap();
    for secret in [
        project.secret.as_str(),
        signing_secret.as_str(),
        TEST_SECRET_KEY,
    ] {
        assert!(!text.contains(secret), "a secret was logged");
    }
    let key_in_signing = signing_secret.trim_start_matches("whsec_");
    assert!(!text.contains(key_in_signing), "a signing key was logged");
}
