use super::{now_ms, Db, Guard};
use crate::model::{Role, UserInfo};

/// A user row, with the password hash (never leaves the server).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub session_epoch: i64,
}

/// A user as the Team page lists them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub created_at: i64,
    pub last_sign_in_at: Option<i64>,
    pub invited: bool,
}

impl UserRow {
    pub fn info(&self) -> UserInfo {
        UserInfo {
            id: self.id.clone(),
            email: self.email.clone(),
            role: self.role,
        }
    }

    /// Invited and has not chosen a password yet: cannot sign in.
    pub fn invited(&self) -> bool {
        self.password_hash.is_empty()
    }
}

/// The password hash of an invited user who has not chosen a password yet.
/// No argon2 hash is empty, so no password matches it.
pub const NO_PASSWORD: &str = "";

/// Whether a change leaves the team with an admin who can sign in.
pub enum Guarded {
    Done,
    NoSuchUser,
    LastAdmin,
}

/// An admin other than `id` who has chosen a password.
const ANOTHER_ADMIN: &str = "EXISTS (SELECT 1 FROM users o \
     WHERE o.role = 'admin' AND o.id <> $1 AND o.password_hash <> '')";

const COLUMNS: &str = "id, email, password_hash, role, session_epoch";

pub async fn any_exist(db: &Db) -> sqlx::Result<bool> {
    crate::on_db!(db, c => sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users)")
        .fetch_one(c)
        .await)
}

pub async fn by_email(db: &Db, email: &str) -> sqlx::Result<Option<UserRow>> {
    crate::on_db!(db, c => sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE email = $1"))
        .bind(email)
        .fetch_optional(c)
        .await)
}

pub async fn by_id(db: &Db, id: &str) -> sqlx::Result<Option<UserRow>> {
    crate::on_db!(db, c => sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(c)
        .await)
}

pub enum Created {
    Yes(String),
    EmailTaken,
    /// `only_if_first` was set and a user already exists.
    NotFirst,
}

/// Inserts a user. With `only_if_first`, the insert happens only while the
/// table is empty, atomically (under [`Guard::Users`] on PostgreSQL), so
/// two first-run setups cannot both win, on one process or several.
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
    let mut tx = db.begin().await?;
    tx.guard(Guard::Users).await?;
    let result = crate::on_tx!(&mut tx, c => sqlx::query(&format!(
        "INSERT INTO users (id, email, password_hash, role, created_at) \
         SELECT $1, $2, $3, $4, $5 {guard}"
    ))
    .bind(&id)
    .bind(email)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(now_ms())
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()));
    let result = match result {
        Ok(n) => tx.commit().await.map(|_| n),
        Err(e) => Err(e),
    };
    match result {
        Ok(1) => Ok(Created::Yes(id)),
        Ok(_) => Ok(Created::NotFirst),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(Created::EmailTaken),
        Err(e) => Err(e),
    }
}

pub async fn touch_sign_in(db: &Db, id: &str) -> sqlx::Result<()> {
    crate::on_db!(db, c => sqlx::query("UPDATE users SET last_sign_in_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(id)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn list(db: &Db) -> sqlx::Result<Vec<MemberRow>> {
    crate::on_db!(db, c => sqlx::query_as(
        "SELECT id, email, role, created_at, last_sign_in_at, password_hash = '' AS invited \
         FROM users ORDER BY email",
    )
    .fetch_all(c)
    .await)
}

/// Changes a user's role. Demoting is refused when it would leave no admin
/// who can sign in; the check and the change are one statement (and, on
/// PostgreSQL, under [`Guard::Users`], so that two demotions on two
/// processes cannot each count the other as the admin who stays).
pub async fn set_role(db: &Db, id: &str, role: Role) -> sqlx::Result<Guarded> {
    let guard = match role {
        Role::Admin => "TRUE",
        Role::Member | Role::Viewer => ANOTHER_ADMIN,
    };
    let mut tx = db.begin().await?;
    tx.guard(Guard::Users).await?;
    let done = crate::on_tx!(&mut tx, c => sqlx::query(&format!(
        "UPDATE users SET role = $2 WHERE id = $1 AND (role = $2 OR {guard})"
    ))
    .bind(id)
    .bind(role.as_str())
    .execute(&mut *c)
    .await?
    .rows_affected());
    tx.commit().await?;
    guarded(db, id, done).await
}

/// Deletes a user (their sessions stop matching anyone at once), unless
/// they are the last admin who can sign in.
pub async fn remove(db: &Db, id: &str) -> sqlx::Result<Guarded> {
    let mut tx = db.begin().await?;
    tx.guard(Guard::Users).await?;
    let done = crate::on_tx!(&mut tx, c => sqlx::query(&format!(
        "DELETE FROM users WHERE id = $1 AND (role <> 'admin' OR {ANOTHER_ADMIN})"
    ))
    .bind(id)
    .execute(&mut *c)
    .await?
    .rows_affected());
    tx.commit().await?;
    guarded(db, id, done).await
}

async fn guarded(db: &Db, id: &str, done: u64) -> sqlx::Result<Guarded> {
    Ok(match (done, by_id(db, id).await?) {
        (1, _) => Guarded::Done,
        (_, None) => Guarded::NoSuchUser,
        (_, Some(_)) => Guarded::LastAdmin,
    })
}

/// Sets a new password hash and ends every session of the user; returns the
/// new session epoch (for the session that stays, if any).
pub async fn set_password(db: &Db, id: &str, password_hash: &str) -> sqlx::Result<Option<i64>> {
    crate::on_db!(db, c => sqlx::query_scalar(
        "UPDATE users SET password_hash = $1, session_epoch = session_epoch + 1 \
         WHERE id = $2 RETURNING session_epoch",
    )
    .bind(password_hash)
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// Ends every session of the user; returns the new epoch.
pub async fn bump_epoch(db: &Db, id: &str) -> sqlx::Result<Option<i64>> {
    crate::on_db!(db, c => sqlx::query_scalar(
        "UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1 RETURNING session_epoch",
    )
    .bind(id)
    .fetch_optional(c)
    .await)
}
