//! The Events page's rules, shared by the dashboard and the HTTP API: a
//! scope's events with filters, and one event with every delivery it made
//! and every webhook it did not reach, with the reason as of when it came
//! in (read from `webhook_states`, so ingest writes nothing for it).

use super::db::events::{self as db_events, EventQuery, EventRow};
use super::db::webhook_states::{self, StateRow};
use super::delivery_log;
use super::filters;
use super::scope::Scope;
use super::state::AppState;
use crate::model::{
    AppError, Cursor, DeliveryStatus, DeliverySummary, EventDetail, EventFilter, EventPage,
    EventSummary, LogFilter, SkipReason, Skipped, EVENTS_PAGE_MAX, EVENTS_TEXT_SCAN, LOG_PAGE_MAX,
};

/// A deleted webhook is listed among an event's skipped ones for this long
/// after its deletion; then it is history.
pub const DELETED_SHOWN_MS: i64 = 30 * 24 * 3_600_000;

fn summary(r: EventRow) -> EventSummary {
    EventSummary {
        id: r.id,
        event: r.event,
        tenant: r.tenant,
        source: r.source,
        created_at: r.created_at,
        deliveries: r.deliveries as u32,
        succeeded: r.succeeded as u32,
        failed: r.failed as u32,
        pending: r.pending as u32,
    }
}

/// Checks a filter from a URL or a query string.
fn check(f: &mut EventFilter) -> Result<(), AppError> {
    filters::tenant(&mut f.tenant)?;
    filters::text(&mut f.event, true)?;
    // Payload text is searched as typed.
    filters::text(&mut f.text, false)?;
    filters::time_range(&mut f.within, &mut f.since, f.until)
}

/// An event id as a cursor: `evt_` and 32 hex digits.
fn check_cursor(cursor: &str) -> Result<(), AppError> {
    let ok = cursor
        .strip_prefix("evt_")
        .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(AppError::Invalid(
            "That page of events does not exist".into(),
        ))
    }
}

/// One page of a scope's events, newest first, older than `cursor`.
pub async fn page(
    state: &AppState,
    scope: &Scope,
    mut filter: EventFilter,
    cursor: Option<&str>,
    limit: u32,
) -> Result<EventPage, AppError> {
    super::projects::get(state, &scope.project_id).await?;
    if scope.tenant.is_some() {
        // A tenant's events are its own, whatever the filter asks.
        filter.tenant = scope.tenant.clone();
    }
    check(&mut filter)?;
    if let Some(c) = cursor {
        check_cursor(c)?;
    }
    let limit = limit.clamp(1, EVENTS_PAGE_MAX);
    let query = EventQuery {
        project_id: &scope.project_id,
        tenant: filter.tenant.as_deref(),
        event: filter.event.as_deref(),
        since: filter.since,
        until: filter.until,
        before: cursor,
    };
    let (mut rows, stopped) = db_events::page(
        &state.db,
        &query,
        filter.text.as_deref(),
        i64::from(limit) + 1,
        i64::from(EVENTS_TEXT_SCAN),
    )
    .await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let (older, partial) = if more {
        (rows.last().map(|r| r.id.clone()), false)
    } else {
        (stopped.clone(), stopped.is_some())
    };
    Ok(EventPage {
        events: rows.into_iter().map(summary).collect(),
        older,
        partial,
    })
}

