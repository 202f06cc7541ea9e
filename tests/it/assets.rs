//! Pages and API answers are compressed for a client that takes it, and
//! never stored by a cache (issue 15). The site's files are the browser
//! suite's to check (`end2end/tests/assets.spec.ts`): these servers run
//! without a built site.

use crate::support::{Api, TestServer};
use reqwest::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING};
use reqwest::StatusCode;

#[tokio::test]
async fn pages_are_compressed_and_never_stored() {
    let s = TestServer::with_admin().await;
    for encoding in ["br", "gzip"] {
        let res = s
            .client()
            .get(s.url("/login"))
            .header(ACCEPT_ENCODING, encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[CONTENT_ENCODING], encoding);
        assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
        let body = res.bytes().await.unwrap();
        if encoding == "gzip" {
            assert_eq!(&body[..2], &[0x1f, 0x8b], "a gzip stream");
        }
    }
    // Without Accept-Encoding, the page as it is.
    let res = s.client().get(s.url("/login")).send().await.unwrap();
    assert!(res.headers().get(CONTENT_ENCODING).is_none());
    assert!(res.text().await.unwrap().contains("<html"));
}

#[tokio::test]
async fn api_answers_are_compressed_and_never_stored() {
    let s = Api::new(|_| {}).await;
    // Enough JSON to be worth compressing (tiny answers are sent as they are).
    s.register(
        "https://93.184.215.14/hook",
        serde_json::json!({ "description": "x".repeat(200) }),
    )
    .await;
    let res = s
        .req(reqwest::Method::GET, "/webhooks")
        .header(ACCEPT_ENCODING, "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let encoding = res.headers()[CONTENT_ENCODING]
        .to_str()
        .unwrap()
        .to_string();
    assert!(encoding == "br" || encoding == "gzip", "{encoding}");
    assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
    // A missing file is not cached either.
    let res = s
        .http
        .get(s.server.url("/pkg/none.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
}
