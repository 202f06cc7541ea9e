//! Alerts that reach people (issue 24): a webhook auto-disabled, failing
//! every delivery, or falling behind is told once per episode, by email to
//! the people who reach its project (and have not turned it off), and on
//! the project's pages; its recovery is told too; a mail server that is
//! down is tried again and holds up no delivery.

use crate::receiver::{Receiver, Reply};
use crate::smtp::{Mail, Smtp};
use crate::support::WAIT;
use crate::support::*;
use reqwest::{Client, StatusCode};
use serde_json::json;
use signpost::model::{Role, SignInLink};
use std::time::Duration;

/// A teammate given `projects`, joined, with `alerts` on or off.
async fn teammate(s: &Api, admin: &Client, email: &str, projects: &[&str], alerts: bool) {
    let keys: Vec<String> = (0..projects.len())
        .map(|i| format!("projects[{i}]"))
        .collect();
    let mut form = vec![("email", email), ("role", Role::Member.as_str())];
    form.extend(
        keys.iter()
            .map(String::as_str)
            .zip(projects.iter().copied()),
    );
    let res = admin
        .post(s.server.url("/api/team/add"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let link: SignInLink = res.json().await.unwrap();
    let token = link.url.rsplit('/').next().unwrap().to_string();
    let client = s.server.client();
    let res = client
        .post(s.server.url("/api/join"))
        .form(&[
            ("token", token.as_str()),
            ("password", ADMIN_PASSWORD),
            ("confirm", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    if !alerts {
        let res = client
            .post(s.server.url("/api/account/set_alert_emails"))
            .form(&[("enabled", "false")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
}

fn to(mails: &[Mail]) -> Vec<String> {
    let mut to: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    to
}

fn quick(c: &mut signpost::server::config::Config, smtp: &Smtp) {
    c.alerts.smtp_url = Some(smtp.url());
    c.alerts.alert_check_ms = 100;
    c.alerts.alert_email_retry_ms = 200;
    c.public_url = Some("https://hooks.example.com".into());
    c.allowed_hosts = "127.0.0.1".parse().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_auto_disabled_webhook_is_told_once_to_the_right_people_and_so_is_its_recovery() {
    let smtp = Smtp::start().await;
    let rx = Receiver::start().await;
    rx.otherwise("gone", Reply::Status(410));
    let (s, admin) = Api::with_admin(|c| quick(c, &smtp)).await;
    teammate(&s, &admin, "given@example.com", &[&s.pid], true).await;
    teammate(&s, &admin, "quiet@example.com", &[&s.pid], false).await;
    teammate(&s, &admin, "elsewhere@example.com", &[], true).await;
    let (wid, _) = s.register(&rx.url("gone"), json!({})).await;

    s.publish(json!({ "event": "e" })).await;
    let mails = smtp.wait_for(2, WAIT).await;
    assert_eq!(to(&mails), [ADMIN_EMAIL, "given@example.com"]);
    let mail = &unfolded(&mails[0].data);
    assert!(mail.contains("was disabled automatically"), "{mail}");
    assert!(mail.contains(&rx.url("gone")), "names the URL");
    assert!(mail.contains("Deliveries"), "names the project");
    let link = format!("https://hooks.example.com/p/{}/webhooks/{wid}", s.pid);
    assert!(mail.contains(&link), "links the webhook's page: {mail}");
    assert!(mail.contains("text/plain") && mail.contains("text/html"));

    // The project's pages say so while it is open.
    let page = page_text(&admin, s.server.url(&format!("/p/{}/deliveries", s.pid))).await;
    assert!(page.contains("Needs attention") && page.contains("was disabled automatically"));

    // No second email for the same episode, however often it is checked.
    let alerts_before = count_alerts(&s).await;
    tokio::time::sleep(Duration::from_millis(600)).await; // six checks
    assert_eq!(smtp.mails().len(), 2);
    assert_eq!(count_alerts(&s).await, alerts_before);

    // Enabled again: recovered, told once more, the notice goes.
    let res = s
        .req(reqwest::Method::PATCH, &format!("/webhooks/{wid}"))
        .json(&json!({ "enabled": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mails = smtp.wait_for(4, WAIT).await;
    assert!(mails[2..].iter().all(|m| m.data.contains("recovered")));
    assert_eq!(to(&mails[2..]), [ADMIN_EMAIL, "given@example.com"]);
    let page = page_text(&admin, s.server.url(&format!("/p/{}/deliveries", s.pid))).await;
    assert!(!page.contains("Needs attention"));
}

/// A mail's text with quoted-printable's soft line breaks and escapes undone.
fn unfolded(data: &str) -> String {
    data.replace("=\n", "").replace("=3D", "=")
}

async fn count_alerts(s: &Api) -> i64 {
    let db = s.server.db().await;
    signpost::on_db!(&db, p => sqlx::query_scalar("SELECT count(*) FROM alerts").fetch_one(p).await)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_failing_for_a_while_is_told_and_its_recovery_too() {
    let smtp = Smtp::start().await;
    let rx = Receiver::start().await;
    rx.script("flaky", vec![Reply::Status(500); 3]);
    rx.otherwise("flaky", Reply::Status(200));
    let (s, _admin) = Api::with_admin(|c| {
        quick(c, &smtp);
        c.alerts.alert_failing_secs = 1;
        // Each delivery is tried once: a failure is final at once.
        c.delivery.max_attempts = 1;
    })
    .await;
    let (wid, _) = s.register(&rx.url("flaky"), json!({})).await;
    // One failure is not "every delivery": three are.
    for n in 0..3 {
        s.publish(json!({ "event": "e", "n": n })).await;
    }
    let mails = smtp.wait_for(1, WAIT).await;
    let text = unfolded(&mails[0].data);
    assert!(text.contains("fails every delivery"), "{text}");
    // The next delivery succeeds: recovered.
    s.publish(json!({ "event": "e" })).await;
    let mails = smtp.wait_for(2, WAIT).await;
    let text = unfolded(&mails[1].data);
    assert!(text.contains("recovered"), "{text}");
    assert_eq!(smtp.mails().len(), 2);

    // Failing again, then disabled by a person: that is no recovery.
    rx.script("flaky", vec![Reply::Status(500); 3]);
    for n in 0..3 {
        s.publish(json!({ "event": "e", "n": n })).await;
    }
    smtp.wait_for(3, WAIT).await;
    let res = s
        .req(reqwest::Method::PATCH, &format!("/webhooks/{wid}"))
        .json(&json!({ "enabled": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    eventually(|| count_open(&s), |n| *n == 0).await;
    // Anything it told would be queued by now (four more checks).
    tokio::time::sleep(Duration::from_millis(400)).await;
    let db = s.server.db().await;
    let queued: i64 =
        signpost::on_db!(&db, p => sqlx::query_scalar("SELECT count(*) FROM alert_emails")
        .fetch_one(p)
        .await)
        .unwrap();
    assert_eq!(queued, 3, "no recovery told");
}

async fn count_open(s: &Api) -> i64 {
    let db = s.server.db().await;
    signpost::on_db!(&db, p => sqlx::query_scalar("SELECT count(*) FROM alerts WHERE closed_at IS NULL")
        .fetch_one(p)
        .await)
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mail_server_that_is_down_is_tried_again_and_holds_up_no_delivery() {
    // A port with nothing on it, for now.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let rx = Receiver::start().await;
    rx.otherwise("gone", Reply::Status(410));
    rx.otherwise("fine", Reply::Status(200));
    let (s, _admin) = Api::with_admin(|c| {
        c.alerts.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        c.alerts.alert_check_ms = 100;
        c.alerts.alert_email_retry_ms = 300;
    })
    .await;
    s.register(&rx.url("gone"), json!({})).await;
    s.register(&rx.url("fine"), json!({ "events": ["later"] }))
        .await;
    s.publish(json!({ "event": "e" })).await;
    // The email fails, and is kept to try again.
    let db = s.server.db().await;
    eventually(
        || async {
            signpost::on_db!(&db, p => sqlx::query_scalar::<_, i64>(
                "SELECT coalesce(max(attempts), 0) FROM alert_emails WHERE sent_at IS NULL"
            )
            .fetch_one(p)
            .await)
            .unwrap()
        },
        |n| *n >= 1,
    )
    .await;
    // Deliveries go on meanwhile.
    for n in 0..5 {
        s.publish(json!({ "event": "later", "n": n })).await;
    }
    rx.wait_for("fine", 5, WAIT).await;
    // The mail server comes up: the email arrives.
    let smtp = Smtp::on(port).await;
    let mails = smtp.wait_for(1, WAIT).await;
    assert_eq!(to(&mails), [ADMIN_EMAIL]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backlog_that_does_not_drain_is_told() {
    let smtp = Smtp::start().await;
    let rx = Receiver::start().await;
    // Refused for a while: the delivery waits for its retries.
    rx.script("slow", vec![Reply::Status(503), Reply::Status(503)]);
    rx.otherwise("slow", Reply::Status(200));
    let (s, _admin) = Api::with_admin(|c| {
        quick(c, &smtp);
        c.alerts.alert_lag_secs = 1;
        c.delivery.retry_base_ms = 1_500;
        c.delivery.retry_max_ms = 1_500;
    })
    .await;
    s.register(&rx.url("slow"), json!({})).await;
    s.publish(json!({ "event": "e" })).await;
    let mails = smtp.wait_for(1, WAIT).await;
    let text = unfolded(&mails[0].data);
    assert!(text.contains("is falling behind"), "{text}");
    // Delivered at last: recovered.
    let mails = smtp.wait_for(2, WAIT).await;
    let text = unfolded(&mails[1].data);
    assert!(
        text.contains("recovered") && text.contains("falls behind"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_alert_url_gets_each_alert_signed_and_never_the_projects_events() {
    let rx = Receiver::start().await;
    rx.otherwise("gone", Reply::Status(410));
    rx.otherwise("alerts", Reply::Status(200));
    let s = Api::new(|c| c.alerts.alert_check_ms = 100).await;
    // Checked like a webhook's URL; a format it does not know is refused.
    let res = s
        .req(reqwest::Method::PUT, "/alerts")
        .json(&json!({ "webhookUrl": "https://10.0.0.1/x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = s
        .req(reqwest::Method::PUT, "/alerts")
        .json(&json!({ "webhookUrl": rx.url("alerts"), "format": "teams" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = s
        .req(reqwest::Method::PUT, "/alerts")
        .json(&json!({ "webhookUrl": rx.url("alerts"), "format": "signpost" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let set: serde_json::Value = res.json().await.unwrap();
    let secret = set["data"]["signingSecret"].as_str().unwrap().to_string();
    let (_, got) = s.get("/alerts").await;
    assert_eq!(got["data"]["webhookUrl"], rx.url("alerts"));
    assert_eq!(got["data"]["format"], "signpost");
    assert!(got["data"].get("signingSecret").is_none(), "shown once");
    // Not one of the project's webhooks, and none of its events.
    let (_, list) = s.get("/webhooks").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0);

    let (wid, _) = s.register(&rx.url("gone"), json!({})).await;
    s.publish(json!({ "event": "e" })).await;
    let hits = rx.wait_for("alerts", 1, WAIT).await;
    let alert = hits[0].json();
    assert_eq!(alert["event"], "signpost.webhook.disabled");
    assert_eq!(alert["webhook"]["id"], wid.as_str());
    assert_eq!(alert["webhook"]["url"], rx.url("gone"));
    assert_eq!(alert["project"]["id"], s.pid.as_str());
    assert!(crate::receiver::spectrum_valid(&hits[0], &secret), "signed");

    // Slack's format from now on; the recovery is told.
    let res = s
        .req(reqwest::Method::PUT, "/alerts")
        .json(&json!({ "webhookUrl": rx.url("alerts"), "format": "slack" }))
        .send()
        .await
        .unwrap();
    let same: serde_json::Value = res.json().await.unwrap();
    assert!(
        same["data"].get("signingSecret").is_none(),
        "the same URL keeps its secret"
    );
    let res = s
        .req(reqwest::Method::PATCH, &format!("/webhooks/{wid}"))
        .json(&json!({ "enabled": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let hits = rx.wait_for("alerts", 2, WAIT).await;
    let slack = hits[1].json();
    assert_eq!(slack["event"], "signpost.webhook.recovered");
    let text = slack["text"].as_str().unwrap();
    assert!(
        text.contains("recovered") && text.contains(&rx.url("gone")),
        "{text}"
    );
    assert_eq!(
        rx.count("alerts"),
        2,
        "the project's event never went there"
    );

    // Removed: no more alerts there.
    let res = s
        .req(reqwest::Method::PUT, "/alerts")
        .json(&json!({ "webhookUrl": null }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (_, got) = s.get("/alerts").await;
    assert!(got["data"]["webhookUrl"].is_null());
}
