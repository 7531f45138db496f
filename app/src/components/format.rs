//! Formatting helpers that give the same text on the server and in the browser (hydration
//! needs both renders to agree, so nothing here depends on the clock or the locale).

use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// "2026-11-28 17:41 UTC".
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `one` for 1, else `many`: "1 cluster", "2 clusters".
pub fn plural(n: i64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// "1,234,567".
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a value for a query string (UTF-8 bytes, upper-case hex).
pub fn query_value(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// A query string (`?a=1&b=x%20y`, or `""` when every value is absent) from pairs, for links
/// that carry a page's applied filters (CSV downloads, pagination).
pub fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, Option<String>)>) -> String {
    let query = pairs
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={}", query_value(&v))))
        .collect::<Vec<_>>()
        .join("&");
    if query.is_empty() {
        query
    } else {
        format!("?{query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(-4200), "-4,200");
    }

    #[test]
    fn query_values_are_escaped() {
        assert_eq!(query_value("prod-eu-1"), "prod-eu-1");
        assert_eq!(query_value("a b&c=d"), "a%20b%26c%3Dd");
        assert_eq!(query_value("/audit?x=1"), "%2Faudit%3Fx%3D1");
        assert_eq!(query_value("A-z_0.9~"), "A-z_0.9~");
        assert_eq!(query_value("é+%"), "%C3%A9%2B%25");
    }

    #[test]
    fn query_strings_skip_absent_values_and_escape_the_rest() {
        assert_eq!(query_string([("a", None)]), "");
        assert_eq!(
            query_string([
                ("a", Some("x y".to_owned())),
                ("b", None),
                ("c", Some("1".to_owned()))
            ]),
            "?a=x%20y&c=1"
        );
    }
}
