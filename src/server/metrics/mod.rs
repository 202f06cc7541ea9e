//! What this process counts, for `GET /metrics` (docs/operations.md says
//! what each metric means). One registry per server, not a global one: the
//! integration tests run many servers in one process, and each must count
//! only its own.
//!
//! The engine and the HTTP layers only add to these; nothing here reads
//! the engine back. Gauges of state (the queue, what the worker holds) are
//! set when `/metrics` is read ([`endpoint`]).
//!
//! Labels stay few: per project (by name; projects are few), outcome,
//! class, route template, method and status. Never a delivery, event,
//! webhook or request id, nor a URL.

pub mod endpoint;

use prometheus::{
    GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry,
};
use std::collections::VecDeque;
use std::sync::Mutex;

/// Seconds, for how long one attempt or one HTTP request took.
const FAST: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Seconds, from an event's arrival to its delivery's first attempt.
const FIRST_ATTEMPT: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    300.0, 3600.0,
];
/// Seconds, from an event's arrival to its delivery's success (retries
/// included: up to days).
const END_TO_END: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0,
    86400.0, 259200.0,
];
/// Items (publish calls and attempt records) in one writer commit.
const GROUP: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0,
];

/// How many of the writer's last commits the System page shows.
pub const RECENT_COMMITS: usize = 20;

/// One writer commit, for the System page.
#[derive(Debug, Clone, Copy)]
pub struct Commit {
    /// Unix ms when it ended.
    pub at: i64,
    pub micros: u64,
    pub items: usize,
}

/// How an attempt ended, as counted by `signpost_attempts_total{class}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptClass {
    /// 2xx.
    Success,
    /// 408, 429 or 5xx: tried again (unless it was the last attempt).
    RetryableStatus,
    /// Any other status: the delivery fails.
    FinalStatus,
    Timeout,
    /// Could not connect, or the connection broke.
    ConnectionError,
    /// The URL guard refused the target: nothing was sent.
    GuardRefusal,
}

impl AttemptClass {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptClass::Success => "success",
            AttemptClass::RetryableStatus => "retryable_status",
            AttemptClass::FinalStatus => "final_status",
            AttemptClass::Timeout => "timeout",
            AttemptClass::ConnectionError => "connection_error",
            AttemptClass::GuardRefusal => "guard_refusal",
        }
    }
}

pub struct Metrics {
    registry: Registry,
    /// Every metric's name, as served.
    names: Vec<String>,
    // The engine.
    pub deliveries_finished: IntCounterVec,
    pub attempts: IntCounterVec,
    pub attempt_duration: Histogram,
    pub first_attempt_latency: Histogram,
    pub success_latency: Histogram,
    pub webhooks_auto_disabled: IntCounter,
    pub writer_commit_duration: Histogram,
    pub writer_group_size: Histogram,
    pub publish_waiting: IntGauge,
    pub publish_refused: IntCounter,
    // What the worker holds, set at each scrape.
    pub in_flight: IntGauge,
    pub in_flight_limit: IntGauge,
    pub held_deliveries: IntGauge,
    pub held_deliveries_limit: IntGauge,
    pub held_bytes: IntGauge,
    pub held_bytes_limit: IntGauge,
    // The queue, set at each scrape by one process of those sharing the
    // database (see `endpoint`).
    pub queue_deliveries: IntGaugeVec,
    pub queue_oldest_due: GaugeVec,
    pub webhooks_disabled: IntGaugeVec,
    pub queue_reporter: IntGauge,
    pub workers_live: IntGauge,
    // The HTTP server.
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub sign_in_failures: IntCounter,
    pub sign_in_throttled: IntCounter,
    /// The writer's last commits, newest last.
    recent_commits: Mutex<VecDeque<Commit>>,
}

/// Registers metrics and remembers their names (for [`Metrics::names`]).
struct Builder {
    registry: Registry,
    names: Vec<String>,
}

