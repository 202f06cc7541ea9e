//! The dashboard's forms without the browser's script and with it
//! (`enhance`): where a post comes back to, what it says it did, and the
//! results shown once (a new secret on the next page, and only there).

use crate::support::*;
use reqwest::{header::ACCEPT, StatusCode};
use signpost::model::ProjectCredentials;

#[tokio::test]
async fn a_plain_post_comes_back_to_its_page_saying_what_it_did() {
    let (server, client) = TestServer::with_admin_signed_in(|_| {}).await;
    let (pid, _) = server.project("Before").await;
    // An earlier refusal in the address is dropped; the page's own query stays.
    let page = server.url(&format!(
        "/p/{pid}/settings?tab=1&__path=x&__err=y&done=old"
    ));
    let res = plain_form_post(
        &client,
        server.url("/api/projects/rename"),
        page,
        &[("project_id", &pid), ("name", "After")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(
        location(&res),
        format!("/p/{pid}/settings?tab=1&done=renamed")
    );
    let body = page_text(&client, server.url(&location(&res))).await;
    assert!(body.contains("Saved."), "{body}");
    assert!(body.contains("value=\"After\""), "{body}");

    // Never another site, whatever the Referer says.
    let res = plain_form_post(
        &client,
        server.url("/api/projects/rename"),
        format!("http://{}//evil.example/x", server.addr),
        &[("project_id", &pid), ("name", "After")],
    )
    .await;
    assert_eq!(location(&res), "/");

    // Sent by the page's script: the answer itself, and what was done in a header.
    let res = client
        .post(server.url("/api/projects/rename"))
        .header(ACCEPT, "application/json")
        .header("x-signpost-form", "1")
        .form(&[("project_id", pid.as_str()), ("name", "Again")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-signpost-done"], "renamed");

    // A refusal of a plain post comes back in the address, for the page to draw.
    let res = plain_form_post(
        &client,
        server.url("/api/projects/rename"),
        server.url(&format!("/p/{pid}/settings?done=renamed")),
        &[("project_id", &pid), ("name", " ")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let back = location(&res);
    assert!(back.contains("__err="), "{back}");
    let body = page_text(&client, back).await;
    assert!(body.contains("Give the project a name"), "{body}");
    // And an old `done` does not say "Saved." beside it.
    assert!(!body.contains("Saved."), "{body}");
}

#[tokio::test]
async fn a_new_secret_is_shown_on_the_next_page_once_and_never_stored_readable() {
    let (server, client) = TestServer::with_admin_signed_in(|_| {}).await;
    let res = plain_form_post(
        &client,
        server.url("/api/projects/create"),
        server.url("/"),
        &[("name", "Shown once")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    // Back to the page it came from (Leptos leaves an empty query on it).
    assert_eq!(location(&res).trim_end_matches('?'), server.url("/"));
    // What the database holds while the secret waits for its page.
    let waiting = (!server.is_postgres()).then(|| server.database_bytes());
    let first = page_text(&client, server.url("/")).await;
    assert!(first.contains("Project created"), "{first}");
    let secret = field_value(&first, "secret-project-secret").expect("the secret is on the page");
    assert!(secret.len() > 20, "{secret}");
    if let Some(bytes) = waiting {
        // It waited in the session, sealed.
        let stored = String::from_utf8_lossy(&bytes).into_owned();
        assert!(
            stored.contains("shown_once"),
            "the session holds the result"
        );
        assert!(!stored.contains(&secret), "the secret was stored in clear");
    }
    let second = page_text(&client, server.url("/")).await;
    assert!(!second.contains(&secret));
    assert!(!second.contains("Project created"));

    // A script calling the function itself reads the answer; nothing is kept.
    let res = client
        .post(server.url("/api/projects/create"))
        .header(ACCEPT, "application/json")
        .form(&[("name", "Called")])
        .send()
        .await
        .unwrap();
    let called: ProjectCredentials = res.json().await.unwrap();
    assert!(!page_text(&client, server.url("/"))
        .await
        .contains(&called.secret));
}

/// The `value` of the input with `id` in a page.
fn field_value(page: &str, id: &str) -> Option<String> {
    let at = page.find(&format!("id=\"{id}\""))?;
    let rest = &page[at..];
    let start = rest.find("value=\"")? + "value=\"".len();
    let len = rest[start..].find('"')?;
    Some(rest[start..start + len].to_string())
}
