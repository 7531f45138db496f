//! Open findings, riskiest first, and the newest runtime events. Filters are GET forms whose
//! fields are the typed query strings [`FindingsQuery`] and [`EventsQuery`], so both pages work
//! without JavaScript and can be bookmarked; a value that does not read is dropped, and the form
//! shows the filter that was applied.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query;

use crate::api::findings::{get_events, get_findings};
use crate::components::async_region::AsyncRegion;
use crate::components::format;
use crate::components::severity::SeverityBadge;
use crate::components::table::{Column, DataTable};
use crate::error::AppError;
use crate::model::{EventRow, EventsQuery, FindingList, FindingRow, FindingsQuery, Severity};
use crate::resource::resource;

/// The findings page.
#[component]
pub fn Findings() -> impl IntoView {
    let query = use_query::<FindingsQuery>();
    let applied = Memo::new(move |_| query.get().unwrap_or_default());
    let list = resource(move || applied.get().filter(), get_findings);
    view! {
        <Title text="Findings" />
        <h1>"Open findings"</h1>
        {move || view! { <FindingsFilter applied=applied.get() /> }}
        <AsyncRegion>
            {move || Suspend::new(async move {
                let list = list.await?;
                Ok::<_, AppError>(view! { <FindingTable list /> })
            })}
        </AsyncRegion>
    }
}

#[component]
fn FindingsFilter(applied: FindingsQuery) -> impl IntoView {
    let overdue = applied.sla.get().map(String::as_str) == Some("overdue");
    let options = Severity::WORST_FIRST
        .into_iter()
        .map(|s| {
            let selected = applied.severity.get() == Some(&s);
            view! { <option value=s.slug() selected=selected>{s.label()}</option> }
        })
        .collect_view();
    view! {
        <form method="get" action="/findings" class="filters card">
            <label>
                "Severity"
                <select name="severity">
                    <option value="">"any"</option>
                    {options}
                </select>
            </label>
            <label>
                "SLA"
                <select name="sla">
                    <option value="">"any"</option>
                    <option value="overdue" selected=overdue>"past due"</option>
                </select>
            </label>
            <TextFilters cluster=applied.cluster.into_inner() q=applied.q.into_inner() />
        </form>
    }
}

/// The cluster and text fields and the submit button both list filters share.
#[component]
fn TextFilters(cluster: Option<String>, q: Option<String>) -> impl IntoView {
    view! {
        <label>"Cluster" <input type="search" name="cluster" value=cluster.unwrap_or_default() /></label>
        <label>"Contains" <input type="search" name="q" value=q.unwrap_or_default() /></label>
        <button type="submit">"Apply"</button>
    }
}

#[component]
fn FindingTable(list: FindingList) -> impl IntoView {
    let shown = list.rows.len() as i64;
    let total = list.total;
    view! {
        <DataTable
            id="findings"
            title="Riskiest first"
            label="Findings table"
            columns=vec![
                Column::numeric("Risk"),
                Column::new("Severity"),
                Column::new("Finding"),
                Column::new("Id"),
                Column::new("Package"),
                Column::new("Image or resource"),
                Column::new("Cluster"),
                Column::new("Status"),
            ]
            rows=list.rows
            row=finding_row
            empty="No findings match these filters."
            hint=|| "Clear or widen the filters above; fixed findings are not listed."
            summary=move || view! {
                <span data-testid="findings-count">
                    {format!("{} of {} shown", format::count(shown), format::count(total))}
                </span>
            }
        />
    }
}

fn finding_row(f: FindingRow) -> impl IntoView {
    let what = f.vulnerability.clone().unwrap_or_else(|| f.kind.clone());
    view! {
        <tr>
            <td class="num">{f.risk.map(|r| r.to_string()).unwrap_or_default()}</td>
            <td><SeverityBadge severity=f.severity /></td>
            <td>
                <div class="finding-title">{f.title}</div>
                {f.description.map(|d| view! { <div class="muted finding-description">{d}</div> })}
            </td>
            <td><code>{what}</code></td>
            <td>{f.package.unwrap_or_default()}</td>
            <td class="artifact">{f.image.or(f.resource).unwrap_or_default()}</td>
            <td>{f.cluster.unwrap_or_else(|| "—".to_owned())}</td>
            <td>{f.status}</td>
        </tr>
    }
}

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
