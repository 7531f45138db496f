//! The estate page (`/estate`): provider → cluster → namespace → workload → image, each level
//! with its open findings by severity, its highest and total risk, and links into the findings
//! explorer filtered to it (each count to that severity too).
//!
//! At two hundred clusters and tens of thousands of workloads the page never lists everything:
//! the top level shows providers and their clusters, riskiest first; `?cluster=<name>` shows
//! that cluster's namespaces, each with its riskiest workloads and their images;
//! `?cluster=<name>&namespace=<ns>` every workload of one namespace. Drilling down is plain links
//! and `<details>`, so it all works without JavaScript. An unknown (or invisible) cluster or
//! namespace answers 404.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query;

use crate::api::estate::get_estate;
use crate::components::async_region::AsyncRegion;
use crate::components::format;
use crate::components::table::{Column, DataTable};
use crate::error::AppError;
use crate::model::{
    ClusterDetail, ClusterNode, Estate, EstateQuery, ListFilter, NamespaceNode, ProviderNode,
    RiskTotals, Severity, WorkloadNode, estate_href,
};
use crate::pages::findings::findings_href;
use crate::resource::resource;

/// The estate page.
#[component]
pub fn EstatePage() -> impl IntoView {
    let query = use_query::<EstateQuery>();
    let filter = Memo::new(move |_| query.get().unwrap_or_default().filter());
    let estate = resource(move || filter.get(), get_estate);
    #[cfg(feature = "ssr")]
    let response = use_context::<leptos_axum::ResponseOptions>();
    view! {
        <Title text="Estate" />
        <h1>"Estate"</h1>
        <AsyncRegion>
            {move || {
                #[cfg(feature = "ssr")]
                let response = response.clone();
                Suspend::new(async move {
                    let estate = estate.await;
                    #[cfg(feature = "ssr")]
                    if let (Err(error @ (AppError::NotFound(_) | AppError::BadRequest(_))), Some(response)) =
                        (&estate, &response)
                        && let Ok(status) = http::StatusCode::from_u16(error.status())
                    {
                        // what is missing or malformed answers as such; other failures keep
                        // the page's status, as on every page
                        response.set_status(status);
                    }
                    let estate = estate?;
                    Ok::<_, AppError>(view! { <EstateBody estate /> })
                })
            }}
        </AsyncRegion>
    }
}

#[component]
fn EstateBody(estate: Estate) -> impl IntoView {
    match estate.cluster {
        Some(detail) => view! { <ClusterView detail /> }.into_any(),
        None => {
            let providers = estate.providers;
            let empty = providers.is_empty().then(|| {
                view! { <p class="empty">"No cluster has reported yet."</p> }
            });
            view! {
                <p class="muted">
                    "Providers and their clusters, most total risk first. Open a cluster for its \
                     namespaces, workloads and images; every number links to those findings."
                </p>
                {empty}
                {providers
                    .into_iter()
                    .map(|provider| view! { <ProviderView provider /> })
                    .collect_view()}
            }
            .into_any()
        }
    }
}

/// The severity columns, the open count and the two risk columns every level's table has.
fn risk_columns(first: &'static str) -> Vec<Column> {
    let mut columns = vec![Column::new(first)];
    columns.extend(Severity::WORST_FIRST.into_iter().map(Column::severity));
    columns.extend([
        Column::numeric("Open"),
        Column::numeric("Highest risk"),
        Column::numeric("Total risk"),
    ]);
    columns
}

/// The cells of [`risk_columns`] after the first: each count links to the level's findings of
/// that severity, the open count to all of them.
fn risk_cells(totals: RiskTotals, filter: ListFilter) -> impl IntoView {
    let severities = Severity::WORST_FIRST
        .into_iter()
        .map(|severity| {
            let n = totals.counts.get(severity);
            let cell = if n == 0 {
                view! { <span class="muted">"0"</span> }.into_any()
            } else {
                let href = findings_href(&filter.with("severity", Some(severity.slug())));
                view! { <a href=href>{format::count(n)}</a> }.into_any()
            };
            view! { <td class="num">{cell}</td> }
        })
        .collect_view();
    let open = findings_href(&filter);
    view! {
        {severities}
        <td class="num"><a href=open>{format::count(totals.open())}</a></td>
        <td class="num">{totals.risk_max}</td>
        <td class="num">{format::count(totals.risk_sum)}</td>
    }
}

/// "12 open · highest risk 87 · total risk 1,234".
fn totals_words(totals: &RiskTotals) -> String {
    format!(
        "{} open · highest risk {} · total risk {}",
        format::count(totals.open()),
        totals.risk_max,
        format::count(totals.risk_sum)
    )
}

