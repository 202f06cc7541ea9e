use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <main class="auth-page">
            <section class="card auth-card">
                <h1>"Page not found"</h1>
                <p>
                    "There is nothing at this address. " <a href="/">"Go to the overview"</a> "."
                </p>
            </section>
        </main>
    }
}
