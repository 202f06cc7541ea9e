//! Load spreads as processes join (issue 12): a worker that is not alone
//! lets go of the lanes that sat idle, and the next process to store a
//! delivery in a free lane takes it. Alone, a worker keeps its lanes. Two
//! servers on one database stand for two processes.

use crate::receiver::{Receiver, Reply};
use crate::support::WAIT;
use crate::support::{eventually, Api};
use serde_json::json;
use signpost::server::db::Db;
use std::time::Duration;

async fn owner(db: &Db, webhook: &str) -> Option<String> {
    signpost::on_db!(db, p => sqlx::query_scalar("SELECT owner FROM lanes WHERE webhook_id = $1")
        .bind(webhook)
        .fetch_one(p)
        .await)
    .unwrap()
}

async fn lease_until(db: &Db, worker: &str) -> i64 {
    signpost::on_db!(db, p => sqlx::query_scalar("SELECT lease_until FROM workers WHERE id = $1")
        .bind(worker)
        .fetch_one(p)
        .await)
    .unwrap()
}

/// Waits until `worker` has renewed its lease `n` more times: each renewal
/// begins a lease tick, and a tick looks for idle lanes after it renews.
async fn renewals(db: &Db, worker: &str, n: usize) {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut last = lease_until(db, worker).await;
    let mut seen = 0;
    while seen < n {
        assert!(tokio::time::Instant::now() < deadline, "no renewal");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = lease_until(db, worker).await;
        if now != last {
            seen += 1;
            last = now;
        }
    }
}

fn arrivals(rx: &Receiver, path: &str) -> Vec<i64> {
    rx.hits(path)
        .iter()
        .map(|h| h.json()["n"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn an_idle_lane_goes_to_the_next_process_that_stores_in_it_once_another_worker_is_live() {
    let rx = Receiver::start().await;
    let a = Api::new(|c| c.delivery.lease_ms = 600).await;
    let (hook, _) = a.register(&rx.url("spread"), json!({})).await;
    a.publish(json!({ "event": "tick", "n": 0 })).await;
    rx.wait_for("spread", 1, WAIT).await;
    let db = a.server.db().await;
    let first = owner(&db, &hook)
        .await
        .expect("the first to store takes the lane");

    // Alone, the worker keeps its idle lane: three ticks pass (a lane is
    // let go after one whole tick idle, looked at after the next renewal).
    renewals(&db, &first, 3).await;
    assert_eq!(owner(&db, &hook).await.as_deref(), Some(first.as_str()));

    // With a second worker live, the idle lane goes back to no one…
    let b = a.beside(|c| c.delivery.lease_ms = 600).await;
    eventually(|| owner(&db, &hook), |o| o.is_none()).await;
    // …and the next process to store a delivery in it takes it.
    b.publish(json!({ "event": "tick", "n": 1 })).await;
    let second = owner(&db, &hook)
        .await
        .expect("taken by the one that stored");
    assert_ne!(second, first);
    rx.wait_for("spread", 2, WAIT).await;
    // A delivery the first stores now goes to the lane's new owner.
    a.publish(json!({ "event": "tick", "n": 2 })).await;
    rx.wait_for("spread", 3, WAIT).await;
    assert_eq!(
        arrivals(&rx, "spread"),
        vec![0, 1, 2],
        "each once, in order"
    );
}

/// Lanes going idle, let go and taken again by whichever process stores
/// next, while both store in them: every event arrives once, in order.
#[tokio::test]
async fn lanes_handed_back_and_forth_lose_nothing_and_keep_order() {
    let rx = Receiver::start().await;
    // Ticks of 200 ms: a lane idle for 200–400 ms is let go. (Shorter
    // leases lapse under a loaded test run, and a lapse is a new id.)
    let a = Api::new(|c| c.delivery.lease_ms = 600).await;
    let b = a.beside(|c| c.delivery.lease_ms = 600).await;
    let hooks = ["h0", "h1", "h2", "h3"];
    for h in hooks {
        rx.otherwise(h, Reply::After(Duration::from_millis(5), 200));
        a.register(&rx.url(h), json!({})).await;
    }
    const ROUNDS: i64 = 12;
    let mut n = 0;
    let mut owners = std::collections::HashSet::new();
    let db = a.server.db().await;
    for round in 0..ROUNDS {
        // A burst from both, then a pause around the idle threshold.
        for _ in 0..3 {
            let via = if n % 2 == 0 { &a } else { &b };
            via.publish(json!({ "event": "tick", "n": n })).await;
            n += 1;
        }
        let owned: Vec<Option<String>> = signpost::on_db!(&db, p => sqlx::query_scalar(
            "SELECT owner FROM lanes",
        )
        .fetch_all(p)
        .await)
        .unwrap();
        owners.extend(owned.into_iter().flatten());
        // Shaping the load, not waiting for a condition: some pauses are
        // shorter than a lane needs to be let go, some longer.
        // Rounds that b starts (odd ones) follow the longer pauses, so that
        // it finds free lanes to take.
        let pause = if round % 2 == 0 {
            250 + 200 * (round % 3) as u64
        } else {
            60
        };
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    rx.wait_until(WAIT, |_| hooks.iter().all(|h| rx.hits(h).len() as i64 >= n))
        .await;
    for h in hooks {
        assert_eq!(
            arrivals(&rx, h),
            (0..n).collect::<Vec<_>>(),
            "{h}: every event once, in order"
        );
    }
    // (More than two ids if a worker's lease ran out and it rejoined.)
    assert!(owners.len() >= 2, "both processes owned lanes: {owners:?}");
}

/// The safety net under the hand-overs: should this worker ever hold a
/// lane the database gives to another worker (here made so by hand), the
/// next commit to that lane makes it let go, so it does not send; it gets
/// the lane back only by claiming it once that worker's lease runs out.
#[tokio::test]
async fn a_lane_held_here_but_owned_by_another_worker_is_let_go_at_the_next_commit() {
    let rx = Receiver::start().await;
    let a = Api::new(|c| c.delivery.lease_ms = 600).await;
    let (hook, _) = a.register(&rx.url("net"), json!({})).await;
    a.publish(json!({ "event": "tick", "n": 0 })).await;
    rx.wait_for("net", 1, WAIT).await;
    let db = a.server.db().await;
    // Its outcome first: written only while the lane is this worker's.
    let succeeded = || async {
        signpost::on_db!(&db, p => sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM deliveries WHERE status = 'succeeded'",
        )
        .fetch_one(p)
        .await)
        .unwrap()
    };
    eventually(succeeded, |n| *n >= 1).await;
    const OTHERS_LEASE_MS: i64 = 1_500;
    let until = signpost::server::db::now_ms() + OTHERS_LEASE_MS;
    signpost::on_db!(&db, p => {
        sqlx::query("INSERT INTO workers (id, started_at, lease_until) VALUES ('wkr_other', 0, $1)")
            .bind(until)
            .execute(p)
            .await
            .unwrap();
        sqlx::query("UPDATE lanes SET owner = 'wkr_other' WHERE webhook_id = $1")
            .bind(&hook)
            .execute(p)
            .await
            .unwrap();
    });
    let published = std::time::Instant::now();
    a.publish(json!({ "event": "tick", "n": 1 })).await;
    let hits = rx.wait_for("net", 2, WAIT).await;
    let after = hits[1].at.duration_since(published);
    assert!(
        after >= Duration::from_millis(1_000),
        "sent {after:?} after the publish, while another worker owned the lane"
    );
    assert_eq!(arrivals(&rx, "net"), vec![0, 1]);
}
