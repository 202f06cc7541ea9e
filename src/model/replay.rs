//! Bulk replays: the deliveries a filter picks, queued again.

use super::DeliveryStatus;
use serde::{Deserialize, Serialize};

/// What a replay picks: deliveries created in `[since, until)`, with one of
/// `statuses`, of these event names and webhooks (empty: any), whose event
/// has no newer delivery to the same webhook, to enabled webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayFilter {
    pub since: i64,
    pub until: Option<i64>,
    pub statuses: Vec<DeliveryStatus>,
    #[serde(default)]
    pub event_types: Vec<String>,
    #[serde(default)]
    pub webhook_ids: Vec<String>,
}

/// The statuses a replay may pick (never `pending`).
pub const REPLAYABLE: [DeliveryStatus; 4] = [
    DeliveryStatus::Failed,
    DeliveryStatus::Dropped,
    DeliveryStatus::Cancelled,
    DeliveryStatus::Succeeded,
];

/// Most deliveries one replay queues; a wider one is refused (narrow it).
pub const MAX_REPLAY: i64 = 1_000_000;

/// A replay and how far it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayInfo {
    pub id: String,
    /// What it counted when it began: what it queues.
    pub count: u64,
    pub queued: u64,
    /// `running` or `done`.
    pub state: String,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}
