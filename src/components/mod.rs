//! Pieces of UI used by more than one page.

pub mod access;
pub mod activity;
pub mod copy;
pub mod delivery;
pub mod enhance;
pub mod form;
pub mod modal;
pub mod project_nav;
pub mod secret;
pub mod shell;
pub mod shown_once;
pub mod time;
