//! A webhook receiver for tests: an axum app on 127.0.0.1 that records
//! every request, answers as a test scripts it, and checks signatures with
//! its own implementation of docs/delivery.md (not Signpost's signer).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Hit {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When it arrived.
    pub at: Instant,
}

impl Hit {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// How to answer one request.
#[derive(Clone, Debug)]
pub enum Reply {
    Status(u16),
    WithHeader(u16, &'static str, &'static str),
    /// Wait, then answer.
    After(Duration, u16),
}

#[derive(Default)]
struct Inner {
    hits: Vec<Hit>,
    /// Per path and a text its body contains: the next answers to such
    /// requests, before the path's own script.
    body_script: Vec<(String, String, VecDeque<Reply>)>,
    /// Per path: the next answers, then 200.
    script: HashMap<String, VecDeque<Reply>>,
    /// Per path: requests being answered now, and the most at once.
    in_flight: HashMap<String, (usize, usize)>,
    /// Per path: the answer once the script is used up (default 200).
    otherwise: HashMap<String, Reply>,
}

#[derive(Clone)]
pub struct Receiver {
    pub addr: std::net::SocketAddr,
    inner: Arc<Mutex<Inner>>,
    arrived: Arc<Notify>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let arrived = Arc::new(Notify::new());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route("/{*path}", axum::routing::post(receive))
            .with_state((inner.clone(), arrived.clone()));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            addr,
            inner,
            arrived,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{path}", self.addr)
    }

    /// The next answers on `path`, in order; then `200`.
    pub fn script(&self, path: &str, replies: Vec<Reply>) {
        self.inner
            .lock()
            .unwrap()
            .script
            .insert(path.to_string(), replies.into());
    }

    /// The next answers on `path` to requests whose body contains `text`,
    /// in order (before the path's own script).
    pub fn script_body(&self, path: &str, text: &str, replies: Vec<Reply>) {
        self.inner.lock().unwrap().body_script.push((
            path.to_string(),
            text.to_string(),
            replies.into(),
        ));
    }

    /// How many requests `path` has had.
    pub fn count(&self, path: &str) -> usize {
        let inner = self.inner.lock().unwrap();
        inner.hits.iter().filter(|h| h.path == path).count()
    }

    /// Waits until `path` has had `n` requests (at most `limit`), without
    /// copying them (for many requests).
    pub async fn wait_count(&self, path: &str, n: usize, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let arrived = self.arrived.notified();
            let count = self.count(path);
            if count >= n {
                return;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("{path}: {count} of {n} requests arrived within {limit:?}");
            }
        }
    }

    /// The most requests `path` was answering at once so far.
    pub fn peak_in_flight(&self, path: &str) -> usize {
        let inner = self.inner.lock().unwrap();
        inner.in_flight.get(path).map_or(0, |(_, peak)| *peak)
    }

    /// The answer on `path` once its script is used up.
    pub fn otherwise(&self, path: &str, reply: Reply) {
        self.inner
            .lock()
            .unwrap()
            .otherwise
            .insert(path.to_string(), reply);
    }

    pub fn hits(&self, path: &str) -> Vec<Hit> {
        let inner = self.inner.lock().unwrap();
        inner
            .hits
            .iter()
            .filter(|h| h.path == path)
            .cloned()
            .collect()
    }

    pub fn all_hits(&self) -> Vec<Hit> {
        self.inner.lock().unwrap().hits.clone()
    }

    /// Waits until `path` has had `n` requests (at most `limit`); returns them.
    pub async fn wait_for(&self, path: &str, n: usize, limit: Duration) -> Vec<Hit> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let arrived = self.arrived.notified();
            let hits = self.hits(path);
            if hits.len() >= n {
                return hits;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!(
                    "{path}: {} of {n} requests arrived within {limit:?}",
                    self.hits(path).len()
                );
            }
        }
    }

    /// Waits until `done` holds for all requests so far.
    pub async fn wait_until(&self, limit: Duration, done: impl Fn(&[Hit]) -> bool) -> Vec<Hit> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let arrived = self.arrived.notified();
            let hits = self.all_hits();
            if done(&hits) {
                return hits;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!(
                    "condition not met within {limit:?}; {} requests",
                    hits.len()
                );
            }
        }
    }
}

type Shared = (Arc<Mutex<Inner>>, Arc<Notify>);

async fn receive(
    State((inner, arrived)): State<Shared>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let reply = {
        let mut inner = inner.lock().unwrap();
        inner.hits.push(Hit {
            path: path.clone(),
            headers,
            body: body.clone(),
            at: Instant::now(),
        });
        let by_body = inner
            .body_script
            .iter_mut()
            .filter(|(p, text, _)| {
                *p == path && body.windows(text.len()).any(|w| w == text.as_bytes())
            })
            .find_map(|(_, _, replies)| replies.pop_front());
        let scripted = by_body.or_else(|| inner.script.get_mut(&path).and_then(|s| s.pop_front()));
        let (now, peak) = inner.in_flight.entry(path.clone()).or_default();
        *now += 1;
        *peak = (*peak).max(*now);
        scripted
            .or_else(|| inner.otherwise.get(&path).cloned())
            .unwrap_or(Reply::Status(200))
    };
    arrived.notify_waiters();
    // Counted in flight until the answer is made.
    struct Leaving(Arc<Mutex<Inner>>, String);
    impl Drop for Leaving {
        fn drop(&mut self) {
            if let Some((now, _)) = self.0.lock().unwrap().in_flight.get_mut(&self.1) {
                *now -= 1;
            }
        }
    }
    let _leaving = Leaving(inner.clone(), path.clone());
    let status = |s: u16| StatusCode::from_u16(s).unwrap();
    match reply {
        Reply::Status(s) => (status(s), "ok").into_response(),
        Reply::WithHeader(s, name, value) => {
            let mut res = (status(s), "").into_response();
            res.headers_mut().insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
            res
        }
        Reply::After(wait, s) => {
            tokio::time::sleep(wait).await;
            (status(s), "late").into_response()
        }
    }
}

type HmacSha256 = Hmac<Sha256>;

/// Checks a `spectrum-v0` delivery as a Spectrum receiver does: the
/// timestamp within 5 minutes, the signature in constant time.
pub fn spectrum_valid(hit: &Hit, secret: &str) -> bool {
    let ts = hit.header("x-spectrum-timestamp");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    if (now - ts.parse::<i64>().unwrap()).abs() > 300 {
        return false;
    }
    let Some(hex_sig) = hit.header("x-spectrum-signature").strip_prefix("v0=") else {
        return false;
    };
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{ts}:").as_bytes());
    mac.update(&hit.body);
    mac.verify_slice(&hex::decode(hex_sig).unwrap()).is_ok()
}

/// Checks a `standard-webhooks` delivery: any of the space-separated
/// `v1,` signatures made with `secret` is enough.
pub fn standard_valid(hit: &Hit, secret: &str) -> bool {
    let key = B64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let content = format!(
        "{}.{}.",
        hit.header("webhook-id"),
        hit.header("webhook-timestamp")
    );
    hit.header("webhook-signature").split(' ').any(|sig| {
        let Some(b64) = sig.strip_prefix("v1,") else {
            return false;
        };
        let mut mac = HmacSha256::new_from_slice(&key).unwrap();
        mac.update(content.as_bytes());
        mac.update(&hit.body);
        mac.verify_slice(&B64.decode(b64).unwrap()).is_ok()
    })
}
