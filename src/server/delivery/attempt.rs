//! One attempt: read the webhook, check the URL, sign, POST, classify, and
//! hand the record to the writer. The scheduler gets the [`Done`] back.

use super::budget::Budget;
use super::client::{user_agent, GuardError};
use super::messages::{Done, EventData, Queued, Record, ToWriter, Tracking, Turn};
use super::policy::{parse_retry_after, Class as PolicyClass, Next, Outcome, RetryPolicy};
use super::targets::{TargetError, Targets};
use crate::model::{DeliveryStatus, Scheme};
use crate::server::db::{self, attempts::AttemptRow, deliveries::DeliveryUpdate, now_ms, Db};
use crate::server::metrics::{AttemptClass, Metrics};
use rand::Rng;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;

/// Bytes of a response body kept in the attempt record.
pub const BODY_EXCERPT: usize = 4096;
/// Bytes of a response body read in all, so that the connection can be reused.
const BODY_DRAIN: usize = 64 * 1024;
/// Bytes of response headers kept in the attempt record (names and values),
/// and of any one value.
pub const HEADERS_KEPT: usize = 8 * 1024;
const HEADER_VALUE_KEPT: usize = 1024;

/// A response's headers as the attempt record keeps them: JSON pairs, each
/// value cut at 1 KiB, at most 8 KiB in all; what is left out is counted
/// in a last pair.
fn kept_headers<'a>(headers: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut kept: Vec<(&str, &str)> = Vec::new();
    let (mut size, mut left_out) = (0, 0);
    for (name, value) in headers {
        let mut end = value.len().min(HEADER_VALUE_KEPT);
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        let value = &value[..end];
        if size + name.len() + value.len() > HEADERS_KEPT {
            left_out += 1;
            continue;
        }
        size += name.len() + value.len();
        kept.push((name, value));
    }
    let note = format!("{left_out} more headers, not kept");
    if left_out > 0 {
        kept.push(("…", &note));
    }
    serde_json::to_string(&kept).expect("strings serialize")
}

/// What every attempt shares.
pub(crate) struct Attempts {
    pub client: reqwest::Client,
    pub policy: RetryPolicy,
    pub targets: Targets,
    /// For reads (is the delivery still pending? its event, if not in memory).
    pub db: Db,
    pub budget: Arc<Budget>,
    /// Bounded: while the writer is behind, an attempt waits here, holding
    /// its slot, so that no more start.
    pub to_writer: mpsc::Sender<ToWriter>,
    pub worker_id: Arc<super::handle::WorkerId>,
    /// Until when this worker may send ([`super::lease::Validity`]).
    pub validity: Arc<super::lease::Validity>,
    pub metrics: Arc<Metrics>,
}

/// What was sent and what came back.
struct Exchange {
    outcome: Outcome,
    status: Option<u16>,
    response_headers: Option<String>,
    response_body: Option<Vec<u8>>,
    error: Option<(&'static str, String)>,
}

impl Attempts {
    async fn record(&self, record: Record) {
        let _ = self.to_writer.send(ToWriter::Record(record)).await;
    }

