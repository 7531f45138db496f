//! The flash message: the outcome a form handler redirected back with (`?flash=token-revoked`),
//! shown as a status (success) or an alert (a problem). The handler picks a typed
//! [`Flash`]; this shows its message. An unknown or absent code shows nothing.

use leptos::prelude::*;
use leptos_router::hooks::use_query;

use crate::model::{Flash, FlashKind, FlashQuery};

/// The flash in this page's query string (`?flash=`), if it is a known one.
pub fn use_flash() -> Signal<Option<Flash>> {
    let query = use_query::<FlashQuery>();
    Signal::derive(move || {
        query
            .read()
            .as_ref()
            .ok()
            .and_then(|q| q.flash.get().copied())
    })
}

/// Shows `flash`'s message: `role="status"` for a success, `role="alert"` for a problem.
#[component]
pub fn FlashMessage(
    /// The flash to show; nothing is shown for `None`.
    #[prop(into)]
    flash: Signal<Option<Flash>>,
    /// An id for the message, so a form field can point at it with `aria-describedby`.
    #[prop(optional)]
    id: Option<&'static str>,
) -> impl IntoView {
    move || {
        flash.get().map(|flash| {
            let (class, role) = match flash.kind() {
                FlashKind::Success => ("notice", "status"),
                FlashKind::Error => ("alert", "alert"),
            };
            view! {
                <p class=format!("flash {class}") role=role id=id data-flash=flash.code()>
                    {flash.message()}
                </p>
            }
        })
    }
}
