use crate::api::deliveries::{get_delivery, CancelDelivery, Redeliver};
use crate::components::copy::CopyButton;
use crate::components::delivery::{KeyLink, StatusBadge, LIVE_EVERY_MS};
use crate::components::form::{ErrorMessage, FormError};
use crate::components::project_nav::ProjectHeader;
use crate::components::time::LocalTime;
use crate::model::form_protocol::DONE_PARAM;
use crate::model::scope_base;
use crate::model::{AttemptInfo, DeliveryOrigin, DeliveryStatus};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

/// `/p/{id}/deliveries/{did}`: one delivery, its event and every attempt.
/// While it is still being tried the page is live (`enhance` reads it again).
/// Redeliver and Cancel are plain form posts.
#[component]
pub fn DeliveryPage() -> impl IntoView {
    let params = use_params_map();
    let pid = Signal::derive(move || params.read().get("pid").unwrap_or_default());
    let did = Signal::derive(move || params.read().get("did").unwrap_or_default());
    let read_only = !crate::components::access::may_change();
    let redeliver = ServerAction::<Redeliver>::new();
    let cancel = ServerAction::<CancelDelivery>::new();
    let delivery = Resource::new(
        move || (pid.get(), did.get()),
        |(pid, did)| get_delivery(pid, did),
    );
    // "Redelivery queued", with the new delivery, after a redeliver.
    let query = use_query_map();
    let redelivered = query
        .read_untracked()
        .get(DONE_PARAM)
        .and_then(|d| d.strip_prefix("redelivered.").map(str::to_string));
    view! {
        <section class="page">
            <ProjectHeader project_id=pid />
            <p><A href=move || format!("{}/deliveries", scope_base(&pid.get()))>"← Delivery log"</A></p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || delivery.get().map(|r| match r {
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                    Ok(d) => {
                        let s = d.delivery.clone();
                        let webhook_href = format!("{}/webhooks/{}", scope_base(&pid.get_untracked()), s.webhook_id);
                        let pid_for_key = pid.get_untracked();
                        let repeats = s.repeats.clone().map(|r| (format!("{}/deliveries/{r}", scope_base(&pid.get_untracked())), r));
                        let pending = s.status == DeliveryStatus::Pending;
                        let cancel_id = s.id.clone();
                        let redeliver_id = s.id.clone();
                        let origin = match s.origin {
                            DeliveryOrigin::Event => "Published event",
                            DeliveryOrigin::Redelivery => "Redelivery",
                            DeliveryOrigin::Replay => "Replay",
                        };
                        let redelivered = redelivered.clone();
                        view! {
                            // What a form just did stays while the part below is
                            // replaced by its fresh copy.
                            <FormError result=cancel.value() />
                            <FormError result=redeliver.value() />
                            {redelivered.map(|new| {
                                let href = format!("{}/deliveries/{new}", scope_base(&pid.get_untracked()));
                                view! {
                                    <p class="notice" role="status">
                                        "Redelivery queued: " <A href=href>{new}</A>
                                    </p>
                                }
                            })}
                            <div id="delivery" data-live=pending.then_some(LIVE_EVERY_MS)>
                            <div class="toolbar">
                                <h2>"Delivery " <code>{s.id.clone()}</code></h2>
                                {(!read_only).then(|| view! {
                                <div class="actions">
                                    {pending.then(|| view! {
                                        <ActionForm action=cancel attr:class="inline">
                                            <input type="hidden" name="project_id" value=pid />
                                            <input type="hidden" name="delivery_id" value=cancel_id />
                                            <button type="submit" class="danger">"Cancel"</button>
                                        </ActionForm>
                                    })}
                                    <ActionForm action=redeliver attr:class="inline">
                                        <input type="hidden" name="project_id" value=pid />
                                        <input type="hidden" name="delivery_id" value=redeliver_id />
                                        <button type="submit" class="primary">"Redeliver"</button>
                                    </ActionForm>
                                </div>
                                })}
                            </div>
                            <dl class="facts card">
                                <dt>"Status"</dt><dd><StatusBadge delivery=s.clone() /></dd>
                                <dt>"Event"</dt><dd><code>{s.event.clone()}</code> " " <span class="hint mono">{s.event_id.clone()}</span></dd>
                                <dt>"Webhook"</dt><dd><a href=webhook_href><code class="url">{s.webhook_url.clone()}</code></a></dd>
                                {(!s.ordering_key.is_empty()).then(|| view! {
                                    <dt>"Ordering key"</dt>
                                    <dd><KeyLink pid=pid_for_key.clone() key=s.ordering_key.clone() /></dd>
                                })}
                                <dt>"Created"</dt><dd><LocalTime ms=s.created_at /></dd>
                                <dt>"Origin"</dt><dd>{origin}{repeats.map(|(href, id)| view! { " of " <A href=href>{id}</A> })}</dd>
                                {s.last_error.clone().map(|e| view! { <dt>"Last error"</dt><dd>{e}</dd> })}
                            </dl>
                            <h3>"Event body"</h3>
                            <div class="code-block">
                                <CopyButton text=d.body.clone() label="Copy JSON" />
                                <pre class="mono" aria-label="Event body">{d.body.clone()}</pre>
                            </div>
                            <h3>{format!("Attempts ({})", d.attempts.len())}</h3>
                            {if d.attempts.is_empty() {
                                view! { <p class="hint">"No attempt yet."</p> }.into_any()
                            } else {
                                view! {
                                    <ol class="attempts">
                                        {d.attempts.into_iter().map(|a| view! { <Attempt attempt=a /> }).collect_view()}
                                    </ol>
                                }.into_any()
                            }}
                            </div>
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Attempt(attempt: AttemptInfo) -> impl IntoView {
    let result = match (&attempt.response_status, &attempt.error_kind) {
        (Some(s), _) => format!("HTTP {s}"),
        (None, Some(kind)) => format!("Error: {kind}"),
        (None, None) => "No answer".to_string(),
    };
    let ok = attempt
        .response_status
        .is_some_and(|s| (200..300).contains(&s));
    view! {
        <li class="attempt card" data-attempt=attempt.number>
            <div class="attempt-head">
                <strong>{format!("Attempt {}", attempt.number)}</strong>
                <span class=if ok { "badge ok" } else { "badge bad" }>{result}</span>
                <LocalTime ms=attempt.started_at />
                <span class="hint">{format!("{} ms", attempt.duration_ms)}</span>
            </div>
            {attempt.error_message.map(|m| view! { <p class="form-error">{m}</p> })}
            <details>
                <summary>"Request headers"</summary>
                <Headers headers=attempt.request_headers />
            </details>
            {(!attempt.response_headers.is_empty()).then(|| view! {
                <details>
                    <summary>"Response headers"</summary>
                    <Headers headers=attempt.response_headers />
                </details>
            })}
            {attempt.response_body.filter(|b| !b.is_empty()).map(|b| view! {
                <details>
                    <summary>"Response body (first 4 KiB)"</summary>
                    <pre class="mono">{b}</pre>
                </details>
            })}
        </li>
    }
}

#[component]
fn Headers(headers: Vec<(String, String)>) -> impl IntoView {
    view! {
        <table class="headers">
            <tbody>
                {headers.into_iter().map(|(k, v)| view! {
                    <tr><th class="mono">{k}</th><td class="mono">{v}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
