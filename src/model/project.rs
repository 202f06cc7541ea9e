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
    let name = super::check_line(name, "A project name", 100)?;
    if name.is_empty() {
        return Err("Give the project a name".into());
    }
    Ok(name)
}
