//! The image page (`/images/{id}`): the image (repository, tag, digest), when it was first and
//! last seen, the clusters and workloads running it, its packages with their open findings, and
//! what upgrading would fix ("upgrading these N packages fixes M findings": the packages whose
//! findings all have a fixed version, and their findings).
//!
//! A viewer limited to clusters sees the image only when it runs in one of them, and only
//! their clusters, workloads and findings on it; otherwise, or for an image that does not exist,
//! the page answers 404. An id that is not a number is a 400.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params;

use crate::api::estate::get_image;
use crate::components::async_region::AsyncRegion;
use crate::components::format;
use crate::components::table::{Column, DataTable};
use crate::error::AppError;
use crate::model::{ImageDetail, ImagePath, ImageWorkload, PackageRow, Severity};
use crate::pages::findings::findings_href;
use crate::resource::resource;

/// The image page.
#[component]
pub fn ImagePage() -> impl IntoView {
    let params = use_params::<ImagePath>();
    let id = Memo::new(move |_| params.get().ok().and_then(|p| p.id).unwrap_or_default());
    let detail = resource(move || id.get(), get_image);
    #[cfg(feature = "ssr")]
    let response = use_context::<leptos_axum::ResponseOptions>();
    view! {
        <AsyncRegion>
            {move || {
                #[cfg(feature = "ssr")]
                let response = response.clone();
                Suspend::new(async move {
                    let detail = detail.await;
                    #[cfg(feature = "ssr")]
                    if let (Err(error @ (AppError::NotFound(_) | AppError::BadRequest(_))), Some(response)) =
                        (&detail, &response)
                        && let Ok(status) = http::StatusCode::from_u16(error.status())
                    {
                        // what is missing or malformed answers as such; other failures keep
                        // the page's status, as on every page
                        response.set_status(status);
                    }
                    let detail = detail?;
                    Ok::<_, AppError>(view! { <ImageBody detail /> })
                })
            }}
        </AsyncRegion>
    }
}

