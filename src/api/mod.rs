//! Server functions: thin wrappers that check who is asking, validate, and
//! call `crate::server`. Their bodies run only on the server.

pub mod auth;
pub mod projects;
pub mod webhooks;
