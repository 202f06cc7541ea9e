//! The bounded engine (issue 11): the queue is the database and the worker
//! holds a small window of it, whatever the backlog; publishing is refused
//! cleanly (503) when the writer cannot keep up, and recovers; a record that
//! can never be written, a full disk or a wrong secret key stop nothing else.

use crate::receiver::{Receiver, Reply};
use crate::support::WAIT;
use crate::support::{Api, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};
use signpost::server::config::Config;
use signpost::server::db::Db;
use std::time::Duration;

async fn number(db: &Db, sql: &str) -> i64 {
    signpost::on_db!(db, p => sqlx::query_scalar(sql).fetch_one(p).await).unwrap()
}

/// Waits until `sql` (one integer) is `want`.
async fn wait_number(db: &Db, sql: &str, want: i64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let n = number(db, sql).await;
        if n == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{sql}: {n}, not {want}"
        );
        // The writer commits in groups; look again shortly.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Publishes events `from..to` (`{"event": "tick", "n": …}`) in batches of 100.
async fn publish_ticks(s: &Api, from: i64, to: i64) {
    let mut n = from;
    while n < to {
        let end = (n + 100).min(to);
        let batch: Vec<Value> = (n..end)
            .map(|n| json!({ "event": "tick", "n": n }))
            .collect();
        let res = s.post("/events/batch").json(&batch).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        n = end;
    }
}

/// The `n` of each event in the order it first arrived on `path`.
fn first_arrivals(rx: &Receiver, path: &str) -> Vec<i64> {
    let mut seen = Vec::new();
    for h in rx.hits(path) {
        let n = h.json()["n"].as_i64().unwrap();
        if !seen.contains(&n) {
            seen.push(n);
        }
    }
    seen
}

/// Retries come fast in these tests, and a dead receiver is retried for as
/// long as a test needs.
fn quick_retries(c: &mut Config) {
    c.delivery.retry_base_ms = 20;
    c.delivery.retry_max_ms = 50;
    c.delivery.max_attempts = 100;
}

#[tokio::test]
async fn a_dead_receivers_backlog_stays_in_the_database_while_a_healthy_webhook_flows() {
    const EVENTS: i64 = 300;
    let rx = Receiver::start().await;
    rx.otherwise("dead", Reply::Status(503));
    let s = Api::new(|c| {
        quick_retries(c);
        c.delivery.lane_window = 4;
    })
    .await;
    let (dead, _) = s.register(&rx.url("dead"), json!({})).await;
    s.register(&rx.url("healthy"), json!({})).await;
    publish_ticks(&s, 0, EVENTS).await;

    // The healthy webhook gets every event, in order, while the dead one's
    // first delivery is retried again and again.
    rx.wait_for("healthy", EVENTS as usize, WAIT).await;
    assert_eq!(
        first_arrivals(&rx, "healthy"),
        (0..EVENTS).collect::<Vec<_>>()
    );
    rx.wait_for("dead", 5, WAIT).await;
    assert_eq!(
        first_arrivals(&rx, "dead"),
        vec![0],
        "nothing overtook the head"
    );
    // Two lanes of at most 1 + 4 deliveries each: that is all it ever held.
    let held = s.server.state.delivery.held();
    assert!(held.peak_deliveries <= 10, "{held:?}");
    let db = s.server.db().await;
    let pending = format!(
        "SELECT count(*) FROM deliveries WHERE webhook_id = '{dead}' AND status = 'pending'"
    );
    assert_eq!(number(&db, &pending).await, EVENTS);

    // The receiver comes back: the backlog drains from the database, in order.
    rx.otherwise("dead", Reply::Status(200));
    rx.wait_until(WAIT, |_| {
        first_arrivals(&rx, "dead").len() == EVENTS as usize
    })
    .await;
    assert_eq!(first_arrivals(&rx, "dead"), (0..EVENTS).collect::<Vec<_>>());
    wait_number(&db, &pending, 0).await;
    // Only the head was ever retried: every later delivery took one attempt.
    let retried =
        format!("SELECT count(*) FROM deliveries WHERE webhook_id = '{dead}' AND attempts > 1");
    assert_eq!(number(&db, &retried).await, 1);
    let held = s.server.state.delivery.held();
    assert!(held.peak_deliveries <= 10, "{held:?}");
}

