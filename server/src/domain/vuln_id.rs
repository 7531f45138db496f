//! Vulnerability ids as scanners write them (`CVE-2021-44228`, `GHSA-jfh8-c2jp-5v3q`,
//! `RHSA-2022:0892`, `pyup.io-40268`, ...): the [`VulnId`] newtype and the one rule for what a
//! CVE id is, which every parser uses to decide whether an advisory already is a CVE or names
//! CVEs to report instead.
//!
//! The rule: `CVE-`, a four-digit year, `-`, and four or more digits (the CVE numbering
//! scheme since 2014), the prefix in any case, nothing before or after. `CVE-2021-123` and
//! `CVE-` are not CVE ids.
//!
//! Pure. Which id a parser records for a finding (a CVE named by an advisory, aliases) is the
//! parser's business; what the catalogue knows about an id lives in `domain::intel`.

use std::fmt;

/// A vulnerability id, trimmed and normalised: CVE ids upper-cased (`cve-2021-44228` →
/// `CVE-2021-44228`), GHSA ids as GitHub writes them (`GHSA-` then the lower-case body);
/// other advisory ids as given.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VulnId(String);

impl VulnId {
    /// Reads an id; `None` when there is nothing but whitespace.
    pub fn parse(raw: &str) -> Option<VulnId> {
        let id = raw.trim();
        if id.is_empty() {
            return None;
        }
        if is_cve(id) {
            return Some(VulnId(id.to_ascii_uppercase()));
        }
        if is_ghsa(id) {
            let body = id.get(5..).unwrap_or_default().to_ascii_lowercase();
            return Some(VulnId(format!("GHSA-{body}")));
        }
        Some(VulnId(id.to_owned()))
    }

    /// Whether this is a CVE id (see the module rule).
    pub fn is_cve(&self) -> bool {
        is_cve(&self.0)
    }

