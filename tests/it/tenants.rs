//! Tenants and the customer portal (issue 23): an event of one tenant
//! reaches that tenant's webhooks only; portal links expire and cannot be
//! altered; a link reaches its tenant's webhooks and deliveries and nothing
//! else, through every portal page and server function; the dashboard
//! cannot be framed, the portal can.

use crate::receiver::{Receiver, Reply};
use crate::support::WAIT;
use crate::support::*;
use reqwest::header::{ACCEPT, CONTENT_SECURITY_POLICY};
use reqwest::StatusCode;
use serde_json::{json, Value};
use signpost::model::{AppError, Webhook, WebhookWithSecret};

/// A portal link's URL for `tenant` (`extra`: more of the body).
async fn link(s: &Api, tenant: &str, extra: Value) -> String {
    let mut body = json!({ "tenant": tenant });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let (status, answer) = s.call("/portal-links", body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["data"]["url"].as_str().unwrap().to_string()
}

/// The token in a portal link.
fn token(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_string()
}

/// The ids of a webhook's deliveries, newest first.
async fn deliveries_of(s: &Api, webhook: &str) -> Vec<String> {
    let (_, page) = s.get(&format!("/webhooks/{webhook}/deliveries")).await;
    page["data"]["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn an_event_reaches_only_its_tenants_webhooks() {
    let rx = Receiver::start().await;
    rx.otherwise("a", Reply::Status(200));
    rx.otherwise("b", Reply::Status(200));
    rx.otherwise("own", Reply::Status(200));
    let s = Api::new(|_| {}).await;
    let (a, _) = s.register(&rx.url("a"), json!({ "tenant": "acme" })).await;
    s.register(&rx.url("b"), json!({ "tenant": "globex:eu-1" }))
        .await;
    s.register(&rx.url("own"), json!({})).await;

    // One event for acme, a batch for globex, one without a tenant.
    let res = s
        .post("/events?tenant=acme")
        .json(&json!({ "event": "messages", "to": "acme" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["data"]["deliveries"], 1);
    let batch: Vec<Value> = (0..3)
        .map(|n| json!({ "event": "messages", "to": "globex", "n": n }))
        .collect();
    let res = s
        .post("/events/batch?tenant=globex:eu-1")
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["data"]["deliveries"], 3);
    let data = s
        .publish(json!({ "event": "messages", "to": "platform" }))
        .await;
    assert_eq!(data["deliveries"], 1);
    // And one for a tenant that has no webhook: it goes nowhere.
    let res = s
        .post("/events?tenant=initech")
        .json(&json!({ "event": "messages", "to": "nobody" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["data"]["deliveries"], 0);

    let to = |hits: Vec<crate::receiver::Hit>| -> Vec<String> {
        hits.iter()
            .map(|h| h.json()["to"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(to(rx.wait_for("a", 1, WAIT).await), ["acme"]);
    assert_eq!(to(rx.wait_for("b", 3, WAIT).await), ["globex"; 3]);
    assert_eq!(to(rx.wait_for("own", 1, WAIT).await), ["platform"]);
    // Everything published is finished: nothing else arrives.
    eventually(
        || async {
            let (_, m) = s.get(&format!("/webhooks/{a}/deliveries")).await;
            m["data"]["deliveries"][0]["status"].clone()
        },
        |v| v == "succeeded",
    )
    .await;
    assert_eq!(
        (rx.count("a"), rx.count("b"), rx.count("own")),
        (1, 3, 1),
        "no event crossed to another tenant"
    );

    // `?tenant=` lists one tenant's webhooks; the tenant is in every answer.
    let (_, list) = s.get("/webhooks?tenant=acme").await;
    let list = list["data"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["tenant"], "acme");
    let (_, all) = s.get("/webhooks").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 3);
    let (_, one) = s.get(&format!("/webhooks/{a}")).await;
    assert_eq!(one["data"]["tenant"], "acme");
}

#[tokio::test]
async fn tenants_are_checked_and_a_url_is_unique_per_tenant() {
    let s = Api::new(|_| {}).await;
    for bad in ["", "a b", "é", &"x".repeat(65)] {
        let (status, answer) = s
            .call(
                "/webhooks",
                json!({ "webhookUrl": "http://127.0.0.1:9/x", "tenant": bad }),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad:?}: {answer}"
        );
        let res = s
            .post(&format!(
                "/events?tenant={}",
                url::form_urlencoded::byte_serialize(bad.as_bytes()).collect::<String>()
            ))
            .json(&json!({ "event": "e" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
    }
    let (status, _) = s.get("/webhooks?tenant=a%20b").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Two tenants may register one URL (neither learns of the other); one
    // tenant may not twice.
    let url = "http://127.0.0.1:9/shared";
    s.register(url, json!({ "tenant": "acme" })).await;
    s.register(url, json!({ "tenant": "globex" })).await;
    s.register(url, json!({})).await;
    let (status, _) = s
        .call("/webhooks", json!({ "webhookUrl": url, "tenant": "acme" }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_link_expires_cannot_be_altered_and_is_no_api_credential() {
    let s = Api::new(|_| {}).await;
    let (status, answer) = s
        .call(
            "/portal-links",
            json!({ "tenant": "acme", "ttlSeconds": 7 * 86_400 + 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    for bad in [
        json!({ "tenant": "a b" }),
        json!({ "tenant": "acme", "ttlSeconds": 0 }),
    ] {
        let (status, _) = s.call("/portal-links", bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (status, answer) = s
        .call(
            "/portal-links",
            json!({ "tenant": "acme", "ttlSeconds": 604_800 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let url = answer["data"]["url"].as_str().unwrap();
    assert!(
        url.starts_with(&s.server.url("/portal/pt_")),
        "absolute, on this server: {url}"
    );
    assert!(answer["data"]["expiresAt"].as_str().unwrap().ends_with('Z'));

    let browser = s.server.client();
    let page = browser.get(url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("acme"));

    // One character changed anywhere: not valid.
    let t = token(url);
    let mid = t.len() / 2;
    let flipped = if &t[mid..=mid] == "A" { "B" } else { "A" };
    let altered = format!("{}{flipped}{}", &t[..mid], &t[mid + 1..]);
    let res = browser
        .get(s.server.url(&format!("/portal/{altered}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let text = res.text().await.unwrap();
    assert!(text.contains("This link is not valid"), "{text}");
    assert!(!text.contains("Add webhook"));
    let res = server_fn(&s, &browser, "webhooks/list", &[("project_id", &altered)]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // An expired link says so, and its server functions refuse. (A page
    // drawn just as it expires may still show its frame; the next does not.)
    let short = link(&s, "acme", json!({ "ttlSeconds": 1 })).await;
    let (status, text) = eventually(
        || async {
            let res = browser.get(&short).send().await.unwrap();
            (res.status(), res.text().await.unwrap())
        },
        |(status, text)| *status == StatusCode::GONE && !text.contains("portal-bar"),
    )
    .await;
    assert_eq!(status, StatusCode::GONE);
    assert!(text.contains("This link has expired"), "{text}");
    assert!(!text.contains("Add webhook"));
    let res = server_fn(
        &s,
        &browser,
        "webhooks/list",
        &[("project_id", &token(&short))],
    )
    .await;
    assert_eq!(res.status(), StatusCode::GONE);

    // The token opens no route of the management API.
    let res = browser
        .get(s.server.url(&format!("/projects/{}/webhooks", s.pid)))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = browser
        .get(s.server.url(&format!("/projects/{}/webhooks", s.pid)))
        .basic_auth(&s.pid, Some(&t))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = browser
        .get(s.server.url(&format!("/projects/{t}/webhooks")))
        .basic_auth(&t, Some(&s.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

/// Every server function a portal page calls, with another tenant's (or
/// the platform's own) webhook and delivery: 404, and nothing changes.
#[tokio::test]
async fn a_link_reaches_its_tenant_and_nothing_else() {
    let rx = Receiver::start().await;
    for path in ["a", "b", "own"] {
        rx.otherwise(path, Reply::Status(200));
    }
    let (s, admin) = Api::with_admin(|c| {
        c.delivery.retry_base_ms = 60_000;
    })
    .await;
    let (a, _) = s.register(&rx.url("a"), json!({ "tenant": "acme" })).await;
    let (b, _) = s
        .register(&rx.url("b"), json!({ "tenant": "globex" }))
        .await;
    let (own, _) = s.register(&rx.url("own"), json!({})).await;
    for (tenant, path) in [("acme", "a"), ("globex", "b")] {
        let res = s
            .post(&format!("/events?tenant={tenant}"))
            .json(&json!({ "event": "messages", "for": path }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::ACCEPTED);
    }
    s.publish(json!({ "event": "messages", "for": "own" }))
        .await;
    for path in ["a", "b", "own"] {
        rx.wait_for(path, 1, WAIT).await;
    }
    let dlv = |w: &str| {
        let w = w.to_string();
        let s = &s;
        async move { deliveries_of(s, &w).await.remove(0) }
    };
    let (da, db, downn) = (dlv(&a).await, dlv(&b).await, dlv(&own).await);

    let t = token(&link(&s, "acme", json!({})).await);
    let anyone = s.server.client();
    let since = (signpost::server::db::now_ms() - 3_600_000).to_string();
    let webhook_calls = |w: &str| -> Vec<(&'static str, Vec<(&'static str, String)>)> {
        let w = w.to_string();
        vec![
            ("webhooks/get", vec![]),
            ("deliveries/hourly", vec![]),
            ("deliveries/replay_count", vec![("since", since.clone())]),
            ("webhooks/test", vec![]),
            ("deliveries/replay", vec![("since", since.clone())]),
            ("webhooks/set_enabled", vec![("enabled", "false".into())]),
            (
                "webhooks/edit",
                vec![("description", "mine".into()), ("events", "*".into())],
            ),
            ("webhooks/rotate", vec![("grace_seconds", "0".into())]),
            ("webhooks/finish_rotation", vec![]),
            ("webhooks/delete", vec![]),
        ]
        .into_iter()
        .map(|(e, mut rest)| {
            rest.insert(0, ("webhook_id", w.clone()));
            (e, rest)
        })
        .collect()
    };
    for theirs in [&b, &own] {
        for (endpoint, rest) in webhook_calls(theirs) {
            let mut form: Vec<(&str, &str)> = vec![("project_id", &t)];
            form.extend(rest.iter().map(|(k, v)| (*k, v.as_str())));
            let res = server_fn(&s, &anyone, endpoint, &form).await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{endpoint} {theirs}");
        }
        // A plain (forged) form post changes nothing either.
        let res = plain_form_post(
            &anyone,
            s.server.url("/api/webhooks/delete"),
            s.server.url(&format!("/portal/{t}")),
            &[("project_id", &t), ("webhook_id", theirs)],
        )
        .await;
        assert_ne!(res.status(), StatusCode::OK);
        let (status, w) = s.get(&format!("/webhooks/{theirs}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            (
                w["data"]["enabled"].clone(),
                w["data"]["description"].clone()
            ),
            (json!(true), json!("")),
            "untouched"
        );
    }
    for theirs in [&db, &downn] {
        for endpoint in [
            "deliveries/get",
            "deliveries/redeliver",
            "deliveries/cancel",
        ] {
            let res = server_fn(
                &s,
                &anyone,
                endpoint,
                &[("project_id", &t), ("delivery_id", theirs)],
            )
            .await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{endpoint} {theirs}");
        }
        // Nor by page.
        let res = anyone
            .get(s.server.url(&format!("/portal/{t}/deliveries/{theirs}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
    for theirs in [&b, &own] {
        let res = anyone
            .get(s.server.url(&format!("/portal/{t}/webhooks/{theirs}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert!(!res.text().await.unwrap().contains("127.0.0.1"));
    }
    // A delivery the redeliver above would have made does not exist.
    assert_eq!(deliveries_of(&s, &b).await.len(), 1);
    assert_eq!(deliveries_of(&s, &own).await.len(), 1);

    // The lists hold the tenant's own only, whatever the filter asks.
    let list: Vec<Webhook> = server_fn(&s, &anyone, "webhooks/list", &[("project_id", &t)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        list.iter().map(|w| w.id.as_str()).collect::<Vec<_>>(),
        [a.as_str()]
    );
    for filter in [
        vec![],
        vec![("filter[tenant]", "globex")],
        vec![("filter[webhook]", b.as_str())],
    ] {
        let mut form = vec![("project_id", t.as_str())];
        form.extend(filter.iter().cloned());
        let res = server_fn(&s, &anyone, "deliveries/list", &form).await;
        assert_eq!(res.status(), StatusCode::OK, "{filter:?}");
        let page: Value = res.json().await.unwrap();
        let ids: Vec<&str> = page["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap())
            .collect();
        match filter.is_empty() {
            true => assert_eq!(ids, [da.as_str()]),
            false => assert!(ids.iter().all(|id| *id == da), "{filter:?}: {ids:?}"),
        }
    }
    let health: Value = server_fn(&s, &anyone, "deliveries/health", &[("project_id", &t)])
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = health
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["webhook_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [a.as_str()]);
    let page = anyone
        .get(s.server.url(&format!("/portal/{t}/deliveries")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&da) && !page.contains(&db) && !page.contains(&downn));
    assert!(page.contains(&rx.url("a")) && !page.contains(&rx.url("b")));

    // The dashboard's own functions do not take a token.
    for (endpoint, form) in [
        ("projects/get", vec![("project_id", t.as_str())]),
        (
            "projects/rename",
            vec![("project_id", t.as_str()), ("name", "x")],
        ),
        (
            "projects/regenerate_secret",
            vec![("project_id", t.as_str())],
        ),
        ("activity/project", vec![("project_id", t.as_str())]),
        ("portal/look", vec![("project_id", t.as_str())]),
        (
            "portal/set_look",
            vec![("project_id", t.as_str()), ("name", "x"), ("accent", "")],
        ),
    ] {
        let res = server_fn(&s, &anyone, endpoint, &form).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{endpoint}");
    }
    // Nor does a portal show the dashboard's pages.
    for path in ["settings", "activity"] {
        let res = anyone
            .get(s.server.url(&format!("/portal/{t}/{path}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }

    // The tenant's own: each function works, and changes are recorded as
    // the portal's.
    for (endpoint, rest) in webhook_calls(&a) {
        if endpoint == "webhooks/delete" {
            continue;
        }
        let mut form: Vec<(&str, &str)> = vec![("project_id", &t)];
        form.extend(rest.iter().map(|(k, v)| (*k, v.as_str())));
        let res = server_fn(&s, &anyone, endpoint, &form).await;
        let status = res.status();
        let text = res.text().await.unwrap();
        // The test send and the replay refuse a disabled webhook (the
        // set_enabled before them disabled it): a 409 about it, not a 404.
        assert!(
            status.is_success() || status == StatusCode::CONFLICT,
            "{endpoint}: {status} {text}"
        );
    }
    let res = server_fn(
        &s,
        &anyone,
        "webhooks/pace",
        &[
            ("project_id", &t),
            ("webhook_id", &a),
            ("ordering_key", "/x"),
            ("max_concurrency", "256"),
            ("rate_limit", ""),
        ],
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "the pace is the platform's"
    );
    for endpoint in ["webhooks/edit", "webhooks/create"] {
        let res = server_fn(
            &s,
            &anyone,
            endpoint,
            &[
                ("project_id", &t),
                ("webhook_id", &a),
                ("url", &rx.url("paced")),
                ("scheme", "spectrum-v0"),
                ("rate_limit", "5"),
            ],
        )
        .await;
        assert_eq!(
            res.status(),
            StatusCode::FORBIDDEN,
            "{endpoint}: nor through another form"
        );
    }
    let made: WebhookWithSecret = server_fn(
        &s,
        &anyone,
        "webhooks/create",
        &[
            ("project_id", &t),
            ("url", &rx.url("new")),
            ("description", ""),
            ("events", "*"),
            ("scheme", "spectrum-v0"),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        made.webhook.tenant.as_deref(),
        Some("acme"),
        "the link's tenant"
    );
    let res = server_fn(
        &s,
        &anyone,
        "deliveries/redeliver",
        &[("project_id", &t), ("delivery_id", &da)],
    )
    .await;
    // Disabled above: refused for that reason, which is no 404.
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let activity: Vec<Value> = admin
        .post(s.server.url("/api/activity/project"))
        .form(&[("project_id", s.pid.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let by_portal = activity
        .iter()
        .filter(|e| e.to_string().contains("portal: acme"))
        .count();
    assert!(by_portal >= 4, "{activity:?}");
}

#[tokio::test]
async fn a_read_only_link_shows_and_changes_nothing() {
    let s = Api::new(|_| {}).await;
    let (a, _) = s
        .register("http://127.0.0.1:9/a", json!({ "tenant": "acme" }))
        .await;
    let t = token(&link(&s, "acme", json!({ "readOnly": true })).await);
    let anyone = s.server.client();
    let res = server_fn(
        &s,
        &anyone,
        "webhooks/get",
        &[("project_id", &t), ("webhook_id", &a)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    for (endpoint, form) in [
        (
            "webhooks/set_enabled",
            vec![
                ("project_id", t.as_str()),
                ("webhook_id", &a),
                ("enabled", "false"),
            ],
        ),
        (
            "webhooks/delete",
            vec![("project_id", &t), ("webhook_id", &a)],
        ),
        (
            "webhooks/test",
            vec![("project_id", &t), ("webhook_id", &a)],
        ),
        (
            "webhooks/create",
            vec![
                ("project_id", &t),
                ("url", "http://127.0.0.1:9/b"),
                ("description", ""),
                ("events", "*"),
                ("scheme", "spectrum-v0"),
            ],
        ),
    ] {
        let res = server_fn(&s, &anyone, endpoint, &form).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{endpoint}");
        assert!(matches!(app_error(res).await, AppError::Forbidden(_)));
    }
    let (_, w) = s.get(&format!("/webhooks/{a}")).await;
    assert_eq!(w["data"]["enabled"], true);
    let (_, all) = s.get("/webhooks").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 1);
    let page = page_text(&anyone, s.server.url(&format!("/portal/{t}"))).await;
    assert!(page.contains("Read-only") && !page.contains("Add webhook"));
}

#[tokio::test]
async fn a_secret_made_in_the_portal_is_shown_once_without_a_session() {
    let s = Api::new(|_| {}).await;
    let t = token(&link(&s, "acme", json!({})).await);
    let anyone = s.server.client();
    let page = s.server.url(&format!("/portal/{t}/webhooks"));
    // Before hydration: a plain form post, redirected back with the
    // result's id.
    let res = plain_form_post(
        &anyone,
        s.server.url("/api/webhooks/create"),
        page.clone(),
        &[
            ("project_id", &t),
            ("url", "http://127.0.0.1:9/once"),
            ("description", ""),
            ("events", "*"),
            ("scheme", "spectrum-v0"),
        ],
    )
    .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    let back = location(&res);
    assert!(
        back.starts_with(&format!("/portal/{t}/webhooks?done=shown-")),
        "{back}"
    );
    assert!(session_cookie(res.headers()).is_none(), "no session");
    let shown = page_text(&anyone, s.server.url(&back)).await;
    eprintln!("DEBUG {shown}");
    assert!(shown.contains("Webhook added") && shown.contains("Signing secret"));
    let again = page_text(&anyone, s.server.url(&back)).await;
    assert!(!again.contains("Webhook added"), "once");
    let (_, list) = s.get("/webhooks?tenant=acme").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);

    // Another tenant's link cannot take one.
    let res = plain_form_post(
        &anyone,
        s.server.url("/api/webhooks/rotate"),
        page.clone(),
        &[
            ("project_id", &t),
            ("webhook_id", list["data"][0]["id"].as_str().unwrap()),
            ("grace_seconds", "0"),
        ],
    )
    .await;
    let id = location(&res).rsplit("shown-").next().unwrap().to_string();
    assert_eq!(id.len(), 64, "{}", location(&res));
    let other = token(&link(&s, "globex", json!({})).await);
    let res = server_fn(
        &s,
        &anyone,
        "portal/shown",
        &[("token", &other), ("id", &id)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap(), Value::Null);
}

#[tokio::test]
async fn the_dashboard_refuses_frames_the_portal_takes_them() {
    let s = Api::new(|c| {
        c.portal_frame_ancestors = "https://app.example.com https://*.example.org".into();
    })
    .await;
    let t = token(&link(&s, "acme", json!({})).await);
    let anyone = s.server.client();
    let csp = |res: &reqwest::Response| {
        res.headers()
            .get(CONTENT_SECURITY_POLICY)
            .map(|v| v.to_str().unwrap().to_string())
    };
    for path in ["/login", "/", "/p/x/webhooks"] {
        let res = anyone.get(s.server.url(path)).send().await.unwrap();
        assert_eq!(
            csp(&res).as_deref(),
            Some("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(res.headers()["x-frame-options"], "DENY");
    }
    let res = anyone
        .get(s.server.url(&format!("/portal/{t}")))
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(
        csp(&res).as_deref(),
        Some("frame-ancestors https://app.example.com https://*.example.org")
    );
    assert!(res.headers().get("x-frame-options").is_none());
    assert_eq!(res.headers()["referrer-policy"], "same-origin");
}

#[tokio::test]
async fn the_portal_wears_the_platforms_name_and_colour() {
    let (s, admin) = Api::with_admin(|_| {}).await;
    let set = |name: &'static str, accent: &'static str| {
        admin
            .post(s.server.url("/api/portal/set_look"))
            .form(&[
                ("project_id", s.pid.as_str()),
                ("name", name),
                ("accent", accent),
            ])
            .send()
    };
    let res = set("Acme Cloud", "red").await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = set("Acme Cloud", "#0B7285").await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let t = token(&link(&s, "acme", json!({})).await);
    let page = page_text(&s.server.client(), s.server.url(&format!("/portal/{t}"))).await;
    assert!(page.contains("Acme Cloud"), "the platform's name");
    assert!(page.contains("--accent: #0b7285"), "its colour");
    assert!(!page.contains("Deliveries"), "not the project's own name");
}

#[tokio::test]
async fn a_link_is_held_to_the_rate_limit_per_tenant() {
    let s = Api::new(|c| c.api_rate_limit = 2).await;
    let acme = token(&link(&s, "acme", json!({})).await);
    let globex = token(&link(&s, "globex", json!({})).await);
    let anyone = s.server.client();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let res = server_fn(&s, &anyone, "webhooks/list", &[("project_id", &acme)]).await;
        statuses.push(res.status());
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let res = server_fn(&s, &anyone, "webhooks/list", &[("project_id", &acme)]).await;
    if res.status() == StatusCode::TOO_MANY_REQUESTS {
        assert!(matches!(app_error(res).await, AppError::RateLimited { .. }));
    }
    // Another tenant has its own.
    let res = server_fn(&s, &anyone, "webhooks/list", &[("project_id", &globex)]).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn regenerating_the_project_secret_revokes_every_link() {
    let (s, admin) = Api::with_admin(|_| {}).await;
    let url = link(&s, "acme", json!({})).await;
    let anyone = s.server.client();
    let res = anyone.get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = admin
        .post(s.server.url("/api/projects/regenerate_secret"))
        .form(&[("project_id", s.pid.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = anyone.get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::GONE);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("This link has been revoked"));
}

#[tokio::test]
async fn a_tenant_adds_at_most_a_hundred_webhooks_through_its_portal() {
    let s = Api::new(|_| {}).await;
    for i in 0..signpost::model::MAX_PORTAL_WEBHOOKS {
        s.register(
            &format!("http://127.0.0.1:9/{i}"),
            json!({ "tenant": "acme" }),
        )
        .await;
    }
    let t = token(&link(&s, "acme", json!({})).await);
    let form = |url: &'static str| {
        vec![
            ("project_id", t.clone()),
            ("url", url.to_string()),
            ("description", String::new()),
            ("events", "*".to_string()),
            ("scheme", "spectrum-v0".to_string()),
        ]
    };
    let anyone = s.server.client();
    let res = anyone
        .post(s.server.url("/api/webhooks/create"))
        .form(&form("http://127.0.0.1:9/one-more"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    // Another tenant is not held back by acme's.
    let other = token(&link(&s, "globex", json!({})).await);
    let mut f = form("http://127.0.0.1:9/one-more");
    f[0].1 = other;
    let res = anyone
        .post(s.server.url("/api/webhooks/create"))
        .form(&f)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// A portal page draws with many server functions in one request: it counts
/// once against the link's rate limit (`--api-rate-limit` a second per
/// tenant), where each call from a script counts on its own.
#[tokio::test]
async fn a_portal_page_counts_once_against_the_links_rate_and_each_script_call_counts() {
    let s = Api::new(|c| c.api_rate_limit = 3).await;
    s.register("http://127.0.0.1:9/acme", json!({ "tenant": "acme" }))
        .await;
    let url = link(&s, "acme", json!({})).await;
    let anyone = s.server.client();
    let page = page_text(&anyone, url.clone()).await;
    assert!(page.contains("127.0.0.1:9/acme"), "{page}");
    assert!(!page.contains("Too many requests"), "{page}");
    let token = token(&url);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let res = server_fn(&s, &anyone, "webhooks/list", &[("project_id", &token)]).await;
        statuses.push(res.status());
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

/// Leptos may draw a portal page's shown-once dialog twice and drop the
/// first run. A run dropped after it deleted the kept secret, before it
/// heard back, must still leave the secret to the page's second run (before
/// the take ran in a task of its own, the second run found nothing and the
/// "Webhook added" dialog did not appear).
#[tokio::test(flavor = "multi_thread")]
async fn a_secret_taken_by_a_dropped_run_reaches_the_pages_next_run() {
    use signpost::model::{ProjectCredentials, ShownOnce};
    use signpost::server::{config::Config, db, portal, secrets::SecretBox, state::AppState};
    use std::future::Future;

    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path(), "p.db").await;
    let pool = db::connect(&url).await.unwrap();
    db::migrate(&pool).await.unwrap();
    let options = leptos::config::LeptosOptions::builder()
        .output_name("signpost")
        .build();
    let secrets = SecretBox::from_key(&[7; 32]);
    let state = AppState::new(pool.clone(), Config::for_database(url), options, secrets);
    let grant = portal::Grant {
        project_id: "prj_aaaaaaaaaaaaaaaaaaaa".into(),
        tenant: "acme".into(),
        expires_at: db::now_ms() + 60_000,
        read_only: false,
        secret: "0123456789abcdef".into(),
    };
    let what = ShownOnce::ProjectSecret(ProjectCredentials {
        id: grant.project_id.clone(),
        secret: "s".repeat(64),
    });
    let kept = || async {
        let n: i64 =
            signpost::on_db!(&pool, p => sqlx::query_scalar("SELECT count(*) FROM portal_shown")
            .fetch_one(p)
            .await)
            .unwrap();
        n
    };
    let id = portal::keep_shown(&state, &grant, &what).await.unwrap();
    assert_eq!(kept().await, 1);

    let memo = portal::TakenThisRequest::default();
    let mut first = Box::pin(portal::take_shown(&state, &grant, &id, Some(memo.clone())));
    // Poll the first run until its row is gone (or it is done), then drop it.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let polled =
            std::future::poll_fn(|cx| std::task::Poll::Ready(first.as_mut().poll(cx))).await;
        if polled.is_ready() || kept().await == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the first run never took the row"
        );
        tokio::task::yield_now().await;
    }
    drop(first);

    let second = portal::take_shown(&state, &grant, &id, Some(memo))
        .await
        .unwrap();
    assert_eq!(second, Some(what));
    // And it was taken once: another request finds nothing.
    let other = portal::take_shown(
        &state,
        &grant,
        &id,
        Some(portal::TakenThisRequest::default()),
    )
    .await
    .unwrap();
    assert_eq!(other, None);
}
