//! `/metrics` (issue 14): real deliveries move the counters and histograms
//! by the right amounts; the endpoint needs its token on the main listener
//! and none on a listener of its own; no label carries an id; one process
//! of several reports the queue.

use crate::receiver::{Receiver, Reply};
use crate::support::{eventually, Api, TestServer, ADMIN_EMAIL};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

const TOKEN: &str = "metrics-token-for-tests";

/// One sample: a metric name, its labels, its value.
#[derive(Debug, Clone)]
struct Sample {
    metric: String,
    labels: Vec<(String, String)>,
    value: f64,
}

impl Sample {
    fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One scrape, parsed by the text format's rules
/// (prometheus.io/docs/instrumenting/exposition_formats): `name`,
/// optionally `{label="value",…}` with `\\`, `\"` and `\n` escaped in
/// values, then the value. The crates that parse it split labels on `,`
/// and `=`, which a project's name may hold.
#[derive(Debug, Clone)]
struct Metrics(Vec<Sample>);

impl Metrics {
    fn parse(text: &str) -> Metrics {
        let samples = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| parse_line(l).unwrap_or_else(|| panic!("not the text format: {l}")))
            .collect();
        Metrics(samples)
    }

    /// The samples of `name` whose labels include all of `labels`.
    fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.0
            .iter()
            .filter(move |s| s.metric == name && labels.iter().all(|(k, v)| s.label(k) == Some(*v)))
    }

    /// The sum of the samples of `name` that match (0 if none).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels).map(|s| s.value).sum()
    }

    /// How many observations a histogram holds.
    fn observations(&self, name: &str) -> f64 {
        let count = format!("{name}_count");
        assert!(self.has(&count), "no histogram {name}");
        self.value(&count, &[])
    }

    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|s| s.metric == name)
    }
}

