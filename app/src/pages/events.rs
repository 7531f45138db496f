//! Runtime events, newest first. The filter is a GET form whose fields are the typed query
//! string [`EventsQuery`], so the page works without JavaScript and can be bookmarked.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query;

use crate::api::findings::get_events;
use crate::components::async_region::AsyncRegion;
use crate::components::format;
use crate::components::table::{Column, DataTable};
use crate::error::AppError;
use crate::model::{EventRow, EventsQuery};
use crate::resource::resource;

/// The runtime events page.
#[component]
pub fn Events() -> impl IntoView {
    let query = use_query::<EventsQuery>();
    let applied = Memo::new(move |_| query.get().unwrap_or_default());
    let list = resource(move || applied.get().filter(), get_events);
    view! {
        <Title text="Runtime events" />
        <h1>"Runtime events"</h1>
        {move || {
            let applied = applied.get();
            view! {
                <form method="get" action="/events" class="filters card">
                    <TextFilters cluster=applied.cluster.into_inner() q=applied.q.into_inner() />
                </form>
            }
        }}
        <AsyncRegion>
            {move || Suspend::new(async move {
                let list = list.await?;
                Ok::<_, AppError>(view! {
                    <DataTable
                        id="events"
                        title="Newest first"
                        label="Runtime events table"
                        columns=vec![
                            Column::new("When"),
                            Column::new("Priority"),
                            Column::new("Rule"),
                            Column::new("Output"),
                            Column::new("Where"),
                            Column::new("Image"),
                            Column::new("Cluster"),
                        ]
                        rows=list.rows
                        row=event_row
                        empty="No runtime events match these filters."
                        hint=|| "Clear or widen the filters above; agents send events as they happen."
                    />
                })
            })}
        </AsyncRegion>
    }
}

fn priority_label(p: i16) -> &'static str {
    match p {
        0 => "emergency",
        1 => "alert",
        2 => "critical",
        3 => "error",
        4 => "warning",
        5 => "notice",
        6 => "informational",
        _ => "debug",
    }
}

fn event_row(e: EventRow) -> impl IntoView {
    view! {
        <tr>
            <td>{format::timestamp(e.time)}</td>
            <td>{priority_label(e.priority)}</td>
            <td>{e.rule}</td>
            <td class="details">{e.output.unwrap_or_default()}</td>
            <td>{e.place.unwrap_or_default()}</td>
            <td class="artifact">{e.image.unwrap_or_default()}</td>
            <td>{e.cluster.unwrap_or_else(|| "—".to_owned())}</td>
        </tr>
    }
}

/// The cluster and text fields and the submit button.
#[component]
fn TextFilters(cluster: Option<String>, q: Option<String>) -> impl IntoView {
    view! {
        <label>"Cluster" <input type="search" name="cluster" value=cluster.unwrap_or_default() /></label>
        <label>"Contains" <input type="search" name="q" value=q.unwrap_or_default() /></label>
        <button type="submit">"Apply"</button>
    }
}
