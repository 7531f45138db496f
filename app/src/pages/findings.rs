//! The findings explorer: a million findings narrowed to the few that matter. Facets with
//! counts (each under the other filters), search, order, grouping and keyset pages, all in the
//! URL ([`FindingsQuery`]): every facet value and page is a link and the search a GET form, so
//! the page works without JavaScript, can be bookmarked and shared.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query;

use crate::api::estate::get_where_running;
use crate::api::findings::get_findings;
use crate::api::triage::DecideFindings;
use crate::components::async_region::{AsyncRegion, ErrorNotice};
use crate::components::flash::{FlashMessage, use_flash};
use crate::components::format;
use crate::components::severity::SeverityBadge;
use crate::components::table::{Column, DataTable};
use crate::components::where_running::WhereRunningPanel;
use crate::error::AppError;
use crate::model::{
    Facet, FindingGroup, FindingList, FindingRow, FindingsQuery, ListFilter, cve_id,
};
use crate::resource::resource;

mod saved_views;

/// `/findings` with this filter.
pub fn findings_href(filter: &ListFilter) -> String {
    format!("/findings{}", format::query_string(filter.pairs()))
}

/// `/findings.csv` with this filter: every matching finding, not one page nor groups.
pub fn csv_href(filter: &ListFilter) -> String {
    let export = ListFilter {
        group: None,
        after: None,
        ..filter.clone()
    };
    format!("/findings.csv{}", format::query_string(export.pairs()))
}

/// The findings page.
#[component]
pub fn Findings() -> impl IntoView {
    let query = use_query::<FindingsQuery>();
    let applied = Memo::new(move |_| query.get().unwrap_or_default().filter());
    let decide = ServerAction::<DecideFindings>::new();
    // read again after each decision, so the list shows what is left
    let list = resource(
        move || (applied.get(), decide.version().get()),
        |(filter, _)| get_findings(filter),
    );
    let refusal = move || {
        decide
            .value()
            .get()
            .and_then(Result::err)
            .map(|error| view! { <ErrorNotice error /> })
    };
    // "Where is CVE-… running?": a search that is a CVE id answers with where it runs
    let cve = Memo::new(move |_| applied.get().q.as_deref().and_then(cve_id));
    let where_running = resource(
        move || cve.get(),
        |cve| async move {
            match cve {
                Some(cve) => get_where_running(cve).await.map(Some),
                None => Ok(None),
            }
        },
    );
    view! {
        <Title text="Findings" />
        {move || {
            let filter = applied.get();
            view! {
                <h1>{heading(&filter)}</h1>
                <SearchBar filter />
            }
        }}
        <saved_views::SavedViewsSection filter=applied />
        <FlashMessage flash=use_flash() id="findings-flash" />
        {refusal}
        <AsyncRegion>
            {move || Suspend::new(async move {
                let answer = where_running.await?;
                Ok::<_, AppError>(answer.map(|answer| view! { <WhereRunningPanel answer /> }))
            })}
        </AsyncRegion>
        <AsyncRegion>
            {move || Suspend::new(async move {
                let list = list.await?;
                let filter = applied.get();
                Ok::<_, AppError>(view! { <Explorer list filter decide /> })
            })}
        </AsyncRegion>
    }
}

fn heading(filter: &ListFilter) -> &'static str {
    match filter.status.as_deref().unwrap_or("open") {
        "reopened" => "Reopened findings",
        "accepted" => "Risk-accepted findings",
        "false_positive" => "False positives",
        "suppressed_by_vex" => "Findings not affected (VEX)",
        "fixed" => "Fixed findings",
        _ => "Open findings",
    }
}

/// Search, order and grouping: a GET form that keeps the facets in force.
#[component]
fn SearchBar(filter: ListFilter) -> impl IntoView {
    let kept = filter
        .narrowing()
        .into_iter()
        .filter(|(k, _)| *k != "q")
        .map(|(name, value)| view! { <input type="hidden" name=name value=value /> })
        .collect_view();
    let sort = filter.sort.clone().unwrap_or_default();
    let group = filter.group.clone().unwrap_or_default();
    let option = |value: &'static str, label: &'static str, current: &str| {
        view! { <option value=value selected=current == value>{label}</option> }
    };
    view! {
        <form method="get" action="/findings" class="filters card search-bar" role="search"
            aria-label="Search findings">
            <label class="grow">
                "Search"
                <input type="search" name="q" value=filter.q.clone().unwrap_or_default()
                    placeholder="CVE, package, image or title" data-shortcut="search" />
            </label>
            {kept}
            <label>
                "Order"
                <select name="sort">
                    {option("", "Riskiest first", &sort)}
                    {option("severity", "Worst severity first", &sort)}
                    {option("first_seen", "Newest first", &sort)}
                    {option("last_seen", "Seen most recently first", &sort)}
                </select>
            </label>
            <label>
                "Group by"
                <select name="group">
                    {option("", "No grouping", &group)}
                    {option("vulnerability", "Vulnerability", &group)}
                    {option("image", "Image", &group)}
                    {option("workload", "Workload", &group)}
                    {option("cluster", "Cluster", &group)}
                </select>
            </label>
            <button type="submit">"Apply"</button>
        </form>
    }
}

