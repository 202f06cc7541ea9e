//! Several `signpost serve` processes (the real binary) on one PostgreSQL
//! database: events published round-robin to all three, then one process
//! is killed (SIGKILL), stopped (SIGTERM) or frozen past its lease
//! (SIGSTOP, then SIGCONT). Every accepted event is delivered, first
//! arrivals keep each ordered webhook's order, no ordered webhook ever gets
//! two requests at once, and duplicates come only from attempts that were
//! on the wire. These tests need the test PostgreSQL in both passes.

use crate::receiver::{Receiver, Reply};
use crate::support::fresh_postgres_database;
use crate::support::process::Process;
use crate::support::LONG_WAIT as WAIT;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Short, so that a takeover is quick; three renewals a lease.
const LEASE_MS: u64 = 1_500;
const HOOKS: usize = 6;
const EVENTS: i64 = 80;
/// Each request takes this long at the receiver: the kill lands with most
/// of each webhook's deliveries still to go.
const RECEIVER_MS: u64 = 40;

/// A `signpost serve` process, killed (SIGKILL) when dropped.
/// `signpost serve` as a process on `db_url`, with this module's lease
/// (and room in the API's rate limit), and `env`.
pub(crate) async fn start(db_url: &str, env: &[(&str, &str)]) -> Process {
    let lease = LEASE_MS.to_string();
    let mut all = vec![
        ("SIGNPOST_LEASE_MS", lease.as_str()),
        ("SIGNPOST_API_RATE_LIMIT", "10000"),
    ];
    all.extend_from_slice(env);
    Process::serve(env!("CARGO_BIN_EXE_signpost"), db_url, &all).await
}

/// Three processes on a fresh database, a project, `HOOKS` ordered
/// webhooks on the receiver, and `EVENTS` events published round-robin
/// (each answered 202 before the next is sent, so event order is `n`).
struct Cluster {
    rx: Receiver,
    procs: Vec<Process>,
    db: signpost::server::db::Db,
}

impl Cluster {
    async fn start() -> Cluster {
        let url = fresh_postgres_database().await;
        // Started at once: their migrations must not trip over each other.
        let (a, b, c) = tokio::join!(start(&url, &[]), start(&url, &[]), start(&url, &[]));
        let procs = vec![a, b, c];
        let db = signpost::server::db::connect(&url).await.unwrap();
        let project = signpost::server::projects::create(&db, "Cluster")
            .await
            .unwrap();
        let rx = Receiver::start().await;
        let http = Client::new();
        for h in 0..HOOKS {
            let path = format!("h{h}");
            rx.otherwise(&path, Reply::After(Duration::from_millis(RECEIVER_MS), 200));
            let res = http
                .post(format!(
                    "{}/projects/{}/webhooks",
                    procs[0].base, project.id
                ))
                .basic_auth(&project.id, Some(&project.secret))
                .json(&json!({ "webhookUrl": rx.url(&path) }))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
        }
        for n in 0..EVENTS {
            let p = &procs[n as usize % procs.len()];
            let res = http
                .post(format!("{}/projects/{}/events", p.base, project.id))
                .basic_auth(&project.id, Some(&project.secret))
                .json(&json!({ "event": "tick", "n": n }))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::ACCEPTED);
        }
        Cluster { rx, procs, db }
    }

    /// The process that owns every lane: the first to ingest took them all
    /// (a lane with a live owner is never claimed), and that is process 0.
    async fn owner_of_every_lane(&self) -> usize {
        let owners: Vec<Option<String>> = signpost::on_db!(&self.db, p => {
            sqlx::query_scalar("SELECT DISTINCT owner FROM lanes").fetch_all(p).await
        })
        .unwrap();
        assert_eq!(owners.len(), 1, "one owner: {owners:?}");
        assert!(owners[0].is_some());
        0
    }

    /// Waits until every (webhook, event) has arrived at least once.
    async fn all_arrived(&self) {
        self.rx
            .wait_until(WAIT, |_| {
                (0..HOOKS).all(|h| first_arrivals(&self.rx, h).len() == EVENTS as usize)
            })
            .await;
    }

    /// Per webhook: first arrivals in event order, never two requests at
    /// once; returns how many requests were duplicates in all.
    fn check_order_and_count_duplicates(&self) -> usize {
        self.check_order_and_count_duplicates_but(|_, _, _| false)
    }

    /// The same, but for the overlapping pairs `allowed` says may overlap
    /// (each (webhook, earlier, later) the test accounts for).
    fn check_order_and_count_duplicates_but(
        &self,
        mut allowed: impl FnMut(usize, &crate::receiver::Hit, &crate::receiver::Hit) -> bool,
    ) -> usize {
        let mut duplicates = 0;
        for h in 0..HOOKS {
            assert_eq!(
                first_arrivals(&self.rx, h),
                (0..EVENTS).collect::<Vec<_>>(),
                "h{h}: first arrivals in event order"
            );
            let hits = self.rx.hits(&format!("h{h}"));
            duplicates += hits.len() - EVENTS as usize;
            // The receiver takes RECEIVER_MS per request: two requests to
            // one ordered webhook that arrive closer than that overlapped.
            for pair in hits.windows(2) {
                let gap = pair[1].at.duration_since(pair[0].at);
                if gap < Duration::from_millis(RECEIVER_MS - 5) && allowed(h, &pair[0], &pair[1]) {
                    continue;
                }
                // What each was (event, attempt number, when), for a failure.
                let said = |hit: &crate::receiver::Hit| {
                    format!(
                        "event {} attempt {} at {:?}",
                        hit.json()["n"],
                        hit.header("x-signpost-attempt"),
                        hit.at.duration_since(hits[0].at)
                    )
                };
                assert!(
                    gap >= Duration::from_millis(RECEIVER_MS - 5),
                    "h{h}: two requests {gap:?} apart (they overlapped): {} then {}",
                    said(&pair[0]),
                    said(&pair[1])
                );
            }
        }
        duplicates
    }
}

