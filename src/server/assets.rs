//! How the dashboard's files reach a browser: under hashed names when the
//! build made them (cargo-leptos `hash-files`), cached for a year then,
//! and compressed (precompressed `.br`/`.gz` beside each file in a release
//! build, served by leptos_axum's `ServeDir`; anything else on the fly by
//! the router's `CompressionLayer`). Pages and API answers hold session
//! or project data: never stored by a cache.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use leptos::config::LeptosOptions;
use std::path::PathBuf;

/// Where cargo-leptos writes the hashes of the built files: beside the
/// server binary (leptos reads it from there to name the scripts).
pub fn hash_file(options: &LeptosOptions) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.join(options.hash_file.as_ref()))
}

/// Turns hashed names on when this build made them, whatever
/// `LEPTOS_HASH_FILES` says: the names in the pages must be the files'.
pub fn use_hashed_names(options: &mut LeptosOptions) {
    options.hash_files = hash_file(options).is_some_and(|f| f.is_file());
}

const YEAR: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
const REVALIDATE: HeaderValue = HeaderValue::from_static("no-cache");
const DAY: HeaderValue = HeaderValue::from_static("public, max-age=86400");
const NEVER: HeaderValue = HeaderValue::from_static("no-store");

/// Sets `Cache-Control` on every answer that has none: a year for the
/// site's hashed files (a new build has new names), revalidation for its
/// unhashed ones, a day for the icons, and `no-store` for the rest.
pub async fn cache_control(State(hashed): State<bool>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let policy = if path.starts_with("/pkg/") {
        if hashed {
            YEAR
        } else {
            REVALIDATE
        }
    } else if path.starts_with("/favicon") {
        DAY
    } else {
        NEVER
    };
    let mut res = next.run(req).await;
    // A missing file's 404 page is not cached.
    let found = res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED;
    let value = if found { policy } else { NEVER };
    res.headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(value);
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::middleware::from_fn_with_state;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    async fn cache_of(hashed: bool, path: &str) -> (StatusCode, String) {
        let app = Router::new()
            .route("/pkg/{file}", get(|| async { "file" }))
            .route("/favicon.svg", get(|| async { "icon" }))
            .route("/page", get(|| async { "page" }))
            .layer(from_fn_with_state(hashed, cache_control));
        let res = app
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let value = res.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .to_string();
        (res.status(), value)
    }

    #[tokio::test]
    async fn each_answer_gets_the_cache_policy_of_what_it_is() {
        let year = "public, max-age=31536000, immutable";
        assert_eq!(cache_of(true, "/pkg/signpost.abc.wasm").await.1, year);
        assert_eq!(cache_of(false, "/pkg/signpost.wasm").await.1, "no-cache");
        assert_eq!(
            cache_of(true, "/favicon.svg").await.1,
            "public, max-age=86400"
        );
        assert_eq!(cache_of(true, "/page").await.1, "no-store");
        // Nothing there: not cached.
        assert_eq!(
            cache_of(true, "/pkg/a/b").await,
            (StatusCode::NOT_FOUND, "no-store".to_string())
        );
    }
}