#[component]
fn Explorer(
    list: FindingList,
    filter: ListFilter,
    decide: ServerAction<DecideFindings>,
) -> impl IntoView {
    let can_decide = list.can_decide && !list.rows.is_empty();
    let bar =
        can_decide.then(|| view! { <DecisionBar filter=filter.clone() total=list.total decide /> });
    let facets = list
        .facets
        .iter()
        .cloned()
        .map(|facet| view! { <FacetList facet filter=filter.clone() /> })
        .collect_view();
    let body = if filter.group.as_deref().is_some_and(|g| !g.is_empty()) {
        view! { <GroupTable groups=list.groups total=list.total filter=filter.clone() /> }
            .into_any()
    } else {
        view! {
            <FindingTable rows=list.rows total=list.total next=list.next filter=filter.clone()
                selectable=can_decide />
        }
        .into_any()
    };
    view! {
        <div class="explorer">
            <nav class="facets card" aria-label="Facets">{facets}</nav>
            <div class="explorer-main">
                <ActiveFilters filter=filter.clone() total=list.total />
                {bar}
                {body}
            </div>
        </div>
    }
}

/// One facet: every value a link that applies it (or, when in force, removes it).
#[component]
fn FacetList(facet: Facet, filter: ListFilter) -> impl IntoView {
    let heading = format!("facet-{}", facet.key);
    let labelled_by = heading.clone();
    let key = facet.key.clone();
    let empty = facet.values.is_empty();
    let values = facet
        .values
        .into_iter()
        .map(|v| {
            let href = if v.selected {
                findings_href(&filter.with(&key, None))
            } else {
                findings_href(&filter.with(&key, Some(&v.value)))
            };
            let title = if v.selected {
                format!("Remove the filter {}", v.label)
            } else {
                format!("Only {}", v.label)
            };
            view! {
                <li>
                    <a href=href class:selected=v.selected aria-current=v.selected.then_some("true")
                        title=title data-facet=key.clone() data-value=v.value.clone()>
                        <span class="facet-label">{v.label}</span>
                        {v.count.map(|n| view! { <span class="facet-count">{format::count(n)}</span> })}
                    </a>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="facet" aria-labelledby=labelled_by>
            <h2 class="facet-title" id=heading>{facet.label}</h2>
            {if empty {
                view! { <p class="muted facet-empty">"None among these findings"</p> }.into_any()
            } else {
                view! { <ul>{values}</ul> }.into_any()
            }}
        </section>
    }
}

/// The filters in force, each with a link that removes it, and the count they select.
#[component]
fn ActiveFilters(filter: ListFilter, total: i64) -> impl IntoView {
    let active = filter.narrowing();
    let clear = (!active.is_empty()).then(|| {
        let mut cleared = ListFilter {
            sort: filter.sort.clone(),
            group: filter.group.clone(),
            ..ListFilter::default()
        };
        cleared.after = None;
        view! { <a class="clear-filters" href=findings_href(&cleared)>"Clear all filters"</a> }
    });
    let chips = active
        .into_iter()
        .map(|(key, value)| {
            let href = findings_href(&filter.with(key, None));
            let text = format!("{key}: {value}");
            let label = format!("Remove the filter {text}");
            view! {
                <li>
                    <a class="chip" href=href aria-label=label>{text} <span aria-hidden="true">" ×"</span></a>
                </li>
            }
        })
        .collect_view();
    view! {
        <div class="active-filters">
            <p class="match-count" data-testid="findings-total">
                <strong>{format::count(total)}</strong>
                {if total == 1 { " finding matches" } else { " findings match" }}
            </p>
            <ul class="chips" aria-label="Filters in force">{chips}</ul>
            {clear}
            <a class="export" href=csv_href(&filter) download>"Download CSV"</a>
        </div>
    }
}

#[component]
fn FindingTable(
    rows: Vec<FindingRow>,
    total: i64,
    next: Option<String>,
    filter: ListFilter,
    /// A checkbox per row that belongs to the decision bar's form.
    selectable: bool,
) -> impl IntoView {
    let shown = rows.len() as i64;
    let first_page = filter
        .after
        .is_some()
        .then(|| findings_href(&filter.with("after", None)));
    let next_page = next.map(|n| findings_href(&filter.with("after", Some(&n))));
    let order = match filter.sort.as_deref() {
        Some("severity") => "Worst severity first",
        Some("first_seen") => "Newest first",
        Some("last_seen") => "Seen most recently first",
        _ => "Riskiest first",
    };
    // a date order shows its date
    let dated = match filter.sort.as_deref() {
        Some("first_seen") => Some(Dated::First),
        Some("last_seen") => Some(Dated::Last),
        _ => None,
    };
    view! {
        <DataTable
            id="findings"
            title=order
            label="Findings table"
            testid="findings-table"
            columns=[
                selectable.then(|| Column::hidden("Select")),
                Some(Column::numeric("Risk")),
                Some(Column::new("Severity")),
                Some(Column::new("Finding")),
            ]
            .into_iter()
            .flatten()
            .chain([
                Column::new("Id"),
                Column::new("Package"),
                Column::new("Image or resource"),
                Column::new("Cluster"),
                Column::new("Status"),
            ])
            .chain(dated.map(|d| Column::new(d.heading())))
            .collect()
            rows=rows
            row=move |f| finding_row(f, selectable, dated)
            empty="No findings match these filters."
            hint=|| "Remove a filter above, or choose another status among the facets."
            summary=move || view! {
                <span data-testid="findings-count">
                    {format!("{} shown of {}", format::count(shown), format::count(total))}
                </span>
            }
        />
        <nav class="pager" aria-label="Pages">
            {first_page.map(|href| view! { <a href=href>"← First page"</a> })}
            {next_page.map(|href| view! { <a href=href rel="next">"Next page →"</a> })}
        </nav>
    }
}

/// The date a date order sorts by, shown as the table's last column.
#[derive(Clone, Copy)]
enum Dated {
    First,
    Last,
}

impl Dated {
    fn heading(self) -> &'static str {
        match self {
            Dated::First => "First seen",
            Dated::Last => "Last seen",
        }
    }
}

fn finding_row(f: FindingRow, selectable: bool, dated: Option<Dated>) -> impl IntoView {
    let date = dated.map(|d| {
        let at = match d {
            Dated::First => Some(f.first_seen),
            Dated::Last => f.last_seen,
        };
        view! { <td>{at.map_or_else(|| "no longer seen".to_owned(), format::timestamp)}</td> }
    });
    let what = f.vulnerability.clone().unwrap_or_else(|| f.kind.clone());
    let href = f.href();
    let select = selectable.then(|| {
        let key = format!("{}:{}", f.cluster_id, f.id);
        let label = format!("Select {}", f.title);
        view! {
            <td class="select">
                <input type="checkbox" name="keys[]" value=key form="decide" aria-label=label
                    data-shortcut="select" />
            </td>
        }
    });
    view! {
        <tr data-row="finding">
            {select}
            <td class="num">{f.risk.map(|r| r.to_string()).unwrap_or_default()}</td>
            <td><SeverityBadge severity=f.severity /></td>
            <td class="wrap finding-cell">
                <a class="finding-title" href=href>{f.title}</a>
                {f.description.map(|d| view! { <div class="muted finding-description">{d}</div> })}
            </td>
            <td><code>{what}</code></td>
            <td class="wrap package-cell">{f.package.unwrap_or_default()}</td>
            <td class="artifact">{f.image.or(f.resource).unwrap_or_default()}</td>
            <td>{f.cluster.unwrap_or_else(|| "—".to_owned())}</td>
            <td>{f.status}</td>
            {date}
        </tr>
    }
}

#[component]
fn GroupTable(groups: Vec<FindingGroup>, total: i64, filter: ListFilter) -> impl IntoView {
    let shown = groups.len();
    let grouped_by = filter.group.clone().unwrap_or_default();
    view! {
        <DataTable
            id="groups"
            title=format!("Grouped by {grouped_by}, riskiest first")
            label="Groups table"
            testid="groups-table"
            columns=vec![
                Column::numeric("Highest risk"),
                Column::new("Group"),
                Column::numeric("Findings"),
                Column::new("Riskiest findings"),
            ]
            rows=groups
            row=move |g| group_row(g, filter.clone())
            empty="No findings match these filters."
            hint=|| "Remove a filter above, or choose another status among the facets."
            summary=move || view! {
                <span data-testid="groups-count">
                    {format!(
                        "the {shown} riskiest groups of {} findings",
                        format::count(total),
                    )}
                </span>
            }
        />
    }
}

fn group_row(g: FindingGroup, filter: ListFilter) -> impl IntoView {
    let narrowed = filter.with("group", None).with(&g.filter, Some(&g.value));
    let href = findings_href(&narrowed);
    let top = g
        .top
        .into_iter()
        .map(|f| {
            let href = f.href();
            view! {
                <li>
                    <SeverityBadge severity=f.severity />
                    " "
                    <a href=href>{f.title}</a>
                    <span class="muted">{f.risk.map(|r| format!(" · risk {r}"))}</span>
                </li>
            }
        })
        .collect_view();
    let count = format::count(g.count);
    let open_label = format!("Show the {count} findings of {}", g.label);
    view! {
        <tr data-row="group">
            <td class="num">{g.risk.map(|r| r.to_string()).unwrap_or_default()}</td>
            <td class="artifact"><a href=href aria-label=open_label>{g.label}</a></td>
            <td class="num">{count}</td>
            <td>
                <details>
                    <summary>"Riskiest"</summary>
                    <ul class="group-top">{top}</ul>
                </details>
            </td>
        </tr>
    }
}

/// Decisions on the selected rows or on every finding the filter matches: one form (its row
/// checkboxes sit in the table and name it with `form="decide"`). Posts to
/// `/rpc/triage/decide`, with or without JavaScript. "Assign to…" takes the owner from a
/// picker of the users who see every cluster the filter selects: narrow the filter to one
/// cluster to assign to that cluster's own analysts.
#[component]
fn DecisionBar(
    filter: ListFilter,
    total: i64,
    decide: ServerAction<DecideFindings>,
) -> impl IntoView {
    let kept = filter
        .narrowing()
        .into_iter()
        .map(|(name, value)| {
            view! { <input type="hidden" name=format!("filter[{name}]") value=value /> }
        })
        .collect_view();
    let next = findings_href(&filter.with("after", None));
    let all = format!("All {} matching findings", format::count(total));
    // the owner picker: who sees every cluster this filter selects (model::AssigneesFor)
    let candidates_for = filter.with("after", None);
    let candidates = resource(
        move || candidates_for.clone(),
        crate::api::assignees::get_assignees,
    );
    let picker = move || {
        Suspend::new(async move {
            let options = candidates
                .await?
                .into_iter()
                .map(|a| view! { <option value=a.id.to_string()>{a.label()}</option> })
                .collect_view();
            Ok::<_, AppError>(view! {
                <select name="assignee">
                    <option value="">"Choose a user…"</option>
                    {options}
                </select>
            })
        })
    };
    view! {
        <details class="card decision-bar">
            <summary>"Decide on findings…"</summary>
            <ActionForm action=decide attr:id="decide" attr:class="filters"
                attr:aria-label="Decide on findings">
                <fieldset class="which">
                    <legend>"Which findings"</legend>
                    <label>
                        <input type="radio" name="matching" value="" checked=true />
                        " The rows selected below"
                    </label>
                    <label>
                        <input type="radio" name="matching" value=total.to_string() />
                        " " {all}
                    </label>
                </fieldset>
                {kept}
                <input type="hidden" name="next" value=next />
                <label>
                    "Decision"
                    <select name="action">
                        <option value="accept">"Accept the risk"</option>
                        <option value="false_positive">"Mark false positive"</option>
                        <option value="reopen">"Reopen"</option>
                        <option value="assign">"Assign to…"</option>
                        <option value="comment">"Comment"</option>
                    </select>
                </label>
                <label>
                    "Owner (assignments)"
                    <AsyncRegion>{picker}</AsyncRegion>
                </label>
                <label class="grow">
                    "Justification or comment"
                    <textarea name="justification" rows="2" maxlength="4000"></textarea>
                </label>
                <label>
                    "Accepted until (acceptances)"
                    <input type="date" name="expires" />
                </label>
                <button type="submit">"Apply"</button>
            </ActionForm>
        </details>
    }
}
