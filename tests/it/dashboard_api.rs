//! The dashboard's server functions: who may call them, and that they use
//! the same rules as the HTTP API. Plus the OpenAPI document.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::Value;
use signpost::model::{AppError, Project, ProjectCredentials, Webhook, WebhookWithSecret};

#[tokio::test(flavor = "multi_thread")]
async fn every_dashboard_function_needs_a_signed_in_user() {
    let server = TestServer::with_admin().await;
    let anonymous = server.client();
    let functions = [
        ("projects/list", vec![]),
        ("projects/get", vec![("project_id", "prj_x")]),
        ("projects/create", vec![("name", "Acme")]),
        (
            "projects/rename",
            vec![("project_id", "prj_x"), ("name", "B")],
        ),
        ("projects/regenerate_secret", vec![("project_id", "prj_x")]),
        ("webhooks/list", vec![("project_id", "prj_x")]),
        (
            "webhooks/create",
            vec![
                ("project_id", "prj_x"),
                ("url", "https://93.184.215.14/"),
                ("description", ""),
                ("events", "*"),
                ("scheme", "spectrum-v0"),
            ],
        ),
        (
            "webhooks/set_enabled",
            vec![
                ("project_id", "prj_x"),
                ("webhook_id", "w"),
                ("enabled", "false"),
            ],
        ),
        (
            "webhooks/edit",
            vec![
                ("project_id", "prj_x"),
                ("webhook_id", "w"),
                ("description", ""),
                ("events", "*"),
            ],
        ),
        (
            "webhooks/pace",
            vec![
                ("project_id", "prj_x"),
                ("webhook_id", "w"),
                ("ordering_key", "/space/id"),
                ("max_concurrency", ""),
                ("rate_limit", ""),
            ],
        ),
        (
            "webhooks/rotate",
            vec![
                ("project_id", "prj_x"),
                ("webhook_id", "w"),
                ("grace_seconds", "0"),
            ],
        ),
        (
            "webhooks/delete",
            vec![("project_id", "prj_x"), ("webhook_id", "w")],
        ),
        ("portal/look", vec![("project_id", "prj_x")]),
        ("alerts/open", vec![("project_id", "prj_x")]),
        ("alerts/target", vec![("project_id", "prj_x")]),
        (
            "alerts/set_target",
            vec![
                ("project_id", "prj_x"),
                ("webhook_url", ""),
                ("format", "slack"),
            ],
        ),
        ("account/alert_emails", vec![]),
        ("events/list", vec![("project_id", "prj_x")]),
        ("catalog/list", vec![("project_id", "prj_x")]),
        (
            "deliveries/bulk_replay_count",
            vec![("project_id", "prj_x")],
        ),
        ("deliveries/bulk_replay", vec![("project_id", "prj_x")]),
        ("catalog/save", vec![("project_id", "prj_x"), ("name", "x")]),
        (
            "catalog/delete",
            vec![("project_id", "prj_x"), ("name", "x")],
        ),
        (
            "events/get",
            vec![("project_id", "prj_x"), ("event_id", "evt_x")],
        ),
        ("account/set_alert_emails", vec![("enabled", "false")]),
        (
            "portal/set_look",
            vec![("project_id", "prj_x"), ("name", "x"), ("accent", "")],
        ),
        (
            "account/password",
            vec![("current", "x"), ("password", "y"), ("confirm", "y")],
        ),
        ("account/sign_out_elsewhere", vec![]),
        ("activity/project", vec![("project_id", "prj_x")]),
        ("deliveries/list", vec![("project_id", "prj_x")]),
        (
            "deliveries/get",
            vec![("project_id", "prj_x"), ("delivery_id", "d")],
        ),
        (
            "deliveries/cancel",
            vec![("project_id", "prj_x"), ("delivery_id", "d")],
        ),
        (
            "deliveries/redeliver",
            vec![("project_id", "prj_x"), ("delivery_id", "d")],
        ),
        ("deliveries/health", vec![("project_id", "prj_x")]),
        (
            "deliveries/hourly",
            vec![("project_id", "prj_x"), ("webhook_id", "w")],
        ),
        (
            "deliveries/replay_count",
            vec![("project_id", "prj_x"), ("webhook_id", "w"), ("since", "0")],
        ),
        (
            "deliveries/replay",
            vec![("project_id", "prj_x"), ("webhook_id", "w"), ("since", "0")],
        ),
        (
            "webhooks/get",
            vec![("project_id", "prj_x"), ("webhook_id", "w")],
        ),
        (
            "webhooks/test",
            vec![("project_id", "prj_x"), ("webhook_id", "w")],
        ),
        (
            "webhooks/finish_rotation",
            vec![("project_id", "prj_x"), ("webhook_id", "w")],
        ),
        ("system/view", vec![]),
        ("team/list", vec![]),
        ("team/activity", vec![]),
        (
            "team/add",
            vec![("email", "a@example.com"), ("role", "member")],
        ),
        ("team/set_role", vec![("user_id", "u"), ("role", "viewer")]),
        ("team/set_projects", vec![("user_id", "u")]),
        ("team/remove", vec![("user_id", "u")]),
        ("team/new_link", vec![("user_id", "u")]),
    ];
    // The others answer without a session, by design: signing in and up,
    // who is signed in, signing out, a result shown once (none without a
    // session), and a portal link's own (its token is the credential).
    assert_lists_every_server_function(
        "every_dashboard_function_needs_a_signed_in_user",
        functions.iter().map(|(endpoint, _)| *endpoint),
        &[
            "login",
            "setup",
            "setup_status",
            "join",
            "join/info",
            "me",
            "logout",
            "shown_once",
            "portal/info",
            "portal/shown",
        ],
    );
    for (endpoint, form) in functions {
        let res = anonymous
            .post(server.url(&format!("/api/{endpoint}")))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{endpoint}");
        assert_eq!(
            app_error(res).await,
            AppError::Unauthenticated,
            "{endpoint}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dashboard_functions_share_the_api_rules() {
    let (server, client) =
        TestServer::with_admin_signed_in(|c| c.allow_targets = "127.0.0.1".parse().unwrap()).await;
    let call = |endpoint: &str, form: Vec<(&str, &str)>| {
        client
            .post(server.url(&format!("/api/{endpoint}")))
            .form(&form)
            .send()
    };

    let res = call("projects/create", vec![("name", "  ")]).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let creds: ProjectCredentials = call("projects/create", vec![("name", "Acme")])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pid = creds.id.as_str();

    let form = |url: &'static str| {
        vec![
            ("project_id", pid),
            ("url", url),
            ("description", "d"),
            ("events", "messages, user.created"),
            ("scheme", "standard-webhooks"),
        ]
    };
    let created: WebhookWithSecret = call("webhooks/create", form("http://127.0.0.1:9/a"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(created.signing_secret.starts_with("whsec_"));
    assert_eq!(created.webhook.events, ["messages", "user.created"]);
    let res = call("webhooks/create", form("http://127.0.0.1:9/a"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = call("webhooks/create", form("http://example.com/"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app_error(res).await.to_string(), "The URL must use https");

    // The list never carries a secret.
    let res = call("webhooks/list", vec![("project_id", pid)])
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    assert!(!text.contains(&created.signing_secret));
    let list: Vec<Webhook> = serde_json::from_str(&text).unwrap();
    assert_eq!(list.len(), 1);

    // Another project's webhook is not found through this project.
    let other: ProjectCredentials = call("projects/create", vec![("name", "Other")])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = call(
        "webhooks/delete",
        vec![
            ("project_id", other.id.as_str()),
            ("webhook_id", created.webhook.id.as_str()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let wid = created.webhook.id.as_str();
    let pace = |project, concurrency| {
        vec![
            ("project_id", project),
            ("webhook_id", wid),
            ("ordering_key", "/space/id"),
            ("max_concurrency", concurrency),
            ("rate_limit", ""),
        ]
    };
    let res = call("webhooks/pace", pace(other.id.as_str(), ""))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // What is not a number is refused with the field's name, and nothing changes.
    let res = call("webhooks/pace", pace(pid, "many")).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(app_error(res).await.to_string().contains("Concurrency"));
    let list: Vec<Webhook> = call("webhooks/list", vec![("project_id", pid)])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0].ordering_key, None);
    let paced: Webhook = call("webhooks/pace", pace(pid, "4"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (paced.ordering_key.as_deref(), paced.max_concurrency),
        (Some("/space/id"), Some(4))
    );
    // An edit changes what its form gives and keeps the rest.
    let edited: Webhook = call(
        "webhooks/edit",
        vec![
            ("project_id", pid),
            ("webhook_id", wid),
            ("description", " Renamed "),
        ],
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(edited.description, "Renamed");
    assert_eq!(edited.events, ["messages", "user.created"]);
    assert_eq!(
        (edited.ordering_key.as_deref(), edited.max_concurrency),
        (Some("/space/id"), Some(4))
    );

    let renamed: Project = call(
        "projects/rename",
        vec![("project_id", pid), ("name", "Acme Inc")],
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(renamed.name, "Acme Inc");

    // Pages: a project's tab renders; an unknown project's is a 404.
    let res = client
        .get(server.url(&format!("/p/{pid}/webhooks")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("Acme Inc"));
    let res = client
        .get(server.url("/p/prj_nope/webhooks"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn openapi_document_describes_the_api() {
    let server = TestServer::start().await;
    let res = server
        .client()
        .get(server.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = &doc["paths"];
    for (path, method) in [
        ("/projects/{projectId}/webhooks/", "post"),
        ("/projects/{projectId}/webhooks/", "get"),
        ("/projects/{projectId}/webhooks/{id}", "get"),
        ("/projects/{projectId}/webhooks/{id}", "patch"),
        ("/projects/{projectId}/webhooks/{id}/", "delete"),
        ("/projects/{projectId}/webhooks/{id}/rotate", "post"),
        ("/projects/{projectId}/webhooks/{id}/rotate/finish", "post"),
        ("/projects/{projectId}/webhooks/{id}/test", "post"),
        ("/projects/{projectId}/events", "post"),
        ("/projects/{projectId}/events/batch", "post"),
        ("/projects/{projectId}/webhooks/{id}/deliveries", "get"),
        ("/projects/{projectId}/webhooks/{id}/replay", "post"),
        ("/projects/{projectId}/deliveries/{id}", "get"),
        ("/projects/{projectId}/deliveries/{id}/redeliver", "post"),
        ("/projects/{projectId}/deliveries/{id}/cancel", "post"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path} missing");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["basic"]["scheme"],
        "basic"
    );
    assert!(doc["components"]["schemas"]["Webhook"]["properties"]["webhookUrl"].is_object());
}
