use crate::api::catalog::{list_event_types, DeleteEventType, SaveEventType};
use crate::components::form::{DoneNotice, ErrorMessage, FormError, SubmitButton};
use crate::components::modal::{Dialog, DialogButtons};
use crate::components::project_nav::ProjectHeader;
use crate::model::EventType;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// `/p/{id}/catalog`: the event types the platform publishes, each with a
/// description, an optional JSON Schema (publishing checks it) and an
/// example (test sends use it). Saving and deleting are plain form posts.
#[component]
pub fn CatalogPage() -> impl IntoView {
    let params = use_params_map();
    let pid = Signal::stored(params.read_untracked().get("pid").unwrap_or_default());
    let types = Resource::new(move || pid.get(), list_event_types);
    let can = crate::components::access::may_change();
    let add = ServerAction::<SaveEventType>::new();
    view! {
        <section class="page">
            <ProjectHeader project_id=pid />
            <div class="toolbar">
                <h2>"Event catalog"</h2>
            </div>
            <p class="hint">
                "The events your platform publishes. A type with a JSON Schema is checked when it is "
                "published: an event that does not match is refused, naming the field. Webhook forms "
                "offer these names, and a test send uses the type's example."
            </p>
            <DoneNotice what="type-saved">"Saved."</DoneNotice>
            <DoneNotice what="type-deleted">"Deleted."</DoneNotice>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || types.get().map(|r| match r {
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <div class="card empty"><p>"No event types yet."</p></div>
                    }.into_any(),
                    Ok(list) => list.into_iter().enumerate().map(|(i, t)| view! {
                        <TypeCard pid=pid.get_untracked() index=i t can />
                    }).collect_view().into_any(),
                })}
            </Transition>
            {can.then(|| view! {
                <div class="card narrow" id="new-type">
                    <h2>"Add an event type"</h2>
                    <ActionForm action=add>
                        <TypeFields pid=pid.get_untracked() t=None prefix="new" />
                        <FormError result=add.value() />
                        <SubmitButton pending=add.pending() label="Add event type" pending_label="Saving…" />
                    </ActionForm>
                </div>
            })}
        </section>
    }
}

/// One type, with Edit and Delete (each asks in a dialog first).
#[component]
fn TypeCard(pid: String, index: usize, t: EventType, can: bool) -> impl IntoView {
    let save = ServerAction::<SaveEventType>::new();
    let delete = ServerAction::<DeleteEventType>::new();
    let (edit_id, delete_id) = (format!("edit-type-{index}"), format!("delete-type-{index}"));
    let name = t.name.clone();
    let dialogs = can.then(|| {
        let (pid, pid2, t, name) = (pid.clone(), pid.clone(), t.clone(), name.clone());
        let name2 = name.clone();
        let (edit_id, delete_id) = (edit_id.clone(), delete_id.clone());
        view! {
            <Dialog id=edit_id.clone() title=format!("Edit {name}")>
                <ActionForm action=save>
                    <TypeFields pid=pid t=Some(t) prefix=edit_id.clone() />
                    <DialogButtons dialog=edit_id.clone() submit="Save" />
                </ActionForm>
            </Dialog>
            <Dialog id=delete_id.clone() title=format!("Delete {name}?")>
                <p>"Its events are no longer checked; webhooks keep their filters."</p>
                <ActionForm action=delete>
                    <input type="hidden" name="project_id" value=pid2 />
                    <input type="hidden" name="name" value=name2 />
                    <DialogButtons dialog=delete_id.clone() submit="Delete" class="danger" />
                </ActionForm>
            </Dialog>
        }
    });
    let schema_label = format!("Schema of {name}");
    let example_label = format!("Example of {name}");
    view! {
        <div class="card event-type" data-type=name.clone()>
            <div class="toolbar">
                <h3><code>{name.clone()}</code></h3>
                {can.then(|| view! {
                    <div class="actions">
                        <button type="button" commandfor=edit_id.clone() command="show-modal">"Edit"</button>
                        <button type="button" class="danger" commandfor=delete_id.clone() command="show-modal">"Delete"</button>
                    </div>
                })}
            </div>
            {(!t.description.is_empty()).then(|| view! { <p>{t.description.clone()}</p> })}
            {match t.schema.clone() {
                Some(s) => view! {
                    <details>
                        <summary>"Schema"</summary>
                        <pre class="mono" aria-label=schema_label>{s}</pre>
                    </details>
                }.into_any(),
                None => view! { <p class="hint">"No schema: its events are not checked."</p> }.into_any(),
            }}
            {t.example.clone().map(|e| view! {
                <details>
                    <summary>"Example"</summary>
                    <pre class="mono" aria-label=example_label>{e}</pre>
                </details>
            })}
            <FormError result=save.value() />
            <FormError result=delete.value() />
            {dialogs}
        </div>
    }
}

/// The fields of a type's form (the name fixed when editing).
#[component]
fn TypeFields(pid: String, t: Option<EventType>, #[prop(into)] prefix: String) -> impl IntoView {
    let editing = t.is_some();
    let t = t.unwrap_or(EventType {
        name: String::new(),
        description: String::new(),
        schema: None,
        example: None,
        created_at: 0,
        updated_at: 0,
    });
    let id = |f: &str| format!("{prefix}-{f}");
    view! {
        <input type="hidden" name="project_id" value=pid />
        <label for=id("name")>"Name"</label>
        <input id=id("name") name="name" type="text" required maxlength="100" placeholder="e.g. order.created"
            value=t.name readonly=editing pattern="[A-Za-z0-9._:\\-]+" />
        <label for=id("description")>"Description"</label>
        <textarea id=id("description") name="description" maxlength="1000" rows="2">{t.description}</textarea>
        <label for=id("schema")>"JSON Schema (optional)"</label>
        <textarea id=id("schema") name="schema" class="mono" rows="8" spellcheck="false"
            placeholder="{\"type\": \"object\", \"required\": [\"orderId\"]}">{t.schema.unwrap_or_default()}</textarea>
        <label for=id("example")>"Example event (optional)"</label>
        <textarea id=id("example") name="example" class="mono" rows="6" spellcheck="false"
            placeholder="{\"orderId\": \"ord_42\"}">{t.example.unwrap_or_default()}</textarea>
    }
}
