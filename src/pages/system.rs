use crate::api::system::get_system;
use crate::components::delivery::LIVE_EVERY_MS;
use crate::components::form::ErrorMessage;
use crate::components::time::LocalTime;
use crate::model::{bytes_text, wait_text, SystemView};
use leptos::prelude::*;
use leptos_router::components::A;

/// `/system` (admins): the delivery workers, one per process, with their
/// lease and what they hold; the queue per project; the writer's last
/// commits; the version. Live while open, like the delivery log.
#[component]
pub fn SystemPage() -> impl IntoView {
    let view = Resource::new(|| (), |_| get_system());
    view! {
        <section class="page">
            <div class="toolbar">
                <h1>"System"</h1>
                <span class="live hint" title="The figures refresh by themselves">"● Live"</span>
            </div>
            // Live: `enhance` reads the page again and replaces this part.
            <div id="system" data-live=LIVE_EVERY_MS>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || view.get().map(|r| match r {
                    Ok(v) => view! { <SystemBody v /> }.into_any(),
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                })}
            </Transition>
            </div>
        </section>
    }
}

#[component]
fn SystemBody(v: SystemView) -> impl IntoView {
    let now = v.now;
    let workers = v.workers.len();
    let pending: i64 = v.queue.iter().map(|q| q.due + q.retrying).sum();
    view! {
        <p class="hint">
            {format!("Signpost {} · ", v.version)}
            {format!("{workers} {} · ", if workers == 1 { "worker" } else { "workers" })}
            {format!("{pending} pending {}", if pending == 1 { "delivery" } else { "deliveries" })}
        </p>
        <Part title="Workers" shown=!v.workers.is_empty()
            empty="No worker holds a live lease: nothing is being delivered.">
                    <table class="list system" aria-label="Workers">
                        <thead><tr>
                            <th>"Worker"</th><th>"Started"</th><th>"Lease"</th><th>"In flight"</th>
                            <th>"Held"</th><th>"Webhooks"</th>
                        </tr></thead>
                        <tbody>
                            {v.workers.into_iter().map(|w| {
                                let lease_left = (w.lease_until - now).max(0);
                                let held = of(w.held_deliveries.to_string(), w.max_held_deliveries.map(|m| m.to_string()));
                                let bytes = of(bytes_text(w.held_bytes), w.max_held_bytes.map(bytes_text));
                                let version = if w.version.is_empty() {
                                    "version not noted yet".to_string()
                                } else {
                                    format!("version {}", w.version)
                                };
                                view! {
                                    <tr>
                                        <td>
                                            <code>{w.id}</code>
                                            {w.this_process.then(|| view! { <span class="badge">"this process"</span> })}
                                            <div class="hint">{version}</div>
                                        </td>
                                        <td><LocalTime ms=w.started_at /></td>
                                        <td>{format!("{} left", wait_text(lease_left))}</td>
                                        <td>{format!("{} of {}", w.in_flight, w.max_in_flight)}</td>
                                        <td>{format!("{held} deliveries")}<div class="hint">{bytes}</div></td>
                                        <td>{w.lanes}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
        </Part>
        <Part title="Queue" shown=!v.queue.is_empty()
            empty="Nothing is pending: every delivery has ended.">
                    <table class="list system" aria-label="Queue">
                        <thead><tr>
                            <th>"Project"</th><th>"Due now"</th><th>"Waiting for a retry"</th><th>"Oldest due waited"</th>
                        </tr></thead>
                        <tbody>
                            {v.queue.into_iter().map(|q| view! {
                                <tr>
                                    <td><A href=format!("/p/{}/deliveries?status=pending", q.project_id)>{q.project}</A></td>
                                    <td>{q.due}</td>
                                    <td>{q.retrying}</td>
                                    <td>{q.oldest_due_ms.map(wait_text).unwrap_or_else(|| "—".into())}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
        </Part>
        <Part title="Recent writes" shown=!v.commits.is_empty()
            empty="This process has written nothing since it started."
            hint="The last commits of this process's writer (each stores publish calls and attempts together).">
                    <table class="list system" aria-label="Recent writes">
                        <thead><tr><th>"When"</th><th>"Took"</th><th>"Items"</th></tr></thead>
                        <tbody>
                            {v.commits.into_iter().map(|c| view! {
                                <tr>
                                    <td>{format!("{} ago", wait_text(now - c.at))}</td>
                                    <td>{format!("{:.1} ms", c.micros as f64 / 1000.0)}</td>
                                    <td>{c.items}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
        </Part>
    }
}

/// `12 of 50000`, or `12` when the ceiling is another process's.
fn of(value: String, max: Option<String>) -> String {
    match max {
        Some(max) => format!("{value} of {max}"),
        None => value,
    }
}

/// A part of the page: its heading, then its table (scrolling inside its
/// own box on a narrow screen) or, when there is nothing to show, why.
#[component]
fn Part(
    title: &'static str,
    shown: bool,
    empty: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    view! {
        <h2>{title}</h2>
        {if shown {
            view! {
                {hint.map(|h| view! { <p class="hint">{h}</p> })}
                <div class="scroll">{children()}</div>
            }.into_any()
        } else {
            view! { <div class="card empty"><p>{empty}</p></div> }.into_any()
        }}
    }
}
