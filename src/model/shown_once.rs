use super::{AlertTarget, ProjectCredentials, SignInLink, WebhookWithSecret};
use serde::{Deserialize, Serialize};

/// What a form just made and the dashboard shows exactly once, on the page
/// the form comes back to: a new secret or a one-time link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ShownOnce {
    ProjectCreated(ProjectCredentials),
    ProjectSecret(ProjectCredentials),
    WebhookAdded(WebhookWithSecret),
    WebhookSecret(WebhookWithSecret),
    SignInLink(SignInLink),
    /// A project's new alert URL, with its signing secret.
    AlertUrl(AlertTarget),
}