    /// Tried again later without counting an attempt: the database did
    /// not answer (it will, like a network that comes back).
    fn later(&self, q: Queued, what: &str, e: impl std::fmt::Display) -> Done {
        tracing::warn!(webhook = %q.webhook_id, delivery = q.id, "{what}: {e}");
        let delay = self.policy.delay(q.attempts + 1, jitter(), None);
        Done::new(q.webhook_id, q.seq, q.attempts, Turn::RetryAfter(delay))
    }
}

/// Makes one attempt of `q` and reports it. Never fails: every problem is
/// an outcome that the policy classifies.
pub(crate) async fn run(ctx: &Attempts, q: Queued) -> Done {
    let worker = ctx.worker_id.get();
    let number = q.attempts + 1;
    // A retry first makes sure nobody cancelled the delivery meanwhile
    // (through another process, whose scheduler this one cannot reach).
    if q.attempts > 0 && matches!(db::deliveries::is_pending(&ctx.db, q.seq).await, Ok(false)) {
        return Done::new(q.webhook_id, q.seq, q.attempts, Turn::CancelledElsewhere);
    }
    let target = match ctx.targets.get(&q.webhook_id).await {
        Ok(t) => t,
        Err(TargetError::Database(e)) => return ctx.later(q, "reading the webhook", e),
        Err(TargetError::Secret(e)) => {
            // Retrying cannot help until the operator gives the right key.
            tracing::error!(webhook = %q.webhook_id, delivery = q.id, "{e:#}");
            let reason = "The webhook's signing secret cannot be opened with this server's \
                          SIGNPOST_SECRET_KEY (was it changed?): nothing was sent";
            return end_without_attempt(ctx, q, None, DeliveryStatus::Failed, reason).await;
        }
    };
    let inactive = match &target {
        None => Some("The webhook was deleted"),
        Some(t) => t.inactive,
    };
    let project = target.as_ref().map(|t| t.project.clone());
    let (Some(target), None) = (target, inactive) else {
        let reason = inactive.unwrap_or("The webhook was deleted");
        return end_without_attempt(ctx, q, project, DeliveryStatus::Cancelled, reason).await;
    };
    // The event, from memory, or else from the database.
    let event = match q.event.clone() {
        Some(event) => event,
        None => match db::events::get(&ctx.db, &q.event_id).await {
            Ok(Some((name, body))) => Arc::new(EventData {
                name,
                body: ctx.budget.body(body.into()),
            }),
            Ok(None) => {
                let reason = "The event is no longer stored";
                return end_without_attempt(ctx, q, project, DeliveryStatus::Failed, reason).await;
            }
            Err(e) => return ctx.later(q, "reading the event", e),
        },
    };
    let body = event.body.bytes();

    // Sign now: a fresh timestamp at every attempt.
    let started_at = now_ms();
    let mut keys = target.keys.clone();
    if target.previous_expires_at.is_some_and(|t| t <= started_at) {
        keys.previous = None;
    }
    let signed = keys.sign(&q.id, started_at / 1000, body);
    let mut headers: Vec<(&'static str, String)> = vec![
        ("content-type", "application/json".into()),
        ("user-agent", user_agent()),
    ];
    if keys.scheme == Scheme::SpectrumV0 {
        headers.push(("x-spectrum-event", event.name.clone()));
        headers.push(("x-spectrum-webhook-id", q.webhook_id.to_string()));
    }
    headers.extend(signed.headers);
    headers.push(("x-signpost-delivery-id", q.id.clone()));
    headers.push(("x-signpost-attempt", number.to_string()));

    // The last moment to find that the lease lapsed (the process stalled
    // since the attempt began): then nothing is sent; the delivery stays
    // pending for the lane's next owner. A lapse gives the process a new
    // worker id and, once it registers again, a valid lease: an attempt
    // begun under the old id must not pass on the new lease.
    if !ctx.validity.valid() || *ctx.worker_id.get() != *worker {
        return Done::new(q.webhook_id, q.seq, q.attempts, Turn::LeaseLapsed);
    }
    let clock = Instant::now();
    let exchange = match &target.url {
        Ok(url) => send(ctx, url, &headers, body.clone()).await,
        Err(refusal) => failed(Outcome::Refused, "guard", refusal.to_string()),
    };
    let took = clock.elapsed();
    let duration_ms = took.as_millis() as i64;
    let next = ctx.policy.next(number, &exchange.outcome, jitter());
    let m = &ctx.metrics;
    m.attempts
        .with_label_values(&[&*target.project, class(&exchange.outcome).as_str()])
        .inc();
    m.attempt_duration.observe(took.as_secs_f64());
    if q.attempts == 0 {
        m.first_attempt_latency
            .observe((started_at - q.created_at).max(0) as f64 / 1000.0);
    }

    let (status, tracking) = match next {
        Next::Succeeded => (DeliveryStatus::Succeeded, Tracking::Succeeded),
        Next::Failed if exchange.status == Some(410) => (DeliveryStatus::Failed, Tracking::Gone),
        Next::Failed => (DeliveryStatus::Failed, Tracking::Failed),
        Next::Dropped => (DeliveryStatus::Dropped, Tracking::None),
        Next::RetryAfter(_) => (DeliveryStatus::Pending, Tracking::None),
    };
    let (turn, finished_at, next_at) = match next {
        Next::RetryAfter(delay) => (
            Turn::RetryAfter(delay),
            None,
            now_ms() + delay.as_millis() as i64,
        ),
        _ => (Turn::Ended(status), Some(now_ms()), now_ms()),
    };
    let last_error = exchange.error.as_ref().map(|(_, m)| m.clone());
    log_attempt(&q, number, &exchange, duration_ms, &next);
    let record = Record {
        worker: worker.clone(),
        delivery_id: q.id.clone(),
        webhook_id: q.webhook_id.clone(),
        project: Some(target.project.clone()),
        created_at: q.created_at,
        tracking,
        update: DeliveryUpdate {
            seq: q.seq,
            status,
            attempts: number as i64,
            next_at,
            last_status: exchange.status.map(i64::from),
            last_error,
            finished_at,
        },
        attempt: Some(AttemptRow {
            number: number as i64,
            started_at,
            duration_ms,
            request_headers: serde_json::to_string(&headers).expect("strings serialize"),
            response_status: exchange.status.map(i64::from),
            response_headers: exchange.response_headers,
            response_body: exchange.response_body,
            error_kind: exchange.error.as_ref().map(|(k, _)| *k),
            error_message: exchange.error.map(|(_, m)| m),
        }),
    };
    ctx.record(record).await;
    Done {
        pause: exchange
            .outcome
            .pause()
            .map(|wait| wait.min(ctx.policy.cap)),
        ..Done::new(q.webhook_id, q.seq, number, turn)
    }
}

/// The delivery ends without an attempt: `cancelled` (the webhook is gone
/// or disabled) or `failed` (it can never be sent), with the reason.
async fn end_without_attempt(
    ctx: &Attempts,
    q: Queued,
    project: Option<Arc<str>>,
    status: DeliveryStatus,
    reason: &str,
) -> Done {
    let record = Record {
        worker: ctx.worker_id.get(),
        delivery_id: q.id.clone(),
        webhook_id: q.webhook_id.clone(),
        project,
        created_at: q.created_at,
        tracking: Tracking::None,
        update: DeliveryUpdate {
            seq: q.seq,
            status,
            attempts: q.attempts as i64,
            next_at: now_ms(),
            last_status: None,
            last_error: Some(reason.to_string()),
            finished_at: Some(now_ms()),
        },
        attempt: None,
    };
    ctx.record(record).await;
    Done::new(q.webhook_id, q.seq, q.attempts, Turn::Ended(status))
}

/// One line per attempt, with the ids a person searches for: at debug when
/// it succeeded, at info when it will be tried again, at warn when the
/// delivery failed for good.
fn log_attempt(q: &Queued, number: u32, exchange: &Exchange, ms: i64, next: &Next) {
    let status = exchange.status.unwrap_or(0);
    let error = exchange.error.as_ref().map_or("", |(_, m)| m.as_str());
    macro_rules! line {
        ($level:ident, $($what:tt)+) => {
            tracing::$level!(
                delivery = %q.id,
                webhook = %q.webhook_id,
                event = %q.event_id,
                attempt = number,
                status,
                ms,
                error,
                $($what)+
            )
        };
    }
    match next {
        Next::Succeeded => line!(debug, "delivered"),
        Next::RetryAfter(delay) => line!(
            info,
            retry_in_ms = delay.as_millis() as u64,
            "attempt failed; tried again later"
        ),
        Next::Failed => line!(warn, "delivery failed"),
        Next::Dropped => line!(warn, "delivery dropped: the URL is refused"),
    }
}

/// The metrics' class of an attempt's outcome (what came back, whatever
/// the retry schedule makes of it).
fn class(outcome: &Outcome) -> AttemptClass {
    match outcome {
        Outcome::Status { .. } => match outcome.class() {
            PolicyClass::Success => AttemptClass::Success,
            PolicyClass::Retry => AttemptClass::RetryableStatus,
            PolicyClass::Final | PolicyClass::Dropped => AttemptClass::FinalStatus,
        },
        Outcome::Timeout => AttemptClass::Timeout,
        Outcome::Connection => AttemptClass::ConnectionError,
        Outcome::Refused => AttemptClass::GuardRefusal,
    }
}

fn jitter() -> f64 {
    rand::thread_rng().gen_range(0.5..1.5)
}

async fn send(
    ctx: &Attempts,
    url: &reqwest::Url,
    headers: &[(&'static str, String)],
    body: bytes::Bytes,
) -> Exchange {
    let mut request = ctx.client.post(url.clone()).body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let mut response = match request.send().await {
        Ok(r) => r,
        Err(e) => return transport_error(&e),
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now_ms() / 1000));
    let response_headers = kept_headers(
        response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_str().unwrap_or("<binary>"))),
    );
    let mut excerpt = Vec::new();
    let mut read = 0usize;
    let mut error = None;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                read += chunk.len();
                let room = BODY_EXCERPT.saturating_sub(excerpt.len());
                excerpt.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if read >= BODY_DRAIN {
                    break;
                }
            }
            Ok(None) => break,
            // The status is in: a body cut short does not change the outcome.
            Err(e) => {
                error = Some(("body", format!("reading the response body: {e}")));
                break;
            }
        }
    }
    Exchange {
        outcome: Outcome::Status {
            status,
            retry_after,
        },
        status: Some(status),
        response_headers: Some(response_headers),
        response_body: Some(excerpt),
        error,
    }
}

