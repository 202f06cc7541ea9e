//! Bad input gets a clear 4xx, never a 500 (issue 13).

use crate::support::{app_error, TestServer};
use reqwest::StatusCode;
use signpost::model::AppError;

/// A server function whose arguments cannot be read answers 400 with the
/// usual error body, whatever is wrong with them.
#[tokio::test]
async fn malformed_server_function_calls_are_the_callers_fault() {
    let (server, client) = TestServer::with_admin_signed_in(|_| {}).await;
    let form = "application/x-www-form-urlencoded";
    let calls: [(&str, &str, &[u8]); 5] = [
        ("an empty body", "projects/create", b""),
        ("a missing argument", "projects/create", b"other=1"),
        ("invalid UTF-8", "projects/create", b"name=\xff\xfe"),
        (
            "an ill-typed argument",
            "deliveries/replay",
            b"project_id=p&webhook_id=w&since=yesterday",
        ),
        (
            "a JSON body to a form endpoint",
            "projects/create",
            b"{\"name\":",
        ),
    ];
    for (what, endpoint, body) in calls {
        let res = client
            .post(server.url(&format!("/api/{endpoint}")))
            .header("content-type", form)
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{what}");
        match app_error(res).await {
            AppError::BadRequest(message) => {
                assert!(
                    message.starts_with("The request could not be read"),
                    "{what}: {message}"
                )
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    // The same call, well formed, still works.
    let res = client
        .post(server.url("/api/projects/create"))
        .header("content-type", form)
        .body("name=Fine")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// The limits the README gives are the real ones: a batch may be 8 MiB
/// (each event within `SIGNPOST_MAX_EVENT_BYTES`), and a larger one gets a
/// 413 in the API's envelope.
#[tokio::test]
async fn a_batch_may_be_as_large_as_documented_and_no_larger() {
    let s = crate::support::Api::new(|_| {}).await;
    // 450 events of 16 KiB: about 7 MiB.
    let filler = "x".repeat(16 * 1024);
    let batch = |n: usize| {
        let events: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"event":"big","i":{i},"filler":"{filler}"}}"#))
            .collect();
        format!("[{}]", events.join(","))
    };
    let body = batch(450);
    assert!(body.len() > 7 * 1024 * 1024 && body.len() < 8 * 1024 * 1024);
    let res = s
        .post("/events/batch")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["data"]["events"].as_array().unwrap().len(), 450);

    // Over 8 MiB: refused in the envelope.
    let res = s
        .post("/events/batch")
        .header("content-type", "application/json")
        .body(batch(520))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["succeed"], false);
    // Pages and server functions keep their 1 MiB.
    let res = s
        .http
        .post(s.server.url("/api/projects/create"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("name={}", "n".repeat(2 * 1024 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// A signed-in session is not written on every request (each write would
/// compete with the delivery engine's writer): its idle expiry moves on at
/// most every few minutes of use.
#[tokio::test]
async fn a_session_is_not_written_on_every_request() {
    let (server, client) = TestServer::with_admin_signed_in(|_| {}).await;
    let db = server.db().await;
    // As text: SQLite's store keeps it as text already, PostgreSQL's column
    // is a TIMESTAMPTZ (whose text keeps every digit it has).
    let expiry = || async {
        signpost::on_db!(&db, p => {
            sqlx::query_scalar::<_, String>("SELECT CAST(expiry_date AS TEXT) FROM tower_sessions")
                .fetch_all(p)
                .await
        })
        .unwrap()
    };
    let before = expiry().await;
    assert_eq!(before.len(), 1, "one session: the admin's");
    // Expiry dates have whole seconds: let one pass, so that a write would show.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    for _ in 0..5 {
        let res = client.post(server.url("/api/me")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    assert_eq!(expiry().await, before, "five requests, no write");
    assert_eq!(signpost::server::auth::renewal_interval_secs(720), 300);
    assert_eq!(signpost::server::auth::renewal_interval_secs(2), 30);
}

/// Clients that send half a request and wait cannot starve the server:
/// they are closed after the header timeout, and while they hold every
/// connection slot a normal request waits its turn instead of failing.
#[tokio::test]
async fn half_open_connections_are_closed_and_do_not_stop_others() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start_with(|c| {
        c.header_timeout_ms = 500;
        c.max_connections = 32;
    })
    .await;
    let mut slow = Vec::new();
    for _ in 0..64 {
        let mut s = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: sl")
            .await
            .unwrap();
        slow.push(s);
    }
    let started = Instant::now();
    let res = server
        .client()
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // Every one of them is closed by the server (after an answer or not).
    for (i, mut s) in slow.into_iter().enumerate() {
        let closed = tokio::time::timeout(Duration::from_secs(10), async {
            let mut buf = [0u8; 512];
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "connection {i} still open");
    }
}

/// A request whose body never finishes is answered 408 once the request
/// timeout is over, not held for ever.
#[tokio::test]
async fn a_request_that_never_finishes_gets_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start_with(|c| c.request_timeout_ms = 300).await;
    let mut s = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /api/login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: 100\r\n\r\nemail=a",
        server.addr
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let mut buf = [0u8; 1024];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
}

/// Every answer names its request, so that a person can quote the id of a
/// failure and an operator find it in the log; a proxy's id is kept.
#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let server = TestServer::start().await;
    let client = server.client();
    let mut seen = std::collections::HashSet::new();
    for path in [
        "/healthz",
        "/setup",
        "/openapi.json",
        "/projects/x/webhooks/",
        "/nope",
    ] {
        let res = client.get(server.url(path)).send().await.unwrap();
        let id = res
            .headers()
            .get("x-request-id")
            .unwrap_or_else(|| panic!("{path}: no x-request-id"))
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(id.len(), 36, "{path}: {id}");
        assert!(seen.insert(id), "{path}: an id used twice");
    }
    let res = client
        .get(server.url("/healthz"))
        .header("x-request-id", "from-the-proxy-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "from-the-proxy-42");
    // Anything that does not look like an id is replaced, not logged.
    for odd in ["has spaces in it", &"x".repeat(65)] {
        let res = client
            .get(server.url("/healthz"))
            .header("x-request-id", odd)
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["x-request-id"].len(), 36, "{odd}");
    }
}

/// What schemathesis found against the API: every refusal is in the
/// envelope with a documented status, and keys are per endpoint.
#[tokio::test]
async fn the_api_answers_in_its_envelope_whatever_the_url_or_method() {
    use crate::support::Api;
    use serde_json::{json, Value};
    let api = Api::new(|_| {}).await;
    let (id, _) = api.register("http://127.0.0.1:9/x", json!({})).await;
    let envelope = |res: reqwest::Response| async move {
        let status = res.status();
        let ct = res.headers()["content-type"].to_str().unwrap().to_string();
        let v: Value = res.json().await.unwrap();
        assert!(ct.starts_with("application/json"), "{status}: {ct}");
        assert_eq!(v["succeed"], false, "{v}");
        (status, v["message"].as_str().unwrap().to_string())
    };
    // A repeated query parameter: 422, not axum's plain 400.
    let res = api
        .req(
            reqwest::Method::GET,
            &format!("/webhooks/{id}/deliveries?limit=1&limit=2"),
        )
        .send()
        .await
        .unwrap();
    let (status, message) = envelope(res).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{message}");
    // A path that is not UTF-8 once decoded names nothing: 404.
    for path in [
        "/webhooks/%FF",
        "/deliveries/%FF",
        "/webhooks/%FF/deliveries",
    ] {
        let res = api.req(reqwest::Method::GET, path).send().await.unwrap();
        assert_eq!(envelope(res).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    // A method a route does not take: 405 with `Allow`, in the envelope.
    let res = api
        .req(reqwest::Method::PUT, "/webhooks/")
        .send()
        .await
        .unwrap();
    let allow = res
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_string());
    assert_eq!(envelope(res).await.0, StatusCode::METHOD_NOT_ALLOWED);
    assert!(allow.is_some_and(|a| a.contains("GET") && a.contains("POST")));
    // `/events` is published to and read (GET): not deleted.
    let res = api
        .req(reqwest::Method::DELETE, "/events")
        .send()
        .await
        .unwrap();
    assert_eq!(envelope(res).await.0, StatusCode::METHOD_NOT_ALLOWED);
    let res = api
        .req(reqwest::Method::GET, "/events/batch")
        .send()
        .await
        .unwrap();
    assert_eq!(envelope(res).await.0, StatusCode::METHOD_NOT_ALLOWED);

    // One key on /events and on /events/batch names two calls: the batch is
    // stored, with its own answer, and each repeat gets its own first one.
    let (status, one) = api.publish_raw(r#"{"event":"messages"}"#, Some("k1")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let batch = |body: &'static str| {
        api.post("/events/batch")
            .header("content-type", "application/json")
            .header("idempotency-key", "k1")
            .body(body)
    };
    let res = batch(r#"[{"event":"a"},{"event":"b"}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let first: Value = res.json().await.unwrap();
    assert_eq!(
        first["data"]["events"].as_array().unwrap().len(),
        2,
        "{first}"
    );
    let res = batch(r#"[{"event":"c"}]"#).send().await.unwrap();
    let again: Value = res.json().await.unwrap();
    assert_eq!(again, first);
    let (_, one_again) = api.publish_raw(r#"{"event":"other"}"#, Some("k1")).await;
    assert_eq!(one_again, one);
}

/// A NUL character (which PostgreSQL's text cannot hold, and SQLite's can)
/// gets the same 4xx on both backends: refused where it is text a person
/// writes, "not found" or "cannot be read" where it is an id, never a 500.
#[tokio::test]
async fn a_nul_character_is_refused_alike_on_both_backends() {
    let (api, admin) = crate::support::Api::with_admin(|_| {}).await;
    let server = &api.server;
    let form = "application/x-www-form-urlencoded";
    let pid = api.pid.as_str();
    let calls = [
        (
            "a project name",
            "projects/create",
            "name=a%00b".to_string(),
        ),
        (
            "a delivery id",
            "deliveries/get",
            format!("project_id={pid}&delivery_id=dlv_%00"),
        ),
        (
            "a project id",
            "deliveries/get",
            "project_id=%00&delivery_id=x".into(),
        ),
        (
            "an email",
            "team/add",
            "email=a%00@example.com&role=member".into(),
        ),
    ];
    for (what, endpoint, body) in calls {
        let res = admin
            .post(server.url(&format!("/api/{endpoint}")))
            .header("content-type", form)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        assert!(
            status.is_client_error(),
            "{what}: {status}: {}",
            res.text().await.unwrap()
        );
    }
    // Through the HTTP API: a description, and a webhook id in the path.
    let res = api
        .post("/webhooks")
        .json(&serde_json::json!({
            "webhookUrl": "http://127.0.0.1:9/nul",
            "description": "a\u{0}b",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = api.get("/webhooks/wh_%00").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
