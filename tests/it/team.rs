//! The team over HTTP: who may manage it, one-time sign-in links, the last
//! admin, sessions that end, and the record of changes.

use crate::support::*;
use reqwest::{Client, StatusCode};
use signpost::model::{
    ActivityEntry, AppError, LinkInfo, Role, SignInLink, Team, TeamMember, UserInfo,
};

const PASSWORD: &str = "a teammate's password";

/// Calls a server function as the hydrated page does.
pub(crate) async fn call(
    server: &TestServer,
    client: &Client,
    endpoint: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(server.url(&format!("/api/{endpoint}")))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Calls a server function that must succeed, and reads its answer.
pub(crate) async fn ok<T: serde::de::DeserializeOwned>(
    server: &TestServer,
    client: &Client,
    endpoint: &str,
    form: &[(&str, &str)],
) -> T {
    let res = call(server, client, endpoint, form).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{endpoint}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{endpoint} ({e}): {text}"))
}

/// Calls a server function that must fail with `status`; returns the error.
pub(crate) async fn refused(
    server: &TestServer,
    client: &Client,
    endpoint: &str,
    form: &[(&str, &str)],
    status: StatusCode,
) -> AppError {
    let res = call(server, client, endpoint, form).await;
    assert_eq!(res.status(), status, "{endpoint}");
    app_error(res).await
}

async fn me(server: &TestServer, client: &Client) -> Option<UserInfo> {
    ok(server, client, "me", &[]).await
}

fn token(link: &SignInLink) -> String {
    let token = link.url.rsplit('/').next().unwrap().to_string();
    assert_eq!(token.len(), 64, "{}", link.url);
    token
}

async fn invite(server: &TestServer, admin: &Client, email: &str, role: Role) -> SignInLink {
    ok(
        server,
        admin,
        "team/add",
        &[("email", email), ("role", role.as_str())],
    )
    .await
}

/// Opens a link in a fresh browser: sets the password and signs in.
async fn join(server: &TestServer, link: &SignInLink) -> Client {
    let client = server.client();
    let token = token(link);
    let res = call(
        server,
        &client,
        "join",
        &[
            ("token", token.as_str()),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
        ],
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    client
}

/// A teammate with `role` who has joined; their signed-in client and id.
pub(crate) async fn teammate(
    server: &TestServer,
    admin: &Client,
    email: &str,
    role: Role,
) -> (Client, String) {
    let link = invite(server, admin, email, role).await;
    let client = join(server, &link).await;
    let user = me(server, &client).await.expect("signed in after joining");
    assert_eq!((user.email.as_str(), user.role), (email, role));
    (client, user.id)
}

async fn members(server: &TestServer, admin: &Client) -> Vec<TeamMember> {
    let team: Team = ok(server, admin, "team/list", &[]).await;
    assert!(team.can_manage, "an admin manages the team");
    team.members
}

#[tokio::test(flavor = "multi_thread")]
async fn members_read_the_team_and_get_403_from_every_change() {
    let (server, admin) = TestServer::with_admin_signed_in(|_| {}).await;
    let (member, member_id) = teammate(&server, &admin, "m@example.com", Role::Member).await;
    let calls: [(&str, Vec<(&str, &str)>); 6] = [
        (
            "team/add",
            vec![("email", "x@example.com"), ("role", "admin")],
        ),
        (
            "team/set_role",
            vec![("user_id", &member_id), ("role", "admin")],
        ),
        ("team/remove", vec![("user_id", &member_id)]),
        ("team/new_link", vec![("user_id", &member_id)]),
        ("team/activity", vec![]),
        ("team/set_projects", vec![("user_id", &member_id)]),
    ];
    for (endpoint, form) in &calls {
        let e = refused(&server, &member, endpoint, form, StatusCode::FORBIDDEN).await;
        assert_eq!(
            e,
            AppError::Forbidden("Only admins can manage the team".into()),
            "{endpoint}"
        );
        let anonymous = server.client();
        let e = refused(
            &server,
            &anonymous,
            endpoint,
            form,
            StatusCode::UNAUTHORIZED,
        )
        .await;
        assert_eq!(e, AppError::Unauthenticated, "{endpoint}");
    }
    // A member reads the list (to know whom to ask), marked read-only; the
    // anonymous do not.
    let team: Team = ok(&server, &member, "team/list", &[]).await;
    assert!(!team.can_manage);
    let mut emails: Vec<_> = team.members.iter().map(|m| m.email.as_str()).collect();
    emails.sort();
    assert_eq!(emails, [ADMIN_EMAIL, "m@example.com"]);
    assert!(team.members.iter().any(|m| m.is_you && m.id == member_id));
    // When others signed in is the admins' to see.
    assert!(team
        .members
        .iter()
        .all(|m| m.is_you || m.last_sign_in_at.is_none()));
    assert!(members(&server, &admin)
        .await
        .iter()
        .any(|m| m.email == ADMIN_EMAIL && m.last_sign_in_at.is_some()));
    let e = refused(
        &server,
        &server.client(),
        "team/list",
        &[],
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(e, AppError::Unauthenticated);

    // Nothing changed: the member is still a member, and nobody was added.
    let list = members(&server, &admin).await;
    assert_eq!(list.len(), 2);
    assert!(list
        .iter()
        .any(|m| m.id == member_id && m.role == Role::Member));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invite_link_works_once() {
    let (server, admin) = TestServer::with_admin_signed_in(|_| {}).await;
    let link = invite(&server, &admin, " New@Example.com ", Role::Member).await;
    assert_eq!(link.email, "new@example.com");
    assert!(
        link.url
            .starts_with(&format!("http://{}/join/", server.addr)),
        "{}",
        link.url
    );
    let token = token(&link);

    // Listed as invited; cannot sign in before choosing a password.
    let list = members(&server, &admin).await;
    let new = list.iter().find(|m| m.email == "new@example.com").unwrap();
    assert!(new.invited && new.last_sign_in_at.is_none());
    let res = server.login(&server.client(), "new@example.com", "").await;
    assert_eq!(app_error(res).await, AppError::InvalidCredentials);

    // Only the hash is stored.
    let db = server.db().await;
    let stored: Vec<Vec<u8>> = signpost::on_db!(&db, p => {
        sqlx::query_scalar("SELECT token_hash FROM sign_in_links")
            .fetch_all(p)
            .await
    })
    .unwrap();
    assert_eq!(stored, vec![signpost::server::secrets::hash_token(&token)]);
    // The token's bytes are nowhere in the file (SQLite only: a PostgreSQL
    // server's files are not the test's to read).
    if !server.is_postgres() {
        assert!(!server
            .database_bytes()
            .windows(token.len())
            .any(|w| w == token.as_bytes()));
    }

    // The page behind the link knows whom it is for.
    let anonymous = server.client();
    let info: LinkInfo = ok(&server, &anonymous, "join/info", &[("token", &token)]).await;
    assert_eq!(info.email, "new@example.com");

    // A bad password is refused and leaves the link usable.
    let e = refused(
        &server,
        &anonymous,
        "join",
        &[
            ("token", &token),
            ("password", "short"),
            ("confirm", "short"),
        ],
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(matches!(e, AppError::Invalid(_)), "{e:?}");

    let client = join(&server, &link).await;
    assert_eq!(me(&server, &client).await.unwrap().email, "new@example.com");

    // Used: the page says so, and a second use is refused.
    for endpoint in ["join/info", "join"] {
        let e = refused(
            &server,
            &server.client(),
            endpoint,
            &[
                ("token", &token),
                ("password", "another long password"),
                ("confirm", "another long password"),
            ],
            StatusCode::GONE,
        )
        .await;
        assert!(
            e.to_string().contains("has been used already"),
            "{endpoint}: {e}"
        );
    }
    // The password chosen works; the one tried afterwards does not.
    let res = server
        .login(&server.client(), "new@example.com", PASSWORD)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = server
        .login(&server.client(), "new@example.com", "another long password")
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // A token that was never issued.
    let e = refused(
        &server,
        &anonymous,
        "join/info",
        &[("token", &"0".repeat(64))],
        StatusCode::GONE,
    )
    .await;
    assert!(e.to_string().contains("not valid"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invite_link_expires_and_a_newer_one_replaces_it() {
    let (server, admin) = TestServer::with_admin_signed_in(|_| {}).await;
    let first = invite(&server, &admin, "late@example.com", Role::Member).await;
    let hours = (first.expires_at - signpost::server::db::now_ms()) as f64 / 3_600_000.0;
    assert!((71.9..=72.0).contains(&hours), "{hours} h");

    // A newer link voids the first.
    let id = members(&server, &admin)
        .await
        .into_iter()
        .find(|m| m.email == "late@example.com")
        .unwrap()
        .id;
    let second: SignInLink = ok(&server, &admin, "team/new_link", &[("user_id", &id)]).await;
    let e = refused(
        &server,
        &server.client(),
        "join/info",
        &[("token", &token(&first))],
        StatusCode::GONE,
    )
    .await;
    assert!(e.to_string().contains("not valid"), "{e}");

    // 72 hours pass.
    let db = server.db().await;
    signpost::on_db!(&db, p => {
        sqlx::query("UPDATE sign_in_links SET expires_at = $1")
            .bind(signpost::server::db::now_ms() - 1)
            .execute(p)
            .await
            .unwrap();
    });
    for endpoint in ["join/info", "join"] {
        let e = refused(
            &server,
            &server.client(),
            endpoint,
            &[
                ("token", &token(&second)),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
            StatusCode::GONE,
        )
        .await;
        assert!(e.to_string().contains("has expired"), "{endpoint}: {e}");
    }
    let res = server
        .login(&server.client(), "late@example.com", PASSWORD)
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_admin_cannot_be_removed_or_demoted() {
    let (server, admin) = TestServer::with_admin_signed_in(|_| {}).await;
    let me_id = me(&server, &admin).await.unwrap().id;
    let last = AppError::Conflict(
        "Signpost needs an admin who can sign in: make someone else an admin first".into(),
    );
    let demote = [("user_id", me_id.as_str()), ("role", "member")];
    let e = refused(
        &server,
        &admin,
        "team/set_role",
        &demote,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(e, last);

    // An invited admin who has not chosen a password does not count.
    let link = invite(&server, &admin, "second@example.com", Role::Admin).await;
    let e = refused(
        &server,
        &admin,
        "team/set_role",
        &demote,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(e, last);

    // Once they have joined, the first admin may step down...
    let second = join(&server, &link).await;
    let _: () = ok(&server, &admin, "team/set_role", &demote).await;
    assert_eq!(me(&server, &admin).await.unwrap().role, Role::Member);
    // ...and is a member at once: the team is read-only to them.
    refused(&server, &admin, "team/activity", &[], StatusCode::FORBIDDEN).await;
    let team: Team = ok(&server, &admin, "team/list", &[]).await;
    assert!(!team.can_manage);

    // Now the second is the last admin: not removable, not demotable.
    let second_id = me(&server, &second).await.unwrap().id;
    let e = refused(
        &server,
        &second,
        "team/set_role",
        &[("user_id", &second_id), ("role", "member")],
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(e, last);
    let e = refused(
        &server,
        &second,
        "team/remove",
        &[("user_id", &second_id)],
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(
        e,
        AppError::Conflict("You cannot remove yourself: ask another admin".into())
    );
    // A bad role and an unknown user are clear errors.
    let e = refused(
        &server,
        &second,
        "team/set_role",
        &[("user_id", &me_id), ("role", "owner")],
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(matches!(e, AppError::Invalid(_)), "{e:?}");
    refused(
        &server,
        &second,
        "team/remove",
        &[("user_id", "no-such-user")],
        StatusCode::NOT_FOUND,
    )
    .await;
    let admins: Vec<_> = members(&server, &second)
        .await
        .into_iter()
        .filter(|m| m.role == Role::Admin)
        .map(|m| m.email)
        .collect();
    assert_eq!(admins, vec!["second@example.com".to_string()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_a_user_ends_their_sessions_at_once() {
    let (server, admin) = TestServer::with_admin_signed_in(|_| {}).await;
    let (member, id) = teammate(&server, &admin, "gone@example.com", Role::Member).await;
    let res = call(&server, &member, "projects/list", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);

    let _: () = ok(&server, &admin, "team/remove", &[("user_id", &id)]).await;

    let e = refused(
        &server,
        &member,
        "projects/list",
        &[],
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(e, AppError::Unauthenticated);
    // A page load goes to sign-in, where the password no longer works.
    let res = member.get(server.url("/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with("/login"), "{}", location(&res));
    let res = server
        .login(&server.client(), "gone@example.com", PASSWORD)
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(members(&server, &admin).await.iter().all(|m| m.id != id));
    // The email can be invited again.
    invite(&server, &admin, "gone@example.com", Role::Member).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_the_password_ends_the_other_sessions() {
    let (server, admin) = TestServer::with_admin_signed_in(|_| {}).await;
    let (laptop, _) = teammate(&server, &admin, "pw@example.com", Role::Member).await;
    let phone = server.client();
    assert_eq!(
        server
            .login(&phone, "pw@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    let new = "a brand new password";

    // Wrong current password, too short, or not confirmed: refused.
    for (current, password, confirm, wants) in [
        (
            "wrong password!",
            new,
            new,
            "The current password is not right",
        ),
        (PASSWORD, "short", "short", "at least 12 characters"),
        (PASSWORD, new, "something else", "do not match"),
    ] {
        let e = refused(
            &server,
            &laptop,
            "account/password",
            &[
                ("current", current),
                ("password", password),
                ("confirm", confirm),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(e.to_string().contains(wants), "{e}");
    }
    assert!(me(&server, &phone).await.is_some(), "nothing changed yet");

    let _: () = ok(
        &server,
        &laptop,
        "account/password",
        &[("current", PASSWORD), ("password", new), ("confirm", new)],
    )
    .await;
    assert!(me(&server, &laptop).await.is_some(), "this session stays");
    assert!(me(&server, &phone).await.is_none(), "the other one ends");
    assert_eq!(
        server
            .login(&server.client(), "pw@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        server
            .login(&server.client(), "pw@example.com", new)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_current_passwords_are_throttled() {
    let (server, admin) = TestServer::with_admin_signed_in(|_| {}).await;
    let (member, _) = teammate(&server, &admin, "t@example.com", Role::Member).await;
    let form = [
        ("current", "not the password"),
        ("password", "a brand new password"),
        ("confirm", "a brand new password"),
    ];
    for _ in 0..5 {
        refused(
            &server,
            &member,
            "account/password",
            &form,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let e = refused(
        &server,
        &member,
        "account/password",
        &[
            ("current", PASSWORD),
            ("password", "a brand new password"),
            ("confirm", "a brand new password"),
        ],
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    assert!(matches!(e, AppError::TooManyAttempts { .. }), "{e:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_out_everywhere_else_keeps_only_this_session() {
    let (server, admin) = TestServer::with_admin_signed_in(|_| {}).await;
    let other = server.client();
    assert_eq!(
        server
            .login(&other, ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    let _: () = ok(&server, &admin, "account/sign_out_elsewhere", &[]).await;
    assert!(me(&server, &admin).await.is_some());
    assert!(me(&server, &other).await.is_none());
    // The password is unchanged: signing in again works.
    assert_eq!(
        server
            .login(&other, ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_team_change_is_recorded_with_who_and_when() {
    let (server, admin) = TestServer::with_admin_signed_in(|_| {}).await;
    let before = signpost::server::db::now_ms();
    let (member, id) = teammate(&server, &admin, "rec@example.com", Role::Member).await;
    let _: () = ok(
        &server,
        &admin,
        "team/set_role",
        &[("user_id", &id), ("role", "admin")],
    )
    .await;
    let _: () = ok(
        &server,
        &member,
        "account/password",
        &[
            ("current", PASSWORD),
            ("password", "a brand new password"),
            ("confirm", "a brand new password"),
        ],
    )
    .await;
    let _: () = ok(&server, &admin, "team/remove", &[("user_id", &id)]).await;

    let log: Vec<ActivityEntry> = ok(&server, &admin, "team/activity", &[]).await;
    let lines: Vec<_> = log
        .iter()
        .rev()
        .map(|a| {
            (
                a.actor.as_deref().unwrap_or("-"),
                a.action.as_str(),
                a.subject.as_str(),
                a.detail.as_str(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            (ADMIN_EMAIL, "user.added", "rec@example.com", "member"),
            ("rec@example.com", "user.joined", "rec@example.com", ""),
            (
                ADMIN_EMAIL,
                "user.role_changed",
                "rec@example.com",
                "member → admin"
            ),
            (
                "rec@example.com",
                "user.password_changed",
                "rec@example.com",
                ""
            ),
            (ADMIN_EMAIL, "user.removed", "rec@example.com", "admin"),
        ]
    );
    let now = signpost::server::db::now_ms();
    assert!(log.iter().all(|a| (before..=now).contains(&a.at)));
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_password_on_the_command_line_prints_a_working_link() {
    let (server, admin) = TestServer::with_admin_signed_in(|_| {}).await;
    let (member, _) = teammate(&server, &admin, "locked@example.com", Role::Member).await;
    let db_url = server.database_url.clone();
    let run = |email: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_signpost"))
            .env("SIGNPOST_DATABASE_URL", &db_url)
            .env("SIGNPOST_PUBLIC_URL", "https://hooks.example.com/")
            .env("SIGNPOST_LOG", "warn")
            .args(["user", "reset-password", "--email", email])
            .output()
            .unwrap()
    };
    let out = run("Locked@Example.com");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let token = url
        .strip_prefix("https://hooks.example.com/join/")
        .unwrap_or_else(|| panic!("{url}"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("works once, for 72 hours"));

    let info: LinkInfo = ok(&server, &server.client(), "join/info", &[("token", token)]).await;
    assert_eq!(info.purpose, signpost::model::LinkPurpose::Reset);
    let fresh = server.client();
    let new = "chosen after a reset";
    let res = call(
        &server,
        &fresh,
        "join",
        &[("token", token), ("password", new), ("confirm", new)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        me(&server, &fresh).await.unwrap().email,
        "locked@example.com"
    );
    // The reset ends the sessions the user had.
    assert!(me(&server, &member).await.is_none());

    // An unknown email is a clear error.
    let out = run("nobody@example.com");
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "signpost: no user has the email nobody@example.com"
    );
}

/// A locked-out account opens again once its owner sets a password through
/// a reset link (an admin gives one): the lock is no denial of service.
#[tokio::test(flavor = "multi_thread")]
async fn a_password_reset_ends_a_lock_out() {
    let (server, admin) = TestServer::with_admin_signed_in(|_| {}).await;
    let (_, id) = teammate(&server, &admin, "locked@example.com", Role::Member).await;
    let stranger = server.client();
    for _ in 0..5 {
        let res = server
            .login(&stranger, "locked@example.com", "guess!guess!")
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = server
        .login(&stranger, "locked@example.com", PASSWORD)
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let link: SignInLink = ok(&server, &admin, "team/new_link", &[("user_id", &id)]).await;
    join(&server, &link).await;
    let res = server
        .login(&server.client(), "locked@example.com", PASSWORD)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}
