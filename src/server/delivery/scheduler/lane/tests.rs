//! The lane's logic, case by case: reads, keys, order, pace.

use super::*;
use crate::server::db::deliveries::WindowRow;
use crate::server::delivery::budget::Budget;
use std::time::Duration;

pub fn limits() -> Limits {
    Limits {
        max_in_flight: 100,
        unordered_concurrency: 3,
        lane_window: 4,
        max_event_bytes: 1000,
        shutdown_grace: Duration::ZERO,
    }
}

fn pace(unordered: bool, keyed: bool, n: Option<u16>) -> Pace {
    Pace {
        unordered,
        keyed,
        max_concurrency: n,
        rate_limit: None,
        version: 0,
    }
}

pub fn queued(seq: i64, key: &str) -> Queued {
    Queued {
        seq,
        id: format!("dlv_{seq}"),
        webhook_id: "wh".into(),
        event_id: "evt".into(),
        event: None,
        attempts: 0,
        next_at: 0,
        created_at: 0,
        key: key.into(),
        pace: pace(false, false, None),
    }
}

pub fn row(seq: i64, key: &str) -> WindowRow {
    row_at(seq, key, None)
}

/// A row of a webhook whose concurrency is set to `n`.
pub fn row_at(seq: i64, key: &str, n: Option<i64>) -> WindowRow {
    WindowRow {
        seq,
        id: format!("dlv_{seq}"),
        event_id: "evt".into(),
        event: "e".into(),
        attempts: 0,
        next_at: 0,
        created_at: 0,
        body: Some(b"{}".to_vec()),
        ordering_key: key.into(),
        ordering: crate::model::Ordering::Ordered,
        keyed: !key.is_empty(),
        max_concurrency: n,
        rate_limit: None,
        pace_version: 0,
    }
}

fn seqs(lane: &Lane) -> Vec<i64> {
    lane.window.keys().copied().collect()
}

fn started(p: &Picked) -> Vec<i64> {
    p.start.iter().map(|q| q.seq).collect()
}

/// A lane that has read everything up to `cursor`, holding `entries`.
fn lane_with(p: Pace, entries: &[(i64, &str)], cursor: i64) -> Lane {
    let mut lane = Lane::new(1);
    lane.set_pace(p);
    for (seq, key) in entries {
        let mut q = queued(*seq, key);
        q.pace = p;
        lane.insert(q);
    }
    lane.tail_unknown = false;
    lane.cursor = cursor;
    lane.tail = cursor;
    lane
}

#[test]
fn an_ordered_lane_retrying_its_head_keeps_the_head_alone() {
    let mut lane = lane_with(pace(false, false, None), &[(3, ""), (5, ""), (8, "")], 8);
    lane.get_mut(3).unwrap().running = true;
    assert_eq!(lane.retry_later(3, 1, 500), 2);
    assert_eq!(seqs(&lane), vec![3]);
    // What was cut goes back to the database: the key is parked at the
    // head (just before the first that went back).
    assert_eq!(lane.keys[""].parked, Some(4));
    assert_eq!((lane.waiting, lane.busy()), (1, 0));
    assert!(lane.complete(), "the cursor never goes back");
    assert!(!lane.idle());
    // Nothing is read behind a head that waits for its retry.
    assert_eq!(lane.wants_read(&limits()), None);
    // Nothing is cut from an unordered lane.
    let mut other = lane_with(pace(true, false, None), &[(1, ""), (2, "")], 2);
    assert_eq!(other.retry_later(1, 1, 500), 0);
    assert_eq!(seqs(&other), vec![1, 2]);
}

#[test]
fn a_lane_is_complete_once_its_window_reaches_its_tail() {
    let mut lane = Lane::new(1);
    assert!(!lane.complete(), "a new lane reads the database first");
    lane.tail_unknown = false;
    lane.tail = 10;
    lane.cursor = 9;
    assert!(!lane.complete());
    lane.cursor = 10;
    assert!(lane.complete());
    assert!(lane.idle());
}

