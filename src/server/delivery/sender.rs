//! One attempt: read the webhook, check the URL, sign, POST, classify, and
//! hand the result to the recorder and the scheduler.
//!
//! The HTTP client is shared (keep-alive), follows no redirect, uses no
//! proxy, and resolves names through [`GuardedResolver`]: the URL guard
//! filters the very addresses the connection is made to, so a name cannot
//! be checked once and answer differently when connecting.

use super::policy::{parse_retry_after, Next, Outcome};
use super::scheduler::Done;
use super::signer::Keys;
use super::writer::{Record, Tracking};
use super::{Ctx, Queued};
use crate::model::Scheme;
use crate::server::config::DeliveryConfig;
use crate::server::db::{self, deliveries::AttemptRow, deliveries::DeliveryUpdate, now_ms, Db};
use crate::server::secrets::SecretBox;
use crate::server::url_guard::{self, AllowList, Refusal, Resolver};
use rand::Rng;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Bytes of a response body kept in the attempt record.
pub const BODY_EXCERPT: usize = 4096;
/// Bytes of a response body read in all, so that the connection can be reused.
const BODY_DRAIN: usize = 64 * 1024;
/// A webhook read from the database is used this long before it is read again
/// (changes made in this process are seen at once: see `Handle::webhook_changed`).
const TARGET_TTL: Duration = Duration::from_secs(5);

pub fn user_agent() -> String {
    format!("signpost-webhook/{}", env!("CARGO_PKG_VERSION"))
}

/// The shared client.
pub fn client(
    config: &DeliveryConfig,
    allow: AllowList,
    resolver: Resolver,
) -> anyhow::Result<reqwest::Client> {
    let timeout = Duration::from_millis(config.attempt_timeout_ms);
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .pool_idle_timeout(Duration::from_secs(60))
        // Many webhooks may share a host: keep a connection for every
        // attempt that can be in flight, or each burst would reconnect.
        .pool_max_idle_per_host(config.max_in_flight as usize)
        .tcp_nodelay(true)
        .dns_resolver(Arc::new(GuardedResolver { allow, resolver }))
        .build()?)
}

/// Resolves with the configured resolver, keeping only the addresses the
/// URL guard allows.
struct GuardedResolver {
    allow: AllowList,
    resolver: Resolver,
}

/// The guard refused every address: the delivery is dropped, not retried.
#[derive(Debug)]
struct GuardError(Refusal);

