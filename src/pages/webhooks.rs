use crate::api::catalog::list_event_types;
use crate::api::deliveries::webhooks_health;
use crate::api::webhooks::{
    list_webhooks, CreateWebhook, DeleteWebhook, EditWebhook, FinishRotation, RotateWebhookSecret,
    SendTestEvent, SetWebhookEnabled,
};
use crate::components::form::{ErrorMessage, FormError};
use crate::components::modal::{Dialog, DialogButtons};
use crate::components::project_nav::ProjectHeader;
use crate::components::shown_once::ShownOnceDialog;
use crate::components::time::LocalTime;
use crate::model::scope_base;
use crate::model::{DeliveryStatus, Ordering, Scheme, TestResult, Webhook, WebhookHealth};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_params_map;

/// `/p/{id}/webhooks`: the Webhook tab, drawn by the server. The one island
/// is each row's "Send test event" (it shows the attempt in the row); every
/// other action is a form post (sent by `enhance`, or plainly without it),
/// and a new secret comes back shown once.
#[component]
pub fn WebhooksPage() -> impl IntoView {
    let params = use_params_map();
    let pid = params.read_untracked().get("pid").unwrap_or_default();
    let read_only = !crate::components::access::may_change();
    // Read for their errors, which a plain form post brings back in the URL.
    let toggle = ServerAction::<SetWebhookEnabled>::new();
    let edit = ServerAction::<EditWebhook>::new();
    let delete = ServerAction::<DeleteWebhook>::new();
    let finish = ServerAction::<FinishRotation>::new();
    let create = ServerAction::<CreateWebhook>::new();
    let rotate = ServerAction::<RotateWebhookSecret>::new();
    let webhooks = Resource::new(
        {
            let pid = pid.clone();
            move || pid.clone()
        },
        list_webhooks,
    );
    // The last delivery and 24 h success rate of each webhook.
    let health = Resource::new(
        {
            let pid = pid.clone();
            move || pid.clone()
        },
        webhooks_health,
    );

    view! {
        <section class="page">
            <ProjectHeader project_id=pid.clone() />
            <div class="toolbar">
                <h2>"Webhooks"</h2>
                {(!read_only).then(|| view! { <AddWebhook pid=pid.clone() /> })}
            </div>
            <FormError result=toggle.value() />
            <FormError result=edit.value() />
            <FormError result=delete.value() />
            <FormError result=finish.value() />
            <FormError result=create.value() />
            <FormError result=rotate.value() />
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || webhooks.get().map(|r| match r {
                    Ok(list) if list.is_empty() => view! {
                        <div class="card empty">
                            <h3>"No webhooks yet"</h3>
                            <p>
                                "A webhook is a URL of yours that Signpost calls, with a signed POST, "
                                "each time this project publishes an event. Add one to start receiving events."
                            </p>
                            {(!read_only).then(|| view! {
                                <button type="button" class="primary" commandfor="add-webhook" command="show-modal">"Add webhook"</button>
                            })}
                        </div>
                    }.into_any(),
                    Ok(list) => {
                        let all = health.get().and_then(Result::ok).unwrap_or_default();
                        view! {
                        <table class="list stack webhooks">
                            <thead>
                                <tr>
                                    <th>"URL"</th><th>"Events"</th><th>"Status"</th><th>"Scheme"</th>
                                    <th>"Last delivery"</th><th>"Success (24 h)"</th><th><span class="sr-only">"Actions"</span></th>
                                </tr>
                            </thead>
                            <tbody>
                                {list.into_iter().map(|w| {
                                    let health = all.iter().find(|h| h.webhook_id == w.id).cloned();
                                    view! { <WebhookRow webhook=w pid=pid.clone() health read_only /> }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                    }
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                })}
            </Transition>
            <ShownOnceDialog />
        </section>
    }
}

#[component]
fn WebhookRow(
    webhook: Webhook,
    pid: String,
    health: Option<WebhookHealth>,
    read_only: bool,
) -> impl IntoView {
    let page = format!("{}/webhooks/{}", scope_base(&pid), webhook.id);
    let row_id = webhook.id.clone();
    let rotating = webhook.previous_secret_expires_at.map(|until| {
        view! {
            <div class="hint rotating">
                "Rotating: the old secret works until " <LocalTime ms=until />
                {(!read_only).then(|| view! {
                    <form method="post" action=FinishRotation::url() class="inline">
                        <input type="hidden" name="project_id" value=pid.clone() />
                        <input type="hidden" name="webhook_id" value=webhook.id.clone() />
                        <button type="submit" class="link">"Finish rotation"</button>
                    </form>
                })}
            </div>
        }
    });
    let status = state_badge(&webhook);
    let unordered = webhook.ordering == Ordering::Unordered;
    let last = health.as_ref().and_then(|h| Some((h.last_status?, h.last_http, h.last_at?))).map(|(status, http, at)| {
        let class = match status {
            DeliveryStatus::Succeeded => "badge ok",
            DeliveryStatus::Pending => "badge warn",
            _ => "badge bad",
        };
        let text = match status {
            DeliveryStatus::Pending => "Pending".to_string(),
            s => match http {
                Some(code) => format!("{} · {code}", s.label()),
                None => s.label().to_string(),
            },
        };
        view! { <span class=class>{text}</span> <div class="hint small"><LocalTime ms=at /></div> }
    });
    let rate = health
        .and_then(|h| h.success_rate)
        .map(|r| format!("{:.1}%", r * 100.0));
    view! {
        <tr data-webhook-id=row_id>
            <td class="url" data-label="URL">
                <a href=page><code class="url">{webhook.url.clone()}</code></a>
                {(!webhook.description.is_empty()).then(|| view! { <div class="hint">{webhook.description.clone()}</div> })}
            </td>
            <td class="events" data-label="Events">{webhook.events.join(", ")}</td>
            <td data-label="Status">{status}{rotating}</td>
            <td class="mono small" data-label="Scheme">
                {webhook.scheme.as_str()}
                {unordered.then(|| view! { <div class="hint">"unordered"</div> })}
            </td>
            <td class="last-delivery" data-label="Last delivery" id=format!("last-{}", webhook.id)>{last}</td>
            <td class="success-rate" data-label="Success (24 h)" id=format!("rate-{}", webhook.id)>{rate}</td>
            // The row's main action stays in sight; the rest wait in a menu,
            // so the URL, status and last result get the room.
            <td class="row-actions">
                {(!read_only).then(|| view! {
                    <SendTest pid=pid.clone() webhook_id=webhook.id.clone() />
                    <RowMenu pid webhook />
                })}
            </td>
        </tr>
    }
}

/// Enabled, Disabled, or Disabled automatically with the reason.
pub(crate) fn state_badge(webhook: &Webhook) -> AnyView {
    match (&webhook.enabled, &webhook.disabled_reason) {
        (true, _) => view! { <span class="badge ok state">"Enabled"</span> }.into_any(),
        (false, Some(reason)) => view! {
            <span class="badge warn state" title=reason.clone()>"Disabled automatically"</span>
            <div class="hint">{reason.clone()}</div>
        }
        .into_any(),
        (false, None) => view! { <span class="badge off state">"Disabled"</span> }.into_any(),
    }
}

/// "Send test event" for one webhook, and the outcome of its first attempt.
#[island]
pub(crate) fn SendTest(pid: String, webhook_id: String) -> impl IntoView {
    let test = ServerAction::<SendTestEvent>::new();
    // The row's last delivery and success rate, drawn by the server, are
    // read again once the result is in.
    #[cfg(feature = "hydrate")]
    {
        let ids = vec![format!("last-{webhook_id}"), format!("rate-{webhook_id}")];
        Effect::new(move |_| {
            if test.value().with(|v| v.is_some()) {
                crate::components::enhance::refresh_regions(ids.clone());
            }
        });
    }
    view! {
        <ActionForm action=test attr:class="inline">
            <input type="hidden" name="project_id" value=pid />
            <input type="hidden" name="webhook_id" value=webhook_id />
            <button type="submit" disabled=move || test.pending().get()>
                {move || if test.pending().get() { "Sending…" } else { "Send test event" }}
            </button>
        </ActionForm>
        <div class="test-result" role="status">
            {move || test.value().get().map(|r| match r {
                Ok(result) => test_result_view(&result),
                Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
            })}
        </div>
    }
}

fn test_result_view(r: &TestResult) -> AnyView {
    let took = format!(" in {} ms", r.duration_ms);
    match (r.succeeded, r.status, &r.error) {
        (true, Some(status), _) => view! {
            <span class="badge ok">"Delivered"</span> " HTTP " {status} {took}
        }
        .into_any(),
        (_, Some(status), _) => view! {
            <span class="badge warn">"Failed"</span> " HTTP " {status} {took}
        }
        .into_any(),
        (_, None, error) => view! {
            <span class="badge warn">"Failed"</span> " " {error.clone().unwrap_or_default()}
        }
        .into_any(),
    }
}

/// The catalog's event names, offered to the Events field (free text is
/// still taken): in words under it, and as its suggestions.
#[component]
fn CatalogNames(pid: String) -> impl IntoView {
    let types = Resource::new(move || pid.clone(), list_event_types);
    view! {
        <Transition fallback=|| ()>
            {move || types.get().and_then(Result::ok).filter(|t| !t.is_empty()).map(|list| {
                let names: Vec<String> = list.into_iter().map(|t| t.name).collect();
                view! {
                    <p class="hint catalog-names">"From the catalog: "
                        {names.iter().enumerate().map(|(i, n)| view! {
                            {(i > 0).then_some(", ")}<code>{n.clone()}</code>
                        }).collect_view()}
                    </p>
                    <datalist id="event-types">
                        {names.into_iter().map(|n| view! { <option value=n></option> }).collect_view()}
                    </datalist>
                }
            })}
        </Transition>
    }
}

/// "Add webhook" and its dialog (sent with the page). A refusal shows in the
/// form; once added, the page comes back with the webhook in the list and
/// its signing secret in a dialog, shown once.
#[component]
fn AddWebhook(pid: String) -> impl IntoView {
    let names = view! { <CatalogNames pid=pid.clone() /> };
    view! {
        <button type="button" class="primary" commandfor="add-webhook" command="show-modal">"Add webhook"</button>
        <Dialog id="add-webhook" title="Add webhook">
            <form method="post" action=CreateWebhook::url()>
                <input type="hidden" name="project_id" value=pid />
                <label for="wh-url">"URL"</label>
                <input id="wh-url" name="url" type="text" inputmode="url" required placeholder="https://example.com/webhooks" />
                <SettingsFields id="wh".to_string() current=None />
                {names}
                <label for="wh-scheme">"Signature scheme"</label>
                <select id="wh-scheme" name="scheme">
                    <option value="spectrum-v0" selected>"spectrum-v0 (Spectrum compatible)"</option>
                    <option value="standard-webhooks">"standard-webhooks"</option>
                </select>
                <OrderingField id="wh-ordering".to_string() current=Ordering::Ordered />
                <DialogButtons dialog="add-webhook" submit="Add webhook" />
            </form>
        </Dialog>
    }
}

/// The settings inputs that the add and edit dialogs share (their names
/// are [`WebhookForm`](crate::model::WebhookForm)'s fields), holding
/// `current`'s values when editing.
#[component]
fn SettingsFields(id: String, current: Option<Webhook>) -> impl IntoView {
    let w = current.unwrap_or_else(Webhook::with_defaults);
    let field = |name: &str| format!("{id}-{name}");
    let (description, events, hint) = (field("description"), field("events"), field("events-hint"));
    view! {
        <label for=description.clone()>"Description"</label>
        <input id=description name="description" type="text" maxlength="500" value=w.description />
        <label for=events.clone()>"Events"</label>
        <input id=events name="events" type="text" value=w.events.join(", ") aria-describedby=hint.clone() list="event-types" />
        <p class="hint" id=hint>"* for every event, or names separated by commas (for example: messages, user.created)."</p>
    }
}

/// The delivery-order choice of the add and edit dialogs.
#[component]
fn OrderingField(id: String, current: Ordering) -> impl IntoView {
    view! {
        <label for=id.clone()>"Delivery order"</label>
        <select id=id name="ordering">
            <option value="ordered" selected=current == Ordering::Ordered>
                "In order: one at a time; a retry holds back later events"
            </option>
            <option value="unordered" selected=current == Ordering::Unordered>
                "Unordered: several at once, faster"
            </option>
        </select>
    }
}

/// A row's "More" menu and its dialogs, all sent with the page (`enhance`
/// opens the dialogs, and folds the menu when an item is chosen or on
/// Escape). Every item is a form post; the page comes back changed.
#[component]
fn RowMenu(pid: String, webhook: Webhook) -> impl IntoView {
    let wid = webhook.id.clone();
    let (edit, rotate, delete) = (
        format!("edit-{wid}"),
        format!("rotate-{wid}"),
        format!("delete-{wid}"),
    );
    view! {
        <details class="menu" name="webhook-actions">
            <summary>"More"</summary>
            <div class="menu-items" role="group" aria-label="More actions">
                <form method="post" action=SetWebhookEnabled::url()>
                    <input type="hidden" name="project_id" value=pid.clone() />
                    <input type="hidden" name="webhook_id" value=wid.clone() />
                    <input type="hidden" name="enabled" value=(!webhook.enabled).to_string() />
                    <button type="submit">{if webhook.enabled { "Disable" } else { "Enable" }}</button>
                </form>
                <button type="button" commandfor=edit.clone() command="show-modal">"Edit"</button>
                <button type="button" commandfor=rotate.clone() command="show-modal">"Rotate secret"</button>
                <button type="button" class="danger" commandfor=delete.clone() command="show-modal">"Delete"</button>
            </div>
        </details>
        <EditDialog id=edit webhook=webhook.clone() pid=pid.clone() />
        <RotateDialog id=rotate webhook=webhook.clone() pid=pid.clone() />
        <DeleteDialog id=delete webhook pid />
    }
}

#[component]
fn EditDialog(id: String, webhook: Webhook, pid: String) -> impl IntoView {
    let ordering = format!("{id}-ordering");
    view! {
        <Dialog id=id.clone() title="Edit webhook">
            <p><code>{webhook.url.clone()}</code></p>
            <form method="post" action=EditWebhook::url()>
                <input type="hidden" name="project_id" value=pid />
                <input type="hidden" name="webhook_id" value=webhook.id.clone() />
                <SettingsFields id=id.clone() current=Some(webhook.clone()) />
                <OrderingField id=ordering current=webhook.ordering />
                <DialogButtons dialog=id.clone() submit="Save" />
            </form>
        </Dialog>
    }
}

/// A new signing secret, with a grace period for the old one; the page comes
/// back with the new secret, shown once.
#[component]
fn RotateDialog(id: String, webhook: Webhook, pid: String) -> impl IntoView {
    let during_grace = match webhook.scheme {
        Scheme::SpectrumV0 => {
            "During the grace period Signpost keeps signing with the old secret \
            (a spectrum-v0 header holds one signature): update your receiver to accept either \
            secret, then the new one takes over when the period ends."
        }
        Scheme::StandardWebhooks => {
            "During the grace period every delivery carries two \
            signatures, one per secret, so receivers with either secret accept it."
        }
    };
    let grace = format!("{id}-grace");
    view! {
        <Dialog id=id.clone() title="Rotate signing secret">
            <p>"A new secret for " <code>{webhook.url.clone()}</code> "."</p>
            <form method="post" action=RotateWebhookSecret::url()>
                <input type="hidden" name="project_id" value=pid />
                <input type="hidden" name="webhook_id" value=webhook.id.clone() />
                <label for=grace.clone()>"Grace period"</label>
                <select id=grace name="grace_seconds">
                    <option value="0">"None: the old secret stops now"</option>
                    <option value="3600">"1 hour"</option>
                    <option value="86400" selected>"24 hours"</option>
                    <option value="604800">"7 days"</option>
                </select>
                <p class="hint">{during_grace}</p>
                <DialogButtons dialog=id.clone() submit="Rotate secret" />
            </form>
        </Dialog>
    }
}

/// Asks before deleting; the page comes back without the webhook.
#[component]
fn DeleteDialog(id: String, webhook: Webhook, pid: String) -> impl IntoView {
    view! {
        <Dialog id=id.clone() title="Delete webhook?">
            <p>"Deliveries to " <code>{webhook.url.clone()}</code> " stop. This cannot be undone."</p>
            <form method="post" action=DeleteWebhook::url()>
                <input type="hidden" name="project_id" value=pid />
                <input type="hidden" name="webhook_id" value=webhook.id.clone() />
                <DialogButtons dialog=id.clone() submit="Delete webhook" class="danger" />
            </form>
        </Dialog>
    }
}
