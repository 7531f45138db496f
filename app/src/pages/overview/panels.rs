//! The overview's chart panels: open findings with their change, SLA breaches, the 90-day
//! trend, new vs fixed per week, open findings by kind and MTTR.

use leptos::prelude::*;

use super::severity_series;
use crate::components::chart::{BarChart, Donut, LineChart, Series, Slice, Sparkline, StackedArea};
use crate::components::format;
use crate::components::severity::SeverityBadge;
use crate::model::{Overview, Severity};

/// "+12", "−3", "±0": a change for people.
fn delta(now: i64, then: i64) -> String {
    match now - then {
        0 => "±0".to_owned(),
        d if d > 0 => format!("+{}", format::count(d)),
        d => format!("−{}", format::count(-d)),
    }
}

/// Whether a change in open findings is good news (fewer), for its colour.
fn delta_class(now: i64, then: i64) -> &'static str {
    match now.cmp(&then) {
        std::cmp::Ordering::Less => "delta better",
        std::cmp::Ordering::Greater => "delta worse",
        std::cmp::Ordering::Equal => "delta",
    }
}

/// The id of a severity's sparkline.
fn spark_id(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "spark-critical",
        Severity::High => "spark-high",
        Severity::Medium => "spark-medium",
        Severity::Low => "spark-low",
        Severity::Unknown => "spark-unknown",
    }
}

