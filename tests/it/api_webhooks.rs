//! The Spectrum-compatible management API over real HTTP.

use crate::support::TestServer;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{json, Value};

/// A project's API client.
struct Api<'a> {
    server: &'a TestServer,
    client: Client,
    pid: String,
    secret: String,
}

impl<'a> Api<'a> {
    async fn new(server: &'a TestServer) -> Api<'a> {
        let (pid, secret) = server.project("Acme").await;
        Api {
            server,
            client: server.client(),
            pid,
            secret,
        }
    }

    fn req(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.client
            .request(
                method,
                self.server.url(&format!("/projects/{}{path}", self.pid)),
            )
            .basic_auth(&self.pid, Some(&self.secret))
    }

    /// The project's webhooks as `GET /webhooks` lists them.
    async fn listed(&self) -> Vec<Value> {
        let res = self
            .req(reqwest::Method::GET, "/webhooks")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        body["data"].as_array().unwrap().clone()
    }

    async fn register(&self, body: Value) -> (StatusCode, Value) {
        let res = self
            .req(reqwest::Method::POST, "/webhooks/")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json().await.unwrap())
    }
}

async fn allow_local() -> TestServer {
    TestServer::start_with(|c| c.allow_targets = "127.0.0.1".parse().unwrap()).await
}

fn is_iso(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() >= 20 && s.contains('T') && s.ends_with('Z'))
}

