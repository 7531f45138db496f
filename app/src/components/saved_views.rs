//! The "Views" panel of the findings explorer: the saved views the viewer may open (their own,
//! then the team's, each marked), a delete button on each they may delete, and a small form
//! that saves the filter in force under a name. Plain links and forms, so it works with
//! JavaScript off.
//!
//! The panel renders what it is given: the page owns the list and the two forms' actions, and
//! passes the forms in as wrappers (`save_form`, `delete_form`) that put the fields rendered
//! here inside its `ActionForm`s. [`view_query`] is the one rendering of the query a view
//! saves; the server normalises what it stores with it too.

use leptos::prelude::*;

use super::format;
use crate::model::{ListFilter, MAX_VIEW_NAME, SavedView, SavedViews};

/// The query string a view of `filter` saves: its filters, order and grouping in
/// [`ListFilter::pairs`]' order and escaping, without the page position and without a
/// leading `?` (empty for the unfiltered explorer).
pub fn view_query(filter: &ListFilter) -> String {
    let kept = filter.pairs().into_iter().filter(|(k, _)| *k != "after");
    let query = format::query_string(kept);
    query.strip_prefix('?').unwrap_or(&query).to_owned()
}

/// The saved views and the form that saves the filter in force.
#[component]
pub fn SavedViewsPanel(
    /// The views the viewer may open, their own first.
    views: SavedViews,
    /// The filter in force (saved by the form).
    filter: ListFilter,
    /// Wraps the save form's fields in the page's form bound to `views/save`.
    save_form: impl Fn(AnyView) -> AnyView + 'static,
    /// Wraps the list (with its delete buttons, `name="id"`) in the page's form bound to
    /// `views/delete`.
    delete_form: impl Fn(AnyView) -> AnyView + 'static,
) -> impl IntoView {
    let query = view_query(&filter);
    let here = if query.is_empty() {
        "/findings".to_owned()
    } else {
        format!("/findings?{query}")
    };
    let list = if views.views.is_empty() {
        view! { <p class="muted">"No saved views yet."</p> }.into_any()
    } else {
        let items = views.views.into_iter().map(view_item).collect_view();
        delete_form(
            view! {
                <input type="hidden" name="next" value=here />
                <ul class="saved-view-list" data-testid="saved-views">{items}</ul>
            }
            .into_any(),
        )
    };
    let share = views.can_share.then(|| {
        view! {
            <label class="check">
                <input type="checkbox" name="shared" value="on" />
                " Share with the team"
            </label>
        }
    });
    let fields = view! {
        <label>
            "Name"
            <input type="text" name="name" required maxlength=MAX_VIEW_NAME.to_string()
                autocomplete="off" />
        </label>
        <input type="hidden" name="query" value=query />
        {share}
        <button type="submit">"Save this view"</button>
    }
    .into_any();
    view! {
        <nav class="card saved-views" aria-labelledby="saved-views-title">
            <h2 id="saved-views-title">"Views"</h2>
            {list}
            <details class="save-view">
                <summary>"Save this view"</summary>
                {save_form(fields)}
            </details>
        </nav>
    }
}

fn view_item(view: SavedView) -> impl IntoView {
    let href = view.href();
    let mark = match (view.mine, view.shared) {
        (true, true) => "mine, shared with the team".to_owned(),
        (true, false) => "mine, private".to_owned(),
        (false, _) => format!("shared by {}", view.owner),
    };
    let delete = view.deletable.then(|| {
        let label = format!("Delete the view {}", view.name);
        view! {
            <button type="submit" name="id" value=view.id.to_string() class="link-button"
                aria-label=label>
                "Delete"
            </button>
        }
    });
    view! {
        <li data-view=if view.mine { "mine" } else { "shared" }>
            <a href=href>{view.name}</a>
            " "
            <span class="muted saved-view-mark">"(" {mark} ")"</span>
            {delete}
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_saves_the_filter_without_its_page() {
        let filter = ListFilter {
            severity: Some("critical".to_owned()),
            q: Some("open ssl".to_owned()),
            group: Some("image".to_owned()),
            after: Some("1.2.3.4".to_owned()),
            ..ListFilter::default()
        };
        assert_eq!(
            view_query(&filter),
            "q=open%20ssl&severity=critical&group=image"
        );
        assert_eq!(view_query(&ListFilter::default()), "");
    }

    #[test]
    fn a_saved_query_reads_back_as_the_same_filter() {
        let filter = ListFilter {
            cluster: Some("prod-eu-1".to_owned()),
            q: Some("a&b=c é+%".to_owned()),
            kev: Some("yes".to_owned()),
            sort: Some("severity".to_owned()),
            ..ListFilter::default()
        };
        let query = view_query(&filter);
        assert_eq!(crate::model::parse_view_query(&query), Ok(filter.clone()));
        // normalising twice changes nothing
        let again = crate::model::parse_view_query(&query).map(|f| view_query(&f));
        assert_eq!(again, Ok(query));
    }
}
