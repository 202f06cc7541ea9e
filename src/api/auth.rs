use crate::model::{AppError, SetupState, UserInfo};
use leptos::prelude::*;

/// Signs in and goes to `next` (a local path) or `/`.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::server::{auth, context};
    context::respond(async {
        let cx = context::current().await?;
        auth::sign_in(&cx.state, &cx.session, &cx.ip, &email, password).await?;
        leptos_axum::redirect(&crate::model::safe_next(next.as_deref()));
        Ok(())
    })
    .await
}

/// First run only: creates the first admin, signs them in, goes to `/`.
/// `token` is the one-time setup token, where one is required.
#[server(endpoint = "setup")]
pub async fn setup(
    email: String,
    password: String,
    confirm: String,
    #[server(default)] token: Option<String>,
) -> Result<(), AppError> {
    use crate::server::{auth, context};
    context::respond(async {
        let cx = context::current().await?;
        let token = token.as_deref();
        auth::create_first_admin(&cx.state, &cx.session, &email, password, &confirm, token).await?;
        leptos_axum::redirect("/");
        Ok(())
    })
    .await
}

/// Whether Signpost still waits for its first admin, and whether setting
/// it up needs the one-time token.
#[server(endpoint = "setup_status")]
pub async fn setup_status() -> Result<SetupState, AppError> {
    use crate::server::{auth::setup_token, context};
    context::respond(async {
        let cx = context::current().await?;
        let needed = !cx.state.has_users().await?;
        Ok(SetupState {
            needed,
            token_required: needed && setup_token::required(&cx.state),
        })
    })
    .await
}

/// Ends the session on the server and goes to the sign-in page.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::server::{auth, context};
    context::respond(async {
        let cx = context::current().await?;
        auth::sign_out(&cx.session).await?;
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

/// The signed-in user, or `None`.
#[server(endpoint = "me")]
pub async fn current_user() -> Result<Option<UserInfo>, AppError> {
    use crate::server::{auth, context};
    context::respond(async {
        let cx = context::current().await?;
        Ok(auth::current_user(&cx.state, &cx.session)
            .await?
            .map(|u| u.info()))
    })
    .await
}
