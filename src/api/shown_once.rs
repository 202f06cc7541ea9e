use crate::model::{AppError, ShownOnce};
use leptos::prelude::*;

/// Takes what the last form of this session made to be shown once (see
/// `server::context::show_once`): the page that renders it is the only one
/// that sees it.
#[server(endpoint = "shown_once")]
pub async fn take_shown_once() -> Result<Option<ShownOnce>, AppError> {
    use crate::server::context;
    let (cx, me) = context::user().await?;
    Ok(context::take_shown_once(&cx, &me.id).await)
}