impl Builder {
    fn add<C: prometheus::core::Collector + Clone + 'static>(&mut self, c: C) -> C {
        self.register(Box::new(c.clone()));
        c
    }

    fn register(&mut self, c: Box<dyn prometheus::core::Collector>) {
        self.names
            .extend(c.desc().iter().map(|d| d.fq_name.clone()));
        self.registry.register(c).expect("registered once");
    }

    fn counter(&mut self, name: &str, help: &str) -> IntCounter {
        self.add(IntCounter::new(name, help).expect("a valid metric"))
    }

    fn counter_vec(&mut self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        self.add(IntCounterVec::new(Opts::new(name, help), labels).expect("a valid metric"))
    }

    fn gauge(&mut self, name: &str, help: &str) -> IntGauge {
        self.add(IntGauge::new(name, help).expect("a valid metric"))
    }

    fn gauge_vec(&mut self, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
        self.add(IntGaugeVec::new(Opts::new(name, help), labels).expect("a valid metric"))
    }

    fn histogram(&mut self, name: &str, help: &str, buckets: &[f64]) -> Histogram {
        let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
        self.add(Histogram::with_opts(opts).expect("a valid metric"))
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut r = Builder {
            registry: Registry::new(),
            names: Vec::new(),
        };
        let build = r.gauge_vec(
            "signpost_build_info",
            "The running version: always 1",
            &["version"],
        );
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        #[cfg(target_os = "linux")]
        r.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ));
        let queue_oldest_due = r.add(
            GaugeVec::new(
                Opts::new(
                    "signpost_queue_oldest_due_seconds",
                    "How long the oldest delivery that is due has waited since it became due \
                 (the lag), per project; 0 when nothing is due",
                ),
                &["project"],
            )
            .expect("a valid metric"),
        );
        let http_duration = r.add(
            HistogramVec::new(
                HistogramOpts::new(
                    "signpost_http_request_duration_seconds",
                    "How long requests took to answer, by route template and method",
                )
                .buckets(FAST.to_vec()),
                &["route", "method"],
            )
            .expect("a valid metric"),
        );
        Metrics {
            deliveries_finished: r.counter_vec(
                "signpost_deliveries_finished_total",
                "Deliveries that ended, by project and outcome (succeeded, failed, dropped, \
                 cancelled)",
                &["project", "outcome"],
            ),
            attempts: r.counter_vec(
                "signpost_attempts_total",
                "Delivery attempts, by project and class (success, retryable_status, \
                 final_status, timeout, connection_error, guard_refusal)",
                &["project", "class"],
            ),
            attempt_duration: r.histogram(
                "signpost_attempt_duration_seconds",
                "How long an attempt took, from sending to the receiver's answer (or the error)",
                FAST,
            ),
            first_attempt_latency: r.histogram(
                "signpost_first_attempt_latency_seconds",
                "From an event's arrival to the start of its delivery's first attempt",
                FIRST_ATTEMPT,
            ),
            success_latency: r.histogram(
                "signpost_delivery_success_latency_seconds",
                "From an event's arrival to its delivery's success, retries included",
                END_TO_END,
            ),
            webhooks_auto_disabled: r.counter(
                "signpost_webhooks_auto_disabled_total",
                "Webhooks this process disabled automatically after failing too long",
            ),
            writer_commit_duration: r.histogram(
                "signpost_writer_commit_duration_seconds",
                "How long one of the writer's group commits took",
                FAST,
            ),
            writer_group_size: r.histogram(
                "signpost_writer_group_size",
                "Publish calls and attempt records written in one commit",
                GROUP,
            ),
            publish_waiting: r.gauge(
                "signpost_publish_waiting",
                "Publish calls waiting for the writer to store them",
            ),
            publish_refused: r.counter(
                "signpost_publish_refused_total",
                "Publish calls refused with 503 because the writer was behind (back-pressure) \
                 or the database took no writes",
            ),
            in_flight: r.gauge(
                "signpost_attempts_in_flight",
                "Attempts this process has on the wire",
            ),
            in_flight_limit: r.gauge(
                "signpost_attempts_in_flight_limit",
                "The most attempts this process sends at once (--max-in-flight)",
            ),
            held_deliveries: r.gauge(
                "signpost_worker_held_deliveries",
                "Pending deliveries this process's worker holds in memory",
            ),
            held_deliveries_limit: r.gauge(
                "signpost_worker_held_deliveries_limit",
                "The most deliveries the worker holds in memory (--max-held-deliveries)",
            ),
            held_bytes: r.gauge(
                "signpost_worker_held_bytes",
                "Bytes of event bodies the worker holds in memory",
            ),
            held_bytes_limit: r.gauge(
                "signpost_worker_held_bytes_limit",
                "The most bytes of event bodies the worker holds (--max-held-bytes)",
            ),
            queue_deliveries: r.gauge_vec(
                "signpost_queue_deliveries",
                "Pending deliveries, per project: `due` now, or `retrying` (waiting for a \
                 retry later)",
                &["project", "state"],
            ),
            queue_oldest_due,
            webhooks_disabled: r.gauge_vec(
                "signpost_webhooks_disabled",
                "Webhooks now disabled automatically (not by a person), per project",
                &["project"],
            ),
            queue_reporter: r.gauge(
                "signpost_queue_reporter",
                "1 if this process reports the queue gauges (one process of those sharing a \
                 database does), else 0",
            ),
            workers_live: r.gauge(
                "signpost_workers_live",
                "Delivery workers with a live lease on this database (reported with the queue)",
            ),
            http_requests: r.counter_vec(
                "signpost_http_requests_total",
                "Requests answered, by route template, method and status",
                &["route", "method", "status"],
            ),
            http_duration,
            sign_in_failures: r.counter(
                "signpost_sign_in_failures_total",
                "Password checks that failed (sign-in and password change)",
            ),
            sign_in_throttled: r.counter(
                "signpost_sign_in_throttled_total",
                "Password checks refused (429) because an account or address failed too often",
            ),
            recent_commits: Mutex::new(VecDeque::with_capacity(RECENT_COMMITS)),
            registry: r.registry,
            names: r.names,
        }
    }

    /// Counts a commit of the writer.
    pub fn committed(&self, seconds: f64, items: usize) {
        self.writer_commit_duration.observe(seconds);
        self.writer_group_size.observe(items as f64);
        let mut recent = self.recent_commits.lock().expect("not poisoned");
        if recent.len() == RECENT_COMMITS {
            recent.pop_front();
        }
        recent.push_back(Commit {
            at: super::db::now_ms(),
            micros: (seconds * 1e6) as u64,
            items,
        });
    }

    /// The writer's last commits, newest last.
    pub fn recent_commits(&self) -> Vec<Commit> {
        self.recent_commits
            .lock()
            .expect("not poisoned")
            .iter()
            .copied()
            .collect()
    }

    /// The name of every metric this registry serves (once it has a value:
    /// a labelled metric with no series yet is left out of a scrape).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Every metric, in Prometheus' text format.
    pub fn encode(&self) -> String {
        let families = self.registry.gather();
        prometheus::TextEncoder::new()
            .encode_to_string(&families)
            .unwrap_or_else(|e| format!("# encoding failed: {e}\n"))
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Words of `text` that look like metric names (`signpost_…`, `process_…`).
    fn metric_names_in(text: &str) -> Vec<&str> {
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("signpost_") || w.starts_with("process_"))
            // `signpost_queue_*` names a family, not a metric.
            .filter(|w| !w.ends_with('_'))
            .collect()
    }

    #[test]
    fn the_docs_use_only_served_names_and_document_every_one() {
        let metrics = Metrics::new();
        let served: HashSet<&str> = metrics.names().iter().map(String::as_str).collect();
        assert!(served.contains("signpost_attempts_total"));
        assert!(served.contains("process_resident_memory_bytes"));
        let root = env!("CARGO_MANIFEST_DIR");
        let read = |file: &str| std::fs::read_to_string(format!("{root}/{file}")).unwrap();
        for file in [
            "docs/operations.md",
            "docs/grafana-dashboard.json",
            "docs/prometheus-alerts.yml",
        ] {
            let text = read(file);
            let used = metric_names_in(&text);
            assert!(!used.is_empty(), "{file} names no metric");
            for name in used {
                // A histogram's series: `_bucket`, `_count`, `_sum`.
                let base = ["_bucket", "_count", "_sum"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s).filter(|b| served.contains(b)))
                    .unwrap_or(name);
                assert!(
                    served.contains(base),
                    "{file} uses {name}, which is not served"
                );
            }
        }
        let ops = read("docs/operations.md");
        for name in &served {
            assert!(
                ops.contains(&format!("`{name}`")),
                "{name} is not in docs/operations.md"
            );
        }
    }

    #[test]
    fn a_scrape_is_the_text_format_with_help_and_type() {
        let m = Metrics::new();
        m.attempts
            .with_label_values(&["Billing \"EU\"", "success"])
            .inc();
        m.committed(0.002, 3);
        let text = m.encode();
        assert!(
            text.contains("# TYPE signpost_attempts_total counter"),
            "{text}"
        );
        assert!(
            text.contains(r#"signpost_attempts_total{class="success",project="Billing \"EU\""} 1"#),
            "{text}"
        );
        assert!(
            text.contains("signpost_writer_group_size_count 1"),
            "{text}"
        );
        assert_eq!(m.recent_commits()[0].items, 3);
    }
}
