//! The Account page: everyone's own password and sessions.

use crate::model::AppError;
use leptos::prelude::*;

/// Changes the password; the user's other sessions end, this one stays.
#[server(endpoint = "account/password")]
pub async fn change_password(
    current: String,
    password: String,
    confirm: String,
) -> Result<(), AppError> {
    use crate::server::{account, context};
    context::respond(async {
        let (cx, me) = context::user().await?;
        account::change_password(
            &cx.state,
            &cx.session,
            &cx.ip,
            &me,
            current,
            password,
            &confirm,
        )
        .await?;
        context::form_done("password");
        Ok(())
    })
    .await
}

/// Ends every other session of the signed-in user.
#[server(endpoint = "account/sign_out_elsewhere")]
pub async fn sign_out_elsewhere() -> Result<(), AppError> {
    use crate::server::{account, context};
    context::respond(async {
        let (cx, me) = context::user().await?;
        account::sign_out_elsewhere(&cx.state, &cx.session, &me).await?;
        context::form_done("signed-out");
        Ok(())
    })
    .await
}
