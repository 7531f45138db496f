//! Bulwark's user interface: every page, the types the server and the browser share, and the
//! server functions the pages call.
//!
//! Built twice: with `ssr` into the server (pages render to HTML, server functions run against
//! the [`store::Store`] the server provides) and with `hydrate` into the browser bundle. No SQL
//! lives here; the database is reached only through the store trait.

pub mod api;
pub mod app;
pub mod components;
pub mod error;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod store;

pub use app::{App, shell};

/// Browser entry point: attaches the server-rendered page to the reactive system.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
