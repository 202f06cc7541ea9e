//! Ingest (docs/delivery.md, "durable"): an event and one delivery per matching
//! enabled webhook are committed in one transaction (by the writer) before
//! the call returns; then the deliveries go to the scheduler in memory, so
//! the hot path never waits for a poll. When the writer is behind, a call
//! waits briefly for room, then is refused with 503 (see `Handle::publish`).

use super::handle::Handle;
use super::messages::{EventData, NewDelivery, Pace, Publish, PublishedEvent, Written};
use super::subscribers::Subscribers;
use crate::model::{is_event_name, AppError, DeliveryOrigin, EventSource, MAX_EVENT_NAME};
use crate::server::db::{self, delivery_log::RepeatSource, Db};
use crate::server::errors::internal;
use crate::server::scope::Scope;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::sync::Arc;
use tokio::sync::oneshot;

/// Events per batch call.
pub const MAX_BATCH: usize = 500;
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// An event that passed validation: its exact bytes and its name.
#[derive(Debug)]
pub struct Incoming {
    pub body: Bytes,
    pub name: String,
}

/// JSON is UTF-8 (RFC 8259): one rule for a single event and a batch, and
/// receivers get nothing they could not parse.
fn check_utf8(body: &[u8]) -> Result<(), String> {
    std::str::from_utf8(body)
        .map(|_| ())
        .map_err(|e| format!("The body is not valid UTF-8 (at byte {})", e.valid_up_to()))
}

/// An event's `event` field, read in the one pass that also converts every
/// other value (serde's `IgnoredAny` would skip numbers unread, and let a
/// `1e999` through that receivers' parsers, serde_json's and Go's, refuse).
struct Head {
    event: Option<serde_json::Value>,
}

impl<'de> Deserialize<'de> for Head {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct HeadVisitor;
        impl<'de> serde::de::Visitor<'de> for HeadVisitor {
            type Value = Head;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Head, A::Error> {
                let mut event = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "event" {
                        if event.is_some() {
                            return Err(serde::de::Error::duplicate_field("event"));
                        }
                        event = Some(map.next_value()?);
                    } else {
                        map.next_value::<Checked>()?;
                    }
                }
                Ok(Head { event })
            }
        }
        d.deserialize_map(HeadVisitor)
    }
}

/// Any JSON value, read and converted, kept nothing of.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> serde::de::Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, Checked>()?
            .is_some()
        {}
        Ok(Checked)
    }
}

/// Checks one event: a JSON object with a string `event` that names it
/// (letters, digits and `. _ - :`, as webhook filters do), every number in
/// it within what a 64-bit float holds.
pub fn parse_event(body: Bytes) -> Result<Incoming, String> {
    check_utf8(&body)?;
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err("An event is a JSON object with a string field \"event\"".into());
    }
    let head: Head = serde_json::from_slice(&body).map_err(|e| format!("Invalid JSON: {e}"))?;
    let name = match head.event {
        Some(serde_json::Value::String(s)) => s,
        Some(_) => return Err("The field \"event\" must be a string".into()),
        None => return Err("The event has no \"event\" field naming it".into()),
    };
    if !is_event_name(&name) {
        return Err(format!(
            "{name:?} is not an event name: 1 to {MAX_EVENT_NAME} letters, digits and . _ - :"
        ));
    }
    Ok(Incoming { body, name })
}

/// Splits a batch (a JSON array of events) into events, each keeping its
/// exact bytes.
pub fn parse_batch(body: Bytes) -> Result<Vec<Incoming>, String> {
    check_utf8(&body)?;
    let items: Vec<&RawValue> =
        serde_json::from_slice(&body).map_err(|_| "A batch is a JSON array of events")?;
    if items.is_empty() {
        return Err("The batch is empty".into());
    }
    if items.len() > MAX_BATCH {
        return Err(format!("A batch has at most {MAX_BATCH} events"));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            parse_event(body.slice_ref(raw.get().as_bytes()))
                .map_err(|e| format!("Event {i} of the batch: {e}"))
        })
        .collect()
}

pub fn check_idempotency_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY || !key.is_ascii() {
        return Err(format!(
            "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} ASCII characters"
        ));
    }
    Ok(())
}

/// What one stored event made.
pub struct Stored {
    pub id: String,
    pub deliveries: usize,
}

/// How a publish call came in.
pub struct How<'a> {
    pub source: EventSource,
    /// One webhook, whatever its filter (a test send, an alert).
    pub to: Option<&'a str>,
    /// The call's `Idempotency-Key`, as remembered.
    pub idempotency_key: Option<&'a str>,
}

impl How<'_> {
    /// An API call's, without a key.
    pub fn api(source: EventSource) -> How<'static> {
        How {
            source,
            to: None,
            idempotency_key: None,
        }
    }

    /// To one webhook.
    pub fn to(source: EventSource, webhook_id: &str) -> How<'_> {
        How {
            source,
            to: Some(webhook_id),
            idempotency_key: None,
        }
    }
}

