use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// Every error a dashboard server function can return. The `Display` text is
/// what a person sees, so it names the problem and never leaks internals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Invalid email or password")]
    InvalidCredentials,
    #[error("Too many attempts — try again in {minutes} minutes")]
    TooManyAttempts { minutes: u64 },
    #[error("Please sign in")]
    Unauthenticated,
    /// Over a rate limit: answered 429 with `Retry-After`.
    #[error("Too many requests: try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
    /// A request that could not be read (a missing or ill-typed argument, a
    /// broken body): the caller's fault.
    #[error("{0}")]
    BadRequest(String),
    #[error("Not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    /// Something that existed and is no more (a used or expired link).
    #[error("{0}")]
    Gone(String),
    /// The server cannot take the work now (its writer is behind, or the
    /// disk is full); nothing was stored. Answered 503 with `Retry-After`.
    #[error("Signpost is busy and stored nothing: try again in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    #[error("Something went wrong on the server; it has been logged")]
    Internal,
    #[error("Could not reach the server: {0}")]
    Transport(String),
}

impl AppError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::InvalidCredentials | AppError::Unauthenticated => 401,
            AppError::TooManyAttempts { .. } | AppError::RateLimited { .. } => 429,
            AppError::Forbidden(_) => 403,
            AppError::Invalid(_) => 422,
            AppError::BadRequest(_) => 400,
            AppError::NotFound => 404,
            AppError::Conflict(_) => 409,
            AppError::Gone(_) => 410,
            AppError::Busy { .. } => 503,
            AppError::Internal | AppError::Transport(_) => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // On the server, a call whose arguments cannot be read is the
            // caller's fault: 400, never a 500.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Args(msg)
            | ServerFnErrorErr::MissingArg(msg)
            | ServerFnErrorErr::Deserialization(msg)
            | ServerFnErrorErr::UnsupportedRequestMethod(msg) => {
                let e = AppError::BadRequest(format!("The request could not be read: {msg}"));
                crate::server::context::set_status(&e);
                e
            }
            #[cfg(not(feature = "ssr"))]
            ServerFnErrorErr::Args(msg) | ServerFnErrorErr::MissingArg(msg) => {
                AppError::Invalid(msg)
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_what_people_read() {
        assert_eq!(
            AppError::InvalidCredentials.to_string(),
            "Invalid email or password"
        );
        assert_eq!(
            AppError::TooManyAttempts { minutes: 3 }.to_string(),
            "Too many attempts — try again in 3 minutes"
        );
        assert_eq!(AppError::TooManyAttempts { minutes: 3 }.status(), 429);
        assert_eq!(AppError::Forbidden("no".into()).status(), 403);
        assert_eq!(
            AppError::Busy {
                retry_after_secs: 1
            }
            .status(),
            503
        );
    }
}
