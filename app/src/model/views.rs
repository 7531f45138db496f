//! Saved views of the findings explorer: a name and the explorer's query (its filters, order
//! and grouping: a [`ListFilter`] without its page position), kept per user, private or shared
//! with the team. This file owns what a view is as pages and the server see it, and the rules
//! on what a person may save (the name, the query text, who may share); the rendering of the
//! query string is [`crate::components::saved_views::view_query`], the storage is the server's.
//!
//! What does not belong here: whether the query's values mean anything (a known severity, a
//! cluster the viewer sees): the explorer's engine on the server checks those when a view is
//! saved, exactly as when the page applies them.

use percent_encoding::percent_decode_str;
use serde::{Deserialize, Serialize};

use super::{ListFilter, Role};

/// The most views one person may keep.
pub const MAX_VIEWS: i64 = 50;
/// The longest name of a view, in characters.
pub const MAX_VIEW_NAME: usize = 80;
/// The longest query string of a view, in bytes (as sent and as stored).
pub const MAX_VIEW_QUERY: usize = 2000;

/// One saved view as the viewer's list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedView {
    /// Its id.
    pub id: i64,
    /// Its name (unique per owner, whatever its case).
    pub name: String,
    /// The normalised query string, without a leading `?` (empty: the unfiltered explorer).
    pub query: String,
    /// Whether the team sees it.
    pub shared: bool,
    /// Whether the viewer owns it.
    pub mine: bool,
    /// Its owner's name (their e-mail address when they gave no name).
    pub owner: String,
    /// Whether the viewer may delete it: their own, or (administrators) a shared one.
    pub deletable: bool,
}

impl SavedView {
    /// The explorer with this view's query.
    pub fn href(&self) -> String {
        if self.query.is_empty() {
            "/findings".to_owned()
        } else {
            format!("/findings?{}", self.query)
        }
    }
}

/// The views a viewer may open: their own first (by name), then those the team shares with
/// them (by name).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedViews {
    /// The views, the viewer's own first.
    pub views: Vec<SavedView>,
    /// Whether the viewer may share a view with the team.
    pub can_share: bool,
}

/// What a "save this view" form asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewDraft {
    /// The name as typed.
    pub name: String,
    /// The explorer's query string as the page rendered it.
    pub query: String,
    /// Share with the team.
    pub shared: bool,
}

/// Whether `role` may share views with the team. Executives read: they may keep views for
/// themselves, but what the team's list offers is chosen by those who triage.
pub fn may_share_views(role: Role) -> bool {
    role.can_triage()
}

/// A view's name, trimmed: 1 to [`MAX_VIEW_NAME`] characters, no control characters.
pub fn view_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("Give the view a name.".to_owned());
    }
    if name.chars().count() > MAX_VIEW_NAME {
        return Err(format!(
            "A view's name may be at most {MAX_VIEW_NAME} characters long."
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("A view's name may not contain control characters.".to_owned());
    }
    Ok(name.to_owned())
}

/// Reads a query string (`severity=high&q=open%20ssl`, with or without a leading `?`) into the
/// filter a view saves: keys the explorer does not know are dropped, blank values are no
/// filter, values are trimmed, and the page position (`after`) is never kept. A key given
/// twice, or text that is not UTF-8 once decoded, is refused with words saying so. Whether
/// the values mean anything is for the server's explorer to check.
pub fn parse_view_query(text: &str) -> Result<ListFilter, String> {
    if text.len() > MAX_VIEW_QUERY {
        return Err(format!(
            "A view's query may be at most {MAX_VIEW_QUERY} characters long."
        ));
    }
    let known: Vec<&str> = ListFilter::default()
        .pairs()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let decode = |part: &str| {
        percent_decode_str(&part.replace('+', " "))
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| "The view's query is not valid text.".to_owned())
    };
    let mut filter = ListFilter::default();
    let mut seen: Vec<&str> = Vec::new();
    for part in text.strip_prefix('?').unwrap_or(text).split('&') {
        if part.is_empty() {
            continue;
        }
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        let key = decode(key)?;
        let Some(key) = known.iter().copied().find(|k| *k == key) else {
            continue;
        };
        if seen.contains(&key) {
            return Err(format!("The view's query gives '{key}' twice."));
        }
        seen.push(key);
        let value = decode(value)?;
        let value = value.trim();
        if !value.is_empty() {
            filter = filter.with(key, Some(value));
        }
    }
    filter.after = None;
    Ok(filter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(view_name("  Critical KEV  ").as_deref(), Ok("Critical KEV"));
        assert!(view_name("   ").is_err());
        assert!(view_name(&"x".repeat(80)).is_ok());
        assert!(view_name(&"x".repeat(81)).is_err());
        // characters, not bytes
        assert!(view_name(&"é".repeat(80)).is_ok());
        assert!(view_name("a\u{7}b").is_err());
        assert!(view_name("two\nlines").is_err());
    }

    #[test]
    fn queries_keep_the_explorers_keys_and_drop_the_page_and_the_rest() {
        let filter = parse_view_query(
            "?severity=critical&junk=1&q=open+ssl%21&after=1.2.3.4&kev=&group=image",
        )
        .expect("reads");
        assert_eq!(
            filter,
            ListFilter {
                severity: Some("critical".to_owned()),
                q: Some("open ssl!".to_owned()),
                group: Some("image".to_owned()),
                ..ListFilter::default()
            }
        );
        assert_eq!(parse_view_query(""), Ok(ListFilter::default()));
    }

    #[test]
    fn queries_that_cannot_be_read_are_refused() {
        assert!(parse_view_query("severity=high&severity=low").is_err());
        assert!(parse_view_query("q=%FF").is_err());
        assert!(parse_view_query(&format!("q={}", "a".repeat(MAX_VIEW_QUERY))).is_err());
    }

    #[test]
    fn executives_keep_views_for_themselves() {
        assert!(!may_share_views(Role::Executive));
        assert!(may_share_views(Role::Analyst));
        assert!(may_share_views(Role::Manager));
        assert!(may_share_views(Role::Admin));
    }

    #[test]
    fn a_view_links_to_the_explorer_with_its_query() {
        let mut view = SavedView {
            id: 1,
            name: "n".to_owned(),
            query: "severity=high".to_owned(),
            shared: false,
            mine: true,
            owner: "me".to_owned(),
            deletable: true,
        };
        assert_eq!(view.href(), "/findings?severity=high");
        view.query.clear();
        assert_eq!(view.href(), "/findings");
    }
}
