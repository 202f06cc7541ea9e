//! Projects: creation and credentials. The project secret is shown once and
//! only its SHA-256 hash is kept (it is high-entropy, so a slow hash adds
//! nothing).

use super::db::activity::{self, Actor};
use super::db::users::UserRow;
use super::db::{self, Db};
use super::secrets::hash_token as hash_secret;
use super::state::AppState;
use crate::model::{check_project_name, AppError, Project, ProjectCredentials};
use rand::{distributions::Alphanumeric, rngs::OsRng, Rng};
use subtle::ConstantTimeEq;

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
    super::secrets::random_hex()
}

/// Creates a project; its secret is in the answer and nowhere else.
pub async fn create(db: &Db, name: &str) -> Result<ProjectCredentials, AppError> {
    let name = check_project_name(name).map_err(AppError::Invalid)?;
    let id = new_project_id();
    let secret = new_project_secret();
    db::projects::create(db, &id, &name, &hash_secret(&secret)).await?;
    tracing::info!(project = %id, "project created");
    Ok(ProjectCredentials { id, secret })
}

/// The projects `me` reaches: every one for an admin, else those given.
pub async fn list(state: &AppState, me: &UserRow) -> Result<Vec<Project>, AppError> {
    let all = db::projects::list(&state.db).await?;
    if me.info().role.sees_every_project() {
        return Ok(all);
    }
    let given = db::access::of_user(&state.db, &me.id).await?;
    Ok(all.into_iter().filter(|p| given.contains(&p.id)).collect())
}

pub async fn get(state: &AppState, id: &str) -> Result<Project, AppError> {
    db::projects::get(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn rename(
    state: &AppState,
    id: &str,
    name: &str,
    actor: &Actor<'_>,
) -> Result<Project, AppError> {
    let name = check_project_name(name).map_err(AppError::Invalid)?;
    let before = get(state, id).await?;
    if !db::projects::rename(&state.db, id, &name).await? {
        return Err(AppError::NotFound);
    }
    if before.name != name {
        activity::record(
            &state.db,
            Some(id),
            actor,
            "project.renamed",
            &name,
            &before.name,
        )
        .await?;
    }
    get(state, id).await
}

/// A new secret; the old one stops working at once.
pub async fn regenerate_secret(
    state: &AppState,
    id: &str,
    actor: &Actor<'_>,
) -> Result<ProjectCredentials, AppError> {
    let secret = new_project_secret();
    if !db::projects::set_secret_hash(&state.db, id, &hash_secret(&secret)).await? {
        return Err(AppError::NotFound);
    }
    tracing::info!(project = id, "project secret regenerated");
    activity::record(
        &state.db,
        Some(id),
        actor,
        "project.secret_regenerated",
        "project secret",
        "",
    )
    .await?;
    Ok(ProjectCredentials {
        id: id.to_string(),
        secret,
    })
}

/// Whether `secret` is the project's current secret (compared in constant time).
pub async fn authenticate(state: &AppState, id: &str, secret: &str) -> Result<bool, AppError> {
    let Some(stored) = db::projects::secret_hash(&state.db, id).await? else {
        return Ok(false);
    };
    Ok(bool::from(stored.as_slice().ct_eq(&hash_secret(secret))))
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