fn first_arrivals(rx: &Receiver, h: usize) -> Vec<i64> {
    let mut seen = Vec::new();
    for hit in rx.hits(&format!("h{h}")) {
        let n = hit.json()["n"].as_i64().unwrap();
        if !seen.contains(&n) {
            seen.push(n);
        }
    }
    seen
}

/// Waits until the receiver has had `n` requests in all.
async fn requests(rx: &Receiver, n: usize) {
    rx.wait_until(WAIT, |hits| hits.len() >= n).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_process_loses_nothing_and_its_lanes_are_taken_over_within_two_leases() {
    let c = Cluster::start().await;
    let victim = c.owner_of_every_lane().await;
    requests(&c.rx, HOOKS * 3).await;
    c.procs[victim].signal("KILL");
    let killed_at = Instant::now();
    // Takeover: a request comes again (from another process: the killed
    // one sends nothing; what it had on the wire arrived at once) within
    // two leases of the kill.
    let after = killed_at + Duration::from_millis(50);
    let hits =
        c.rx.wait_until(WAIT, |hits| hits.iter().any(|h| h.at > after))
            .await;
    let resumed = hits.iter().find(|h| h.at > after).unwrap().at;
    let takeover = resumed.duration_since(killed_at);
    assert!(
        takeover < Duration::from_millis(2 * LEASE_MS),
        "taken over {takeover:?} after the kill"
    );
    c.all_arrived().await;
    let duplicates = c.check_order_and_count_duplicates();
    // Per ordered webhook, at most two attempts were in flight when the
    // process died: one on the wire, and one answered whose outcome its
    // writer had not committed yet. Those are sent again; nothing else is.
    assert!(duplicates <= 2 * HOOKS, "{duplicates} duplicates");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_process_stopped_with_sigterm_hands_its_lanes_over_without_a_duplicate() {
    let c = Cluster::start().await;
    let victim = c.owner_of_every_lane().await;
    requests(&c.rx, HOOKS * 3).await;
    c.procs[victim].signal("TERM");
    c.all_arrived().await;
    assert_eq!(c.check_order_and_count_duplicates(), 0, "no duplicates");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_process_frozen_past_its_lease_sends_nothing_when_it_wakes() {
    let c = Cluster::start().await;
    let victim = c.owner_of_every_lane().await;
    requests(&c.rx, HOOKS * 3).await;
    c.procs[victim].signal("STOP");
    let stopped_at = Instant::now();
    // Past its lease the others take its lanes over and carry on; then it
    // wakes, with its old window in memory.
    let past = stopped_at + Duration::from_millis(LEASE_MS);
    c.rx.wait_until(WAIT, |hits| {
        hits.iter().filter(|h| h.at > past).count() >= HOOKS
    })
    .await;
    // Taken before the signal: the woken process may finish its half-sent
    // request before `signal` returns, and that one is allowed (below).
    let woke_at = Instant::now();
    c.procs[victim].signal("CONT");
    c.all_arrived().await;
    // What was in flight when it froze was sent again at the takeover,
    // before it woke. Had the woken process sent anything from its old
    // window, events would arrive again after it woke. The one exception:
    // a request it was writing when it froze (half on the wire) arrives
    // whole as it wakes: at most one per webhook, at once.
    let mut woken: Vec<(usize, Instant)> = Vec::new();
    for h in 0..HOOKS {
        let hits = c.rx.hits(&format!("h{h}"));
        let n = |hit: &crate::receiver::Hit| hit.json()["n"].as_i64().unwrap();
        let again: Vec<(i64, Duration)> = hits
            .iter()
            .enumerate()
            .filter(|(i, hit)| hit.at > woke_at && hits[..*i].iter().any(|e| n(e) == n(hit)))
            .map(|(_, hit)| (n(hit), hit.at.duration_since(woke_at)))
            .collect();
        assert!(
            again.len() <= 1
                && again
                    .iter()
                    .all(|(_, after)| *after < Duration::from_millis(250)),
            "h{h}: events that arrived again after the frozen process woke: {again:?}"
        );
        woken.extend(again.iter().map(|(_, after)| (h, woke_at + *after)));
    }
    // That one request may overlap the new owner's to the same webhook:
    // just after the wake, once per webhook, with the requests on either
    // side of it (two pairs that share it). It may also be a first arrival
    // (the new owner was still re-sending an earlier event that the frozen
    // process had delivered but not yet recorded), so it is told by its
    // time, not by being a repeat.
    let mut overlapped: std::collections::HashMap<usize, (Instant, Instant)> =
        std::collections::HashMap::new();
    let just_after =
        |t: Instant| t > woke_at && t.duration_since(woke_at) < Duration::from_millis(250);
    let duplicates = c.check_order_and_count_duplicates_but(|h, a, b| {
        let woke = woken.contains(&(h, a.at))
            || woken.contains(&(h, b.at))
            || just_after(a.at)
            || just_after(b.at);
        if !woke {
            return false;
        }
        match overlapped.get(&h) {
            None => {
                overlapped.insert(h, (a.at, b.at));
                true
            }
            // The pair on the stray request's other side.
            Some(&(x, y)) => [x, y].contains(&a.at) || [x, y].contains(&b.at),
        }
    });
    assert!(duplicates <= 2 * HOOKS, "{duplicates} duplicates");
}

/// A process given another secret key than the one the database's secrets
/// were sealed with is refused at start, with a sentence saying what to do.
#[tokio::test]
async fn a_process_with_another_secret_key_is_refused() {
    let url = fresh_postgres_database().await;
    let first = start(&url, &[]).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_signpost"))
        .arg("worker")
        .env("SIGNPOST_DATABASE_URL", &url)
        .env(
            "SIGNPOST_SECRET_KEY",
            "YW5vdGhlciBrZXksIGFsc28gMzIgYnl0ZXMgbG9uZyE=",
        )
        .env("SIGNPOST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("same SIGNPOST_SECRET_KEY"), "{err}");
    drop(first);
}

/// A teammate signed in through one process is signed in on another.
#[tokio::test]
async fn a_session_made_on_one_process_works_on_another() {
    let url = fresh_postgres_database().await;
    let (a, b) = tokio::join!(start(&url, &[]), start(&url, &[]));
    let db = signpost::server::db::connect(&url).await.unwrap();
    let hash = signpost::server::auth::password::hash("correct horse battery".into())
        .await
        .unwrap();
    let created = signpost::server::db::users::create(
        &db,
        "admin@example.com",
        &hash,
        signpost::model::Role::Admin,
        true,
    )
    .await
    .unwrap();
    assert!(matches!(
        created,
        signpost::server::db::users::Created::Yes(_)
    ));
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let client = Client::builder()
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    let res = client
        .post(format!("{}/api/login", a.base))
        .form(&[
            ("email", "admin@example.com"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    // The cookie was set for 127.0.0.1; the other process is on another
    // port of the same host, so the same jar sends it there too.
    let res = client
        .post(format!("{}/api/me", b.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["email"], "admin@example.com", "{me}");
}
