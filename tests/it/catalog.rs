//! The event catalog (issue 25): event types with a description, a JSON
//! Schema and an example; publishing checks an event against its type's
//! schema (422 naming the path, and in a batch the event); a schema that is
//! not valid is refused when saved; a change made through another process
//! is in force for the next publish; a test send uses the type's example.

use crate::receiver::Receiver;
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

async fn put(s: &Api, name: &str, body: Value) -> (StatusCode, Value) {
    let res = s
        .req(Method::PUT, &format!("/event-types/{name}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status(), res.json().await.unwrap())
}

fn order_schema() -> Value {
    json!({
        "type": "object",
        "required": ["orderId"],
        "properties": {
            "orderId": {"type": "string"},
            "lines": {"type": "array", "items": {
                "type": "object",
                "properties": {"qty": {"type": "integer", "minimum": 1}}
            }}
        }
    })
}

#[tokio::test]
async fn types_are_saved_read_and_deleted_and_their_schemas_checked_at_publish() {
    let s = Api::new(|_| {}).await;
    let (status, saved) = put(
        &s,
        "order.created",
        json!({"description": "A customer placed an order", "schema": order_schema(),
               "example": {"orderId": "o_1", "lines": [{"qty": 2}]}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["data"]["name"], json!("order.created"));
    assert_eq!(saved["data"]["schema"], order_schema());
    // The example gets its `event`.
    assert_eq!(saved["data"]["example"]["event"], json!("order.created"));
    let (status, _) = put(&s, "order.paid", json!({"description": "Paid"})).await;
    assert_eq!(status, StatusCode::OK);

    let (status, list) = s.get("/event-types").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["order.created", "order.paid"]);
    let (status, one) = s.get("/event-types/order.paid").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["data"]["schema"], Value::Null);

    // Publishing: a match goes through; a mismatch is refused with its path.
    s.publish(json!({"event": "order.created", "orderId": "o_2"}))
        .await;
    let (status, answer) = s
        .publish_raw(r#"{"event":"order.created","orderId":42}"#, None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains("/orderId: "), "{message}");
    assert!(message.contains("string"), "{message}");
    let (status, answer) = s
        .publish_raw(
            r#"{"event":"order.created","orderId":"o","lines":[{"qty":1},{"qty":0}]}"#,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer["message"].as_str().unwrap().contains("/lines/1/qty"),
        "{answer}"
    );
    // A type without a schema, and a name not in the catalog, are not checked.
    s.publish(json!({"event": "order.paid", "anything": 1}))
        .await;
    s.publish(json!({"event": "unknown.kind"})).await;

    // A batch names the event that failed, and stores none of it.
    let (_, before) = s.get("/events").await;
    let before = before["data"]["events"].as_array().unwrap().len();
    let res = s
        .post("/events/batch")
        .json(&json!([
            {"event": "order.created", "orderId": "fine"},
            {"event": "order.created"}
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let answer: Value = res.json().await.unwrap();
    let message = answer["message"].as_str().unwrap();
    assert!(message.starts_with("Event 1 of the batch"), "{message}");
    assert!(message.contains("orderId"), "{message}");
    let (_, after) = s.get("/events").await;
    assert_eq!(after["data"]["events"].as_array().unwrap().len(), before);

    // Deleted: no longer checked, and gone.
    let res = s
        .req(Method::DELETE, "/event-types/order.created")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    s.publish(json!({"event": "order.created", "orderId": 42}))
        .await;
    let (status, _) = s.get("/event-types/order.created").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let res = s
        .req(Method::DELETE, "/event-types/order.created")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_types_are_refused_when_saved() {
    let s = Api::new(|_| {}).await;
    for (name, body, why) in [
        (
            "x",
            json!({"schema": {"type": "invalid_type"}}),
            "not valid",
        ),
        ("x", json!({"schema": {"minimum": "ten"}}), "not valid"),
        (
            "x",
            json!({"schema": {"$ref": "https://example.com/s.json"}}),
            "not valid",
        ),
        ("x", json!({"schema": [1]}), "JSON object"),
        ("x", json!({"example": "text"}), "JSON object"),
        ("x", json!({"example": {"event": "y"}}), "\"x\""),
        (
            "x",
            json!({"schema": order_schema(), "example": {"orderId": 1}}),
            "/orderId",
        ),
        ("has space", json!({}), "not an event name"),
        ("x", json!({"description": "d".repeat(1001)}), "at most"),
    ] {
        let (status, answer) = put(&s, name, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(why), "{body}: {message}");
    }
    let (_, list) = s.get("/event-types").await;
    assert_eq!(list["data"], json!([]));
}

#[tokio::test]
async fn a_change_through_another_process_is_in_force_for_the_next_publish() {
    let a = Api::new(|_| {}).await;
    let b = a.beside(|_| {}).await;
    // B compiles the project's (empty) catalog on its first publish.
    b.publish(json!({"event": "order.created", "orderId": 1}))
        .await;
    let (status, _) = put(&a, "order.created", json!({"schema": order_schema()})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = b
        .publish_raw(r#"{"event":"order.created","orderId":1}"#, None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    put(&a, "order.created", json!({})).await;
    b.publish(json!({"event": "order.created", "orderId": 1}))
        .await;
}

#[tokio::test]
async fn a_test_send_uses_the_example_of_a_type_the_webhook_takes() {
    let rx = Receiver::start().await;
    let s = Api::new(|_| {}).await;
    let (id, _) = s
        .register(&rx.url("hook"), json!({ "events": ["order.created"] }))
        .await;
    put(
        &s,
        "order.created",
        json!({"example": {"orderId": "example-order"}}),
    )
    .await;
    put(&s, "other", json!({"example": {"no": "this one"}})).await;
    let (status, _) = s.call(&format!("/webhooks/{id}/test"), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let hits = rx.wait_for("hook", 1, Duration::from_secs(30)).await;
    let body = hits[0].json();
    assert_eq!(body["event"], json!("order.created"));
    assert_eq!(body["orderId"], json!("example-order"));
}

#[tokio::test]
async fn the_dashboard_saves_types_from_text_and_a_portal_reads_them() {
    let (s, admin) = Api::with_admin(|_| {}).await;
    let pid = s.pid.clone();
    let save = |schema: &'static str| {
        let (s, admin, pid) = (&s, &admin, pid.clone());
        async move {
            server_fn(
                s,
                admin,
                "catalog/save",
                &[
                    ("project_id", &pid),
                    ("name", " order.created "),
                    ("description", "Placed"),
                    ("schema", schema),
                    ("example", ""),
                ],
            )
            .await
        }
    };
    let res = save("{not json").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err = app_error(res).await;
    assert!(
        matches!(&err, signpost::model::AppError::Invalid(m) if m.contains("schema is not JSON")),
        "{err:?}"
    );
    let res = save(r#"{"required": ["orderId"]}"#).await;
    assert_eq!(res.status(), StatusCode::OK);
    let (_, one) = s.get("/event-types/order.created").await;
    assert_eq!(one["data"]["description"], json!("Placed"));
    assert_eq!(one["data"]["schema"], json!({"required": ["orderId"]}));

    let (_, link) = s.call("/portal-links", json!({ "tenant": "acme" })).await;
    let token = link["data"]["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let anon = s.server.client();
    let res = server_fn(&s, &anon, "catalog/list", &[("project_id", &token)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let types: Value = res.json().await.unwrap();
    assert_eq!(types[0]["name"], json!("order.created"));
    // ...and changes nothing.
    let res = server_fn(
        &s,
        &anon,
        "catalog/delete",
        &[("project_id", &token), ("name", "order.created")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let page = page_text(&admin, s.server.url(&format!("/p/{pid}/catalog"))).await;
    assert!(
        page.contains("order.created") && page.contains("Placed"),
        "{page}"
    );
}