#[test]
fn a_general_read_fills_the_window_and_a_short_one_completes_the_lane() {
    let budget = Budget::new(100, 1 << 20);
    let limits = limits();
    let wh: Arc<str> = "wh".into();
    let mut lane = Lane::new(1);
    // A new lane reads up to its capacity (1 in flight + 4 ahead).
    let want = lane.wants_read(&limits);
    assert_eq!(want, Some(Want::General { n: 5, skip: vec![] }));
    lane.reading = true;
    assert_eq!(lane.wants_read(&limits), None, "one read at a time");
    lane.reading = false;
    let rows = (1..=5).map(|s| row(s, "")).collect();
    let taken = lane.general_read(&wh, rows, 5, 0, &limits, &budget);
    assert_eq!((taken, lane.cursor, lane.tail), (5, 5, 5));
    assert!(!lane.complete(), "a full read may have left more behind");
    assert_eq!(lane.wants_read(&limits), None, "the window is full");
    // Drained below half: read again; a short read finds the end.
    for s in 1..=3 {
        lane.remove(s);
    }
    assert!(matches!(
        lane.wants_read(&limits),
        Some(Want::General { n: 3, .. })
    ));
    lane.cancelled_while_reading.push(7);
    let taken = lane.general_read(&wh, vec![row(6, ""), row(7, "")], 3, 9, &limits, &budget);
    assert_eq!(taken, 1, "one cancelled while it was read");
    assert_eq!(seqs(&lane), vec![4, 5, 6]);
    assert_eq!(lane.cursor, 9, "what the lane had by then is all read");
    assert!(lane.complete());
    assert_eq!(lane.wants_read(&limits), None);
    // Rows at or before the cursor were taken already (from the writer).
    lane.tail = 11;
    let rows = vec![row(9, ""), row(10, ""), row(11, "")];
    let taken = lane.general_read(&wh, rows, 3, 11, &limits, &budget);
    assert_eq!((taken, lane.cursor), (2, 11));
}

#[test]
fn an_ordered_lane_starts_its_oldest_only_and_an_unordered_one_up_to_its_limit() {
    let limits = limits();
    let entries: Vec<(i64, &str)> = (1..=5).map(|s| (s, "")).collect();
    let mut lane = lane_with(pace(false, false, None), &entries, 5);
    let p = lane.pick(0, &limits, 100, |_| true);
    assert_eq!(started(&p), vec![1]);
    assert_eq!(p.reads, 1);
    assert!(lane.pick(0, &limits, 100, |_| true).start.is_empty());

    let mut lane = lane_with(pace(true, false, None), &entries, 5);
    // The second waits for a retry: the others pass it.
    lane.get_mut(2).unwrap().q.next_at = 50;
    let p = lane.pick(10, &limits, 100, |_| true);
    assert_eq!(started(&p), vec![1, 3, 4]);
    assert_eq!((p.wait_until, lane.in_flight), (Some(50), 3));
}

#[test]
fn a_lane_without_a_global_slot_or_room_for_a_body_is_blocked() {
    let limits = limits();
    let mut lane = lane_with(pace(true, false, None), &[(1, ""), (2, ""), (3, "")], 3);
    let p = lane.pick(0, &limits, 1, |_| true);
    assert_eq!((p.start.len(), p.blocked), (1, true));
    // Only one body read fits: the next one waits.
    let p = lane.pick(0, &limits, 10, |k| k == 0);
    assert_eq!((p.start.len(), p.blocked), (1, true));
}

#[test]
fn keys_go_in_parallel_each_in_order() {
    let limits = limits();
    let keyed = pace(false, true, Some(3));
    let entries = [(1, "a"), (2, "a"), (3, "b"), (4, "c"), (5, "b"), (6, "d")];
    let mut lane = lane_with(keyed, &entries, 6);
    // The oldest of a, b and c; d waits for a slot (limit 3).
    let p = lane.pick(0, &limits, 100, |_| true);
    assert_eq!(started(&p), vec![1, 3, 4]);
    // b's next waits for b's first, even with a slot free.
    lane.remove(4);
    lane.in_flight -= 1;
    let p = lane.pick(0, &limits, 100, |_| true);
    assert_eq!(started(&p), vec![6]);
    // a's first waits for a retry: a's second stays behind it (back to
    // the database), and the other keys go on.
    lane.in_flight -= 1;
    assert_eq!(lane.retry_later(1, 1, 100), 1);
    assert_eq!(seqs(&lane), vec![1, 3, 5, 6]);
    assert_eq!(lane.keys[&Arc::from("a")].parked, Some(1));
    lane.remove(3);
    lane.in_flight -= 1;
    let p = lane.pick(10, &limits, 100, |_| true);
    assert_eq!(started(&p), vec![5]);
    assert_eq!(p.wait_until, Some(100));
}

