use leptos::prelude::*;

/// The signed-in landing page.
#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <section class="page">
            <h1>"Overview"</h1>
            <p>
                "Signpost delivers your platform's events, signed, to the URLs your customers register, "
                "retries when a receiver fails, and records every attempt."
            </p>
            <div class="card">
                <h2>"Getting started"</h2>
                <ol>
                    <li>
                        "Create a project: "
                        <code>"signpost project create --name \"My platform\""</code>
                        " prints its id and secret for the API."
                    </li>
                    <li>"Register webhook URLs in the project's Webhooks tab."</li>
                    <li>"Publish events to the project; Signpost delivers them."</li>
                </ol>
            </div>
        </section>
    }
}
