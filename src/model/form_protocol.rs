//! The names a form's post and its answer share between the server
//! (`server/context.rs`) and the browser's half (`components/enhance/forms.rs`).
//! A form works without script (the browser posts it, the server redirects
//! back) and with it (`enhance` posts it, the server answers in headers).

/// Sent by `enhance` with a form's post: answer as to a form (its outcome
/// in [`DONE_HEADER`]), not as to a plain call.
pub const FORM_HEADER: &str = "x-signpost-form";

/// The answer to a post from `enhance` that succeeded: what happened, for
/// the page to say (the value of [`DONE_PARAM`]).
pub const DONE_HEADER: &str = "x-signpost-done";

/// In a page's query after a form's post succeeded: what happened
/// (`saved`, `replayed.12`, …), said once by the page.
pub const DONE_PARAM: &str = "done";

/// In a page's query after a plain form's post was refused: the server
/// function and its error, as `server_fn` writes them
/// (`ServerFnUrlError::to_url`; it exports no names for them).
pub const ERROR_PATH_PARAM: &str = "__path";
pub const ERROR_PARAM: &str = "__err";

/// A form's outcome in a page's query: dropped before the next outcome is
/// added, and from the address once the page has said it.
pub const OUTCOME_PARAMS: [&str; 3] = [ERROR_PATH_PARAM, ERROR_PARAM, DONE_PARAM];