/// One event of the scope: another project's or tenant's answers 404.
pub async fn detail(state: &AppState, scope: &Scope, id: &str) -> Result<EventDetail, AppError> {
    let e = db_events::one(&state.db, &scope.project_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if scope.tenant.is_some() && scope.tenant != e.tenant {
        return Err(AppError::NotFound);
    }
    // Its deliveries, as the log shows them (the scope's webhooks only).
    let filter = LogFilter {
        search: Some(e.id.clone()),
        ..LogFilter::default()
    };
    let page = delivery_log::page(state, scope, filter, Cursor::Newest, LOG_PAGE_MAX).await?;
    let mut deliveries = page.deliveries;
    deliveries.reverse();
    let source = e.source;
    let skipped = if source.addressed() {
        Vec::new()
    } else {
        let states = webhook_states::as_of(&state.db, &scope.project_id, e.created_at).await?;
        skipped(
            states,
            e.tenant.as_deref(),
            &e.event,
            e.created_at,
            &deliveries,
            scope.tenant.as_deref(),
        )
    };
    let count = |s: &[DeliveryStatus]| deliveries.iter().filter(|d| s.contains(&d.status)).count();
    let event = EventSummary {
        succeeded: count(&[DeliveryStatus::Succeeded]) as u32,
        failed: count(&[DeliveryStatus::Failed, DeliveryStatus::Dropped]) as u32,
        pending: count(&[DeliveryStatus::Pending]) as u32,
        deliveries: deliveries.len() as u32,
        id: e.id,
        event: e.event,
        tenant: e.tenant,
        source,
        created_at: e.created_at,
    };
    Ok(EventDetail {
        event,
        body: String::from_utf8_lossy(&e.body).into_owned(),
        deliveries,
        skipped,
    })
}

/// The webhooks an event did not reach and why, from their states when it
/// came in (`states`, one per webhook). `viewer_tenant`: a portal sees its
/// own tenant's webhooks only.
fn skipped(
    states: Vec<StateRow>,
    event_tenant: Option<&str>,
    event: &str,
    at: i64,
    deliveries: &[DeliverySummary],
    viewer_tenant: Option<&str>,
) -> Vec<Skipped> {
    states
        .into_iter()
        .filter(|s| viewer_tenant.is_none() || s.tenant.as_deref() == viewer_tenant)
        .filter(|s| !deliveries.iter().any(|d| d.webhook_id == s.webhook_id))
        .filter_map(|s| {
            let filter: Vec<String> = serde_json::from_str(&s.events).unwrap_or_default();
            let reason = match s.state.as_str() {
                "deleted" if at - s.at > DELETED_SHOWN_MS => return None,
                "deleted" => SkipReason::Deleted,
                _ if s.tenant.as_deref() != event_tenant => SkipReason::Tenant,
                "auto_disabled" => SkipReason::AutoDisabled,
                "disabled" => SkipReason::Disabled,
                _ if !filter.iter().any(|n| n == "*" || n == event) => SkipReason::Filtered,
                _ => SkipReason::Changed,
            };
            Some(Skipped {
                webhook_id: s.webhook_id,
                webhook_url: s.url,
                reason,
                since: s.at,
                filter: if reason == SkipReason::Filtered {
                    filter
                } else {
                    Vec::new()
                },
                detail: (reason == SkipReason::AutoDisabled)
                    .then_some(s.disabled_reason)
                    .flatten(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(id: &str, state: &str, events: &str, tenant: Option<&str>, at: i64) -> StateRow {
        StateRow {
            webhook_id: id.into(),
            state: state.into(),
            events: events.into(),
            tenant: tenant.map(Into::into),
            at,
            disabled_reason: (state == "auto_disabled").then(|| "failing for 5 days".into()),
            url: format!("http://127.0.0.1/{id}"),
        }
    }

    #[test]
    fn each_webhook_not_reached_has_its_reason() {
        let now = 100 * DELETED_SHOWN_MS;
        let states = vec![
            state("a", "enabled", r#"["order.paid"]"#, None, 1),
            state("b", "disabled", r#"["*"]"#, None, 2),
            state("c", "auto_disabled", r#"["*"]"#, None, 3),
            state("d", "deleted", r#"["*"]"#, None, now - 1000),
            state("old", "deleted", r#"["*"]"#, None, 4),
            state("t", "enabled", r#"["*"]"#, Some("acme"), 5),
            state("e", "enabled", r#"["order.created"]"#, None, 6),
            state("x", "enabled", r#"["*"]"#, None, 7),
        ];
        let reached = DeliverySummary {
            id: "dlv_1".into(),
            event_id: "evt_1".into(),
            event: "order.created".into(),
            webhook_id: "e".into(),
            webhook_url: String::new(),
            ordering_key: String::new(),
            status: DeliveryStatus::Succeeded,
            origin: crate::model::DeliveryOrigin::Event,
            repeats: None,
            attempts: 1,
            max_attempts: 5,
            next_at: None,
            last_status: Some(200),
            last_error: None,
            duration_ms: None,
            created_at: now,
            finished_at: None,
        };
        let out = skipped(
            states,
            None,
            "order.created",
            now,
            std::slice::from_ref(&reached),
            None,
        );
        let got: Vec<(&str, SkipReason)> = out
            .iter()
            .map(|s| (s.webhook_id.as_str(), s.reason))
            .collect();
        assert_eq!(
            got,
            [
                ("a", SkipReason::Filtered),
                ("b", SkipReason::Disabled),
                ("c", SkipReason::AutoDisabled),
                ("d", SkipReason::Deleted),
                ("t", SkipReason::Tenant),
                ("x", SkipReason::Changed),
            ]
        );
        assert_eq!(out[0].filter, ["order.paid"]);
        assert_eq!(out[2].detail.as_deref(), Some("failing for 5 days"));
        assert!(out[1].filter.is_empty() && out[1].detail.is_none());
    }

    #[test]
    fn a_tenant_sees_its_own_webhooks_only() {
        let states = vec![
            state("mine", "enabled", r#"["other"]"#, Some("acme"), 1),
            state("theirs", "enabled", r#"["*"]"#, Some("globex"), 1),
            state("platform", "enabled", r#"["*"]"#, None, 1),
        ];
        let out = skipped(states, Some("acme"), "order", 10, &[], Some("acme"));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].webhook_id, "mine");
        assert_eq!(out[0].reason, SkipReason::Filtered);
    }

    #[test]
    fn cursors_are_event_ids() {
        assert!(check_cursor("evt_0123456789abcdef0123456789abcdef").is_ok());
        for bad in [
            "",
            "evt_",
            "dlv_0123456789abcdef0123456789abcdef",
            "evt_xyz",
        ] {
            assert!(check_cursor(bad).is_err(), "{bad}");
        }
    }
}