#[component]
fn ImageBody(detail: ImageDetail) -> impl IntoView {
    let name = detail.name();
    let filter = detail.filter();
    let id = detail.id.to_string();
    let upgrade = detail.upgrade;
    let upgrade_words = if upgrade.packages == 0 {
        "No package has a fixed version for all of its findings.".to_owned()
    } else {
        format!(
            "Upgrading these {} packages fixes {} findings.",
            format::count(upgrade.packages),
            format::count(upgrade.findings)
        )
    };
    let fixable: Vec<String> = detail
        .packages
        .iter()
        .filter(|p| p.fixable)
        .map(|p| {
            format!(
                "{} {} → {}",
                p.name,
                p.version,
                p.fixed_versions.clone().unwrap_or_default()
            )
        })
        .collect();
    let clusters = detail
        .clusters
        .iter()
        .map(|c| {
            let href = findings_href(&filter.with("cluster", Some(&c.name)));
            view! {
                <li>
                    <a href=href>{c.name.clone()}</a>
                    <span class="muted">{format!(" {} {}", format::count(c.workloads), format::plural(c.workloads, "workload", "workloads"))}</span>
                </li>
            }
        })
        .collect_view();
    let other = (detail.other_findings > 0).then(|| {
        view! {
            <p class="muted">
                {format!(
                    "{} more open findings are not on a package (secrets, misconfigurations).",
                    format::count(detail.other_findings)
                )}
            </p>
        }
    });
    let totals = detail.totals;
    let pkg_id = id.clone();
    view! {
        <Title text=format!("{name} · image") />
        <h1 class="image-name">{name.clone()}</h1>
        <section class="card image-facts" aria-labelledby="image-facts-heading">
            <h2 id="image-facts-heading">"Image"</h2>
            <dl class="facts">
                <dt>"Repository"</dt>
                <dd>{if detail.registry.is_empty() { detail.repository.clone() } else { format!("{}/{}", detail.registry, detail.repository) }}</dd>
                <dt>"Tag"</dt>
                <dd>{detail.tag.clone().unwrap_or_else(|| "—".to_owned())}</dd>
                <dt>"Digest"</dt>
                <dd><code class="digest">{detail.digest.clone().unwrap_or_else(|| "—".to_owned())}</code></dd>
                <dt>"Operating system"</dt>
                <dd>{detail.os.clone().unwrap_or_else(|| "—".to_owned())}</dd>
                <dt>"First seen"</dt>
                <dd>{format::timestamp(detail.first_seen)}</dd>
                <dt>"Last seen"</dt>
                <dd>{format::timestamp(detail.last_seen)}</dd>
                <dt>"Open findings"</dt>
                <dd>
                    <a href=findings_href(&filter) data-testid="image-findings">{format::count(totals.open())}</a>
                    {format!(" · highest risk {} · total risk {}", totals.risk_max, format::count(totals.risk_sum))}
                </dd>
            </dl>
        </section>
        <section class="card image-upgrade" aria-labelledby="image-upgrade-heading">
            <h2 id="image-upgrade-heading">"What upgrading fixes"</h2>
            <p data-testid="image-upgrade">{upgrade_words}</p>
            {(!fixable.is_empty()).then(|| view! {
                <details>
                    <summary>"The packages"</summary>
                    <ul>{fixable.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
                </details>
            })}
        </section>
        <section class="card image-clusters" aria-labelledby="image-clusters-heading">
            <h2 id="image-clusters-heading">"Clusters running it"</h2>
            {if detail.clusters.is_empty() {
                view! { <p class="muted">"No cluster you can see runs it (known from CI only)."</p> }.into_any()
            } else {
                view! { <ul class="image-cluster-list">{clusters}</ul> }.into_any()
            }}
        </section>
        <DataTable
            id="image-workloads"
            title="Workloads running it"
            label="Workloads table"
            columns=vec![Column::new("Cluster"), Column::new("Workload")]
            rows=detail.workloads
            row=|w: ImageWorkload| view! {
                <tr>
                    <td>{w.cluster.clone()}</td>
                    <td><a href=findings_href(&w.filter())>{w.label()}</a></td>
                </tr>
            }
            empty="No workload you can see runs it."
            testid="image-workloads"
        />
        <DataTable
            id="image-packages"
            title="Packages with open findings"
            label="Packages table"
            columns={
                let mut c = vec![Column::new("Package"), Column::new("Installed"), Column::new("Fixed in")];
                c.extend(Severity::WORST_FIRST.into_iter().map(Column::severity));
                c.push(Column::numeric("Highest risk"));
                c
            }
            rows=detail.packages
            row=move |p: PackageRow| view! { <PackageLine p image=pkg_id.clone() /> }
            empty="No package of this image has an open finding you can see."
            summary=|| "Riskiest first. Each package links to its findings on this image."
            testid="image-packages"
        />
        {other}
    }
}

#[component]
fn PackageLine(p: PackageRow, image: String) -> impl IntoView {
    let on_image = crate::model::ListFilter::default().with("image", Some(&image));
    let package = findings_href(&on_image.with("q", Some(&p.name)));
    let counts = Severity::WORST_FIRST
        .into_iter()
        .map(|severity| {
            let n = p.counts.get(severity);
            let cell = if n == 0 {
                view! { <span class="muted">"0"</span> }.into_any()
            } else {
                let href = findings_href(&on_image.with("severity", Some(severity.slug())));
                view! { <a href=href>{format::count(n)}</a> }.into_any()
            };
            view! { <td class="num">{cell}</td> }
        })
        .collect_view();
    view! {
        <tr data-package=p.name.clone() data-fixable=p.fixable.to_string()>
            <td><a href=package>{p.name.clone()}</a></td>
            <td>{p.version.clone()}</td>
            <td>{p.fixed_versions.clone().unwrap_or_else(|| "no fix".to_owned())}</td>
            {counts}
            <td class="num">{p.risk_max}</td>
        </tr>
    }
}
