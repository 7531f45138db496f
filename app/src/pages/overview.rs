//! Overview: open findings by severity (fleet or one cluster), the clusters and the latest
//! reports. The breakdown's scope lives in the query string (`?cluster=NAME`), so it works as
//! plain links without JavaScript; once hydrated, switching it fetches only the breakdown.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query;

use crate::api::overview::{get_fleet_overview, get_severity_breakdown};
use crate::components::async_region::AsyncRegion;
use crate::components::format;
use crate::components::severity::{SeverityBar, SeverityTiles};
use crate::components::table::{Column, DataTable};
use crate::error::AppError;
use crate::model::{
    ClusterSummary, FleetOverview, OverviewQuery, ReportSummary, Severity, SeverityBreakdown,
};

/// The landing page.
#[component]
pub fn Overview() -> impl IntoView {
    let query = use_query::<OverviewQuery>();
    let cluster = Memo::new(move |_| query.get().unwrap_or_default().cluster.into_inner());
    let fleet = Resource::new(|| (), |_| get_fleet_overview());
    let breakdown = Resource::new(move || cluster.get(), get_severity_breakdown);

    view! {
        <Title text="Overview" />
        <h1>"Fleet overview"</h1>
        <AsyncRegion>
            {move || Suspend::new(async move {
                let fleet = fleet.await?;
                let breakdown = breakdown.await?;
                Ok::<_, AppError>(view! {
                    <BreakdownSection fleet=fleet.clone() breakdown />
                    <ClustersSection clusters=fleet.clusters />
                    <ReportsSection reports=fleet.reports />
                })
            })}
        </AsyncRegion>
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
    view! {
        <DataTable
            id="clusters"
            title="Clusters"
            label="Clusters table"
            columns=vec![
                Column::new("Cluster"),
                Column::new("Provider"),
                Column::new("Environment"),
                Column::new("Region"),
                Column::severity(Severity::Critical),
                Column::severity(Severity::High),
                Column::severity(Severity::Medium),
                Column::severity(Severity::Low),
                Column::new("Last report"),
            ]
            rows=clusters
            row=cluster_row
            empty="No clusters yet."
            hint=|| view! {
                "Create an ingest token with "
                <code>"bulwark token create --source NAME --cluster NAME"</code>
                " and send a report."
            }
        />
    }
}

fn cluster_row(c: ClusterSummary) -> impl IntoView {
    let href = format!("/?cluster={}", format::query_value(&c.name));
    let cells = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ]
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
}

#[component]
fn ReportsSection(reports: Vec<ReportSummary>) -> impl IntoView {
    view! {
        <DataTable
            id="reports"
            title="Latest reports"
            label="Reports table"
            columns=vec![
                Column::new("Received"),
                Column::new("Source"),
                Column::new("Cluster"),
                Column::new("Format"),
                Column::new("Artifact"),
                Column::numeric("Records"),
                Column::numeric("New"),
                Column::numeric("Fixed"),
            ]
            rows=reports
            row=report_row
            empty="No reports received yet."
            hint=|| "Scanners send reports to the ingestion API with an ingest token."
        />
    }
}

fn report_row(r: ReportSummary) -> impl IntoView {
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
}
