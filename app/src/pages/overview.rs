//! Overview: the security manager's morning page. Posture score, open findings with their
//! change, the 90-day trend, new vs fixed per week, SLA breaches, MTTR, the top risks, the
//! worst clusters and workloads, and scanner coverage, for the clusters the filter selects.
//!
//! The filters (provider, environment, cluster, MTTR period) are a GET form whose fields are
//! [`OverviewQuery`]: they live in the URL and apply to every panel, with or without
//! JavaScript. Every chart is drawn on the server (`components::chart`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query;

use crate::api::overview::get_overview;
use crate::components::async_region::AsyncRegion;
use crate::components::chart::{Donut, Series, Slice};
use crate::components::format;
use crate::components::severity::SeverityBadge;
use crate::components::table::{Column, DataTable};
use crate::error::AppError;
use crate::model::{
    ClusterRisk, CoverageRow, FilterOptions, Overview, OverviewFilter, OverviewQuery, Posture,
    Severity, TopRisk, WorkloadRisk, finding_href,
};
use crate::resource::resource;

mod panels;

/// The landing page.
#[component]
pub fn Overview() -> impl IntoView {
    let query = use_query::<OverviewQuery>();
    let filter = Memo::new(move |_| query.get().unwrap_or_default().filter());
    let overview = resource(move || filter.get(), get_overview);
    view! {
        <Title text="Overview" />
        <h1>"Posture"</h1>
        <AsyncRegion>
            {move || Suspend::new(async move {
                let overview = overview.await?;
                Ok::<_, AppError>(view! { <OverviewBody overview /> })
            })}
        </AsyncRegion>
    }
}

#[component]
fn OverviewBody(overview: Overview) -> impl IntoView {
    let scope = scope_words(&overview.filter, overview.includes_fleet_level);
    let as_of = overview
        .as_of
        .map(|d| format!("Rolled up daily; figures as of {d} (UTC)."))
        .unwrap_or_else(|| "The daily rollup has not run yet: trends appear after it.".to_owned());
    view! {
        <FilterForm filter=overview.filter.clone() options=overview.options.clone() />
        <p class="muted scope-line" data-testid="scope">{scope} " " {as_of}</p>
        <div class="grid headline">
            <PostureCard overview=overview.clone() />
            <panels::OpenCard overview=overview.clone() />
            <panels::SlaCard overview=overview.clone() />
        </div>
        <div class="grid two">
            <panels::TrendPanel overview=overview.clone() />
            <panels::FlowPanel overview=overview.clone() />
        </div>
        <div class="grid two">
            <panels::KindPanel overview=overview.clone() />
            <panels::MttrPanel overview=overview.clone() />
        </div>
        <TopRisks rows=overview.top_risks.clone() />
        <div class="grid two">
            <WorstClusters rows=overview.worst_clusters.clone() />
            <WorstWorkloads rows=overview.worst_workloads.clone() />
        </div>
        <Coverage rows=overview.coverage.clone() hours=overview.policy.stale_after_hours />
    }
}

/// "All clusters and fleet-level findings", "Clusters on aws in prod", ….
fn scope_words(filter: &OverviewFilter, fleet_level: bool) -> String {
    let mut parts = Vec::new();
    if let Some(c) = &filter.cluster {
        parts.push(format!("Cluster {c}"));
    } else {
        parts.push("All clusters".to_owned());
    }
    if let Some(p) = &filter.provider {
        parts.push(format!("on {p}"));
    }
    if let Some(e) = &filter.environment {
        parts.push(format!("in {e}"));
    }
    let mut words = parts.join(" ");
    if fleet_level {
        words.push_str(" and fleet-level (CI) findings.");
    } else {
        words
            .push_str(" you may see; fleet-level (CI) findings count only in the unfiltered view.");
    }
    words
}

