//! What a person sets on a webhook, and the shapes that carry it: the
//! API's bodies, the dashboard's forms, and the check that applies them.

use super::{
    check_description, check_events, check_max_concurrency, check_ordering_key, check_rate_limit,
    parse_event_list, rate_text, AppError, Ordering, Scheme, Webhook,
};
use serde::{Deserialize, Serialize};

/// What registering a webhook takes: who it is for, where it goes, how
/// it is signed (all fixed once registered), and its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct NewWebhook {
    /// The tenant it belongs to.
    pub tenant: Option<String>,
    pub url: String,
    pub scheme: Scheme,
    /// What is not given takes its default.
    pub settings: WebhookSettings,
}

/// A change to a webhook (the API's PATCH body): its settings, and whether
/// it is enabled; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookPatch {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(flatten)]
    pub settings: WebhookSettings,
}

/// What a person sets on a webhook, when registering it and when editing
/// it: `None` says nothing (a registration takes the default, an edit keeps
/// what the webhook has), and for the optional settings `Some(None)`
/// clears. The API's bodies (as JSON, Spectrum's camelCase names), the
/// dashboard's forms (through [`WebhookForm`]) and the store all carry this
/// one shape, and [`WebhookSettings::apply`] checks it: a new setting is a
/// field here, a field of [`Webhook`], and a line of `apply`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookSettings {
    /// One line of text, at most 500 characters (default: none).
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 500))]
    pub description: Option<String>,
    /// `["*"]` for every event (the default), or at most 100 event names.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_items = 100, inline, value_type = Option<Vec<EventName>>))]
    pub events: Option<Vec<String>>,
    /// `ordered` (the default: in event order, per ordering key if one is
    /// set) or `unordered`.
    #[serde(default)]
    pub ordering: Option<Ordering>,
    /// A JSON Pointer (RFC 6901) into each event, such as `/space/id`; `null`
    /// clears it.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, nullable, max_length = 200, pattern = "^/"))]
    pub ordering_key: Option<Option<String>>,
    /// Attempts in flight at once, 1 to 256; `null` for the default (1 for
    /// `ordered` without a key, 16 with one, the server's
    /// `--unordered-concurrency` for `unordered`).
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<i64>, nullable, minimum = 1, maximum = 256))]
    pub max_concurrency: Option<Option<i64>>,
    /// Deliveries per second at most (0.001 to 10000); `null` for no limit.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<f64>, nullable, minimum = 0.001, maximum = 10000))]
    pub rate_limit: Option<Option<f64>>,
}

impl WebhookSettings {
    /// Checks each setting given and writes it into `w`; returns what
    /// changed, in words, for the activity record ("events: a, b"). On a
    /// refusal `w` may be half-written: the caller drops it.
    pub fn apply(self, w: &mut Webhook) -> Result<Vec<String>, AppError> {
        let mut changed = Vec::new();
        let c = &mut changed;
        let description = check(self.description, |d| check_description(&d))?;
        let events = check(self.events, |e| check_events(&e))?;
        set(c, &mut w.events, events, |e| {
            format!("events: {}", e.join(", "))
        });
        set(c, &mut w.description, description, |_| "description".into());
        set(c, &mut w.ordering, self.ordering, |o| {
            format!("order: {}", o.as_str())
        });
        let key = check(self.ordering_key, |k| {
            k.map(|k| check_ordering_key(&k)).transpose()
        })?;
        set(c, &mut w.ordering_key, key, |k| {
            format!("ordering key: {}", k.as_deref().unwrap_or("none"))
        });
        let n = check(self.max_concurrency, |n| {
            n.map(check_max_concurrency).transpose()
        })?;
        set(c, &mut w.max_concurrency, n, |n| {
            let n = n.map(|n| n.to_string());
            format!("concurrency: {}", n.as_deref().unwrap_or("default"))
        });
        let rate = check(self.rate_limit, |r| r.map(check_rate_limit).transpose())?;
        set(c, &mut w.rate_limit, rate, |r| {
            let r = r.map(|r| format!("{}/s", rate_text(r)));
            format!("rate limit: {}", r.as_deref().unwrap_or("none"))
        });
        Ok(changed)
    }
}

/// A setting given, checked (a refusal is the check's message).
fn check<T, U>(
    given: Option<T>,
    checker: impl FnOnce(T) -> Result<U, String>,
) -> Result<Option<U>, AppError> {
    given.map(checker).transpose().map_err(AppError::Invalid)
}

/// Writes a setting given into its field, noting it in `changed` (in the
/// words of `say`) when it differs.
fn set<T: PartialEq>(
    changed: &mut Vec<String>,
    field: &mut T,
    given: Option<T>,
    say: impl FnOnce(&T) -> String,
) {
    if let Some(value) = given {
        if *field != value {
            changed.push(say(&value));
        }
        *field = value;
    }
}

/// Tells a `null` (clear the setting) from an absent one (keep it).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// An event name in a filter, or `*` for every event: the OpenAPI
/// document's name for the strings the API reads (and checks itself).
#[cfg(feature = "ssr")]
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
#[schema(value_type = String, pattern = r"^(\*|[A-Za-z0-9._:-]{1,100})$")]
pub struct EventName(String);

/// The dashboard's form of a webhook's settings, as typed: a setting whose
/// input the form does not have is absent, and kept. Server functions take
/// it with `#[server(flatten)]`, so its fields are the inputs' names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct WebhookForm {
    pub description: Option<String>,
    /// Names separated by commas or spaces; empty for every event.
    pub events: Option<String>,
    /// `ordered` or `unordered`; empty keeps it.
    pub ordering: Option<String>,
    /// A JSON Pointer; empty for none.
    pub ordering_key: Option<String>,
    /// A whole number; empty for the default.
    pub max_concurrency: Option<String>,
    /// Deliveries per second; empty for no limit.
    pub rate_limit: Option<String>,
}

