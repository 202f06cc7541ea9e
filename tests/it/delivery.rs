//! The delivery engine over real HTTP: Signpost on 127.0.0.1:0 delivering
//! to a real receiver on 127.0.0.1 (allow-listed), which checks signatures
//! with its own code.

use crate::receiver::{spectrum_valid, standard_valid, Receiver, Reply};
use crate::support::process::Process;
use crate::support::Api;
use crate::support::WAIT;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use signpost::server::db::Db;
use std::time::Duration;

/// Waits until every delivery of `event_id` has left `pending`; returns
/// (webhook id, status, attempts, last error) per delivery.
async fn settled(db: &Db, event_id: &str) -> Vec<(String, String, i64, Option<String>)> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let rows: Vec<(String, String, i64, Option<String>)> = signpost::on_db!(db, p => {
            sqlx::query_as(
                "SELECT webhook_id, status, attempts, last_error FROM deliveries \
                 WHERE event_id = $1 ORDER BY seq",
            )
            .bind(event_id)
            .fetch_all(p)
            .await
        })
        .unwrap();
        if !rows.is_empty() && rows.iter().all(|r| r.1 != "pending") {
            return rows;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "deliveries of {event_id} still pending: {rows:?}"
        );
        // The recorder writes in groups; check again shortly.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A number the server stored: `sql` selects one integer.
async fn number(db: &Db, sql: &str) -> i64 {
    signpost::on_db!(db, p => sqlx::query_scalar(sql).fetch_one(p).await).unwrap()
}

/// Waits until `sql` (one integer) reaches `at_least`.
async fn wait_number(db: &Db, sql: &str, at_least: i64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while number(db, sql).await < at_least {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{sql} stayed under {at_least}"
        );
        // The writer commits in groups; check again shortly.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn millis(d: Duration) -> u128 {
    d.as_millis()
}

