//! Finding fingerprints: what makes two reports' records "the same problem on the same asset".
//!
//! A fingerprint is SHA-256 over the finding kind and the fields that identify it, each
//! length-prefixed so that no two different field lists hash alike. Scanner-specific details
//! (titles, descriptions, paths inside a layer) are deliberately left out, so that Trivy and
//! Grype reporting the same CVE in the same package of the same image give the same fingerprint.

use sha2::{Digest, Sha256};

/// 32 bytes identifying a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// A vulnerability: `vulnerability_id` in component `component_key` of asset `asset_key`
    /// (an image key, or a scanned path / repository for non-image scans).
    pub fn vulnerability(vulnerability_id: &str, component_key: &str, asset_key: &str) -> Self {
        Self::of(
            "vulnerability",
            &[vulnerability_id, component_key, asset_key],
        )
    }

    /// A failed configuration check `rule_id` on `resource` of asset `asset_key`.
    pub fn misconfiguration(rule_id: &str, resource: &str, asset_key: &str) -> Self {
        Self::of("misconfiguration", &[rule_id, resource, asset_key])
    }

    /// An exposed secret matched by `rule_id` at `location` (file, and the redacted match).
    pub fn secret(rule_id: &str, location: &str, asset_key: &str) -> Self {
        Self::of("secret", &[rule_id, location, asset_key])
    }

    /// Hash of `kind` and `parts`, each prefixed by its length.
    pub fn of(kind: &str, parts: &[&str]) -> Self {
        let mut hasher = Sha256::new();
        for part in std::iter::once(&kind).chain(parts) {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        Fingerprint(hasher.finalize().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_problem_same_asset_same_fingerprint() {
        let a =
            Fingerprint::vulnerability("CVE-2021-44228", "maven/log4j-core@2.14.1", "sha256:ab");
        let b =
            Fingerprint::vulnerability("CVE-2021-44228", "maven/log4j-core@2.14.1", "sha256:ab");
        assert_eq!(a, b);
    }

    #[test]
    fn any_identifying_field_changes_the_fingerprint() {
        let base = Fingerprint::vulnerability("CVE-1", "deb/openssl@3.0.0", "img");
        assert_ne!(
            base,
            Fingerprint::vulnerability("CVE-2", "deb/openssl@3.0.0", "img")
        );
        assert_ne!(
            base,
            Fingerprint::vulnerability("CVE-1", "deb/openssl@3.0.1", "img")
        );
        assert_ne!(
            base,
            Fingerprint::vulnerability("CVE-1", "deb/openssl@3.0.0", "img2")
        );
        assert_ne!(
            base,
            Fingerprint::misconfiguration("CVE-1", "deb/openssl@3.0.0", "img")
        );
    }

    #[test]
    fn field_boundaries_matter() {
        assert_ne!(
            Fingerprint::of("k", &["ab", "c"]),
            Fingerprint::of("k", &["a", "bc"])
        );
    }

    proptest::proptest! {
        /// Different field lists never collide, also when their concatenations are equal.
        #[test]
        fn different_fields_different_fingerprints(
            a in proptest::collection::vec("[ab/@:]{0,6}", 1..4),
            b in proptest::collection::vec("[ab/@:]{0,6}", 1..4),
        ) {
            let ra: Vec<&str> = a.iter().map(String::as_str).collect();
            let rb: Vec<&str> = b.iter().map(String::as_str).collect();
            proptest::prop_assert_eq!(
                a == b,
                Fingerprint::of("vulnerability", &ra) == Fingerprint::of("vulnerability", &rb)
            );
        }
    }
}
