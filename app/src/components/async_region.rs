//! The async region: every piece of a page that waits for server data renders through
//! [`AsyncRegion`], which puts it inside `Transition` (the old content stays while new data
//! loads) and `ErrorBoundary`, shows one loading state, and presents any [`AppError`] the same
//! way everywhere ([`ErrorNotice`]): what went wrong in plain words, and the server's reference
//! when there is one, never internal details.
//!
//! Pages own the resources; the region only frames what they render. A page writes:
//!
//! ```text
//! <AsyncRegion>
//!     {move || Suspend::new(async move {
//!         let list = list.await?;
//!         Ok::<_, AppError>(view! { <FindingTable list /> })
//!     })}
//! </AsyncRegion>
//! ```

use leptos::prelude::*;

use crate::error::AppError;

/// Frames async content: loading state, error boundary, one error presentation.
#[component]
pub fn AsyncRegion<Chil>(
    /// The content: usually `move || Suspend::new(async move { … Ok::<_, AppError>(view) })`.
    children: TypedChildren<Chil>,
    /// Shown while the first data loads ("Loading…" unless given).
    #[prop(optional)]
    loading: Option<&'static str>,
) -> impl IntoView
where
    Chil: IntoView + Send + 'static,
{
    let children = children.into_inner();
    let loading = loading.unwrap_or("Loading…");
    view! {
        <Transition fallback=move || view! { <p class="loading">{loading}</p> }>
            <ErrorBoundary fallback=|errors| view! { <ErrorList errors /> }>{children()}</ErrorBoundary>
        </Transition>
    }
}

/// The errors an error boundary caught, each presented as an [`ErrorNotice`] in one alert.
#[component]
fn ErrorList(errors: ArcRwSignal<Errors>) -> impl IntoView {
    let messages = move || {
        let mut shown: Vec<AppError> = Vec::new();
        for (_, error) in errors.get() {
            let error = error
                .downcast_ref::<AppError>()
                .cloned()
                // an error that is not an AppError came from code, not from the server; its
                // text may hold details, so it is shown as a failure without a reference
                .unwrap_or_else(|| AppError::Internal(String::new()));
            if !shown.contains(&error) {
                shown.push(error);
            }
        }
        shown
    };
    view! {
        <div class="alert error-notice" role="alert">
            {move || {
                messages()
                    .into_iter()
                    .map(|error| view! { <ErrorText error /> })
                    .collect_view()
            }}
        </div>
    }
}

/// One [`AppError`] as a page shows it, in its own alert. For errors outside an async region
/// (an action's result, for instance).
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    view! {
        <div class="alert error-notice" role="alert">
            <ErrorText error />
        </div>
    }
}

#[component]
fn ErrorText(error: AppError) -> impl IntoView {
    let reference = error.reference().filter(|r| !r.is_empty()).map(|r| {
        view! {
            <p class="error-reference">
                "If this keeps happening, tell your administrator the reference "
                <code>{r.to_owned()}</code>
                "."
            </p>
        }
    });
    let sign_in = (error == AppError::Unauthorized)
        .then(|| view! { <p><a href="/login" rel="external">"Sign in"</a></p> });
    view! {
        <p class="error-message">{error.message()}</p>
        {reference}
        {sign_in}
    }
}