#[test]
fn a_read_goes_past_a_key_that_has_its_share_and_comes_back_for_it() {
    let row2 = |s, k| row_at(s, k, Some(2));
    let budget = Budget::new(100, 1 << 20);
    let limits = limits();
    let wh: Arc<str> = "wh".into();
    // 2 at once + 4 read ahead: a key may hold 3.
    let mut lane = lane_with(pace(false, true, Some(2)), &[], 0);
    lane.tail_unknown = true;
    let Some(Want::General { n, skip }) = lane.wants_read(&limits) else {
        panic!("a new lane reads");
    };
    assert_eq!((n, skip.len()), (6, 0));
    let rows = vec![
        row2(1, "a"),
        row2(2, "a"),
        row2(3, "a"),
        row2(4, "a"),
        row2(5, "b"),
        row2(6, "a"),
    ];
    let taken = lane.general_read(&wh, rows, 6, 20, &limits, &budget);
    assert_eq!(taken, 4);
    assert_eq!(
        seqs(&lane),
        vec![1, 2, 3, 5],
        "a's fourth and later stay behind"
    );
    assert_eq!(lane.keys[&Arc::from("a")].parked, Some(3));
    // b is done: the next read leaves a out.
    lane.remove(5);
    let Some(Want::General { n, skip }) = lane.wants_read(&limits) else {
        panic!("the window is half empty");
    };
    assert_eq!((n, skip), (3, vec![Arc::from("a")]));
    let taken = lane.general_read(&wh, vec![row2(7, "c")], 3, 20, &limits, &budget);
    assert_eq!((taken, lane.cursor), (1, 20));
    assert!(lane.complete());
    // a drains to one entry: read again, after 3, up to the cursor.
    lane.remove(1);
    lane.remove(2);
    let Some(Want::Keys { keys, per_key }) = lane.wants_read(&limits) else {
        panic!("a is read again");
    };
    assert_eq!((keys, per_key), (vec![(Arc::from("a"), 3)], 3));
    lane.reading = true;
    // A new delivery of a meanwhile stays behind too.
    let mut late = queued(21, "a");
    late.pace = lane.pace;
    assert!(!lane.committed(late, true, &limits));
    assert_eq!(lane.cursor, 21);
    lane.reading = false;
    let asked = [(Arc::from("a"), 3)];
    let rows = vec![row2(4, "a"), row2(6, "a")];
    let taken = lane.keys_read(
        &wh,
        rows,
        &KeysRead {
            keys: asked.to_vec(),
            per_key: 3,
            upto: 20,
        },
        &limits,
        &budget,
    );
    assert_eq!(taken, 2);
    assert_eq!(seqs(&lane), vec![3, 4, 6, 7]);
    // Short, but the cursor moved on (21): still parked, from 20.
    assert_eq!(lane.keys[&Arc::from("a")].parked, Some(20));
    for s in [3, 4, 6] {
        lane.remove(s);
    }
    let asked = [(Arc::from("a"), 20)];
    let taken = lane.keys_read(
        &wh,
        vec![row2(21, "a")],
        &KeysRead {
            keys: asked.to_vec(),
            per_key: 3,
            upto: 21,
        },
        &limits,
        &budget,
    );
    assert_eq!(taken, 1);
    let a = lane.keys[&Arc::from("a")];
    assert_eq!((a.held, a.parked), (1, None));
    assert_eq!(seqs(&lane), vec![7, 21]);
}

#[test]
fn a_read_of_a_key_parked_elsewhere_meanwhile_is_dropped() {
    let budget = Budget::new(100, 1 << 20);
    let limits = limits();
    let wh: Arc<str> = "wh".into();
    let mut lane = lane_with(pace(false, true, Some(2)), &[(5, "a")], 10);
    // Asked after 7; a's oldest went back to waiting for a retry since.
    lane.keys.get_mut("a").unwrap().parked = Some(5);
    let asked = [(Arc::from("a"), 7)];
    let taken = lane.keys_read(
        &wh,
        vec![row(8, "a")],
        &KeysRead {
            keys: asked.to_vec(),
            per_key: 3,
            upto: 10,
        },
        &limits,
        &budget,
    );
    assert_eq!(taken, 0);
    assert_eq!(lane.keys[&Arc::from("a")].parked, Some(5));
}

#[test]
fn a_parked_key_comes_back_though_other_keys_move_the_cursor() {
    let budget = Budget::new(100, 1 << 20);
    let limits = limits();
    let wh: Arc<str> = "wh".into();
    let keyed = pace(false, true, Some(2));
    let mut lane = lane_with(keyed, &[], 10);
    lane.keys.insert(
        "a".into(),
        Key {
            held: 0,
            parked: Some(8),
            left: 9,
        },
    );
    lane.reading = true;
    // While a's read is under way, b's delivery moves the cursor.
    let mut b = queued(11, "b");
    b.pace = keyed;
    assert!(lane.committed(b, true, &limits));
    lane.reading = false;
    let read = KeysRead {
        keys: vec![("a".into(), 8)],
        per_key: 3,
        upto: 10,
    };
    let taken = lane.keys_read(&wh, vec![row_at(9, "a", Some(2))], &read, &limits, &budget);
    assert_eq!(taken, 1);
    // Nothing of a was left past 10: it is all in the window.
    assert_eq!(lane.keys[&Arc::from("a")].parked, None);
}

