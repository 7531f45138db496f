//! The finding page (`/findings/{cluster_id}/{finding_id}`): why one finding matters. What it
//! is and where, its SLA, its risk score with every stored factor (value, weight, points, the
//! reason in words, and the sum), the catalogue entry of its vulnerability with KEV and EPSS,
//! the evidence each scanner scope gave, its fixed versions, where else the same vulnerability
//! runs (within the viewer's clusters), and its history.
//!
//! A finding that does not exist, or that the viewer may not see, is "not found" with status
//! 404, the same for both. Everything a scanner wrote is rendered as text; of its references
//! only http and https URLs become links. The decisions (accept, false positive,
//! reopen, assign an owner, comment) are forms at the end, for viewers who may take them;
//! the owner shows in the header, and the history tells acceptances waiting for approval,
//! rejected and approved ones, assignments and comments apart.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params;

use crate::api::triage::DecideFindings;
use crate::components::async_region::ErrorNotice;
use crate::components::flash::{FlashMessage, use_flash};

use crate::api::finding::get_finding;
use crate::components::async_region::AsyncRegion;
use crate::components::format;
use crate::components::severity::SeverityBadge;
use crate::components::table::{Column, DataTable};
use crate::error::AppError;
use crate::model::{
    CatalogueEntry, Evidence, FindingDetail, FindingPath, HistoryEntry, HistoryEvent, ImageGroup,
    Owner, ReportRef, RiskExplained, RiskFactor, SlaClock, WhereElse, is_web_link, status_words,
};
use crate::resource::resource;

/// The finding page.
#[component]
pub fn Finding() -> impl IntoView {
    let params = use_params::<FindingPath>();
    let key = Memo::new(move |_| params.get().ok().and_then(|p| p.key()));
    let decide = ServerAction::<DecideFindings>::new();
    // read again after each decision, so the status and the history show it
    let detail = resource(
        move || (key.get(), decide.version().get()),
        |(key, _)| async move {
            match key {
                Some((cluster_id, finding_id)) => get_finding(cluster_id, finding_id).await,
                None => Err(AppError::NotFound("This finding".to_owned())),
            }
        },
    );
    // a finding that does not exist (or that the viewer may not see) answers 404, as an
    // unknown address does
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
                    if let (Err(AppError::NotFound(_)), Some(response)) = (&detail, &response) {
                        response.set_status(http::StatusCode::NOT_FOUND);
                    }
                    let detail = detail?;
                    Ok::<_, AppError>(view! { <FindingBody detail decide /> })
                })
            }}
        </AsyncRegion>
    }
}

#[component]
fn FindingBody(detail: FindingDetail, decide: ServerAction<DecideFindings>) -> impl IntoView {
    let name = detail
        .vulnerability_id
        .clone()
        .or_else(|| detail.rule_id.clone())
        .unwrap_or_else(|| detail.title.clone());
    let page_title = format!("{name} · finding");
    let fixed_versions: Vec<(String, String)> = detail
        .evidence
        .iter()
        .filter_map(|e| Some((e.source.clone(), e.fixed_versions.clone()?)))
        .collect();
    view! {
        <Title text=page_title />
        <Header detail=detail.clone() name />
        <RiskCard risk=detail.risk.clone() />
        {detail.vulnerability.clone().map(|entry| view! { <Catalogue entry /> })}
        <EvidenceTable rows=detail.evidence.clone() />
        <FixedVersions fixed=detail.fixed_version.clone() by_source=fixed_versions />
        {detail.where_else.clone().map(|w| view! { <WhereElseCard where_else=w /> })}
        <History entries=detail.history.clone() truncated=detail.history_truncated />
        <div id="finding-decisions" data-testid="finding-decisions">
            {detail.can_decide.then(|| view! { <Decisions detail=detail.clone() decide /> })}
        </div>
    }
}