/// Open findings by severity with the change against 7 and 30 days before, each with a 30-day
/// sparkline.
#[component]
pub fn OpenCard(overview: Overview) -> impl IntoView {
    let rows = Severity::WORST_FIRST
        .into_iter()
        .map(|s| {
            let now = overview.open.get(s);
            let (w, m) = (overview.open_7d_ago.get(s), overview.open_30d_ago.get(s));
            let recent: Vec<f64> = overview
                .trend
                .iter()
                .rev()
                .take(30)
                .rev()
                .map(|d| d.open.get(s) as f64)
                .collect();
            view! {
                <tr>
                    <th scope="row"><SeverityBadge severity=s /></th>
                    <td class="num" data-severity=s.slug()>{format::count(now)}</td>
                    <td class=delta_class(now, w)>{delta(now, w)}</td>
                    <td class=delta_class(now, m)>{delta(now, m)}</td>
                    <td>
                        <Sparkline
                            id=spark_id(s)
                            label=format!("{} open over 30 days", s.label())
                            values=recent
                            class=format!("sev-{}", s.slug())
                        />
                    </td>
                </tr>
            }
        })
        .collect_view();
    let total = overview.open.total();
    view! {
        <section class="card" aria-labelledby="open-heading">
            <h2 id="open-heading">"Open findings"</h2>
            <p class="big-number"><span data-testid="open-total">{format::count(total)}</span></p>
            <table class="compact" data-testid="open-by-severity">
                <caption class="visually-hidden">"Open findings by severity with their change"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Severity"</th>
                        <th scope="col" class="num">"Open"</th>
                        <th scope="col">"vs 7 d"</th>
                        <th scope="col">"vs 30 d"</th>
                        <th scope="col">"30 days"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}

/// SLA breaches: how many open findings are past their due date, by severity, with a link to
/// them and the policy.
#[component]
pub fn SlaCard(overview: Overview) -> impl IntoView {
    let total = overview.overdue.total();
    let policy = overview.policy;
    let rows = Severity::WORST_FIRST
        .into_iter()
        .filter(|s| *s != Severity::Unknown)
        .map(|s| {
            view! {
                <tr>
                    <th scope="row"><SeverityBadge severity=s /></th>
                    <td class="num" data-severity=s.slug()>{format::count(overview.overdue.get(s))}</td>
                    <td class="num">{format!("{} d", policy.days_for(s, false))}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="sla-heading">
            <h2 id="sla-heading">"SLA breaches"</h2>
            <p class="big-number">
                <a href="/findings?sla=overdue" data-testid="overdue-total">{format::count(total)}</a>
            </p>
            <p class="muted small">
                "Open past their due date. A KEV finding gets the critical clock. "
                <a href="/settings/sla">"SLA policy"</a>
            </p>
            <table class="compact" data-testid="overdue-by-severity">
                <caption class="visually-hidden">"Overdue findings by severity and days to fix"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Severity"</th>
                        <th scope="col" class="num">"Overdue"</th>
                        <th scope="col" class="num">"Days to fix"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}

/// The 90-day trend of open findings by severity, and of SLA breaches.
#[component]
pub fn TrendPanel(overview: Overview) -> impl IntoView {
    let labels: Vec<String> = overview.trend.iter().map(|d| d.day.to_string()).collect();
    let series = severity_series(|s| {
        overview
            .trend
            .iter()
            .map(|d| d.open.get(s) as f64)
            .collect()
    });
    let overdue = vec![Series {
        name: "Overdue".to_owned(),
        class: "series-overdue".to_owned(),
        values: overview.trend.iter().map(|d| d.overdue as f64).collect(),
    }];
    view! {
        <section class="card" aria-labelledby="trend-heading">
            <h2 id="trend-heading">"Open findings, 90 days"</h2>
            <StackedArea
                id="trend"
                title="Open findings per day by severity".to_owned()
                description="Stacked area of open findings at the end of each day over the last 90 days, by severity.".to_owned()
                labels=labels.clone()
                series
            />
            <LineChart
                id="overdue-trend"
                title="SLA breaches per day".to_owned()
                description="Open findings past their SLA due date at the end of each day over the last 90 days.".to_owned()
                labels
                series=overdue
            />
        </section>
    }
}

/// New and fixed findings per week.
#[component]
pub fn FlowPanel(overview: Overview) -> impl IntoView {
    let labels: Vec<String> = overview
        .weekly
        .iter()
        .map(|w| w.week.format("%b %d").to_string())
        .collect();
    let series = vec![
        Series {
            name: "New".to_owned(),
            class: "series-new".to_owned(),
            values: overview.weekly.iter().map(|w| w.new as f64).collect(),
        },
        Series {
            name: "Fixed".to_owned(),
            class: "series-fixed".to_owned(),
            values: overview.weekly.iter().map(|w| w.fixed as f64).collect(),
        },
    ];
    view! {
        <section class="card" aria-labelledby="flow-heading">
            <h2 id="flow-heading">"New vs fixed per week"</h2>
            <BarChart
                id="flow"
                title="New and fixed findings per week".to_owned()
                description="Findings first seen and findings fixed in each of the last 13 weeks (weeks start on Monday).".to_owned()
                labels
                series
            />
        </section>
    }
}

/// Open findings by kind: a donut of today's share and a table of the change.
#[component]
pub fn KindPanel(overview: Overview) -> impl IntoView {
    let slices: Vec<Slice> = overview
        .by_kind
        .iter()
        .filter(|k| k.now > 0)
        .map(|k| Slice {
            label: k.kind.clone(),
            class: format!("kind-{}", k.kind),
            value: k.now as f64,
            href: None,
        })
        .collect();
    let rows = overview
        .by_kind
        .iter()
        .map(|k| {
            view! {
                <tr>
                    <th scope="row">{k.kind.clone()}</th>
                    <td class="num" data-kind=k.kind.clone()>{format::count(k.now)}</td>
                    <td class=delta_class(k.now, k.d7)>{delta(k.now, k.d7)}</td>
                    <td class=delta_class(k.now, k.d30)>{delta(k.now, k.d30)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="kind-heading">
            <h2 id="kind-heading">"Open findings by kind"</h2>
            <Donut
                id="kinds"
                title="Open findings by kind".to_owned()
                description="Share of today's open findings per kind: vulnerabilities, misconfigurations, secrets and others.".to_owned()
                slices
                center=format::count(overview.open.total())
            />
            <table class="compact" data-testid="open-by-kind">
                <caption class="visually-hidden">"Open findings by kind with their change"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Kind"</th>
                        <th scope="col" class="num">"Open"</th>
                        <th scope="col">"vs 7 d"</th>
                        <th scope="col">"vs 30 d"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}

/// Mean time to remediate per severity over the chosen period, against the SLA.
#[component]
pub fn MttrPanel(overview: Overview) -> impl IntoView {
    let period = overview.filter.period();
    let shown: Vec<_> = overview
        .mttr
        .iter()
        .filter(|m| m.severity != Severity::Unknown)
        .cloned()
        .collect();
    let labels: Vec<String> = shown
        .iter()
        .map(|m| m.severity.label().to_owned())
        .collect();
    let series = vec![
        Series {
            name: "MTTR (days)".to_owned(),
            class: "series-mttr".to_owned(),
            values: shown.iter().map(|m| m.days.unwrap_or(0.0)).collect(),
        },
        Series {
            name: "SLA (days)".to_owned(),
            class: "series-sla".to_owned(),
            values: shown.iter().map(|m| f64::from(m.sla_days)).collect(),
        },
    ];
    let rows = shown
        .iter()
        .map(|m| {
            let mttr = m
                .days
                .map(|d| format!("{d:.1} d"))
                .unwrap_or_else(|| "—".to_owned());
            view! {
                <tr>
                    <th scope="row"><SeverityBadge severity=m.severity /></th>
                    <td class="num" data-severity=m.severity.slug()>{mttr}</td>
                    <td class="num">{format::count(m.fixed)}</td>
                    <td class="num">{format!("{} d", m.sla_days)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="mttr-heading">
            <h2 id="mttr-heading">{format!("Mean time to remediate, last {period} days")}</h2>
            <BarChart
                id="mttr"
                title=format!("MTTR and SLA per severity, last {period} days")
                description="Mean days from a finding opening to its fix, for findings fixed in the period, beside the SLA's days to fix.".to_owned()
                labels
                series
                unit="d"
            />
            <table class="compact" data-testid="mttr">
                <caption class="visually-hidden">"MTTR per severity"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Severity"</th>
                        <th scope="col" class="num">"MTTR"</th>
                        <th scope="col" class="num">"Fixed"</th>
                        <th scope="col" class="num">"SLA"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}
