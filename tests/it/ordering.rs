//! Ordering keys, per-webhook concurrency and rate limits (issue 22): in
//! order per key, in parallel across keys; `maxConcurrency` and `rateLimit`
//! held at the receiver; a `429` with `Retry-After` pauses the webhook; a
//! backlog of a million keys within the memory ceiling; per-key order
//! across a `kill -9` takeover; a change reaching the lane's owner at once.

use crate::receiver::{spectrum_valid, Hit, Receiver, Reply};
use crate::support::Api;
use crate::support::WAIT;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// `(key, n)` of a hit whose event is `{"space": {"id": key}, "n": n}`.
fn key_n(h: &Hit) -> (String, i64) {
    let v = h.json();
    let key = v["space"]["id"].as_str().unwrap_or("").to_string();
    (key, v["n"].as_i64().unwrap())
}

fn message(key: &str, n: i64) -> Value {
    json!({ "event": "messages", "space": { "id": key }, "n": n })
}

async fn publish_batch(s: &Api, events: Vec<Value>) {
    let res = s.post("/events/batch").json(&events).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
}

/// Per key, the `n`s of the hits in arrival order (retries included).
fn per_key(hits: &[Hit]) -> HashMap<String, Vec<i64>> {
    let mut keys: HashMap<String, Vec<i64>> = HashMap::new();
    for h in hits {
        let (k, n) = key_n(h);
        keys.entry(k).or_default().push(n);
    }
    keys
}

/// Whether `ns` never goes back (a retry repeats an `n`, never an older one).
fn in_order(ns: &[i64]) -> bool {
    ns.windows(2).all(|w| w[0] <= w[1])
}

#[tokio::test]
async fn each_key_keeps_its_order_under_retries_while_the_others_flow() {
    let rx = Receiver::start().await;
    // A's first message fails twice before it is taken.
    rx.script_body(
        "chat",
        r#""n":1,"space":{"id":"A"}"#,
        vec![Reply::Status(503), Reply::Status(503)],
    );
    rx.otherwise("chat", Reply::After(Duration::from_millis(5), 200));
    let s = Api::new(|c| {
        c.delivery.retry_base_ms = 300;
        c.delivery.retry_max_ms = 1_000;
    })
    .await;
    s.register(
        &rx.url("chat"),
        json!({ "orderingKey": "/space/id", "maxConcurrency": 8 }),
    )
    .await;
    let mut events = Vec::new();
    for n in 1..=5 {
        for key in ["A", "B", "C"] {
            events.push(message(key, n));
        }
    }
    publish_batch(&s, events).await;
    let hits = rx.wait_for("chat", 17, WAIT).await;
    let keys = per_key(&hits);
    assert_eq!(
        keys["A"],
        vec![1, 1, 1, 2, 3, 4, 5],
        "A waited for its first"
    );
    assert_eq!(keys["B"], vec![1, 2, 3, 4, 5]);
    assert_eq!(keys["C"], vec![1, 2, 3, 4, 5]);
    // B and C were all delivered while A's first was still being retried.
    let a_taken = hits
        .iter()
        .filter(|h| key_n(h) == ("A".into(), 1))
        .nth(2)
        .unwrap()
        .at;
    let others_done = hits
        .iter()
        .filter(|h| key_n(h).0 != "A")
        .map(|h| h.at)
        .max()
        .unwrap();
    assert!(others_done < a_taken, "the other keys flowed meanwhile");
}

