#[cfg(feature = "ssr")]
use crate::model::ShownOnce;
use crate::model::{AppError, TestResult, Webhook, WebhookForm, WebhookWithSecret};
use leptos::prelude::*;

#[server(endpoint = "webhooks/list")]
pub async fn list_webhooks(project_id: String) -> Result<Vec<Webhook>, AppError> {
    use crate::server::{context, webhooks};
    context::respond(async {
        let s = context::in_scope(&project_id).await?;
        webhooks::list(&s.cx.state, &s.scope).await
    })
    .await
}

#[server(endpoint = "webhooks/get")]
pub async fn get_webhook(project_id: String, webhook_id: String) -> Result<Webhook, AppError> {
    use crate::server::{context, webhooks};
    context::respond(async {
        let s = context::in_scope(&project_id).await?;
        webhooks::get(&s.cx.state, &s.scope, &webhook_id).await
    })
    .await
}

/// Registers a webhook; the answer holds its signing secret, shown once.
/// Settings the form does not give take their defaults.
#[server(endpoint = "webhooks/create")]
pub async fn create_webhook(
    project_id: String,
    url: String,
    scheme: String,
    #[server(flatten)] settings: WebhookForm,
) -> Result<WebhookWithSecret, AppError> {
    use crate::model::{NewWebhook, Scheme};
    use crate::server::{context, webhooks};
    context::respond(async {
        let s = context::to_change(&project_id).await?;
        let scheme = Scheme::parse(&scheme)
            .ok_or_else(|| AppError::Invalid(format!("Unknown signature scheme {scheme:?}")))?;
        let new = NewWebhook {
            url,
            scheme,
            settings: form_settings(&s, settings)?,
            ..Default::default()
        };
        let made = webhooks::create(&s.cx.state, &s.scope, new, &s.actor()).await?;
        s.show_once(&ShownOnce::WebhookAdded(made.clone())).await?;
        Ok(made)
    })
    .await
}

/// A form's settings: a portal's may not set the pace (that is the
/// platform's), beyond the order.
#[cfg(feature = "ssr")]
fn form_settings(
    s: &crate::server::context::InScope,
    form: WebhookForm,
) -> Result<crate::model::WebhookSettings, AppError> {
    if s.grant().is_some() && form.sets_pace() {
        return Err(pace_is_the_platforms());
    }
    form.settings()
}

/// A portal's refusal to set the pace: concurrency and rate cost the
/// platform, so they are its own to set.
#[cfg(feature = "ssr")]
fn pace_is_the_platforms() -> AppError {
    AppError::Forbidden("The pace of a webhook is set by the platform".into())
}

#[server(endpoint = "webhooks/set_enabled")]
pub async fn set_webhook_enabled(
    project_id: String,
    webhook_id: String,
    enabled: bool,
) -> Result<Webhook, AppError> {
    use crate::model::WebhookPatch;
    use crate::server::{context, webhooks};
    context::respond(async {
        let s = context::to_change(&project_id).await?;
        let patch = WebhookPatch {
            enabled: Some(enabled),
            ..Default::default()
        };
        webhooks::update(&s.cx.state, &s.scope, &webhook_id, patch, &s.actor()).await
    })
    .await
}

/// Changes the settings the form gives; the others stay.
#[server(endpoint = "webhooks/edit")]
pub async fn edit_webhook(
    project_id: String,
    webhook_id: String,
    #[server(flatten)] settings: WebhookForm,
) -> Result<Webhook, AppError> {
    use crate::model::WebhookPatch;
    use crate::server::{context, webhooks};
    context::respond(async {
        let s = context::to_change(&project_id).await?;
        let patch = WebhookPatch {
            enabled: None,
            settings: form_settings(&s, settings)?,
        };
        webhooks::update(&s.cx.state, &s.scope, &webhook_id, patch, &s.actor()).await
    })
    .await
}

/// How a webhook's deliveries go out: its order, its ordering key (a JSON
/// Pointer; empty: none), its concurrency (empty: the default) and its rate
/// limit (deliveries per second; empty: none). The platform's own to set.
#[server(endpoint = "webhooks/pace")]
pub async fn set_webhook_pace(
    project_id: String,
    webhook_id: String,
    #[server(flatten)] settings: WebhookForm,
) -> Result<Webhook, AppError> {
    use crate::model::WebhookPatch;
    use crate::server::{context, webhooks};
    context::respond(async {
        let s = context::to_change(&project_id).await?;
        if s.grant().is_some() {
            return Err(pace_is_the_platforms());
        }
        let patch = WebhookPatch {
            enabled: None,
            settings: settings.settings()?,
        };
        let changed =
            webhooks::update(&s.cx.state, &s.scope, &webhook_id, patch, &s.actor()).await?;
        context::form_done("pace");
        Ok(changed)
    })
    .await
}

/// A new signing secret (shown once); the old one works for `grace_seconds`.
#[server(endpoint = "webhooks/rotate")]
pub async fn rotate_webhook_secret(
    project_id: String,
    webhook_id: String,
    grace_seconds: u64,
) -> Result<WebhookWithSecret, AppError> {
    use crate::server::{context, webhooks};
    context::respond(async {
        let s = context::to_change(&project_id).await?;
        let rotated = webhooks::rotate(
            &s.cx.state,
            &s.scope,
            &webhook_id,
            Some(grace_seconds),
            &s.actor(),
        )
        .await?;
        s.show_once(&ShownOnce::WebhookSecret(rotated.clone()))
            .await?;
        Ok(rotated)
    })
    .await
}

#[server(endpoint = "webhooks/delete")]
pub async fn delete_webhook(project_id: String, webhook_id: String) -> Result<(), AppError> {
    use crate::server::{context, webhooks};
    context::respond(async {
        let s = context::to_change(&project_id).await?;
        webhooks::delete(&s.cx.state, &s.scope, &webhook_id, &s.actor()).await
    })
    .await
}

/// Ends a rotation's grace period now: only the new secret signs.
#[server(endpoint = "webhooks/finish_rotation")]
pub async fn finish_rotation(project_id: String, webhook_id: String) -> Result<Webhook, AppError> {
    use crate::server::{context, webhooks};
    context::respond(async {
        let s = context::to_change(&project_id).await?;
        webhooks::finish_rotation(&s.cx.state, &s.scope, &webhook_id, &s.actor()).await
    })
    .await
}

/// Sends a sample event to this webhook and waits (up to the attempt
/// timeout and a little more) for the first attempt's result.
#[server(endpoint = "webhooks/test")]
pub async fn send_test_event(
    project_id: String,
    webhook_id: String,
) -> Result<TestResult, AppError> {
    use crate::server::{context, webhooks};
    context::respond(async {
        let s = context::to_change(&project_id).await?;
        let sent = webhooks::send_test(&s.cx.state, &s.scope, &webhook_id).await?;
        webhooks::first_attempt(&s.cx.state, &sent.delivery_id).await
    })
    .await
}