#[component]
fn ProviderView(provider: ProviderNode) -> impl IntoView {
    let filter = provider.filter();
    let summary = totals_words(&provider.totals);
    let clusters = provider.clusters.len();
    let name = provider.name.clone();
    view! {
        <details class="estate-level" open=true data-provider=name.clone()>
            <summary>
                <span class="estate-name">{name.clone()}</span>
                <span class="muted">
                    {format!(
                        " {clusters} {} · {summary}",
                        format::plural(clusters as i64, "cluster", "clusters")
                    )}
                </span>
            </summary>
            // links stay outside the summary: a control inside another is out of reach for
            // keyboards and screen readers
            <p class="estate-links">
                <a href=findings_href(&filter)>{format!("Findings on {name}")}</a>
            </p>
            <DataTable
                id="estate-clusters"
                title=format!("Clusters on {name}")
                label="Clusters table"
                columns={
                    let mut c = risk_columns("Cluster");
                    c.insert(1, Column::new("Environment"));
                    c
                }
                rows=provider.clusters
                row=|cluster: ClusterNode| {
                    let filter = cluster.filter();
                    view! {
                        <tr data-cluster=cluster.name.clone()>
                            <td><a href=cluster.href()>{cluster.name.clone()}</a></td>
                            <td>{cluster.environment.clone()}</td>
                            {risk_cells(cluster.totals, filter)}
                        </tr>
                    }
                }
                empty="No cluster."
            />
        </details>
    }
}

#[component]
fn ClusterView(detail: ClusterDetail) -> impl IntoView {
    let cluster = detail.cluster.clone();
    let name = cluster.name.clone();
    let crumbs = match &detail.namespace {
        Some(ns) => view! {
            <a href=estate_href(None, None)>"Estate"</a>
            " › "
            <a href=cluster.href()>{name.clone()}</a>
            " › "
            <span aria-current="page">{ns.clone()}</span>
        }
        .into_any(),
        None => view! {
            <a href=estate_href(None, None)>"Estate"</a>
            " › "
            <span aria-current="page">{name.clone()}</span>
        }
        .into_any(),
    };
    let title = match &detail.namespace {
        Some(ns) => format!("{name} / {ns} · estate"),
        None => format!("{name} · estate"),
    };
    let single = detail.namespace.is_some();
    let outside = (!single && detail.outside_namespaces.open() > 0).then(|| {
        view! {
            <p class="muted">
                {format!(
                    "Outside any namespace (images not placed on a workload, nodes, cluster-wide \
                     resources): {}.",
                    totals_words(&detail.outside_namespaces),
                )}
            </p>
        }
    });
    let namespaces = detail
        .namespaces
        .into_iter()
        .map(|ns| view! { <NamespaceView ns cluster=name.clone() single /> })
        .collect_view();
    view! {
        <Title text=title />
        <nav class="breadcrumbs" aria-label="Estate level">{crumbs}</nav>
        <section class="card estate-cluster" aria-labelledby="estate-cluster-heading">
            <h2 id="estate-cluster-heading">{name.clone()}</h2>
            <p class="muted">
                {format!("{} · {} · ", cluster.provider, cluster.environment)}
                {totals_words(&cluster.totals)}
                " · "
                <a href=findings_href(&cluster.filter())>"Its findings"</a>
            </p>
            {outside}
        </section>
        {namespaces}
    }
}

#[component]
fn NamespaceView(ns: NamespaceNode, cluster: String, single: bool) -> impl IntoView {
    let filter = ns.filter(&cluster);
    let summary = totals_words(&ns.totals);
    let shown = ns.workloads.len() as i64;
    let more = (!single && ns.workload_count > shown).then(|| {
        let href = estate_href(Some(&cluster), Some(&ns.name));
        view! {
            <p>
                <a href=href>{format!("All {} workloads of {}", format::count(ns.workload_count), ns.name)}</a>
            </p>
        }
    });
    let page = estate_href(Some(&cluster), Some(&ns.name));
    let name = ns.name.clone();
    let cluster_name = cluster.clone();
    view! {
        <details class="estate-level" open=single data-namespace=name.clone()>
            <summary>
                <span class="estate-name">{name.clone()}</span>
                <span class="muted">
                    {format!(
                        " {} {} · {summary}",
                        format::count(ns.workload_count),
                        format::plural(ns.workload_count, "workload", "workloads")
                    )}
                </span>
            </summary>
            <p class="estate-links">
                <a href=findings_href(&filter)>{format!("Findings in {name}")}</a>
                {(!single).then(|| view! { " · " <a href=page>"Namespace page"</a> })}
            </p>
            <DataTable
                id="estate-workloads"
                title=format!("Workloads in {name}")
                label="Workloads table"
                columns={
                    let mut c = risk_columns("Workload");
                    c.push(Column::new("Images"));
                    c
                }
                rows=ns.workloads
                row=move |workload: WorkloadNode| view! { <WorkloadRow workload cluster=cluster_name.clone() /> }
                empty="No workload in this namespace."
            />
            {more}
        </details>
    }
}

#[component]
fn WorkloadRow(workload: WorkloadNode, cluster: String) -> impl IntoView {
    let filter = workload.filter();
    let images = workload
        .images
        .into_iter()
        .map(|image| {
            let findings = findings_href(&image.filter(&cluster));
            let open = image.totals.open();
            view! {
                <li>
                    <a href=image.href()>{image.name.clone()}</a>
                    " "
                    <a href=findings class="muted" title="Open findings of this image in the cluster">
                        {format!("{} open, risk up to {}", format::count(open), image.totals.risk_max)}
                    </a>
                </li>
            }
        })
        .collect_view();
    view! {
        <tr>
            <td>
                <a href=findings_href(&filter)>{format!("{}/{}", workload.kind, workload.name)}</a>
            </td>
            {risk_cells(workload.totals, filter.clone())}
            <td><ul class="estate-images">{images}</ul></td>
        </tr>
    }
}