#[tokio::test]
async fn fan_out_follows_filters_and_signs_with_both_schemes() {
    let rx = Receiver::start().await;
    let s = Api::new(|_| {}).await;
    let (all_id, all_secret) = s.register(&rx.url("all"), json!({})).await;
    let (std_id, std_secret) = s
        .register(
            &rx.url("std"),
            json!({ "events": ["user.created"], "scheme": "standard-webhooks" }),
        )
        .await;
    let (_msg_id, _) = s
        .register(&rx.url("messages"), json!({ "events": ["messages"] }))
        .await;

    // Exact bytes, odd spacing and all: delivered unchanged.
    let body = r#"{ "event" : "user.created", "user": {"id": 7, "name": "Zoë"} }"#;
    let (status, answer) = s.publish_raw(body, None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(answer["succeed"], true);
    assert_eq!(answer["data"]["deliveries"], 2);
    let event_id = answer["data"]["id"].as_str().unwrap();
    assert!(event_id.starts_with("evt_"));

    let hit = rx.wait_for("all", 1, WAIT).await.remove(0);
    assert_eq!(&hit.body[..], body.as_bytes());
    assert_eq!(hit.header("content-type"), "application/json");
    assert_eq!(
        hit.header("user-agent"),
        format!("signpost-webhook/{}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(hit.header("x-spectrum-event"), "user.created");
    assert_eq!(hit.header("x-spectrum-webhook-id"), all_id);
    assert_eq!(hit.header("x-spectrum-signature").len(), 67);
    assert_eq!(hit.header("x-signpost-attempt"), "1");
    assert!(hit.header("x-signpost-delivery-id").starts_with("dlv_"));
    assert!(spectrum_valid(&hit, &all_secret));
    assert!(!spectrum_valid(&hit, &"0".repeat(64)));

    let hit = rx.wait_for("std", 1, WAIT).await.remove(0);
    assert_eq!(&hit.body[..], body.as_bytes());
    assert_eq!(
        hit.header("webhook-id"),
        hit.header("x-signpost-delivery-id")
    );
    assert!(hit.header("webhook-signature").starts_with("v1,"));
    assert!(standard_valid(&hit, &std_secret));
    assert!(!standard_valid(
        &hit,
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    ));

    let db = s.server.db().await;
    let rows = settled(&db, event_id).await;
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter().all(|r| r.1 == "succeeded" && r.2 == 1),
        "{rows:?}"
    );
    assert!(rows.iter().any(|r| r.0 == std_id));

    // A `messages` event goes to `all` and `messages`, not `std`.
    let answer = s
        .publish(json!({ "event": "messages", "text": "hi" }))
        .await;
    assert_eq!(answer["deliveries"], 2);
    rx.wait_for("messages", 1, WAIT).await;
    rx.wait_for("all", 2, WAIT).await;
    settled(&db, answer["id"].as_str().unwrap()).await;
    assert_eq!(rx.hits("std").len(), 1);
    assert_eq!(rx.hits("messages").len(), 1);
}

#[tokio::test]
async fn retries_on_503_with_jittered_backoff_then_succeeds() {
    let rx = Receiver::start().await;
    // Small knobs: 100 ms, then 500 ms, each × [0.5, 1.5).
    let s = Api::new(|c| {
        c.delivery.retry_base_ms = 100;
        c.delivery.retry_max_ms = 2_000;
    })
    .await;
    s.register(&rx.url("flaky"), json!({})).await;
    rx.script("flaky", vec![Reply::Status(503), Reply::Status(503)]);
    let answer = s.publish(json!({ "event": "order.paid" })).await;
    let hits = rx.wait_for("flaky", 3, WAIT).await;
    let gap1 = hits[1].at - hits[0].at;
    let gap2 = hits[2].at - hits[1].at;
    // Lower bounds are strict; upper bounds allow 100 ms of scheduling slack.
    assert!((50..250).contains(&millis(gap1)), "first gap {gap1:?}");
    assert!((250..850).contains(&millis(gap2)), "second gap {gap2:?}");
    let attempts: Vec<&str> = hits
        .iter()
        .map(|h| h.header("x-signpost-attempt"))
        .collect();
    assert_eq!(attempts, ["1", "2", "3"]);
    // One delivery id across attempts; a fresh signature each time.
    assert!(hits
        .iter()
        .all(|h| h.header("x-signpost-delivery-id") == hits[0].header("x-signpost-delivery-id")));

    let db = s.server.db().await;
    let rows = settled(&db, answer["id"].as_str().unwrap()).await;
    assert_eq!((rows[0].1.as_str(), rows[0].2), ("succeeded", 3));
    let statuses: Vec<Option<i64>> = signpost::on_db!(&db, p => {
        sqlx::query_scalar(
            "SELECT a.response_status FROM attempts a JOIN deliveries d ON d.seq = a.delivery_seq \
             WHERE d.event_id = $1 ORDER BY a.number",
        )
        .bind(answer["id"].as_str().unwrap())
        .fetch_all(p)
        .await
    })
    .unwrap();
    assert_eq!(statuses, [Some(503), Some(503), Some(200)]);
}

#[tokio::test]
async fn a_400_or_a_redirect_is_final_and_the_redirect_is_not_followed() {
    let rx = Receiver::start().await;
    let s = Api::new(|c| c.delivery.retry_base_ms = 10).await;
    s.register(&rx.url("bad"), json!({})).await;
    s.register(&rx.url("moved"), json!({})).await;
    rx.script("bad", vec![Reply::Status(400)]);
    rx.script(
        "moved",
        vec![Reply::WithHeader(302, "location", "/elsewhere")],
    );
    let answer = s.publish(json!({ "event": "x" })).await;
    let db = s.server.db().await;
    let rows = settled(&db, answer["id"].as_str().unwrap()).await;
    assert!(rows.iter().all(|r| r.1 == "failed" && r.2 == 1), "{rows:?}");
    assert_eq!(rx.hits("bad").len(), 1);
    assert_eq!(rx.hits("moved").len(), 1);
    assert!(rx.hits("elsewhere").is_empty());
}

#[tokio::test]
async fn a_429_retry_after_is_respected() {
    let rx = Receiver::start().await;
    let s = Api::new(|c| {
        c.delivery.retry_base_ms = 10;
        c.delivery.retry_max_ms = 5_000;
    })
    .await;
    s.register(&rx.url("busy"), json!({})).await;
    rx.script("busy", vec![Reply::WithHeader(429, "retry-after", "1")]);
    s.publish(json!({ "event": "x" })).await;
    let hits = rx.wait_for("busy", 2, WAIT).await;
    let gap = hits[1].at - hits[0].at;
    // Without Retry-After the wait would be 5–15 ms.
    assert!(gap >= Duration::from_millis(1000), "gap {gap:?}");
}

#[tokio::test]
async fn a_timeout_is_retried() {
    let rx = Receiver::start().await;
    let s = Api::new(|c| {
        c.delivery.retry_base_ms = 10;
        c.delivery.attempt_timeout_ms = 300;
    })
    .await;
    s.register(&rx.url("slow"), json!({})).await;
    rx.script("slow", vec![Reply::After(Duration::from_secs(3), 200)]);
    let answer = s.publish(json!({ "event": "x" })).await;
    let db = s.server.db().await;
    let rows = settled(&db, answer["id"].as_str().unwrap()).await;
    assert_eq!((rows[0].1.as_str(), rows[0].2), ("succeeded", 2));
    let first: (Option<String>, Option<i64>, i64) = signpost::on_db!(&db, p => {
        sqlx::query_as(
            "SELECT error_kind, response_status, duration_ms FROM attempts ORDER BY id LIMIT 1",
        )
        .fetch_one(p)
        .await
    })
    .unwrap();
    assert_eq!(first.0.as_deref(), Some("timeout"));
    assert_eq!(first.1, None);
    assert!((300..2_000).contains(&first.2), "{first:?}");
}

#[tokio::test]
async fn per_webhook_order_holds_while_an_event_is_retried() {
    let rx = Receiver::start().await;
    let s = Api::new(|c| c.delivery.retry_base_ms = 50).await;
    s.register(&rx.url("ordered"), json!({})).await;
    s.register(&rx.url("unordered"), json!({ "ordering": "unordered" }))
        .await;
    rx.script("ordered", vec![Reply::Status(500), Reply::Status(500)]);
    for n in 1..=4 {
        s.publish(json!({ "event": "tick", "n": n })).await;
    }
    let hits = rx.wait_for("ordered", 6, WAIT).await;
    let order: Vec<i64> = hits
        .iter()
        .map(|h| h.json()["n"].as_i64().unwrap())
        .collect();
    assert_eq!(order, [1, 1, 1, 2, 3, 4]);
    // The unordered webhook was not held back by anything.
    let hits = rx.wait_for("unordered", 4, WAIT).await;
    assert_eq!(hits.len(), 4);
}

#[tokio::test]
async fn a_dead_webhook_does_not_slow_a_healthy_one() {
    let rx = Receiver::start().await;
    let s = Api::new(|c| {
        c.delivery.attempt_timeout_ms = 20_000;
        c.delivery.max_in_flight = 12;
    })
    .await;
    s.register(&rx.url("dead"), json!({ "ordering": "unordered" }))
        .await;
    s.register(&rx.url("healthy"), json!({})).await;
    // The dead one takes 10 s per request: it fills its 8 slots (of 12 in
    // all) and waits. The healthy one must still get everything at once.
    rx.otherwise("dead", Reply::After(Duration::from_secs(10), 200));
    let started = std::time::Instant::now();
    for n in 0..30 {
        s.publish(json!({ "event": "tick", "n": n })).await;
    }
    let hits = rx.wait_for("healthy", 30, WAIT).await;
    let took = hits.last().unwrap().at - started;
    assert!(
        took < Duration::from_secs(3),
        "healthy webhook took {took:?}"
    );
    let order: Vec<i64> = hits
        .iter()
        .map(|h| h.json()["n"].as_i64().unwrap())
        .collect();
    assert_eq!(order, (0..30).collect::<Vec<_>>());
    // The dead webhook never holds more than its own limit.
    let dead = rx.hits("dead").len();
    assert!(
        dead <= 8,
        "{dead} attempts in flight to one unordered webhook"
    );
}

#[tokio::test]
async fn the_guard_drops_a_host_that_now_resolves_to_loopback() {
    // A resolver the test can change: a DNS rebinding in miniature.
    let dns = crate::support::Rebinding::new("rebind.example.com", "93.184.215.14");
    let s = Api::new(|c| {
        // 127.0.0.1 is not allow-listed here: the guard decides.
        c.allow_targets = Default::default();
        c.resolver = dns.resolver();
    })
    .await;
    let rx = Receiver::start().await;
    s.register("https://rebind.example.com/hook", json!({}))
        .await;
    dns.point("rebind.example.com", "127.0.0.1");
    let answer = s.publish(json!({ "event": "x" })).await;
    let db = s.server.db().await;
    let rows = settled(&db, answer["id"].as_str().unwrap()).await;
    assert_eq!(rows[0].1, "dropped");
    assert_eq!(rows[0].2, 1);
    let reason = rows[0].3.clone().unwrap();
    assert!(reason.contains("loopback"), "{reason}");
    let kind: Option<String> = signpost::on_db!(&db, p => {
        sqlx::query_scalar("SELECT error_kind FROM attempts")
            .fetch_one(p)
            .await
    })
    .unwrap();
    assert_eq!(kind.as_deref(), Some("guard"));
    assert!(rx.all_hits().is_empty());
}

#[tokio::test]
async fn the_same_idempotency_key_stores_once() {
    let rx = Receiver::start().await;
    let s = Api::new(|_| {}).await;
    s.register(&rx.url("once"), json!({})).await;
    let body = r#"{"event":"invoice.sent","n":1}"#;
    let (status, first) = s.publish_raw(body, Some("key-1")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, again) = s.publish_raw(body, Some("key-1")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(first, again);
    // Another key is another event.
    let (_, other) = s.publish_raw(body, Some("key-2")).await;
    assert_ne!(other["data"]["id"], first["data"]["id"]);
    rx.wait_for("once", 2, WAIT).await;
    let db = s.server.db().await;
    settled(&db, other["data"]["id"].as_str().unwrap()).await;
    let events = number(&db, "SELECT count(*) FROM events").await;
    assert_eq!(events, 2);
    assert_eq!(rx.hits("once").len(), 2);
}

#[tokio::test]
async fn a_batch_is_stored_in_one_call_and_delivered_in_order() {
    let rx = Receiver::start().await;
    let s = Api::new(|_| {}).await;
    s.register(&rx.url("batch"), json!({})).await;
    let body = r#"[{"event":"a","n":0} , {"event":"b","n":1},{"event":"c","n":2}]"#;
    let res = s
        .post("/events/batch")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["data"]["deliveries"], 3);
    assert_eq!(answer["data"]["events"].as_array().unwrap().len(), 3);
    let hits = rx.wait_for("batch", 3, WAIT).await;
    assert_eq!(&hits[0].body[..], br#"{"event":"a","n":0}"#);
    let names: Vec<&str> = hits.iter().map(|h| h.header("x-spectrum-event")).collect();
    assert_eq!(names, ["a", "b", "c"]);

    // One bad event refuses the whole batch: nothing is stored.
    let res = s
        .post("/events/batch")
        .header("content-type", "application/json")
        .body(r#"[{"event":"ok"},{"no":"name"}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v: Value = res.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains("Event 1"), "{v}");
    let db = s.server.db().await;
    let events = number(&db, "SELECT count(*) FROM events").await;
    assert_eq!(events, 3);
}

#[tokio::test]
async fn bad_events_get_clear_errors() {
    let s = Api::new(|c| c.delivery.max_event_bytes = 1024).await;
    let send = |body: String, ctype: &'static str| {
        s.post("/events")
            .header("content-type", ctype)
            .body(body)
            .send()
    };
    let res = send(r#"{"event":"x"}"#.into(), "text/plain").await.unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    for body in [
        r#"{"name":"x"}"#,
        r#"{"event":3}"#,
        "[1]",
        "{",
        r#"{"event":"a b"}"#,
    ] {
        let res = send(body.into(), "application/json").await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["succeed"], false);
    }
    let big = format!(r#"{{"event":"x","pad":"{}"}}"#, "a".repeat(2000));
    let res = send(big, "application/json").await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Wrong credentials: 401, and nothing stored.
    let res = s
        .http
        .post(s.server.url(&format!("/projects/{}/events", s.pid)))
        .basic_auth(&s.pid, Some("wrong"))
        .header("content-type", "application/json")
        .body(r#"{"event":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let events = number(&s.server.db().await, "SELECT count(*) FROM events").await;
    assert_eq!(events, 0);
}

#[tokio::test]
async fn a_410_disables_the_webhook_at_once() {
    let rx = Receiver::start().await;
    let s = Api::new(|_| {}).await;
    let (id, _) = s.register(&rx.url("gone"), json!({})).await;
    rx.script("gone", vec![Reply::Status(410)]);
    let answer = s.publish(json!({ "event": "x" })).await;
    settled(&s.server.db().await, answer["id"].as_str().unwrap()).await;
    let res = s
        .http
        .get(s.server.url(&format!("/projects/{}/webhooks/{id}", s.pid)))
        .basic_auth(&s.pid, Some(&s.secret))
        .send()
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["data"]["enabled"], false);
    assert!(v["data"]["disabledReason"]
        .as_str()
        .unwrap()
        .contains("410"));
    // Later events make no delivery to it.
    let answer = s.publish(json!({ "event": "x" })).await;
    assert_eq!(answer["deliveries"], 0);
}

#[tokio::test]
async fn nothing_but_failures_for_the_window_disables_the_webhook() {
    let rx = Receiver::start().await;
    let s = Api::new(|c| {
        c.delivery.max_attempts = 1;
        c.delivery.auto_disable_after_seconds = 0;
        c.delivery.auto_disable_min_failures = 3;
    })
    .await;
    let (id, _) = s.register(&rx.url("down"), json!({})).await;
    rx.otherwise("down", Reply::Status(500));
    let db = s.server.db().await;
    for n in 0..3 {
        let answer = s.publish(json!({ "event": "x" })).await;
        assert_eq!(answer["deliveries"], 1, "event {n}");
        settled(&db, answer["id"].as_str().unwrap()).await;
    }
    let (enabled, reason): (bool, Option<String>) = signpost::on_db!(&db, p => {
        sqlx::query_as("SELECT enabled, disabled_reason FROM webhooks WHERE id = $1")
            .bind(&id)
            .fetch_one(p)
            .await
    })
    .unwrap();
    assert!(!enabled);
    assert!(reason.unwrap().contains("at least 3 failures"));

    // Enabled again by a person, it starts a fresh run: one failure more
    // is not three.
    let res = s
        .req(reqwest::Method::PATCH, &format!("/webhooks/{id}"))
        .json(&json!({ "enabled": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let answer = s.publish(json!({ "event": "x" })).await;
    assert_eq!(answer["deliveries"], 1);
    settled(&db, answer["id"].as_str().unwrap()).await;
    let enabled: bool = signpost::on_db!(&db, p => {
        sqlx::query_scalar("SELECT enabled FROM webhooks WHERE id = $1")
            .bind(&id)
            .fetch_one(p)
            .await
    })
    .unwrap();
    assert!(
        enabled,
        "re-enabled, then disabled again by a single failure"
    );
}

/// An edit that does not touch `enabled` keeps what the database has, even
/// when the webhook was read before an automatic disable landed.
#[tokio::test]
async fn an_edit_read_before_an_auto_disable_does_not_undo_it() {
    use signpost::server::db::webhooks;
    let s = Api::new(|_| {}).await;
    let (id, _) = s.register("http://127.0.0.1:9/x", json!({})).await;
    let db = s.server.db().await;
    let mut stale = webhooks::get(&db, &s.pid, &id, 8).await.unwrap().unwrap();
    assert!(stale.enabled);
    signpost::on_db!(&db, p => {
        sqlx::query(
            "UPDATE webhooks SET enabled = FALSE, disabled_reason = 'gone', failed_deliveries = 9 \
             WHERE id = $1",
        )
        .bind(&id)
        .execute(p)
        .await
        .unwrap();
    });
    stale.description = "edited".into();
    assert!(webhooks::update(&db, &stale, None).await.unwrap());
    let (enabled, reason, failed, description): (bool, Option<String>, i64, String) =
        signpost::on_db!(&db, p => {
            sqlx::query_as(
                "SELECT enabled, disabled_reason, failed_deliveries, description \
                 FROM webhooks WHERE id = $1",
            )
            .bind(&id)
            .fetch_one(p)
            .await
        })
        .unwrap();
    assert_eq!(
        (enabled, reason.as_deref(), failed, description.as_str()),
        (false, Some("gone"), 9, "edited")
    );
}

#[tokio::test]
async fn a_success_resets_the_failure_count() {
    let rx = Receiver::start().await;
    let s = Api::new(|c| {
        c.delivery.max_attempts = 1;
        c.delivery.auto_disable_after_seconds = 0;
        c.delivery.auto_disable_min_failures = 2;
    })
    .await;
    let (id, _) = s.register(&rx.url("mixed"), json!({})).await;
    rx.script(
        "mixed",
        vec![Reply::Status(500), Reply::Status(200), Reply::Status(500)],
    );
    let db = s.server.db().await;
    for _ in 0..3 {
        let answer = s.publish(json!({ "event": "x" })).await;
        settled(&db, answer["id"].as_str().unwrap()).await;
    }
    let enabled: bool = signpost::on_db!(&db, p => {
        sqlx::query_scalar("SELECT enabled FROM webhooks WHERE id = $1")
            .bind(&id)
            .fetch_one(p)
            .await
    })
    .unwrap();
    assert!(enabled, "one failure since the last success is not two");
}

/// "Send test event" as the dashboard sends it; the first attempt's result.
async fn dashboard_test_send(
    s: &Api,
    client: &Client,
    webhook_id: &str,
) -> signpost::model::TestResult {
    let res = client
        .post(s.server.url("/api/webhooks/test"))
        .form(&[("project_id", s.pid.as_str()), ("webhook_id", webhook_id)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// A receiver that never answers: the test button says so before the
/// request's own time limit (it got a 408 when it waited for the attempt's).
#[tokio::test]
async fn a_test_send_to_a_hanging_receiver_times_out_with_a_result() {
    let rx = Receiver::start().await;
    rx.otherwise("hangs", Reply::After(Duration::from_secs(20), 200));
    let (s, client) = Api::with_admin(|c| c.request_timeout_ms = 3_000).await;
    let (id, _) = s.register(&rx.url("hangs"), json!({})).await;
    let began = std::time::Instant::now();
    let result = dashboard_test_send(&s, &client, &id).await;
    assert!(!result.succeeded);
    assert!(
        result
            .error
            .as_deref()
            .unwrap_or("")
            .starts_with("Timed out"),
        "{result:?}"
    );
    assert!(
        began.elapsed() < Duration::from_secs(3),
        "{:?}",
        began.elapsed()
    );
}

#[tokio::test]
async fn test_events_go_to_one_webhook_and_report_the_first_attempt() {
    let rx = Receiver::start().await;
    let (s, client) = Api::with_admin(|_| {}).await;
    let (id, _) = s
        .register(&rx.url("filtered"), json!({ "events": ["other"] }))
        .await;
    s.register(&rx.url("bystander"), json!({})).await;

    // The API queues it…
    let res = s
        .post(&format!("/webhooks/{id}/test"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let v: Value = res.json().await.unwrap();
    assert!(v["data"]["deliveryId"]
        .as_str()
        .unwrap()
        .starts_with("dlv_"));
    let hit = rx.wait_for("filtered", 1, WAIT).await.remove(0);
    let body = hit.json();
    assert_eq!(body["event"], "messages");
    assert!(body["message"]["id"]
        .as_str()
        .unwrap()
        .starts_with("spc-msg-"));

    // …and the dashboard's button waits for the first attempt's result.
    rx.script("filtered", vec![Reply::Status(418)]);
    let result = dashboard_test_send(&s, &client, &id).await;
    assert_eq!(result.status, Some(418));
    assert!(!result.succeeded);
    assert!(rx.hits("bystander").is_empty());

    // A disabled webhook gets no test event: 409.
    s.http
        .patch(s.server.url(&format!("/projects/{}/webhooks/{id}", s.pid)))
        .basic_auth(&s.pid, Some(&s.secret))
        .json(&json!({ "enabled": false }))
        .send()
        .await
        .unwrap();
    let res = s
        .post(&format!("/webhooks/{id}/test"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn rotation_signs_with_the_old_secret_or_both_until_finished() {
    let rx = Receiver::start().await;
    let s = Api::new(|_| {}).await;
    let (v0_id, v0_old) = s.register(&rx.url("v0"), json!({})).await;
    let (sw_id, sw_old) = s
        .register(&rx.url("sw"), json!({ "scheme": "standard-webhooks" }))
        .await;
    let s = &s;
    let rotate = |id: String| async move {
        let res = s
            .post(&format!("/webhooks/{id}/rotate"))
            .json(&json!({ "graceSeconds": 3600 }))
            .send()
            .await
            .unwrap();
        let v: Value = res.json().await.unwrap();
        v["data"]["signingSecret"].as_str().unwrap().to_string()
    };
    let v0_new = rotate(v0_id.clone()).await;
    let sw_new = rotate(sw_id.clone()).await;

    s.publish(json!({ "event": "x" })).await;
    let v0 = rx.wait_for("v0", 1, WAIT).await.remove(0);
    let sw = rx.wait_for("sw", 1, WAIT).await.remove(0);
    // spectrum-v0 has one signature: the old secret's, during the grace.
    assert!(spectrum_valid(&v0, &v0_old));
    assert!(!spectrum_valid(&v0, &v0_new));
    // standard-webhooks carries both.
    assert_eq!(sw.header("webhook-signature").split(' ').count(), 2);
    assert!(standard_valid(&sw, &sw_old));
    assert!(standard_valid(&sw, &sw_new));

    // Finishing the rotation switches to the new secret at once.
    for id in [&v0_id, &sw_id] {
        let res = s
            .post(&format!("/webhooks/{id}/rotate/finish"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    s.publish(json!({ "event": "x" })).await;
    let v0 = rx.wait_for("v0", 2, WAIT).await.remove(1);
    let sw = rx.wait_for("sw", 2, WAIT).await.remove(1);
    assert!(spectrum_valid(&v0, &v0_new));
    assert_eq!(sw.header("webhook-signature").split(' ').count(), 1);
    assert!(standard_valid(&sw, &sw_new));
    assert!(!standard_valid(&sw, &sw_old));
}

#[tokio::test]
async fn graceful_shutdown_finishes_attempts_in_flight_and_releases_the_rest() {
    let rx = Receiver::start().await;
    let s = Api::new(|c| {
        c.delivery.retry_base_ms = 60_000;
        c.delivery.retry_max_ms = 60_000;
    })
    .await;
    s.register(&rx.url("slow"), json!({})).await;
    s.register(&rx.url("failing"), json!({})).await;
    rx.script("slow", vec![Reply::After(Duration::from_millis(700), 200)]);
    rx.script("failing", vec![Reply::Status(500)]);
    s.publish(json!({ "event": "x" })).await;
    // The slow attempt is in flight; the failing one waits a minute to retry.
    rx.wait_for("slow", 1, WAIT).await;
    rx.wait_for("failing", 1, WAIT).await;
    let db_url = s.server.database_url.clone();
    let _dir = s.server.stop().await;

    let db = signpost::server::db::connect(&db_url).await.unwrap();
    let rows: Vec<(String, i64)> = signpost::on_db!(&db, p => {
        sqlx::query_as("SELECT status, attempts FROM deliveries ORDER BY seq")
            .fetch_all(p)
            .await
    })
    .unwrap();
    // The attempt in flight finished and was recorded before the stop.
    assert_eq!(rows[0], ("succeeded".to_string(), 1));
    // The one waiting for its retry is pending, its lane owned by no one.
    assert_eq!(rows[1], ("pending".to_string(), 1));
    let owned = number(&db, "SELECT count(*) FROM lanes WHERE owner IS NOT NULL").await;
    assert_eq!(owned, 0);
    let workers = number(&db, "SELECT count(*) FROM workers").await;
    assert_eq!(workers, 0);
}

/// Starts the `signpost` binary on a free port, with a short lease.
pub(crate) async fn spawn_signpost(db_url: &str) -> Process {
    let env = [
        ("SIGNPOST_LEASE_MS", "500"),
        ("SIGNPOST_API_RATE_LIMIT", "1000"),
    ];
    Process::serve(env!("CARGO_BIN_EXE_signpost"), db_url, &env).await
}

#[tokio::test]
async fn a_killed_process_loses_nothing_and_order_survives_the_takeover() {
    const EVENTS: i64 = 200;
    const LATER: i64 = 20;
    let rx = Receiver::start().await;
    // 10 ms a request: the kill lands with most events still to deliver.
    rx.otherwise("crash", Reply::After(Duration::from_millis(10), 200));
    let dir = tempfile::tempdir().unwrap();
    let db_url = crate::support::fresh_database_url(dir.path(), "crash.db").await;
    let child = spawn_signpost(&db_url).await;
    let base = child.base.clone();
    let db = signpost::server::db::connect(&db_url).await.unwrap();
    let project = signpost::server::projects::create(&db, "Crash")
        .await
        .unwrap();
    let client = Client::new();
    let publish = |base: String, n: i64| {
        let req = client
            .post(format!("{base}/projects/{}/events", project.id))
            .basic_auth(&project.id, Some(&project.secret))
            .json(&json!({ "event": "tick", "n": n }));
        async move {
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), StatusCode::ACCEPTED);
        }
    };
    let res = client
        .post(format!("{base}/projects/{}/webhooks", project.id))
        .basic_auth(&project.id, Some(&project.secret))
        .json(&json!({ "webhookUrl": rx.url("crash") }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    for n in 0..EVENTS {
        publish(base.clone(), n).await;
    }
    // Mid-run: SIGKILL, no chance to clean up.
    rx.wait_until(WAIT, |hits| hits.len() >= 20).await;
    drop(child);
    let before = rx.all_hits().len();
    assert!(
        before < EVENTS as usize,
        "the kill came too late to prove anything"
    );

    // A new process. Events published before it takes over the dead one's
    // deliveries (its lease is 500 ms) must still wait behind them.
    let child = spawn_signpost(&db_url).await;
    let base = child.base.clone();
    for n in EVENTS..EVENTS + LATER {
        publish(base.clone(), n).await;
    }
    let hits = rx
        .wait_until(Duration::from_secs(60), |hits| {
            let seen: std::collections::HashSet<i64> = hits
                .iter()
                .map(|h| h.json()["n"].as_i64().unwrap())
                .collect();
            seen.len() == (EVENTS + LATER) as usize
        })
        .await;
    // At least once: every event arrived; a few may have arrived twice.
    // In order: each event's first arrival comes after the previous one's.
    let mut first_arrivals = Vec::new();
    for h in &hits {
        let n = h.json()["n"].as_i64().unwrap();
        if !first_arrivals.contains(&n) {
            first_arrivals.push(n);
        }
    }
    assert_eq!(first_arrivals, (0..EVENTS + LATER).collect::<Vec<_>>());
}

#[tokio::test]
async fn signpost_worker_delivers_what_a_stopped_server_left() {
    let rx = Receiver::start().await;
    // The server's only attempt hangs until the shutdown grace (100 ms)
    // abandons it: the delivery is left pending, released to the next worker.
    let s = Api::new(|c| c.delivery.shutdown_grace_ms = 100).await;
    s.register(&rx.url("later"), json!({})).await;
    rx.script("later", vec![Reply::After(Duration::from_secs(30), 200)]);
    let answer = s.publish(json!({ "event": "x" })).await;
    rx.wait_for("later", 1, WAIT).await;
    let db_url = s.server.database_url.clone();
    let dir = s.server.stop().await;

    // `signpost worker` alone (no dashboard, no API) takes it over, with
    // the server's key.
    let _worker = crate::delivery_log::Worker::start(&db_url, &dir.path().join("signpost.key"));
    let hits = rx.wait_for("later", 2, WAIT).await;
    assert_eq!(hits[1].json(), hits[0].json());
    let db = signpost::server::db::connect(&db_url).await.unwrap();
    let rows = settled(&db, answer["id"].as_str().unwrap()).await;
    assert_eq!(rows[0].1, "succeeded");
}

#[tokio::test]
async fn retention_deletes_old_finished_deliveries_only() {
    let rx = Receiver::start().await;
    let s = Api::new(|c| c.delivery.max_attempts = 1).await;
    s.register(&rx.url("kept"), json!({})).await;
    rx.otherwise("kept", Reply::Status(200));
    let db = s.server.db().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let answer = s.publish(json!({ "event": "x" })).await;
        let id = answer["id"].as_str().unwrap().to_string();
        settled(&db, &id).await;
        ids.push(id);
    }
    // Age the first two by 40 days, and make the second pending again.
    let old = signpost::server::db::now_ms() - 40 * 86_400_000;
    signpost::on_db!(&db, p => {
        for id in &ids[..2] {
            sqlx::query("UPDATE deliveries SET created_at = $1 WHERE event_id = $2")
                .bind(old)
                .bind(id)
                .execute(p)
                .await
                .unwrap();
            sqlx::query("UPDATE events SET created_at = $1 WHERE id = $2")
                .bind(old)
                .bind(id)
                .execute(p)
                .await
                .unwrap();
        }
        sqlx::query("UPDATE deliveries SET status = 'pending' WHERE event_id = $1")
            .bind(&ids[1])
            .execute(p)
            .await
            .unwrap();
    });
    let deleted = signpost::server::delivery::retention::sweep(&db, 30)
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    let left: Vec<String> = signpost::on_db!(&db, p => {
        sqlx::query_scalar("SELECT id FROM events ORDER BY id")
            .fetch_all(p)
            .await
    })
    .unwrap();
    assert_eq!(
        left,
        ids[1..].to_vec(),
        "the old pending one and the new one stay"
    );
    let attempts = number(&db, "SELECT count(*) FROM attempts").await;
    assert_eq!(attempts, 2);
}

#[tokio::test]
async fn concurrent_publishers_still_get_event_order_per_webhook() {
    let rx = Receiver::start().await;
    let s = Api::new(|_| {}).await;
    s.register(&rx.url("busy"), json!({})).await;
    // 40 publish calls at once: the order they commit in is the order
    // the ordered webhook must receive them in.
    let calls = (0..40).map(|n| s.publish(json!({ "event": "tick", "n": n })));
    futures::future::join_all(calls).await;
    let hits = rx.wait_for("busy", 40, WAIT).await;
    let received: Vec<String> = hits
        .iter()
        .map(|h| h.header("x-signpost-delivery-id").to_string())
        .collect();
    let db = s.server.db().await;
    let committed: Vec<String> = signpost::on_db!(&db, p => {
        sqlx::query_scalar("SELECT id FROM deliveries ORDER BY seq")
            .fetch_all(p)
            .await
    })
    .unwrap();
    assert_eq!(received, committed);
}

#[tokio::test]
async fn a_name_that_fails_to_resolve_is_retried_not_dropped() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let rx = Receiver::start().await;
    // Registration resolves; the first delivery's lookup fails; then it works.
    let lookups = Arc::new(AtomicUsize::new(0));
    let count = lookups.clone();
    let s = Api::new(move |c| {
        c.allow_targets = "flaky-dns.test".parse().unwrap();
        c.delivery.retry_base_ms = 10;
        c.resolver = signpost::server::url_guard::ResolverChoice(Arc::new(move |_, _| {
            let n = count.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                if n == 1 {
                    Err(std::io::Error::other("resolver unavailable"))
                } else {
                    Ok(vec!["127.0.0.1".parse().unwrap()])
                }
            })
        }));
    })
    .await;
    let url = format!("http://flaky-dns.test:{}/dns", rx.addr.port());
    s.register(&url, json!({})).await;
    let answer = s.publish(json!({ "event": "x" })).await;
    let db = s.server.db().await;
    let rows = settled(&db, answer["id"].as_str().unwrap()).await;
    assert_eq!((rows[0].1.as_str(), rows[0].2), ("succeeded", 2));
    let first: (Option<String>, Option<String>) = signpost::on_db!(&db, p => {
        sqlx::query_as("SELECT error_kind, error_message FROM attempts ORDER BY id LIMIT 1")
            .fetch_one(p)
            .await
    })
    .unwrap();
    assert_eq!(first.0.as_deref(), Some("connect"), "{first:?}");
    assert_eq!(rx.hits("dns").len(), 1);
}

#[tokio::test]
async fn a_worker_that_lost_a_delivery_cannot_overwrite_its_state() {
    let rx = Receiver::start().await;
    let s = Api::new(|c| {
        c.delivery.retry_base_ms = 300;
        c.delivery.retry_max_ms = 300;
    })
    .await;
    s.register(&rx.url("fenced"), json!({})).await;
    rx.script("fenced", vec![Reply::Status(500)]);
    s.publish(json!({ "event": "x" })).await;
    rx.wait_for("fenced", 1, WAIT).await;
    let db = s.server.db().await;
    // Once the first attempt is recorded, another live worker "takes the
    // lane over".
    wait_number(&db, "SELECT attempts FROM deliveries", 1).await;
    signpost::on_db!(&db, p => {
        sqlx::query(
            "INSERT INTO workers (id, started_at, lease_until) \
             VALUES ('wkr_someone_else', 0, 1000000000000000)",
        )
        .execute(p)
        .await
        .unwrap();
        sqlx::query("UPDATE lanes SET owner = 'wkr_someone_else'")
            .execute(p)
            .await
            .unwrap();
    });
    // This server still retries it (it cannot know yet): the attempt is
    // recorded, but the delivery's state stays the new holder's.
    rx.wait_for("fenced", 2, WAIT).await;
    wait_number(&db, "SELECT count(*) FROM attempts", 2).await;
    let (status, attempts): (String, i64) = signpost::on_db!(&db, p => {
        sqlx::query_as("SELECT status, attempts FROM deliveries")
            .fetch_one(p)
            .await
    })
    .unwrap();
    assert_eq!((status.as_str(), attempts), ("pending", 1));
}
