use crate::api::team::{list_team, team_activity, AddTeammate, NewSignInLink, RemoveUser, SetRole};
use crate::components::activity::ActivityList;
use crate::components::form::{ErrorMessage, FormError, SubmitButton};
use crate::components::modal::Modal;
use crate::components::secret::SecretField;
use crate::components::time::LocalTime;
use crate::model::{Role, SignInLink, TeamMember, SIGN_IN_LINK_HOURS};
use leptos::prelude::*;

/// `/team`: who can sign in, with which role. Admins add, change and remove
/// teammates; members see the list without any of those buttons.
#[component]
pub fn TeamPage() -> impl IntoView {
    let add = ServerAction::<AddTeammate>::new();
    let set_role = ServerAction::<SetRole>::new();
    let remove = ServerAction::<RemoveUser>::new();
    let new_link = ServerAction::<NewSignInLink>::new();
    let changes = move || {
        (
            add.version().get(),
            set_role.version().get(),
            remove.version().get(),
            new_link.version().get(),
        )
    };
    let members = Resource::new(changes, |_| list_team());
    // Shown to admins only (a member's call is refused, and not shown).
    let activity = Resource::new(changes, |_| team_activity());
    let adding = RwSignal::new(false);
    let removing = RwSignal::new(None::<TeamMember>);
    Effect::new(move |_| {
        if matches!(remove.value().get(), Some(Ok(_))) {
            removing.set(None);
        }
    });
    // The link of the newest add or "New sign-in link", until closed.
    let shown_link = RwSignal::new(None::<SignInLink>);
    Effect::new(move |_| {
        if let Some(Ok(link)) = add.value().get() {
            adding.set(false);
            shown_link.set(Some(link));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(link)) = new_link.value().get() {
            shown_link.set(Some(link));
        }
    });

    // Admins change the team; members get the same list, read-only.
    let can_manage = move || {
        members
            .get()
            .and_then(Result::ok)
            .is_some_and(|t| t.can_manage)
    };

    view! {
        <section class="page">
            <div class="toolbar">
                <h1>"Team"</h1>
                <Transition fallback=|| ()>
                    <Show when=can_manage>
                        <button type="button" class="primary" on:click=move |_| adding.set(true)>"Add teammate"</button>
                    </Show>
                </Transition>
            </div>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || members.get().map(|r| match r {
                    Ok(team) => {
                        let manage = team.can_manage;
                        view! {
                            {if manage {
                                view! {
                                    <p class="hint">
                                        "Everyone here can sign in to this Signpost. Admins also manage the team; "
                                        "members manage projects and webhooks."
                                    </p>
                                }.into_any()
                            } else {
                                view! {
                                    <p class="hint" role="note">
                                        "Everyone here can sign in to this Signpost. Only admins add, change or remove "
                                        "teammates: ask one of them."
                                    </p>
                                }.into_any()
                            }}
                            <FormError result=set_role.value() />
                            <FormError result=new_link.value() />
                            // A wide table scrolls inside its own box on a phone.
                            <div class="scroll">
                            <table class="list team">
                                <thead>
                                    <tr>
                                        <th>"Email"</th><th>"Role"</th><th>"Added"</th>
                                        // When others sign in is for admins to see.
                                        {manage.then(|| view! {
                                            <th>"Last sign-in"</th>
                                            <th><span class="sr-only">"Actions"</span></th>
                                        })}
                                    </tr>
                                </thead>
                                <tbody>
                                    {team.members.into_iter().map(|m| view! {
                                        <MemberRow member=m manage set_role new_link removing />
                                    }).collect_view()}
                                </tbody>
                            </table>
                            </div>
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                })}
            </Transition>
            <Transition fallback=|| ()>
                <Show when=can_manage>
                    <h2>"Recent changes"</h2>
                    {move || activity.get().map(|r| match r {
                        Ok(list) => view! { <ActivityList entries=list /> }.into_any(),
                        Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                    })}
                </Show>
            </Transition>
            <Show when=move || adding.get()>
                <Modal title="Add teammate">
                    <ActionForm action=add>
                        <label for="teammate-email">"Email"</label>
                        <input id="teammate-email" name="email" type="email" required autocomplete="off" />
                        <label for="teammate-role">"Role"</label>
                        <select id="teammate-role" name="role">
                            <option value="member" selected>"Member: projects and webhooks"</option>
                            <option value="admin">"Admin: also manages the team"</option>
                        </select>
                        <p class="hint">
                            "You get a one-time sign-in link to send them. With it they choose their own password."
                        </p>
                        <FormError result=add.value() />
                        <div class="actions">
                            <button type="button" on:click=move |_| { add.value().set(None); adding.set(false) }>"Cancel"</button>
                            <SubmitButton pending=add.pending() label="Add teammate" pending_label="Adding…" />
                        </div>
                    </ActionForm>
                </Modal>
            </Show>
            {move || shown_link.get().map(|link| view! {
                <Modal title="One-time sign-in link">
                    <p>"Send this link to " <strong>{link.email.clone()}</strong> ". With it they choose a password and sign in."</p>
                    <SecretField label="Sign-in link" value=link.url.clone() />
                    <p class="hint">
                        "It works once, until " <LocalTime ms=link.expires_at /> " ("
                        {SIGN_IN_LINK_HOURS} " hours). This is the only time it is shown; "
                        "if it is lost, issue a new one from this page."
                    </p>
                    <div class="actions">
                        <button type="button" class="primary" on:click=move |_| {
                            shown_link.set(None);
                            add.value().set(None);
                            new_link.value().set(None);
                        }>"Done"</button>
                    </div>
                </Modal>
            })}
            {move || removing.get().map(|m| view! {
                <Modal title="Remove teammate?">
                    <p>
                        <strong>{m.email.clone()}</strong>
                        " can no longer sign in, and is signed out everywhere at once. "
                        "Their projects and webhooks stay."
                    </p>
                    <ActionForm action=remove>
                        <input type="hidden" name="user_id" value=m.id.clone() />
                        <FormError result=remove.value() />
                        <div class="actions">
                            <button type="button" on:click=move |_| { remove.value().set(None); removing.set(None) }>"Cancel"</button>
                            <button type="submit" class="danger" disabled=move || remove.pending().get()>
                                {move || if remove.pending().get() { "Removing…" } else { "Remove teammate" }}
                            </button>
                        </div>
                    </ActionForm>
                </Modal>
            })}
        </section>
    }
}

#[component]
fn MemberRow(
    member: TeamMember,
    /// Whether the row has the admin actions.
    manage: bool,
    set_role: ServerAction<SetRole>,
    new_link: ServerAction<NewSignInLink>,
    removing: RwSignal<Option<TeamMember>>,
) -> impl IntoView {
    let (other_role, change_label) = match member.role {
        Role::Admin => (Role::Member, "Make member"),
        Role::Member => (Role::Admin, "Make admin"),
    };
    let role_text = match member.role {
        Role::Admin => "Admin",
        Role::Member => "Member",
    };
    let link_label = if member.invited {
        "New invitation link"
    } else {
        "Password reset link"
    };
    let to_remove = member.clone();
    let id = member.id.clone();
    view! {
        <tr data-email=member.email.clone()>
            <td>
                {member.email.clone()}
                {member.is_you.then(|| view! { " " <span class="badge off">"You"</span> })}
                {member.invited.then(|| view! { " " <span class="badge warn">"Invited"</span> })}
            </td>
            <td class="role">{role_text}</td>
            <td><LocalTime ms=member.created_at /></td>
            {manage.then(|| view! { <td>
                {match member.last_sign_in_at {
                    Some(t) => view! { <LocalTime ms=t /> }.into_any(),
                    None => view! { <span class="hint">"Never"</span> }.into_any(),
                }}
            </td> })}
            {manage.then(|| view! { <td class="row-actions">
                <ActionForm action=set_role attr:class="inline">
                    <input type="hidden" name="user_id" value=member.id.clone() />
                    <input type="hidden" name="role" value=other_role.as_str() />
                    <button type="submit" disabled=move || set_role.pending().get()>{change_label}</button>
                </ActionForm>
                // Your own password is changed on the Account page.
                {(!member.is_you).then(|| view! {
                    <ActionForm action=new_link attr:class="inline">
                        <input type="hidden" name="user_id" value=id />
                        <button type="submit" disabled=move || new_link.pending().get()>{link_label}</button>
                    </ActionForm>
                    <button type="button" class="danger" on:click=move |_| removing.set(Some(to_remove.clone()))>"Remove"</button>
                })}
            </td> })}
        </tr>
    }
}
