//! How a server-side fault reaches a person: logged here in full, answered
//! as a plain "something went wrong" that leaks nothing.

use crate::model::AppError;
use std::any::Any;

pub fn internal(e: impl std::fmt::Display + 'static) -> AppError {
    if let Some(e) = (&e as &dyn Any).downcast_ref::<sqlx::Error>() {
        if holds_nul(e) {
            return AppError::BadRequest(
                "Text here cannot hold the NUL character (\\0, %00)".into(),
            );
        }
    }
    tracing::error!("{e}");
    AppError::Internal
}

/// A database error in a server function or handler is a fault (logged,
/// answered generically), or the caller's NUL character: `?` says which.
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        internal(e)
    }
}

/// PostgreSQL refuses text with a NUL character in it (SQLite stores it):
/// the caller's input, not a fault of the server.
pub fn holds_nul(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(e) => e
            .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
            .is_some_and(|e| e.code() == "22021"),
        _ => false,
    }
}
