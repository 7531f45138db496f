//! "Where is CVE-… running?": the clusters, workloads and images that carry one vulnerability,
//! as the findings page shows it when its search is exactly a CVE id. Renders the answer it is
//! given ([`WhereRunning`]); the page loads it.
//!
//! Every entry links on: a cluster and a workload to the explorer filtered to them and to the
//! vulnerability, an image to its page.

use leptos::prelude::*;

use crate::components::format;
use crate::model::{ListFilter, WhereRunning, image_href};

/// The explorer at `filter`.
fn explorer(filter: &ListFilter) -> String {
    format!("/findings{}", format::query_string(filter.pairs()))
}

/// The panel: three short lists, or a sentence when nothing the viewer sees carries it.
#[component]
pub fn WhereRunningPanel(answer: WhereRunning) -> impl IntoView {
    let cve = answer.vulnerability.clone();
    let heading = format!("Where is {cve} running?");
    let of = ListFilter::default().with("vulnerability", Some(&cve));
    let body = if answer.findings == 0 && answer.workloads.is_empty() {
        view! {
            <p class="muted">
                {format!("No open finding of {cve} in the clusters you can see.")}
            </p>
        }
        .into_any()
    } else {
        let summary = format!(
            "{} open findings: {} clusters, {} workloads, {} images.",
            format::count(answer.findings),
            format::count(answer.cluster_count),
            format::count(answer.workload_count),
            format::count(answer.image_count),
        );
        let more = |shown: usize, all: i64| {
            (all > shown as i64).then(|| {
                view! { <li class="muted">{format!("and {} more", format::count(all - shown as i64))}</li> }
            })
        };
        let clusters_more = more(answer.clusters.len(), answer.cluster_count);
        let workloads_more = more(answer.workloads.len(), answer.workload_count);
        let images_more = more(answer.images.len(), answer.image_count);
        let clusters = answer
            .clusters
            .into_iter()
            .map(|c| {
                let href = explorer(&of.with("cluster", Some(&c.name)));
                view! {
                    <li>
                        <a href=href>{c.name}</a>
                        <span class="muted">
                            {format!(" {} findings, risk up to {}", format::count(c.findings), c.risk_max)}
                        </span>
                    </li>
                }
            })
            .collect_view();
        let workloads = answer
            .workloads
            .into_iter()
            .map(|w| {
                let key = format!("{}:{}", w.cluster_id, w.workload_id);
                let href = explorer(&ListFilter::default().with("workload", Some(&key)));
                view! {
                    <li>
                        <a href=href>{w.label}</a>
                        <span class="muted">{format!(" in {}", w.cluster)}</span>
                    </li>
                }
            })
            .collect_view();
        let images = answer
            .images
            .into_iter()
            .map(|i| {
                view! {
                    <li>
                        <a href=image_href(i.id)>{i.name}</a>
                        <span class="muted">
                            {format!(" {} findings, risk up to {}", format::count(i.findings), i.risk_max)}
                        </span>
                    </li>
                }
            })
            .collect_view();
        view! {
            <p class="muted">{summary}</p>
            <div class="where-running-lists">
                <section aria-labelledby="where-running-clusters">
                    <h3 id="where-running-clusters">"Clusters"</h3>
                    <ul>{clusters}{clusters_more}</ul>
                </section>
                <section aria-labelledby="where-running-workloads">
                    <h3 id="where-running-workloads">"Workloads"</h3>
                    <ul>{workloads}{workloads_more}</ul>
                </section>
                <section aria-labelledby="where-running-images">
                    <h3 id="where-running-images">"Images"</h3>
                    <ul>{images}{images_more}</ul>
                </section>
            </div>
        }
        .into_any()
    };
    view! {
        <section class="card where-running" aria-labelledby="where-running-heading" data-testid="where-running">
            <h2 id="where-running-heading">{heading}</h2>
            {body}
            <p><a href=explorer(&of)>{format!("Every open finding of {cve}")}</a></p>
        </section>
    }
}
