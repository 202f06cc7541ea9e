use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub id: String,
    pub name: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// Credentials for the HTTP API, shown exactly once (at creation or after
/// "Regenerate secret").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectCredentials {
    pub id: String,
    pub secret: String,
}

/// Checks a project name: 1 to 100 characters after trimming.
pub fn check_project_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.chars().any(char::is_control) {
        return Err("A project name is one line of text, without control characters".into());
    }
    match name.chars().count() {
        0 => Err("Give the project a name".into()),
        1..=100 => Ok(name.to_string()),
        _ => Err("A project name has at most 100 characters".into()),
    }
}
