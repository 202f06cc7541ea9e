//! Server functions: thin wrappers that check who is asking, validate, and
//! call `crate::server`. Their bodies run only on the server.

pub mod account;
pub mod auth;
pub mod catalog;
pub mod deliveries;
pub mod events;
pub mod portal;
pub mod projects;
pub mod shown_once;
pub mod system;
pub mod team;
pub mod webhooks;
