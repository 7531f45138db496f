//! Overview: open findings by severity (fleet or one cluster), the clusters and the latest
//! reports. The breakdown's scope lives in the query string (`?cluster=NAME`), so it works as
//! plain links without JavaScript; once hydrated, switching it fetches only the breakdown.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::overview::{get_fleet_overview, get_severity_breakdown};
use crate::components::format;
use crate::components::severity::{SeverityBadge, SeverityBar, SeverityTiles};
use crate::error::AppError;
use crate::model::{ClusterSummary, FleetOverview, ReportSummary, Severity, SeverityBreakdown};

/// The landing page.
#[component]
pub fn Overview() -> impl IntoView {
    let query = use_query_map();
    let cluster = Memo::new(move |_| query.read().get("cluster").filter(|c| !c.is_empty()));
    let fleet = Resource::new(|| (), |_| get_fleet_overview());
    let breakdown = Resource::new(move || cluster.get(), get_severity_breakdown);

    view! {
        <Title text="Overview" />
        <h1>"Fleet overview"</h1>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            <ErrorBoundary fallback=error_list>
                {move || Suspend::new(async move {
                    let fleet = fleet.await?;
                    let breakdown = breakdown.await?;
                    Ok::<_, AppError>(view! {
                        <BreakdownSection fleet=fleet.clone() breakdown />
                        <ClustersSection clusters=fleet.clusters />
                        <ReportsSection reports=fleet.reports />
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

fn error_list(errors: ArcRwSignal<Errors>) -> impl IntoView {
    view! {
        <div class="alert" role="alert">
            <p>"The overview could not be loaded:"</p>
            <ul>
                {move || {
                    errors
                        .get()
                        .into_iter()
                        .map(|(_, e)| view! { <li>{e.to_string()}</li> })
                        .collect_view()
                }}
            </ul>
        </div>
    }
}

#[component]
fn BreakdownSection(fleet: FleetOverview, breakdown: SeverityBreakdown) -> impl IntoView {
    let scope = breakdown.cluster.clone();
    let heading = match &scope {
        Some(name) => format!("Open findings in {name}"),
        None => "Open findings across the fleet".to_owned(),
    };
    let total = breakdown.open.total();
    let current = |selected: bool| if selected { Some("true") } else { None };
    let links = fleet
        .clusters
        .iter()
        .map(|c| {
            let selected = scope.as_deref() == Some(c.name.as_str());
            view! {
                <li>
                    <a
                        href=format!("/?cluster={}", format::query_value(&c.name))
                        aria-current=current(selected)
                    >
                        {c.name.clone()}
                    </a>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="breakdown-heading">
            <div class="card-head">
                <h2 id="breakdown-heading">{heading}</h2>
                <p class="muted">
                    <span data-testid="open-total">{format::count(total)}</span>
                    " open · "
                    {format::count(fleet.images)}
                    " images known"
                </p>
            </div>
            <nav class="scope-switch" aria-label="Show the breakdown for">
                <ul>
                    <li>
                        <a href="/" aria-current=current(scope.is_none())>
                            "All clusters"
                        </a>
                    </li>
                    {links}
                </ul>
            </nav>
            <SeverityTiles counts=breakdown.open />
            <SeverityBar counts=breakdown.open />
        </section>
    }
}

#[component]
fn ClustersSection(clusters: Vec<ClusterSummary>) -> impl IntoView {
    let empty = clusters.is_empty();
    let rows = clusters
        .into_iter()
        .map(|c| {
            let href = format!("/?cluster={}", format::query_value(&c.name));
            let cells = [Severity::Critical, Severity::High, Severity::Medium, Severity::Low]
                .into_iter()
                .map(|s| view! { <td class="num">{format::count(c.open.get(s))}</td> })
                .collect_view();
            view! {
                <tr>
                    <th scope="row"><a href=href>{c.name.clone()}</a></th>
                    <td><span class=format!("provider provider-{}", c.provider)>{c.provider.clone()}</span></td>
                    <td>{c.environment.clone()}</td>
                    <td>{c.region.clone().unwrap_or_default()}</td>
                    {cells}
                    <td>{c.last_report_at.map(format::timestamp).unwrap_or_else(|| "never".to_owned())}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="clusters-heading">
            <h2 id="clusters-heading">"Clusters"</h2>
            {if empty {
                view! {
                    <p class="empty">
                        "No clusters yet. Create an ingest token with "
                        <code>"bulwark token create --source NAME --cluster NAME"</code>
                        " and send a report."
                    </p>
                }
                    .into_any()
            } else {
                view! {
                    <div class="table-wrap" tabindex="0" role="region" aria-label="Clusters table">
                        <table>
                            <thead>
                                <tr>
                                    <th scope="col">"Cluster"</th>
                                    <th scope="col">"Provider"</th>
                                    <th scope="col">"Environment"</th>
                                    <th scope="col">"Region"</th>
                                    <th scope="col" class="num"><SeverityBadge severity=Severity::Critical /></th>
                                    <th scope="col" class="num"><SeverityBadge severity=Severity::High /></th>
                                    <th scope="col" class="num"><SeverityBadge severity=Severity::Medium /></th>
                                    <th scope="col" class="num"><SeverityBadge severity=Severity::Low /></th>
                                    <th scope="col">"Last report"</th>
                                </tr>
                            </thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                }
                    .into_any()
            }}
        </section>
    }
}

#[component]
fn ReportsSection(reports: Vec<ReportSummary>) -> impl IntoView {
    let empty = reports.is_empty();
    let rows = reports
        .into_iter()
        .map(|r| {
            view! {
                <tr>
                    <td>{format::timestamp(r.received_at)}</td>
                    <td>{r.source}</td>
                    <td>{r.cluster.unwrap_or_else(|| "—".to_owned())}</td>
                    <td>{r.format}</td>
                    <td class="artifact">{r.artifact.unwrap_or_default()}</td>
                    <td class="num">{format::count(r.records)}</td>
                    <td class="num">{format::count(r.new)}</td>
                    <td class="num">{format::count(r.fixed)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="reports-heading">
            <h2 id="reports-heading">"Latest reports"</h2>
            {if empty {
                view! { <p class="empty">"No reports received yet."</p> }.into_any()
            } else {
                view! {
                    // focusable so that keyboard users can scroll it when it overflows
                    <div class="table-wrap" tabindex="0" role="region" aria-label="Reports table">
                        <table>
                            <thead>
                                <tr>
                                    <th scope="col">"Received"</th>
                                    <th scope="col">"Source"</th>
                                    <th scope="col">"Cluster"</th>
                                    <th scope="col">"Format"</th>
                                    <th scope="col">"Artifact"</th>
                                    <th scope="col" class="num">"Records"</th>
                                    <th scope="col" class="num">"New"</th>
                                    <th scope="col" class="num">"Fixed"</th>
                                </tr>
                            </thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                }
                    .into_any()
            }}
        </section>
    }
}
