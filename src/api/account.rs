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

/// Whether the signed-in user gets alert emails.
#[server(endpoint = "account/alert_emails")]
pub async fn get_alert_emails() -> Result<bool, AppError> {
    use crate::server::{context, db::alerts};
    context::respond(async {
        let (cx, me) = context::user().await?;
        Ok(alerts::opt_in(&cx.state.db, &me.id).await?)
    })
    .await
}

/// Turns alert emails on or off for the signed-in user.
#[server(endpoint = "account/set_alert_emails")]
pub async fn set_alert_emails(enabled: bool) -> Result<(), AppError> {
    use crate::server::{context, db::alerts};
    context::respond(async {
        let (cx, me) = context::user().await?;
        alerts::set_opt_in(&cx.state.db, &me.id, enabled).await?;
        context::form_done("alerts");
        Ok(())
    })
    .await
}
