//! Pieces of UI used by more than one page.

pub mod activity;
pub mod copy;
pub mod delivery;
pub mod form;
pub mod modal;
pub mod project_nav;
pub mod secret;
pub mod shell;
pub mod time;
