//! Events and where each one went (issue 25): `GET …/events` lists a
//! project's events with filters; `GET …/events/{id}` gives an event's
//! deliveries and every webhook it did not reach, with the reason as of
//! when it came in (filtered, disabled, auto-disabled, deleted, another
//! tenant); a portal sees its tenant's events and webhooks only.

use crate::receiver::{Receiver, Reply};
use crate::support::WAIT;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The reasons of an event's skipped webhooks, by webhook id.
fn reasons(event: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = event["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["webhookId"].as_str().unwrap().to_string(),
                s["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn an_event_says_where_it_went_and_why_not_elsewhere() {
    let rx = Receiver::start().await;
    rx.otherwise("gone", Reply::Status(410));
    let s = Api::new(|_| {}).await;
    let (reached, _) = s
        .register(&rx.url("reached"), json!({ "events": ["order.created"] }))
        .await;
    let (filtered, _) = s
        .register(
            &rx.url("filtered"),
            json!({ "events": ["order.paid", "order.refunded"] }),
        )
        .await;
    let (disabled, _) = s.register(&rx.url("disabled"), json!({})).await;
    let (deleted, _) = s.register(&rx.url("deleted"), json!({})).await;
    let (gone, _) = s.register(&rx.url("gone"), json!({})).await;
    let (tenant, _) = s
        .register(&rx.url("tenant"), json!({ "tenant": "acme" }))
        .await;

    // Before any change: an event that every enabled webhook of the project takes.
    let first = s.publish(json!({"event": "order.paid", "n": 1})).await;
    rx.wait_for("gone", 1, WAIT).await;

    let res = s
        .req(reqwest::Method::PATCH, &format!("/webhooks/{disabled}"))
        .json(&json!({ "enabled": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = s
        .req(reqwest::Method::DELETE, &format!("/webhooks/{deleted}"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    // A 410 disables its webhook at once.
    let gone_path = format!("/webhooks/{gone}");
    eventually(
        || s.get(&gone_path),
        |(_, w)| w["data"]["enabled"] == json!(false),
    )
    .await;

    let published = s
        .publish(json!({"event": "order.created", "order": {"id": "order_42"}}))
        .await;
    let id = published["id"].as_str().unwrap();
    rx.wait_for("reached", 1, WAIT).await;
    let (status, answer) = s.get(&format!("/events/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let event = &answer["data"];
    assert_eq!(event["id"], json!(id));
    assert_eq!(event["event"], json!("order.created"));
    assert_eq!(event["source"], json!("api"));
    assert_eq!(event["payload"]["order"]["id"], json!("order_42"));
    assert_eq!(event["deliveryCount"], json!(1));
    let deliveries = event["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0]["webhookId"], json!(reached));
    let mut want = vec![
        (filtered.clone(), "filtered".to_string()),
        (disabled.clone(), "disabled".to_string()),
        (deleted.clone(), "deleted".to_string()),
        (gone.clone(), "auto_disabled".to_string()),
        (tenant.clone(), "tenant".to_string()),
    ];
    want.sort();
    assert_eq!(reasons(event), want, "{event}");
    let skipped = event["skipped"].as_array().unwrap();
    let of = |id: &str| {
        skipped
            .iter()
            .find(|s| s["webhookId"] == json!(id))
            .unwrap()
    };
    assert_eq!(
        of(&filtered)["filter"],
        json!(["order.paid", "order.refunded"])
    );
    assert!(
        of(&gone)["detail"].as_str().unwrap().contains("410"),
        "{event}"
    );
    assert_eq!(of(&filtered)["webhookUrl"], json!(rx.url("filtered")));

    // The earlier event is judged as things stood then: only the filter
    // and the tenant kept anything from it.
    let first_id = first["id"].as_str().unwrap();
    let (_, answer) = s.get(&format!("/events/{first_id}")).await;
    let mut want = vec![
        (reached.clone(), "filtered".to_string()),
        (tenant.clone(), "tenant".to_string()),
    ];
    want.sort();
    assert_eq!(reasons(&answer["data"]), want, "{answer}");
    assert_eq!(answer["data"]["deliveryCount"], json!(4));

    // An event no webhook takes is still there, with every reason.
    let nobody = s.publish(json!({"event": "nobody.listens"})).await;
    assert_eq!(nobody["deliveries"], json!(0));
    let (_, answer) = s
        .get(&format!("/events/{}", nobody["id"].as_str().unwrap()))
        .await;
    assert_eq!(answer["data"]["deliveryCount"], json!(0));
    assert_eq!(answer["data"]["skipped"].as_array().unwrap().len(), 6);

    // A test event went to one webhook by name: nothing was skipped.
    let (status, sent) = s
        .call(&format!("/webhooks/{reached}/test"), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, answer) = s
        .get(&format!(
            "/events/{}",
            sent["data"]["eventId"].as_str().unwrap()
        ))
        .await;
    assert_eq!(answer["data"]["source"], json!("test"));
    assert_eq!(answer["data"]["skipped"], json!([]));

    // Another project's event is not found.
    let (status, _) = s.get("/events/evt_0123456789abcdef0123456789abcdef").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn events_are_listed_newest_first_with_filters_and_pages() {
    let s = Api::new(|_| {}).await;
    let rx = Receiver::start().await;
    s.register(&rx.url("a"), json!({ "events": ["a"] })).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let e = s
            .publish(
                json!({"event": if i % 2 == 0 { "a" } else { "b" }, "text": format!("needle-{i}")}),
            )
            .await;
        ids.push(e["id"].as_str().unwrap().to_string());
    }
    let batch = s
        .post("/events/batch")
        .json(&json!([{"event": "b", "x": 1}]))
        .send()
        .await
        .unwrap();
    assert_eq!(batch.status(), StatusCode::ACCEPTED);
    let listed = |v: &Value| -> Vec<String> {
        v["data"]["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    };

    let (status, all) = s.get("/events").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let all_ids = listed(&all);
    assert_eq!(all_ids.len(), 6);
    assert_eq!(all["data"]["events"][0]["source"], json!("batch"));
    let mut newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(all_ids[1..], newest_first[..]);
    // Deliveries counted per event: "a" goes to the webhook, "b" to none.
    assert_eq!(all["data"]["events"][1]["deliveryCount"], json!(1));
    assert_eq!(all["data"]["events"][2]["deliveryCount"], json!(0));

    let (_, by_name) = s.get("/events?event=a").await;
    newest_first = vec![ids[4].clone(), ids[2].clone(), ids[0].clone()];
    assert_eq!(listed(&by_name), newest_first);

    let (_, by_text) = s.get("/events?text=needle-3").await;
    assert_eq!(listed(&by_text), [ids[3].clone()]);
    assert_eq!(by_text["data"]["partial"], json!(false));

    // Pages of two, by cursor, cover everything once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/events?limit=2&cursor={c}"),
            None => "/events?limit=2".to_string(),
        };
        let (status, page) = s.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(listed(&page));
        match page["data"]["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, all_ids);

    // Time bounds: nothing before the first, everything since it.
    let (_, since) = s.get("/events?since=0").await;
    assert_eq!(listed(&since).len(), 6);
    let (_, until) = s.get("/events?until=1000").await;
    assert_eq!(listed(&until).len(), 0);
    let (_, iso) = s.get("/events?since=2020-01-01T00:00:00Z").await;
    assert_eq!(listed(&iso).len(), 6);

    for bad in [
        "/events?limit=0",
        "/events?limit=500",
        "/events?since=yesterday",
        "/events?cursor=nope",
        "/events?since=2000&until=1000",
        "/events?tenant=a%20b",
    ] {
        let (status, answer) = s.get(bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {answer}");
    }
}

#[tokio::test]
async fn a_portal_sees_its_tenants_events_and_webhooks_only() {
    let (s, admin) = Api::with_admin(|_| {}).await;
    let rx = Receiver::start().await;
    let (mine, _) = s
        .register(
            &rx.url("mine"),
            json!({ "tenant": "acme", "events": ["x"] }),
        )
        .await;
    s.register(&rx.url("theirs"), json!({ "tenant": "globex" }))
        .await;
    s.register(&rx.url("platform"), json!({})).await;
    let res = s
        .post("/events?tenant=acme")
        .json(&json!({"event": "order", "secret": "acme-only"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let acme_event: Value = res.json().await.unwrap();
    let acme_event = acme_event["data"]["id"].as_str().unwrap().to_string();
    let platform_event = s.publish(json!({"event": "order"})).await;
    let platform_event = platform_event["id"].as_str().unwrap().to_string();

    // The project sees both, and for the tenant's event the others' reasons.
    let (_, answer) = s.get(&format!("/events/{acme_event}")).await;
    assert_eq!(answer["data"]["tenant"], json!("acme"));
    let rs = reasons(&answer["data"]);
    assert_eq!(rs.len(), 3, "{answer}");
    assert!(rs.contains(&(mine.clone(), "filtered".into())));
    assert_eq!(rs.iter().filter(|(_, r)| r == "tenant").count(), 2);
    let (_, listed) = s.get("/events?tenant=acme").await;
    assert_eq!(listed["data"]["events"].as_array().unwrap().len(), 1);

    // The portal: its tenant's event, with its own webhook only.
    let (status, link) = s.call("/portal-links", json!({ "tenant": "acme" })).await;
    assert_eq!(status, StatusCode::OK);
    let token = link["data"]["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let anon = s.server.client();
    let res = server_fn(&s, &anon, "events/list", &[("project_id", &token)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page: Value = res.json().await.unwrap();
    let ids: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [acme_event.as_str()]);
    let res = server_fn(
        &s,
        &anon,
        "events/get",
        &[("project_id", &token), ("event_id", &acme_event)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let detail: Value = res.json().await.unwrap();
    let skipped: Vec<&str> = detail["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["webhook_id"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, [mine.as_str()]);
    let res = server_fn(
        &s,
        &anon,
        "events/get",
        &[("project_id", &token), ("event_id", &platform_event)],
    )
    .await;
    assert_eq!(app_error(res).await, signpost::model::AppError::NotFound);

    // The dashboard's pages draw both, with the reason in words.
    let project_page = page_text(
        &admin,
        s.server.url(&format!("/p/{}/events/{acme_event}", s.pid)),
    )
    .await;
    assert!(project_page.contains("Another tenant"), "{project_page}");
    assert!(project_page.contains("Filtered out"), "{project_page}");
    let portal_page = page_text(&anon, s.server.url(&format!("/portal/{token}/events"))).await;
    assert!(portal_page.contains(&acme_event), "{portal_page}");
    assert!(!portal_page.contains(&platform_event), "{portal_page}");
}