/// Stores `events` and their deliveries (through the writer, in one
/// transaction), then hands the deliveries to the worker. They go to the
/// webhooks of the scope's tenant (none: the project's own, which have no
/// tenant), or to `how.to` alone. With an idempotency key seen in the last
/// 24 h nothing is stored and the first answer comes back instead.
/// `answer` turns what was stored into the answer that the key remembers.
pub async fn publish(
    db: &Db,
    handle: &Handle,
    scope: &Scope,
    events: Vec<Incoming>,
    how: How<'_>,
    answer: impl FnOnce(&[Stored]) -> serde_json::Value,
) -> Result<serde_json::Value, AppError> {
    let (project_id, tenant) = (scope.project_id.as_str(), scope.tenant.as_deref());
    let to = how.to;
    let subscribers = match to {
        Some(id) => Arc::new(Subscribers::new_unversioned(
            db::webhooks::subscriber(db, project_id, id).await?,
        )),
        None => handle.subscribers.of(db, project_id, tenant).await?,
    };
    let empty: Arc<str> = Arc::from("");
    let mut data = Vec::with_capacity(events.len());
    let mut deliveries = Vec::new();
    let mut stored = Vec::with_capacity(events.len());
    for (index, event) in events.into_iter().enumerate() {
        let before = deliveries.len();
        // Parsed once per event, and only when a webhook it goes to has a key.
        let mut parsed: Option<Option<serde_json::Value>> = None;
        let targets = match to {
            // A test send or an alert: its one webhook, whatever its filter.
            Some(_) => (0..subscribers.list.len()).collect(),
            None => subscribers.of(&event.name),
        };
        for i in targets {
            let (s, pace) = (&subscribers.list[i], &subscribers.paces[i]);
            let key = match &s.ordering_key {
                None => empty.clone(),
                Some(pointer) => {
                    let json =
                        parsed.get_or_insert_with(|| serde_json::from_slice(&event.body).ok());
                    json.as_ref()
                        .map_or_else(|| empty.clone(), |j| key_of(j, pointer))
                }
            };
            deliveries.push(NewDelivery {
                id: time_ordered_id("dlv"),
                event: index,
                webhook_id: s.id.as_str().into(),
                key,
                pace: *pace,
                repeats: None,
            });
        }
        let id: Arc<str> = time_ordered_id("evt").into();
        stored.push(Stored {
            id: id.to_string(),
            deliveries: deliveries.len() - before,
        });
        data.push(PublishedEvent {
            id,
            data: Some(Arc::new(EventData {
                name: event.name,
                body: handle.budget.body(event.body),
            })),
        });
    }
    let response = answer(&stored);

    let (reply, written) = oneshot::channel();
    let publish = Publish {
        received_at: db::now_ms(),
        project_id: project_id.to_string(),
        tenant: tenant.map(str::to_string),
        origin: DeliveryOrigin::Event,
        source: how.source,
        events: data,
        deliveries,
        idempotency_key: how.idempotency_key.map(str::to_string),
        answer: response.to_string(),
        reply,
        permit: None,
    };
    // The writer hands the deliveries to the scheduler after the commit.
    match handle.publish(publish, written).await? {
        Written::Replayed(first) => serde_json::from_str(&first).map_err(internal),
        Written::Stored(_) => Ok(response),
    }
}

/// Most deliveries one replay repeats.
pub const MAX_REPEATS: usize = 10_000;

/// Queues a fresh delivery for each of `sources` (same event, same
/// webhook), durably, through the writer like a publish call; the
/// originals stay as they are. Returns the new deliveries' ids.
pub async fn repeat(
    handle: &Handle,
    project_id: &str,
    sources: Vec<RepeatSource>,
    origin: DeliveryOrigin,
) -> Result<Vec<String>, AppError> {
    let mut events = Vec::with_capacity(sources.len());
    let mut deliveries = Vec::with_capacity(sources.len());
    for (index, s) in sources.into_iter().enumerate() {
        // The events are stored already; an attempt reads them when due.
        events.push(PublishedEvent {
            id: s.event_id.into(),
            data: None,
        });
        // A repeat keeps the key of the delivery it repeats.
        deliveries.push(NewDelivery {
            id: time_ordered_id("dlv"),
            event: index,
            webhook_id: s.webhook_id.into(),
            key: s.ordering_key.into(),
            pace: Pace::of(
                s.ordering,
                s.keyed,
                s.max_concurrency,
                s.rate_limit,
                s.pace_version,
            ),
            repeats: Some(s.id),
        });
    }
    let ids = deliveries.iter().map(|d| d.id.clone()).collect();
    let (reply, written) = oneshot::channel();
    let publish = Publish {
        received_at: db::now_ms(),
        project_id: project_id.to_string(),
        tenant: None,
        origin,
        source: EventSource::Api,
        events,
        deliveries,
        idempotency_key: None,
        answer: String::new(),
        reply,
        permit: None,
    };
    handle.publish(publish, written).await?;
    Ok(ids)
}

/// Longest ordering key kept, in bytes. A longer value is cut (at a
/// character's boundary): two keys that differ only after it share one
/// order, which costs parallelism, never order.
pub const MAX_KEY_BYTES: usize = 256;