#[tokio::test]
async fn events_without_a_key_share_the_empty_key_in_order() {
    let rx = Receiver::start().await;
    rx.otherwise("chat", Reply::After(Duration::from_millis(20), 200));
    let s = Api::new(|_| {}).await;
    s.register(
        &rx.url("chat"),
        json!({ "orderingKey": "/space/id", "maxConcurrency": 16 }),
    )
    .await;
    // No space, a space without an id, an object or an array as the id:
    // all the empty key.
    let events: Vec<Value> = (0..12)
        .map(|n| match n % 4 {
            0 => json!({ "event": "e", "n": n }),
            1 => json!({ "event": "e", "space": {}, "n": n }),
            2 => json!({ "event": "e", "space": { "id": { "x": 1 } }, "n": n }),
            _ => json!({ "event": "e", "space": { "id": [1] }, "n": n }),
        })
        .collect();
    publish_batch(&s, events).await;
    let hits = rx.wait_for("chat", 12, WAIT).await;
    let ns: Vec<i64> = hits
        .iter()
        .map(|h| h.json()["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, (0..12).collect::<Vec<_>>());
    assert_eq!(rx.peak_in_flight("chat"), 1, "one key: one at a time");
    // The log shows no key for them.
    let (_, page) = s
        .get(&format!("/webhooks/{}/deliveries", webhook_id(&s).await))
        .await;
    let keys: Vec<&Value> = page["data"]["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["orderingKey"])
        .collect();
    assert!(keys.iter().all(|k| k.is_null()), "{keys:?}");
}

/// `PATCH …/webhooks/{id}` with `body`.
async fn patch(s: &Api, id: &str, body: impl serde::Serialize) -> reqwest::Response {
    s.req(reqwest::Method::PATCH, &format!("/webhooks/{id}"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn webhook_id(s: &Api) -> String {
    let (_, list) = s.get("/webhooks").await;
    list["data"][0]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn max_concurrency_is_never_exceeded_and_is_reached() {
    let rx = Receiver::start().await;
    for path in ["keyed", "unordered"] {
        rx.otherwise(path, Reply::After(Duration::from_millis(40), 200));
    }
    let s = Api::new(|_| {}).await;
    s.register(
        &rx.url("keyed"),
        json!({ "orderingKey": "/space/id", "maxConcurrency": 4 }),
    )
    .await;
    s.register(
        &rx.url("unordered"),
        json!({ "ordering": "unordered", "maxConcurrency": 3 }),
    )
    .await;
    let events: Vec<Value> = (0..40)
        .map(|n| message(&format!("k{}", n % 20), n))
        .collect();
    publish_batch(&s, events).await;
    rx.wait_for("keyed", 40, WAIT).await;
    rx.wait_for("unordered", 40, WAIT).await;
    assert_eq!(rx.peak_in_flight("keyed"), 4);
    assert_eq!(rx.peak_in_flight("unordered"), 3);
    for (key, ns) in per_key(&rx.hits("keyed")) {
        assert!(in_order(&ns), "{key}: {ns:?}");
    }
}

#[tokio::test]
async fn the_rate_limit_holds_without_bursts() {
    const EVENTS: usize = 60;
    let rx = Receiver::start().await;
    let s = Api::new(|_| {}).await;
    s.register(
        &rx.url("paced"),
        json!({ "ordering": "unordered", "maxConcurrency": 16, "rateLimit": 20 }),
    )
    .await;
    let events: Vec<Value> = (0..EVENTS as i64).map(|n| message("x", n)).collect();
    publish_batch(&s, events).await;
    let hits = rx.wait_for("paced", EVENTS, WAIT).await;
    let times: Vec<Instant> = hits.iter().map(|h| h.at).collect();
    let span = times[EVENTS - 1] - times[0];
    let rate = (EVENTS - 1) as f64 / span.as_secs_f64();
    assert!((17.0..=23.0).contains(&rate), "{rate:.1}/s, not 20 ± 15 %");
    // Smooth: never more than 6 in any half second (10 at most per second).
    for (i, t) in times.iter().enumerate() {
        let within = times[i..]
            .iter()
            .take_while(|u| **u - *t < Duration::from_millis(500))
            .count();
        assert!(within <= 12, "{within} within 500 ms of arrival {i}");
    }
}

#[tokio::test]
async fn a_429_with_retry_after_pauses_the_whole_webhook() {
    let rx = Receiver::start().await;
    rx.script_body(
        "busy",
        r#""id":"A""#,
        vec![Reply::WithHeader(429, "retry-after", "2")],
    );
    let s = Api::new(|c| {
        c.delivery.retry_max_ms = 5_000;
    })
    .await;
    s.register(
        &rx.url("busy"),
        json!({ "orderingKey": "/space/id", "maxConcurrency": 8 }),
    )
    .await;
    s.publish(message("A", 1)).await;
    let first = rx.wait_for("busy", 1, WAIT).await[0].at;
    // Other keys, published during the pause, wait for its end too.
    publish_batch(&s, (2..6).map(|n| message(&format!("k{n}"), n)).collect()).await;
    let hits = rx.wait_for("busy", 6, WAIT).await;
    let next = hits[1].at;
    assert!(
        next - first >= Duration::from_millis(1_900),
        "the next request came {:?} after the 429",
        next - first
    );
}

#[tokio::test]
async fn pace_fields_are_checked_returned_and_cleared() {
    let s = Api::new(|c| c.delivery.unordered_concurrency = 8).await;
    let (id, _) = s
        .register(
            "http://127.0.0.1:9/a",
            json!({ "orderingKey": "/space/id", "maxConcurrency": 32, "rateLimit": 50 }),
        )
        .await;
    let (status, got) = s.get(&format!("/webhooks/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let w = &got["data"];
    assert_eq!(
        (&w["orderingKey"], &w["maxConcurrency"], &w["rateLimit"]),
        (&json!("/space/id"), &json!(32), &json!(50.0))
    );
    for (body, says) in [
        (json!({ "orderingKey": "space/id" }), "JSON Pointer"),
        (json!({ "orderingKey": "/a~2" }), "~0"),
        (json!({ "maxConcurrency": 0 }), "1 to 256"),
        (json!({ "maxConcurrency": 100000 }), "1 to 256"),
        (json!({ "rateLimit": -1 }), "from 0.001"),
        (json!({ "rateLimit": 0 }), "from 0.001"),
        // Found by schemathesis: a period of 1e300 s overflowed the lane's
        // limiter (a panic in the scheduler).
        (json!({ "rateLimit": 1e-300 }), "from 0.001"),
    ] {
        let mut create = body.clone();
        create["webhookUrl"] = json!("http://127.0.0.1:9/b");
        let (status, answer) = s.call("/webhooks", create).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(says),
            "{answer}"
        );
        let res = patch(&s, &id, &body).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    // Nothing changed by the refusals; null clears, absent keeps.
    let res = patch(&s, &id, json!({ "orderingKey": null, "rateLimit": null })).await;
    assert_eq!(res.status(), StatusCode::OK);
    let w: Value = res.json().await.unwrap();
    let w = &w["data"];
    assert_eq!(
        (&w["orderingKey"], &w["maxConcurrency"], &w["rateLimit"]),
        (&Value::Null, &json!(32), &Value::Null)
    );
    // The defaults: 1 ordered without a key, 16 with one, the server's for unordered.
    let res = patch(
        &s,
        &id,
        json!({ "maxConcurrency": null, "orderingKey": "/c" }),
    )
    .await;
    let w: Value = res.json().await.unwrap();
    assert_eq!(w["data"]["maxConcurrency"], json!(16));
    let (_, plain) = s
        .call("/webhooks", json!({ "webhookUrl": "http://127.0.0.1:9/c" }))
        .await;
    assert_eq!(plain["data"]["maxConcurrency"], json!(1));
    assert_eq!(plain["data"]["orderingKey"], Value::Null);
    let (_, unordered) = s
        .call(
            "/webhooks",
            json!({ "webhookUrl": "http://127.0.0.1:9/d", "ordering": "unordered" }),
        )
        .await;
    assert_eq!(unordered["data"]["maxConcurrency"], json!(8));
}

#[tokio::test]
async fn the_log_shows_each_deliverys_key_and_filters_by_it() {
    let rx = Receiver::start().await;
    let s = Api::new(|_| {}).await;
    let (id, _) = s
        .register(&rx.url("log"), json!({ "orderingKey": "/space/id" }))
        .await;
    let events = (0..9)
        .map(|n| message(["a b", "c/d", "e"][n as usize % 3], n))
        .collect();
    publish_batch(&s, events).await;
    rx.wait_for("log", 9, WAIT).await;
    let (status, page) = s
        .get(&format!("/webhooks/{id}/deliveries?orderingKey=c%2Fd"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let got: Vec<&Value> = page["data"]["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["orderingKey"])
        .collect();
    assert_eq!(got, vec![&json!("c/d"); 3]);
    let (_, all) = s.get(&format!("/webhooks/{id}/deliveries")).await;
    assert_eq!(all["data"]["deliveries"].as_array().unwrap().len(), 9);
}

/// Inserts `n` pending deliveries of one stored event to `webhook`, each
/// of its own key, straight into the database (publishing a million
/// events through the API would take minutes).
pub(crate) async fn backlog_of_keys(s: &Api, webhook: &str, n: i64) {
    let db = s.server.db().await;
    let now = signpost::server::db::now_ms();
    let event = "evt_backlog";
    signpost::on_db!(&db, p => {
        sqlx::query(
            "INSERT INTO events (id, project_id, event, body, created_at) VALUES ($1, $2, 'm', $3, $4)",
        )
        .bind(event)
        .bind(&s.pid)
        .bind(br#"{"event":"m"}"#.to_vec())
        .bind(now)
        .execute(p)
        .await
        .unwrap();
    });
    let series = if s.server.is_postgres() {
        "SELECT i FROM generate_series(1, $5) AS g (i)"
    } else {
        "WITH RECURSIVE g (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $5) SELECT i FROM g"
    };
    let sql = format!(
        "INSERT INTO deliveries (id, project_id, event_id, webhook_id, next_at, created_at, ordering_key) \
         SELECT 'dlv_k' || i, $1, $2, $3, $4, $4, 'k' || i FROM ({series}) AS s"
    );
    signpost::on_db!(&db, p => {
        sqlx::query(&sql)
            .bind(&s.pid)
            .bind(event)
            .bind(webhook)
            .bind(now)
            .bind(n)
            .execute(p)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO lanes (webhook_id, owner, last_seq) \
             SELECT $1, NULL, max(seq) FROM deliveries WHERE webhook_id = $1 \
             ON CONFLICT (webhook_id) DO UPDATE SET last_seq = excluded.last_seq",
        )
        .bind(webhook)
        .execute(p)
        .await
        .unwrap();
    });
}

#[tokio::test]
async fn a_million_key_backlog_flows_within_the_memory_ceiling() {
    const KEYS: i64 = 1_000_000;
    let rx = Receiver::start().await;
    rx.otherwise("many", Reply::After(Duration::from_millis(20), 200));
    let s = Api::new(|c| {
        c.delivery.max_held_deliveries = 200;
        c.delivery.max_held_bytes = 1 << 20;
        c.delivery.max_event_bytes = 1024;
        // Claims every second: the backlog's lane is found soon.
        c.delivery.lease_ms = 3_000;
    })
    .await;
    let (id, _) = s
        .register(
            &rx.url("many"),
            json!({ "orderingKey": "/space/id", "maxConcurrency": 32 }),
        )
        .await;
    let began = Instant::now();
    backlog_of_keys(&s, &id, KEYS).await;
    eprintln!("a backlog of {KEYS} keys stored in {:?}", began.elapsed());
    rx.wait_count("many", 10_000, Duration::from_secs(60)).await;
    let held = s.server.state.delivery.held();
    assert!(held.peak_deliveries <= 200, "{held:?}");
    assert!(held.peak_bytes <= 1 << 20, "{held:?}");
    // Different keys went in parallel, up to the webhook's concurrency.
    let peak = rx.peak_in_flight("many");
    assert!((16..=32).contains(&peak), "{peak}");
}

#[tokio::test]
async fn a_killed_process_keeps_each_keys_order_through_the_takeover() {
    const KEYS: i64 = 10;
    const PER_KEY: i64 = 30;
    let rx = Receiver::start().await;
    rx.otherwise("crash", Reply::After(Duration::from_millis(10), 200));
    let dir = tempfile::tempdir().unwrap();
    let db_url = crate::support::fresh_database_url(dir.path(), "keys.db").await;
    let child = crate::delivery::spawn_signpost(&db_url).await;
    let base = child.base.clone();
    let db = signpost::server::db::connect(&db_url).await.unwrap();
    let project = signpost::server::projects::create(&db, "Crash")
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let post = |base: &str, path: &str, body: Value| {
        client
            .post(format!("{base}/projects/{}{path}", project.id))
            .basic_auth(&project.id, Some(&project.secret))
            .json(&body)
            .send()
    };
    let res = post(
        &base,
        "/webhooks",
        json!({ "webhookUrl": rx.url("crash"), "orderingKey": "/space/id", "maxConcurrency": 4 }),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let batch = |from: i64, to: i64| -> Value {
        (from..to)
            .flat_map(|n| (0..KEYS).map(move |k| message(&format!("k{k}"), n)))
            .collect()
    };
    let res = post(&base, "/events/batch", batch(0, PER_KEY))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    rx.wait_until(WAIT, |hits| hits.len() >= 40).await;
    drop(child); // SIGKILL
    let before = rx.all_hits().len();
    assert!(before < (KEYS * PER_KEY) as usize, "the kill came too late");
    let restarted = crate::delivery::spawn_signpost(&db_url).await;
    let base = restarted.base.clone();
    let res = post(&base, "/events/batch", batch(PER_KEY, PER_KEY + 5))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let total = (KEYS * (PER_KEY + 5)) as usize;
    let hits = rx
        .wait_until(Duration::from_secs(60), |hits| {
            let seen: std::collections::HashSet<(String, i64)> = hits.iter().map(key_n).collect();
            seen.len() == total
        })
        .await;
    // Per key, each event's first arrival comes after the previous one's
    // (a repeat after the takeover is at-least-once, not disorder).
    for (key, ns) in per_key(&hits) {
        let mut first = Vec::new();
        for n in ns {
            if !first.contains(&n) {
                first.push(n);
            }
        }
        assert_eq!(first, (0..PER_KEY + 5).collect::<Vec<_>>(), "{key}");
    }
}

/// On PostgreSQL (whatever the run's backend): there every process hears
/// of a change at once. (Several processes on one SQLite file read a
/// webhook again within 5 s.)
#[tokio::test]
async fn a_change_through_another_process_reaches_the_lanes_owner_at_once() {
    let rx = Receiver::start().await;
    let owner = Api::postgres(|_| {}).await;
    let other = owner.beside(|_| {}).await;
    let (id, old) = owner
        .register(&rx.url("owned"), json!({ "orderingKey": "/space/id" }))
        .await;
    // The owner delivers (and has read the webhook, secret and all).
    owner.publish(message("a", 0)).await;
    let first = rx.wait_for("owned", 1, WAIT).await;
    assert!(spectrum_valid(&first[0], &old));
    // Rotated through the other process, with no grace period: the very
    // next delivery is signed with the new secret.
    let (status, rotated) = other
        .call(
            &format!("/webhooks/{id}/rotate"),
            json!({ "graceSeconds": 0 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["data"]["signingSecret"]
        .as_str()
        .unwrap()
        .to_string();
    // Give the notification its moment (far less than the 5 s the owner
    // would otherwise keep what it read).
    tokio::time::sleep(Duration::from_millis(300)).await;
    other.publish(message("a", 1)).await;
    let hits = rx.wait_for("owned", 2, WAIT).await;
    assert!(
        spectrum_valid(&hits[1], &new),
        "the owner signed with the old secret"
    );
    // Disabled through the other process: the owner stops at once.
    rx.otherwise("owned", Reply::After(Duration::from_millis(50), 200));
    let events = (2..40).map(|n| message("a", n)).collect();
    publish_batch(&other, events).await;
    rx.wait_for("owned", 4, WAIT).await;
    let res = patch(&other, &id, json!({ "enabled": false })).await;
    assert_eq!(res.status(), StatusCode::OK);
    let at = rx.all_hits().len();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let after = rx.all_hits().len();
    assert!(after <= at + 2, "{} requests after the disable", after - at);
}

#[tokio::test]
async fn keys_published_one_after_another_keep_order_without_repeats() {
    let rx = Receiver::start().await;
    rx.otherwise("grouped", Reply::After(Duration::from_millis(10), 200));
    rx.otherwise("loose", Reply::After(Duration::from_millis(10), 200));
    let s = Api::new(|c| c.delivery.lane_window = 4).await;
    s.register(
        &rx.url("grouped"),
        json!({ "orderingKey": "/space/id", "maxConcurrency": 4 }),
    )
    .await;
    s.register(
        &rx.url("loose"),
        json!({ "ordering": "unordered", "maxConcurrency": 4 }),
    )
    .await;
    // 12 keys × 10 events, one key's events after another's.
    let events: Vec<Value> = (0..12)
        .flat_map(|k| (0..10).map(move |n| message(&format!("k{k}"), n)))
        .collect();
    publish_batch(&s, events).await;
    let hits = rx.wait_for("grouped", 120, WAIT).await;
    rx.wait_for("loose", 120, WAIT).await;
    for (key, ns) in per_key(&hits) {
        assert_eq!(ns, (0..10).collect::<Vec<_>>(), "{key}");
    }
    assert_eq!(rx.peak_in_flight("grouped"), 4);
    assert_eq!(rx.peak_in_flight("loose"), 4);
    // Nothing more arrives: no delivery was attempted twice.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.count("grouped"), 120);
    assert_eq!(rx.count("loose"), 120);
}
