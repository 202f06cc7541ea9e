use crate::support::TestServer;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread")]
async fn healthz_and_readyz_answer() {
    let server = TestServer::start().await;
    let client = server.client();
    let res = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "ok");
    let res = client.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "ready");
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_is_503_when_the_database_does_not_answer() {
    use axum::extract::State;
    use signpost::server::{config::Config, db, health, state::AppState};

    let dir = tempfile::tempdir().unwrap();
    let url = crate::support::fresh_database_url(dir.path(), "r.db").await;
    let pool = db::connect(&url).await.unwrap();
    let options = leptos::config::LeptosOptions::builder()
        .output_name("signpost")
        .build();
    let secrets = signpost::server::secrets::SecretBox::from_key(&[0; 32]);
    let state = AppState::new(pool.clone(), Config::for_database(url), options, secrets);
    assert_eq!(health::readyz(State(state.clone())).await.0, StatusCode::OK);
    pool.close().await;
    assert_eq!(
        health::readyz(State(state)).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
}