    /// Whether this is a GitHub security advisory id (`GHSA-xxxx-xxxx-xxxx`).
    pub fn is_ghsa(&self) -> bool {
        is_ghsa(&self.0)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for VulnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for VulnId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<VulnId> for String {
    fn from(id: VulnId) -> String {
        id.0
    }
}

/// Whether `text` is exactly a CVE id: `CVE-YYYY-NNNN…` (prefix in any case, four-digit
/// year, four or more digits). Surrounding whitespace is not trimmed: [`VulnId::parse`] does.
pub fn is_cve(text: &str) -> bool {
    cve_at(text.as_bytes(), 0) == Some(text.len())
}

/// If a CVE id starts at byte `i` of `text` (prefix in any case), the index just after it.
/// Digits run as far as they go: `CVE-2021-12345678` is one id.
pub fn cve_at(text: &[u8], i: usize) -> Option<usize> {
    let prefix = text.get(i..i.checked_add(4)?)?;
    if !prefix.eq_ignore_ascii_case(b"CVE-") {
        return None;
    }
    let digits = |from: usize| {
        text.get(from..).map_or(0, |rest| {
            rest.iter().take_while(|c| c.is_ascii_digit()).count()
        })
    };
    if digits(i + 4) != 4 || text.get(i + 8) != Some(&b'-') {
        return None;
    }
    let number = digits(i + 9);
    (number >= 4).then_some(i + 9 + number)
}

/// Every CVE id in free text (a title, a list of links), each starting at a word boundary,
/// normalised, in order of appearance, without repeats.
pub fn cves_in(text: &str) -> Vec<VulnId> {
    let bytes = text.as_bytes();
    let mut ids: Vec<VulnId> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let boundary = i == 0 || bytes.get(i - 1).is_some_and(|c| !c.is_ascii_alphanumeric());
        match cve_at(bytes, i).filter(|_| boundary) {
            Some(end) => {
                let id = VulnId(text.get(i..end).unwrap_or_default().to_ascii_uppercase());
                if !ids.contains(&id) {
                    ids.push(id);
                }
                i = end;
            }
            None => i += 1,
        }
    }
    ids
}

/// Whether `text` is a GitHub security advisory id: `GHSA-` (any case) and three groups of
/// four letters or digits.
pub fn is_ghsa(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 4
        && parts
            .first()
            .is_some_and(|p| p.eq_ignore_ascii_case("GHSA"))
        && parts
            .iter()
            .skip(1)
            .all(|p| p.len() == 4 && p.bytes().all(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn parse_trims_and_normalises_cve_and_ghsa_ids() {
        let read = |raw: &str| VulnId::parse(raw).map(VulnId::into_string);
        assert_eq!(read(" cve-2021-44228\n").as_deref(), Some("CVE-2021-44228"));
        assert_eq!(
            read("ghsa-JFH8-c2jp-5V3Q").as_deref(),
            Some("GHSA-jfh8-c2jp-5v3q")
        );
        assert_eq!(read("RHSA-2022:0892").as_deref(), Some("RHSA-2022:0892"));
        assert_eq!(read("pyup.io-40268").as_deref(), Some("pyup.io-40268"));
        // Not a CVE id, so kept as written.
        assert_eq!(read("cve-2021-123").as_deref(), Some("cve-2021-123"));
        assert_eq!(read("  "), None);
        assert_eq!(read(""), None);
    }

    #[test]
    fn a_cve_id_has_a_four_digit_year_and_four_or_more_digits() {
        for id in [
            "CVE-2021-44228",
            "cve-1999-0001",
            "Cve-2024-1234567",
            "CVE-2014-0160",
        ] {
            assert!(is_cve(id), "{id}");
            assert!(VulnId::parse(id).is_some_and(|v| v.is_cve()), "{id}");
        }
        for id in [
            "CVE-",
            "CVE-2021-123",
            "CVE-21-1234",
            "CVE-2021-44228 ",
            "CVE-2021-44228-foo",
            "CVE-2021_44228",
            "XCVE-2021-44228",
            "GHSA-jfh8-c2jp-5v3q",
            "",
        ] {
            assert!(!is_cve(id), "{id:?}");
        }
    }

    /// The four `is_cve` functions the parsers had before this module, kept here only to show
    /// where they disagreed and which answer is now the rule.
    mod before {
        /// anchore and grype: "cve-" and anything after it.
        pub fn anchore_grype(id: &str) -> bool {
            id.len() > 4 && id.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("cve-"))
        }
        /// cyclonedx: the prefix alone was enough.
        pub fn cyclonedx(id: &str) -> bool {
            id.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("CVE-"))
        }
    }

    #[test]
    fn the_old_copies_disagreed_and_the_rule_decides() {
        // (id, anchore/grype said, cyclonedx said, the rule says: clair's strict check, which
        // became the rule)
        let cases = [
            ("CVE-2021-44228", true, true, true),
            ("cve-2021-44228", true, true, true),
            ("CVE-", false, true, false),
            ("CVE-2021-123", true, true, false),
            ("CVE-21-1234", true, true, false),
            ("CVE-2021-44228 (log4shell)", true, true, false),
            ("CVE-2021-44228,CVE-2021-45046", true, true, false),
            ("GHSA-jfh8-c2jp-5v3q", false, false, false),
        ];
        for (id, anchore_grype, cyclonedx, rule) in cases {
            assert_eq!(
                before::anchore_grype(id),
                anchore_grype,
                "anchore/grype {id:?}"
            );
            assert_eq!(before::cyclonedx(id), cyclonedx, "cyclonedx {id:?}");
            assert_eq!(is_cve(id), rule, "rule {id:?}");
        }
    }

    #[test]
    fn cves_in_text_are_found_at_word_boundaries_once_each() {
        let found: Vec<String> = cves_in(
            "pyup.io-40268 (cve-2021-27923) https://nvd.nist.gov/vuln/detail/CVE-2021-27923 \
             XCVE-2020-1111 CVE-2020-11111, CVE-2019-12",
        )
        .into_iter()
        .map(VulnId::into_string)
        .collect();
        assert_eq!(found, ["CVE-2021-27923", "CVE-2020-11111"]);
        assert!(cves_in("").is_empty());
    }

    #[test]
    fn ghsa_ids_have_three_groups_of_four() {
        assert!(is_ghsa("GHSA-jfh8-c2jp-5v3q"));
        assert!(is_ghsa("ghsa-JFH8-C2JP-5V3Q"));
        assert!(!is_ghsa("GHSA-jfh8-c2jp"));
        assert!(!is_ghsa("GHSA-jfh8-c2jp-5v3qq"));
        assert!(!is_ghsa("GHSA-jf_8-c2jp-5v3q"));
        let id = VulnId::parse("ghsa-JFH8-c2jp-5v3q").unwrap();
        assert!(id.is_ghsa() && !id.is_cve());
        assert_eq!(id.to_string(), "GHSA-jfh8-c2jp-5v3q");
    }

    proptest! {
        #[test]
        fn any_well_formed_cve_id_reads_as_one_in_upper_case(
            year in 1999u32..=2099,
            number in "[0-9]{4,8}",
            lower in any::<bool>(),
            pad in "[ \t\n]{0,3}",
        ) {
            let prefix = if lower { "cve" } else { "CVE" };
            let raw = format!("{pad}{prefix}-{year}-{number}{pad}");
            let id = VulnId::parse(&raw).unwrap();
            prop_assert!(id.is_cve());
            prop_assert_eq!(id.as_str(), format!("CVE-{year}-{number}"));
            // Found once in text around it, too.
            let text = format!("see {raw}, and again ({raw})");
            prop_assert_eq!(cves_in(&text), vec![id]);
        }

        #[test]
        fn parsing_is_idempotent_and_agrees_with_is_cve(raw in "\\PC{0,24}") {
            if let Some(id) = VulnId::parse(&raw) {
                prop_assert_eq!(VulnId::parse(id.as_str()), Some(id.clone()));
                prop_assert_eq!(id.is_cve(), is_cve(raw.trim()));
                prop_assert_eq!(id.as_str().trim(), id.as_str());
            } else {
                prop_assert!(raw.trim().is_empty());
            }
        }
    }
}
