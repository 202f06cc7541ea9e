//! Properties of the parsers that take outside input (issue 13): whatever
//! the bytes, they answer (never panic) and what they accept is what the
//! rules say. `PROPTEST_CASES` sets how many inputs each property gets
//! (256 by default, as `scripts/test` runs it); a longer run is in the
//! README.

use crate::support::Api;
use bytes::Bytes;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use serde_json::{json, Value};
use signpost::model::{check_events, is_event_name, parse_event_list, Cursor, MAX_EVENTS};
use signpost::server::delivery::ingest::{
    check_idempotency_key, parse_batch, parse_event, MAX_BATCH, MAX_IDEMPOTENCY_KEY,
};
use signpost::server::url_guard::{check_static, non_public, AllowList};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An event name as the rules allow it.
fn event_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._:-]{1,100}"
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A well-formed event: a name and some data.
fn event() -> impl Strategy<Value = Value> {
    (event_name(), json_value()).prop_map(|(name, data)| json!({ "event": name, "data": data }))
}

/// Bytes that are often almost JSON: valid JSON cut short or with a byte
/// changed, plus plain noise.
fn nearly_json() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        (event(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(e, at, b)| {
            let mut bytes = serde_json::to_vec(&e).unwrap();
            let i = at.index(bytes.len());
            bytes[i] = b;
            bytes
        }),
        (event(), any::<prop::sample::Index>()).prop_map(|(e, at)| {
            let bytes = serde_json::to_vec(&e).unwrap();
            bytes[..at.index(bytes.len())].to_vec()
        }),
    ]
}

