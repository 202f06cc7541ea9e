use crate::support::*;
use reqwest::header::{COOKIE, ORIGIN};
use reqwest::StatusCode;
use signpost::model::{AppError, UserInfo};

fn session_cookie_value(set_cookie: &str) -> Option<String> {
    let pair = set_cookie.split(';').next()?;
    pair.strip_prefix("signpost_session=").map(str::to_string)
}

async fn me(server: &TestServer, client: &reqwest::Client) -> Option<UserInfo> {
    let res = client.post(server.url("/api/me")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_succeeds_with_the_right_password() {
    let server = TestServer::with_admin().await;
    let client = server.client();
    assert_eq!(me(&server, &client).await, None);

    let res = server
        .login(&client, "Admin@Example.com ", ADMIN_PASSWORD)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http must not get a Secure cookie: {cookie}"
    );

    let user = me(&server, &client).await.expect("signed in");
    assert_eq!(user.email, ADMIN_EMAIL);
    assert!(cookie.contains("Max-Age=43200"), "{cookie}");
    // The idle expiry is pushed back every few minutes of use, not at every
    // request: right after signing in there is nothing to refresh.
    let res = client.get(server.url("/")).send().await.unwrap();
    assert!(res.headers().get("set-cookie").is_none());
    assert!(session_cookie_value(&cookie).is_some());
    // The dashboard now opens instead of redirecting.
    let res = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("Sign out"), "{html}");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_and_unknown_email_fail_alike() {
    let server = TestServer::with_admin().await;
    let client = server.client();
    for (email, password) in [
        (ADMIN_EMAIL, "not the password"),
        ("nobody@example.com", ADMIN_PASSWORD),
    ] {
        let res = server.login(&client, email, password).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let err = app_error(res).await;
        assert_eq!(err, AppError::InvalidCredentials);
        assert_eq!(err.to_string(), "Invalid email or password");
    }
    assert_eq!(me(&server, &client).await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn sixth_attempt_for_an_account_is_refused_even_with_the_right_password() {
    let server = TestServer::with_admin().await;
    let client = server.client();
    for _ in 0..5 {
        let res = server.login(&client, ADMIN_EMAIL, "wrong password!").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = server.login(&client, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let err = app_error(res).await;
    assert_eq!(
        err.to_string(),
        "Too many attempts — try again in 15 minutes"
    );
    assert_eq!(me(&server, &client).await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_failures_from_one_address_block_it() {
    let server = TestServer::with_admin().await;
    let client = server.client();
    for i in 0..20 {
        let res = server
            .login(&client, &format!("guess{i}@example.com"), "wrong password!")
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // The admin's own account has no failures, but the address is blocked.
    let res = server.login(&client, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// A burst of sign-ins in parallel gets no more password checks than the
/// limit: each attempt is reserved before the password is checked.
#[tokio::test(flavor = "multi_thread")]
async fn a_parallel_burst_gets_no_more_checks_than_the_limit() {
    let server = TestServer::with_admin().await;
    let burst = (0..30).map(|_| {
        let (server, client) = (&server, server.client());
        async move {
            server
                .login(&client, ADMIN_EMAIL, "wrong password!")
                .await
                .status()
        }
    });
    let statuses = futures::future::join_all(burst).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((checked, refused), (5, 25), "{statuses:?}");
}

/// Failures from an attacker's address do not lock the owner out from
/// theirs; addresses come from `X-Forwarded-For` only through a proxy the
/// operator trusts.
#[tokio::test(flavor = "multi_thread")]
async fn an_account_locked_from_one_address_still_opens_from_another() {
    let login_from = |server: &TestServer, address: &str, password: &str| {
        server
            .client()
            .post(server.url("/api/login"))
            .header("x-forwarded-for", address)
            .form(&[("email", ADMIN_EMAIL), ("password", password)])
            .send()
    };
    let server = TestServer::with_admin_signed_in(|c| {
        c.trusted_proxies = "127.0.0.1".parse().unwrap();
    })
    .await
    .0;
    for _ in 0..5 {
        let res = login_from(&server, "203.0.113.66", "wrong password!")
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = login_from(&server, "203.0.113.66", ADMIN_PASSWORD)
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the attacker's address"
    );
    let res = login_from(&server, "198.51.100.1", ADMIN_PASSWORD)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the owner's address");

    // Without a trusted proxy the header is the client's word: ignored.
    let server = TestServer::with_admin().await;
    for i in 0..5 {
        let forged = format!("203.0.113.{i}");
        let res = login_from(&server, &forged, "wrong password!")
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = login_from(&server, "198.51.100.1", ADMIN_PASSWORD)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_success_forgives_earlier_failures() {
    let server = TestServer::with_admin().await;
    let client = server.client();
    for _ in 0..4 {
        server.login(&client, ADMIN_EMAIL, "wrong password!").await;
    }
    assert_eq!(
        server
            .login(&client, ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    for _ in 0..4 {
        server.login(&client, ADMIN_EMAIL, "wrong password!").await;
    }
    assert_eq!(
        server
            .login(&client, ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn session_id_changes_at_sign_in_and_the_old_one_dies() {
    let server = TestServer::with_admin().await;
    let client = server.client();
    let first = session_cookie(
        server
            .login(&client, ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .headers(),
    )
    .expect("a session cookie");
    // Signing in again while holding a session gives a new id ...
    let second = session_cookie(
        server
            .login(&client, ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .headers(),
    )
    .expect("a new session cookie");
    assert_ne!(first, second);
    // ... and the id held before is worth nothing now.
    let stale = server.client();
    let res = stale
        .get(server.url("/"))
        .header(COOKIE, format!("signpost_session={first}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let fresh = stale
        .get(server.url("/"))
        .header(COOKIE, format!("signpost_session={second}"))
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_out_ends_the_session_on_the_server() {
    let server = TestServer::with_admin().await;
    let client = server.client();
    let cookie = session_cookie(
        server
            .login(&client, ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .headers(),
    )
    .unwrap();
    let res = client.post(server.url("/api/logout")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(location(&res), "/login");
    assert_eq!(me(&server, &client).await, None);

    // Replaying the old cookie (as a thief who copied it would) gets nothing.
    let res = server
        .client()
        .get(server.url("/"))
        .header(COOKIE, format!("signpost_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login?next=/");
}

#[tokio::test(flavor = "multi_thread")]
async fn anonymous_visitors_are_sent_to_sign_in_with_next() {
    let server = TestServer::with_admin().await;
    let client = server.client();
    let res = client.get(server.url("/p/x?tab=log")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login?next=/p/x%3Ftab%3Dlog");

    let res = client.get(server.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    for needle in [">Email<", ">Password<", "Sign in"] {
        assert!(html.contains(needle), "login page lacks {needle}");
    }
    // Static files and health checks stay public.
    assert_eq!(
        client
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn setup_is_offered_only_while_no_user_exists() {
    let server = TestServer::start().await;
    let client = server.client();
    for page in ["/", "/login", "/anything"] {
        let res = client.get(server.url(page)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{page}");
        assert_eq!(location(&res), "/setup", "{page}");
    }
    let html = client
        .get(server.url("/setup"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Create the first admin"));
    assert!(html.contains(">Confirm password<"));

    // Bad input is refused with the reason, and creates nobody.
    let res = client
        .post(server.url("/api/setup"))
        .form(&[
            ("email", ADMIN_EMAIL),
            ("password", "short"),
            ("confirm", "short"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app_error(res).await.to_string(),
        "Use a password of at least 12 characters"
    );
    let res = client
        .post(server.url("/api/setup"))
        .form(&[
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
            ("confirm", "something else"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        app_error(res).await.to_string(),
        "The passwords do not match"
    );

    let res = client
        .post(server.url("/api/setup"))
        .form(&[
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
            ("confirm", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(location(&res), "/");
    // The new admin is signed in.
    assert_eq!(me(&server, &client).await.unwrap().email, ADMIN_EMAIL);

    // A second setup is refused, even from another client.
    let other = server.client();
    let res = other
        .post(server.url("/api/setup"))
        .form(&[
            ("email", "second@example.com"),
            ("password", ADMIN_PASSWORD),
            ("confirm", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(me(&server, &other).await, None);
    let html = other
        .get(server.url("/setup"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("already set up"), "{html}");
    assert_eq!(
        server
            .login(&other, "second@example.com", ADMIN_PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cross_origin_state_changes_are_refused() {
    let server = TestServer::with_admin().await;
    let client = server.client();
    let res = client
        .post(server.url("/api/login"))
        .header(ORIGIN, "http://evil.example")
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(me(&server, &client).await, None);

    // The same request from the page's own origin works.
    let res = client
        .post(server.url("/api/login"))
        .header(ORIGIN, format!("http://{}", server.addr))
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // A signed-in user's session cannot be ended from another site either.
    let res = client
        .post(server.url("/api/logout"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(me(&server, &client).await.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_form_sign_in_follows_only_local_next() {
    let server = TestServer::with_admin().await;
    let referer = server.url("/login");
    for (next, expected) in [
        ("/p/x/webhooks?tab=log", "/p/x/webhooks?tab=log"),
        ("https://evil.example/", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
    ] {
        let client = server.client();
        let res = plain_form_post(
            &client,
            server.url("/api/login"),
            referer.clone(),
            &[
                ("email", ADMIN_EMAIL),
                ("password", ADMIN_PASSWORD),
                ("next", next),
            ],
        )
        .await;
        assert_eq!(res.status(), StatusCode::FOUND, "{next}");
        assert_eq!(location(&res), expected, "{next}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_form_failure_goes_back_to_the_page_with_the_message() {
    let server = TestServer::with_admin().await;
    let client = server.client();
    let referer = server.url("/login?next=%2F");
    let res = plain_form_post(
        &client,
        server.url("/api/login"),
        referer,
        &[("email", ADMIN_EMAIL), ("password", "not the password")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let back = location(&res);
    assert!(back.contains("/login?next=%2F"), "{back}");
    assert!(back.contains("__err="), "{back}");
    // The page rendered at that address shows the message without JavaScript.
    let html = client.get(back).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Invalid email or password"), "{html}");
}

/// An email longer than any address (254 bytes) is refused before anything
/// is stored for it: a flood of long junk cannot grow `login_failures`.
#[tokio::test]
async fn an_overlong_email_is_refused_and_stores_nothing() {
    let server = TestServer::with_admin().await;
    let client = server.client();
    let long = format!("{}@example.com", "a".repeat(300));
    let res = server.login(&client, &long, "whatever password").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let db = server.db().await;
    let n: i64 =
        signpost::on_db!(&db, p => sqlx::query_scalar("SELECT count(*) FROM login_failures")
        .fetch_one(p)
        .await)
        .unwrap();
    assert_eq!(n, 0);
    // A wrong password for a real-sized email is counted, as before.
    let res = server
        .login(&client, "nobody@example.com", "whatever password")
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let n: i64 =
        signpost::on_db!(&db, p => sqlx::query_scalar("SELECT count(*) FROM login_failures")
        .fetch_one(p)
        .await)
        .unwrap();
    assert_eq!(n, 1);
}
