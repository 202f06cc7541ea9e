//! The delivery log as the dashboard and the API show it.

use serde::{Deserialize, Serialize};

/// Rows per page of the log unless asked otherwise, and the most.
pub const LOG_PAGE: u32 = 50;
pub const LOG_PAGE_MAX: u32 = 200;

vocabulary! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum DeliveryStatus {
        /// Not finished: waiting for its first attempt or for a retry.
        Pending = "pending",
        Succeeded = "succeeded",
        Failed = "failed",
        /// Refused by the URL guard.
        Dropped = "dropped",
        Cancelled = "cancelled",
    }
}

impl DeliveryStatus {
    /// The filter's name for it in the dashboard.
    pub fn label(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "Retrying or queued",
            DeliveryStatus::Succeeded => "Succeeded",
            DeliveryStatus::Failed => "Failed",
            DeliveryStatus::Dropped => "Dropped by URL guard",
            DeliveryStatus::Cancelled => "Cancelled",
        }
    }
}

vocabulary! {
    /// Where a delivery came from.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum DeliveryOrigin {
        /// Made when the event was published.
        Event = "event",
        /// "Redeliver", by a person or the API.
        Redelivery = "redelivery",
        /// "Replay failed since…".
        Replay = "replay",
    }
}

/// One row of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverySummary {
    pub id: String,
    pub event_id: String,
    pub event: String,
    pub webhook_id: String,
    pub webhook_url: String,
    /// Its ordering key (empty: none, or the empty key).
    pub ordering_key: String,
    pub status: DeliveryStatus,
    pub origin: DeliveryOrigin,
    /// The delivery this one repeats (redelivery or replay).
    pub repeats: Option<String>,
    pub attempts: u32,
    /// Attempts a delivery gets before it fails (the server's setting).
    pub max_attempts: u32,
    /// While pending: when the next attempt is due (Unix ms).
    pub next_at: Option<i64>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    /// Of the last attempt.
    pub duration_ms: Option<i64>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// One HTTP attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptInfo {
    pub number: u32,
    pub started_at: i64,
    pub duration_ms: i64,
    pub request_headers: Vec<(String, String)>,
    pub response_status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    /// The first 4 KiB of the response body, as text (invalid UTF-8 replaced).
    pub response_body: Option<String>,
    /// `timeout`, `connect`, `tls`, `guard`, …
    pub error_kind: Option<String>,
    pub error_message: Option<String>,
}

/// A delivery opened: its event's body and every attempt, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryDetail {
    pub delivery: DeliverySummary,
    /// The event's exact bytes, as text.
    pub body: String,
    pub attempts: Vec<AttemptInfo>,
}

/// The log's filters, as they appear in the page's URL and the API's query.
/// Every field is optional; they combine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LogFilter {
    pub status: Option<DeliveryStatus>,
    pub webhook: Option<String>,
    pub event: Option<String>,
    /// Created at or after (Unix ms).
    pub since: Option<i64>,
    /// Created before (Unix ms).
    pub until: Option<i64>,
    /// An event id (`evt_…`) or a delivery id (`dlv_…`).
    pub search: Option<String>,
    /// An ordering key's value: that conversation's deliveries.
    pub key: Option<String>,
    /// One tenant's webhooks (a portal's log is always its tenant's).
    pub tenant: Option<String>,
    /// A range back from now, turned into `since` by the server (so a
    /// shared link means "the last hour" whenever it is opened).
    pub within: Option<TimeRange>,
}

vocabulary! {
    /// The log's time presets.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum TimeRange {
        Hour = "1h",
        Day = "24h",
        Week = "7d",
        Month = "30d",
    }
}

impl TimeRange {
    pub fn label(self) -> &'static str {
        match self {
            TimeRange::Hour => "Last hour",
            TimeRange::Day => "Last 24 hours",
            TimeRange::Week => "Last 7 days",
            TimeRange::Month => "Last 30 days",
        }
    }

    pub fn millis(self) -> i64 {
        const HOUR: i64 = 3_600_000;
        match self {
            TimeRange::Hour => HOUR,
            TimeRange::Day => 24 * HOUR,
            TimeRange::Week => 7 * 24 * HOUR,
            TimeRange::Month => 30 * 24 * HOUR,
        }
    }
}

impl LogFilter {
    /// The filter a log page's URL describes: `status`, `webhook`, `event`,
    /// `range`, `since`/`until` (Unix ms), `q` and `key`; unknown values
    /// are ignored.
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> LogFilter {
        let text = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        LogFilter {
            status: text("status").and_then(|s| DeliveryStatus::parse(&s)),
            webhook: text("webhook"),
            event: text("event"),
            since: text("since").and_then(|s| s.parse().ok()),
            until: text("until").and_then(|s| s.parse().ok()),
            search: text("q"),
            key: text("key"),
            tenant: text("tenant"),
            within: text("range").and_then(|s| TimeRange::parse(&s)),
        }
    }

