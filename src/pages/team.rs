use crate::api::projects::list_projects;
use crate::api::team::{
    list_team, team_activity, AddTeammate, NewSignInLink, RemoveUser, SetProjects, SetRole,
};
use crate::components::activity::ActivityList;
use crate::components::form::{DoneNotice, ErrorMessage, FormError};
use crate::components::modal::{Dialog, DialogButtons};
use crate::components::shown_once::ShownOnceDialog;
use crate::components::time::LocalTime;
use crate::model::{Project, Role, TeamMember};
use leptos::prelude::*;

/// `/team`: who can sign in, with which role. Admins add, change and remove
/// teammates; members see the list without any of those buttons. Every
/// change is a form post; a new link comes back shown once.
#[component]
pub fn TeamPage() -> impl IntoView {
    // Read for their errors, which a plain form post brings back in the URL.
    let set_role = ServerAction::<SetRole>::new();
    let remove = ServerAction::<RemoveUser>::new();
    let new_link = ServerAction::<NewSignInLink>::new();
    let add = ServerAction::<AddTeammate>::new();
    let give = ServerAction::<SetProjects>::new();
    let members = Resource::new(|| (), |_| list_team());
    // Every project, for an admin to give (a member's list is their own).
    let projects = Resource::new(|| (), |_| list_projects());
    // Shown to admins only (a member's call is refused, and not shown).
    let activity = Resource::new(|| (), |_| team_activity());

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
                        <AddTeammateButton projects=projects.get().and_then(Result::ok).unwrap_or_default() />
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
                                        "Everyone here can sign in to this Signpost. Admins reach every project "
                                        "and manage the team; members manage the projects given to them, "
                                        "viewers read them."
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
                            <FormError result=add.value() />
                            <FormError result=set_role.value() />
                            <FormError result=new_link.value() />
                            <FormError result=remove.value() />
                            <FormError result=give.value() />
                            <DoneNotice what="projects">"Saved: their projects are changed."</DoneNotice>
                            // A wide table scrolls inside its own box on a phone.
                            <div class="scroll">
                            <table class="list team">
                                <thead>
                                    <tr>
                                        <th>"Email"</th><th>"Role"</th><th>"Projects"</th><th>"Added"</th>
                                        // When others sign in is for admins to see.
                                        {manage.then(|| view! {
                                            <th>"Last sign-in"</th>
                                            <th><span class="sr-only">"Actions"</span></th>
                                        })}
                                    </tr>
                                </thead>
                                <tbody>
                                    {team.members.into_iter().map(|m| {
                                        let all = projects.get().and_then(Result::ok).unwrap_or_default();
                                        view! {
                                            <MemberRow member=m manage all set_role new_link remove give />
                                        }
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
            <ShownOnceDialog />
        </section>
    }
}

#[component]
fn MemberRow(
    member: TeamMember,
    /// Whether the row has the admin actions.
    manage: bool,
    /// Every project (an admin's view), to name and to give them.
    all: Vec<Project>,
    set_role: ServerAction<SetRole>,
    new_link: ServerAction<NewSignInLink>,
    remove: ServerAction<RemoveUser>,
    give: ServerAction<SetProjects>,
) -> impl IntoView {
    let role_text = member.role.label();
    // The projects they reach, by name.
    let reach = match member.role.sees_every_project() {
        true => "Every project".to_string(),
        false => {
            let names: Vec<String> = all
                .iter()
                .filter(|p| member.projects.contains(&p.id))
                .map(|p| p.name.clone())
                .collect();
            match names.is_empty() {
                true => "None".to_string(),
                false => names.join(", "),
            }
        }
    };
    let other_roles: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|r| *r != member.role)
        .collect();
    let giving = format!("projects-{}", member.id);
    let gives = !member.role.sees_every_project();
    let (give_id, given) = (member.id.clone(), member.projects.clone());
    let link_label = if member.invited {
        "New invitation link"
    } else {
        "Password reset link"
    };
    let removing = format!("remove-{}", member.id);
    let email = member.email.clone();
    let giving_email = member.email.clone();
    let (role_id, link_id, remove_id) = (member.id.clone(), member.id.clone(), member.id.clone());
    view! {
        <tr data-email=member.email.clone()>
            <td>
                {member.email.clone()}
                {member.is_you.then(|| view! { " " <span class="badge off">"You"</span> })}
                {member.invited.then(|| view! { " " <span class="badge warn">"Invited"</span> })}
            </td>
            <td class="role">{role_text}</td>
            <td class="projects">{reach}</td>
            <td><LocalTime ms=member.created_at /></td>
            {manage.then(|| view! { <td>
                {match member.last_sign_in_at {
                    Some(t) => view! { <LocalTime ms=t /> }.into_any(),
                    None => view! { <span class="hint">"Never"</span> }.into_any(),
                }}
            </td> })}
            {manage.then(move || view! { <td class="row-actions">
                {other_roles.into_iter().map(|r| {
                    let label = format!("Make {}", r.as_str());
                    let role_id = role_id.clone();
                    view! {
                        <ActionForm action=set_role attr:class="inline">
                            <input type="hidden" name="user_id" value=role_id />
                            <input type="hidden" name="role" value=r.as_str() />
                            <button type="submit">{label}</button>
                        </ActionForm>
                    }
                }).collect_view()}
                {gives.then(|| view! {
                    <button type="button" commandfor=giving.clone() command="show-modal">"Projects…"</button>
                    <Dialog id=giving.clone() title="Projects">
                        <p>"What " <strong>{giving_email.clone()}</strong> " reaches; other projects answer as if they did not exist."</p>
                        <ActionForm action=give>
                            <input type="hidden" name="user_id" value=give_id.clone() />
                            <ProjectChoices all=all.clone() given=given.clone() prefix=giving.clone() />
                            <DialogButtons dialog=giving.clone() submit="Save projects" />
                        </ActionForm>
                    </Dialog>
                })}
                // Your own password is changed on the Account page.
                {(!member.is_you).then(|| view! {
                    <ActionForm action=new_link attr:class="inline">
                        <input type="hidden" name="user_id" value=link_id />
                        <button type="submit">{link_label}</button>
                    </ActionForm>
                    <button type="button" class="danger" commandfor=removing.clone() command="show-modal">"Remove"</button>
                    <Dialog id=removing.clone() title="Remove teammate?">
                        <p>
                            <strong>{email.clone()}</strong>
                            " can no longer sign in, and is signed out everywhere at once. "
                            "Their projects and webhooks stay."
                        </p>
                        <ActionForm action=remove>
                            <input type="hidden" name="user_id" value=remove_id />
                            <DialogButtons dialog=removing.clone() submit="Remove teammate" class="danger" />
                        </ActionForm>
                    </Dialog>
                })}
            </td> })}
        </tr>
    }
}

/// A checkbox per project, sent as `projects[i]` (the server function's
/// list).
#[component]
fn ProjectChoices(all: Vec<Project>, given: Vec<String>, prefix: String) -> impl IntoView {
    if all.is_empty() {
        return view! { <p class="hint">"No project yet."</p> }.into_any();
    }
    view! {
        <fieldset class="choices">
            <legend>"Projects"</legend>
            {all.into_iter().enumerate().map(|(i, p)| {
                let id = format!("{prefix}-{i}");
                let checked = given.contains(&p.id);
                view! {
                    <label for=id.clone() class="choice">
                        <input type="checkbox" id=id.clone() name=format!("projects[{i}]") value=p.id checked=checked />
                        " " {p.name}
                    </label>
                }
            }).collect_view()}
        </fieldset>
    }
    .into_any()
}

/// "Add teammate" and its dialog; the page comes back with the one-time
/// link to send them, shown once.
#[component]
fn AddTeammateButton(projects: Vec<Project>) -> impl IntoView {
    let add = ServerAction::<AddTeammate>::new();
    view! {
        <button type="button" class="primary" commandfor="add-teammate" command="show-modal">"Add teammate"</button>
        <Dialog id="add-teammate" title="Add teammate">
            <ActionForm action=add>
                <label for="teammate-email">"Email"</label>
                <input id="teammate-email" name="email" type="email" required autocomplete="off" />
                <label for="teammate-role">"Role"</label>
                <select id="teammate-role" name="role">
                    <option value="member" selected>"Member: manages the projects given below"</option>
                    <option value="viewer">"Viewer: reads the projects given below"</option>
                    <option value="admin">"Admin: every project, and the team"</option>
                </select>
                <ProjectChoices all=projects given=Vec::new() prefix="teammate-project".to_string() />
                <p class="hint">
                    "You get a one-time sign-in link to send them. With it they choose their own password."
                </p>
                <DialogButtons dialog="add-teammate" submit="Add teammate" />
            </ActionForm>
        </Dialog>
    }
}
