//! Projects: creation and credentials. The project secret is shown once and
//! only its SHA-256 hash is kept (it is high-entropy, so a slow hash adds
//! nothing).

use super::db::{self, Db};
use rand::{distributions::Alphanumeric, rngs::OsRng, Rng, RngCore};
use sha2::{Digest, Sha256};

pub struct NewProject {
    pub id: String,
    pub secret: String,
}

pub fn new_project_id() -> String {
    let suffix: String = OsRng
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect();
    format!("prj_{suffix}")
}

/// 32 random bytes as 64 lowercase hex characters.
pub fn new_project_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

pub async fn create(db: &Db, name: &str) -> anyhow::Result<NewProject> {
    let name = name.trim();
    anyhow::ensure!(!name.is_empty(), "a project needs a name");
    anyhow::ensure!(
        name.chars().count() <= 100,
        "a project name has at most 100 characters"
    );
    let id = new_project_id();
    let secret = new_project_secret();
    db::projects::create(db, &id, name, &hash_secret(&secret)).await?;
    Ok(NewProject { id, secret })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_have_their_formats() {
        let id = new_project_id();
        assert_eq!(id.len(), 24);
        assert!(id.starts_with("prj_"));
        assert!(id[4..].chars().all(|c| c.is_ascii_alphanumeric()));
        let secret = new_project_secret();
        assert_eq!(secret.len(), 64);
        assert!(secret.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        assert_ne!(secret, new_project_secret());
        assert_eq!(hash_secret(&secret).len(), 32);
    }
}
