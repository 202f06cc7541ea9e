//! Signpost: a self-hosted webhook service with a browser dashboard.
//!
//! Built twice by cargo-leptos: `--features ssr` for the server binary and
//! `--features hydrate` for the browser's wasm.

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
    leptos::mount::hydrate_body(app::App);
}
