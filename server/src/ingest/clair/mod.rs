//! Clair: the Clair v4 `VulnerabilityReport` (`GET /matcher/api/v1/vulnerability_report/{digest}`,
//! `clairctl report -o json`, clair-action), and the two Clair v2-era client outputs still in
//! use: clair-scanner (`--report`: `image`, `unapproved`, `vulnerabilities[]`) and klar
//! (`KLAR_JSON_OUTPUT`/`FORMAT_OUTPUT=json`: `LayerCount`, `Vulnerabilities` keyed by
//! severity). The dialect is told by the document's own keys, never by its name.
//!
//! Pure: bytes in, [`ParsedReport`] out. Every record (a package-vulnerability link, a
//! clair-scanner or klar vulnerability) is decoded on its own, so a malformed one becomes a
//! warning naming its JSON pointer. Empty outputs are successful empty reports.
//!
//! Mapping:
//! - **Clair v4**: the image is the report's `manifest_hash` (a manifest digest), so the asset
//!   key agrees with Trivy and Grype on the same image; scope `image:<digest>`. Each
//!   `package_vulnerabilities` link (package id → vulnerability id) is one record. The
//!   advisory id is the first word of the vulnerability `name` (`CVE-2022-23219 glibc`,
//!   `RHSA-2022:0892: ...`, `pyup.io-40268 (CVE-2021-27923)`); when it is not a CVE, the CVE ids
//!   named in `name` and in `links` (space-separated URLs) each become a finding, with the
//!   advisory as an alias (Trivy and Grype report RHEL and PyPI issues per CVE; this is what
//!   makes their fingerprints agree). The component is the report's package (not the
//!   vulnerability's, which may name the source package); its ecosystem comes from the
//!   environment's `package_db` (`var/lib/dpkg/status` → deb, `…/rpm` → rpm,
//!   `lib/apk/db/installed` → apk, `python:` → pypi, `maven:`/`jar:` → maven, `go:` →
//!   golang, `nodejs:` → npm, `ruby:` → gem), else its distribution, else the vulnerability's
//!   repository name. CVSS vectors come from the `clair.cvss` enrichment.
//!   Severity is `normalized_severity`, mapped explicitly (claircore's `Severity` type):
//!   Unknown → unknown, Negligible → low (Clair documents it as "technically a security problem,
//!   but only theoretical or of very low impact"; Bulwark has nothing below low), Low → low,
//!   Medium → medium, High → high, Critical → critical, Defcon1 (Clair v2) → critical.
//!   `fixed_in_version` values that fix nothing (empty, `0`, `0:0` as the Debian updater writes
//!   for unfixed issues) are not fix versions.
//! - **clair-scanner**: `image` names the image (no digest: key `registry/repo:tag`); every
//!   entry of `vulnerabilities` is a finding (`unapproved` is the whitelist verdict, kept in the
//!   details). Ecosystem from `namespace` (`ubuntu:18.04` → deb, `centos:7` → rpm).
//! - **klar**: the output does not name the image. Findings are kept against an unnamed image
//!   (`klar:unnamed-image`), and the scope is the report itself (`klar:report-<sha256 prefix>`)
//!   so that one klar run never marks another image's findings fixed; a warning says so.
//!   CVSS vectors come from `Metadata.<source>.CVSSv2/CVSSv3.Vectors`.
//!
//! Skipped: packages without vulnerabilities (records only when linked), Clair v4 `repository`
//! and `distributions` beyond the image's OS, the free text of descriptions (CVE ids in prose
//! are not used as identities). A Clair v4 `IndexReport` (no vulnerabilities) is refused.
//!
//! Layout: telling the dialects apart and the words they share (severities, ecosystems, CVE
//! ids) are here; `v4` reads Clair v4 reports, `v2` clair-scanner and klar.

mod v2;
mod v4;

use app::model::Severity;
use serde::Deserialize;
use serde_json::Value;

use crate::domain::component::ecosystem_of;
use crate::ingest::model::{ParseError, ParsedReport, ReportBuilder};
use v2::{parse_klar, parse_scanner};
use v4::parse_v4;

/// The top-level keys of all three dialects; which ones are present tells the dialect.
#[derive(Deserialize)]
struct Probe {
    // Clair v4
    manifest_hash: Option<Value>,
    package_vulnerabilities: Option<Value>,
    state: Option<Value>,
    success: Option<Value>,
    // clair-scanner
    image: Option<Value>,
    unapproved: Option<Value>,
    vulnerabilities: Option<Value>,
    // klar
    #[serde(rename = "LayerCount")]
    layer_count: Option<Value>,
    #[serde(rename = "Vulnerabilities")]
    klar_vulnerabilities: Option<Value>,
}

/// Parses a Clair v4 vulnerability report, a clair-scanner report or a klar report.
pub fn parse(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
    let probe: Probe =
        serde_json::from_slice(bytes).map_err(|e| ParseError::from_json("Clair JSON", &e))?;
    if probe.manifest_hash.is_some() || probe.package_vulnerabilities.is_some() {
        if probe.package_vulnerabilities.is_none()
            && probe.vulnerabilities.is_none()
            && (probe.state.is_some() || probe.success.is_some())
        {
            return Err(ParseError::new(
                "wrong-format",
                "this is a Clair v4 index report, not a vulnerability report: it has no \
                 'vulnerabilities' or 'package_vulnerabilities'. Send the output of \
                 /matcher/api/v1/vulnerability_report/{digest} (or `clairctl report -o json`)",
            ));
        }
        return parse_v4(bytes);
    }
    if probe.layer_count.is_some() || probe.klar_vulnerabilities.is_some() {
        return parse_klar(bytes);
    }
    if probe.image.is_some() || probe.unapproved.is_some() {
        return parse_scanner(bytes);
    }
    Err(ParseError::new(
        "wrong-format",
        "this is not a Clair report: expected a Clair v4 vulnerability report \
         ('manifest_hash', 'package_vulnerabilities'), clair-scanner output ('image', \
         'vulnerabilities') or klar output ('LayerCount', 'Vulnerabilities')",
    ))
}

/// claircore's `Severity` values (and Clair v2's Defcon1), mapped explicitly.
fn v4_severity(b: &mut ReportBuilder, at: &str, word: &str) -> Severity {
    match word.trim().to_ascii_lowercase().as_str() {
        "" | "unknown" => Severity::Unknown,
        // "technically a security problem, but only theoretical or of very low impact"
        "negligible" | "low" => Severity::Low,
        "medium" => Severity::Medium,
        "high" => Severity::High,
        "critical" | "defcon1" => Severity::Critical,
        _ => b.severity(at, Some(word)),
    }
}

/// The purl type of an OS distribution id or Clair v2 namespace word.
fn os_ecosystem(word: &str) -> &'static str {
    match word.trim().to_ascii_lowercase().as_str() {
        "rhel" | "centos" | "amzn" | "amazonlinux" | "ol" | "oracle" | "fedora" | "rocky"
        | "alma" | "almalinux" | "sles" | "suse" | "opensuse" | "photon" | "mariner" => "rpm",
        other => match ecosystem_of(other) {
            "deb" => "deb",
            "apk" => "apk",
            "rpm" => "rpm",
            _ => "generic",
        },
    }
}

/// `fixed_in_version` values that name no fix: empty, or only zeros (`0`, `0:0`).
fn fixes_something(version: &str) -> bool {
    !version.is_empty() && !version.chars().all(|c| c == '0' || c == ':')
}

#[cfg(test)]
mod tests;
