//! Types shared by the server and the browser. Nothing here holds a secret,
//! except the types whose name says they do (shown once, never stored).

#[macro_use]
mod vocabulary;

mod activity;
mod alert;
mod catalog;
mod delivery;
mod error;
mod events;
pub mod form_protocol;
mod portal;
mod project;
mod redirect;
mod replay;
mod shown_once;
mod snippets;
mod system;
mod team;
mod user;
mod webhook;

pub use activity::*;
pub use alert::*;
pub use catalog::*;
pub use delivery::*;
pub use error::AppError;
pub use events::*;
pub use portal::*;
pub use project::{check_project_name, Project, ProjectCredentials};
pub use redirect::safe_next;
pub use replay::*;
pub use shown_once::ShownOnce;
pub use snippets::{snippets, Snippet};
pub use system::*;
pub use team::*;
pub use user::{
    check_new_password, normalize_email, PageRole, Role, SetupState, UserInfo, MIN_PASSWORD_LEN,
};
pub use webhook::*;
