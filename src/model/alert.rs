//! Alerts: what broke, as the dashboard's notice and the emails say it.

use serde::{Deserialize, Serialize};

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertKind {
    /// Signpost disabled the webhook (a day of failures, or a `410`).
    Disabled,
    /// Every delivery has failed for a while.
    Failing,
    /// Its oldest pending delivery is older than the lag threshold.
    Lagging,
}

impl AlertKind {
    pub const ALL: [AlertKind; 3] = [AlertKind::Disabled, AlertKind::Failing, AlertKind::Lagging];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Disabled => "disabled",
            AlertKind::Failing => "failing",
            AlertKind::Lagging => "lagging",
        }
    }

    pub fn parse(s: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// What happened, in a few words.
    pub fn what(self) -> &'static str {
        match self {
            AlertKind::Disabled => "was disabled automatically",
            AlertKind::Failing => "fails every delivery",
            AlertKind::Lagging => "is falling behind",
        }
    }
}

/// An open alert of a project, for its pages' notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectAlert {
    pub webhook_id: String,
    pub webhook_url: String,
    pub kind: AlertKind,
    /// Unix milliseconds.
    pub since: i64,
}
