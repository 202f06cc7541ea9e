use crate::api::deliveries::{bulk_replay_count, list_deliveries, BulkReplay};
use crate::api::webhooks::list_webhooks;
use crate::components::delivery::{DeliveryTable, LIVE_EVERY_MS};
use crate::components::form::{ErrorMessage, FormError};
use crate::components::project_nav::ProjectHeader;
use crate::model::form_protocol::DONE_PARAM;
use crate::model::{is_portal_token, scope_base};
use crate::model::{DeliveryStatus, LogFilter, TimeRange};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

/// `/p/{id}/deliveries`: every delivery of the project, newest first. The
/// filters and the page live in the URL, so a link shows the same view
/// and the back button goes to the previous one. Applying them is the
/// form's own GET. The newest page is live: `enhance` reads it again every
/// two seconds and replaces the results.
#[component]
pub fn DeliveryLogPage() -> impl IntoView {
    let params = use_params_map();
    let pid = Signal::derive(move || params.read().get("pid").unwrap_or_default());
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        let q = query.read();
        LogFilter::from_query(|k| q.get(k))
    });
    let cursor = Memo::new(move |_| query.read().get("cursor").filter(|c| !c.is_empty()));
    let page = Resource::new(
        move || (pid.get(), filter.get(), cursor.get()),
        |(pid, filter, cursor)| list_deliveries(pid, filter, cursor),
    );
    let webhooks = Resource::new(move || pid.get(), list_webhooks);
    let base = move || format!("{}/deliveries", scope_base(&pid.get()));
    view! {
        <section class="page">
            <ProjectHeader project_id=pid />
            <div class="toolbar">
                <h2>"Delivery log"</h2>
                <Show when=move || cursor.get().is_none()>
                    <span class="live hint" title="New deliveries and changes appear by themselves">"● Live"</span>
                </Show>
            </div>
            <form method="get" action=base class="filters" aria-label="Filters">
                <div class="field">
                    <label for="f-status">"Status"</label>
                    <select id="f-status" name="status">
                        <option value="">"Any"</option>
                        {DeliveryStatus::ALL.into_iter().map(|s| view! {
                            <option value=s.as_str() selected=move || filter.get().status == Some(s)>{s.label()}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="f-webhook">"Webhook"</label>
                    <select id="f-webhook" name="webhook">
                        <option value="">"Any"</option>
                        <Transition fallback=|| ()>
                            {move || webhooks.get().and_then(Result::ok).map(|list| list.into_iter().map(|w| {
                                let id = w.id.clone();
                                view! {
                                    <option value=w.id selected=move || filter.get().webhook.as_deref() == Some(id.as_str())>{w.url}</option>
                                }
                            }).collect_view())}
                        </Transition>
                    </select>
                </div>
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
                <div class="field">
                    <label for="f-key">"Ordering key"</label>
                    <input id="f-key" name="key" type="search" placeholder="e.g. spc_123" value=move || filter.get().key.unwrap_or_default() />
                </div>
                <div class="field grow">
                    <label for="f-q">"Event or delivery id"</label>
                    <input id="f-q" name="q" type="search" placeholder="evt_… or dlv_…" value=move || filter.get().search.unwrap_or_default() />
                </div>
                // A tenant's log (`?tenant=`, from a link) stays one when
                // filtered further; the portal's is its tenant's anyway.
                {move || filter.get().tenant.filter(|_| !is_portal_token(&pid.get())).map(|t| view! {
                    <input type="hidden" name="tenant" value=t />
                })}
                <div class="filter-actions">
                    <button type="submit" class="primary">"Apply"</button>
                    <A href=base>"Clear"</A>
                </div>
            </form>
            <ReplayThese pid filter />
            <div id="log-results" data-live=move || cursor.get().is_none().then_some(LIVE_EVERY_MS)>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || page.get().map(|r| match r {
                    Ok(p) if p.deliveries.is_empty() => view! {
                        <div class="card empty">
                            <p>{if filter.get() == LogFilter::default() {
                                "No deliveries yet. They appear here as soon as an event is published to a webhook."
                            } else {
                                "No delivery matches these filters."
                            }}</p>
                        </div>
                    }.into_any(),
                    Ok(p) => {
                        let f = filter.get();
                        let newer = p.newer.as_ref().map(|c| format!("{}{}", base(), f.to_query(Some(c))));
                        let older = p.older.as_ref().map(|c| format!("{}{}", base(), f.to_query(Some(c))));
                        let newest = cursor.get().is_some().then(|| format!("{}{}", base(), f.to_query(None)));
                        view! {
                            <DeliveryTable pid deliveries=p.deliveries />
                            <nav class="pager" aria-label="Pages">
                                {newest.map(|h| view! { <A href=h>"Newest"</A> })}
                                {newer.map(|h| view! { <A href=h>"← Newer"</A> })}
                                {older.map(|h| view! { <A href=h>"Older →"</A> })}
                            </nav>
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                })}
            </Transition>
            </div>
        </section>
    }
}

/// "Replay these…": the page's filters as a bulk replay (time, status,
/// event, webhook). The link opens a card that counts what it would queue
/// (`?replay=1`, so the count is made only when asked) and asks first.
#[component]
fn ReplayThese(#[prop(into)] pid: Signal<String>, filter: Memo<LogFilter>) -> impl IntoView {
    let query = use_query_map();
    // Asked, and not just done (the page comes back to the same address).
    let asked = move || {
        let q = query.read();
        q.get("replay").is_some()
            && !q
                .get(DONE_PARAM)
                .is_some_and(|d| d.starts_with("replayed."))
    };
    let replay = ServerAction::<BulkReplay>::new();
    let can = crate::components::access::may_change();
    // What a replay cannot take, or that has nothing to replay.
    let replayable = move || {
        let f = filter.get();
        f.key.is_none() && f.search.is_none() && f.status != Some(DeliveryStatus::Pending)
    };
    let base = move || format!("{}/deliveries", scope_base(&pid.get()));
    let done = query
        .read_untracked()
        .get(DONE_PARAM)
        .and_then(|d| d.strip_prefix("replayed.").map(str::to_string));
    let count = Resource::new(
        move || (pid.get(), filter.get(), asked()),
        |(pid, filter, asked)| async move {
            if asked {
                Some(bulk_replay_count(pid, filter).await)
            } else {
                None
            }
        },
    );
    view! {
        {done.map(|n| view! { <p class="notice" role="status">{format!("Replay started: {n} deliveries are being queued again.")}</p> })}
        <FormError result=replay.value() />
        {move || (can && replayable() && !asked()).then(|| {
            let f = filter.get();
            let q = f.to_query(None);
            let href = format!("{}{}{}replay=1", base(), q, if q.is_empty() { "?" } else { "&" });
            view! { <p class="replay-these"><a href=href>"Replay these…"</a></p> }
        })}
        <Transition fallback=|| ()>
            {move || (can && asked()).then(|| count.get().flatten().map(|r| {
                let f = filter.get();
                let back = format!("{}{}", base(), f.to_query(None));
                match r {
                    Err(e) => view! { <div class="card"><ErrorMessage error=e /><a href=back>"Back"</a></div> }.into_any(),
                    Ok(0) => view! {
                        <div class="card replay-confirm" role="status">
                            <p>"Nothing to replay: no finished delivery here that was not sent again already."</p>
                            <a href=back>"Back"</a>
                        </div>
                    }.into_any(),
                    Ok(n) => {
                        let what = match f.status {
                            Some(s) => s.label().to_lowercase(),
                            None => "failed and dropped".into(),
                        };
                        view! {
                            <div class="card replay-confirm" role="dialog" aria-label="Replay these deliveries">
                                <h3>{format!("Replay {n} deliveries?")}</h3>
                                <p>{format!(
                                    "The {what} deliveries these filters show{} are sent again as new deliveries, paced with live traffic. \
                                     Of each event to a webhook only the latest delivery counts.",
                                    if f.within.is_none() && f.since.is_none() { " (all that is kept)" } else { "" }
                                )}</p>
                                <ActionForm action=replay>
                                    <input type="hidden" name="project_id" value=pid />
                                    {f.status.map(|s| view! { <input type="hidden" name="filter[status]" value=s.as_str() /> })}
                                    {f.webhook.clone().map(|w| view! { <input type="hidden" name="filter[webhook]" value=w /> })}
                                    {f.event.clone().map(|e| view! { <input type="hidden" name="filter[event]" value=e /> })}
                                    {f.within.map(|r| view! { <input type="hidden" name="filter[within]" value=r.as_str() /> })}
                                    {f.since.map(|v| view! { <input type="hidden" name="filter[since]" value=v.to_string() /> })}
                                    {f.until.map(|v| view! { <input type="hidden" name="filter[until]" value=v.to_string() /> })}
                                    {f.tenant.clone().map(|t| view! { <input type="hidden" name="filter[tenant]" value=t /> })}
                                    <div class="actions">
                                        <a href=back>"Cancel"</a>
                                        <button type="submit" class="primary">{format!("Replay {n} deliveries")}</button>
                                    </div>
                                </ActionForm>
                            </div>
                        }.into_any()
                    }
                }
            }))}
        </Transition>
    }
}