/// The decisions an analyst takes here, each its own form posting to `/rpc/triage/decide`
/// for this one finding (with or without JavaScript); the outcome comes back as a flash, a
/// refusal as the action's error.
#[component]
fn Decisions(detail: FindingDetail, decide: ServerAction<DecideFindings>) -> impl IntoView {
    let key = format!("{}:{}", detail.cluster_id, detail.id);
    let next = crate::model::finding_href(detail.cluster_id, detail.id);
    let refusal = move || {
        decide
            .value()
            .get()
            .and_then(Result::err)
            .map(|error| view! { <ErrorNotice error /> })
    };
    let open = matches!(detail.status.as_str(), "open" | "reopened");
    let form =
        move |action: &'static str, legend: &'static str, fields: AnyView, button: &'static str| {
            let key = key.clone();
            let next = next.clone();
            view! {
                <ActionForm action=decide attr:class="decision" attr:aria-label=legend>
                    <input type="hidden" name="action" value=action />
                    <input type="hidden" name="keys[]" value=key />
                    <input type="hidden" name="next" value=next />
                    <h3>{legend}</h3>
                    {fields}
                    <button type="submit">{button}</button>
                </ActionForm>
            }
        };
    let justification = |id: &'static str, required: bool| {
        view! {
            <label for=id>"Justification"</label>
            <textarea id=id name="justification" rows="2" maxlength="2000" required=required></textarea>
        }
        .into_any()
    };
    // no form when nobody may own it (the picker would offer nothing)
    let assign = if detail.assignees.is_empty() {
        view! {
            <p class="muted small" data-testid="no-assignees">
                "Nobody who sees this finding may own it."
            </p>
        }
        .into_any()
    } else {
        form("assign", "Assign an owner", owner_picker(&detail), "Assign").into_any()
    };
    view! {
        <section class="card decisions" aria-labelledby="decisions-heading">
            <h2 id="decisions-heading">"Decide"</h2>
            <FlashMessage flash=use_flash() id="finding-flash" />
            {refusal}
            <div class="decision-forms">
                {open.then(|| form(
                    "accept",
                    "Accept the risk",
                    view! {
                        {justification("accept-why", true)}
                        <label for="accept-until">"Accepted until"</label>
                        <input id="accept-until" type="date" name="expires" required=true />
                    }
                    .into_any(),
                    "Accept",
                ))}
                {open.then(|| form(
                    "false_positive",
                    "Mark false positive",
                    justification("fp-why", true),
                    "Mark false positive",
                ))}
                {(!open).then(|| form("reopen", "Reopen", justification("reopen-why", false), "Reopen"))}
                {assign}
                {form(
                    "comment",
                    "Comment",
                    view! {
                        <label for="comment-text">"Comment"</label>
                        <textarea id="comment-text" name="justification" rows="2" maxlength="4000" required=true></textarea>
                    }
                    .into_any(),
                    "Comment",
                )}
            </div>
        </section>
    }
}

/// The owner picker: the users who may own the finding, its owner (if one of them) chosen.
fn owner_picker(detail: &FindingDetail) -> AnyView {
    let current = detail.owner.as_ref().map(|o| o.name.clone());
    let options = detail
        .assignees
        .iter()
        .map(|a| {
            let chosen = current.as_deref() == Some(a.name.as_str());
            view! { <option value=a.id.to_string() selected=chosen>{a.label()}</option> }
        })
        .collect_view();
    view! {
        <label for="assign-to">"Owner"</label>
        <select id="assign-to" name="assignee" required=true>
            <option value="">"Choose a user…"</option>
            {options}
        </select>
    }
    .into_any()
}

