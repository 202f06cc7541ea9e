//! What the metrics cost on the delivery path (issue 14): the exact calls
//! the engine makes per delivery and per publish call, timed over a
//! million rounds on one thread and on two at once (the attempts and the
//! writer run on different threads), against the time one delivery takes
//! at the delivery benchmark's rate.
//!
//!     cargo bench --features ssr --bench metrics
//!
//! Per delivery: its attempt's class counter, duration and first-attempt
//! latency (`attempt.rs`), its finished counter and success latency
//! (`writer.rs`). Per publish call: the waiting gauge and the HTTP
//! layer's counter and histogram by route (`handle.rs`, `endpoint.rs`).
//! The writer's commit figures are per commit (hundreds of deliveries)
//! and left out.

use signpost::server::metrics::{AttemptClass, Metrics};
use std::sync::Arc;
use std::time::Instant;

const ROUNDS: u32 = 1_000_000;
/// Deliveries per second of `bench/delivery.rs` (2) on this machine.
const DELIVERIES_PER_SECOND: f64 = 9_000.0;

fn per_delivery(m: &Metrics, i: u32) {
    let project = "Billing";
    m.attempts
        .with_label_values(&[project, AttemptClass::Success.as_str()])
        .inc();
    m.attempt_duration.observe(0.0004 + f64::from(i % 7) * 1e-4);
    m.first_attempt_latency.observe(0.002);
    m.deliveries_finished
        .with_label_values(&[project, "succeeded"])
        .inc();
    m.success_latency.observe(0.003);
}

fn per_publish(m: &Metrics) {
    m.publish_waiting.inc();
    let route = String::from("/projects/{pid}/events");
    m.http_duration
        .with_label_values(&[route.as_str(), "POST"])
        .observe(0.001);
    m.http_requests
        .with_label_values(&[route.as_str(), "POST", "202"])
        .inc();
    m.publish_waiting.dec();
}

fn time(threads: usize, f: impl Fn(&Metrics, u32) + Send + Sync + 'static) -> f64 {
    let m = Arc::new(Metrics::new());
    let f = Arc::new(f);
    let began = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (m, f) = (m.clone(), f.clone());
            std::thread::spawn(move || {
                for i in 0..ROUNDS {
                    f(&m, i);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    began.elapsed().as_nanos() as f64 / f64::from(ROUNDS)
}

fn main() {
    let budget_ns = 1e9 / DELIVERIES_PER_SECOND;
    for threads in [1, 2] {
        let d = time(threads, per_delivery);
        let p = time(threads, |m, _| per_publish(m));
        println!(
            "{threads} thread(s): per delivery {d:.0} ns, per publish call {p:.0} ns; \
             a delivery at {DELIVERIES_PER_SECOND:.0}/s takes {budget_ns:.0} ns: \
             metrics are {:.2}% of it (publish calls carry 50 deliveries: {:.3}% more)",
            100.0 * d / budget_ns,
            100.0 * p / 50.0 / budget_ns,
        );
    }
}
