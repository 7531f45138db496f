//! Bulwark's user interface: every page, the types the server and the browser share, and the
//! server functions the pages call.
//!
//! Built twice: with `ssr` into the server (pages render to HTML, server functions run against
//! the [`store::Store`] the server provides) and with `hydrate` into the browser bundle. No SQL
//! lives here; the database is reached only through the store trait.
//!
//! # Layout: by layer, with one area name across the layers
//!
//! The crate stays split by layer, and stays that way at thirty pages:
//!
//! - `pages/`: one file per page (a folder per area once an area has several pages). A page
//!   owns its resources, actions and query string, and may use everything below.
//! - `components/`: prop-driven building blocks ([`components::table::DataTable`],
//!   [`components::async_region::AsyncRegion`], [`components::flash::FlashMessage`], severity
//!   badges and charts, the frame). They use `model` and `error`, never `api`.
//! - `api/`: `#[server]` functions, one file per area, thin: viewer, store, delegate.
//! - `model/`: plain data shared by server and browser, the [`model::Flash`] codes form
//!   handlers redirect with, and every page's query string ([`model::FindingsQuery`] …).
//! - `error.rs` ([`error::AppError`]), `store.rs` (the data port, `ssr` only), `app.rs` (the
//!   shell and the one route table), `resource.rs` (how a page loads its data).
//!
//! A new area (say incidents) gets the same name in each layer: `pages/incidents.rs` (or
//! `pages/incidents/{list,detail}.rs`), `api/incidents.rs`, `model/incidents.rs`, a
//! `Store` method, and a line in `app.rs`. A page is added by writing its file under `pages/`,
//! routing it in `app.rs` as a lazy route (`lazy_page!`: its code is its own file of the browser
//! bundle, loaded when the page is first shown), and building it from the components: its
//! lists are `DataTable`s, its data is a [`resource::resource`] shown in an `AsyncRegion`, its
//! filters are a `Params` struct in `model/query.rs`, its form outcomes are `Flash` variants.
//!
//! Why by layer and not a folder per area (`findings/{page,api,model}.rs`):
//!
//! - **The layers have different rules, and a folder per layer makes each rule checkable in
//!   one place.** `model` must build for `wasm32` and carry no server behaviour; `store` is
//!   `ssr`-only; `api` bodies run only on the server; components never call server functions
//!   (a test in `components` greps for it). Per area, every folder would mix the four and each
//!   rule would have to be checked in thirty places.
//! - **The server depends on `app::model` and `app::store` as a stable surface** (about forty
//!   imports, plus `app::pages::login::safe_next`). By layer, the server imports one module and
//!   never names a page; per area, server code would import from UI folders.
//! - **Areas share types more than they own them.** Severity, viewer, findings rows and filters
//!   appear on the overview, the findings list, triage, reports and incidents; a per-area layout
//!   would either pick an arbitrary owner or grow a `common` folder that is `model` again.
//! - **Cost stays small when the area name is the same in every layer**: finding all of
//!   "incidents" is one glob (`src/*/incidents*`), and the house style (`STYLE.md`) already
//!   describes this layout, so there is one picture to learn.
//!
//! Revisit when a single area outgrows a file per layer many times over (ten or more pages of
//! its own): then that area becomes a folder inside each layer, not a crate-wide reshuffle.
//!
//! # Forms and mutations
//!
//! A new mutation is a `#[server]` function in `api/` bound to a `ServerAction` in its page
//! and posted with `ActionForm`. With JavaScript off the browser posts the form itself and
//! leptos_axum redirects back to the page; the function reports its outcome by redirecting
//! with `leptos_axum::redirect(&format!("…?flash={}", Flash::X.code()))`, so the same
//! [`components::flash::FlashMessage`] shows it either way.
//!
//! Today's five forms post to axum handlers in the server's `auth` module instead, and stay
//! there: signing in, signing out and changing the password set or clear the session cookie,
//! rotate sessions and answer throttled attempts with a 429 page and `Retry-After`, which is the
//! server's authentication and not a page's business; creating a token answers with the new
//! secret in the response body, shown once, which a server function's redirect back to the
//! page would lose (and a secret never travels in a URL). Revoking a token could move (it only
//! redirects back with a flash) once the store has a `revoke_token` method and the route table
//! an entry for it. These handlers redirect with [`model::Flash`] codes too.

pub mod api;
pub mod app;
pub mod components;
pub mod error;
pub mod model;
pub mod pages;
pub mod resource;
#[cfg(feature = "ssr")]
pub mod store;

pub use app::{App, shell};

/// Browser entry point: attaches the server-rendered page to the reactive system.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(App);
}