#[component]
fn Header(detail: FindingDetail, name: String) -> impl IntoView {
    let subtitle = (detail.title != name).then(|| detail.title.clone());
    let row = |label: &'static str, value: Option<String>| {
        value.map(|value| view! { <dt>{label}</dt> <dd>{value}</dd> })
    };
    let cluster = detail
        .cluster
        .clone()
        .unwrap_or_else(|| "fleet-level (not bound to a cluster)".to_owned());
    let image = detail.image.clone().map(|i| match &detail.image_digest {
        Some(digest) => format!("{i} ({digest})"),
        None => i,
    });
    let last_seen = Some(
        detail
            .last_seen
            .map(format::timestamp)
            .unwrap_or_else(|| "no scanner reports it any more".to_owned()),
    );
    view! {
        <header class="finding-header">
            <h1 data-testid="finding-name">{name}</h1>
            {subtitle.map(|t| view! { <p class="finding-title">{t}</p> })}
            <p class="finding-badges">
                <SeverityBadge severity=detail.severity />
                " "
                <span class=format!("badge status-{}", detail.status) data-testid="finding-status">
                    {status_words(&detail.status)}
                </span>
                " "
                <span class="badge kind">{detail.kind.clone()}</span>
            </p>
            <p class="finding-owner" data-testid="finding-owner">{owner_words(detail.owner.as_ref())}</p>
        </header>
        <section class="card" aria-labelledby="where-heading">
            <h2 id="where-heading">"Where and when"</h2>
            <dl class="facts" data-testid="finding-facts">
                <dt>"Cluster"</dt>
                <dd>{cluster}</dd>
                {row("Package", detail.package.clone())}
                {row("Image", image)}
                {row("Workload", detail.workload.clone())}
                {row("Resource", detail.resource.clone())}
                {row("First seen", Some(format::timestamp(detail.first_seen)))}
                {row("Last seen", last_seen)}
                {row("Status since", Some(format::timestamp(detail.status_changed_at)))}
                {row("Fixed", detail.fixed_at.map(format::timestamp))}
                {detail.sla.clone().map(|sla| view! { <SlaRow sla /> })}
            </dl>
        </section>
    }
}

/// "Owner: Dana (assigned by Sam, 2026-12-08 10:00 UTC)", or "Unassigned".
fn owner_words(owner: Option<&Owner>) -> String {
    match owner {
        None => "Unassigned".to_owned(),
        Some(owner) => format!(
            "Owner: {}{} (assigned{} {})",
            owner.name,
            if owner.disabled {
                ", account disabled"
            } else {
                ""
            },
            owner
                .by
                .as_ref()
                .map(|by| format!(" by {by}"))
                .unwrap_or_default(),
            format::timestamp(owner.since)
        ),
    }
}

#[component]
fn SlaRow(sla: SlaClock) -> impl IntoView {
    let clock = if sla.kev_clock {
        format!("{} days (the critical clock: in CISA KEV)", sla.days)
    } else {
        format!("{} days", sla.days)
    };
    view! {
        <dt>"SLA due"</dt>
        <dd data-testid="finding-sla">
            {format::timestamp(sla.due_at)}
            " "
            {if sla.overdue {
                view! { <span class="badge overdue">"overdue"</span> }.into_any()
            } else {
                view! { <span class="badge fresh">"within SLA"</span> }.into_any()
            }}
            <span class="muted small">{format!(" {clock} from {}", format::timestamp(sla.started_at))}</span>
        </dd>
    }
}

#[component]
fn RiskCard(risk: RiskExplained) -> impl IntoView {
    let score = risk.score.map_or_else(|| "—".to_owned(), |s| s.to_string());
    let arithmetic = risk.arithmetic.clone();
    view! {
        <DataTable
            id="risk"
            title=format!("Risk {score} of 100: why")
            label="Risk factors table"
            testid="risk-factors"
            columns=vec![
                Column::new("Factor"),
                Column::new("Value"),
                Column::new("Weight"),
                Column::numeric("Points"),
                Column::new("Why"),
            ]
            rows=risk.factors
            row=factor_row
            empty="No risk factors are stored for this finding."
            summary=move || view! { <span data-testid="risk-arithmetic">{arithmetic.clone()}</span> }
        />
    }
}

fn factor_row(f: RiskFactor) -> impl IntoView {
    let points = if f.points < 0.0 {
        format!("−{}", trim_number(-f.points))
    } else {
        format!("+{}", trim_number(f.points))
    };
    let factor = f.factor.clone();
    view! {
        <tr data-factor=factor>
            <th scope="row">{f.factor}</th>
            <td>{f.value}</td>
            <td>{f.weight}</td>
            <td class="num">{points}</td>
            <td>{f.why}</td>
        </tr>
    }
}

/// "20", "39.2".
fn trim_number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