#[test]
fn deliveries_waiting_for_retries_do_not_keep_other_keys_out() {
    let limits = limits();
    let keyed = pace(false, true, Some(2));
    // Capacity 6: six keys whose one delivery each waits for a retry.
    let entries: Vec<(i64, String)> = (1..=6).map(|s| (s, format!("k{s}"))).collect();
    let refs: Vec<(i64, &str)> = entries.iter().map(|(s, k)| (*s, k.as_str())).collect();
    let mut lane = lane_with(keyed, &refs, 6);
    for s in 1..=6 {
        lane.get_mut(s).unwrap().running = true;
        lane.retry_later(s, 1, 10_000);
    }
    lane.tail = 100;
    // The window still reads past them, up to twice its capacity.
    assert_eq!(
        lane.wants_read(&limits),
        Some(Want::General { n: 6, skip: vec![] })
    );
    // And an unordered lane's key reads stay within its window.
    let mut unordered = lane_with(pace(true, false, None), &[], 50);
    unordered.keys.insert(
        "a".into(),
        Key {
            held: 0,
            parked: Some(0),
            left: 50,
        },
    );
    let Some(Want::Keys { per_key, keys }) = unordered.wants_read(&limits) else {
        panic!("the parked key is read");
    };
    assert!(per_key * keys.len() <= unordered.capacity(&limits));
}

#[test]
fn an_older_reading_of_the_pace_changes_nothing() {
    let mut lane = Lane::new(1);
    let mut newer = pace(false, true, Some(4));
    newer.version = 20;
    lane.set_pace(newer);
    let mut older = pace(true, false, None);
    older.version = 10;
    lane.set_pace(older);
    assert_eq!(lane.pace, newer);
    assert_eq!(lane.limit(&limits()), 4);
}

#[test]
fn many_keys_cost_no_more_than_the_window() {
    let budget = Budget::new(1_000_000, 1 << 30);
    let limits = limits();
    let wh: Arc<str> = "wh".into();
    let mut lane = lane_with(pace(false, true, Some(4)), &[], 0);
    lane.tail_unknown = true;
    let mut next = 1;
    let mut reads = 0;
    // Every delivery of its own key: windows come and go, keys with
    // nothing held are forgotten.
    while next <= 100_000 {
        let Some(Want::General { n, .. }) = lane.wants_read(&limits) else {
            let p = lane.pick(0, &limits, 100, |_| true);
            for q in p.start {
                lane.remove(q.seq);
                lane.in_flight -= 1;
            }
            continue;
        };
        let rows: Vec<WindowRow> = (next..next + n as i64)
            .map(|s| row_at(s, &format!("k{s}"), Some(4)))
            .collect();
        next += n as i64;
        lane.general_read(&wh, rows, n, 2_000_000, &limits, &budget);
        reads += 1;
        assert!(lane.len() <= lane.capacity(&limits));
        assert!(lane.keys.len() <= lane.capacity(&limits));
    }
    assert!(reads > 10_000);
}

#[test]
fn the_rate_limit_spaces_starts_and_a_pause_holds_them() {
    let limits = limits();
    let mut p = pace(true, false, Some(100));
    p.rate_limit = Some(10.0);
    let entries: Vec<(i64, &str)> = (1..=5).map(|s| (s, "")).collect();
    let mut lane = lane_with(p, &entries, 5);
    let picked = lane.pick(0, &limits, 100, |_| true);
    assert_eq!(started(&picked), vec![1], "a bucket of one");
    let wait = picked.wait_until.expect("the next in about 100 ms");
    assert!((90..=101).contains(&wait), "{wait}");
    lane.paused_until = 5_000;
    let picked = lane.pick(1_000, &limits, 100, |_| true);
    assert!(picked.start.is_empty());
    assert_eq!(picked.wait_until, Some(5_000));
}

#[test]
fn a_rate_too_small_for_a_period_is_no_limiter_not_a_panic() {
    assert!(super::limiter::Limiter::new(1e-300).is_none());
    assert!(super::limiter::Limiter::new(0.001).is_some());
}
