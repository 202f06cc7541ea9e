//! Events as the Events page and the API show them: each one with where it
//! went, and why it did not go to the project's other webhooks.

use super::{DeliverySummary, TimeRange};
use serde::{Deserialize, Serialize};

/// Events per page of the Events page.
pub const EVENTS_PAGE: u32 = 50;
pub const EVENTS_PAGE_MAX: u32 = 200;

/// A text search reads at most this many of the newest events that the
/// other filters allow (per page): payloads have no index, so the search
/// costs what it reads, and says when it stopped before the oldest.
pub const EVENTS_TEXT_SCAN: u32 = 5_000;

vocabulary! {
    /// How an event came in.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum EventSource {
        /// `POST /projects/{pid}/events`.
        Api = "api",
        /// `POST /projects/{pid}/events/batch`.
        Batch = "batch",
        /// "Send test event" (dashboard, portal or API): to one webhook.
        Test = "test",
        /// Signpost's own alert, to the project's alert URL.
        Alert = "alert",
    }
}

impl EventSource {
    /// In words, for the event's page.
    pub fn label(self) -> &'static str {
        match self {
            EventSource::Api => "Published through the API (POST /events)",
            EventSource::Batch => "Published in a batch (POST /events/batch)",
            EventSource::Test => "A test event, sent to one webhook",
            EventSource::Alert => "An alert from Signpost, sent to the alert URL",
        }
    }

    /// Sent to one webhook by name: the others were never candidates.
    pub fn addressed(self) -> bool {
        matches!(self, EventSource::Test | EventSource::Alert)
    }
}

/// Why an event did not go to a webhook of its project, as things stood
/// when it came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Its filter did not name the event (`filter` says what it named).
    Filtered,
    /// Disabled by a person.
    Disabled,
    /// Disabled by Signpost after failing (`detail` says why).
    AutoDisabled,
    /// Deleted (shown for 30 days after).
    Deleted,
    /// It belongs to another tenant (or to the platform, for a tenant's
    /// event; or to a tenant, for the platform's own).
    Tenant,
    /// It was enabled and its filter matched, but it changed while the
    /// event was being published (the two crossed).
    Changed,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Filtered => "filtered",
            SkipReason::Disabled => "disabled",
            SkipReason::AutoDisabled => "auto_disabled",
            SkipReason::Deleted => "deleted",
            SkipReason::Tenant => "tenant",
            SkipReason::Changed => "changed",
        }
    }

    /// In words, for the event's page.
    pub fn label(self) -> &'static str {
        match self {
            SkipReason::Filtered => "Filtered out",
            SkipReason::Disabled => "Disabled",
            SkipReason::AutoDisabled => "Disabled automatically",
            SkipReason::Deleted => "Deleted",
            SkipReason::Tenant => "Another tenant's",
            SkipReason::Changed => "Changed as the event came in",
        }
    }
}

/// One event in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSummary {
    pub id: String,
    /// Its name (the body's `event`).
    pub event: String,
    pub tenant: Option<String>,
    pub source: EventSource,
    pub created_at: i64,
    /// Deliveries it made (repeats included), and how they stand.
    pub deliveries: u32,
    pub succeeded: u32,
    /// Failed or dropped.
    pub failed: u32,
    pub pending: u32,
}

/// A webhook an event did not go to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub webhook_id: String,
    pub webhook_url: String,
    pub reason: SkipReason,
    /// Since when the webhook was in that state (Unix ms).
    pub since: i64,
    /// `Filtered`: the event names its filter took.
    pub filter: Vec<String>,
    /// `AutoDisabled`: why Signpost disabled it.
    pub detail: Option<String>,
}

/// An event opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDetail {
    pub event: EventSummary,
    /// Its exact bytes, as text.
    pub body: String,
    /// Every delivery it made, oldest first.
    pub deliveries: Vec<DeliverySummary>,
    /// Every webhook of the project (of the tenant, in a portal) it did not
    /// reach, with the reason as of when it came in.
    pub skipped: Vec<Skipped>,
}

/// The Events page's filters, as in its URL and the API's query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EventFilter {
    /// An event name, exactly.
    pub event: Option<String>,
    /// Text the payload contains (bytes, case-sensitive).
    pub text: Option<String>,
    /// Created at or after (Unix ms).
    pub since: Option<i64>,
    /// Created before (Unix ms).
    pub until: Option<i64>,
    /// A range back from now, turned into `since` by the server.
    pub within: Option<TimeRange>,
    /// One tenant's events (a portal's are always its tenant's).
    pub tenant: Option<String>,
}

impl EventFilter {
    /// From a page's query string.
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> EventFilter {
        let text = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        EventFilter {
            event: text("event"),
            text: text("text"),
            since: None,
            until: None,
            within: get("range").as_deref().and_then(TimeRange::parse),
            tenant: text("tenant"),
        }
    }

    /// The query string of this filter and a page (`?…`, or empty).
    pub fn to_query(&self, cursor: Option<&str>) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("event", &self.event),
            ("text", &self.text),
            ("tenant", &self.tenant),
        ] {
            if let Some(v) = v {
                q.append_pair(k, v);
            }
        }
        if let Some(r) = self.within {
            q.append_pair("range", r.as_str());
        }
        if let Some(c) = cursor {
            q.append_pair("cursor", c);
        }
        let q = q.finish();
        if q.is_empty() {
            q
        } else {
            format!("?{q}")
        }
    }
}

/// A page of events, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventPage {
    pub events: Vec<EventSummary>,
    /// The next older page, if there may be one: an event id.
    pub older: Option<String>,
    /// A text search stopped after [`EVENTS_TEXT_SCAN`] events without
    /// reaching the oldest: `older` goes on from where it stopped.
    pub partial: bool,
}
