//! The audit log: who did what, when, from where. Filters are a GET form (they live in the
//! query string, so they work without JavaScript and can be bookmarked); the same filters
//! export the matching entries as CSV from `/audit.csv`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::audit::get_audit_log;
use crate::components::format;
use crate::error::AppError;
use crate::model::{AuditEntry, AuditFilter};

/// The audit log page.
#[component]
pub fn Audit() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        let q = query.read();
        let get = |k: &str| {
            q.get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        AuditFilter {
            action: get("action"),
            actor: get("actor"),
            since: get("since"),
            until: get("until"),
        }
    });
    let page = Resource::new(move || filter.get(), get_audit_log);
    let csv_href = move || {
        let f = filter.get();
        let pairs = [
            ("action", f.action),
            ("actor", f.actor),
            ("since", f.since),
            ("until", f.until),
        ];
        let query = pairs
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k}={}", format::query_value(&v))))
            .collect::<Vec<_>>()
            .join("&");
        if query.is_empty() {
            "/audit.csv".to_owned()
        } else {
            format!("/audit.csv?{query}")
        }
    };
    view! {
        <Title text="Audit log" />
        <h1>"Audit log"</h1>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            <ErrorBoundary fallback=|errors| view! {
                <div class="alert" role="alert">
                    {move || errors.get().into_iter().map(|(_, e)| view! { <p>{e.to_string()}</p> }).collect_view()}
                </div>
            }>
                {move || Suspend::new(async move {
                    let page = page.await?;
                    let f = filter.get_untracked();
                    let options = page
                        .actions
                        .iter()
                        .map(|a| {
                            let selected = f.action.as_deref() == Some(a.as_str());
                            view! { <option value=a.clone() selected=selected>{a.clone()}</option> }
                        })
                        .collect_view();
                    Ok::<_, AppError>(view! {
                        <section class="card" aria-labelledby="audit-filter-heading">
                            <h2 id="audit-filter-heading">"Filter"</h2>
                            <form method="get" action="/audit" class="filters">
                                <label>
                                    "Action"
                                    <select name="action">
                                        <option value="">"any"</option>
                                        {options}
                                    </select>
                                </label>
                                <label>"Actor contains" <input type="search" name="actor" value=f.actor.clone().unwrap_or_default() /></label>
                                <label>"From" <input type="date" name="since" value=f.since.clone().unwrap_or_default() /></label>
                                <label>"To" <input type="date" name="until" value=f.until.clone().unwrap_or_default() /></label>
                                <button type="submit">"Apply"</button>
                                <a href=csv_href download="bulwark-audit.csv">"Download CSV"</a>
                            </form>
                        </section>
                        <AuditTable entries=page.entries truncated=page.truncated />
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn AuditTable(entries: Vec<AuditEntry>, truncated: bool) -> impl IntoView {
    if entries.is_empty() {
        return view! { <section class="card"><p class="empty">"No entries match."</p></section> }
            .into_any();
    }
    let count = entries.len();
    let rows = entries
        .into_iter()
        .map(|e| {
            view! {
                <tr>
                    <td>{format::timestamp(e.at)}</td>
                    <td>{e.actor}</td>
                    <td><code>{e.action}</code></td>
                    <td>{e.target.unwrap_or_default()}</td>
                    <td>{e.ip.unwrap_or_default()}</td>
                    <td class="details">{e.details}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="audit-heading">
            <h2 id="audit-heading">"Entries"</h2>
            <p class="muted">
                {format!("{count} entries, newest first")}
                {truncated.then_some(" (more match: narrow the filter or download the CSV)")}
            </p>
            <div class="table-wrap" tabindex="0" role="region" aria-label="Audit log table">
                <table data-testid="audit-table">
                    <thead>
                        <tr>
                            <th scope="col">"When"</th>
                            <th scope="col">"Actor"</th>
                            <th scope="col">"Action"</th>
                            <th scope="col">"Target"</th>
                            <th scope="col">"Address"</th>
                            <th scope="col">"Details"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}