#[tokio::test]
async fn a_restart_with_a_backlog_resumes_in_order_within_the_window() {
    const EVENTS: i64 = 200;
    let rx = Receiver::start().await;
    rx.otherwise("down", Reply::Status(503));
    let adjust = |c: &mut Config| {
        quick_retries(c);
        c.allow_targets = "127.0.0.1".parse().unwrap();
        c.api_rate_limit = 1000;
        c.delivery.lane_window = 4;
    };
    let s = Api::new(adjust).await;
    s.register(&rx.url("down"), json!({})).await;
    publish_ticks(&s, 0, EVENTS).await;
    rx.wait_for("down", 3, WAIT).await;

    let dir = s.server.stop().await;
    rx.otherwise("down", Reply::Status(200));
    let server = TestServer::start_in(dir, adjust).await;
    let s = Api {
        http: server.client(),
        server,
        pid: s.pid,
        secret: s.secret,
    };
    // Published after the restart: they wait behind the backlog.
    publish_ticks(&s, EVENTS, EVENTS + 20).await;
    rx.wait_until(WAIT, |_| {
        first_arrivals(&rx, "down").len() == (EVENTS + 20) as usize
    })
    .await;
    assert_eq!(
        first_arrivals(&rx, "down"),
        (0..EVENTS + 20).collect::<Vec<_>>()
    );
    let held = s.server.state.delivery.held();
    assert!(held.peak_deliveries <= 5, "one lane of 1 + 4: {held:?}");
}