impl std::fmt::Display for GuardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for GuardError {}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        let allow = self.allow.clone();
        let lookup = (self.resolver)(host.clone(), 0);
        Box::pin(async move {
            // A lookup that fails or hangs may work next time: a connection
            // error (retried), not a refusal (dropped).
            let addrs = match tokio::time::timeout(Duration::from_secs(5), lookup).await {
                Ok(Ok(addrs)) if !addrs.is_empty() => addrs,
                Ok(Err(e)) => return Err(Box::new(e) as Box<dyn std::error::Error + Send + Sync>),
                _ => {
                    let e = std::io::Error::other(format!("the host {host} does not resolve"));
                    return Err(Box::new(e) as Box<dyn std::error::Error + Send + Sync>);
                }
            };
            let kept = url_guard::filter_addrs(&host, addrs, &allow)
                .map_err(|r| Box::new(GuardError(r)) as Box<dyn std::error::Error + Send + Sync>)?;
            let addrs: Vec<SocketAddr> =
                kept.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect();
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// A webhook as the worker needs it.
pub struct Target {
    /// The URL, parsed and statically checked once per read (scheme,
    /// credentials, literal addresses); the resolver checks names.
    pub url: Result<reqwest::Url, Refusal>,
    pub keys: Keys,
    pub previous_expires_at: Option<i64>,
    /// Why not to send at all: disabled or deleted.
    pub inactive: Option<&'static str>,
    read_at: Instant,
}

/// Webhooks read from the database, with their secrets opened.
#[derive(Clone)]
pub struct Targets {
    db: Db,
    secrets: SecretBox,
    allow: AllowList,
    cache: Arc<RwLock<HashMap<Arc<str>, Arc<Target>>>>,
}

impl Targets {
    pub fn new(db: Db, secrets: SecretBox, allow: AllowList) -> Targets {
        Targets {
            db,
            secrets,
            allow,
            cache: Default::default(),
        }
    }

    pub fn forget(&self, webhook_id: &str) {
        self.cache.write().expect("not poisoned").remove(webhook_id);
    }

    async fn get(&self, webhook_id: &Arc<str>) -> anyhow::Result<Option<Arc<Target>>> {
        if let Some(t) = self.cache.read().expect("not poisoned").get(webhook_id) {
            if t.read_at.elapsed() < TARGET_TTL {
                return Ok(Some(t.clone()));
            }
        }
        let Some(row) = db::deliveries::target(&self.db, webhook_id).await? else {
            return Ok(None);
        };
        let now = now_ms();
        let previous = match (row.previous_secret, row.previous_expires_at) {
            (Some(sealed), Some(until)) if until > now => Some(self.secrets.open(&sealed)?),
            _ => None,
        };
        let target = Arc::new(Target {
            url: url_guard::check_static(&row.url, &self.allow).map(|p| p.url),
            keys: Keys {
                scheme: Scheme::parse(&row.scheme).unwrap_or_default(),
                current: self.secrets.open(&row.secret)?,
                previous,
            },
            previous_expires_at: row.previous_expires_at.filter(|t| *t > now),
            inactive: if row.deleted_at.is_some() {
                Some("The webhook was deleted")
            } else if !row.enabled {
                Some("The webhook is disabled")
            } else {
                None
            },
            read_at: Instant::now(),
        });
        self.cache
            .write()
            .expect("not poisoned")
            .insert(webhook_id.clone(), target.clone());
        Ok(Some(target))
    }
}

/// What was sent and what came back.
struct Exchange {
    outcome: Outcome,
    status: Option<u16>,
    response_headers: Option<String>,
    response_body: Option<Vec<u8>>,
    error: Option<(&'static str, String)>,
}

/// Makes one attempt of `q` and reports it. Never fails: every problem is
/// an outcome that the policy classifies.
pub(crate) async fn attempt(ctx: &Ctx, q: Queued) -> Done {
    let number = q.attempts + 1;
    // A retry first makes sure nobody cancelled the delivery meanwhile
    // (through another process, whose scheduler this one cannot reach).
    if q.attempts > 0
        && matches!(
            db::delivery_log::is_pending(&ctx.db, q.seq).await,
            Ok(false)
        )
    {
        return Done {
            webhook_id: q.webhook_id,
            seq: q.seq,
            next: Next::Dropped,
            attempts: q.attempts,
        };
    }
    let target = match ctx.handle.targets.get(&q.webhook_id).await {
        Ok(t) => t,
        Err(e) => {
            // The database is unreachable: try again later, like a network error.
            tracing::warn!(webhook = %q.webhook_id, "reading the webhook: {e}");
            let delay = ctx.policy.delay(number.max(1), jitter(), None);
            return Done {
                webhook_id: q.webhook_id,
                seq: q.seq,
                next: Next::RetryAfter(delay),
                attempts: q.attempts,
            };
        }
    };
    let inactive = match &target {
        None => Some("The webhook was deleted"),
        Some(t) => t.inactive,
    };
    let (Some(target), None) = (target, inactive) else {
        return cancel(ctx, q, inactive.unwrap_or("The webhook was deleted"));
    };

    // Sign now: a fresh timestamp at every attempt.
    let started_at = now_ms();
    let mut keys = target.keys.clone();
    if target.previous_expires_at.is_some_and(|t| t <= started_at) {
        keys.previous = None;
    }
    let signed = keys.sign(&q.id, started_at / 1000, &q.event.body);
    let mut headers: Vec<(&'static str, String)> = vec![
        ("content-type", "application/json".into()),
        ("user-agent", user_agent()),
    ];
    if keys.scheme == Scheme::SpectrumV0 {
        headers.push(("x-spectrum-event", q.event.name.clone()));
        headers.push(("x-spectrum-webhook-id", q.webhook_id.to_string()));
    }
    headers.extend(signed.headers);
    headers.push(("x-signpost-delivery-id", q.id.clone()));
    headers.push(("x-signpost-attempt", number.to_string()));

    let clock = Instant::now();
    let exchange = match &target.url {
        Ok(url) => send(ctx, url, &headers, q.event.body.clone()).await,
        Err(refusal) => failed(Outcome::Refused, "guard", refusal.to_string()),
    };
    let duration_ms = clock.elapsed().as_millis() as i64;
    let next = ctx.policy.next(number, &exchange.outcome, jitter());

    let (status, finished_at, tracking) = match next {
        Next::Succeeded => ("succeeded", Some(now_ms()), Tracking::Succeeded),
        Next::Failed if exchange.status == Some(410) => ("failed", Some(now_ms()), Tracking::Gone),
        Next::Failed => ("failed", Some(now_ms()), Tracking::Failed),
        Next::Dropped => ("dropped", Some(now_ms()), Tracking::None),
        Next::RetryAfter(_) => ("pending", None, Tracking::None),
    };
    let next_at = match next {
        Next::RetryAfter(delay) => now_ms() + delay.as_millis() as i64,
        _ => now_ms(),
    };
    let last_error = exchange.error.as_ref().map(|(_, m)| m.clone());
    let record = Record {
        webhook_id: q.webhook_id.clone(),
        tracking,
        update: DeliveryUpdate {
            seq: q.seq,
            status,
            attempts: number as i64,
            next_at,
            last_status: exchange.status.map(i64::from),
            last_error,
            finished_at,
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
        },
    };
    let _ = ctx.recorder.send(super::writer::RecMsg::Record(record));
    Done {
        webhook_id: q.webhook_id,
        seq: q.seq,
        next,
        attempts: number,
    }
}

/// The webhook is gone or disabled: the delivery ends without an attempt.
fn cancel(ctx: &Ctx, q: Queued, reason: &str) -> Done {
    let record = Record {
        webhook_id: q.webhook_id.clone(),
        tracking: Tracking::None,
        update: DeliveryUpdate {
            seq: q.seq,
            status: "cancelled",
            attempts: q.attempts as i64,
            next_at: now_ms(),
            last_status: None,
            last_error: Some(reason.to_string()),
            finished_at: Some(now_ms()),
            attempt: None,
        },
    };
    let _ = ctx.recorder.send(super::writer::RecMsg::Record(record));
    Done {
        webhook_id: q.webhook_id,
        seq: q.seq,
        next: Next::Failed,
        attempts: q.attempts,
    }
}

fn jitter() -> f64 {
    rand::thread_rng().gen_range(0.5..1.5)
}

async fn send(
    ctx: &Ctx,
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
    let response_headers: Vec<(&str, &str)> = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str(), v.to_str().unwrap_or("<binary>")))
        .collect();
    let response_headers = serde_json::to_string(&response_headers).expect("strings serialize");
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
