//! Ordering of package versions per ecosystem: Debian (`debversion`), RPM (`rpm-version`),
//! SemVer ecosystems (`semver`), and a segment-wise comparison for the rest (Alpine, Maven,
//! PyPI, ...). Used by the parsers to choose the fixed version a finding shows when a scanner
//! lists several (one per release line): the lowest above the installed version.

use std::cmp::Ordering;
use std::str::FromStr;

/// Compares two versions of a package in `ecosystem` (a purl type).
pub fn compare(ecosystem: &str, a: &str, b: &str) -> Ordering {
    let (a, b) = (a.trim(), b.trim());
    match ecosystem {
        "deb" => match (
            debversion::Version::from_str(a),
            debversion::Version::from_str(b),
        ) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => generic(a, b),
        },
        "rpm" => rpm_version::rpm_evr_compare(a, b),
        "npm" | "cargo" | "golang" | "gem" | "nuget" | "composer" | "hex" | "pub" => {
            let strip = |v: &str| v.trim_start_matches('v').to_owned();
            match (
                semver::Version::parse(&strip(a)),
                semver::Version::parse(&strip(b)),
            ) {
                (Ok(x), Ok(y)) => x.cmp(&y),
                _ => generic(a, b),
            }
        }
        _ => generic(a, b),
    }
}

/// The lowest of `candidates` in `ecosystem`'s order (for "fixed in" lists).
pub fn lowest<'a>(
    ecosystem: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .filter(|c| !c.trim().is_empty())
        .min_by(|a, b| compare(ecosystem, a, b))
}

/// The version to upgrade to from `installed`, of the `candidates` a scanner lists as fixing
/// (often one per release line: "2.4.62, 3.0.1"): the only one, or the lowest one above the
/// installed version. `None` when that cannot be said with confidence (no candidate, several
/// and the installed version unknown, or none above it): the caller then shows the scanner's
/// list as it is rather than a version that may be a downgrade.
pub fn fix_for<'a>(
    ecosystem: &str,
    installed: Option<&str>,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let candidates: Vec<&str> = candidates
        .into_iter()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    if let [only] = candidates[..] {
        return Some(only); // the usual case, and no comparison can change it
    }
    let installed = installed.map(str::trim).filter(|v| !v.is_empty())?;
    lowest(
        ecosystem,
        candidates
            .into_iter()
            .filter(|c| compare(ecosystem, c, installed) == Ordering::Greater),
    )
}

/// Segment-wise comparison: runs of digits compare as numbers, runs of letters as text, and a
/// pre-release marker (`~`, `-rc`, `-alpha`, `-beta`) sorts before the release.
pub fn generic(a: &str, b: &str) -> Ordering {
    let sa = segments(a);
    let sb = segments(b);
    for i in 0..sa.len().max(sb.len()) {
        let ord = match (sa.get(i), sb.get(i)) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(x), None) => x.versus_nothing(),
            (None, Some(y)) => y.versus_nothing().reverse(),
            (None, None) => Ordering::Equal,
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    // Equal by segments ("1.0" vs "1-0"): fall back to the text, so the order is total.
    a.cmp(b)
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    /// A pre-release marker: before everything else.
    Pre(String),
    Number(u128),
    Text(String),
}

impl Segment {
    /// How this segment compares with the end of the other version: "1.0.1" > "1.0", but
    /// "1.0-rc1" < "1.0".
    fn versus_nothing(&self) -> Ordering {
        match self {
            Segment::Pre(_) => Ordering::Less,
            Segment::Number(0) => Ordering::Equal,
            _ => Ordering::Greater,
        }
    }
}