#[tokio::test]
async fn the_ceiling_holds_across_many_lanes_and_they_take_turns() {
    const WEBHOOKS: usize = 5;
    const EVENTS: i64 = 40;
    let rx = Receiver::start().await;
    let s = Api::new(|c| {
        c.delivery.lane_window = 8;
        c.delivery.max_held_deliveries = 6;
    })
    .await;
    for i in 0..WEBHOOKS {
        rx.otherwise(
            &format!("slow{i}"),
            Reply::After(Duration::from_millis(5), 200),
        );
        s.register(&rx.url(&format!("slow{i}")), json!({})).await;
    }
    publish_ticks(&s, 0, EVENTS).await;
    for i in 0..WEBHOOKS {
        let path = format!("slow{i}");
        rx.wait_for(&path, EVENTS as usize, WAIT).await;
        assert_eq!(first_arrivals(&rx, &path), (0..EVENTS).collect::<Vec<_>>());
    }
    let held = s.server.state.delivery.held();
    assert!(held.peak_deliveries <= 6, "{held:?}");
    // Once the last attempts are done, the windows are empty.
    let deadline = tokio::time::Instant::now() + WAIT;
    while s.server.state.delivery.held().deliveries > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            s.server.state.delivery.held()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn publishing_gets_503_while_the_writer_is_behind_and_loses_nothing_accepted() {
    let rx = Receiver::start().await;
    // Room for about five 12 KiB events waiting for the writer.
    let s = Api::new(|c| {
        c.delivery.max_held_bytes = 256 * 1024;
        c.delivery.publish_wait_ms = 200;
    })
    .await;
    s.register(&rx.url("later"), json!({})).await;
    let db = s.server.db().await;
    let filler = "x".repeat(12 * 1024);

    // The writer is stuck: a test holds its connections (one on SQLite,
    // one per writer task on PostgreSQL; only holding them matters).
    let stuck = signpost::on_db!(&s.server.state.delivery.writer, p => {
        let mut held = Vec::new();
        for _ in 0..p.options().get_max_connections() {
            held.push(p.acquire().await.unwrap());
        }
        Box::new(held) as Box<dyn std::any::Any + Send>
    });
    let calls: Vec<_> = (0..10)
        .map(|n| {
            let req = s
                .post("/events")
                .json(&json!({ "event": "tick", "n": n, "filler": filler }));
            tokio::spawn(async move { req.send().await.unwrap() })
        })
        .collect();
    // Those that found no room are refused once the wait is over, while
    // the others still wait for the writer.
    let deadline = tokio::time::Instant::now() + WAIT;
    while !calls.iter().any(|c| c.is_finished()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no call was refused"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The metrics see the calls waiting for the writer.
    let metrics = &s.server.state.metrics;
    assert!(metrics.publish_waiting.get() > 0);
    drop(stuck);
    let mut answers = Vec::new();
    for c in calls {
        answers.push(c.await.unwrap());
    }
    let mut accepted = Vec::new();
    let mut refused = 0;
    for res in answers {
        match res.status() {
            StatusCode::ACCEPTED => {
                let v: Value = res.json().await.unwrap();
                accepted.push(v["data"]["id"].as_str().unwrap().to_string());
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(res.headers()["retry-after"], "1");
                let v: Value = res.json().await.unwrap();
                assert_eq!(v["succeed"], false);
                assert!(v["message"].as_str().unwrap().contains("try again"), "{v}");
                refused += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        refused > 0,
        "the writer was stuck: some calls must have been refused"
    );
    assert!(
        !accepted.is_empty(),
        "calls that found room are answered once it moves"
    );
    // Each refusal counted once; nothing waits any more.
    assert_eq!(metrics.publish_refused.get(), refused);
    assert_eq!(metrics.publish_waiting.get(), 0);
    // ...and only what was accepted is stored, and delivered.
    assert_eq!(
        number(&db, "SELECT count(*) FROM events").await,
        accepted.len() as i64
    );
    rx.wait_for("later", accepted.len(), WAIT).await;
    // It recovers by itself.
    let again = s.publish(json!({ "event": "tick", "n": 99 })).await;
    assert!(again["id"].as_str().is_some());
}

#[tokio::test]
async fn a_record_that_can_never_be_written_does_not_stop_the_writer() {
    let rx = Receiver::start().await;
    rx.otherwise("poison", Reply::Status(299));
    let s = Api::new(|_| {}).await;
    let (poisoned, _) = s
        .register(&rx.url("poison"), json!({ "events": ["p"] }))
        .await;
    let (fine, _) = s.register(&rx.url("fine"), json!({})).await;
    let db = s.server.db().await;
    // Every attempt record with status 299 is refused by a trigger (each
    // backend has its own syntax for one).
    match &db {
        Db::Sqlite(p) => {
            sqlx::query(
                "CREATE TRIGGER poison BEFORE INSERT ON attempts WHEN NEW.response_status = 299 \
                 BEGIN SELECT RAISE(ABORT, 'poisoned by the test'); END",
            )
            .execute(p)
            .await
            .unwrap();
        }
        Db::Postgres(p) => {
            sqlx::query(
                "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'poisoned by the test'; END $$",
            )
            .execute(p)
            .await
            .unwrap();
            sqlx::query(
                "CREATE TRIGGER poison BEFORE INSERT ON attempts FOR EACH ROW \
                 WHEN (NEW.response_status = 299) EXECUTE FUNCTION poison()",
            )
            .execute(p)
            .await
            .unwrap();
        }
    }
    s.publish(json!({ "event": "p" })).await;
    rx.wait_for("poison", 1, WAIT).await;
    // Publishing and recording go on.
    for n in 0..5 {
        s.publish(json!({ "event": "tick", "n": n })).await;
    }
    rx.wait_for("fine", 6, WAIT).await;
    let done = format!(
        "SELECT count(*) FROM deliveries WHERE webhook_id = '{fine}' AND status = 'succeeded'"
    );
    wait_number(&db, &done, 6).await;
    // The poisoned one is left pending, without an attempt row.
    let sql = format!(
        "SELECT d.status, (SELECT count(*) FROM attempts a WHERE a.delivery_seq = d.seq) \
         FROM deliveries d WHERE webhook_id = '{poisoned}'"
    );
    let (status, attempts): (String, i64) =
        signpost::on_db!(&db, p => sqlx::query_as(&sql).fetch_one(p).await).unwrap();
    assert_eq!((status.as_str(), attempts), ("pending", 0));
}

/// SQLite only: the disk is filled with `PRAGMA max_page_count` (the test
/// PostgreSQL server's disk is not the test's to fill).
#[tokio::test]
async fn a_full_disk_refuses_publishing_with_503_and_recovers_by_itself() {
    let rx = Receiver::start().await;
    let s = Api::sqlite(|_| {}).await;
    s.register(&rx.url("disk"), json!({})).await;
    let db = s.server.db().await;
    let big = "x".repeat(64 * 1024);
    // The writer's connection may not grow the database file any more. (A
    // write that fails this way may cost the writer its connection: the
    // limit is set again on the one it has before each call.)
    let Db::Sqlite(writer) = &s.server.state.delivery.writer else {
        unreachable!("a SQLite server")
    };
    let disk_full = || async {
        let mut conn = writer.acquire().await.unwrap();
        let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        sqlx::query(&format!("PRAGMA max_page_count = {pages}"))
            .execute(&mut *conn)
            .await
            .unwrap();
    };
    for _ in 0..3 {
        disk_full().await;
        let (status, answer) = s
            .publish_raw(&json!({ "event": "big", "filler": big }).to_string(), None)
            .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
        assert_eq!(answer["succeed"], false);
    }
    assert_eq!(number(&db, "SELECT count(*) FROM events").await, 0);
    let held = s.server.state.delivery.held();
    assert_eq!(held.bytes, 0, "nothing piles up: {held:?}");

    // Room again: the very next call goes through.
    let mut conn = writer.acquire().await.unwrap();
    sqlx::query("PRAGMA max_page_count = 1073741823")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    s.publish(json!({ "event": "big", "filler": big })).await;
    rx.wait_for("disk", 1, WAIT).await;
}

/// The operator starts Signpost again with another secret key than the one
/// its webhook secrets were sealed with (or a second process with another
/// key): it refuses to start, with a sentence saying what to do, rather
/// than fail every delivery.
#[tokio::test]
async fn another_secret_key_than_the_databases_is_refused_at_start() {
    use base64::{engine::general_purpose::STANDARD as B64, Engine};
    let rx = Receiver::start().await;
    let key = |byte: u8| Some(B64.encode([byte; 32]));
    let s = Api::new(|c| c.secret_key = key(1)).await;
    s.register(&rx.url("sealed"), json!({})).await;
    let url = s.server.database_url.clone();
    let dir = s.server.stop().await;

    let mut config = Config::for_database(url);
    config.secret_key = key(2);
    let refused = signpost::server::prepare(config)
        .await
        .err()
        .expect("refused");
    assert!(
        refused.to_string().contains("same SIGNPOST_SECRET_KEY"),
        "{refused}"
    );
    // With its own key it starts, and delivers.
    let server = TestServer::start_in(dir, |c| {
        c.allow_targets = "127.0.0.1".parse().unwrap();
        c.secret_key = key(1);
    })
    .await;
    let s = Api {
        http: server.client(),
        server,
        pid: s.pid,
        secret: s.secret,
    };
    s.publish(json!({ "event": "x" })).await;
    rx.wait_for("sealed", 1, WAIT).await;
}

/// SQLite only: `PRAGMA synchronous` is SQLite's (PostgreSQL's durability
/// is its server's setting).
#[tokio::test]
async fn commits_reach_the_disk_unless_the_operator_opts_out() {
    let synchronous = |server: &TestServer| {
        let Db::Sqlite(writer) = server.state.delivery.writer.clone() else {
            unreachable!("a SQLite server")
        };
        async move {
            sqlx::query_scalar::<_, i64>("PRAGMA synchronous")
                .fetch_one(&writer)
                .await
                .unwrap()
        }
    };
    let full = TestServer::start_sqlite_with(|_| {}).await;
    assert_eq!(
        synchronous(&full).await,
        2,
        "FULL: the WAL is synced at every commit"
    );
    let normal = TestServer::start_sqlite_with(|c| {
        c.sqlite_synchronous = signpost::server::config::Durability::Normal;
    })
    .await;
    assert_eq!(synchronous(&normal).await, 1, "NORMAL, as asked");
}

/// Another process (here: a second server on the same database) stores a
/// delivery in a lane this one owns: it keeps its place in line, and it is
/// found even when nothing else comes after it.
#[tokio::test]
async fn deliveries_another_process_stores_keep_their_place_in_line() {
    let rx = Receiver::start().await;
    rx.otherwise("shared", Reply::After(Duration::from_millis(20), 200));
    let a = Api::new(|c| c.delivery.lease_ms = 600).await;
    a.register(&rx.url("shared"), json!({})).await;
    // The lane is this server's once it has delivered something.
    a.publish(json!({ "event": "tick", "n": 0 })).await;
    rx.wait_for("shared", 1, WAIT).await;
    let b = a.beside(|c| c.delivery.lease_ms = 600).await;
    // Stored by the other process first, then by the owner.
    b.publish(json!({ "event": "tick", "n": 1 })).await;
    a.publish(json!({ "event": "tick", "n": 2 })).await;
    rx.wait_until(WAIT, |_| first_arrivals(&rx, "shared").len() == 3)
        .await;
    assert_eq!(first_arrivals(&rx, "shared"), vec![0, 1, 2]);
    // Stored by the other process alone: the owner finds it by itself.
    b.publish(json!({ "event": "tick", "n": 3 })).await;
    rx.wait_until(WAIT, |_| first_arrivals(&rx, "shared").len() == 4)
        .await;
    assert_eq!(first_arrivals(&rx, "shared"), vec![0, 1, 2, 3]);
}

/// A worker whose lease ran out (it stalled) cannot know which lanes were
/// taken over meanwhile: it lets all of them go and claims them again
/// once free, so that nothing it attempted while it was not the owner is
/// lost, and order holds.
#[tokio::test]
async fn a_worker_whose_lease_ran_out_lets_its_lanes_go_and_claims_them_again() {
    let rx = Receiver::start().await;
    rx.otherwise("stall", Reply::Status(503));
    let s = Api::new(|c| {
        quick_retries(c);
        c.delivery.lease_ms = 600;
    })
    .await;
    s.register(&rx.url("stall"), json!({})).await;
    publish_ticks(&s, 0, 50).await;
    rx.wait_for("stall", 2, WAIT).await;
    let db = s.server.db().await;
    // As if the process had stalled past its lease and another worker had
    // taken its lane over, then died too (its lease ends in a second).
    let now = signpost::server::db::now_ms();
    signpost::on_db!(&db, p => {
        sqlx::query("UPDATE workers SET lease_until = 0")
            .execute(p)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO workers (id, started_at, lease_until) VALUES ('wkr_thief', 0, $1)",
        )
        .bind(now + 1_000)
        .execute(p)
        .await
        .unwrap();
        sqlx::query("UPDATE lanes SET owner = 'wkr_thief'")
            .execute(p)
            .await
            .unwrap();
    });
    rx.otherwise("stall", Reply::Status(200));
    rx.wait_until(WAIT, |_| first_arrivals(&rx, "stall").len() == 50)
        .await;
    assert_eq!(first_arrivals(&rx, "stall"), (0..50).collect::<Vec<_>>());
    // Every delivery is recorded: none was left behind as delivered
    // while another worker owned the lane.
    wait_number(
        &db,
        "SELECT count(*) FROM deliveries WHERE status = 'pending'",
        0,
    )
    .await;
    let owner: Option<String> = signpost::on_db!(&db, p => {
        sqlx::query_scalar("SELECT owner FROM lanes")
            .fetch_one(p)
            .await
    })
    .unwrap();
    assert_eq!(
        owner.as_deref(),
        Some(&*s.server.state.delivery.worker_id.get())
    );
}

/// `seq` is event order and only ever grows, even when retention has
/// deleted every old delivery: the newest one stays.
#[tokio::test]
async fn retention_keeps_the_newest_delivery_so_that_seq_only_grows() {
    let rx = Receiver::start().await;
    let s = Api::new(|_| {}).await;
    s.register(&rx.url("old"), json!({})).await;
    for n in 0..3 {
        s.publish(json!({ "event": "tick", "n": n })).await;
    }
    rx.wait_for("old", 3, WAIT).await;
    let db = s.server.db().await;
    wait_number(
        &db,
        "SELECT count(*) FROM deliveries WHERE status = 'succeeded'",
        3,
    )
    .await;
    let newest = number(&db, "SELECT max(seq) FROM deliveries").await;
    let old = signpost::server::db::now_ms() - 40 * 86_400_000;
    signpost::on_db!(&db, p => {
        for table in ["deliveries", "events"] {
            sqlx::query(&format!("UPDATE {table} SET created_at = $1"))
                .bind(old)
                .execute(p)
                .await
                .unwrap();
        }
    });
    let deleted = signpost::server::delivery::retention::sweep(&db, 30)
        .await
        .unwrap();
    assert_eq!(deleted, 2, "every old one but the newest");
    s.publish(json!({ "event": "tick", "n": 3 })).await;
    rx.wait_for("old", 4, WAIT).await;
    assert_eq!(first_arrivals(&rx, "old"), vec![0, 1, 2, 3]);
    assert!(number(&db, "SELECT max(seq) FROM deliveries").await > newest);
}

/// Two processes on one database take ingests for the same ordered
/// webhooks at the same time: per webhook, the receiver sees first
/// arrivals in `seq` order, and each process's own events in the order it
/// answered them 202. (On PostgreSQL, what makes this hold is that ingest
/// locks the lanes before it draws `seq`: see `db::lanes::lock`.)
#[tokio::test]
async fn concurrent_ingests_through_two_processes_keep_each_webhooks_order() {
    let rx = Receiver::start().await;
    let hooks = ["o1", "o2", "o3", "o4"];
    for h in hooks {
        rx.otherwise(h, Reply::After(Duration::from_millis(2), 200));
    }
    let a = Api::new(|c| c.delivery.lease_ms = 900).await;
    let mut ids = Vec::new();
    for h in hooks {
        ids.push(a.register(&rx.url(h), json!({})).await.0);
    }
    let b = a.beside(|c| c.delivery.lease_ms = 900).await;
    const EACH: i64 = 40;
    async fn publish_all(api: &Api, from: &str) {
        for n in 0..EACH {
            api.publish(json!({ "event": "tick", "from": from, "n": n }))
                .await;
        }
    }
    tokio::join!(publish_all(&a, "a"), publish_all(&b, "b"));
    let total = 2 * EACH as usize;
    let firsts = |path: &str| {
        let mut seen: Vec<(String, i64)> = Vec::new();
        for h in rx.hits(path) {
            let v = h.json();
            let key = (
                v["from"].as_str().unwrap().to_string(),
                v["n"].as_i64().unwrap(),
            );
            if !seen.contains(&key) {
                seen.push(key);
            }
        }
        seen
    };
    rx.wait_until(WAIT, |_| hooks.iter().all(|h| firsts(h).len() == total))
        .await;
    let db = a.server.db().await;
    for (h, id) in hooks.iter().zip(&ids) {
        let bodies: Vec<Vec<u8>> = signpost::on_db!(&db, p => sqlx::query_scalar(
            "SELECT e.body FROM deliveries d JOIN events e ON e.id = d.event_id \
             WHERE d.webhook_id = $1 ORDER BY d.seq",
        )
        .bind(id)
        .fetch_all(p)
        .await)
        .unwrap();
        let by_seq: Vec<(String, i64)> = bodies
            .iter()
            .map(|b| {
                let v: Value = serde_json::from_slice(b).unwrap();
                (
                    v["from"].as_str().unwrap().to_string(),
                    v["n"].as_i64().unwrap(),
                )
            })
            .collect();
        let arrived = firsts(h);
        assert_eq!(arrived, by_seq, "{h}: first arrivals in seq order");
        for from in ["a", "b"] {
            let own: Vec<i64> = arrived
                .iter()
                .filter(|(f, _)| f == from)
                .map(|(_, n)| *n)
                .collect();
            assert_eq!(
                own,
                (0..EACH).collect::<Vec<_>>(),
                "{h}: {from}'s events in order"
            );
        }
    }
}
