//! The frame around every page: skip link, header with navigation, main region.

use leptos::prelude::*;

/// Page frame. `children` is the routed page.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="brand" href="/" aria-label="Bulwark home">
                <svg class="brand-mark" viewBox="0 0 24 24" aria-hidden="true" width="22" height="22">
                    <path d="M12 2 4 5v6c0 5 3.4 9.4 8 11 4.6-1.6 8-6 8-11V5z" />
                </svg>
                <span>"Bulwark"</span>
            </a>
            <nav aria-label="Main">
                <ul>
                    <li><a href="/">"Overview"</a></li>
                </ul>
            </nav>
        </header>
        <main id="main" tabindex="-1">{children()}</main>
    }
}
