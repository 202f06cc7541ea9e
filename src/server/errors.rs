//! How a server-side fault reaches a person: logged here in full, answered
//! as a plain "something went wrong" that leaks nothing.

use crate::model::AppError;

pub fn internal(e: impl std::fmt::Display) -> AppError {
    tracing::error!("{e}");
    AppError::Internal
}
