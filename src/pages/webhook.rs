use crate::api::catalog::list_event_types;
use crate::api::deliveries::{list_deliveries, replay_count, webhook_hourly, Replay};
use crate::api::webhooks::{get_webhook, SetWebhookPace};
use crate::components::copy::CopyButton;
use crate::components::delivery::DeliveryTable;
use crate::components::form::{DoneNotice, ErrorMessage, FormError, SubmitButton};
use crate::components::modal::{Dialog, DialogButtons, Modal};
use crate::components::project_nav::ProjectHeader;
use crate::components::time::LocalTime;
use crate::model::scope_base;
use crate::model::{
    rate_text, snippets, EventType, HourStats, LogFilter, Ordering, Webhook, MAX_CONCURRENCY,
};
use crate::pages::webhooks::{state_badge, SendTest};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

/// How often the last 24 hours and the deliveries are read again.
const LIVE_EVERY_MS: u32 = 3000;

/// `/p/{id}/webhooks/{wid}`: one webhook: settings, test, how to verify
/// its signatures, its last 24 hours, and its deliveries. The last two are
/// live (`enhance` reads the page again); the test and the replay are islands.
#[component]
pub fn WebhookPage() -> impl IntoView {
    let params = use_params_map();
    let pid = Signal::derive(move || params.read().get("pid").unwrap_or_default());
    let wid = Signal::derive(move || params.read().get("wid").unwrap_or_default());
    let webhook = Resource::new(move || (pid.get(), wid.get()), |(p, w)| get_webhook(p, w));
    let stats = Resource::new(
        move || (pid.get(), wid.get()),
        |(p, w)| webhook_hourly(p, w),
    );
    let deliveries = Resource::new(
        move || (pid.get(), wid.get()),
        |(p, w)| {
            let filter = LogFilter {
                webhook: Some(w),
                ..LogFilter::default()
            };
            list_deliveries(p, filter, None)
        },
    );

    view! {
        <section class="page">
            <ProjectHeader project_id=pid />
            <p><A href=move || format!("{}/webhooks", scope_base(&pid.get()))>"← Webhooks"</A></p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || webhook.get().map(|r| match r {
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                    Ok(w) => view! { <Settings webhook=w pid=pid.get_untracked() /> }.into_any(),
                })}
            </Transition>

            <div id="webhook-activity" data-live=LIVE_EVERY_MS>
            <h3>"Last 24 hours"</h3>
            <Transition fallback=|| ()>
                {move || stats.get().map(|r| match r {
                    Ok(hours) => view! { <Chart hours /> }.into_any(),
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                })}
            </Transition>

            <div class="toolbar">
                <h3>"Deliveries"</h3>
                <A href=move || format!("{}/deliveries?webhook={}", scope_base(&pid.get()), wid.get())>"Open in the delivery log →"</A>
            </div>
            <Transition fallback=|| ()>
                {move || deliveries.get().map(|r| match r {
                    Ok(p) if p.deliveries.is_empty() => view! {
                        <p class="hint">"No deliveries yet: send a test event to see one."</p>
                    }.into_any(),
                    Ok(p) => view! { <DeliveryTable pid deliveries=p.deliveries show_webhook=false /> }.into_any(),
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                })}
            </Transition>
            </div>

            <Transition fallback=|| ()>
                {move || webhook.get().and_then(Result::ok).map(|w| view! {
                    <Snippets webhook=w.clone() />
                    <ReceivedTypes pid=pid.get_untracked() webhook=w />
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Settings(webhook: Webhook, pid: String) -> impl IntoView {
    let read_only = !crate::components::access::may_change();
    // The pace (concurrency, rate) is the platform's to set, not a tenant's.
    let pace_editable = !crate::model::is_portal_token(&pid) && !read_only;
    let status = state_badge(&webhook);
    let pid_for_pace = pid.clone();
    let pace = webhook.pace_in_words();
    // Each part erased on its own: one view type this deep overflows the
    // compiler's query depth in builds without `erase_components`.
    let toolbar = view! {
        <div class="toolbar">
            <h2><code class="url">{webhook.url.clone()}</code></h2>
            {(!read_only).then(|| view! {
                <div class="actions">
                    <SendTest pid=pid.clone() webhook_id=webhook.id.clone() />
                    <ReplayButton pid webhook_id=webhook.id.clone() />
                </div>
            })}
        </div>
    }
    .into_any();
    let facts = view! {
        <dl class="facts card">
            <dt>"Status"</dt><dd>{status}</dd>
            {(!webhook.description.is_empty()).then(|| view! { <dt>"Description"</dt><dd>{webhook.description.clone()}</dd> })}
            <dt>"Events"</dt><dd>{webhook.events.join(", ")}</dd>
            <dt>"Signature scheme"</dt><dd class="mono">{webhook.scheme.as_str()}</dd>
            <dt>"Delivery"</dt>
            <dd>
                <span id="webhook-pace">{pace.clone()}</span> " "
                {pace_editable.then(|| view! {
                    <button type="button" class="link" commandfor="webhook-pace-dialog" command="show-modal">"Change"</button>
                })}
            </dd>
            <dt>"Created"</dt><dd><LocalTime ms=webhook.created_at /></dd>
            <dt>"Webhook id"</dt><dd class="mono">{webhook.id.clone()}</dd>
        </dl>
    }
    .into_any();
    view! {
        {toolbar}
        {facts}
        <DoneNotice what="pace">"Saved: " {pace} "."</DoneNotice>
        {pace_editable.then(|| view! { <PaceDialog webhook pid=pid_for_pace /> })}
    }
}

/// Order, ordering key, concurrency and rate limit: how deliveries go out.
#[component]
fn PaceDialog(webhook: Webhook, pid: String) -> impl IntoView {
    let id = "webhook-pace-dialog";
    let unordered = webhook.ordering == Ordering::Unordered;
    let default_n = format!("default: {}", webhook.default_concurrency);
    view! {
        <Dialog id=id title="Delivery order and pace">
            <form method="post" action=SetWebhookPace::url()>
                <input type="hidden" name="project_id" value=pid />
                <input type="hidden" name="webhook_id" value=webhook.id.clone() />
                <label for="pace-ordering">"Order"</label>
                <select id="pace-ordering" name="ordering">
                    <option value="ordered" selected=!unordered>"In order (per ordering key, if one is set)"</option>
                    <option value="unordered" selected=unordered>"Any order: faster, nothing waits for a retry"</option>
                </select>
                <label for="pace-key">"Ordering key"</label>
                <input id="pace-key" name="ordering_key" type="text" maxlength="200" placeholder="/space/id"
                    value=webhook.ordering_key.clone().unwrap_or_default() aria-describedby="pace-key-hint" />
                <p class="hint" id="pace-key-hint">
                    "A JSON Pointer to the field that names a conversation (for example /space/id): \
                    events with the same value arrive in order, others in parallel. Empty: one order \
                    for the whole webhook."
                </p>
                <label for="pace-concurrency">"At once, at most"</label>
                <input id="pace-concurrency" name="max_concurrency" type="number" min="1" max=MAX_CONCURRENCY.to_string()
                    placeholder=default_n value=webhook.max_concurrency.map(|n| n.to_string()).unwrap_or_default() />
                <label for="pace-rate">"Deliveries per second, at most"</label>
                <input id="pace-rate" name="rate_limit" type="number" min="0.001" step="any" placeholder="no limit"
                    value=webhook.rate_limit.map(rate_text).unwrap_or_default() />
                <DialogButtons dialog=id submit="Save" />
            </form>
        </Dialog>
    }
}

/// Successes and failures per hour as bars, and p50/p95 durations as lines.
#[component]
fn Chart(hours: Vec<HourStats>) -> impl IntoView {
    const W: f64 = 720.0;
    const H: f64 = 160.0;
    let slot = W / hours.len().max(1) as f64;
    let most = hours
        .iter()
        .map(|h| h.succeeded + h.failed)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slowest = hours
        .iter()
        .filter_map(|h| h.p95_ms)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let total: u32 = hours.iter().map(|h| h.succeeded + h.failed).sum();
    let ok: u32 = hours.iter().map(|h| h.succeeded).sum();
    let summary = if total == 0 {
        "No finished deliveries in the last 24 hours.".to_string()
    } else {
        format!(
            "{:.1}% of {total} deliveries succeeded in the last 24 hours.",
            ok as f64 * 100.0 / total as f64
        )
    };
    let line = |pick: fn(&HourStats) -> Option<i64>| {
        hours
            .iter()
            .enumerate()
            .filter_map(|(i, h)| {
                pick(h).map(|ms| {
                    format!(
                        "{:.1},{:.1}",
                        i as f64 * slot + slot / 2.0,
                        H - ms as f64 / slowest * (H - 10.0)
                    )
                })
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (p50, p95) = (line(|h| h.p50_ms), line(|h| h.p95_ms));
    let bars = hours
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let x = i as f64 * slot + 2.0;
            let bar_w = (slot - 4.0).max(1.0);
            let ok_h = h.succeeded as f64 / most * (H - 10.0);
            let bad_h = h.failed as f64 / most * (H - 10.0);
            let title = format!(
                "{} succeeded, {} failed, p50 {} ms, p95 {} ms",
                h.succeeded,
                h.failed,
                h.p50_ms.map_or("–".into(), |v| v.to_string()),
                h.p95_ms.map_or("–".into(), |v| v.to_string()),
            );
            view! {
                <g>
                    <title>{title}</title>
                    <rect class="ok" x=x y=H - ok_h width=bar_w height=ok_h />
                    <rect class="bad" x=x y=H - ok_h - bad_h width=bar_w height=bad_h />
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="chart card">
            <svg viewBox=format!("0 0 {W} {H}") role="img" aria-label=summary.clone() preserveAspectRatio="none">
                {bars}
                <polyline class="p50" points=p50 />
                <polyline class="p95" points=p95 />
            </svg>
            <figcaption>
                {summary} " "
                <span class="key ok">"■ succeeded"</span> " "
                <span class="key bad">"■ failed"</span> " "
                <span class="key p50">"— p50"</span> " "
                <span class="key p95">"— p95"</span>
                {format!(" (latency axis up to {slowest} ms; hover a bar for its hour)")}
            </figcaption>
        </figure>
    }
}

/// Complete handlers in four languages that verify this webhook's scheme.
/// Every panel is sent, and shown without the script; the tabs (`enhance`)
/// show one.
#[component]
fn Snippets(webhook: Webhook) -> impl IntoView {
    let all = snippets(webhook.scheme);
    view! {
        <h3>"Verify the signature"</h3>
        <p class="hint">
            "A complete handler for your receiver in the " <code>{webhook.scheme.as_str()}</code>
            " scheme: it reads the raw body, refuses timestamps more than 5 minutes away and compares "
            "signatures in constant time. Put this webhook's signing secret in "
            <code>"SIGNPOST_WEBHOOK_SECRET"</code> "."
        </p>
        <div class="tabs snippet-tabs" role="tablist" aria-label="Language">
            {all.iter().enumerate().map(|(i, s)| view! {
                <button type="button" role="tab" aria-selected=(i == 0).to_string()
                    aria-controls=format!("snippet-{i}")>{s.language}</button>
            }).collect_view()}
        </div>
        {all.iter().enumerate().map(|(i, s)| view! {
            <div class="code-block" role="tabpanel" id=format!("snippet-{i}") aria-label=s.language>
                <CopyButton text=s.code.to_string() />
                <pre class="mono"><code>{s.code}</code></pre>
                <p class="hint">{s.file_name}</p>
            </div>
        }).collect_view()}
    }
}

/// The catalog's types this webhook receives, with their schemas: with
/// the snippets, the one page a receiver's developer reads.
#[component]
fn ReceivedTypes(pid: String, webhook: Webhook) -> impl IntoView {
    let types = Resource::new(move || pid.clone(), list_event_types);
    let all = webhook.events.iter().any(|n| n == "*");
    let takes = move |name: &str| all || webhook.events.iter().any(|n| n == name);
    view! {
        <Transition fallback=|| ()>
            {move || types.get().and_then(Result::ok).map(|list| {
                let list: Vec<EventType> = list.into_iter().filter(|t| takes(&t.name)).collect();
                (!list.is_empty()).then(|| view! {
                    <h3>"The events it receives"</h3>
                    <p class="hint">"From the project's event catalog: what each event means and, where there is one, the JSON Schema every event of it matches."</p>
                    <dl class="received-types">
                        {list.into_iter().map(|t| view! {
                            <dt><code>{t.name.clone()}</code></dt>
                            <dd>
                                {(!t.description.is_empty()).then(|| view! { <p>{t.description.clone()}</p> })}
                                {t.schema.clone().map(|s| view! {
                                    <details><summary>"Schema"</summary><pre class="mono">{s}</pre></details>
                                })}
                                {t.example.clone().map(|e| view! {
                                    <details><summary>"Example"</summary><pre class="mono">{e}</pre></details>
                                })}
                            </dd>
                        }).collect_view()}
                    </dl>
                })
            })}
        </Transition>
    }
}

/// "Replay failed since…" and its dialog, which counts what a time would
/// send again before it is sent.
#[island]
fn ReplayButton(pid: String, webhook_id: String) -> impl IntoView {
    let replay = ServerAction::<Replay>::new();
    let replaying = RwSignal::new(false);
    view! {
        <button type="button" on:click=move |_| replaying.set(true)>"Replay failed since…"</button>
        <Show when=move || replaying.get()>
            <ReplayDialog pid=pid.clone() wid=webhook_id.clone() replay replaying />
        </Show>
    }
}

#[component]
fn ReplayDialog(
    pid: String,
    wid: String,
    replay: ServerAction<Replay>,
    replaying: RwSignal<bool>,
) -> impl IntoView {
    // The chosen time, as typed (local time) and in Unix ms.
    let typed = RwSignal::new(String::new());
    let since = Memo::new(move |_| local_to_ms(&typed.get()));
    let (pid, wid) = (Signal::stored(pid), Signal::stored(wid));
    let count = Resource::new(
        move || (pid.get(), wid.get(), since.get()),
        |(p, w, since)| async move {
            match since {
                Some(s) => replay_count(p, w, s).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let close = move || {
        replay.value().set(None);
        replaying.set(false);
    };
    view! {
        <Modal title="Replay failed deliveries">
            {move || match replay.value().get() {
                Some(Ok(n)) => view! {
                    <p role="status" class="notice">{format!("{n} deliveries queued again.")}</p>
                    <div class="actions">
                        <button type="button" class="primary" on:click=move |_| close()>"Done"</button>
                    </div>
                }.into_any(),
                _ => view! {
                    <ActionForm action=replay>
                        <input type="hidden" name="project_id" value=pid />
                        <input type="hidden" name="webhook_id" value=wid />
                        <input type="hidden" name="since" value=move || since.get().map(|s| s.to_string()).unwrap_or_default() />
                        <label for="replay-since">"Failed or dropped since"</label>
                        <input id="replay-since" type="datetime-local" required
                            on:input=move |ev| typed.set(event_target_value(&ev)) />
                        <p class="hint" role="status" aria-live="polite">
                            <Transition fallback=|| "Counting…">
                                {move || count.get().map(|r| match r {
                                    Ok(Some(n)) => format!("{n} deliveries will be sent again, each as a new delivery."),
                                    Ok(None) => "Choose a time to see how many.".to_string(),
                                    Err(e) => e.to_string(),
                                })}
                            </Transition>
                        </p>
                        <FormError result=replay.value() />
                        <div class="actions">
                            <button type="button" on:click=move |_| close()>"Cancel"</button>
                            <SubmitButton pending=replay.pending() label="Replay" pending_label="Replaying…" />
                        </div>
                    </ActionForm>
                }.into_any(),
            }}
        </Modal>
    }
}

/// `2026-11-23T09:30` in the viewer's time zone, as Unix ms (browser only).
fn local_to_ms(value: &str) -> Option<i64> {
    if value.is_empty() {
        return None;
    }
    #[cfg(feature = "hydrate")]
    {
        let t = js_sys::Date::new(&value.into()).get_time();
        (!t.is_nan()).then_some(t as i64)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}
