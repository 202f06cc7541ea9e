//! The append-only record of who changed what, and when.

use serde::{Deserialize, Serialize};

/// One line of the activity record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityEntry {
    /// Unix milliseconds.
    pub at: i64,
    /// Who did it: an email, or `None` for Signpost itself or the command line.
    pub actor: Option<String>,
    /// A dotted name, e.g. `user.added` (see [`describe_action`]).
    pub action: String,
    pub subject: String,
    pub detail: String,
}

/// The words for an activity's action, as a sentence's verb phrase.
pub fn describe_action(action: &str) -> &str {
    match action {
        "user.added" => "added teammate",
        "user.role_changed" => "changed the role of",
        "user.removed" => "removed",
        "user.link_issued" => "issued a sign-in link for",
        "user.joined" => "set their password:",
        "user.password_reset" => "reset the password of",
        "user.password_changed" => "changed their password:",
        "user.signed_out_elsewhere" => "signed out their other sessions:",
        "webhook.created" => "added webhook",
        "webhook.edited" => "edited webhook",
        "webhook.enabled" => "enabled webhook",
        "webhook.disabled" => "disabled webhook",
        "webhook.auto_disabled" => "automatically disabled webhook",
        "webhook.rotated" => "rotated the signing secret of",
        "webhook.rotation_finished" => "finished the rotation of",
        "webhook.deleted" => "deleted webhook",
        "webhook.replayed" => "replayed failed deliveries of",
        "delivery.redelivered" => "redelivered",
        "delivery.cancelled" => "cancelled delivery",
        "project.renamed" => "renamed the project to",
        "project.secret_regenerated" => "regenerated the",
        other => other,
    }
}
