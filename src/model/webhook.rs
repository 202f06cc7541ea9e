use super::AppError;
use serde::{Deserialize, Serialize};
use std::fmt;

vocabulary! {
    /// How deliveries to a webhook are signed (docs/delivery.md).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
    #[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
    pub enum Scheme {
        #[default]
        SpectrumV0 = "spectrum-v0",
        StandardWebhooks = "standard-webhooks",
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

vocabulary! {
    /// Whether deliveries to a webhook keep event order (docs/delivery.md).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
    #[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
    pub enum Ordering {
        /// One attempt at a time, in event order; a retry holds back later events.
        #[default]
        Ordered = "ordered",
        /// Several attempts at once, in any order: more throughput.
        Unordered = "unordered",
    }
}

impl Ordering {
    /// A form's optional field: absent or empty is `None`.
    pub fn from_form(value: Option<&str>) -> Result<Option<Ordering>, AppError> {
        match value {
            None | Some("") => Ok(None),
            Some(o) => Ordering::parse(o)
                .map(Some)
                .ok_or_else(|| AppError::Invalid(format!("Unknown delivery order {o:?}"))),
        }
    }
}

/// A webhook as the dashboard and the API show it: never its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Webhook {
    pub id: String,
    pub project_id: String,
    /// The platform's customer it belongs to; `None`: the platform's own.
    pub tenant: Option<String>,
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub enabled: bool,
    pub scheme: Scheme,
    pub ordering: Ordering,
    /// A JSON Pointer into each event: with `ordered`, the order holds per
    /// value it finds, and different values go in parallel.
    pub ordering_key: Option<String>,
    /// Attempts in flight at once, when set.
    pub max_concurrency: Option<u16>,
    /// What applies when `max_concurrency` is not set ([`default_concurrency`]).
    pub default_concurrency: u16,
    /// Deliveries per second at most.
    pub rate_limit: Option<f64>,
    /// Why it was disabled automatically, if it was.
    pub disabled_reason: Option<String>,
    /// While a rotation's grace period runs: when the old secret stops.
    pub previous_secret_expires_at: Option<i64>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

impl Webhook {
    /// A webhook not yet registered: every setting at its default (every
    /// event, in order, enabled), for a registration to fill in.
    pub fn with_defaults() -> Webhook {
        Webhook {
            events: vec!["*".to_string()],
            enabled: true,
            ..Default::default()
        }
    }

    /// Attempts in flight at once: one for `ordered` without a key (one
    /// order for the whole webhook), else the set value or the default.
    pub fn concurrency(&self) -> u16 {
        if self.ordering == Ordering::Ordered && self.ordering_key.is_none() {
            1
        } else {
            self.max_concurrency.unwrap_or(self.default_concurrency)
        }
    }

    /// How deliveries go out, in words: "In order per /space/id, up to 16
    /// at once, at most 50/s".
    pub fn pace_in_words(&self) -> String {
        let n = self.concurrency();
        let mut words = match (self.ordering, &self.ordering_key) {
            (Ordering::Ordered, None) => "In order, one at a time".to_string(),
            (Ordering::Ordered, Some(key)) => format!("In order per {key}, up to {n} at once"),
            (Ordering::Unordered, _) => format!("In any order, up to {n} at once"),
        };
        if let Some(rate) = self.rate_limit {
            words.push_str(&format!(", at most {}/s", rate_text(rate)));
        }
        words
    }
}

/// A rate as people write it: `50`, `0.5`.
pub fn rate_text(rate: f64) -> String {
    let text = format!("{rate:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Attempts in flight at once when a webhook does not set it: 1 for
/// `ordered` without a key, [`KEYED_CONCURRENCY`] with one, the server's
/// `--unordered-concurrency` for `unordered`.
pub fn default_concurrency(ordering: Ordering, keyed: bool, unordered: u16) -> u16 {
    match (ordering, keyed) {
        (Ordering::Unordered, _) => unordered,
        (Ordering::Ordered, true) => KEYED_CONCURRENCY,
        (Ordering::Ordered, false) => 1,
    }
}

/// A webhook with its signing secret: only ever returned once, right after
/// it was created or rotated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookWithSecret {
    pub webhook: Webhook,
    pub signing_secret: String,
}

/// The first attempt of a test event, as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestResult {
    pub delivery_id: String,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// Why there was no answer (or why the delivery was dropped).
    pub error: Option<String>,
    pub duration_ms: i64,
    pub succeeded: bool,
}

pub const MAX_DESCRIPTION: usize = 500;
/// Longest event name.
pub const MAX_EVENT_NAME: usize = 100;

/// An event name: 1 to 100 letters, digits and `. _ - :`. Filters and
/// published events follow the same rule.
pub fn is_event_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_EVENT_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_:".contains(c))
}
pub const MAX_EVENTS: usize = 100;
/// Rotation grace periods: default one day, at most seven.
pub const DEFAULT_GRACE_SECONDS: u64 = 86_400;
pub const MAX_GRACE_SECONDS: u64 = 7 * 86_400;

/// Parses the events field of a form: names separated by commas, spaces or
/// new lines; empty means all (`*`). Stops after one more name than a
/// filter may have, so that a huge field costs no more than a long one
/// ([`check_events`] then refuses it).
pub fn parse_event_list(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .take(MAX_EVENTS + 1)
        .map(str::to_string)
        .collect()
}

/// Checks an event filter: `["*"]` or event names (letters, digits and
/// `. _ - :`; `*` alone means all). An empty list means all. The size is
/// checked first, so that no list costs more than `MAX_EVENTS` names.
pub fn check_events(events: &[String]) -> Result<Vec<String>, String> {
    if events.len() > MAX_EVENTS {
        return Err(format!("List at most {MAX_EVENTS} events"));
    }
    let mut seen = std::collections::HashSet::with_capacity(events.len());
    let mut out: Vec<String> = Vec::with_capacity(events.len());
    for e in events.iter().map(|e| e.trim()) {
        if e != "*" && !is_event_name(e) {
            let shown: String = e.chars().take(MAX_EVENT_NAME + 1).collect();
            return Err(format!(
                "{shown:?} is not an event name (letters, digits and . _ - : only, or * for all)"
            ));
        }
        if seen.insert(e) {
            out.push(e.to_string());
        }
    }
    if out.is_empty() || out.iter().any(|e| e == "*") {
        return Ok(vec!["*".to_string()]);
    }
    Ok(out)
}

/// Longest ordering key pointer.
pub const MAX_ORDERING_KEY: usize = 200;
/// Attempts in flight at once to one webhook, at most.
pub const MAX_CONCURRENCY: u16 = 256;
/// Attempts in flight at once to an ordered webhook with a key, unless set.
pub const KEYED_CONCURRENCY: u16 = 16;
/// The highest rate limit, deliveries per second.
pub const MAX_RATE_LIMIT: f64 = 10_000.0;

/// Checks an ordering key: a JSON Pointer (RFC 6901) such as `/space/id`,
/// which starts with `/` and escapes `~` and `/` in names as `~0` and `~1`.
pub fn check_ordering_key(pointer: &str) -> Result<String, String> {
    let pointer = pointer.trim();
    if !pointer.starts_with('/') {
        let shown: String = pointer.chars().take(MAX_ORDERING_KEY).collect();
        return Err(format!(
            "{shown:?} is not a JSON Pointer: it starts with / and names the field, \
             such as /space/id"
        ));
    }
    if pointer.chars().count() > MAX_ORDERING_KEY {
        return Err(format!(
            "An ordering key has at most {MAX_ORDERING_KEY} characters"
        ));
    }
    if pointer.chars().any(char::is_control) {
        return Err("An ordering key has no control characters".into());
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(
                "In a JSON Pointer ~ is written ~0, and / inside a name ~1 (RFC 6901)".into(),
            );
        }
    }
    Ok(pointer.to_string())
}

