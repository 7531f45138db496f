//! The frame around every page: skip link, header with navigation, the signed-in user, the
//! theme switch and the keyboard shortcuts (once hydrated), main region. Signing out is a plain
//! form POST, so it works without JavaScript. Who is signed in comes from the `App`, which owns
//! that resource.

use leptos::prelude::*;

use crate::components::shortcuts::Shortcuts;
use crate::components::theme::ThemeSwitch;
use crate::error::AppError;
use crate::model::{Theme, Viewer};
use crate::resource::Json;

/// Page frame. `children` is the routed page; `viewer` is who is signed in (`None` for a
/// visitor). A failure to learn who is signed in shows no navigation: the page's own region
/// reports the error. `theme` is the theme the page is rendered in and `theme_action` where
/// the theme switch posts without JavaScript (see [`ThemeSwitch`]); the switch is there for
/// visitors too.
#[component]
pub fn Layout(
    viewer: Resource<Result<Option<Viewer>, AppError>, Json>,
    theme: Theme,
    theme_action: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="brand" href="/" aria-label="Bulwark home">
                <svg class="brand-mark" viewBox="0 0 24 24" aria-hidden="true" width="22" height="22">
                    <path d="M12 2 4 5v6c0 5 3.4 9.4 8 11 4.6-1.6 8-6 8-11V5z" />
                </svg>
                <span>"Bulwark"</span>
            </a>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    viewer.await.ok().flatten().map(|v| view! { <SignedIn viewer=v /> })
                })}
            </Transition>
            <ThemeSwitch initial=theme action=theme_action />
            <Shortcuts />
        </header>
        <main id="main" tabindex="-1">{children()}</main>
    }
}

#[component]
fn SignedIn(viewer: Viewer) -> impl IntoView {
    let audit = viewer
        .role
        .can_read_audit_log()
        .then(|| view! { <li><a href="/audit">"Audit log"</a></li> });
    let tokens = viewer
        .role
        .can_manage_tokens()
        .then(|| view! { <li><a href="/settings/tokens">"Tokens"</a></li> });
    let sla = viewer
        .role
        .can_edit_sla()
        .then(|| view! { <li><a href="/settings/sla">"Policy"</a></li> });
    let approvals = viewer
        .role
        .can_approve()
        .then(|| view! { <li><a href="/approvals">"Approvals"</a></li> });
    view! {
        <nav aria-label="Main">
            <ul>
                <li><a href="/">"Overview"</a></li>
                <li><a href="/findings">"Findings"</a></li>
                <li><a href="/estate">"Estate"</a></li>
                <li><a href="/events">"Runtime events"</a></li>
                {approvals}
                {audit}
                {tokens}
                {sla}
            </ul>
        </nav>
        <div class="user-menu">
            <a href="/account" data-testid="current-user">
                {viewer.name.clone()}
                <span class="muted">{format!(" · {}", viewer.role.label())}</span>
            </a>
            <form method="post" action="/logout">
                <button type="submit" class="link-button">"Sign out"</button>
            </form>
        </div>
    }
}
