use crate::api::events::{get_event, list_events};
use crate::components::copy::CopyButton;
use crate::components::delivery::DeliveryTable;
use crate::components::form::ErrorMessage;
use crate::components::project_nav::ProjectHeader;
use crate::components::time::LocalTime;
use crate::model::{is_portal_token, scope_base};
use crate::model::{EventFilter, EventSummary, SkipReason, Skipped, TimeRange};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

/// `/p/{id}/events`: what the platform published, newest first, with how
/// many webhooks each event reached. The filters live in the URL; applying
/// them is the form's own GET.
#[component]
pub fn EventsPage() -> impl IntoView {
    let params = use_params_map();
    let pid = Signal::derive(move || params.read().get("pid").unwrap_or_default());
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        let q = query.read();
        EventFilter::from_query(|k| q.get(k))
    });
    let cursor = Memo::new(move |_| query.read().get("cursor").filter(|c| !c.is_empty()));
    let page = Resource::new(
        move || (pid.get(), filter.get(), cursor.get()),
        |(pid, filter, cursor)| list_events(pid, filter, cursor),
    );
    let base = move || format!("{}/events", scope_base(&pid.get()));
    view! {
        <section class="page">
            <ProjectHeader project_id=pid />
            <div class="toolbar">
                <h2>"Events"</h2>
            </div>
            <form method="get" action=base class="filters" aria-label="Filters">
                <div class="field">
                    <label for="f-event">"Event"</label>
                    <input id="f-event" name="event" type="text" placeholder="e.g. messages" value=move || filter.get().event.unwrap_or_default() />
                </div>
                <div class="field">
                    <label for="f-range">"Time"</label>
                    <select id="f-range" name="range">
                        <option value="">"Any time"</option>
                        {TimeRange::ALL.into_iter().map(|r| view! {
                            <option value=r.as_str() selected=move || filter.get().within == Some(r)>{r.label()}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="field grow">
                    <label for="f-text">"Payload contains"</label>
                    <input id="f-text" name="text" type="search" placeholder="e.g. order_42" value=move || filter.get().text.unwrap_or_default() />
                </div>
                {move || filter.get().tenant.filter(|_| !is_portal_token(&pid.get())).map(|t| view! {
                    <input type="hidden" name="tenant" value=t />
                })}
                <div class="filter-actions">
                    <button type="submit" class="primary">"Apply"</button>
                    <A href=base>"Clear"</A>
                </div>
            </form>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || page.get().map(|r| match r {
                    Ok(p) => {
                        let f = filter.get();
                        let older = p.older.as_ref().map(|c| format!("{}{}", base(), f.to_query(Some(c))));
                        let newest = cursor.get().is_some().then(|| format!("{}{}", base(), f.to_query(None)));
                        let empty = p.events.is_empty();
                        view! {
                            {empty.then(|| view! {
                                <div class="card empty">
                                    <p>{if f == EventFilter::default() {
                                        "No events yet. They appear here as soon as the platform publishes one."
                                    } else {
                                        "No event matches these filters."
                                    }}</p>
                                </div>
                            })}
                            {(!empty).then(|| view! { <EventTable pid events=p.events /> })}
                            {p.partial.then(|| view! {
                                <p class="hint">"The search read the newest 5,000 events here and stopped; “Search older” goes on."</p>
                            })}
                            <nav class="pager" aria-label="Pages">
                                {newest.map(|h| view! { <A href=h>"Newest"</A> })}
                                {older.map(|h| view! {
                                    <A href=h>{if p.partial { "Search older →" } else { "Older →" }}</A>
                                })}
                            </nav>
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// Where an event went, in a few words.
fn reach(e: &EventSummary) -> String {
    if e.deliveries == 0 {
        return "Reached no webhook".into();
    }
    let mut parts = vec![format!("{} of {} delivered", e.succeeded, e.deliveries)];
    if e.failed > 0 {
        parts.push(format!("{} failed", e.failed));
    }
    if e.pending > 0 {
        parts.push(format!("{} pending", e.pending));
    }
    parts.join(", ")
}

#[component]
fn EventTable(#[prop(into)] pid: Signal<String>, events: Vec<EventSummary>) -> impl IntoView {
    view! {
        <table class="list stack events">
            <thead>
                <tr><th>"Time"</th><th>"Event"</th><th>"Deliveries"</th><th>"Id"</th></tr>
            </thead>
            <tbody>
                {events.into_iter().map(|e| {
                    let href = format!("{}/events/{}", scope_base(&pid.get_untracked()), e.id);
                    let none = e.deliveries == 0;
                    let reach = reach(&e);
                    let id = e.id.clone();
                    view! {
                        <tr data-event=id>
                            <td data-label="Time"><a href=href.clone()><LocalTime ms=e.created_at /></a></td>
                            <td data-label="Event">
                                <a href=href><code>{e.event}</code></a>
                                {e.tenant.map(|t| view! { " " <span class="badge off small">{t}</span> })}
                            </td>
                            <td data-label="Deliveries">
                                <span class=if none { "badge warn" } else { "" }>{reach}</span>
                            </td>
                            <td data-label="Id" class="hint mono small">{e.id}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// `/p/{id}/events/{eid}`: one event, its exact payload, every delivery it
/// made, and every webhook it did not reach with the reason.
#[component]
pub fn EventPage() -> impl IntoView {
    let params = use_params_map();
    let pid = Signal::derive(move || params.read().get("pid").unwrap_or_default());
    let eid = Signal::derive(move || params.read().get("eid").unwrap_or_default());
    let event = Resource::new(
        move || (pid.get(), eid.get()),
        |(pid, eid)| get_event(pid, eid),
    );
    view! {
        <section class="page">
            <ProjectHeader project_id=pid />
            <p><A href=move || format!("{}/events", scope_base(&pid.get()))>"← Events"</A></p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || event.get().map(|r| match r {
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                    Ok(d) => {
                        let e = d.event.clone();
                        let log_href = format!("{}/deliveries?q={}", scope_base(&pid.get_untracked()), e.id);
                        let shown = d.deliveries.len() as u32;
                        view! {
                            <div class="toolbar">
                                <h2>"Event " <code>{e.event.clone()}</code></h2>
                            </div>
                            <dl class="facts card">
                                <dt>"Id"</dt><dd class="mono">{e.id.clone()}</dd>
                                <dt>"Received"</dt><dd><LocalTime ms=e.created_at /></dd>
                                <dt>"How"</dt><dd>{e.source.label()}</dd>
                                {e.tenant.clone().map(|t| view! { <dt>"Tenant"</dt><dd class="mono">{t}</dd> })}
                                <dt>"Reached"</dt><dd>{reach(&e)}</dd>
                            </dl>
                            <h3>{format!("Deliveries ({})", e.deliveries)}</h3>
                            {if d.deliveries.is_empty() {
                                view! { <p class="hint">"This event made no delivery."</p> }.into_any()
                            } else {
                                view! {
                                    <DeliveryTable pid deliveries=d.deliveries.clone() />
                                    {(e.deliveries > shown).then(|| view! {
                                        <p><a href=log_href>"All of them in the delivery log"</a></p>
                                    })}
                                }.into_any()
                            }}
                            <h3>{format!("Not sent to ({})", d.skipped.len())}</h3>
                            {if d.skipped.is_empty() {
                                let why = if e.source.addressed() {
                                    "It was sent to one webhook by name."
                                } else {
                                    "Every webhook there was got it."
                                };
                                view! { <p class="hint">{why}</p> }.into_any()
                            } else {
                                view! { <SkippedTable pid skipped=d.skipped.clone() /> }.into_any()
                            }}
                            <h3>"Payload"</h3>
                            <div class="code-block">
                                <CopyButton text=d.body.clone() label="Copy JSON" />
                                <pre class="mono" aria-label="Payload">{d.body.clone()}</pre>
                            </div>
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

/// Why, in a sentence.
fn why(s: &Skipped) -> String {
    match s.reason {
        SkipReason::Filtered => format!("Its filter takes {}", s.filter.join(", ")),
        SkipReason::AutoDisabled => s
            .detail
            .clone()
            .unwrap_or_else(|| "Signpost disabled it after it kept failing".into()),
        SkipReason::Disabled => "Someone disabled it".into(),
        SkipReason::Deleted => "It had been deleted".into(),
        SkipReason::Tenant => "It belongs to another tenant".into(),
        SkipReason::Changed => "It was changed while the event came in".into(),
    }
}

#[component]
fn SkippedTable(#[prop(into)] pid: Signal<String>, skipped: Vec<Skipped>) -> impl IntoView {
    view! {
        <table class="list stack skipped">
            <thead>
                <tr><th>"Webhook"</th><th>"Reason"</th><th>"Since"</th></tr>
            </thead>
            <tbody>
                {skipped.into_iter().map(|s| {
                    let href = (s.reason != SkipReason::Deleted)
                        .then(|| format!("{}/webhooks/{}", scope_base(&pid.get_untracked()), s.webhook_id));
                    let url = s.webhook_url.clone();
                    let why = why(&s);
                    view! {
                        <tr data-webhook=s.webhook_id.clone() data-reason=s.reason.as_str()>
                            <td data-label="Webhook" class="url">{match href {
                                Some(h) => view! { <a href=h><code class="url">{url}</code></a> }.into_any(),
                                None => view! { <code class="url">{url}</code> }.into_any(),
                            }}</td>
                            <td data-label="Reason"><strong>{s.reason.label()}</strong><div class="small hint">{why}</div></td>
                            <td data-label="Since"><LocalTime ms=s.since /></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
