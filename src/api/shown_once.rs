use crate::model::{AppError, ShownOnce};
use leptos::prelude::*;

/// Takes what the last form of this session made to be shown once (see
/// `server::context::show_once`): the page that renders it is the only one
/// that sees it.
#[server(endpoint = "shown_once")]
pub async fn take_shown_once() -> Result<Option<ShownOnce>, AppError> {
    use crate::server::context;
    // Whose it is is checked only when something is kept.
    let cx = context::current().await?;
    Ok(context::take_shown_once(&cx).await)
}