/// Checks a webhook's concurrency: 1 to [`MAX_CONCURRENCY`].
pub fn check_max_concurrency(n: i64) -> Result<u16, String> {
    u16::try_from(n)
        .ok()
        .filter(|n| (1..=MAX_CONCURRENCY).contains(n))
        .ok_or_else(|| format!("Concurrency is 1 to {MAX_CONCURRENCY} attempts at once"))
}

/// The smallest rate limit: one delivery every 1,000 seconds.
pub const MIN_RATE_LIMIT: f64 = 0.001;

/// Checks a rate limit: from [`MIN_RATE_LIMIT`] to [`MAX_RATE_LIMIT`] per second.
pub fn check_rate_limit(rate: f64) -> Result<f64, String> {
    if rate.is_finite() && (MIN_RATE_LIMIT..=MAX_RATE_LIMIT).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!(
            "A rate limit is from {MIN_RATE_LIMIT} to {MAX_RATE_LIMIT} deliveries per second"
        ))
    }
}

/// Checks a webhook's description: one line, at most [`MAX_DESCRIPTION`].
pub fn check_description(d: &str) -> Result<String, String> {
    super::check_line(d, "A description", MAX_DESCRIPTION)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn event_filters() {
        assert_eq!(check_events(&[]).unwrap(), v(&["*"]));
        assert_eq!(check_events(&v(&["messages", "*"])).unwrap(), v(&["*"]));
        assert_eq!(
            check_events(&v(&["messages", "user.created", "messages"])).unwrap(),
            v(&["messages", "user.created"])
        );
        assert!(check_events(&v(&["bad name"])).is_err());
        // The size is checked before anything else, and a huge form field
        // is cut to one name more than allowed before it is checked.
        let many: Vec<String> = (0..=MAX_EVENTS).map(|i| format!("e{i}")).collect();
        assert_eq!(check_events(&many).unwrap_err(), "List at most 100 events");
        let huge = "a,".repeat(500_000);
        assert_eq!(parse_event_list(&huge).len(), MAX_EVENTS + 1);
        assert!(check_events(&parse_event_list(&huge)).is_err());
        // A refused name is shown cut short.
        let long = format!("x {}", "y".repeat(100_000));
        assert!(check_events(&[long]).unwrap_err().len() < 300);
        assert!(check_events(&v(&["mess*"])).is_err());
        assert_eq!(parse_event_list("a, b\nc  "), v(&["a", "b", "c"]));
        assert!(parse_event_list("  ").is_empty());
    }

    #[test]
    fn ordering_keys_are_json_pointers() {
        assert_eq!(check_ordering_key(" /space/id ").unwrap(), "/space/id");
        assert_eq!(check_ordering_key("/a~1b/~0c/0").unwrap(), "/a~1b/~0c/0");
        assert!(check_ordering_key("space/id")
            .unwrap_err()
            .contains("/space/id"));
        assert!(check_ordering_key("").is_err());
        assert!(check_ordering_key("/a~2").is_err());
        assert!(check_ordering_key("/a~").is_err());
        assert!(check_ordering_key(&format!("/{}", "x".repeat(MAX_ORDERING_KEY))).is_err());
        assert!(check_ordering_key("/a\nb").is_err());
    }

    #[test]
    fn concurrency_and_rate_limits_have_bounds() {
        assert_eq!(check_max_concurrency(1), Ok(1));
        assert_eq!(check_max_concurrency(256), Ok(256));
        for bad in [0, -1, 257, 100_000] {
            assert!(check_max_concurrency(bad).is_err(), "{bad}");
        }
        assert_eq!(check_rate_limit(0.5), Ok(0.5));
        assert_eq!(check_rate_limit(MIN_RATE_LIMIT), Ok(MIN_RATE_LIMIT));
        for bad in [
            0.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            10_001.0,
            1e-300,
            0.000_9,
        ] {
            assert!(check_rate_limit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_pace_in_words() {
        let mut w = Webhook {
            ordering: Ordering::Ordered,
            max_concurrency: Some(32),
            default_concurrency: 1,
            ..Default::default()
        };
        assert_eq!(w.pace_in_words(), "In order, one at a time");
        assert_eq!(w.concurrency(), 1, "one order for the whole webhook");
        w.ordering_key = Some("/space/id".into());
        w.max_concurrency = None;
        w.default_concurrency = default_concurrency(w.ordering, true, 8);
        w.rate_limit = Some(50.0);
        assert_eq!(
            w.pace_in_words(),
            "In order per /space/id, up to 16 at once, at most 50/s"
        );
        w.ordering = Ordering::Unordered;
        w.max_concurrency = Some(4);
        w.rate_limit = Some(0.25);
        assert_eq!(
            w.pace_in_words(),
            "In any order, up to 4 at once, at most 0.25/s"
        );
        assert_eq!(default_concurrency(Ordering::Unordered, true, 8), 8);
    }

    #[test]
    fn scheme_names_are_the_wire_names() {
        assert_eq!(
            serde_json::to_string(&Scheme::StandardWebhooks).unwrap(),
            "\"standard-webhooks\""
        );
        assert_eq!(Scheme::parse("spectrum-v0"), Some(Scheme::SpectrumV0));
        assert_eq!(Scheme::parse("v1"), None);
    }
}
