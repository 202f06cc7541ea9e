//! Pieces of UI used by more than one page.

pub mod form;
pub mod shell;