impl WebhookForm {
    /// Whether it sets how deliveries go out beyond their order (a portal
    /// may not: that is the platform's to set).
    pub fn sets_pace(&self) -> bool {
        self.ordering_key.is_some() || self.max_concurrency.is_some() || self.rate_limit.is_some()
    }

    /// The settings it gives; a number that is not one is refused here,
    /// everything else by [`WebhookSettings::apply`].
    pub fn settings(self) -> Result<WebhookSettings, AppError> {
        let number = |text: Option<String>, what: &str| -> Result<Option<Option<f64>>, AppError> {
            let Some(text) = text else { return Ok(None) };
            let text = text.trim();
            if text.is_empty() {
                return Ok(Some(None));
            }
            text.parse::<f64>()
                .map(|n| Some(Some(n)))
                .map_err(|_| AppError::Invalid(format!("{what} is a number: {text:?} is not")))
        };
        let n = number(self.max_concurrency, "Concurrency")?;
        if n.flatten().is_some_and(|n| n.fract() != 0.0) {
            return Err(AppError::Invalid("Concurrency is a whole number".into()));
        }
        Ok(WebhookSettings {
            description: self.description,
            events: self.events.as_deref().map(parse_event_list),
            ordering: Ordering::from_form(self.ordering.as_deref())?,
            ordering_key: self
                .ordering_key
                .map(|k| Some(k.trim().to_string()).filter(|k| !k.is_empty())),
            max_concurrency: n.map(|n| n.map(|n| n as i64)),
            rate_limit: number(self.rate_limit, "A rate limit")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn settings_apply_what_is_given_and_say_what_changed() {
        let mut w = Webhook {
            events: v(&["*"]),
            ..Default::default()
        };
        let changed = WebhookSettings {
            description: Some(" Billing ".into()),
            events: Some(v(&["b", "a", "b"])),
            max_concurrency: Some(Some(4)),
            ..Default::default()
        }
        .apply(&mut w)
        .unwrap();
        assert_eq!(w.description, "Billing");
        assert_eq!(w.events, v(&["b", "a"]));
        assert_eq!(w.max_concurrency, Some(4));
        assert_eq!(changed, ["events: b, a", "description", "concurrency: 4"]);
        // Nothing given changes nothing; the same value is no change.
        let before = w.clone();
        assert!(WebhookSettings::default().apply(&mut w).unwrap().is_empty());
        let same = WebhookSettings {
            description: Some("Billing".into()),
            ..Default::default()
        };
        assert!(same.apply(&mut w).unwrap().is_empty());
        assert_eq!(w, before);
        // `Some(None)` clears.
        let cleared = WebhookSettings {
            max_concurrency: Some(None),
            ..Default::default()
        };
        assert_eq!(cleared.apply(&mut w).unwrap(), ["concurrency: default"]);
        assert_eq!(w.max_concurrency, None);
        // A refusal is the check's message (the caller drops the half-written webhook).
        let bad = WebhookSettings {
            description: Some("new".into()),
            ordering_key: Some(Some("space".into())),
            ..Default::default()
        };
        let err = bad.apply(&mut w.clone()).unwrap_err();
        assert!(
            matches!(&err, AppError::Invalid(m) if m.contains("JSON Pointer")),
            "{err:?}"
        );
    }

    #[test]
    fn a_patch_tells_null_from_absent() {
        let p: WebhookPatch = serde_json::from_str(
            r#"{"enabled": false, "orderingKey": null, "rateLimit": 2.5, "events": ["a"]}"#,
        )
        .unwrap();
        assert_eq!(p.enabled, Some(false));
        assert_eq!(p.settings.ordering_key, Some(None));
        assert_eq!(p.settings.rate_limit, Some(Some(2.5)));
        assert_eq!(p.settings.events, Some(v(&["a"])));
        assert_eq!(
            (p.settings.max_concurrency, p.settings.description),
            (None, None)
        );
    }

    #[test]
    fn forms_give_settings_as_typed() {
        let form = WebhookForm {
            events: Some("a, b".into()),
            ordering: Some(String::new()),
            ordering_key: Some(" ".into()),
            max_concurrency: Some("8".into()),
            rate_limit: Some(String::new()),
            ..Default::default()
        };
        assert!(form.sets_pace());
        let s = form.settings().unwrap();
        assert_eq!(s.description, None, "no input: kept");
        assert_eq!(s.events, Some(v(&["a", "b"])));
        assert_eq!(s.ordering, None, "empty: kept");
        assert_eq!(s.ordering_key, Some(None), "empty: cleared");
        assert_eq!(s.max_concurrency, Some(Some(8)));
        assert_eq!(s.rate_limit, Some(None));
        for (n, message) in [("2.5", "whole number"), ("many", "is a number")] {
            let form = WebhookForm {
                max_concurrency: Some(n.into()),
                ..Default::default()
            };
            let err = form.settings().unwrap_err();
            assert!(
                matches!(&err, AppError::Invalid(m) if m.contains(message)),
                "{err:?}"
            );
        }
        let described = WebhookForm {
            description: Some("x".into()),
            ordering: Some("unordered".into()),
            ..Default::default()
        };
        assert!(!described.sets_pace(), "the order is not the pace");
    }
}
