//! The event catalog: the event types a project publishes.

use serde::{Deserialize, Serialize};

/// Most event types per project.
pub const MAX_EVENT_TYPES: i64 = 500;
/// Longest description, in characters.
pub const MAX_TYPE_DESCRIPTION: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventType {
    /// An event name (the body's `event`).
    pub name: String,
    pub description: String,
    /// A JSON Schema that publishing checks events of this name against
    /// (pretty-printed JSON text).
    pub schema: Option<String>,
    /// An example event (pretty-printed JSON text): a test send uses it.
    pub example: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}
