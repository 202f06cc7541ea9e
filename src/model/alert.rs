//! Alerts: what broke, as the dashboard's notice and the emails say it.

use serde::{Deserialize, Serialize};

vocabulary! {
    /// What an alert is about.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum AlertKind {
        /// Signpost disabled the webhook (a day of failures, or a `410`).
        Disabled = "disabled",
        /// Every delivery has failed for a while.
        Failing = "failing",
        /// Its oldest pending delivery is older than the lag threshold.
        Lagging = "lagging",
    }
}

impl AlertKind {
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

vocabulary! {
    /// How alerts are written to a project's alert URL.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
    #[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
    pub enum AlertFormat {
        /// A JSON event: `{"event": "signpost.webhook.disabled", …}`.
        #[default]
        Signpost = "signpost",
        /// A body a Slack incoming webhook takes: `{"text": "…"}`.
        Slack = "slack",
    }
}

/// A project's alert URL, as its settings show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AlertTarget {
    pub webhook_url: Option<String>,
    pub format: AlertFormat,
    /// Only right after a new URL was set: the secret its deliveries are
    /// signed with (spectrum-v0), shown once.
    pub signing_secret: Option<String>,
}
