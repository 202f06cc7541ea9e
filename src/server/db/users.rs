use super::{now_ms, Db};
use crate::model::{Role, UserInfo};

/// A user row, with the password hash (never leaves the server).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub session_epoch: i64,
}

impl UserRow {
    pub fn info(&self) -> UserInfo {
        UserInfo {
            id: self.id.clone(),
            email: self.email.clone(),
            role: Role::parse(&self.role).unwrap_or(Role::Member),
        }
    }
}

const COLUMNS: &str = "id, email, password_hash, role, session_epoch";

pub async fn any_exist(db: &Db) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users)")
        .fetch_one(db)
        .await
}

pub async fn by_email(db: &Db, email: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE email = ?"))
        .bind(email)
        .fetch_optional(db)
        .await
}

pub async fn by_id(db: &Db, id: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

pub enum Created {
    Yes(String),
    EmailTaken,
    /// `only_if_first` was set and a user already exists.
    NotFirst,
}

/// Inserts a user. With `only_if_first`, the insert happens only while the
/// table is empty, atomically, so two first-run setups cannot both win.
pub async fn create(
    db: &Db,
    email: &str,
    password_hash: &str,
    role: Role,
    only_if_first: bool,
) -> sqlx::Result<Created> {
    let id = uuid::Uuid::new_v4().to_string();
    let guard = if only_if_first {
        "WHERE NOT EXISTS (SELECT 1 FROM users)"
    } else {
        ""
    };
    let result = sqlx::query(&format!(
        "INSERT INTO users (id, email, password_hash, role, created_at) \
         SELECT ?, ?, ?, ?, ? {guard}"
    ))
    .bind(&id)
    .bind(email)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(now_ms())
    .execute(db)
    .await;
    match result {
        Ok(r) if r.rows_affected() == 1 => Ok(Created::Yes(id)),
        Ok(_) => Ok(Created::NotFirst),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(Created::EmailTaken),
        Err(e) => Err(e),
    }
}

pub async fn touch_sign_in(db: &Db, id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET last_sign_in_at = ? WHERE id = ?")
        .bind(now_ms())
        .bind(id)
        .execute(db)
        .await
        .map(|_| ())
}