#[component]
fn Catalogue(entry: CatalogueEntry) -> impl IntoView {
    let cvss = entry.cvss_vector.clone().map(|vector| {
        let version = entry
            .cvss_version
            .clone()
            .map(|v| format!("CVSS {v}"))
            .unwrap_or_else(|| "CVSS".to_owned());
        let score = entry
            .cvss_score
            .map(|s| format!(" · base score {s:.1}"))
            .unwrap_or_default();
        view! {
            <dt>"CVSS"</dt>
            <dd>{version}{score}<br /><code data-testid="cvss-vector">{vector}</code></dd>
        }
    });
    let kev = match entry.kev.clone() {
        Some(kev) => {
            let due = kev
                .due_date
                .map(|d| format!("; CISA due date {d}"))
                .unwrap_or_default();
            let ransomware = kev
                .ransomware_use
                .filter(|r| r.eq_ignore_ascii_case("known"))
                .map(|_| "; known ransomware use")
                .unwrap_or_default();
            format!("Listed since {}{due}{ransomware}", kev.date_added)
        }
        None => "Not listed".to_owned(),
    };
    let epss = entry.epss.map_or_else(
        || "No score".to_owned(),
        |e| {
            format!(
                "{:.1} % probability of exploitation in 30 days (percentile {:.0}){}",
                f64::from(e.score) * 100.0,
                f64::from(e.percentile) * 100.0,
                e.date.map(|d| format!(", as of {d}")).unwrap_or_default()
            )
        },
    );
    let references = entry
        .references
        .iter()
        .map(|url| {
            if is_web_link(url) {
                view! {
                    <li><a href=url.clone() rel="noopener noreferrer" target="_blank">{url.clone()}</a></li>
                }
                .into_any()
            } else {
                view! { <li>{url.clone()}</li> }.into_any()
            }
        })
        .collect_view();
    let aliases = (!entry.aliases.is_empty()).then(|| entry.aliases.join(", "));
    let cwe = (!entry.cwe.is_empty()).then(|| entry.cwe.join(", "));
    view! {
        <section class="card" aria-labelledby="catalogue-heading" data-testid="catalogue">
            <h2 id="catalogue-heading">{format!("{} in the catalogue", entry.id)}</h2>
            {entry.title.clone().map(|t| view! { <p><strong>{t}</strong></p> })}
            {entry.description.clone().map(|d| view! { <p class="description" data-testid="description">{d}</p> })}
            <dl class="facts">
                {cvss}
                <dt>"CISA KEV"</dt>
                <dd data-testid="kev">{kev}</dd>
                <dt>"EPSS"</dt>
                <dd data-testid="epss">{epss}</dd>
                {aliases.map(|a| view! { <dt>"Aliases"</dt> <dd>{a}</dd> })}
                {cwe.map(|c| view! { <dt>"Weakness"</dt> <dd>{c}</dd> })}
                {entry.published_at.map(|p| view! { <dt>"Published"</dt> <dd>{format::timestamp(p)}</dd> })}
            </dl>
            {(!entry.references.is_empty()).then(|| view! {
                <h3>"References"</h3>
                <ul class="references" data-testid="references">{references}</ul>
            })}
        </section>
    }
}

#[component]
fn EvidenceTable(rows: Vec<Evidence>) -> impl IntoView {
    let count = rows.len();
    view! {
        <DataTable
            id="evidence"
            title="Evidence per source"
            label="Evidence table"
            testid="evidence"
            columns=vec![
                Column::new("Source"),
                Column::new("Scanner's severity"),
                Column::new("First seen"),
                Column::new("Last seen"),
                Column::new("State"),
                Column::new("Report"),
                Column::new("Evidence"),
            ]
            rows
            row=evidence_row
            empty="No scanner observation is on file."
            summary=move || format!("{count} scanner scopes observed it, still-reporting first.")
        />
    }
}

fn report_words(report: &ReportRef) -> String {
    format!(
        "#{} ({}{}), received {}",
        report.id,
        report.format,
        report
            .scanner
            .as_ref()
            .map(|s| format!(", {s}"))
            .unwrap_or_default(),
        format::timestamp(report.received_at)
    )
}

