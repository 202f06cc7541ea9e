use crate::components::shell::Shell;
use crate::pages::{
    account::AccountPage,
    activity::ActivityPage,
    catalog::CatalogPage,
    delivery::DeliveryPage,
    delivery_log::DeliveryLogPage,
    events::{EventPage, EventsPage},
    join::JoinPage,
    login::LoginPage,
    not_found::NotFound,
    portal::PortalShell,
    project_settings::ProjectSettingsPage,
    projects::ProjectsPage,
    setup::SetupPage,
    system::SystemPage,
    team::TeamPage,
    webhook::WebhookPage,
    webhooks::WebhooksPage,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path, SsrMode,
};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Title text="Signpost" />
        <Router>
            <Routes fallback=NotFound>
                // Async rendering: the server sends each page once all its data
                // is in, so pages read without JavaScript and an error's status
                // (an unknown project's 404) is set before the head goes out.
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                <Route path=path!("/setup") view=SetupPage ssr=SsrMode::Async />
                <Route path=path!("/join/:token") view=JoinPage ssr=SsrMode::Async />
                // A tenant's portal: the same pages, with a link's token
                // where the project id is, in a frame of its own.
                <ParentRoute path=path!("portal/:pid") view=PortalShell ssr=SsrMode::Async>
                    <Route path=path!("") view=WebhooksPage />
                    <Route path=path!("webhooks") view=WebhooksPage />
                    <Route path=path!("webhooks/:wid") view=WebhookPage />
                    <Route path=path!("deliveries") view=DeliveryLogPage />
                    <Route path=path!("deliveries/:did") view=DeliveryPage />
                    <Route path=path!("events") view=EventsPage />
                    <Route path=path!("events/:eid") view=EventPage />
                </ParentRoute>
                <ParentRoute path=path!("") view=Shell ssr=SsrMode::Async>
                    <Route path=path!("") view=ProjectsPage />
                    <Route path=path!("p/:pid/webhooks") view=WebhooksPage />
                    <Route path=path!("p/:pid/settings") view=ProjectSettingsPage />
                    <Route path=path!("p/:pid/webhooks/:wid") view=WebhookPage />
                    <Route path=path!("p/:pid/deliveries") view=DeliveryLogPage />
                    <Route path=path!("p/:pid/activity") view=ActivityPage />
                    <Route path=path!("p/:pid/deliveries/:did") view=DeliveryPage />
                    <Route path=path!("p/:pid/events") view=EventsPage />
                    <Route path=path!("p/:pid/catalog") view=CatalogPage />
                    <Route path=path!("p/:pid/events/:eid") view=EventPage />
                    <Route path=path!("team") view=TeamPage />
                    <Route path=path!("system") view=SystemPage />
                    <Route path=path!("account") view=AccountPage />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
