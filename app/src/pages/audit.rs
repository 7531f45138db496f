//! The audit log: who did what, when, from where. Filters are a GET form whose fields are the
//! typed query string [`AuditQuery`] (they work without JavaScript and can be bookmarked); the
//! same filters export the matching entries as CSV from `/audit.csv`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query;

use crate::api::audit::get_audit_log;
use crate::components::async_region::AsyncRegion;
use crate::components::format;
use crate::components::table::{Column, DataTable};
use crate::error::AppError;
use crate::model::{AuditEntry, AuditQuery};
use crate::resource::resource;

/// The audit log page.
#[component]
pub fn Audit() -> impl IntoView {
    let query = use_query::<AuditQuery>();
    let applied = Memo::new(move |_| query.get().unwrap_or_default());
    let page = resource(move || applied.get().filter(), get_audit_log);
    view! {
        <Title text="Audit log" />
        <h1>"Audit log"</h1>
        <AsyncRegion>
            {move || Suspend::new(async move {
                let page = page.await?;
                let applied = applied.get_untracked();
                let count = page.entries.len();
                let truncated = page.truncated;
                Ok::<_, AppError>(view! {
                    <AuditFilterForm applied actions=page.actions />
                    <DataTable
                        id="audit"
                        title="Entries"
                        label="Audit log table"
                        columns=vec![
                            Column::new("When"),
                            Column::new("Actor"),
                            Column::new("Action"),
                            Column::new("Target"),
                            Column::new("Address"),
                            Column::new("Details"),
                        ]
                        rows=page.entries
                        row=audit_row
                        empty="No entries match these filters."
                        hint=|| "Clear or widen the filters above."
                        summary=move || {
                            format!(
                                "{count} entries, newest first{}",
                                if truncated {
                                    " (more match: narrow the filter or download the CSV)"
                                } else {
                                    ""
                                },
                            )
                        }
                        testid="audit-table"
                    />
                })
            })}
        </AsyncRegion>
    }
}

/// The filter form, showing the filter that was applied, and the CSV link carrying it.
#[component]
fn AuditFilterForm(applied: AuditQuery, actions: Vec<String>) -> impl IntoView {
    let filter = applied.filter();
    let csv_href = format!(
        "/audit.csv{}",
        format::query_string([
            ("action", filter.action.clone()),
            ("actor", filter.actor.clone()),
            ("since", filter.since.clone()),
            ("until", filter.until.clone()),
        ])
    );
    let options = actions
        .into_iter()
        .map(|a| {
            let selected = filter.action.as_deref() == Some(a.as_str());
            view! { <option value=a.clone() selected=selected>{a.clone()}</option> }
        })
        .collect_view();
    view! {
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
                <label>"Actor contains" <input type="search" name="actor" value=filter.actor.unwrap_or_default() /></label>
                <label>"From" <input type="date" name="since" value=filter.since.unwrap_or_default() /></label>
                <label>"To" <input type="date" name="until" value=filter.until.unwrap_or_default() /></label>
                <button type="submit">"Apply"</button>
                <a href=csv_href download="bulwark-audit.csv">"Download CSV"</a>
            </form>
        </section>
    }
}

fn audit_row(e: AuditEntry) -> impl IntoView {
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
}