fn segments(version: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut chars = version.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() {
            let mut digits = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(d);
                chars.next();
            }
            let digits = digits.trim_start_matches('0');
            let number = if digits.is_empty() {
                0
            } else {
                digits.parse().unwrap_or(u128::MAX)
            };
            out.push(Segment::Number(number));
        } else if c.is_ascii_alphabetic() {
            let mut word = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_alphabetic()) {
                word.push(d.to_ascii_lowercase());
                chars.next();
            }
            let pre = matches!(
                word.as_str(),
                "alpha" | "a" | "beta" | "b" | "rc" | "pre" | "dev" | "snapshot"
            );
            out.push(if pre {
                Segment::Pre(word)
            } else {
                Segment::Text(word)
            });
        } else if c == '~' {
            chars.next();
            out.push(Segment::Pre(String::new()));
        } else {
            chars.next(); // separators
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ecosystems_order_their_own_way() {
        assert_eq!(
            compare("deb", "1:1.2.13.dfsg-1", "1.2.13.dfsg-2"),
            Ordering::Greater
        );
        assert_eq!(
            compare("deb", "2.36-9+deb12u1", "2.36-9+deb12u3"),
            Ordering::Less
        );
        assert_eq!(compare("deb", "1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(
            compare("rpm", "1.2.3-4.el8", "1.2.3-10.el8"),
            Ordering::Less
        );
        assert_eq!(compare("npm", "4.17.20", "4.17.21"), Ordering::Less);
        assert_eq!(compare("golang", "v0.10.0", "0.17.0"), Ordering::Less);
        assert_eq!(compare("npm", "1.0.0-rc.1", "1.0.0"), Ordering::Less);
        assert_eq!(compare("apk", "3.1.4-r0", "3.1.4-r10"), Ordering::Less);
        assert_eq!(compare("maven", "2.14.1", "2.15.0"), Ordering::Less);
        assert_eq!(compare("maven", "2.0", "2.0.1"), Ordering::Less);
        assert_eq!(compare("pypi", "1.0rc1", "1.0"), Ordering::Less);
        assert_eq!(compare("maven", "1.0", "1.0.0"), Ordering::Less);
    }

    #[test]
    fn lowest_fixed_version_is_picked() {
        assert_eq!(lowest("npm", ["4.19.2", "4.18.3", ""]), Some("4.18.3"));
        assert_eq!(lowest("deb", Vec::<&str>::new()), None);
    }

    #[test]
    fn the_fix_shown_is_the_lowest_above_the_installed_version() {
        // one fix per release line: 3.1.x needs 3.1.4, not the older line's 3.0.12
        assert_eq!(
            fix_for("apk", Some("3.1.2-r0"), ["3.0.12-r0", "3.1.4-r1"]),
            Some("3.1.4-r1")
        );
        assert_eq!(
            fix_for("npm", Some("4.17.1"), ["5.0.0", "4.18.3", "4.17.0"]),
            Some("4.18.3")
        );
        // one listed: that one, whatever is installed
        assert_eq!(fix_for("npm", None, ["2.0.0"]), Some("2.0.0"));
        // installed unknown, or nothing above it: no choice (never a downgrade)
        assert_eq!(fix_for("deb", None, ["1:2.0-1", "1:1.9-3"]), None);
        assert_eq!(fix_for("npm", Some("9.0.0"), ["1.0.0", "2.0.0"]), None);
        assert_eq!(fix_for("npm", Some("1.0.0"), [" ", ""]), None);
    }

    fn version() -> impl Strategy<Value = String> {
        "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}(-(rc|r|alpha)?[0-9]{1,2})?(~[a-z]{1,3})?"
    }

    proptest! {
        #[test]
        fn ordering_is_reflexive_and_antisymmetric(a in version(), b in version(), eco in "(deb|rpm|npm|apk|maven|pypi)") {
            prop_assert_eq!(compare(&eco, &a, &a), Ordering::Equal);
            prop_assert_eq!(compare(&eco, &a, &b), compare(&eco, &b, &a).reverse());
        }

        #[test]
        fn the_fix_shown_is_listed_and_nothing_listed_lies_between(
            installed in version(),
            candidates in proptest::collection::vec(version(), 1..6),
            eco in "(deb|rpm|npm|apk|maven)",
        ) {
            let fix = fix_for(&eco, Some(&installed), candidates.iter().map(String::as_str));
            let above: Vec<&String> = candidates
                .iter()
                .filter(|c| compare(&eco, c, &installed) == Ordering::Greater)
                .collect();
            match fix {
                Some(fix) if candidates.len() == 1 => prop_assert_eq!(fix, candidates[0].trim()),
                Some(fix) => {
                    // above the installed version, and nothing listed lies between
                    prop_assert!(above.iter().any(|c| c.as_str() == fix));
                    let between = above.iter().any(|c| compare(&eco, c, fix) == Ordering::Less);
                    prop_assert!(!between, "{} < listed < {}", installed, fix);
                }
                None => prop_assert!(candidates.len() > 1 && above.is_empty()),
            }
        }

        #[test]
        fn ordering_is_transitive(a in version(), b in version(), c in version(), eco in "(deb|rpm|npm|apk|maven)") {
            let ab = compare(&eco, &a, &b);
            let bc = compare(&eco, &b, &c);
            if ab != Ordering::Greater && bc != Ordering::Greater {
                prop_assert_ne!(compare(&eco, &a, &c), Ordering::Greater, "{} <= {} <= {}", a, b, c);
            }
        }

        #[test]
        fn bumping_a_component_sorts_after(major in 0u32..50, minor in 0u32..50, eco in "(deb|rpm|npm|apk|maven|pypi)") {
            let a = format!("{major}.{minor}.0");
            let b = format!("{major}.{}.0", minor + 1);
            prop_assert_eq!(compare(&eco, &a, &b), Ordering::Less);
        }
    }
}
