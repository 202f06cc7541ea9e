//! The team: who can sign in to the dashboard, and the record of changes.

use super::Role;
use serde::{Deserialize, Serialize};

/// How long a one-time sign-in link works.
pub const SIGN_IN_LINK_HOURS: i64 = 72;

/// The Team page's list: everyone who can sign in, and whether the person
/// looking may change it (admins) or only read it (members).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub can_manage: bool,
    pub members: Vec<TeamMember>,
}

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
    /// The ids of the projects given to them (an admin reaches every one).
    pub projects: Vec<String>,
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

vocabulary! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum LinkPurpose {
        /// A new teammate chooses their first password.
        Invite = "invite",
        /// A user who is locked out chooses a new password.
        Reset = "reset",
    }
}

/// What the page behind a sign-in link needs to know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkInfo {
    pub email: String,
    pub purpose: LinkPurpose,
}
