//! Bulk replay (issue 25): `POST /projects/{pid}/replay` picks finished
//! deliveries across webhooks by time, status, event type and webhook; a
//! dry run counts exactly what a replay then queues; the replay is stored,
//! recorded in the activity log, paced, one at a time per project, and a
//! replay interrupted by `kill -9` completes after a restart without
//! queueing any delivery twice.

use crate::receiver::{Receiver, Reply};
use crate::support::LONG_WAIT as WAIT;
use crate::support::*;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Waits until the project has no pending delivery.
async fn all_finished(s: &Api) {
    eventually(
        || async {
            let db = s.server.db().await;
            signpost::on_db!(&db, c => sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM deliveries WHERE status = 'pending'"
            )
            .fetch_one(c)
            .await)
            .unwrap()
        },
        |n| *n == 0,
    )
    .await;
}

async fn replay(s: &Api, body: Value) -> (StatusCode, Value) {
    s.call("/replay", body).await
}

#[tokio::test]
async fn a_dry_run_counts_what_the_replay_queues_across_webhooks() {
    let rx = Receiver::start().await;
    rx.otherwise("a", Reply::Status(500));
    rx.otherwise("b", Reply::Status(500));
    let (s, admin) = Api::with_admin(|c| c.delivery.max_attempts = 1).await;
    let (a, _) = s.register(&rx.url("a"), json!({})).await;
    let (b, _) = s.register(&rx.url("b"), json!({})).await;
    let (ok, _) = s.register(&rx.url("ok"), json!({})).await;
    let before = signpost::server::db::now_ms() - 1;
    for i in 0..6 {
        let name = if i % 2 == 0 {
            "order.created"
        } else {
            "order.paid"
        };
        s.publish(json!({"event": name, "n": i})).await;
    }
    all_finished(&s).await;

    let count = |body: Value| {
        let s = &s;
        async move {
            let mut body = body;
            body["dryRun"] = json!(true);
            let (status, answer) = replay(s, body).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            answer["data"]["count"].as_u64().unwrap()
        }
    };
    // Failed (and dropped) by default: 6 events to each of the two failing webhooks.
    assert_eq!(count(json!({"since": before})).await, 12);
    assert_eq!(
        count(json!({"since": before, "status": "succeeded"})).await,
        6
    );
    assert_eq!(
        count(json!({"since": before, "status": ["failed", "succeeded"]})).await,
        18
    );
    assert_eq!(
        count(json!({"since": before, "eventTypes": ["order.created"]})).await,
        6
    );
    assert_eq!(count(json!({"since": before, "webhookIds": [a]})).await, 6);
    assert_eq!(
        count(json!({"since": before, "webhookIds": [a], "eventTypes": ["order.paid"]})).await,
        3
    );
    assert_eq!(
        count(json!({"since": before, "until": before + 1})).await,
        0
    );
    let iso = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(before) * 1_000_000)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    assert_eq!(count(json!({"since": iso})).await, 12);

    // The replay queues what the dry run counted, then is done.
    let dry = count(json!({"since": before, "eventTypes": ["order.created"]})).await;
    let (status, started) = replay(
        &s,
        json!({"since": before, "eventTypes": ["order.created"]}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    assert_eq!(started["data"]["count"].as_u64(), Some(dry));
    let id = started["data"]["id"].as_str().unwrap().to_string();
    let path = format!("/replays/{id}");
    let done = eventually(
        || s.get(&path),
        |(_, r)| r["data"]["state"] == json!("done"),
    )
    .await;
    assert_eq!(done.1["data"]["queued"].as_u64(), Some(dry), "{}", done.1);
    let db = s.server.db().await;
    let replayed: Vec<(String, String)> = signpost::on_db!(&db, c => sqlx::query_as(
        "SELECT d.event_id, d.webhook_id FROM deliveries d WHERE d.origin = 'replay'"
    )
    .fetch_all(c)
    .await)
    .unwrap();
    assert_eq!(replayed.len() as u64, dry);
    let mut pairs = replayed.clone();
    pairs.sort();
    pairs.dedup();
    assert_eq!(pairs.len(), replayed.len(), "one per event and webhook");
    assert!(replayed.iter().all(|(_, w)| *w == a || *w == b));
    assert!(!replayed.iter().any(|(_, w)| *w == ok));
    // The replayed deliveries are the newest of their pairs: the originals
    // are not picked again, the (failed) replays are.
    all_finished(&s).await;
    assert_eq!(count(json!({"since": before})).await, 12);

    // Recorded in the activity log.
    let res = server_fn(&s, &admin, "activity/project", &[("project_id", &s.pid)]).await;
    let log = res.text().await.unwrap();
    assert!(
        log.contains("deliveries.replayed") && log.contains(&id),
        "{log}"
    );

    for bad in [
        json!({}),
        json!({"since": "yesterday"}),
        json!({"since": before, "status": "pending"}),
        json!({"since": before, "status": ["nope"]}),
        json!({"since": before, "until": before - 10}),
        json!({"since": before, "eventTypes": ["has space"]}),
    ] {
        let (status, answer) = replay(&s, bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {answer}");
    }
    let (status, _) = s.get("/replays/rpl_unknown").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The deliveries a replay made, per (event, webhook).
async fn replayed_pairs(db: &signpost::server::db::Db) -> Vec<(String, i64)> {
    signpost::on_db!(db, c => sqlx::query_as(
        "SELECT event_id, count(*) FROM deliveries WHERE origin = 'replay' GROUP BY event_id"
    )
    .fetch_all(c)
    .await)
    .unwrap()
}

#[tokio::test]
async fn a_replay_killed_half_way_completes_after_a_restart_without_doubles() {
    const EVENTS: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path(), "replay.db").await;
    let env = [
        ("SIGNPOST_MAX_ATTEMPTS", "1"),
        // Three replayed deliveries pending at most: the replay waits for
        // them, so the kill lands half-way.
        ("SIGNPOST_REPLAY_IN_FLIGHT", "3"),
        ("SIGNPOST_LEASE_MS", "1500"),
    ];
    let rx = Receiver::start().await;
    rx.otherwise("h", Reply::Status(500));
    let first = crate::processes::start(&url, &env).await;
    let db = signpost::server::db::connect(&url).await.unwrap();
    let project = signpost::server::projects::create(&db, "Replay")
        .await
        .unwrap();
    let http = Client::new();
    let api = |base: &str, path: &str| format!("{base}/projects/{}{path}", project.id);
    let res = http
        .post(api(&first.base, "/webhooks"))
        .basic_auth(&project.id, Some(&project.secret))
        .json(&json!({ "webhookUrl": rx.url("h"), "ordering": "unordered" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let since = signpost::server::db::now_ms() - 1;
    for n in 0..EVENTS {
        let res = http
            .post(api(&first.base, "/events"))
            .basic_auth(&project.id, Some(&project.secret))
            .json(&json!({ "event": "tick", "n": n }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::ACCEPTED);
    }
    rx.wait_for("h", EVENTS, WAIT).await;
    eventually(
        || async {
            signpost::on_db!(&db, c => sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM deliveries WHERE status = 'failed'"
            )
            .fetch_one(c)
            .await)
            .unwrap()
        },
        |n| *n == EVENTS as i64,
    )
    .await;

    // The receiver hangs now: the replay's first deliveries stay pending.
    rx.otherwise("h", Reply::After(Duration::from_secs(120), 200));
    let res = http
        .post(api(&first.base, "/replay"))
        .basic_auth(&project.id, Some(&project.secret))
        .json(&json!({ "since": since }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let started: Value = res.json().await.unwrap();
    assert_eq!(started["data"]["count"], json!(EVENTS));
    let id = started["data"]["id"].as_str().unwrap().to_string();
    // Half-way: some queued, not all.
    let deadline = Instant::now() + WAIT;
    loop {
        let n: usize = replayed_pairs(&db).await.len();
        if n >= 3 {
            assert!(n < EVENTS, "paced: {n} queued at once");
            break;
        }
        assert!(Instant::now() < deadline, "the replay never began");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // One replay at a time per project.
    let res = http
        .post(api(&first.base, "/replay"))
        .basic_auth(&project.id, Some(&project.secret))
        .json(&json!({ "since": since }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    first.signal("KILL");
    drop(first);

    // Restarted, with a receiver that answers: the replay finishes.
    rx.otherwise("h", Reply::Status(200));
    let second = crate::processes::start(&url, &env).await;
    let path = api(&second.base, &format!("/replays/{id}"));
    let done = eventually(
        || async {
            let res = http
                .get(&path)
                .basic_auth(&project.id, Some(&project.secret))
                .send()
                .await
                .unwrap();
            res.json::<Value>().await.unwrap()
        },
        |r| r["data"]["state"] == json!("done"),
    )
    .await;
    assert_eq!(done["data"]["queued"], json!(EVENTS), "{done}");
    let pairs = replayed_pairs(&db).await;
    assert_eq!(pairs.len(), EVENTS, "every event replayed");
    assert!(
        pairs.iter().all(|(_, n)| *n == 1),
        "none queued twice: {pairs:?}"
    );
    drop(second);
}

#[tokio::test]
async fn the_logs_replay_takes_its_filters_and_a_tenants_log_replays_its_own() {
    let rx = Receiver::start().await;
    rx.otherwise("acme", Reply::Status(500));
    rx.otherwise("own", Reply::Status(500));
    let (s, admin) = Api::with_admin(|c| c.delivery.max_attempts = 1).await;
    let (acme, _) = s
        .register(&rx.url("acme"), json!({ "tenant": "acme" }))
        .await;
    s.register(&rx.url("own"), json!({})).await;
    let res = s
        .post("/events?tenant=acme")
        .json(&json!({"event": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    s.publish(json!({"event": "x"})).await;
    all_finished(&s).await;
    let pid = s.pid.clone();
    let count = |extra: &'static [(&'static str, &'static str)]| {
        let (s, admin, pid) = (&s, &admin, pid.clone());
        async move {
            let mut form = vec![("project_id", pid.as_str())];
            form.extend_from_slice(extra);
            server_fn(s, admin, "deliveries/bulk_replay_count", &form).await
        }
    };
    let n: u64 = count(&[]).await.json().await.unwrap();
    assert_eq!(n, 2);
    let n: u64 = count(&[("filter[tenant]", "acme")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(n, 1);
    let n: u64 = count(&[("filter[status]", "succeeded")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(n, 0);
    for refused in [
        &[("filter[key]", "k")][..],
        &[("filter[status]", "pending")][..],
    ] {
        let res = count(refused).await;
        assert_eq!(
            res.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{refused:?}"
        );
    }
    let res = server_fn(
        &s,
        &admin,
        "deliveries/bulk_replay",
        &[
            ("project_id", &pid),
            ("filter[tenant]", "acme"),
            ("filter[within]", "1h"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let started: Value = res.json().await.unwrap();
    assert_eq!(started["count"], json!(1));
    let db = s.server.db().await;
    let replayed: Vec<String> = eventually(
        || async {
            signpost::on_db!(&db, c => sqlx::query_scalar(
                "SELECT webhook_id FROM deliveries WHERE origin = 'replay'"
            )
            .fetch_all(c)
            .await)
            .unwrap()
        },
        |v: &Vec<String>| !v.is_empty(),
    )
    .await;
    assert_eq!(replayed, [acme]);
}
