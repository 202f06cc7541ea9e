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
mod webhook_settings;

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
pub use webhook_settings::*;

/// Checks a line of text that people write (a name, a description): trimmed,
/// at most `max` characters, no control characters. `what` starts the
/// refusal: "A description has at most 500 characters".
pub fn check_line(text: &str, what: &str, max: usize) -> Result<String, String> {
    let text = text.trim();
    if text.chars().count() > max {
        return Err(format!("{what} has at most {max} characters"));
    }
    if text.chars().any(char::is_control) {
        return Err(format!(
            "{what} is one line of text, without control characters"
        ));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_line_is_trimmed_short_and_without_control_characters() {
        assert_eq!(
            super::check_line("  Billing ", "A name", 7).unwrap(),
            "Billing"
        );
        assert_eq!(
            super::check_line("Billings", "A name", 7).unwrap_err(),
            "A name has at most 7 characters"
        );
        assert_eq!(
            super::check_line("a\tb", "A name", 7).unwrap_err(),
            "A name is one line of text, without control characters"
        );
    }
}
