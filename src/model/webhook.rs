use serde::{Deserialize, Serialize};
use std::fmt;

/// How deliveries to a webhook are signed (docs/delivery.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Scheme {
    #[default]
    #[serde(rename = "spectrum-v0")]
    SpectrumV0,
    #[serde(rename = "standard-webhooks")]
    StandardWebhooks,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::SpectrumV0 => "spectrum-v0",
            Scheme::StandardWebhooks => "standard-webhooks",
        }
    }

    pub fn parse(s: &str) -> Option<Scheme> {
        match s {
            "spectrum-v0" => Some(Scheme::SpectrumV0),
            "standard-webhooks" => Some(Scheme::StandardWebhooks),
            _ => None,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether deliveries to a webhook keep event order (docs/delivery.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Ordering {
    /// One attempt at a time, in event order; a retry holds back later events.
    #[default]
    Ordered,
    /// Several attempts at once, in any order: more throughput.
    Unordered,
}

impl Ordering {
    pub fn as_str(self) -> &'static str {
        match self {
            Ordering::Ordered => "ordered",
            Ordering::Unordered => "unordered",
        }
    }

    pub fn parse(s: &str) -> Option<Ordering> {
        match s {
            "ordered" => Some(Ordering::Ordered),
            "unordered" => Some(Ordering::Unordered),
            _ => None,
        }
    }

    /// A form's optional field: absent or empty is `None`.
    pub fn from_form(value: Option<&str>) -> Result<Option<Ordering>, super::AppError> {
        match value {
            None | Some("") => Ok(None),
            Some(o) => Ordering::parse(o)
                .map(Some)
                .ok_or_else(|| super::AppError::Invalid(format!("Unknown delivery order {o:?}"))),
        }
    }
}

/// A webhook as the dashboard and the API show it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: String,
    pub project_id: String,
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub enabled: bool,
    pub scheme: Scheme,
    pub ordering: Ordering,
    /// Why it was disabled automatically, if it was.
    pub disabled_reason: Option<String>,
    /// While a rotation's grace period runs: when the old secret stops.
    pub previous_secret_expires_at: Option<i64>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

/// What registering a webhook takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NewWebhook {
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub scheme: Scheme,
    pub ordering: Ordering,
}

/// A change to a webhook; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct WebhookPatch {
    pub enabled: Option<bool>,
    pub description: Option<String>,
    pub events: Option<Vec<String>>,
    pub ordering: Option<Ordering>,
}

/// A webhook with its signing secret: only ever returned once, right after
/// it was created or rotated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

pub fn check_description(d: &str) -> Result<String, String> {
    let d = d.trim();
    if d.chars().count() > MAX_DESCRIPTION {
        return Err(format!(
            "A description has at most {MAX_DESCRIPTION} characters"
        ));
    }
    if d.chars().any(char::is_control) {
        return Err("A description is one line of text, without control characters".into());
    }
    Ok(d.to_string())
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
    fn scheme_names_are_the_wire_names() {
        assert_eq!(
            serde_json::to_string(&Scheme::StandardWebhooks).unwrap(),
            "\"standard-webhooks\""
        );
        assert_eq!(Scheme::parse("spectrum-v0"), Some(Scheme::SpectrumV0));
        assert_eq!(Scheme::parse("v1"), None);
    }
}
