//! Open findings, riskiest first, and the newest runtime events. Filters are GET forms (query
//! string), so both work without JavaScript and can be bookmarked.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::findings::{get_events, get_findings};
use crate::components::format;
use crate::components::severity::SeverityBadge;
use crate::error::AppError;
use crate::model::{EventRow, FindingRow, ListFilter, Severity};

fn filter_from_query() -> Memo<ListFilter> {
    let query = use_query_map();
    Memo::new(move |_| {
        let q = query.read();
        let get = |k: &str| {
            q.get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        ListFilter {
            severity: get("severity"),
            cluster: get("cluster"),
            q: get("q"),
        }
    })
}

fn errors_view(errors: ArcRwSignal<Errors>) -> impl IntoView {
    view! {
        <div class="alert" role="alert">
            {move || errors.get().into_iter().map(|(_, e)| view! { <p>{e.to_string()}</p> }).collect_view()}
        </div>
    }
}

#[component]
fn FilterForm(action: &'static str, filter: ListFilter, severity: bool) -> impl IntoView {
    let options = Severity::WORST_FIRST
        .into_iter()
        .map(|s| {
            let selected = filter.severity.as_deref() == Some(s.slug());
            view! { <option value=s.slug() selected=selected>{s.label()}</option> }
        })
        .collect_view();
    view! {
        <form method="get" action=action class="filters card">
            {severity.then(|| view! {
                <label>
                    "Severity"
                    <select name="severity">
                        <option value="">"any"</option>
                        {options}
                    </select>
                </label>
            })}
            <label>"Cluster" <input type="search" name="cluster" value=filter.cluster.clone().unwrap_or_default() /></label>
            <label>"Contains" <input type="search" name="q" value=filter.q.clone().unwrap_or_default() /></label>
            <button type="submit">"Apply"</button>
        </form>
    }
}

/// The findings page.
#[component]
pub fn Findings() -> impl IntoView {
    let filter = filter_from_query();
    let list = Resource::new(move || filter.get(), get_findings);
    view! {
        <Title text="Findings" />
        <h1>"Open findings"</h1>
        <FilterForm action="/findings" filter=filter.get_untracked() severity=true />
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            <ErrorBoundary fallback=errors_view>
                {move || Suspend::new(async move {
                    let list = list.await?;
                    Ok::<_, AppError>(view! { <FindingTable rows=list.rows total=list.total /> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn FindingTable(rows: Vec<FindingRow>, total: i64) -> impl IntoView {
    if rows.is_empty() {
        return view! { <section class="card"><p class="empty">"No open findings match."</p></section> }
            .into_any();
    }
    let shown = rows.len();
    let body = rows
        .into_iter()
        .map(|f| {
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
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="findings-heading">
            <h2 id="findings-heading">"Riskiest first"</h2>
            <p class="muted" data-testid="findings-count">
                {format!("{} of {} shown", format::count(shown as i64), format::count(total))}
            </p>
            <div class="table-wrap" tabindex="0" role="region" aria-label="Findings table">
                <table>
                    <thead>
                        <tr>
                            <th scope="col" class="num">"Risk"</th>
                            <th scope="col">"Severity"</th>
                            <th scope="col">"Finding"</th>
                            <th scope="col">"Id"</th>
                            <th scope="col">"Package"</th>
                            <th scope="col">"Image or resource"</th>
                            <th scope="col">"Cluster"</th>
                            <th scope="col">"Status"</th>
                        </tr>
                    </thead>
                    <tbody>{body}</tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}

/// The runtime events page.
#[component]
pub fn Events() -> impl IntoView {
    let filter = filter_from_query();
    let list = Resource::new(move || filter.get(), get_events);
    view! {
        <Title text="Runtime events" />
        <h1>"Runtime events"</h1>
        <FilterForm action="/events" filter=filter.get_untracked() severity=false />
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            <ErrorBoundary fallback=errors_view>
                {move || Suspend::new(async move {
                    let list = list.await?;
                    Ok::<_, AppError>(view! { <EventTable rows=list.rows /> })
                })}
            </ErrorBoundary>
        </Transition>
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

#[component]
fn EventTable(rows: Vec<EventRow>) -> impl IntoView {
    if rows.is_empty() {
        return view! { <section class="card"><p class="empty">"No runtime events match."</p></section> }
            .into_any();
    }
    let body = rows
        .into_iter()
        .map(|e| {
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
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="events-heading">
            <h2 id="events-heading">"Newest first"</h2>
            <div class="table-wrap" tabindex="0" role="region" aria-label="Runtime events table">
                <table>
                    <thead>
                        <tr>
                            <th scope="col">"When"</th>
                            <th scope="col">"Priority"</th>
                            <th scope="col">"Rule"</th>
                            <th scope="col">"Output"</th>
                            <th scope="col">"Where"</th>
                            <th scope="col">"Image"</th>
                            <th scope="col">"Cluster"</th>
                        </tr>
                    </thead>
                    <tbody>{body}</tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}