#[component]
fn FilterForm(filter: OverviewFilter, options: FilterOptions) -> impl IntoView {
    let select = |name: &'static str,
                  label: &'static str,
                  any: &'static str,
                  values: Vec<String>,
                  chosen: Option<String>| {
        let options = values
            .into_iter()
            .map(|v| {
                let selected = chosen.as_deref() == Some(v.as_str());
                view! { <option value=v.clone() selected=selected>{v.clone()}</option> }
            })
            .collect_view();
        view! {
            <label>
                {label}
                <select name=name>
                    <option value="">{any}</option>
                    {options}
                </select>
            </label>
        }
    };
    let period = filter.period();
    let periods = OverviewFilter::PERIODS
        .into_iter()
        .map(|d| {
            view! { <option value=d.to_string() selected=d == period>{format!("{d} days")}</option> }
        })
        .collect_view();
    view! {
        <form method="get" action="/" class="filters card" aria-label="Overview filters">
            {select("provider", "Provider", "any", options.providers, filter.provider)}
            {select("environment", "Environment", "any", options.environments, filter.environment)}
            {select("cluster", "Cluster", "all", options.clusters, filter.cluster)}
            <label>"MTTR period" <select name="days">{periods}</select></label>
            <button type="submit">"Apply"</button>
            <a class="button-link" href="/">"Reset"</a>
        </form>
    }
}

#[component]
fn PostureCard(overview: Overview) -> impl IntoView {
    let p = overview.posture;
    let band = match p.score {
        90.. => "good",
        70..=89 => "fair",
        _ => "poor",
    };
    let slices = vec![
        Slice {
            label: "Score".to_owned(),
            class: format!("posture-{band}"),
            value: f64::from(p.score),
            href: None,
        },
        Slice {
            label: "Gap to 100".to_owned(),
            class: "posture-gap".to_owned(),
            value: f64::from(100 - p.score),
            href: None,
        },
    ];
    view! {
        <section class="card posture" aria-labelledby="posture-heading">
            <h2 id="posture-heading">"Posture score"</h2>
            <Donut
                id="posture-donut"
                title=format!("Posture score {} of 100", p.score)
                description=format!(
                    "{:.0}% of severity-weighted open findings within SLA; {:.0}% of scanners reporting in time.",
                    p.within_sla * 100.0,
                    p.coverage * 100.0,
                )
                slices
                center=p.score.to_string()
            />
            <p class="posture-score">
                <span class="visually-hidden">"Score: "</span>
                <span data-testid="posture-score">{p.score}</span>
                <span class="muted">" / 100"</span>
            </p>
            <p class="muted small" data-testid="posture-formula">{Posture::FORMULA}</p>
            <p class="small">
                {format!("Within SLA {:.0}% · coverage {:.0}%", p.within_sla * 100.0, p.coverage * 100.0)}
            </p>
        </section>
    }
}

#[component]
fn TopRisks(rows: Vec<TopRisk>) -> impl IntoView {
    view! {
        <DataTable
            id="top-risks"
            title="Top 10 risks"
            label="Top risks table"
            testid="top-risks"
            columns=vec![
                Column::numeric("Risk"),
                Column::new("Severity"),
                Column::new("Finding"),
                Column::new("Cluster"),
                Column::new("Where"),
                Column::new("Why"),
            ]
            rows
            row=top_risk_row
            empty="No open findings here."
        />
    }
}

fn top_risk_row(r: TopRisk) -> impl IntoView {
    let name = r.vulnerability.clone().unwrap_or_else(|| r.title.clone());
    let href = finding_href(r.cluster_id, r.id);
    let why = if r.factors.is_empty() {
        "severity".to_owned()
    } else {
        r.factors.join(" · ")
    };
    view! {
        <tr>
            <td class="num"><strong>{r.risk}</strong></td>
            <td><SeverityBadge severity=r.severity /></td>
            <td>
                <a class="finding-name" href=href>{name}</a>
                {r.vulnerability.is_some().then(|| view! { <br /><span class="muted small">{r.title.clone()}</span> })}
            </td>
            <td>{r.cluster.unwrap_or_else(|| "fleet-level".to_owned())}</td>
            <td class="artifact">{r.place.unwrap_or_default()}</td>
            <td class="factors">{why}</td>
        </tr>
    }
}