/// A delivery's ordering key: what `pointer` (RFC 6901) finds in the event,
/// a string as it is, a number or boolean as JSON writes it; nothing, null,
/// an object or an array give the empty key.
pub fn key_of(event: &serde_json::Value, pointer: &str) -> Arc<str> {
    use serde_json::Value;
    let text = match event.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
        _ => String::new(),
    };
    cut_key(&text).into()
}

/// A key cut to [`MAX_KEY_BYTES`], as stored (and as a log filter compares it).
pub fn cut_key(key: &str) -> &str {
    let mut end = key.len().min(MAX_KEY_BYTES);
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    &key[..end]
}

/// `evt_…` and `dlv_…` ids are UUID v7: they grow with time, so new rows
/// go to the end of the id indexes instead of splitting pages all over
/// them, and sorting by id sorts by creation.
fn time_ordered_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// A sample `messages` event, shaped like a Spectrum text message.
pub fn test_event_body() -> Bytes {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let body = serde_json::json!({
        "event": "messages",
        "test": true,
        "message": {
            "id": format!("spc-msg-{}", uuid::Uuid::new_v4()),
            "type": "text",
            "text": "This is a test event from Signpost.",
            "sender": { "id": "signpost", "name": "Signpost" },
            "createdAt": now,
        }
    });
    Bytes::from(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_objects_named_by_a_string() {
        let ok = parse_event(Bytes::from_static(
            br#" {"event":"user.created","x":[1,2]}"#,
        ))
        .unwrap();
        assert_eq!(ok.name, "user.created");
        // Big integers and small floats are fine.
        for good in [
            &br#"{"event":"x","n":18446744073709551615,"m":-9223372036854775808}"#[..],
            br#"{"event":"x","f":1e308,"g":5e-324,"h":1e-999}"#,
        ] {
            assert!(parse_event(Bytes::from(good)).is_ok());
        }
        for bad in [
            &br#"["event"]"#[..],
            br#"{"event":5}"#,
            br#"{"name":"x"}"#,
            br#"{"event":"has space"}"#,
            br#"{"event":""}"#,
            br#"{"event":"x"} trailing"#,
            b"not json",
            // Found by tests/it/props.rs: numbers a float cannot hold.
            br#"{"event":"x","n":1e999}"#,
            br#"{"event":"x","deep":[{"n":-2e400}]}"#,
        ] {
            assert!(
                parse_event(Bytes::from(bad)).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn keys_are_what_the_pointer_finds_or_the_empty_key() {
        let event = serde_json::json!({
            "event": "messages",
            "space": {"id": "spc_1", "n": 42, "ok": true, "none": null, "obj": {}},
            "items": [{"id": "first"}],
            "a/b": {"~": "escaped"}
        });
        let key = |p: &str| key_of(&event, p).to_string();
        assert_eq!(key("/space/id"), "spc_1");
        assert_eq!(key("/space/n"), "42");
        assert_eq!(key("/space/ok"), "true");
        assert_eq!(key("/items/0/id"), "first");
        assert_eq!(key("/a~1b/~0"), "escaped");
        for nothing in [
            "/space/none",
            "/space/obj",
            "/items",
            "/missing",
            "/space/id/deeper",
        ] {
            assert_eq!(key(nothing), "", "{nothing}");
        }
        let long = serde_json::json!({"k": "é".repeat(200)});
        let cut = key_of(&long, "/k");
        assert!(cut.len() <= MAX_KEY_BYTES && cut.len() >= MAX_KEY_BYTES - 1);
        assert_eq!(cut_key(&"é".repeat(200)), &*cut);
    }

    #[test]
    fn a_batch_keeps_each_events_exact_bytes() {
        let body = Bytes::from_static(b"[ {\"event\":\"a\",  \"k\" : 1},{\"event\":\"b\"} ]");
        let events = parse_batch(body).unwrap();
        assert_eq!(&events[0].body[..], b"{\"event\":\"a\",  \"k\" : 1}");
        assert_eq!(events[1].name, "b");
        assert!(parse_batch(Bytes::from_static(b"[]")).is_err());
        // Invalid UTF-8 inside a string: refused alone and in a batch alike.
        let bad = b"{\"event\":\"a\",\"text\":\"\xff\"}".to_vec();
        let alone = parse_event(Bytes::from(bad.clone())).unwrap_err();
        let mut batch = b"[".to_vec();
        batch.extend_from_slice(&bad);
        batch.push(b']');
        let in_batch = parse_batch(Bytes::from(batch)).unwrap_err();
        assert!(alone.contains("UTF-8"), "{alone}");
        assert!(in_batch.contains("UTF-8"), "{in_batch}");
        assert!(parse_batch(Bytes::from_static(b"{\"event\":\"a\"}")).is_err());
        let err = parse_batch(Bytes::from_static(b"[{\"event\":\"a\"},{\"x\":1}]")).unwrap_err();
        assert!(err.starts_with("Event 1 of the batch"), "{err}");
    }
}