    /// The URL query for this filter (and a cursor), `?` included when not empty.
    pub fn to_query(&self, cursor: Option<&str>) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(s) = self.status {
            q.append_pair("status", s.as_str());
        }
        for (k, v) in [
            ("webhook", &self.webhook),
            ("event", &self.event),
            ("q", &self.search),
            ("key", &self.key),
            ("tenant", &self.tenant),
        ] {
            if let Some(v) = v {
                q.append_pair(k, v);
            }
        }
        if let Some(r) = self.within {
            q.append_pair("range", r.as_str());
        }
        for (k, v) in [("since", self.since), ("until", self.until)] {
            if let Some(v) = v {
                q.append_pair(k, &v.to_string());
            }
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

/// Where a page of the log starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Cursor {
    /// The newest rows.
    #[default]
    Newest,
    /// Rows older than this cursor, newest first.
    Before(i64),
    /// Rows newer than this cursor (the page before, going back).
    After(i64),
}

impl Cursor {
    /// `o123` / `n123`: opaque to clients, stable across new rows (keyset).
    pub fn encode(self) -> Option<String> {
        match self {
            Cursor::Newest => None,
            Cursor::Before(k) => Some(format!("o{k}")),
            Cursor::After(k) => Some(format!("n{k}")),
        }
    }

    pub fn decode(s: &str) -> Option<Cursor> {
        let (kind, key) = s.split_at_checked(1)?;
        let key: i64 = key.parse().ok().filter(|k| *k >= 0)?;
        match kind {
            "o" => Some(Cursor::Before(key)),
            "n" => Some(Cursor::After(key)),
            _ => None,
        }
    }
}

/// A page of the log, newest first, with the cursors of its neighbours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryPage {
    pub deliveries: Vec<DeliverySummary>,
    /// The next older page, if there is one.
    pub older: Option<String>,
    /// The next newer page, if this is not the newest.
    pub newer: Option<String>,
}

/// A webhook's last 24 hours, per hour, for its chart and the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct HourStats {
    /// Start of the hour (Unix ms) in which these deliveries finished.
    pub hour: i64,
    pub succeeded: u32,
    /// Finished without success (failed or dropped).
    pub failed: u32,
    /// Durations of the final attempts, to two significant digits (the
    /// upper end: 134 ms shows as 139).
    pub p50_ms: Option<i64>,
    pub p95_ms: Option<i64>,
}

/// A webhook's health in the list: the last delivery and the 24 h rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookHealth {
    pub webhook_id: String,
    pub last_status: Option<DeliveryStatus>,
    pub last_http: Option<u16>,
    pub last_at: Option<i64>,
    /// Succeeded / finished deliveries of the last 24 h, when any finished.
    pub success_rate: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        for c in [Cursor::Before(42), Cursor::After(0)] {
            assert_eq!(Cursor::decode(&c.encode().unwrap()), Some(c));
        }
        for bad in ["", "o", "x1", "o-1", "n1x", "o99999999999999999999"] {
            assert_eq!(Cursor::decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_filter_survives_its_url() {
        let f = LogFilter {
            status: Some(DeliveryStatus::Failed),
            webhook: Some("w 1".into()),
            event: Some("user.created".into()),
            since: Some(5),
            until: None,
            search: Some("evt_&x".into()),
            key: Some("spc 1/&".into()),
            tenant: Some("acme:eu".into()),
            within: Some(TimeRange::Day),
        };
        let query = f.to_query(Some("o12"));
        assert!(
            query.starts_with('?') && query.ends_with("&cursor=o12"),
            "{query}"
        );
        let pairs: std::collections::HashMap<String, String> =
            form_urlencoded::parse(&query.as_bytes()[1..])
                .into_owned()
                .collect();
        assert_eq!(LogFilter::from_query(|k| pairs.get(k).cloned()), f);
        assert_eq!(LogFilter::default().to_query(None), "");
        // Empty and unknown values are no filter.
        let junk = LogFilter::from_query(|k| match k {
            "status" => Some("retrying".into()),
            "event" => Some("  ".into()),
            _ => None,
        });
        assert_eq!(junk, LogFilter::default());
    }

    #[test]
    fn statuses_parse_their_names() {
        for s in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(DeliveryStatus::parse("retrying"), None);
    }
}
