use crate::api::deliveries::webhooks_health;
use crate::api::webhooks::{
    list_webhooks, CreateWebhook, DeleteWebhook, EditWebhook, FinishRotation, RotateWebhookSecret,
    SendTestEvent, SetWebhookEnabled,
};
use crate::components::form::{ErrorMessage, FormError, SubmitButton};
use crate::components::modal::Modal;
use crate::components::project_nav::ProjectHeader;
use crate::components::secret::{SavedButton, SecretField};
use crate::components::time::LocalTime;
use crate::model::{DeliveryStatus, Ordering, Scheme, TestResult, Webhook, WebhookHealth};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// Which row dialog is open.
#[derive(Clone, PartialEq)]
enum RowDialog {
    Edit(Webhook),
    Rotate(Webhook),
    Delete(Webhook),
}

/// `/p/{id}/webhooks`: the Webhook tab.
#[component]
pub fn WebhooksPage() -> impl IntoView {
    let params = use_params_map();
    let pid = Signal::derive(move || params.read().get("pid").unwrap_or_default());
    let create = ServerAction::<CreateWebhook>::new();
    let toggle = ServerAction::<SetWebhookEnabled>::new();
    let edit = ServerAction::<EditWebhook>::new();
    let rotate = ServerAction::<RotateWebhookSecret>::new();
    let delete = ServerAction::<DeleteWebhook>::new();
    let finish = ServerAction::<FinishRotation>::new();
    let webhooks = Resource::new(
        move || {
            (
                pid.get(),
                create.version().get(),
                toggle.version().get(),
                edit.version().get(),
                rotate.version().get(),
                delete.version().get(),
                finish.version().get(),
            )
        },
        |(pid, ..)| list_webhooks(pid),
    );
    // The last delivery and 24 h success rate of each webhook.
    let health = Resource::new(
        move || (pid.get(), finish.version().get(), toggle.version().get()),
        |(pid, ..)| webhooks_health(pid),
    );
    let adding = RwSignal::new(false);
    let dialog = RwSignal::new(None::<RowDialog>);
    // Edit and delete close their dialog when they succeed.
    Effect::new(move |_| {
        if matches!(edit.value().get(), Some(Ok(_))) || matches!(delete.value().get(), Some(Ok(_)))
        {
            dialog.set(None);
            edit.value().set(None);
            delete.value().set(None);
        }
    });

    view! {
        <section class="page">
            <ProjectHeader project_id=pid />
            <div class="toolbar">
                <h2>"Webhooks"</h2>
                <button type="button" class="primary" on:click=move |_| adding.set(true)>"Add webhook"</button>
            </div>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || webhooks.get().map(|r| match r {
                    Ok(list) if list.is_empty() => view! {
                        <div class="card empty">
                            <h3>"No webhooks yet"</h3>
                            <p>
                                "A webhook is a URL of yours that Signpost calls, with a signed POST, "
                                "each time this project publishes an event. Add one to start receiving events."
                            </p>
                            <button type="button" class="primary" on:click=move |_| adding.set(true)>"Add webhook"</button>
                        </div>
                    }.into_any(),
                    Ok(list) => view! {
                        <table class="list stack webhooks">
                            <thead>
                                <tr>
                                    <th>"URL"</th><th>"Events"</th><th>"Status"</th><th>"Scheme"</th>
                                    <th>"Last delivery"</th><th>"Success (24 h)"</th><th><span class="sr-only">"Actions"</span></th>
                                </tr>
                            </thead>
                            <tbody>
                                {list.into_iter().map(|w| {
                                    let id = w.id.clone();
                                    let health = Signal::derive(move || health.get().and_then(Result::ok).and_then(|all| all.into_iter().find(|h| h.webhook_id == id)));
                                    view! { <WebhookRow webhook=w pid toggle finish dialog health /> }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                })}
            </Transition>
            <Show when=move || adding.get()>
                <AddWebhookDialog pid create on_close=move || {
                    adding.set(false);
                    create.value().set(None);
                } />
            </Show>
            {move || dialog.get().map(|d| match d {
                RowDialog::Edit(w) => view! { <EditDialog webhook=w pid edit dialog /> }.into_any(),
                RowDialog::Rotate(w) => view! { <RotateDialog webhook=w pid rotate dialog /> }.into_any(),
                RowDialog::Delete(w) => view! { <DeleteDialog webhook=w pid delete dialog /> }.into_any(),
            })}
        </section>
    }
}

#[component]
fn WebhookRow(
    webhook: Webhook,
    pid: Signal<String>,
    toggle: ServerAction<SetWebhookEnabled>,
    finish: ServerAction<FinishRotation>,
    dialog: RwSignal<Option<RowDialog>>,
    health: Signal<Option<WebhookHealth>>,
) -> impl IntoView {
    let test = ServerAction::<SendTestEvent>::new();
    let page = format!("/p/{}/webhooks/{}", pid.get_untracked(), webhook.id);
    let rotating = webhook.previous_secret_expires_at.map(|until| {
        let id = webhook.id.clone();
        view! {
            <div class="hint rotating">
                "Rotating: the old secret works until " <LocalTime ms=until />
                <ActionForm action=finish attr:class="inline">
                    <input type="hidden" name="project_id" value=pid />
                    <input type="hidden" name="webhook_id" value=id />
                    <button type="submit" class="link" disabled=move || finish.pending().get()>"Finish rotation"</button>
                </ActionForm>
            </div>
        }
    });
    let status = state_badge(&webhook);
    let w = webhook.clone();
    let (w_edit, w_rotate, w_delete) = (w.clone(), w.clone(), w.clone());
    let row_id = webhook.id.clone();
    let (toggle_id, test_id) = (webhook.id.clone(), webhook.id.clone());
    let unordered = webhook.ordering == Ordering::Unordered;
    // Choosing an item folds the menu behind its dialog; so does Escape.
    let menu = NodeRef::<leptos::html::Details>::new();
    let fold = move || {
        if let Some(menu) = menu.get_untracked() {
            let _ = menu.remove_attribute("open");
        }
    };
    let open = move |d: RowDialog| {
        fold();
        dialog.set(Some(d));
    };
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
            <td class="last-delivery" data-label="Last delivery">
                {move || health.get().and_then(|h| Some((h.last_status?, h.last_http, h.last_at?))).map(|(status, http, at)| {
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
                })}
            </td>
            <td class="success-rate" data-label="Success (24 h)">
                {move || health.get().and_then(|h| h.success_rate).map(|r| format!("{:.1}%", r * 100.0))}
            </td>
            // The row's main action stays in sight; the rest wait in a menu,
            // so the URL, status and last result get the room.
            <td class="row-actions">
                <SendTestButton pid webhook_id=test_id test />
                <details class="menu" name="webhook-actions" node_ref=menu
                    on:keydown=move |ev| if ev.key() == "Escape" { fold() }>
                    <summary>"More"</summary>
                    <div class="menu-items" role="group" aria-label="More actions">
                        <ActionForm action=toggle>
                            <input type="hidden" name="project_id" value=pid />
                            <input type="hidden" name="webhook_id" value=toggle_id />
                            <input type="hidden" name="enabled" value=(!webhook.enabled).to_string() />
                            <button type="submit" disabled=move || toggle.pending().get()>
                                {if webhook.enabled { "Disable" } else { "Enable" }}
                            </button>
                        </ActionForm>
                        <button type="button" on:click=move |_| open(RowDialog::Edit(w_edit.clone()))>"Edit"</button>
                        <button type="button" on:click=move |_| open(RowDialog::Rotate(w_rotate.clone()))>"Rotate secret"</button>
                        <button type="button" class="danger" on:click=move |_| open(RowDialog::Delete(w_delete.clone()))>"Delete"</button>
                    </div>
                </details>
                <TestOutcome test />
            </td>
        </tr>
    }
}

/// The first attempt of a test event, in words.
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

/// "Send test event" for one webhook; the outcome shows in [`TestOutcome`].
#[component]
pub(crate) fn SendTestButton(
    pid: Signal<String>,
    webhook_id: String,
    test: ServerAction<SendTestEvent>,
) -> impl IntoView {
    view! {
        <ActionForm action=test attr:class="inline">
            <input type="hidden" name="project_id" value=pid />
            <input type="hidden" name="webhook_id" value=webhook_id />
            <button type="submit" disabled=move || test.pending().get()>
                {move || if test.pending().get() { "Sending…" } else { "Send test event" }}
            </button>
        </ActionForm>
    }
}

/// The first attempt of the last test event, or why it could not be sent.
#[component]
pub(crate) fn TestOutcome(test: ServerAction<SendTestEvent>) -> impl IntoView {
    view! {
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

/// How to check a signature, in one line per scheme.
fn verify_hint(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::SpectrumV0 => {
            "Verify each delivery: compute HMAC-SHA256 with this secret over \
            \"v0:{X-Spectrum-Timestamp}:{raw body}\" and compare \"v0=\" + its hex digest with \
            X-Spectrum-Signature, in constant time."
        }
        Scheme::StandardWebhooks => {
            "Verify each delivery with any Standard Webhooks library \
            (webhook-id, webhook-timestamp and webhook-signature headers) using this secret."
        }
    }
}

#[component]
fn AddWebhookDialog(
    pid: Signal<String>,
    create: ServerAction<CreateWebhook>,
    on_close: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let created = move || create.value().get().and_then(Result::ok);
    let close = on_close.clone();
    view! {
        {move || match created() {
            Some(c) => {
                let on_close = on_close.clone();
                view! {
                    <Modal title="Webhook added">
                        <p>"Signpost signs every delivery to " <code>{c.webhook.url.clone()}</code> " with this secret."</p>
                        <SecretField label="Signing secret" value=c.signing_secret.clone() />
                        <p class="hint">{verify_hint(c.webhook.scheme)}</p>
                        <SavedButton on_saved=move || on_close() />
                    </Modal>
                }.into_any()
            }
            None => {
                let close = close.clone();
                view! {
                    <Modal title="Add webhook">
                        <ActionForm action=create>
                            <input type="hidden" name="project_id" value=pid />
                            <label for="wh-url">"URL"</label>
                            <input id="wh-url" name="url" type="text" inputmode="url" required placeholder="https://example.com/webhooks" />
                            <FormError result=create.value() />
                            <label for="wh-description">"Description"</label>
                            <input id="wh-description" name="description" type="text" maxlength="500" />
                            <label for="wh-events">"Events"</label>
                            <input id="wh-events" name="events" type="text" value="*" aria-describedby="wh-events-hint" />
                            <p class="hint" id="wh-events-hint">"* for every event, or names separated by commas (for example: messages, user.created)."</p>
                            <label for="wh-scheme">"Signature scheme"</label>
                            <select id="wh-scheme" name="scheme">
                                <option value="spectrum-v0" selected>"spectrum-v0 (Spectrum compatible)"</option>
                                <option value="standard-webhooks">"standard-webhooks"</option>
                            </select>
                            <OrderingField id="wh-ordering" current=Ordering::Ordered />
                            <div class="actions">
                                <button type="button" on:click=move |_| close()>"Cancel"</button>
                                <SubmitButton pending=create.pending() label="Add webhook" pending_label="Adding…" />
                            </div>
                        </ActionForm>
                    </Modal>
                }.into_any()
            }
        }}
    }
}

/// The delivery-order choice of the add and edit dialogs.
#[component]
fn OrderingField(id: &'static str, current: Ordering) -> impl IntoView {
    view! {
        <label for=id>"Delivery order"</label>
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

#[component]
fn EditDialog(
    webhook: Webhook,
    pid: Signal<String>,
    edit: ServerAction<EditWebhook>,
    dialog: RwSignal<Option<RowDialog>>,
) -> impl IntoView {
    view! {
        <Modal title="Edit webhook">
            <p><code>{webhook.url.clone()}</code></p>
            <ActionForm action=edit>
                <input type="hidden" name="project_id" value=pid />
                <input type="hidden" name="webhook_id" value=webhook.id.clone() />
                <label for="edit-description">"Description"</label>
                <input id="edit-description" name="description" type="text" maxlength="500" value=webhook.description.clone() />
                <label for="edit-events">"Events"</label>
                <input id="edit-events" name="events" type="text" value=webhook.events.join(", ") />
                <p class="hint">"* for every event, or names separated by commas."</p>
                <OrderingField id="edit-ordering" current=webhook.ordering />
                <FormError result=edit.value() />
                <div class="actions">
                    <button type="button" on:click=move |_| { edit.value().set(None); dialog.set(None) }>"Cancel"</button>
                    <SubmitButton pending=edit.pending() label="Save" pending_label="Saving…" />
                </div>
            </ActionForm>
        </Modal>
    }
}

#[component]
fn RotateDialog(
    webhook: Webhook,
    pid: Signal<String>,
    rotate: ServerAction<RotateWebhookSecret>,
    dialog: RwSignal<Option<RowDialog>>,
) -> impl IntoView {
    let rotated = move || rotate.value().get().and_then(Result::ok);
    let close = move || {
        rotate.value().set(None);
        dialog.set(None);
    };
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
    let url = webhook.url.clone();
    let id = webhook.id.clone();
    view! {
        {move || match rotated() {
            Some(r) => view! {
                <Modal title="New signing secret">
                    <SecretField label="Signing secret" value=r.signing_secret.clone() />
                    {r.webhook.previous_secret_expires_at.map(|t| view! {
                        <p>"The old secret works until " <LocalTime ms=t /> "."</p>
                    })}
                    <SavedButton on_saved=close />
                </Modal>
            }.into_any(),
            None => {
                let (url, id) = (url.clone(), id.clone());
                view! {
                <Modal title="Rotate signing secret">
                    <p>"A new secret for " <code>{url.clone()}</code> "."</p>
                    <ActionForm action=rotate>
                        <input type="hidden" name="project_id" value=pid />
                        <input type="hidden" name="webhook_id" value=id.clone() />
                        <label for="grace">"Grace period"</label>
                        <select id="grace" name="grace_seconds">
                            <option value="0">"None: the old secret stops now"</option>
                            <option value="3600">"1 hour"</option>
                            <option value="86400" selected>"24 hours"</option>
                            <option value="604800">"7 days"</option>
                        </select>
                        <p class="hint">{during_grace}</p>
                        <FormError result=rotate.value() />
                        <div class="actions">
                            <button type="button" on:click=move |_| close()>"Cancel"</button>
                            <SubmitButton pending=rotate.pending() label="Rotate secret" pending_label="Rotating…" />
                        </div>
                    </ActionForm>
                </Modal>
            }.into_any()
            }
        }}
    }
}

#[component]
fn DeleteDialog(
    webhook: Webhook,
    pid: Signal<String>,
    delete: ServerAction<DeleteWebhook>,
    dialog: RwSignal<Option<RowDialog>>,
) -> impl IntoView {
    view! {
        <Modal title="Delete webhook?">
            <p>"Deliveries to " <code>{webhook.url.clone()}</code> " stop. This cannot be undone."</p>
            <ActionForm action=delete>
                <input type="hidden" name="project_id" value=pid />
                <input type="hidden" name="webhook_id" value=webhook.id.clone() />
                <FormError result=delete.value() />
                <div class="actions">
                    <button type="button" on:click=move |_| { delete.value().set(None); dialog.set(None) }>"Cancel"</button>
                    <button type="submit" class="danger" disabled=move || delete.pending().get()>"Delete webhook"</button>
                </div>
            </ActionForm>
        </Modal>
    }
}
