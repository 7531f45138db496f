//! The findings page's saved views: the page's part of [`SavedViewsPanel`]. It owns what the
//! panel shows (the list, a page resource read again after each save or delete) and the two
//! actions its forms post to (`/rpc/views/save`, `/rpc/views/delete`); a refusal (a bad name,
//! a 51st view) is shown above the panel, with JavaScript on or off.

use leptos::form::ActionForm;
use leptos::prelude::*;

use crate::api::views::{DeleteView, SaveView, get_saved_views};
use crate::components::async_region::{AsyncRegion, ErrorNotice};
use crate::components::saved_views::SavedViewsPanel;
use crate::error::AppError;
use crate::model::ListFilter;
use crate::resource::resource;

/// The saved views of the viewer and the form that saves `filter`.
#[component]
pub fn SavedViewsSection(
    /// The filter in force.
    #[prop(into)]
    filter: Signal<ListFilter>,
) -> impl IntoView {
    let save = ServerAction::<SaveView>::new();
    let delete = ServerAction::<DeleteView>::new();
    let views = resource(
        move || (save.version().get(), delete.version().get()),
        |_| get_saved_views(),
    );
    let refusal = move || {
        let saved = save.value().get().and_then(Result::err);
        let deleted = delete.value().get().and_then(Result::err);
        saved
            .or(deleted)
            .map(|error| view! { <ErrorNotice error /> })
    };
    view! {
        {refusal}
        <AsyncRegion>
            {move || Suspend::new(async move {
                let views = views.await?;
                let filter = filter.get();
                Ok::<_, AppError>(view! {
                    <SavedViewsPanel
                        views
                        filter
                        save_form=move |fields| view! {
                            <ActionForm action=save attr:class="filters"
                                attr:aria-label="Save this view">
                                {fields}
                            </ActionForm>
                        }
                        .into_any()
                        delete_form=move |list| view! {
                            <ActionForm action=delete attr:aria-label="Saved views">
                                {list}
                            </ActionForm>
                        }
                        .into_any()
                    />
                })
            })}
        </AsyncRegion>
    }
}