#[component]
fn WorstClusters(rows: Vec<ClusterRisk>) -> impl IntoView {
    view! {
        <DataTable
            id="worst-clusters"
            title="Clusters with the most risk"
            label="Worst clusters table"
            testid="worst-clusters"
            columns=vec![
                Column::new("Cluster"),
                Column::new("Env"),
                Column::numeric("Risk (sum)"),
                Column::numeric("Max"),
                Column::severity(Severity::Critical),
                Column::numeric("Open"),
            ]
            rows
            row=|c: ClusterRisk| {
                let href = format!("/?cluster={}", format::query_value(&c.name));
                view! {
                    <tr>
                        <th scope="row">
                            <a href=href>{c.name.clone()}</a>
                            " "
                            <span class=format!("provider provider-{}", c.provider)>{c.provider.clone()}</span>
                        </th>
                        <td>{c.environment.clone()}</td>
                        <td class="num">{format::count(c.risk_sum)}</td>
                        <td class="num">{c.risk_max}</td>
                        <td class="num">{format::count(c.critical)}</td>
                        <td class="num">{format::count(c.open)}</td>
                    </tr>
                }
            }
            empty="No cluster has open findings."
        />
    }
}

#[component]
fn WorstWorkloads(rows: Vec<WorkloadRisk>) -> impl IntoView {
    view! {
        <DataTable
            id="worst-workloads"
            title="Workloads with the most risk"
            label="Worst workloads table"
            testid="worst-workloads"
            columns=vec![
                Column::new("Workload"),
                Column::new("Cluster"),
                Column::numeric("Risk (sum)"),
                Column::numeric("Max"),
                Column::severity(Severity::Critical),
                Column::numeric("Open"),
            ]
            rows
            row=|w: WorkloadRisk| view! {
                <tr>
                    <th scope="row">
                        {format!("{}/{}", w.namespace, w.name)}
                        <span class="muted small">{format!(" {}", w.kind)}</span>
                    </th>
                    <td>{w.cluster.clone()}</td>
                    <td class="num">{format::count(w.risk_sum)}</td>
                    <td class="num">{w.risk_max}</td>
                    <td class="num">{format::count(w.critical)}</td>
                    <td class="num">{format::count(w.open)}</td>
                </tr>
            }
            empty="No workload has open findings."
        />
    }
}

#[component]
fn Coverage(rows: Vec<CoverageRow>, hours: i32) -> impl IntoView {
    /// Reporting scanners listed after the stale ones; the rest are counted.
    const FRESH_SHOWN: usize = 10;
    let stale = rows.iter().filter(|r| r.stale).count();
    let total = rows.len();
    let hidden = total.saturating_sub(stale + FRESH_SHOWN);
    let summary = format!(
        "{stale} of {total} cluster scanners stale (no report for {hours} h), listed first{}.",
        if hidden > 0 {
            format!("; {hidden} more reporting in time not listed")
        } else {
            String::new()
        }
    );
    let rows: Vec<CoverageRow> = rows.into_iter().take(stale + FRESH_SHOWN).collect();
    view! {
        <DataTable
            id="coverage"
            title="Coverage"
            label="Coverage table"
            testid="coverage"
            summary=move || summary.clone()
            columns=vec![
                Column::new("Cluster"),
                Column::new("Source"),
                Column::new("Last report"),
                Column::new("State"),
            ]
            rows
            row=|r: CoverageRow| {
                let state = if r.stale {
                    view! { <span class="badge stale">"stale"</span> }.into_any()
                } else {
                    view! { <span class="badge fresh">"reporting"</span> }.into_any()
                };
                view! {
                    <tr class=r.stale.then_some("is-stale")>
                        <th scope="row">{r.cluster.unwrap_or_else(|| "—".to_owned())}</th>
                        <td>{r.source.unwrap_or_else(|| "no scanner".to_owned())}</td>
                        <td>{r.last_report_at.map(format::timestamp).unwrap_or_else(|| "never".to_owned())}</td>
                        <td>{state}</td>
                    </tr>
                }
            }
            empty="No clusters here."
            hint=|| view! {
                "Create an ingest token with "
                <code>"bulwark token create --source NAME --cluster NAME"</code>
                " and send a report."
            }
        />
    }
}

/// The series of a severity-coloured chart, worst first.
pub(crate) fn severity_series(values: impl Fn(Severity) -> Vec<f64>) -> Vec<Series> {
    Severity::WORST_FIRST
        .into_iter()
        .map(|s| Series {
            name: s.label().to_owned(),
            class: format!("sev-{}", s.slug()),
            values: values(s),
        })
        .collect()
}