proptest! {
    #[test]
    fn a_well_formed_event_is_accepted_with_its_exact_bytes(e in event()) {
        let bytes = serde_json::to_vec(&e).unwrap();
        let got = parse_event(Bytes::from(bytes.clone())).unwrap();
        prop_assert_eq!(&got.body[..], &bytes[..]);
        prop_assert_eq!(got.name.as_str(), e["event"].as_str().unwrap());
    }

    #[test]
    fn what_parse_event_accepts_is_an_object_naming_a_valid_event(bytes in nearly_json()) {
        if let Ok(got) = parse_event(Bytes::from(bytes.clone())) {
            let v: Value = serde_json::from_slice(&bytes).expect("accepted bytes are JSON");
            prop_assert!(v.is_object());
            prop_assert_eq!(v["event"].as_str(), Some(got.name.as_str()));
            prop_assert!(is_event_name(&got.name));
            prop_assert!(std::str::from_utf8(&bytes).is_ok());
        }
    }

    /// One rule for an event alone and the same event in a batch, whatever
    /// bytes it carries inside a string (invalid UTF-8 included).
    #[test]
    fn an_event_is_judged_alike_alone_and_in_a_batch(inner in prop::collection::vec(any::<u8>(), 0..16)) {
        let mut one = br#"{"event":"order.paid","note":""#.to_vec();
        one.extend_from_slice(&inner);
        one.extend_from_slice(br#""}"#);
        let mut batch = b"[".to_vec();
        batch.extend_from_slice(&one);
        batch.push(b']');
        prop_assert_eq!(
            parse_event(Bytes::from(one)).is_ok(),
            parse_batch(Bytes::from(batch)).is_ok()
        );
    }

    #[test]
    fn a_batch_keeps_every_event_its_order_and_bytes(events in prop::collection::vec(event(), 1..20)) {
        let items: Vec<Vec<u8>> = events.iter().map(|e| serde_json::to_vec(e).unwrap()).collect();
        let body = format!(
            "[{}]",
            items.iter().map(|i| String::from_utf8(i.clone()).unwrap()).collect::<Vec<_>>().join(" ,\n")
        );
        let got = parse_batch(Bytes::from(body)).unwrap();
        prop_assert_eq!(got.len(), items.len());
        for (g, want) in got.iter().zip(&items) {
            prop_assert_eq!(&g.body[..], &want[..]);
        }
    }

    #[test]
    fn a_batch_with_one_bad_event_is_refused_naming_it(
        events in prop::collection::vec(event(), 1..10),
        at in any::<prop::sample::Index>(),
    ) {
        let mut items: Vec<Value> = events;
        let bad = at.index(items.len() + 1);
        items.insert(bad, json!({ "event": 7 }));
        let e = parse_batch(Bytes::from(serde_json::to_vec(&items).unwrap())).unwrap_err();
        let named = format!("Event {bad} of the batch");
        prop_assert!(e.starts_with(&named), "{}", e);
    }

    #[test]
    fn parse_batch_answers_any_bytes(bytes in nearly_json()) {
        let mut batch = b"[".to_vec();
        batch.extend_from_slice(&bytes);
        batch.push(b']');
        if let Ok(got) = parse_batch(Bytes::from(batch)) {
            prop_assert!(!got.is_empty() && got.len() <= MAX_BATCH);
        }
    }

    /// Whatever list is given, the filter that is kept is `*` or valid,
    /// distinct names within the cap, and checking it again keeps it.
    #[test]
    fn an_event_filter_is_all_or_distinct_valid_names(
        names in prop::collection::vec(prop_oneof![event_name(), Just("*".to_string()), any::<String>()], 0..120)
    ) {
        match check_events(&names) {
            Ok(kept) => {
                prop_assert!(names.len() <= MAX_EVENTS);
                prop_assert!(!kept.is_empty() && kept.len() <= MAX_EVENTS);
                if kept != ["*"] {
                    prop_assert!(kept.iter().all(|n| is_event_name(n)));
                    let distinct: std::collections::HashSet<_> = kept.iter().collect();
                    prop_assert_eq!(distinct.len(), kept.len());
                }
                prop_assert_eq!(check_events(&kept), Ok(kept.clone()));
            }
            Err(_) => prop_assert!(
                names.len() > MAX_EVENTS || names.iter().any(|n| n.trim() != "*" && !is_event_name(n.trim()))
            ),
        }
    }

    #[test]
    fn a_form_list_of_events_is_split_into_bounded_words(text in any::<String>()) {
        let words = parse_event_list(&text);
        prop_assert!(words.len() <= MAX_EVENTS + 1);
        for w in &words {
            prop_assert!(!w.is_empty() && !w.contains(',') && !w.contains(char::is_whitespace));
        }
    }

    #[test]
    fn cursors_round_trip_and_any_text_decodes_or_not(key in 0i64.., text in any::<String>()) {
        for c in [Cursor::Before(key), Cursor::After(key)] {
            prop_assert_eq!(Cursor::decode(&c.encode().unwrap()), Some(c));
        }
        if let Some(c) = Cursor::decode(&text) {
            prop_assert_eq!(Cursor::decode(&c.encode().unwrap()), Some(c));
        }
    }

    #[test]
    fn an_idempotency_key_is_1_to_255_ascii_characters(key in any::<String>()) {
        let ok = !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY && key.is_ascii();
        prop_assert_eq!(check_idempotency_key(&key).is_ok(), ok);
    }

    #[test]
    fn the_url_guard_answers_any_text(text in any::<String>()) {
        let _ = check_static(&text, &AllowList::default());
    }

    /// A non-public IPv4 address is refused however the URL spells it: as
    /// is, mapped or translated into IPv6, in decimal or hex.
    #[test]
    fn a_private_ipv4_address_is_refused_in_every_spelling(octets in any::<[u8; 4]>()) {
        let v4 = Ipv4Addr::from(octets);
        let spellings = [
            format!("https://{v4}/"),
            format!("https://{}/", u32::from(v4)),
            format!("https://0x{:x}/", u32::from(v4)),
            format!("https://[::ffff:{v4}]/"),
            format!("https://[{}]/", v4.to_ipv6_mapped()),
            format!("https://[::ffff:0:{v4}]/"),
            format!("https://[64:ff9b::{v4}]/"),
        ];
        let private = non_public(IpAddr::V4(v4)).is_some();
        for url in spellings {
            let refused = check_static(&url, &AllowList::default()).is_err();
            if private {
                prop_assert!(refused, "{} was accepted", url);
            }
        }
    }

    #[test]
    fn an_accepted_url_is_https_without_credentials_to_a_public_literal(text in any::<String>(), v6 in any::<u128>()) {
        let allow = AllowList::default();
        for url in [text, format!("https://[{}]:8443/x", Ipv6Addr::from(v6))] {
            if let Ok(p) = check_static(&url, &allow) {
                prop_assert_eq!(p.url.scheme(), "https");
                prop_assert!(p.url.username().is_empty() && p.url.password().is_none());
                if let Some(ip) = p.literal {
                    prop_assert!(non_public(ip).is_none(), "{} let through", ip);
                }
            }
        }
    }
}

/// The form fields of every server function the dashboard calls (all but
/// sign-out, which would end the run's session).
const SERVER_FUNCTIONS: &[(&str, &[&str])] = &[
    ("account/password", &["current", "password", "confirm"]),
    ("account/alert_emails", &[]),
    ("account/set_alert_emails", &["enabled"]),
    ("alerts/open", &["project_id"]),
    ("alerts/target", &["project_id"]),
    (
        "alerts/set_target",
        &["project_id", "webhook_url", "format"],
    ),
    ("login", &["email", "password", "next"]),
    ("setup", &["email", "password", "confirm", "token"]),
    ("setup_status", &[]),
    ("logout", &[]),
    ("shown_once", &[]),
    ("system/view", &[]),
    ("account/sign_out_elsewhere", &[]),
    ("me", &[]),
    ("deliveries/list", &["project_id", "filter", "cursor"]),
    ("deliveries/get", &["project_id", "delivery_id"]),
    ("events/list", &["project_id", "filter", "cursor"]),
    ("deliveries/bulk_replay_count", &["project_id", "filter"]),
    ("deliveries/bulk_replay", &["project_id", "filter"]),
    ("events/get", &["project_id", "event_id"]),
    ("catalog/list", &["project_id"]),
    (
        "catalog/save",
        &["project_id", "name", "description", "schema", "example"],
    ),
    ("catalog/delete", &["project_id", "name"]),
    ("deliveries/redeliver", &["project_id", "delivery_id"]),
    ("deliveries/cancel", &["project_id", "delivery_id"]),
    (
        "deliveries/replay_count",
        &["project_id", "webhook_id", "since"],
    ),
    ("deliveries/replay", &["project_id", "webhook_id", "since"]),
    ("deliveries/hourly", &["project_id", "webhook_id"]),
    ("deliveries/health", &["project_id"]),
    ("activity/project", &["project_id"]),
    ("projects/list", &[]),
    ("projects/get", &["project_id"]),
    ("projects/create", &["name"]),
    ("projects/rename", &["project_id", "name"]),
    ("projects/regenerate_secret", &["project_id"]),
    ("team/list", &[]),
    ("team/add", &["email", "role", "projects[0]"]),
    ("team/set_projects", &["user_id", "projects[0]"]),
    ("team/set_role", &["user_id", "role"]),
    ("team/remove", &["user_id"]),
    ("team/new_link", &["user_id"]),
    ("team/activity", &[]),
    ("join/info", &["token"]),
    ("join", &["token", "password", "confirm"]),
    ("webhooks/list", &["project_id"]),
    ("webhooks/get", &["project_id", "webhook_id"]),
    (
        "webhooks/create",
        &[
            "project_id",
            "url",
            "description",
            "events",
            "scheme",
            "ordering",
        ],
    ),
    (
        "webhooks/set_enabled",
        &["project_id", "webhook_id", "enabled"],
    ),
    (
        "webhooks/edit",
        &[
            "project_id",
            "webhook_id",
            "description",
            "events",
            "ordering",
        ],
    ),
    (
        "webhooks/pace",
        &[
            "project_id",
            "webhook_id",
            "ordering",
            "ordering_key",
            "max_concurrency",
            "rate_limit",
        ],
    ),
    (
        "webhooks/rotate",
        &["project_id", "webhook_id", "grace_seconds"],
    ),
    ("webhooks/delete", &["project_id", "webhook_id"]),
    ("webhooks/finish_rotation", &["project_id", "webhook_id"]),
    ("webhooks/test", &["project_id", "webhook_id"]),
    ("portal/info", &["token"]),
    ("portal/shown", &["token", "id"]),
    ("portal/look", &["project_id"]),
    ("portal/set_look", &["project_id", "name", "accent"]),
];

/// A form value: often a real id (so that calls get past "not found"),
/// else something a form should never send.
fn form_value(real: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(real).prop_map(String::into_bytes),
        prop::sample::select(vec![
            "",
            "0",
            "-1",
            "true",
            "false",
            "admin",
            "member",
            "*",
            "spectrum",
            "standard",
            "ordered",
            "unordered",
            "86400",
            "99999999999999999999",
            "https://hooks.example.com/x",
            "http://127.0.0.1:1/",
            "o12",
            "n-3",
            "x@example.com",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 0..40),
        "\\PC{0,300}".prop_map(String::into_bytes),
    ]
}

fn percent_encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                (*b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Form bodies of every server function, half-right and wrong in every
/// way a form can be, from a signed-in admin: each gets an answer below
/// 500 (a 4xx says why), and the server keeps answering.
#[test]
fn server_functions_answer_every_form_body_without_a_5xx() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (api, client, real) = rt.block_on(async {
        let (api, client) = Api::with_admin(|_| {}).await;
        let (webhook, _) = api
            .register("http://127.0.0.1:9/props", json!({ "tenant": "acme" }))
            .await;
        // A portal link's token: the same functions, in a tenant's scope.
        let (_, link) = api.call("/portal-links", json!({ "tenant": "acme" })).await;
        let token = link["data"]["url"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap();
        let real = vec![api.pid.clone(), webhook, token.to_string()];
        (api, client, real)
    });
    let server = &api.server;
    let strategy = (
        prop::sample::select(SERVER_FUNCTIONS),
        prop::collection::vec((any::<bool>(), form_value(real.clone())), 6),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..64),
    );
    let mut runner = TestRunner::new(RunnerConfig {
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    let result = runner.run(&strategy, |((endpoint, fields), values, raw, noise)| {
        let body: Vec<u8> = if raw {
            noise
        } else {
            fields
                .iter()
                .zip(&values)
                .filter(|(_, (keep, _))| *keep)
                .map(|(f, (_, v))| format!("{f}={}", percent_encode(v)))
                .collect::<Vec<_>>()
                .join("&")
                .into_bytes()
        };
        let status = rt.block_on(async {
            client
                .post(server.url(&format!("/api/{endpoint}")))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone())
                .send()
                .await
                .unwrap()
                .status()
        });
        prop_assert!(
            status.as_u16() < 500,
            "/api/{} answered {} to {:?}",
            endpoint,
            status,
            String::from_utf8_lossy(&body)
        );
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    rt.block_on(async {
        let res = client.get(server.url("/healthz")).send().await.unwrap();
        assert!(res.status().is_success());
    });
}

/// The fuzzing above reaches every server function there is.
#[test]
fn the_form_fuzzing_lists_every_server_function() {
    crate::support::assert_lists_every_server_function(
        "props::SERVER_FUNCTIONS",
        SERVER_FUNCTIONS.iter().map(|(endpoint, _)| *endpoint),
        &[],
    );
}