#[tokio::test(flavor = "multi_thread")]
async fn register_list_get_patch_rotate_delete() {
    let server = allow_local().await;
    let api = Api::new(&server).await;

    let (status, body) = api
        .register(json!({"webhookUrl": "http://127.0.0.1:9/hooks", "description": "billing"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["succeed"], true);
    let first = &body["data"];
    let secret = first["signingSecret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 64);
    assert!(secret.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
    assert_eq!(first["webhookUrl"], "http://127.0.0.1:9/hooks");
    assert_eq!(first["events"], json!(["*"]));
    assert_eq!(first["scheme"], "spectrum-v0");
    assert_eq!(first["enabled"], true);
    assert_eq!(first["description"], "billing");
    assert!(
        is_iso(&first["createdAt"]) && is_iso(&first["updatedAt"]),
        "{first}"
    );
    let id = first["id"].as_str().unwrap().to_string();
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 4);

    let (status, body) = api
        .register(json!({
            "webhookUrl": "http://127.0.0.1:9/other",
            "events": ["messages", "user.created"],
            "scheme": "standard-webhooks"
        }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let whsec = body["data"]["signingSecret"].as_str().unwrap().to_string();
    assert!(whsec.starts_with("whsec_"), "{whsec}");
    assert_eq!(body["data"]["events"], json!(["messages", "user.created"]));

    // Listing: oldest first, and never a secret — with or without the slash.
    for path in ["/webhooks", "/webhooks/"] {
        let res = api.req(reqwest::Method::GET, path).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let text = res.text().await.unwrap();
        assert!(
            !text.contains(&secret) && !text.contains(&whsec) && !text.contains("signingSecret")
        );
        let list: Value = serde_json::from_str(&text).unwrap();
        let urls: Vec<&str> = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["webhookUrl"].as_str().unwrap())
            .collect();
        assert_eq!(
            urls,
            ["http://127.0.0.1:9/hooks", "http://127.0.0.1:9/other"]
        );
    }
    let res = api
        .req(reqwest::Method::GET, &format!("/webhooks/{id}"))
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    assert!(
        !text.contains(&secret) && !text.contains("signingSecret"),
        "{text}"
    );

    // The secrets are sealed at rest: their bytes are nowhere in the database
    // (its file's bytes: SQLite only, a PostgreSQL server's files are not
    // the test's to read).
    if !server.is_postgres() {
        let stored = server.database_bytes();
        for s in [&secret, &whsec] {
            assert!(
                !stored.windows(s.len()).any(|w| w == s.as_bytes()),
                "secret stored in clear"
            );
        }
    }

    // PATCH: disable, change events and description.
    let res = api
        .req(reqwest::Method::PATCH, &format!("/webhooks/{id}"))
        .json(&json!({"enabled": false, "events": ["messages"], "description": "ops"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let patched: Value = res.json().await.unwrap();
    assert_eq!(patched["data"]["enabled"], false);
    assert_eq!(patched["data"]["events"], json!(["messages"]));
    assert_eq!(patched["data"]["description"], "ops");

    // Rotate: a new secret, the old one valid for the default day.
    let res = api
        .req(reqwest::Method::POST, &format!("/webhooks/{id}/rotate"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let rotated: Value = res.json().await.unwrap();
    let new_secret = rotated["data"]["signingSecret"].as_str().unwrap();
    assert_eq!(new_secret.len(), 64);
    assert_ne!(new_secret, secret);
    assert!(
        is_iso(&rotated["data"]["previousSecretExpiresAt"]),
        "{rotated}"
    );
    let res = api
        .req(reqwest::Method::POST, &format!("/webhooks/{id}/rotate/"))
        .json(&json!({"graceSeconds": 0}))
        .send()
        .await
        .unwrap();
    let rotated: Value = res.json().await.unwrap();
    assert!(
        rotated["data"].get("previousSecretExpiresAt").is_none(),
        "{rotated}"
    );
    let res = api
        .req(reqwest::Method::POST, &format!("/webhooks/{id}/rotate"))
        .json(&json!({"graceSeconds": 8 * 86400}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // DELETE: soft, then 404, and gone from the list.
    let res = api
        .req(reqwest::Method::DELETE, &format!("/webhooks/{id}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let deleted: Value = res.json().await.unwrap();
    assert_eq!(deleted, json!({"succeed": true, "data": {"id": id}}));
    let res = api
        .req(reqwest::Method::DELETE, &format!("/webhooks/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.json::<Value>().await.unwrap()["succeed"], false);
    assert_eq!(api.listed().await.len(), 1);
    // Its URL may be registered again once deleted.
    let (status, _) = api
        .register(json!({"webhookUrl": "http://127.0.0.1:9/hooks"}))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_the_right_status_and_lose_nothing() {
    let server = allow_local().await;
    let api = Api::new(&server).await;
    let (status, _) = api
        .register(json!({"webhookUrl": "http://127.0.0.1:9/a"}))
        .await;
    assert_eq!(status, StatusCode::OK);

    // Duplicate active URL.
    let (status, body) = api
        .register(json!({"webhookUrl": "http://127.0.0.1:9/a"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["succeed"], false);
    assert!(body["message"].as_str().unwrap().contains("already exists"));

    // Refused URLs say why.
    for (url, why) in [
        ("http://example.com/", "The URL must use https"),
        ("https://10.0.0.1/", "private address"),
        ("https://169.254.169.254/", "link-local address"),
        ("https://[::1]/", "loopback address"),
        (
            "https://internal.example.com/",
            "private address (10.0.0.7)",
        ),
        ("https://nowhere.example.com/", "does not resolve"),
        ("not a url", "absolute https URL"),
    ] {
        let (status, body) = api.register(json!({"webhookUrl": url})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        let msg = body["message"].as_str().unwrap();
        assert!(msg.contains(why), "{url}: {msg}");
    }
    let (status, _) = api
        .register(json!({"webhookUrl": "https://93.184.215.14/", "events": ["bad name"]}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Not JSON, malformed JSON, wrong types, too large.
    let res = api
        .req(reqwest::Method::POST, "/webhooks")
        .body("webhookUrl=x")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(res.json::<Value>().await.unwrap()["succeed"], false);
    let res = api
        .req(reqwest::Method::POST, "/webhooks")
        .body("{\"webhookUrl\": ")
        .header(CONTENT_TYPE, "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = api
        .req(reqwest::Method::POST, "/webhooks")
        .json(&json!({"webhookUrl": 42}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = api
        .req(reqwest::Method::POST, "/webhooks")
        .json(&json!({"webhookUrl": "https://93.184.215.14/", "scheme": "v9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let big = "x".repeat(70 * 1024);
    let res = api
        .req(reqwest::Method::POST, "/webhooks")
        .json(&json!({"webhookUrl": "https://93.184.215.14/", "description": big}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(res.json::<Value>().await.unwrap()["succeed"], false);

    // Nothing of that was stored.
    assert_eq!(api.listed().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_are_checked_and_projects_are_walled_off() {
    let server = allow_local().await;
    let a = Api::new(&server).await;
    let b = Api::new(&server).await;
    let (_, body) = a
        .register(json!({"webhookUrl": "http://127.0.0.1:9/a"}))
        .await;
    let a_hook = body["data"]["id"].as_str().unwrap().to_string();

    let url = server.url(&format!("/projects/{}/webhooks/", a.pid));
    let client = server.client();
    for req in [
        client.get(&url),
        client.get(&url).basic_auth(&a.pid, Some("wrong")),
        client.get(&url).basic_auth(&b.pid, Some(&b.secret)),
        client.get(&url).header("authorization", "Bearer x"),
    ] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(res.headers()[WWW_AUTHENTICATE], "Basic realm=\"signpost\"");
        assert_eq!(res.json::<Value>().await.unwrap()["succeed"], false);
    }
    // B, with its own credentials, cannot see or touch A's webhook.
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
    ] {
        let res = b
            .req(method.clone(), &format!("/webhooks/{a_hook}"))
            .json(&json!({"enabled": false}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{method}");
    }
    let res = b
        .req(reqwest::Method::POST, &format!("/webhooks/{a_hook}/rotate"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = a
        .req(reqwest::Method::GET, &format!("/webhooks/{a_hook}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["data"]["enabled"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_allow_list_decides_about_local_targets() {
    let strict = TestServer::start().await;
    let api = Api::new(&strict).await;
    let (status, body) = api
        .register(json!({"webhookUrl": "http://127.0.0.1:9/hooks"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["message"], "The URL must use https");
    for url in ["https://127.0.0.1:9/hooks", "https://localhost/hooks"] {
        let (status, body) = api.register(json!({"webhookUrl": url})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        assert!(
            body["message"].as_str().unwrap().contains("loopback"),
            "{body}"
        );
    }
    // Public addresses and names are fine (registration sends no traffic).
    for url in [
        "https://93.184.215.14/hooks",
        "https://hooks.example.com/hooks",
    ] {
        let (status, body) = api.register(json!({"webhookUrl": url})).await;
        assert_eq!(status, StatusCode::OK, "{url}: {body}");
    }

    let relaxed = allow_local().await;
    let api = Api::new(&relaxed).await;
    let (status, _) = api
        .register(json!({"webhookUrl": "http://127.0.0.1:9/hooks"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    // Only the named target: another loopback address is still refused.
    let (status, _) = api
        .register(json!({"webhookUrl": "http://127.0.0.2:9/hooks"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread")]
async fn over_the_rate_limit_is_429_with_retry_after() {
    let server = TestServer::start_with(|c| c.api_rate_limit = 5).await;
    let api = Api::new(&server).await;
    let mut limited = None;
    for _ in 0..20 {
        let res = api
            .req(reqwest::Method::GET, "/webhooks")
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(res);
            break;
        }
        assert_eq!(res.status(), StatusCode::OK);
    }
    let res = limited.expect("20 requests at once exceed 5 per second");
    let retry: u64 = res.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=1).contains(&retry), "{retry}");
    assert_eq!(res.json::<Value>().await.unwrap()["succeed"], false);
    // Another project has its own budget.
    let other = Api::new(&server).await;
    assert_eq!(
        other
            .req(reqwest::Method::GET, "/webhooks")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}
