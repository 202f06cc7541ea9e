use super::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use std::time::Duration;

/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers within two seconds.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    let ping = async {
        crate::on_db!(&state.db, c => sqlx::query("SELECT 1").execute(c).await.map(|_| ()))
    };
    match tokio::time::timeout(Duration::from_secs(2), ping).await {
        Ok(Ok(_)) => (StatusCode::OK, "ready"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}
