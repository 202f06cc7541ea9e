//! The delivery log over HTTP: the API twins (list with cursors, one
//! delivery, redeliver, cancel, replay), the dashboard's filtered pages, and
//! a replay that survives a restart.

use crate::receiver::{spectrum_valid, Receiver, Reply};
use crate::support::{Api, WAIT};
use reqwest::StatusCode;
use serde_json::{json, Value};
use signpost::model::{Cursor, DeliveryPage, DeliveryStatus, LogFilter};
use signpost::server::db::Db;
use std::collections::HashSet;
use std::time::Duration;

/// Publishes an event; returns its id.
async fn publish(s: &Api, event: Value) -> String {
    s.publish(event).await["id"].as_str().unwrap().to_string()
}

/// Waits until no delivery is pending.
async fn settle(db: &Db) {
    wait_for(
        db,
        "SELECT count(*) = 0 FROM deliveries WHERE status = 'pending'",
    )
    .await;
}

/// Waits until `sql` (one boolean) is true.
async fn wait_for(db: &Db, sql: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let done: bool =
            signpost::on_db!(db, p => sqlx::query_scalar(sql).fetch_one(p).await).unwrap();
        if done {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "never true: {sql}");
        // The writer commits in groups; look again shortly.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn ids(list: &Value) -> Vec<String> {
    list["data"]["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_webhooks_deliveries_come_newest_first_with_attempts_and_a_cursor() {
    let rx = Receiver::start().await;
    let s = Api::new(|_| {}).await;
    let (wid, secret) = s.register(&rx.url("log"), json!({})).await;
    let db = s.server.db().await;
    let mut events = Vec::new();
    for n in 0..5 {
        events.push(publish(&s, json!({ "event": "tick", "n": n })).await);
    }
    settle(&db).await;

    let (status, first) = s.get(&format!("/webhooks/{wid}/deliveries?limit=2")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let page = first["data"]["deliveries"].as_array().unwrap();
    assert_eq!(page.len(), 2);
    // Newest first: the last two events published.
    assert_eq!(page[0]["eventId"], events[4]);
    assert_eq!(page[1]["eventId"], events[3]);
    let d = &page[0];
    assert_eq!(d["status"], "succeeded");
    assert_eq!(d["webhookId"], wid.as_str());
    assert_eq!(d["origin"], "event");
    assert_eq!(d["attemptCount"], 1);
    let attempt = &d["attempts"][0];
    assert_eq!(attempt["number"], 1);
    assert_eq!(attempt["responseStatus"], 200);
    let headers: Vec<(String, String)> =
        serde_json::from_value(attempt["requestHeaders"].clone()).unwrap();
    let signature = headers
        .iter()
        .find(|(k, _)| k == "x-spectrum-signature")
        .map(|(_, v)| v.clone())
        .unwrap();
    // The recorded signature is the one the receiver checked.
    let hit = rx
        .hits("log")
        .into_iter()
        .find(|h| h.header("x-signpost-delivery-id") == d["id"].as_str().unwrap())
        .unwrap();
    assert_eq!(hit.header("x-spectrum-signature"), signature);
    assert!(spectrum_valid(&hit, &secret));

    // Following the cursors reaches every delivery once.
    let mut seen = ids(&first);
    let mut cursor = first["data"]["nextCursor"].as_str().unwrap().to_string();
    loop {
        let (status, next) = s
            .get(&format!(
                "/webhooks/{wid}/deliveries?limit=2&cursor={cursor}"
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
        seen.extend(ids(&next));
        match next["data"]["nextCursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 5);

    // limit=50 is Spectra's "last 50"; filters and bad input.
    let (_, all) = s
        .get(&format!(
            "/webhooks/{wid}/deliveries?limit=50&status=succeeded"
        ))
        .await;
    assert_eq!(ids(&all).len(), 5);
    assert!(all["data"]["nextCursor"].is_null());
    let (_, none) = s
        .get(&format!("/webhooks/{wid}/deliveries?status=failed"))
        .await;
    assert!(ids(&none).is_empty());
    for (query, message) in [
        ("status=retrying", "Unknown status"),
        ("limit=0", "limit is a number"),
        ("limit=201", "limit is a number"),
        ("cursor=zzz", "Unknown cursor"),
    ] {
        let (status, v) = s.get(&format!("/webhooks/{wid}/deliveries?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert!(v["message"].as_str().unwrap().contains(message), "{v}");
    }
    let (status, _) = s.get("/webhooks/no-such-webhook/deliveries").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn cursors_neither_repeat_nor_skip_while_new_deliveries_arrive() {
    let rx = Receiver::start().await;
    let s = Api::new(|_| {}).await;
    let (wid, _) = s.register(&rx.url("moving"), json!({})).await;
    let db = s.server.db().await;
    for n in 0..7 {
        publish(&s, json!({ "event": "tick", "n": n })).await;
    }
    settle(&db).await;
    let (_, first) = s.get(&format!("/webhooks/{wid}/deliveries?limit=3")).await;
    let mut seen = ids(&first);
    let mut cursor = first["data"]["nextCursor"].as_str().map(str::to_string);
    // New deliveries arrive between pages.
    while let Some(c) = cursor {
        for n in 0..2 {
            publish(&s, json!({ "event": "late", "n": n })).await;
        }
        let (_, next) = s
            .get(&format!("/webhooks/{wid}/deliveries?limit=3&cursor={c}"))
            .await;
        seen.extend(ids(&next));
        cursor = next["data"]["nextCursor"].as_str().map(str::to_string);
    }
    // Exactly the 7 that existed when paging began, each once, newest first.
    let expected: Vec<String> = signpost::on_db!(&db, p => {
        sqlx::query_scalar(
            "SELECT id FROM deliveries \
             WHERE event_id IN (SELECT id FROM events WHERE event = 'tick') ORDER BY seq DESC",
        )
        .fetch_all(p)
        .await
    })
    .unwrap();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn one_delivery_has_the_exact_payload_and_every_attempt() {
    let rx = Receiver::start().await;
    let s = Api::new(|c| {
        c.delivery.retry_base_ms = 10;
        c.delivery.retry_max_ms = 20;
    })
    .await;
    rx.script("twice", vec![Reply::Status(503)]);
    s.register(&rx.url("twice"), json!({})).await;
    let body = r#"{"event":"order.paid", "amount": 12.50 ,"note":"exact bytes"}"#;
    let res = s
        .req(reqwest::Method::POST, "/events")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let db = s.server.db().await;
    settle(&db).await;
    let id: String = signpost::on_db!(&db, p => {
        sqlx::query_scalar("SELECT id FROM deliveries")
            .fetch_one(p)
            .await
    })
    .unwrap();

    let res = s
        .req(reqwest::Method::GET, &format!("/deliveries/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    // The payload is the published bytes, unchanged.
    assert!(text.contains(&format!("\"payload\":{body}")), "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    let d = &v["data"];
    assert_eq!(d["status"], "succeeded");
    assert_eq!(d["event"], "order.paid");
    let attempts = d["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["responseStatus"], 503);
    assert_eq!(attempts[1]["responseStatus"], 200);
    assert_eq!(attempts[1]["number"], 2);

    let (status, _) = s.get("/deliveries/dlv_nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Another project's delivery is not found either.
    let (other, other_secret) = s.server.project("Other").await;
    let res = s
        .http
        .get(s.server.url(&format!("/projects/{other}/deliveries/{id}")))
        .basic_auth(&other, Some(&other_secret))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn redeliver_makes_a_new_delivery_and_keeps_the_original() {
    let rx = Receiver::start().await;
    let s = Api::new(|c| c.delivery.max_attempts = 1).await;
    rx.script("fixme", vec![Reply::Status(500)]);
    s.register(&rx.url("fixme"), json!({})).await;
    let event = publish(&s, json!({ "event": "x" })).await;
    let db = s.server.db().await;
    settle(&db).await;
    let original: String = signpost::on_db!(&db, p => {
        sqlx::query_scalar("SELECT id FROM deliveries")
            .fetch_one(p)
            .await
    })
    .unwrap();

    let (status, v) = s
        .call(&format!("/deliveries/{original}/redeliver"), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let new = v["data"]["id"].as_str().unwrap().to_string();
    assert_ne!(new, original);
    settle(&db).await;
    let (_, d) = s.get(&format!("/deliveries/{new}")).await;
    assert_eq!(d["data"]["status"], "succeeded");
    assert_eq!(d["data"]["origin"], "redelivery");
    assert_eq!(d["data"]["repeats"], original.as_str());
    assert_eq!(d["data"]["eventId"], event.as_str());
    let (_, o) = s.get(&format!("/deliveries/{original}")).await;
    assert_eq!(o["data"]["status"], "failed");
    assert_eq!(o["data"]["attempts"].as_array().unwrap().len(), 1);
    // The receiver got the same event twice, under two delivery ids.
    let hits = rx.hits("fixme");
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].body, hits[1].body);
    let (status, _) = s.call("/deliveries/dlv_nope/redeliver", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn cancel_stops_a_retrying_delivery() {
    let rx = Receiver::start().await;
    let s = Api::new(|c| {
        c.delivery.retry_base_ms = 60_000;
        c.delivery.retry_max_ms = 60_000;
    })
    .await;
    rx.otherwise("down", Reply::Status(503));
    s.register(&rx.url("down"), json!({})).await;
    publish(&s, json!({ "event": "x" })).await;
    rx.wait_for("down", 1, WAIT).await;
    let db = s.server.db().await;
    wait_for(&db, "SELECT attempts = 1 FROM deliveries").await;
    let id: String = signpost::on_db!(&db, p => {
        sqlx::query_scalar("SELECT id FROM deliveries")
            .fetch_one(p)
            .await
    })
    .unwrap();
    let (_, d) = s.get(&format!("/deliveries/{id}")).await;
    assert_eq!(d["data"]["status"], "pending");
    assert!(d["data"]["nextAttemptAt"].is_string());

    let (status, v) = s.call(&format!("/deliveries/{id}/cancel"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (_, d) = s.get(&format!("/deliveries/{id}")).await;
    assert_eq!(d["data"]["status"], "cancelled");
    assert_eq!(d["data"]["lastError"], "Cancelled by the HTTP API");
    let (status, _) = s.call(&format!("/deliveries/{id}/cancel"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // The webhook's next event is no longer held back by it (ordered).
    publish(&s, json!({ "event": "y" })).await;
    let hits = rx.wait_for("down", 2, WAIT).await;
    assert_eq!(hits[1].json()["event"], "y");
}

#[tokio::test]
async fn replay_queues_exactly_the_failed_ones_and_survives_a_restart() {
    let rx = Receiver::start().await;
    let s = Api::new(|c| {
        c.delivery.max_attempts = 1;
        c.delivery.shutdown_grace_ms = 100;
    })
    .await;
    let (wid, _) = s.register(&rx.url("flaky"), json!({})).await;
    // Events 0, 2 and 4 fail; 1 and 3 succeed.
    rx.script(
        "flaky",
        vec![
            Reply::Status(500),
            Reply::Status(200),
            Reply::Status(500),
            Reply::Status(200),
            Reply::Status(500),
        ],
    );
    let db = s.server.db().await;
    for n in 0..5 {
        publish(&s, json!({ "event": "x", "n": n })).await;
        settle(&db).await;
    }
    let failed: Vec<String> = signpost::on_db!(&db, p => {
        sqlx::query_scalar("SELECT id FROM deliveries WHERE status = 'failed' ORDER BY seq")
            .fetch_all(p)
            .await
    })
    .unwrap();
    assert_eq!(failed.len(), 3);

    // The count first, then the replay; a bad time is refused.
    let path = format!("/webhooks/{wid}/replay");
    let (status, v) = s.call(&path, json!({ "since": 0, "dryRun": true })).await;
    assert_eq!(
        (status, v["data"]["count"].as_u64()),
        (StatusCode::OK, Some(3))
    );
    let (status, _) = s.call(&path, json!({ "since": "yesterday" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, v) = s
        .call(
            &path,
            json!({ "since": "2000-01-01T00:00:00Z", "dryRun": true }),
        )
        .await;
    assert_eq!(
        (status, v["data"]["count"].as_u64()),
        (StatusCode::OK, Some(3))
    );

    // The first replayed attempt hangs; the server stops under it.
    rx.script("flaky", vec![Reply::After(Duration::from_secs(30), 200)]);
    let (status, v) = s.call(&path, json!({ "since": 0 })).await;
    assert_eq!(
        (status, v["data"]["count"].as_u64()),
        (StatusCode::ACCEPTED, Some(3))
    );
    rx.wait_for("flaky", 6, WAIT).await;
    let db_url = s.server.database_url.clone();
    let dir = s.server.stop().await;

    // Another process finds the replayed deliveries and delivers them.
    let _worker = Worker::start(&db_url, &dir.path().join("signpost.key"));
    let db = signpost::server::db::connect(&db_url).await.unwrap();
    wait_for(
        &db,
        "SELECT count(*) = 3 FROM deliveries WHERE origin = 'replay' AND status = 'succeeded'",
    )
    .await;
    let repeats: Vec<String> = signpost::on_db!(&db, p => {
        sqlx::query_scalar("SELECT repeats FROM deliveries WHERE origin = 'replay' ORDER BY seq")
            .fetch_all(p)
            .await
    })
    .unwrap();
    assert_eq!(repeats, failed, "exactly the failed ones, in order");
    // The originals are untouched.
    let still_failed: i64 = signpost::on_db!(&db, p => {
        sqlx::query_scalar(
            "SELECT count(*) FROM deliveries WHERE origin = 'event' AND status = 'failed'",
        )
        .fetch_one(p)
        .await
    })
    .unwrap();
    assert_eq!(still_failed, 3);
    // The replayed events are the failed ones: 0, 2 and 4.
    let replayed: HashSet<i64> = rx
        .hits("flaky")
        .iter()
        .skip(5)
        .map(|h| h.json()["n"].as_i64().unwrap())
        .collect();
    assert_eq!(replayed, HashSet::from([0, 2, 4]));
}

/// `signpost worker` on a database, killed when dropped.
pub(crate) struct Worker(std::process::Child);

impl Worker {
    /// With the key the server's data was sealed with (its key file).
    pub(crate) fn start(db_url: &str, key_file: &std::path::Path) -> Worker {
        Worker(
            std::process::Command::new(env!("CARGO_BIN_EXE_signpost"))
                .arg("worker")
                .env("SIGNPOST_DATABASE_URL", db_url)
                .env("SIGNPOST_SECRET_KEY_FILE", key_file)
                .env("SIGNPOST_ALLOW_TARGETS", "127.0.0.1")
                .env("SIGNPOST_LOG", "warn")
                .spawn()
                .unwrap(),
        )
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The dashboard's log: filters combine, and pages go both ways.
#[tokio::test]
async fn the_dashboard_log_filters_and_pages_both_ways() {
    let rx = Receiver::start().await;
    let (s, client) = Api::with_admin(|c| {
        c.delivery.max_attempts = 1;
    })
    .await;
    let (a, _) = s.register(&rx.url("a"), json!({})).await;
    let (b, _) = s.register(&rx.url("b"), json!({})).await;
    rx.otherwise("b", Reply::Status(500));
    let db = s.server.db().await;
    let mut events = Vec::new();
    for n in 0..60 {
        let name = if n % 2 == 0 { "even" } else { "odd" };
        events.push(publish(&s, json!({ "event": name, "n": n })).await);
    }
    settle(&db).await;

    let list = |form: Vec<(&'static str, String)>| {
        let client = client.clone();
        let url = s.server.url("/api/deliveries/list");
        let pid = s.pid.clone();
        async move {
            let mut form = form;
            form.push(("project_id", pid));
            let res = client.post(url).form(&form).send().await.unwrap();
            let status = res.status();
            let text = res.text().await.unwrap();
            assert_eq!(status, StatusCode::OK, "{text}");
            serde_json::from_str::<DeliveryPage>(&text).unwrap()
        }
    };
    // 120 deliveries: the newest 50, then older.
    let first = list(vec![]).await;
    assert_eq!(first.deliveries.len(), 50);
    assert!(first.newer.is_none());
    let older = list(vec![("cursor", first.older.clone().unwrap())]).await;
    assert_eq!(older.deliveries.len(), 50);
    assert!(older.deliveries[0].created_at <= first.deliveries[49].created_at);
    // And back: "Newer" from the second page is the first page again.
    let back = list(vec![("cursor", older.newer.clone().unwrap())]).await;
    assert_eq!(back.deliveries, first.deliveries);
    assert!(back.newer.is_none());

    // Filters combine: failed, to webhook b, event "odd".
    let filtered = list(vec![
        ("filter[status]", "failed".into()),
        ("filter[webhook]", b.clone()),
        ("filter[event]", "odd".into()),
    ])
    .await;
    assert_eq!(filtered.deliveries.len(), 30);
    assert!(filtered
        .deliveries
        .iter()
        .all(|d| d.status == DeliveryStatus::Failed
            && d.webhook_id == b
            && d.event == "odd"
            && d.last_status == Some(500)));
    let to_a = list(vec![
        ("filter[webhook]", a.clone()),
        ("filter[status]", "failed".into()),
    ])
    .await;
    assert!(to_a.deliveries.is_empty());
    // Search by event id finds its two deliveries; by delivery id, one.
    let by_event = list(vec![("filter[search]", events[7].clone())]).await;
    assert_eq!(by_event.deliveries.len(), 2);
    let one = &by_event.deliveries[0].id;
    let by_id = list(vec![("filter[search]", one.clone())]).await;
    assert_eq!(by_id.deliveries.len(), 1);
    // A time range: everything since the 11th event (of 60) is 100 deliveries.
    let since: i64 = signpost::on_db!(&db, p => {
        sqlx::query_scalar("SELECT created_at FROM events WHERE id = $1")
            .bind(&events[10])
            .fetch_one(p)
            .await
    })
    .unwrap();
    let ranged = list(vec![("filter[since]", since.to_string())]).await;
    let mut count = ranged.deliveries.len();
    let mut next = ranged.older.clone();
    while let Some(c) = next {
        let p = list(vec![("filter[since]", since.to_string()), ("cursor", c)]).await;
        count += p.deliveries.len();
        next = p.older;
    }
    let expected: i64 = signpost::on_db!(&db, p => {
        sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE created_at >= $1")
            .bind(since)
            .fetch_one(p)
            .await
    })
    .unwrap();
    assert_eq!(count as i64, expected);
    assert!(expected >= 100);

    // The webhook page's chart: this hour holds all 60 of each webhook.
    let res = client
        .post(s.server.url("/api/deliveries/hourly"))
        .form(&[("project_id", s.pid.as_str()), ("webhook_id", b.as_str())])
        .send()
        .await
        .unwrap();
    let hours: Vec<signpost::model::HourStats> = res.json().await.unwrap();
    assert_eq!(hours.len(), 24);
    let now = hours.last().unwrap();
    assert_eq!((now.succeeded, now.failed), (0, 60));
    assert!(now.p50_ms.is_some() && now.p95_ms >= now.p50_ms);
    assert!(hours[..23].iter().all(|h| h.succeeded + h.failed == 0));
    // The list's health column: last result and 24 h success rate.
    let res = client
        .post(s.server.url("/api/deliveries/health"))
        .form(&[("project_id", s.pid.as_str())])
        .send()
        .await
        .unwrap();
    let health: Vec<signpost::model::WebhookHealth> = res.json().await.unwrap();
    let of = |id: &str| health.iter().find(|h| h.webhook_id == id).unwrap().clone();
    assert_eq!(of(&a).success_rate, Some(1.0));
    assert_eq!(of(&a).last_status, Some(DeliveryStatus::Succeeded));
    assert_eq!(of(&b).success_rate, Some(0.0));
    assert_eq!(
        (of(&b).last_status, of(&b).last_http),
        (Some(DeliveryStatus::Failed), Some(500))
    );
}

#[tokio::test]
async fn project_changes_are_recorded_in_its_activity() {
    let rx = Receiver::start().await;
    let (s, admin) = Api::with_admin(|_| {}).await;
    // Through the API...
    let (wid, _) = s.register(&rx.url("gone"), json!({})).await;
    let res = s
        .req(reqwest::Method::PATCH, &format!("/webhooks/{wid}"))
        .json(&json!({ "events": ["a", "b"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (status, _) = s
        .call(
            &format!("/webhooks/{wid}/rotate"),
            json!({ "graceSeconds": 3600 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // ...by Signpost itself (a 410 disables it)...
    rx.otherwise("gone", Reply::Status(410));
    publish(&s, json!({ "event": "a" })).await;
    let db = s.server.db().await;
    wait_for(&db, "SELECT NOT enabled FROM webhooks").await;
    // ...and in the dashboard.
    let form = |pairs: &[(&str, &str)]| {
        let mut v: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        v.push(("project_id".into(), s.pid.clone()));
        v
    };
    for (endpoint, pairs) in [
        (
            "webhooks/set_enabled",
            vec![("webhook_id", wid.as_str()), ("enabled", "true")],
        ),
        ("webhooks/delete", vec![("webhook_id", wid.as_str())]),
        ("projects/regenerate_secret", vec![]),
    ] {
        let res = admin
            .post(s.server.url(&format!("/api/{endpoint}")))
            .form(&form(&pairs))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "{endpoint}: {}",
            res.text().await.unwrap()
        );
    }

    let res = admin
        .post(s.server.url("/api/activity/project"))
        .form(&[("project_id", s.pid.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let log: Vec<signpost::model::ActivityEntry> = res.json().await.unwrap();
    let lines: Vec<(Option<String>, String)> = log
        .iter()
        .rev()
        .map(|a| (a.actor.clone(), a.action.clone()))
        .collect();
    let api = Some("the HTTP API".to_string());
    let admin_email = Some(crate::support::ADMIN_EMAIL.to_string());
    assert_eq!(
        lines,
        vec![
            (api.clone(), "webhook.created".into()),
            (api.clone(), "webhook.edited".into()),
            (api, "webhook.rotated".into()),
            (None, "webhook.auto_disabled".into()),
            (admin_email.clone(), "webhook.enabled".into()),
            (admin_email.clone(), "webhook.deleted".into()),
            (admin_email, "project.secret_regenerated".into()),
        ]
    );
    assert_eq!(log[5].detail, "events: a, b");
    assert_eq!(log[3].detail, "The receiver answered 410 Gone");
    assert_eq!(log[4].detail, "grace period 1 hour");
    assert!(log
        .iter()
        .all(|a| a.subject.contains("/gone") || a.action.starts_with("project.")));
}

/// An event name with 5,000 or more events is read from the deliveries in
/// order rather than from its events (see `db::delivery_log::plan`): the
/// same rows either way.
#[tokio::test]
async fn a_common_event_name_filters_the_same_as_a_rare_one() {
    let rx = Receiver::start().await;
    let (s, client) = Api::with_admin(|_| {}).await;
    // 5,000 "common" events while no webhook exists (no deliveries)...
    for _ in 0..10 {
        let batch: Vec<Value> = (0..500)
            .map(|n| json!({ "event": "common", "n": n }))
            .collect();
        let res = s.post("/events/batch").json(&batch).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::ACCEPTED);
    }
    // ...then a webhook, and 60 of each name, interleaved.
    s.register(&rx.url("mixed"), json!({})).await;
    for n in 0..60 {
        publish(&s, json!({ "event": "common", "n": n })).await;
        publish(&s, json!({ "event": "rare", "n": n })).await;
    }
    let db = s.server.db().await;
    settle(&db).await;

    for name in ["common", "rare"] {
        let mut seen = Vec::new();
        let mut cursor = String::new();
        loop {
            let res = client
                .post(s.server.url("/api/deliveries/list"))
                .form(&[
                    ("project_id", s.pid.as_str()),
                    ("filter[event]", name),
                    ("cursor", cursor.as_str()),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            let page: DeliveryPage = res.json().await.unwrap();
            assert!(page.deliveries.iter().all(|d| d.event == name));
            seen.extend(page.deliveries.into_iter().map(|d| d.id));
            match page.older {
                Some(c) => cursor = c,
                None => break,
            }
        }
        let expected: Vec<String> = signpost::on_db!(&db, p => {
            sqlx::query_scalar(
                "SELECT d.id FROM deliveries d JOIN events e ON e.id = d.event_id \
                 WHERE e.event = $1 ORDER BY d.seq DESC",
            )
            .bind(name)
            .fetch_all(p)
            .await
        })
        .unwrap();
        assert_eq!(expected.len(), 60);
        assert_eq!(seen, expected, "{name}");
    }
}

/// The hourly counts behind a webhook's chart and the list's success rate
/// (`webhook_hours`), through the writer's own `record`: a delivery counts
/// once, when it finishes, in the hour it finished, with its final attempt's
/// duration to two significant digits. Retries, cancels, a write repeated
/// and a fenced-off worker's write count nothing; retention forgets old hours.
#[tokio::test]
async fn finished_deliveries_are_counted_once_in_their_hour() {
    use signpost::server::db::{
        attempts, attempts::AttemptRow, deliveries, deliveries::DeliveryUpdate,
    };
    const HOUR: i64 = 3_600_000;
    let dir = tempfile::tempdir().unwrap();
    let db = owned_lanes(dir.path(), &[("wh", "w1"), ("wh2", "w2")], 6, |seq| {
        if seq == 6 {
            "wh2"
        } else {
            "wh"
        }
    })
    .await;

    let h = 1_000 * HOUR;
    let attempt = |number, duration_ms| AttemptRow {
        number,
        started_at: h,
        duration_ms,
        request_headers: "[]".into(),
        response_status: Some(200),
        response_headers: None,
        response_body: None,
        error_kind: None,
        error_message: None,
    };
    let update = |seq, status, at: Option<i64>, attempt: Option<AttemptRow>| {
        let u = DeliveryUpdate {
            seq,
            status,
            attempts: attempt.as_ref().map_or(0, |a| a.number),
            next_at: h,
            last_status: None,
            last_error: None,
            finished_at: at,
        };
        (u, attempt)
    };
    // As the writer does: the attempts, then the deliveries' new states.
    let write = |worker: &'static str, updates: Vec<(DeliveryUpdate, Option<AttemptRow>)>| {
        let db = db.clone();
        async move {
            let mut tx = db.begin().await.unwrap();
            let rows: Vec<(i64, &AttemptRow)> = updates
                .iter()
                .filter_map(|(u, a)| a.as_ref().map(|a| (u.seq, a)))
                .collect();
            attempts::insert(&mut tx, &rows).await.unwrap();
            let states: Vec<&DeliveryUpdate> = updates.iter().map(|(u, _)| u).collect();
            deliveries::update_states(&mut tx, worker, &states)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
    };
    // A failed first attempt that will be retried: nothing is counted yet.
    write(
        "w1",
        vec![update(
            1,
            DeliveryStatus::Pending,
            None,
            Some(attempt(1, 50)),
        )],
    )
    .await;
    let rows = || async {
        signpost::on_db!(&db, p => {
            sqlx::query_as::<_, (i64, bool, i64, i64)>(
                "SELECT hour, succeeded, bucket, count FROM webhook_hours \
                 ORDER BY hour, succeeded, bucket",
            )
            .fetch_all(p)
            .await
        })
        .unwrap()
    };
    assert_eq!(rows().await, vec![]);

    write(
        "w1",
        vec![
            update(
                1,
                DeliveryStatus::Succeeded,
                Some(h + 5),
                Some(attempt(2, 134)),
            ),
            update(
                2,
                DeliveryStatus::Failed,
                Some(h + 6),
                Some(attempt(6, 2_345)),
            ),
            update(3, DeliveryStatus::Dropped, Some(h + 7), None),
            update(
                4,
                DeliveryStatus::Succeeded,
                Some(h + HOUR + 1),
                Some(attempt(1, 7)),
            ),
            // In w2's lane: w1's write does not apply.
            update(
                6,
                DeliveryStatus::Succeeded,
                Some(h + 8),
                Some(attempt(1, 9)),
            ),
        ],
    )
    .await;
    // The same success written again (a retried group) changes nothing.
    write(
        "w1",
        vec![update(1, DeliveryStatus::Succeeded, Some(h + 9), None)],
    )
    .await;
    signpost::on_db!(&db, p => {
        sqlx::query("UPDATE deliveries SET status = 'cancelled', finished_at = $1 WHERE seq = 5")
            .bind(h + 10)
            .execute(p)
            .await
            .unwrap();
    });
    assert_eq!(
        rows().await,
        vec![
            (h, false, -1, 1),  // dropped, no attempt
            (h, false, 423, 1), // failed, 2,300–2,399 ms
            (h, true, 313, 1),  // succeeded, 130–139 ms
            (h + HOUR, true, 7, 1),
        ]
    );

    // The chart's reader sees the same, from the first hour asked for.
    let later = signpost::server::db::delivery_log::hours(&db, "wh", h + HOUR)
        .await
        .unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!((later[0].hour, later[0].count), (h + HOUR, 1));
    // Retention drops the hours before its cut-off, with their deliveries.
    signpost::server::db::delivery_log::forget_hours(&db, h + HOUR + 30 * 60_000)
        .await
        .unwrap();
    assert_eq!(rows().await, vec![(h + HOUR, true, 7, 1)]);
}

/// The log's status filters read the partial indexes of deliveries that did
/// not succeed, which SQLite uses only when the query repeats their
/// condition (`NOT_SUCCEEDED`); "succeeded" walks the plain index. A query
/// that forgets the condition still answers, slowly: only its plan tells.
#[tokio::test]
async fn status_filters_read_the_partial_indexes_and_succeeded_the_plain_ones() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("plans.db").display());
    let db = signpost::server::db::connect(&url).await.unwrap();
    signpost::server::db::migrate(&db).await.unwrap();
    let plan = |status, webhook: Option<&str>| {
        let filter = LogFilter {
            status: Some(status),
            webhook: webhook.map(str::to_string),
            ..LogFilter::default()
        };
        let db = &db;
        async move {
            signpost::server::db::delivery_log::explain(db, "prj_1", &filter, Cursor::Newest, 50)
                .await
                .unwrap()
                .join("\n")
        }
    };
    for status in [
        DeliveryStatus::Pending,
        DeliveryStatus::Failed,
        DeliveryStatus::Dropped,
        DeliveryStatus::Cancelled,
    ] {
        let project = plan(status, None).await;
        assert!(
            project.contains(
                "USING INDEX deliveries_project_not_succeeded (project_id=? AND status=?)"
            ),
            "{status:?}: {project}"
        );
        let webhook = plan(status, Some("wh_1")).await;
        assert!(
            webhook.contains(
                "USING INDEX deliveries_webhook_not_succeeded (webhook_id=? AND status=?)"
            ),
            "{status:?}: {webhook}"
        );
    }
    let project = plan(DeliveryStatus::Succeeded, None).await;
    assert!(
        project.contains("USING INDEX deliveries_project (project_id=?)"),
        "{project}"
    );
    let webhook = plan(DeliveryStatus::Succeeded, Some("wh_1")).await;
    assert!(
        webhook.contains("USING INDEX deliveries_webhook (webhook_id=?)"),
        "{webhook}"
    );
}

/// An attempt and its quick retry can reach the writer in one group: the
/// delivery's later state is the one written, on both backends (an
/// `UPDATE … FROM` that joins a row twice applies either state; a
/// delivery left pending that way was never attempted again).
#[tokio::test]
async fn of_two_states_of_a_delivery_in_one_group_the_later_is_written() {
    use signpost::server::db::{deliveries, deliveries::DeliveryUpdate};
    const N: i64 = 40;
    let dir = tempfile::tempdir().unwrap();
    let db = owned_lanes(dir.path(), &[("wh", "w1")], N, |_| "wh").await;
    let state = |seq, status, attempts| DeliveryUpdate {
        seq,
        status,
        attempts,
        next_at: 1,
        last_status: Some(if attempts == 1 { 500 } else { 200 }),
        last_error: None,
        finished_at: (status != DeliveryStatus::Pending).then_some(2),
    };
    let states: Vec<DeliveryUpdate> = (1..=N)
        .flat_map(|seq| {
            [
                state(seq, DeliveryStatus::Pending, 1),
                state(seq, DeliveryStatus::Succeeded, 2),
            ]
        })
        .collect();
    let mut tx = db.begin().await.unwrap();
    let refs: Vec<&DeliveryUpdate> = states.iter().collect();
    deliveries::update_states(&mut tx, "w1", &refs)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let rows: Vec<(String, i64)> = signpost::on_db!(&db, p => {
        sqlx::query_as("SELECT status, attempts FROM deliveries ORDER BY seq")
            .fetch_all(p)
            .await
    })
    .unwrap();
    assert_eq!(rows, vec![("succeeded".to_string(), 2); N as usize]);
}

/// A fresh database with one project, a webhook per `(id, owner)` in
/// `lanes` whose lane that worker owns, one event, and `n` pending
/// deliveries of it (`seq` 1 to `n`), each to the webhook `webhook_of(seq)`.
async fn owned_lanes(
    dir: &std::path::Path,
    lanes: &[(&str, &str)],
    n: i64,
    webhook_of: impl Fn(i64) -> &'static str,
) -> Db {
    let db_url = crate::support::fresh_database_url(dir, "lanes.db").await;
    let db = signpost::server::db::connect(&db_url).await.unwrap();
    signpost::server::db::migrate(&db).await.unwrap();
    let project = signpost::server::projects::create(&db, "Lanes")
        .await
        .unwrap();
    signpost::on_db!(&db, p => {
        for (webhook, owner) in lanes {
            sqlx::query(
                "INSERT INTO webhooks (id, project_id, url, scheme, secret, created_at, \
                 updated_at) VALUES ($1, $2, $3, 'spectrum-v0', $4, 0, 0)",
            )
            .bind(webhook)
            .bind(&project.id)
            .bind(format!("https://example.com/{webhook}"))
            .bind(vec![0u8])
            .execute(p)
            .await
            .unwrap();
            sqlx::query("INSERT INTO lanes (webhook_id, owner) VALUES ($1, $2)")
                .bind(webhook)
                .bind(owner)
                .execute(p)
                .await
                .unwrap();
        }
        sqlx::query(
            "INSERT INTO events (id, project_id, event, body, created_at) \
             VALUES ('evt_1', $1, 'e', $2, 0)",
        )
        .bind(&project.id)
        .bind(b"{}".to_vec())
        .execute(p)
        .await
        .unwrap();
        for seq in 1..=n {
            sqlx::query(
                "INSERT INTO deliveries (seq, id, project_id, event_id, webhook_id, next_at, \
                 created_at) VALUES ($1, $2, $3, 'evt_1', $4, 0, 0)",
            )
            .bind(seq)
            .bind(format!("dlv_{seq}"))
            .bind(&project.id)
            .bind(webhook_of(seq))
            .execute(p)
            .await
            .unwrap();
        }
    });
    db
}