fn parse_line(line: &str) -> Option<Sample> {
    let name_end = line.find(['{', ' '])?;
    let metric = line[..name_end].to_string();
    let mut chars = line[name_end..].chars().peekable();
    let mut labels = Vec::new();
    if chars.peek() == Some(&'{') {
        chars.next();
        loop {
            match chars.peek()? {
                '}' => {
                    chars.next();
                    break;
                }
                ',' => {
                    chars.next();
                    continue;
                }
                _ => {}
            }
            let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
            if chars.next()? != '"' {
                return None;
            }
            let mut value = String::new();
            loop {
                match chars.next()? {
                    '\\' => match chars.next()? {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    '"' => break,
                    c => value.push(c),
                }
            }
            labels.push((name, value));
        }
    }
    let rest: String = chars.collect();
    let value = match rest.split_whitespace().next()? {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some(Sample {
        metric,
        labels,
        value,
    })
}

async fn scrape_with(server: &TestServer, token: Option<&str>) -> reqwest::Response {
    let mut req = server.client().get(server.url("/metrics"));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap()
}

async fn scrape(server: &TestServer) -> Metrics {
    let res = scrape_with(server, Some(TOKEN)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let ctype = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    Metrics::parse(&res.text().await.unwrap())
}

#[tokio::test]
async fn deliveries_move_the_counters_and_histograms_by_the_right_amounts() {
    // A host that resolves to a public address when the webhook is
    // registered and to loopback later: the guard refuses it at delivery.
    let dns = crate::support::Rebinding::new("rebind.example.com", "93.184.215.14");
    let s = Api::new(|c| {
        c.metrics_token = Some(TOKEN.into());
        c.delivery.retry_base_ms = 20;
        c.resolver = dns.resolver();
    })
    .await;
    let rx = Receiver::start().await;
    rx.script("/flaky", vec![Reply::Status(500)]);
    rx.otherwise("/bad", Reply::Status(400));
    s.register(&rx.url("/ok"), json!({})).await;
    s.register(&rx.url("/flaky"), json!({})).await;
    s.register(&rx.url("/bad"), json!({})).await;
    s.register("https://rebind.example.com/hook", json!({}))
        .await;
    dns.point("rebind.example.com", "127.0.0.2");

    let before = scrape(&s.server).await;
    assert_eq!(before.value("signpost_deliveries_finished_total", &[]), 0.0);
    s.publish(json!({ "event": "order.paid", "data": { "n": 1 } }))
        .await;

    // A scrape reads the queue before it encodes the counters, so a commit
    // between the two can show a delivery finished and still pending: wait
    // for both.
    let settled = |m: &Metrics| {
        m.value("signpost_deliveries_finished_total", &[]) >= 4.0
            && m.value("signpost_queue_deliveries", &[]) == 0.0
    };
    let m = eventually(|| scrape(&s.server), settled).await;
    let project = ("project", "Deliveries");
    let finished = |outcome| {
        m.value(
            "signpost_deliveries_finished_total",
            &[project, ("outcome", outcome)],
        )
    };
    assert_eq!(finished("succeeded"), 2.0, "/ok and /flaky");
    assert_eq!(finished("failed"), 1.0, "/bad");
    assert_eq!(finished("dropped"), 1.0, "the refused host");
    assert_eq!(m.value("signpost_deliveries_finished_total", &[]), 4.0);
    let attempts = |class| m.value("signpost_attempts_total", &[project, ("class", class)]);
    assert_eq!(attempts("success"), 2.0);
    assert_eq!(attempts("retryable_status"), 1.0);
    assert_eq!(attempts("final_status"), 1.0);
    assert_eq!(attempts("guard_refusal"), 1.0);
    assert_eq!(attempts("timeout") + attempts("connection_error"), 0.0);
    // Five attempts in all; four deliveries had a first one; two succeeded.
    assert_eq!(m.observations("signpost_attempt_duration_seconds"), 5.0);
    assert_eq!(
        m.observations("signpost_first_attempt_latency_seconds"),
        4.0
    );
    assert_eq!(
        m.observations("signpost_delivery_success_latency_seconds"),
        2.0
    );
    assert!(m.observations("signpost_writer_commit_duration_seconds") >= 1.0);
    // The publish call, by its route's template.
    let routes: Vec<_> = m.matching("signpost_http_requests_total", &[]).collect();
    assert_eq!(
        m.value(
            "signpost_http_requests_total",
            &[
                ("route", "/projects/{pid}/events"),
                ("method", "POST"),
                ("status", "202")
            ]
        ),
        1.0,
        "{routes:#?}"
    );
    // Nothing is left in the queue; the worker holds nothing.
    assert_eq!(m.value("signpost_queue_deliveries", &[]), 0.0);
    assert_eq!(m.value("signpost_queue_reporter", &[]), 1.0);
    assert_eq!(m.value("signpost_workers_live", &[]), 1.0);
    let limit = s.server.state.config.delivery.max_in_flight as f64;
    assert_eq!(m.value("signpost_attempts_in_flight_limit", &[]), limit);
    // The process collector (Linux).
    assert!(m.value("process_resident_memory_bytes", &[]) > 0.0);
    assert!(m.has("process_open_fds"));
    assert!(m.has("process_cpu_seconds_total"));
    assert_eq!(
        m.value(
            "signpost_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    // No label carries an id (project, webhook, delivery, event, request)
    // or a URL.
    let ids = [
        "prj_", "whk_", "wh_", "dlv_", "evt_", "msg_", "http://", "https://",
    ];
    for sample in &m.0 {
        for (name, value) in &sample.labels {
            assert!(
                !ids.iter().any(|id| value.contains(id)) && !looks_like_uuid(value),
                "{}{{{name}=\"{value}\"}}",
                sample.metric
            );
        }
    }
}

fn looks_like_uuid(v: &str) -> bool {
    let hex = v.chars().filter(|c| c.is_ascii_hexdigit()).count();
    v.len() >= 32 && hex >= 32
}

#[tokio::test]
async fn the_queue_gauges_show_what_is_due_and_what_waits_for_a_retry() {
    let s = Api::new(|c| {
        c.metrics_token = Some(TOKEN.into());
        // A retry waits long enough to be seen waiting.
        c.delivery.retry_base_ms = 600_000;
        c.delivery.retry_max_ms = 600_000;
    })
    .await;
    let rx = Receiver::start().await;
    // One webhook fails once (then waits for its retry); another answers
    // its first delivery slowly, so that its second is due meanwhile.
    rx.script("/down", vec![Reply::Status(503)]);
    rx.script("/slow", vec![Reply::After(Duration::from_secs(3), 200)]);
    s.register(&rx.url("/down"), json!({ "events": ["down"] }))
        .await;
    s.register(&rx.url("/slow"), json!({ "events": ["slow"] }))
        .await;
    s.publish(json!({ "event": "down" })).await;
    s.publish(json!({ "event": "slow" })).await;
    rx.wait_for("/slow", 1, Duration::from_secs(10)).await;
    s.publish(json!({ "event": "slow" })).await;
    let m = eventually(
        || scrape(&s.server),
        |m| {
            m.value("signpost_queue_deliveries", &[("state", "retrying")]) == 1.0
                && m.value("signpost_queue_deliveries", &[("state", "due")]) == 2.0
        },
    )
    .await;
    // The slow one in flight and the one behind it are due; the lag is
    // how long the older has waited since it became due.
    assert_eq!(
        m.value(
            "signpost_queue_deliveries",
            &[("project", "Deliveries"), ("state", "due")]
        ),
        2.0
    );
    let lag = m.value(
        "signpost_queue_oldest_due_seconds",
        &[("project", "Deliveries")],
    );
    assert!(lag > 0.0 && lag < 60.0, "{lag}");
    assert_eq!(m.value("signpost_attempts_in_flight", &[]), 1.0);
    assert!(m.value("signpost_worker_held_deliveries", &[]) >= 2.0);
}

#[tokio::test]
async fn metrics_on_the_main_listener_need_the_token() {
    let s = TestServer::start_with(|c| c.metrics_token = Some(TOKEN.into())).await;
    let none = scrape_with(&s, None).await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert!(none.headers().contains_key("www-authenticate"));
    let wrong = scrape_with(&s, Some("metrics-token-for-tests-but-not")).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(scrape_with(&s, Some(TOKEN)).await.status(), StatusCode::OK);

    // Without a token configured, the main listener has no /metrics.
    let plain = TestServer::start().await;
    assert_no_metrics_on_main(&plain).await;
}

#[tokio::test]
async fn metrics_on_their_own_address_need_no_token() {
    let s = TestServer::start_with(|c| c.metrics_addr = Some("127.0.0.1:0".parse().unwrap())).await;
    let addr = *s
        .state
        .metrics_addr
        .get()
        .expect("the metrics listener is up");
    let res = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let m = Metrics::parse(&res.text().await.unwrap());
    assert!(m.has("signpost_build_info"));
    // Only /metrics there.
    let res = reqwest::get(format!("http://{addr}/login")).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // And not on the main listener.
    assert_no_metrics_on_main(&s).await;
}

/// `/metrics` on the main listener is the dashboard's, like any unknown
/// page (a sign-in redirect for a stranger), not the metrics.
async fn assert_no_metrics_on_main(s: &TestServer) {
    let res = s.client().get(s.url("/metrics")).send().await.unwrap();
    assert_ne!(res.status(), StatusCode::OK);
    let body = res.text().await.unwrap();
    assert!(!body.contains("signpost_build_info"), "{body}");
}

#[tokio::test]
async fn sign_in_failures_and_throttles_are_counted() {
    let (s, _admin) =
        TestServer::with_admin_signed_in(|c| c.metrics_token = Some(TOKEN.into())).await;
    let client = s.client();
    let mut throttled = false;
    for _ in 0..20 {
        let res = s.login(&client, ADMIN_EMAIL, "not the password").await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            throttled = true;
            break;
        }
    }
    assert!(throttled, "20 wrong passwords were never throttled");
    let m = scrape(&s).await;
    let failures = m.value("signpost_sign_in_failures_total", &[]);
    assert!(failures >= 1.0, "{failures}");
    assert_eq!(m.value("signpost_sign_in_throttled_total", &[]), 1.0);
    // The sign-in server function, by its route (it has no id in it).
    assert!(m.value("signpost_http_requests_total", &[("status", "429")]) >= 1.0);
    assert_eq!(
        m.value(
            "signpost_http_requests_total",
            &[("route", "/api/login"), ("status", "429")]
        ),
        1.0
    );
}

#[tokio::test]
async fn requests_are_counted_by_route_template_never_by_raw_path() {
    let s = TestServer::start_with(|c| c.metrics_token = Some(TOKEN.into())).await;
    let client = s.client();
    for path in [
        "/projects/prj_made_up/webhooks",
        "/pkg/nothing.js",
        "/made/up/path",
    ] {
        client.get(s.url(path)).send().await.unwrap();
    }
    let m = scrape(&s).await;
    let get = |route| {
        m.value(
            "signpost_http_requests_total",
            &[("route", route), ("method", "GET")],
        )
    };
    assert_eq!(get("/projects/{pid}/webhooks"), 1.0);
    assert_eq!(get("static"), 1.0);
    assert_eq!(get("unmatched"), 1.0);
    for sample in m.matching("signpost_http_requests_total", &[]) {
        let route = sample.label("route").unwrap();
        assert!(
            !route.contains("made") && !route.contains("nothing"),
            "{route}"
        );
    }
}

#[tokio::test]
async fn one_process_of_several_reports_the_queue() {
    let a = Api::new(|c| c.metrics_token = Some(TOKEN.into())).await;
    let b = a.beside(|c| c.metrics_token = Some(TOKEN.into())).await;
    let reporters = eventually(
        || async {
            let ma = scrape(&a.server).await;
            let mb = scrape(&b.server).await;
            (
                ma.value("signpost_queue_reporter", &[]),
                mb.value("signpost_queue_reporter", &[]),
                ma.value("signpost_workers_live", &[]) + mb.value("signpost_workers_live", &[]),
            )
        },
        |(ra, rb, live)| ra + rb == 1.0 && *live == 2.0,
    )
    .await;
    assert_eq!(reporters.0 + reporters.1, 1.0);
}

#[test]
fn the_parser_reads_labels_the_way_the_format_escapes_them() {
    let s = parse_line(r#"m_total{project="Billing, \"EU\" = 1",route="/p/{pid}",x="a\\b\nc"} 3"#)
        .unwrap();
    assert_eq!(s.metric, "m_total");
    assert_eq!(s.label("project"), Some(r#"Billing, "EU" = 1"#));
    assert_eq!(s.label("route"), Some("/p/{pid}"));
    assert_eq!(s.label("x"), Some("a\\b\nc"));
    assert_eq!(s.value, 3.0);
    assert_eq!(parse_line("up 1").unwrap().labels.len(), 0);
    assert!(parse_line(r#"bad{a="unterminated} 1"#).is_none());
}
