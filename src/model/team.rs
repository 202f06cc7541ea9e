//! The team: who can sign in to the dashboard, and the record of changes.

use super::Role;
use serde::{Deserialize, Serialize};

/// How long a one-time sign-in link works.
pub const SIGN_IN_LINK_HOURS: i64 = 72;

/// A user as the Team page lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMember {
    pub id: String,
    pub email: String,
    pub role: Role,
    /// Unix milliseconds.
    pub created_at: i64,
    pub last_sign_in_at: Option<i64>,
    /// Invited, and has not chosen a password yet.
    pub invited: bool,
    /// The user looking at the list.
    pub is_you: bool,
}

/// A one-time sign-in link, shown exactly once: the token behind it is
/// stored only as a hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInLink {
    pub email: String,
    pub url: String,
    /// Unix milliseconds.
    pub expires_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkPurpose {
    /// A new teammate chooses their first password.
    Invite,
    /// A user who is locked out chooses a new password.
    Reset,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Invite => "invite",
            LinkPurpose::Reset => "reset",
        }
    }

    pub fn parse(s: &str) -> Option<LinkPurpose> {
        match s {
            "invite" => Some(LinkPurpose::Invite),
            "reset" => Some(LinkPurpose::Reset),
            _ => None,
        }
    }
}

/// What the page behind a sign-in link needs to know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkInfo {
    pub email: String,
    pub purpose: LinkPurpose,
}

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
        other => other,
    }
}