fn evidence_row(e: Evidence) -> impl IntoView {
    let state = if e.active {
        view! { <span class="badge fresh">"active"</span> }.into_any()
    } else {
        view! { <span class="badge stale">"gone"</span> }.into_any()
    };
    let last_seen = match (e.last_seen, e.gone_at) {
        (Some(at), _) => format::timestamp(at),
        (None, Some(gone)) => format!("gone {}", format::timestamp(gone)),
        (None, None) => "—".to_owned(),
    };
    let first = e
        .first_report
        .as_ref()
        .map(|r| format!("first in {}", report_words(r)));
    let latest = e.latest_report.as_ref().map(|r| {
        if e.active {
            format!("latest {}", report_words(r))
        } else {
            format!("gone in {}", report_words(r))
        }
    });
    let source = e.source.clone();
    view! {
        <tr data-source=source>
            <th scope="row">{e.source}<br /><span class="muted small scope-id">{e.scope}</span></th>
            <td><SeverityBadge severity=e.severity /></td>
            <td>{format::timestamp(e.first_seen)}</td>
            <td>{last_seen}</td>
            <td>{state}</td>
            <td class="small">
                {first}
                {latest.map(|l| view! { <br />{l} })}
            </td>
            <td>
                <details>
                    <summary>"as reported"</summary>
                    <pre class="evidence-details">{e.details}</pre>
                </details>
            </td>
        </tr>
    }
}

#[component]
fn FixedVersions(fixed: Option<String>, by_source: Vec<(String, String)>) -> impl IntoView {
    let main = match fixed {
        Some(version) => view! {
            <p>"Upgrade to " <code data-testid="fixed-version">{version}</code> "."</p>
        }
        .into_any(),
        None => view! { <p class="muted">"No fixed version is known."</p> }.into_any(),
    };
    let listed = (!by_source.is_empty()).then(|| {
        view! {
            <p class="small">"Fixed versions as each scanner listed them:"</p>
            <ul>
                {by_source
                    .into_iter()
                    .map(|(source, versions)| view! { <li>{source}": " <code>{versions}</code></li> })
                    .collect_view()}
            </ul>
        }
    });
    view! {
        <section class="card" aria-labelledby="fix-heading">
            <h2 id="fix-heading">"Fixed versions"</h2>
            {main}
            {listed}
        </section>
    }
}

#[component]
fn WhereElseCard(where_else: WhereElse) -> impl IntoView {
    let shown = where_else.groups.len();
    let summary = if where_else.findings == 0 {
        "No other open finding of this vulnerability in the clusters you may see.".to_owned()
    } else {
        format!(
            "{} other open {} on {} {} in the clusters you may see{}.",
            format::count(where_else.findings),
            format::plural(where_else.findings, "finding", "findings"),
            format::count(where_else.images),
            format::plural(where_else.images, "image", "images"),
            if (shown as i64) < where_else.images {
                format!("; the {shown} riskiest images are listed")
            } else {
                String::new()
            }
        )
    };
    view! {
        <section class="card" aria-labelledby="where-else-heading" data-testid="where-else">
            <h2 id="where-else-heading">"Where else it runs"</h2>
            <p class="muted" data-testid="where-else-summary">{summary}</p>
            <ul class="where-else">
                {where_else.groups.into_iter().map(image_group).collect_view()}
            </ul>
        </section>
    }
}

