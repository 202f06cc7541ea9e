//! Access per project and the viewer role (issue 24): admins reach every
//! project; members and viewers the projects given to them, and another
//! project answers as if it did not exist; a viewer reads and changes
//! nothing. Through every server function that names a project, and the
//! pages; the CLI's flags; the migration keeping members' access.

use crate::support::*;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use signpost::model::{AppError, Project, ProjectCredentials, Role, SignInLink, UserInfo};

const PASSWORD: &str = "correct horse battery";

async fn ok<T: serde::de::DeserializeOwned>(
    s: &Api,
    client: &Client,
    endpoint: &str,
    form: &[(&str, &str)],
) -> T {
    let res = server_fn(s, client, endpoint, form).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{endpoint}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{endpoint} ({e}): {text}"))
}

/// A teammate with `role` and `projects`, invited by the admin and joined:
/// their signed-in client.
async fn teammate(s: &Api, admin: &Client, email: &str, role: Role, projects: &[&str]) -> Client {
    let keys: Vec<String> = (0..projects.len())
        .map(|i| format!("projects[{i}]"))
        .collect();
    let mut form = vec![("email", email), ("role", role.as_str())];
    form.extend(
        keys.iter()
            .map(String::as_str)
            .zip(projects.iter().copied()),
    );
    let link: SignInLink = ok(s, admin, "team/add", &form).await;
    let token = link.url.rsplit('/').next().unwrap().to_string();
    let client = s.server.client();
    let _: () = ok(
        s,
        &client,
        "join",
        &[
            ("token", &token),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
        ],
    )
    .await;
    let me: Option<UserInfo> = ok(s, &client, "me", &[]).await;
    assert_eq!(me.map(|u| u.role), Some(role));
    client
}

/// One project's ids: itself, a webhook, a delivery.
struct Ids {
    project: String,
    webhook: String,
    delivery: String,
    event: String,
}

