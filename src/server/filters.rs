//! What the list filters share (the delivery log's and the events'): a
//! tenant, text fields of bounded length, and a time range.

use super::db::now_ms;
use crate::model::{AppError, TimeRange};

/// Longest text a filter field takes.
pub const MAX_FILTER_TEXT: usize = 200;

/// A tenant filter: empty is none, anything else must be a tenant id.
pub fn tenant(field: &mut Option<String>) -> Result<(), AppError> {
    if let Some(t) = field.take() {
        let t = t.trim();
        if !t.is_empty() {
            *field = Some(crate::model::check_tenant(t).map_err(AppError::Invalid)?);
        }
    }
    Ok(())
}

/// A text field: blank is none; at most [`MAX_FILTER_TEXT`] characters of
/// what is kept (trimmed when `trim`, as typed otherwise).
pub fn text(field: &mut Option<String>, trim: bool) -> Result<(), AppError> {
    let Some(v) = field.as_mut() else {
        return Ok(());
    };
    if v.trim().is_empty() {
        *field = None;
        return Ok(());
    }
    if trim {
        *v = v.trim().to_string();
    }
    if v.len() > MAX_FILTER_TEXT {
        return Err(AppError::Invalid(format!(
            "A filter is at most {MAX_FILTER_TEXT} characters"
        )));
    }
    Ok(())
}

/// A range back from now becomes `since` (the later of the two); the range
/// must not end before it starts.
pub fn time_range(
    within: &mut Option<TimeRange>,
    since: &mut Option<i64>,
    until: Option<i64>,
) -> Result<(), AppError> {
    if let Some(range) = within.take() {
        let from = now_ms() - range.millis();
        *since = Some(since.map_or(from, |s| s.max(from)));
    }
    if let (Some(since), Some(until)) = (*since, until) {
        if since >= until {
            return Err(AppError::Invalid(
                "The time range ends before it starts".into(),
            ));
        }
    }
    Ok(())
}
