//! The System page (admins only).

use crate::model::{AppError, SystemView};
use leptos::prelude::*;

#[server(endpoint = "system/view")]
pub async fn get_system() -> Result<SystemView, AppError> {
    use crate::server::{context, system};
    context::respond(async {
        let (cx, _) = context::admin().await?;
        system::view(&cx.state).await
    })
    .await
}
