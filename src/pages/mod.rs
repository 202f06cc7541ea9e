//! One module per page.

pub mod account;
pub mod activity;
pub mod catalog;
pub mod delivery;
pub mod delivery_log;
pub mod events;
pub mod join;
pub mod login;
pub mod not_found;
pub mod portal;
pub mod project_settings;
pub mod projects;
pub mod setup;
pub mod system;
pub mod team;
pub mod webhook;
pub mod webhooks;