fn image_group(group: ImageGroup) -> impl IntoView {
    let hidden = group.findings - group.places.len() as i64;
    let places = group
        .places
        .into_iter()
        .map(|p| {
            let href = p.href();
            let cluster = p
                .cluster
                .clone()
                .unwrap_or_else(|| "fleet-level".to_owned());
            let workload = p
                .workload
                .clone()
                .unwrap_or_else(|| "no workload (the image)".to_owned());
            let risk = p.risk.map(|r| format!("risk {r}")).unwrap_or_default();
            view! {
                <li>
                    <a href=href>{format!("{cluster} · {workload}")}</a>
                    " "
                    <SeverityBadge severity=p.severity />
                    <span class="muted small">{format!(" {risk}")}</span>
                </li>
            }
        })
        .collect_view();
    view! {
        <li>
            <strong>{group.image.unwrap_or_else(|| "not on an image".to_owned())}</strong>
            <span class="muted small">
                {format!(
                    " {} {}, highest risk {}",
                    format::count(group.findings),
                    format::plural(group.findings, "finding", "findings"),
                    group.risk_max.map_or_else(|| "—".to_owned(), |r| r.to_string())
                )}
            </span>
            <ul>{places}</ul>
            {(hidden > 0).then(|| view! { <p class="muted small">{format!("and {hidden} more")}</p> })}
        </li>
    }
}

#[component]
fn History(entries: Vec<HistoryEntry>, truncated: bool) -> impl IntoView {
    let empty = entries.is_empty();
    view! {
        <section class="card" aria-labelledby="history-heading" data-testid="history">
            <h2 id="history-heading">"History"</h2>
            {empty.then(|| view! { <p class="muted">"Open since it was first seen; nothing has happened to it since."</p> })}
            <ol class="timeline">{entries.into_iter().map(history_entry).collect_view()}</ol>
            {truncated.then(|| view! { <p class="muted small">"Older entries are not shown."</p> })}
        </section>
    }
}

fn history_entry(entry: HistoryEntry) -> impl IntoView {
    let when = format::timestamp(entry.at);
    let body = match entry.event {
        HistoryEvent::Status { status } => view! {
            <span class="history-status">{format!("Status: {}", status_words(&status))}</span>
        }
        .into_any(),
        HistoryEvent::Decision {
            decision,
            by,
            justification,
            expires_at,
            approved,
            revoked_at,
            vex_source,
            approval,
            rejected,
            review_note,
            assignee,
        } => {
            let who = by.unwrap_or_else(|| "the system".to_owned());
            let headline = match decision.as_str() {
                "assigned" => format!(
                    "Assigned to {} by {who}",
                    assignee.unwrap_or_else(|| "a removed user".to_owned())
                ),
                "comment" => format!("Comment by {who}"),
                other => format!("Decision: {} by {who}", status_words(other)),
            };
            // an acceptance's review: waiting, approved, rejected or void
            let review = match (approval.as_deref(), approved, rejected) {
                (Some("pending"), _, _) => Some("pending approval".to_owned()),
                (_, Some((approver, at)), _) => {
                    Some(format!("approved by {approver}, {}", format::timestamp(at)))
                }
                (Some("rejected"), _, Some((rejecter, at))) => Some(format!(
                    "rejected by {}, {}",
                    rejecter.unwrap_or_else(|| "a removed user".to_owned()),
                    format::timestamp(at)
                )),
                (Some("rejected"), _, None) => Some("rejected".to_owned()),
                (Some("expired"), _, _) => {
                    Some("expired before it was approved; never in force".to_owned())
                }
                (Some("approved"), None, _) => Some("approved".to_owned()),
                _ => None,
            }
            .map(|review| match review_note {
                Some(note) => format!("{review}: “{note}”"),
                None => review,
            });
            let mut notes = Vec::new();
            if let Some(expires) = expires_at {
                notes.push(format!("expires {}", format::timestamp(expires)));
            }
            if let Some(revoked) = revoked_at {
                notes.push(format!("revoked {}", format::timestamp(revoked)));
            }
            if let Some(vex) = vex_source {
                notes.push(format!("VEX: {vex}"));
            }
            let class = format!("history-decision decision-{decision}");
            view! {
                <span class=class>{headline}</span>
                {(!justification.is_empty()).then(|| view! { <q class="justification">{justification}</q> })}
                {review.map(|r| view! { " " <span class="badge history-review" data-testid="history-review">{r}</span> })}
                {(!notes.is_empty()).then(|| view! { <span class="muted small">{format!(" ({})", notes.join("; "))}</span> })}
            }
            .into_any()
        }
    };
    view! {
        <li>
            <time>{when}</time>
            " "
            {body}
        </li>
    }
}
