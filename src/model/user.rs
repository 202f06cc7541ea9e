use serde::{Deserialize, Serialize};

/// Passwords shorter than this are refused.
pub const MIN_PASSWORD_LEN: usize = 12;

vocabulary! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum Role {
        /// Every project, and the team.
        Admin = "admin",
        /// The projects given to them: reads and changes.
        Member = "member",
        /// The projects given to them: reads only.
        Viewer = "viewer",
    }
}

impl Role {
    /// How the Team page names it.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Member => "Member",
            Role::Viewer => "Viewer",
        }
    }

    /// Whether it reaches every project (else the ones given to it).
    pub fn sees_every_project(self) -> bool {
        self == Role::Admin
    }

    /// Whether it may change anything (a viewer reads only).
    pub fn may_change(self) -> bool {
        self != Role::Viewer
    }
}

/// The role of whoever a dashboard page is drawn for, put in the page
/// request by the page guard (so that a page knows, without asking the
/// database again, whether to draw its buttons for changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRole(pub Role);

/// The signed-in user as the dashboard sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub id: String,
    pub email: String,
    pub role: Role,
}

/// Trims and lower-cases an email address and checks that it looks like one.
pub fn normalize_email(email: &str) -> Result<String, String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(email.split_once('@'), Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    if valid {
        Ok(email)
    } else {
        Err("Enter an email address like name@example.com".into())
    }
}

/// Checks a new password (and its confirmation, when the form has one).
pub fn check_new_password(password: &str, confirm: Option<&str>) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(format!(
            "Use a password of at least {MIN_PASSWORD_LEN} characters"
        ));
    }
    if password.len() > 1024 {
        return Err("Use a password of at most 1024 bytes".into());
    }
    if confirm.is_some_and(|c| c != password) {
        return Err("The passwords do not match".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            normalize_email("  Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "a b@example.com",
            "a@b@c",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_need_twelve_characters_and_a_match() {
        assert!(check_new_password("short", None).is_err());
        assert!(check_new_password("twelve chars", None).is_ok());
        assert_eq!(
            check_new_password("twelve chars", Some("twelve charz")).unwrap_err(),
            "The passwords do not match"
        );
        // Counted in characters, not bytes.
        assert!(check_new_password("ééééééééééé", None).is_err());
    }
}

/// What the setup page shows: the form while no user exists, with the
/// one-time token from the address bar where one is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupState {
    pub needed: bool,
    pub token_required: bool,
}
