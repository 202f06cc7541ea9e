//! What a form just made (a new secret, a one-time link), shown once on the
//! page the form comes back to, in a dialog. The server keeps it in the
//! session until this page takes it (`api::shown_once`).

use super::secret::SecretField;
use super::time::LocalTime;
use crate::api::portal::take_portal_shown;
use crate::api::shown_once::take_shown_once;
use crate::model::form_protocol::DONE_PARAM;
use crate::model::{is_portal_token, Scheme, ShownOnce, PORTAL_SHOWN_PREFIX, SIGN_IN_LINK_HOURS};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The dialog, when there is something to show; `enhance` makes it modal.
/// On the dashboard it comes from the session; in the portal (no session)
/// the page's `done=shown-{id}` names it.
#[component]
pub fn ShownOnceDialog() -> impl IntoView {
    let scope = use_params_map()
        .read_untracked()
        .get("pid")
        .unwrap_or_default();
    let kept = use_query_map()
        .read_untracked()
        .get(DONE_PARAM)
        .and_then(|d| d.strip_prefix(PORTAL_SHOWN_PREFIX).map(str::to_string));
    let once = Resource::new(
        || (),
        move |_| {
            let (scope, kept) = (scope.clone(), kept.clone());
            async move {
                match (is_portal_token(&scope), kept) {
                    (true, Some(id)) => take_portal_shown(scope, id).await,
                    (true, None) => Ok(None),
                    (false, _) => take_shown_once().await,
                }
            }
        },
    );
    view! {
        <Suspense fallback=|| ()>
            {move || once.get().and_then(Result::ok).flatten().map(|what| view! { <Shown what /> })}
        </Suspense>
    }
}

#[component]
fn Shown(what: ShownOnce) -> impl IntoView {
    let (title, body) = match what {
        ShownOnce::ProjectCreated(c) => ("Project created", view! {
            <p>"Your platform calls the API with these credentials (HTTP Basic: id as user, secret as password)."</p>
            <SecretField label="Project ID" value=c.id />
            <SecretField label="Project secret" value=c.secret />
            <Saved />
        }.into_any()),
        ShownOnce::ProjectSecret(c) => ("New project secret", view! {
            <SecretField label="Project secret" value=c.secret />
            <Saved />
        }.into_any()),
        ShownOnce::WebhookAdded(c) => ("Webhook added", view! {
            <p>"Signpost signs every delivery to " <code>{c.webhook.url.clone()}</code> " with this secret."</p>
            <SecretField label="Signing secret" value=c.signing_secret />
            <p class="hint">{verify_hint(c.webhook.scheme)}</p>
            <Saved />
        }.into_any()),
        ShownOnce::WebhookSecret(r) => ("New signing secret", view! {
            <SecretField label="Signing secret" value=r.signing_secret />
            {r.webhook.previous_secret_expires_at.map(|t| view! {
                <p>"The old secret works until " <LocalTime ms=t /> "."</p>
            })}
            <Saved />
        }.into_any()),
        ShownOnce::AlertUrl(t) => ("Alert URL set", view! {
            <p>"Signpost signs every alert it sends to " <code>{t.webhook_url.clone().unwrap_or_default()}</code> " with this secret (spectrum-v0)."</p>
            <SecretField label="Signing secret" value=t.signing_secret.clone().unwrap_or_default() />
            <Saved />
        }.into_any()),
        ShownOnce::SignInLink(link) => ("One-time sign-in link", view! {
            <p>"Send this link to " <strong>{link.email.clone()}</strong> ". With it they choose a password and sign in."</p>
            <SecretField label="Sign-in link" value=link.url />
            <p class="hint">
                "It works once, until " <LocalTime ms=link.expires_at /> " ("
                {SIGN_IN_LINK_HOURS} " hours). This is the only time it is shown; "
                "if it is lost, issue a new one from this page."
            </p>
            <form method="dialog" class="actions">
                <button type="submit" class="primary">"Done"</button>
            </form>
        }.into_any()),
    };
    view! {
        <dialog class="modal card" open data-once aria-label=title>
            <h2>{title}</h2>
            {body}
        </dialog>
    }
}

/// The "store it now" footer; closing the dialog is the only way out.
#[component]
fn Saved() -> impl IntoView {
    view! {
        <p class="hint">"This is the only time it is shown. Store it somewhere safe now."</p>
        <form method="dialog" class="actions">
            <button type="submit" class="primary">"I have saved it"</button>
        </form>
    }
}

/// How to check a signature, in one line per scheme.
fn verify_hint(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::SpectrumV0 => {
            "Verify each delivery: compute HMAC-SHA256 with this secret over \
            \"v0:{X-Spectrum-Timestamp}:{raw body}\" and compare \"v0=\" + its hex digest with \
            X-Spectrum-Signature, in constant time."
        }
        Scheme::StandardWebhooks => {
            "Verify each delivery with any Standard Webhooks library \
            (webhook-id, webhook-timestamp and webhook-signature headers) using this secret."
        }
    }
}
