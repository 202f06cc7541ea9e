//! Only Signpost's own names are answered, and a fresh install reachable
//! from the network needs its setup token (issue 13, defect 8).

use crate::support::{app_error, TestServer, ADMIN_EMAIL, ADMIN_PASSWORD};
use reqwest::{Client, StatusCode};
use signpost::model::{AppError, SetupState};

const SETUP: [(&str, &str); 3] = [
    ("email", ADMIN_EMAIL),
    ("password", ADMIN_PASSWORD),
    ("confirm", ADMIN_PASSWORD),
];

/// `POST /api/setup` as a page served under `host` would send it.
async fn setup_as(server: &TestServer, client: &Client, host: &str) -> reqwest::Response {
    client
        .post(server.url("/api/setup"))
        .header("host", host)
        .header("origin", format!("http://{host}"))
        .form(&SETUP)
        .send()
        .await
        .unwrap()
}

/// What `/setup` shows, as its page asks.
async fn setup_state(server: &TestServer) -> SetupState {
    let res = server
        .client()
        .post(server.url("/api/setup_status"))
        .send()
        .await
        .unwrap();
    res.json().await.unwrap()
}

async fn status_as(server: &TestServer, host: &str, path: &str) -> StatusCode {
    server
        .client()
        .get(server.url(path))
        .header("host", host)
        .send()
        .await
        .unwrap()
        .status()
}

/// A page on a re-bound domain reaches the server with that domain as its
/// Host and Origin: it is refused before anything is read or written,
/// including the first-admin setup that needs no cookie.
#[tokio::test]
async fn a_rebound_name_is_refused_and_cannot_set_up_the_first_admin() {
    let server = TestServer::start().await;
    let port = server.addr.port();
    let rebound = format!("rebind.attacker.example:{port}");
    let res = setup_as(&server, &server.client(), &rebound).await;
    assert_eq!(res.status(), StatusCode::MISDIRECTED_REQUEST);
    assert!(res.text().await.unwrap().contains("SIGNPOST_ALLOWED_HOSTS"));
    for path in ["/", "/setup", "/openapi.json", "/projects/x/webhooks/"] {
        assert_eq!(
            status_as(&server, &rebound, path).await,
            StatusCode::MISDIRECTED_REQUEST,
            "{path}"
        );
    }
    // Probes may use any name.
    assert_eq!(
        status_as(&server, &rebound, "/healthz").await,
        StatusCode::OK
    );
    assert!(!server.state.has_users().await.unwrap());

    // The address itself and `localhost` (on loopback) are ours.
    assert_eq!(
        status_as(&server, &format!("localhost:{port}"), "/setup").await,
        StatusCode::OK
    );
    assert_eq!(
        status_as(&server, &format!("127.0.0.1:{}", port + 1), "/setup").await,
        StatusCode::MISDIRECTED_REQUEST
    );
    let res = setup_as(&server, &server.client(), &server.addr.to_string()).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
}

/// The public URL's name and the allow-list are answered; the origin check
/// believes only those, not whatever `Host` says.
#[tokio::test]
async fn the_public_url_and_the_allow_list_are_answered() {
    let (server, client) = TestServer::with_admin_signed_in(|c| {
        c.public_url = Some("https://hooks.example.com".into());
        c.allowed_hosts = "signpost.internal".parse().unwrap();
    })
    .await;
    for host in [
        "hooks.example.com",
        "signpost.internal:8080",
        "signpost.internal",
    ] {
        assert_eq!(
            status_as(&server, host, "/login").await,
            StatusCode::OK,
            "{host}"
        );
    }
    assert_eq!(
        status_as(&server, "hooks.example.com:8443", "/login").await,
        StatusCode::MISDIRECTED_REQUEST
    );
    // A signed-in browser posting from the public origin is served; from
    // the allow-list's name too, when the page is the one the request goes
    // to; never from another port of that name, nor another name.
    for (origin, host, expected) in [
        (
            "https://hooks.example.com",
            "hooks.example.com",
            StatusCode::OK,
        ),
        (
            "http://signpost.internal",
            "signpost.internal",
            StatusCode::OK,
        ),
        (
            "http://signpost.internal:8080",
            "signpost.internal:8080",
            StatusCode::OK,
        ),
        (
            "http://signpost.internal:9999",
            "signpost.internal:8080",
            StatusCode::FORBIDDEN,
        ),
        (
            "http://signpost.internal:9999",
            "signpost.internal",
            StatusCode::FORBIDDEN,
        ),
        (
            "http://hooks.example.com",
            "hooks.example.com",
            StatusCode::FORBIDDEN,
        ),
        (
            "https://evil.example",
            "signpost.internal",
            StatusCode::FORBIDDEN,
        ),
    ] {
        let res = client
            .post(server.url("/api/projects/create"))
            .header("host", host)
            .header("origin", origin)
            .form(&[("name", "From a browser")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), expected, "{origin} to {host}");
    }
}

/// With a setup token, `/setup` says it needs one and creates the first
/// admin only with the right one.
#[tokio::test]
async fn the_first_admin_needs_the_setup_token_when_one_is_set() {
    let server = TestServer::start_with(|c| c.setup_token = Some("one-time-token".into())).await;
    let client = server.client();
    let status = setup_state(&server).await;
    assert_eq!(
        status,
        SetupState {
            needed: true,
            token_required: true
        }
    );
    for token in [
        None,
        Some(""),
        Some("one-time-tokeN"),
        Some("one-time-token-"),
    ] {
        let mut form = SETUP.to_vec();
        if let Some(t) = token {
            form.push(("token", t));
        }
        let res = client
            .post(server.url("/api/setup"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{token:?}");
        match app_error(res).await {
            AppError::Forbidden(m) => assert!(m.contains("setup token"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
    assert!(!server.state.has_users().await.unwrap());
    let mut form = SETUP.to_vec();
    form.push(("token", "one-time-token"));
    let res = client
        .post(server.url("/api/setup"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    assert!(server.state.has_users().await.unwrap());
}

/// Behind a proxy on this machine (a public URL elsewhere, or trusted
/// proxies), a loopback listener is reachable from the network: a token is
/// made and asked for; the setup link carries it into the form, also before
/// the page's script runs.
#[tokio::test]
async fn behind_a_proxy_a_loopback_install_needs_the_setup_token() {
    type Adjust = fn(&mut signpost::server::config::Config);
    let proxied: [Adjust; 2] = [
        |c| c.public_url = Some("https://hooks.example.com".into()),
        |c| c.trusted_proxies = "127.0.0.1".parse().unwrap(),
    ];
    for adjust in proxied {
        let server = TestServer::start_with(adjust).await;
        assert!(signpost::server::auth::setup_token::required(&server.state));
        let res = setup_as(&server, &server.client(), &server.addr.to_string()).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
    let server = TestServer::start_with(|c| c.setup_token = Some("t0ken-in-the-link".into())).await;
    let html = server
        .client()
        .get(server.url("/setup?token=t0ken-in-the-link"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(r#"name="token" value="t0ken-in-the-link""#),
        "the server-rendered form carries the token"
    );
}

/// On loopback, with no token configured, none is asked for.
#[tokio::test]
async fn a_loopback_install_needs_no_setup_token() {
    let server = TestServer::start().await;
    let status = setup_state(&server).await;
    assert!(status.needed && !status.token_required);
}