fn failed(outcome: Outcome, kind: &'static str, message: String) -> Exchange {
    Exchange {
        outcome,
        status: None,
        response_headers: None,
        response_body: None,
        error: Some((kind, message)),
    }
}

fn transport_error(e: &reqwest::Error) -> Exchange {
    // A guard refusal comes back from the resolver, inside the connect error.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(guard) = err.downcast_ref::<GuardError>() {
            return failed(Outcome::Refused, "guard", guard.0.to_string());
        }
        source = err.source();
    }
    if e.is_timeout() {
        return failed(
            Outcome::Timeout,
            "timeout",
            "No answer within the time limit".into(),
        );
    }
    let kind = if e.is_connect() { "connect" } else { "network" };
    // The innermost cause says most ("Connection refused", "tls handshake …").
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        detail = err.to_string();
        source = err.source();
    }
    failed(Outcome::Connection, kind, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_headers_are_kept_within_their_cap() {
        let big = "v".repeat(5_000);
        let many: Vec<(String, String)> =
            (0..100).map(|i| (format!("x-h{i}"), big.clone())).collect();
        let json = kept_headers(many.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let kept: Vec<(String, String)> = serde_json::from_str(&json).unwrap();
        assert!(json.len() < HEADERS_KEPT + 200, "{}", json.len());
        // Each value is cut at 1 KiB; what did not fit is counted.
        assert!(kept[0].1.len() == 1024);
        let last = kept.last().unwrap();
        assert_eq!(last.0, "…");
        assert_eq!(
            last.1,
            format!("{} more headers, not kept", 100 - (kept.len() - 1))
        );
        // Small headers are kept as they are.
        let json = kept_headers([("content-type", "text/plain")].into_iter());
        assert_eq!(json, r#"[["content-type","text/plain"]]"#);
    }
}