async fn project_with_a_delivery(s: &Api, admin: &Client, name: &str) -> Ids {
    let made: ProjectCredentials = ok(s, admin, "projects/create", &[("name", name)]).await;
    let api = |path: &str| {
        s.http
            .post(s.server.url(&format!("/projects/{}{path}", made.id)))
            .basic_auth(&made.id, Some(&made.secret))
    };
    let res = api("/webhooks")
        .json(&json!({ "webhookUrl": "http://127.0.0.1:9/x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let webhook = res.json::<Value>().await.unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = api("/events")
        .json(&json!({ "event": "e" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let page: Value = s
        .http
        .get(s.server.url(&format!(
            "/projects/{}/webhooks/{webhook}/deliveries",
            made.id
        )))
        .basic_auth(&made.id, Some(&made.secret))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let delivery = page["data"]["deliveries"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let event = page["data"]["deliveries"][0]["eventId"]
        .as_str()
        .unwrap()
        .to_string();
    Ids {
        project: made.id,
        webhook,
        delivery,
        event,
    }
}

/// A server function's call: endpoint, form, and whether it changes anything.
type Call = (&'static str, Vec<(&'static str, String)>, bool);

/// Every server function that names a project.
fn calls(ids: &Ids) -> Vec<Call> {
    let p = || ("project_id", ids.project.clone());
    let w = || ("webhook_id", ids.webhook.clone());
    let d = || ("delivery_id", ids.delivery.clone());
    let since = (
        "since",
        (signpost::server::db::now_ms() - 3_600_000).to_string(),
    );
    vec![
        ("projects/get", vec![p()], false),
        ("activity/project", vec![p()], false),
        ("portal/look", vec![p()], false),
        ("alerts/open", vec![p()], false),
        ("alerts/target", vec![p()], false),
        (
            "alerts/set_target",
            vec![p(), ("webhook_url", "".into()), ("format", "slack".into())],
            true,
        ),
        ("webhooks/list", vec![p()], false),
        ("webhooks/get", vec![p(), w()], false),
        ("deliveries/list", vec![p()], false),
        ("deliveries/get", vec![p(), d()], false),
        ("events/list", vec![p()], false),
        (
            "events/get",
            vec![p(), ("event_id", ids.event.clone())],
            false,
        ),
        ("deliveries/hourly", vec![p(), w()], false),
        ("deliveries/health", vec![p()], false),
        (
            "deliveries/replay_count",
            vec![p(), w(), since.clone()],
            false,
        ),
        (
            "projects/rename",
            vec![p(), ("name", "Renamed".into())],
            true,
        ),
        (
            "portal/set_look",
            vec![p(), ("name", "".into()), ("accent", "".into())],
            true,
        ),
        (
            "webhooks/edit",
            vec![
                p(),
                w(),
                ("description", "d".into()),
                ("events", "*".into()),
            ],
            true,
        ),
        (
            "webhooks/pace",
            vec![
                p(),
                w(),
                ("ordering_key", "".into()),
                ("max_concurrency", "".into()),
                ("rate_limit", "".into()),
            ],
            true,
        ),
        (
            "webhooks/rotate",
            vec![p(), w(), ("grace_seconds", "0".into())],
            true,
        ),
        ("webhooks/finish_rotation", vec![p(), w()], true),
        ("deliveries/redeliver", vec![p(), d()], true),
        ("deliveries/replay", vec![p(), w(), since], true),
        (
            "webhooks/create",
            vec![
                p(),
                ("url", "http://127.0.0.1:9/new".into()),
                ("description", "".into()),
                ("events", "*".into()),
                ("scheme", "spectrum-v0".into()),
            ],
            true,
        ),
        (
            "webhooks/set_enabled",
            vec![p(), w(), ("enabled", "true".into())],
            true,
        ),
        ("catalog/list", vec![p()], false),
        (
            "catalog/save",
            vec![p(), ("name", "order.created".into())],
            true,
        ),
        (
            "catalog/delete",
            vec![p(), ("name", "order.created".into())],
            true,
        ),
        ("deliveries/bulk_replay_count", vec![p()], false),
        ("deliveries/bulk_replay", vec![p()], true),
        ("projects/regenerate_secret", vec![p()], true),
        ("deliveries/cancel", vec![p(), d()], true),
    ]
}

/// Runs every call of `ids`'s project as `who`; returns each status.
async fn statuses(s: &Api, who: &Client, ids: &Ids) -> Vec<(&'static str, bool, StatusCode)> {
    let mut out = Vec::new();
    for (endpoint, form, changes) in calls(ids) {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let res = server_fn(s, who, endpoint, &form).await;
        out.push((endpoint, changes, res.status()));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn each_role_reaches_its_projects_and_nothing_else() {
    let (s, admin) = Api::with_admin(|_| {}).await;
    let ours = project_with_a_delivery(&s, &admin, "Ours").await;
    let theirs = project_with_a_delivery(&s, &admin, "Theirs").await;
    let member = teammate(&s, &admin, "m@example.com", Role::Member, &[&ours.project]).await;
    let viewer = teammate(&s, &admin, "v@example.com", Role::Viewer, &[&ours.project]).await;

    // The project list holds what each reaches.
    for (who, expect) in [
        (&admin, vec!["Deliveries", "Ours", "Theirs"]),
        (&member, vec!["Ours"]),
        (&viewer, vec!["Ours"]),
    ] {
        let list: Vec<Project> = ok(&s, who, "projects/list", &[]).await;
        let mut names: Vec<String> = list.into_iter().map(|p| p.name).collect();
        names.sort();
        assert_eq!(names, expect);
    }

    // Another project: 404 from every function, for a member and a viewer.
    for who in [&member, &viewer] {
        for (endpoint, _, status) in statuses(&s, who, &theirs).await {
            assert_eq!(status, StatusCode::NOT_FOUND, "{endpoint}");
        }
    }
    // Their own: a viewer reads and is refused every change (403)...
    for (endpoint, changes, status) in statuses(&s, &viewer, &ours).await {
        match changes {
            true => assert_eq!(status, StatusCode::FORBIDDEN, "{endpoint}"),
            false => assert_eq!(status, StatusCode::OK, "{endpoint}"),
        }
    }
    let res = server_fn(&s, &viewer, "projects/create", &[("name", "Mine")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(matches!(app_error(res).await, AppError::Forbidden(m) if m.contains("viewer")));
    // ...a member and an admin do it all (a refusal of the input, such as a
    // webhook already there, is no refusal of access).
    for who in [&member, &admin] {
        for (endpoint, _, status) in statuses(&s, who, &ours).await {
            assert!(
                ![
                    StatusCode::NOT_FOUND,
                    StatusCode::FORBIDDEN,
                    StatusCode::UNAUTHORIZED
                ]
                .contains(&status),
                "{endpoint}: {status}"
            );
        }
    }
    for (endpoint, _, status) in statuses(&s, &admin, &theirs).await {
        assert!(
            status.is_success() || status == StatusCode::CONFLICT,
            "{endpoint}: {status}"
        );
    }

    // Pages: another project's answers 404; a viewer's has no buttons for changes.
    for who in [&member, &viewer] {
        let res = who
            .get(s.server.url(&format!("/p/{}/webhooks", theirs.project)))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert!(!res.text().await.unwrap().contains("Theirs"));
    }
    let page = page_text(
        &viewer,
        s.server.url(&format!("/p/{}/webhooks", ours.project)),
    )
    .await;
    assert!(page.contains("127.0.0.1:9"), "reads the webhooks");
    for button in ["Add webhook", "Send test event", "Rotate secret", "Delete"] {
        assert!(!page.contains(button), "no {button:?} for a viewer");
    }
    let page = page_text(
        &member,
        s.server.url(&format!("/p/{}/webhooks", ours.project)),
    )
    .await;
    assert!(page.contains("Add webhook") && page.contains("Send test event"));
    let page = page_text(&viewer, s.server.url("/")).await;
    // (Renamed by the calls above.)
    assert!(page.contains(&ours.project) && !page.contains(&theirs.project));
    assert!(!page.contains("New project"));
    let page = page_text(
        &viewer,
        s.server
            .url(&format!("/p/{}/deliveries/{}", ours.project, ours.delivery)),
    )
    .await;
    assert!(page.contains(&ours.delivery) && !page.contains(">Redeliver<"));

    // A member makes a project and reaches it.
    let made: ProjectCredentials = ok(&s, &member, "projects/create", &[("name", "Made")]).await;
    let _: Project = ok(&s, &member, "projects/get", &[("project_id", &made.id)]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_gives_and_takes_projects() {
    let (s, admin) = Api::with_admin(|_| {}).await;
    let ours = project_with_a_delivery(&s, &admin, "Ours").await;
    let theirs = project_with_a_delivery(&s, &admin, "Theirs").await;
    let member = teammate(&s, &admin, "m@example.com", Role::Member, &[&ours.project]).await;
    let get = |p: String| {
        let (s, member) = (&s, &member);
        async move {
            server_fn(s, member, "projects/get", &[("project_id", p.as_str())])
                .await
                .status()
        }
    };
    assert_eq!(get(theirs.project.clone()).await, StatusCode::NOT_FOUND);

    let team: signpost::model::Team = ok(&s, &admin, "team/list", &[]).await;
    let m = team
        .members
        .iter()
        .find(|m| m.email == "m@example.com")
        .unwrap();
    assert_eq!(m.projects, vec![ours.project.clone()]);
    let _: () = ok(
        &s,
        &admin,
        "team/set_projects",
        &[("user_id", &m.id), ("projects[0]", &theirs.project)],
    )
    .await;
    assert_eq!(get(theirs.project.clone()).await, StatusCode::OK);
    assert_eq!(
        get(ours.project.clone()).await,
        StatusCode::NOT_FOUND,
        "taken"
    );
    // None at all.
    let _: () = ok(&s, &admin, "team/set_projects", &[("user_id", &m.id)]).await;
    assert_eq!(get(theirs.project.clone()).await, StatusCode::NOT_FOUND);
    let list: Vec<Project> = ok(&s, &member, "projects/list", &[]).await;
    assert!(list.is_empty());
    // Only an admin gives; an admin needs none.
    let res = server_fn(&s, &member, "team/set_projects", &[("user_id", &m.id)]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let me: Option<UserInfo> = ok(&s, &admin, "me", &[]).await;
    let res = server_fn(
        &s,
        &admin,
        "team/set_projects",
        &[("user_id", &me.unwrap().id)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    // Recorded.
    let activity: Vec<Value> = ok(&s, &admin, "team/activity", &[]).await;
    assert!(activity
        .iter()
        .any(|e| e.to_string().contains("projects_changed")));
}

/// Members keep every project that existed when the migration ran; admins
/// need no rows; a new project is no member's.
#[tokio::test]
async fn the_migration_keeps_members_access() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path(), "old.db").await;
    let before = |version: i64| version < 12;
    let exec = |sql: &'static str| sql;
    let rows = [
        exec("INSERT INTO users (id, email, password_hash, role, created_at) VALUES ('u1', 'm@example.com', '', 'member', 0)"),
        exec("INSERT INTO users (id, email, password_hash, role, created_at) VALUES ('u2', 'a@example.com', '', 'admin', 0)"),
        exec("INSERT INTO projects (id, name, secret_hash, created_at, updated_at) VALUES ('prj_1', 'One', 'x', 0, 0)"),
        exec("INSERT INTO projects (id, name, secret_hash, created_at, updated_at) VALUES ('prj_2', 'Two', 'x', 0, 0)"),
    ];
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let mut m = sqlx::migrate!("./migrations/postgres");
        m.migrations = m
            .migrations
            .iter()
            .filter(|m| m.version < 7)
            .cloned()
            .collect::<Vec<_>>()
            .into();
        m.run(&pool).await.unwrap();
        for sql in rows {
            sqlx::query(&sql.replace("'x'", "'\\x00'::bytea"))
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    } else {
        let options: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
        let pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true))
            .await
            .unwrap();
        let mut m = sqlx::migrate!("./migrations/sqlite");
        m.migrations = m
            .migrations
            .iter()
            .filter(|m| before(m.version))
            .cloned()
            .collect::<Vec<_>>()
            .into();
        m.run(&pool).await.unwrap();
        for sql in rows {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        // A sign-in link survives the making again of `users`.
        sqlx::query("INSERT INTO sign_in_links (token_hash, user_id, purpose, created_at, expires_at) VALUES (x'00', 'u1', 'invite', 0, 1)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let db = signpost::server::db::connect(&url).await.unwrap();
    signpost::server::db::migrate(&db).await.unwrap();
    let mut access = signpost::server::db::access::all(&db).await.unwrap();
    access.sort();
    assert_eq!(
        access,
        vec![
            ("u1".to_string(), "prj_1".to_string()),
            ("u1".into(), "prj_2".into())
        ]
    );
    if !url.starts_with("postgres") {
        let links: i64 = signpost::on_db!(&db, p => sqlx::query_scalar("SELECT count(*) FROM sign_in_links").fetch_one(p).await).unwrap();
        assert_eq!(links, 1);
    }
    // The role `viewer` is now allowed.
    signpost::on_db!(&db, p => sqlx::query("UPDATE users SET role = 'viewer' WHERE id = 'u1'")
        .execute(p)
        .await
        .map(|_| ()))
    .unwrap();
}

/// `calls` has every server function that reads or changes a project; the
/// others are named here, with why they are not about a project.
#[test]
fn calls_lists_every_server_function_about_a_project() {
    let ids = Ids {
        project: "prj_x".into(),
        webhook: "w".into(),
        delivery: "d".into(),
        event: "e".into(),
    };
    crate::support::assert_lists_every_server_function(
        "access::calls",
        calls(&ids).into_iter().map(|(endpoint, _, _)| endpoint),
        &[
            // Deleting, and a test event (which waits for its receiver),
            // cannot run once per role: their own test below.
            "webhooks/delete",
            "webhooks/test",
            // Not about one project: the caller's own account and session,
            // signing in and up, the project list and a new project (both
            // in the test above), the admin's team and system pages
            // (team.rs, system.rs), a portal link's own (tenants.rs).
            "account/alert_emails",
            "account/password",
            "account/set_alert_emails",
            "account/sign_out_elsewhere",
            "me",
            "logout",
            "shown_once",
            "login",
            "setup",
            "setup_status",
            "join",
            "join/info",
            "projects/list",
            "projects/create",
            "system/view",
            "team/list",
            "team/activity",
            "team/add",
            "team/set_role",
            "team/set_projects",
            "team/remove",
            "team/new_link",
            "portal/info",
            "portal/shown",
        ],
    );
}

/// Deleting a webhook and sending it a test event: a viewer is refused
/// (403), a member of another project finds nothing (404), a member of its
/// project deletes it.
#[tokio::test(flavor = "multi_thread")]
async fn only_a_member_of_its_project_deletes_a_webhook_or_tests_it() {
    let (s, admin) = Api::with_admin(|_| {}).await;
    let ours = project_with_a_delivery(&s, &admin, "Ours").await;
    let theirs = project_with_a_delivery(&s, &admin, "Theirs").await;
    let member = teammate(&s, &admin, "m@example.com", Role::Member, &[&ours.project]).await;
    let viewer = teammate(&s, &admin, "v@example.com", Role::Viewer, &[&ours.project]).await;
    let call = |endpoint: &'static str, who: &Client, ids: &Ids| {
        let form = [
            ("project_id", ids.project.clone()),
            ("webhook_id", ids.webhook.clone()),
        ];
        let (s, who) = (&s, who.clone());
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            server_fn(s, &who, endpoint, &form).await.status()
        }
    };
    for endpoint in ["webhooks/test", "webhooks/delete"] {
        assert_eq!(
            call(endpoint, &viewer, &ours).await,
            StatusCode::FORBIDDEN,
            "{endpoint}"
        );
        assert_eq!(
            call(endpoint, &member, &theirs).await,
            StatusCode::NOT_FOUND,
            "{endpoint}"
        );
        assert_eq!(
            call(endpoint, &viewer, &theirs).await,
            StatusCode::NOT_FOUND,
            "{endpoint}"
        );
    }
    assert_eq!(
        call("webhooks/delete", &member, &ours).await,
        StatusCode::OK
    );
    let list: Vec<Value> = ok(
        &s,
        &admin,
        "webhooks/list",
        &[("project_id", &ours.project)],
    )
    .await;
    assert!(list.is_empty(), "{list:?}");
    let list: Vec<Value> = ok(
        &s,
        &admin,
        "webhooks/list",
        &[("project_id", &theirs.project)],
    )
    .await;
    assert_eq!(list.len(), 1);
}
