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

/// How alerts are written to a project's alert URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AlertFormat {
    /// A JSON event: `{"event": "signpost.webhook.disabled", …}`.
    #[default]
    Signpost,
    /// A body a Slack incoming webhook takes: `{"text": "…"}`.
    Slack,
}

impl AlertFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertFormat::Signpost => "signpost",
            AlertFormat::Slack => "slack",
        }
    }

    pub fn parse(s: &str) -> Option<AlertFormat> {
        match s {
            "signpost" => Some(AlertFormat::Signpost),
            "slack" => Some(AlertFormat::Slack),
            _ => None,
        }
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
