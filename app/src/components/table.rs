//! The data table every list renders through: a card with a heading, an optional summary line,
//! a horizontally scrolling region (keyboard-focusable and labelled, so keyboard and screen
//! reader users can scroll and find it), the header row, the rows, and an empty state with a
//! hint when there are no rows.
//!
//! The table knows nothing about what it lists: the page passes the rows and a function that
//! renders one `<tr>`. Sorting and paging belong in the page's query string, not here.

use leptos::prelude::*;

use crate::components::severity::SeverityBadge;
use crate::model::Severity;

/// One column's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    head: Head,
    numeric: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Head {
    Text(&'static str),
    Hidden(&'static str),
    Severity(Severity),
}

impl Column {
    /// A text column.
    pub const fn new(label: &'static str) -> Column {
        Column {
            head: Head::Text(label),
            numeric: false,
        }
    }

    /// A right-aligned number column.
    pub const fn numeric(label: &'static str) -> Column {
        Column {
            head: Head::Text(label),
            numeric: true,
        }
    }

    /// A column whose header is read out but not shown (e.g. "Actions" over buttons).
    pub const fn hidden(label: &'static str) -> Column {
        Column {
            head: Head::Hidden(label),
            numeric: false,
        }
    }

    /// A count for one severity, headed by its badge.
    pub const fn severity(severity: Severity) -> Column {
        Column {
            head: Head::Severity(severity),
            numeric: true,
        }
    }

    fn header(self) -> impl IntoView {
        let class = self.numeric.then_some("num");
        let label = match self.head {
            Head::Text(text) => text.into_any(),
            Head::Hidden(text) => view! { <span class="visually-hidden">{text}</span> }.into_any(),
            Head::Severity(severity) => view! { <SeverityBadge severity /> }.into_any(),
        };
        view! { <th scope="col" class=class>{label}</th> }
    }
}

/// A card holding a table, or its empty state when there are no rows.
#[component]
pub fn DataTable<R, F, V>(
    /// Names the card: its heading gets the id `{id}-heading`.
    id: &'static str,
    /// The card's heading.
    #[prop(into)]
    title: String,
    /// The scroll region's accessible name, e.g. "Findings table".
    label: &'static str,
    /// The header row.
    columns: Vec<Column>,
    /// The rows, in display order.
    rows: Vec<R>,
    /// Renders one row as a `<tr>`.
    row: F,
    /// What the card says when there are no rows, e.g. "No findings match these filters".
    empty: &'static str,
    /// What to do about it, under the empty message.
    #[prop(optional, into)]
    hint: Option<ViewFn>,
    /// A line under the heading (counts, ordering), shown when there are rows.
    #[prop(optional, into)]
    summary: Option<ViewFn>,
    /// `data-testid` of the `<table>`, for tests that need more than its region.
    #[prop(optional)]
    testid: Option<&'static str>,
) -> impl IntoView
where
    F: Fn(R) -> V,
    V: IntoView + 'static,
{
    let heading = format!("{id}-heading");
    let labelled_by = heading.clone();
    let body = if rows.is_empty() {
        view! {
            <div class="empty-state">
                <p class="empty">{empty}</p>
                {hint.map(|hint| view! { <p class="empty-hint">{hint.run()}</p> })}
            </div>
        }
        .into_any()
    } else {
        let rows = rows.into_iter().map(row).collect_view();
        view! {
            {summary.map(|summary| view! { <p class="muted table-summary">{summary.run()}</p> })}
            // focusable, so that keyboard users can scroll it when it overflows
            <div class="table-wrap" tabindex="0" role="region" aria-label=label>
                <table data-testid=testid>
                    <thead>
                        <tr>{columns.into_iter().map(Column::header).collect_view()}</tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <section class="card" aria-labelledby=labelled_by>
            <h2 id=heading>{title}</h2>
            {body}
        </section>
    }
}
