//! Types shared by the server and the browser. Nothing here holds a secret.

mod error;
mod redirect;
mod user;

pub use error::AppError;
pub use redirect::safe_next;
pub use user::{check_new_password, normalize_email, Role, UserInfo, MIN_PASSWORD_LEN};
