//! Formatting helpers that give the same text on the server and in the browser (hydration
//! needs both renders to agree, so nothing here depends on the clock or the locale).

use chrono::{DateTime, Utc};

/// "2026-11-28 17:41 UTC".
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
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

/// Percent-encodes a value for a query string.
pub fn query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
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
