//! Signpost: a self-hosted webhook service with a browser dashboard.
//!
//! Built twice by cargo-leptos: `--features ssr` for the server binary and
//! `--features hydrate` for the browser's wasm. The pages render on the
//! server; the browser hydrates only the `#[island]`s (the parts that call
//! the server themselves) and `components::enhance` wires up the rest.
// Deep view types (the webhook page's islands inside its toolbar) overflow
// the default query depth in builds without `--cfg erase_components`, such
// as `cargo bench`'s.
#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod components;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Before the islands: the script hydrates them right after this returns.
    components::enhance::start();
    leptos::mount::hydrate_islands();
}
