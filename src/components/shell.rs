use super::project_nav::ProjectSwitcher;
use crate::api::auth::{current_user, Logout};
use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect, A};
use leptos_router::hooks::use_location;

/// The signed-in frame: product name, navigation, who is signed in, and
/// "Sign out". Pages that need a user render inside it. Drawn by the server
/// only: sign-out is a plain form post.
#[component]
pub fn Shell() -> impl IntoView {
    let user = Resource::new(|| (), |_| current_user());
    let logout = ServerAction::<Logout>::new();
    let location = use_location();
    let is_admin = move || {
        user.get()
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|u| u.role == crate::model::Role::Admin)
    };

    view! {
        <div class="shell">
            // On a narrow screen the navigation and the account fold behind
            // "Menu" (`enhance` toggles it); each page opens folded.
            <header class="topbar">
                <a class="brand" href="/">
                    "Signpost"
                </a>
                <button type="button" class="menu-toggle" aria-controls="topbar-menu" aria-expanded="false">
                    "Menu"
                </button>
                <div class="topbar-menu" id="topbar-menu">
                <nav class="nav" aria-label="Main">
                    <A href="/" exact=true>
                        "Projects"
                    </A>
                    <ProjectSwitcher />
                    // Everyone sees the team; only admins change it.
                    <A href="/team">"Team"</A>
                    // The engine's health: for admins.
                    <Transition fallback=|| ()>
                        <Show when=move || is_admin()>
                            <A href="/system">"System"</A>
                        </Show>
                    </Transition>
                </nav>
                <div class="who">
                    <Transition fallback=|| ()>
                        {move || {
                            user.get()
                                .map(|u| match u {
                                    Ok(Some(u)) => {
                                        view! {
                                            <A href="/account" attr:class="user-email" attr:title="Your account">{u.email}</A>
                                        }.into_any()
                                    }
                                    // Signed out elsewhere (or expired): back to sign-in.
                                    _ => {
                                        let next = location.pathname.get_untracked();
                                        view! { <Redirect path=format!("/login?next={next}") /> }
                                            .into_any()
                                    }
                                })
                        }}
                    </Transition>
                    <ActionForm action=logout attr:class="inline">
                        <button type="submit" class="link">"Sign out"</button>
                    </ActionForm>
                </div>
                </div>
            </header>
            <main class="content">
                <Outlet />
            </main>
        </div>
    }
}
