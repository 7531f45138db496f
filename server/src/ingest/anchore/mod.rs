//! Anchore Engine / Anchore Enterprise outputs, in the dialects Anchore's tools print. The
//! dialect is told by the document's shape, never by its name:
//!
//! - **Vulnerability report** (`anchore-cli --json image vuln <image> all`, API
//!   `GET /images/{digest}/vuln/{type}`): an object with `vulnerabilities[]` and
//!   `imageDigest` (`image_digest`, `imageFullTag` and `base_digest` in later versions). Each
//!   entry has `vuln`, `severity`, `package_name`, `package_version`, `package_type`,
//!   `package_path`, `fix`, `url`, `nvd_data`/`vendor_data` (and `extra` with CVSS vectors in
//!   2.4+). The camelCase spelling of anchorectl (`packageName`, `feedGroup`, `nvdData`, ...)
//!   is read too, both as an object and as the bare list anchorectl prints
//!   (`[]` when nothing was found).
//! - **Vulnerability evaluation** (`metadata` with `registry`/`repository`/`tag`/`imageDigest`,
//!   and `securityEvaluation[]` entries with `vulnerabilityId`, `cves`, `severity`, `package`
//!   as `name-version`, `packageType`, `path`, `fixAvailable`, `link`).
//! - **Policy evaluation** (Anchore Enterprise / Engine `GET /images/{digest}/check?detail=true`,
//!   `anchore-cli --json evaluate check <image> --detail`): a list of
//!   `{ "<image digest>": { "<tag>": [ evaluation ] } }`; each evaluation's
//!   `detail.result.result.<image id>.result` is a table (`header`, `rows`) of gate results.
//!
//! Pure: bytes in, [`ParsedReport`] out. Each record is decoded on its own, so a malformed one
//! becomes a warning naming its JSON pointer. Empty outputs are successful empty reports.
//!
//! Mapping:
//! - The image is keyed by the report's image digest (Anchore's `imageDigest` is the registry
//!   manifest digest, the same digest Trivy's `RepoDigests` and Grype's `repoDigests` give),
//!   named by the full tag when the report gives one. Vulnerability scope `image:<key>`, or
//!   `image:<key>#<type>` when the report covers only `os` or `non-os` packages (a partial
//!   report never fixes the other half). The bare anchorectl list names no image: its findings
//!   are kept against an unnamed image and the report is its own scope
//!   (`anchore:report-<sha256 prefix>`), with a warning.
//! - Ids: `vuln` unless it is not a CVE and `nvd_data` names CVEs (or, in the evaluation
//!   dialect, `cves` does): then one finding per CVE with the advisory as an alias, as
//!   Trivy and Grype report them. VulnDB and other advisories without a CVE keep their id.
//! - Component: `package_type` (`dpkg` → deb, `APKG` → apk, `java` → maven, `python` → pypi,
//!   ...), `package_name`, `package_version` ([`Component::from_parts`]). When only the
//!   combined `package` is given, it is split before the version: for RPMs at the second
//!   hyphen from the end (`openssl-libs-1:1.1.1k-14.el8_6`), for the others at the first hyphen
//!   followed by a digit (`tomcat-embed-core-9.0.97`).
//! - Severity words as Anchore writes them (Negligible → low). `fix` / `fixAvailable` of
//!   `None` means no fix. CVSS vectors come from the `vector_string` of `nvd_data` (source
//!   `nvd`) and `vendor_data` (source: the feed group's distribution, else `vendor`); the
//!   scores are not copied.
//! - Policy evaluation: every gate row is a record; a row whose action is `stop` or `warn` and
//!   which is not whitelisted becomes a misconfiguration finding about the image (rule
//!   `<gate>:<trigger>`, resource the row's trigger id, title its check output). Severity: the
//!   leading severity word of the check output (`MEDIUM Vulnerability found ...`) when there is
//!   one, else `stop` → high and `warn` → medium. `go` and whitelisted rows are not findings.
//!   Scope `anchore-policy:<image key>`, so that a policy evaluation and a vulnerability report
//!   of the same image never fix each other's findings.
//!
//! Skipped: scores (`nvdCvssBaseScore`, `base_score`), the policy bundle itself
//! (`detail.policy`), `evaluation_problems`, whitelist and mapping details.
//!
//! Layout: telling the dialects apart, the image and the helpers they share are here; `engine`
//! reads the vulnerability report and the vulnerability evaluation, `enterprise` the policy
//! evaluation.

mod engine;
mod enterprise;

use std::collections::BTreeMap;

use serde_json::Value;
use serde_json::value::RawValue;

use crate::domain::component::ecosystem_of;
use crate::domain::fingerprint::Fingerprint;
use crate::domain::image_ref::{ImageRef, normalise_digest};
use crate::ingest::model::{ImageAsset, ParseError, ParsedReport, ReportBuilder, ReportKind};
use engine::{parse_evaluation, parse_vuln_report, read_vuln};
use enterprise::read_policy_item;

/// Parses an Anchore vulnerability report, vulnerability evaluation or policy evaluation.
pub fn parse(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
    match bytes.iter().find(|c| !c.is_ascii_whitespace()) {
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_slice(bytes)
                .map_err(|e| ParseError::from_json("Anchore JSON", &e))?;
            parse_list(bytes, items)
        }
        Some(b'{') => {
            // The top-level keys tell the object dialects apart.
            let map: BTreeMap<String, &RawValue> = serde_json::from_slice(bytes)
                .map_err(|e| ParseError::from_json("Anchore JSON", &e))?;
            if map.contains_key("securityEvaluation") {
                return parse_evaluation(bytes);
            }
            if map.contains_key("vulnerabilities") {
                return parse_vuln_report(bytes);
            }
            // A policy evaluation for one image, without the enclosing list.
            if !map.is_empty() && map.keys().all(|k| looks_like_digest(k)) {
                let mut b = ReportBuilder::new("anchore", ReportKind::Findings);
                read_policy_item(&mut b, "", map);
                return Ok(b.finish());
            }
            Err(wrong_format())
        }
        _ => {
            // Not a list nor an object: let serde say whether it is JSON at all.
            serde_json::from_slice::<Value>(bytes)
                .map_err(|e| ParseError::from_json("Anchore JSON", &e))?;
            Err(wrong_format())
        }
    }
}

fn wrong_format() -> ParseError {
    ParseError::new(
        "wrong-format",
        "this is not an Anchore report: expected a vulnerability report ('imageDigest', \
         'vulnerabilities'), anchorectl's list of vulnerabilities, a vulnerability evaluation \
         ('metadata', 'securityEvaluation') or a policy evaluation (a list of \
         {\"<image digest>\": {\"<tag>\": [evaluation]}})",
    )
}

fn looks_like_digest(key: &str) -> bool {
    normalise_digest(key).is_ok()
}

/// A bare list: anchorectl's vulnerabilities, or policy evaluations keyed by image digest.
fn parse_list(bytes: &[u8], items: Vec<&RawValue>) -> Result<ParsedReport, ParseError> {
    let mut b = ReportBuilder::new("anchore", ReportKind::Findings);
    let Some(first) = items.first() else {
        // anchorectl prints [] when an image has no vulnerabilities.
        b.scope(report_scope(bytes));
        return Ok(b.finish());
    };
    let first: Value = serde_json::from_str(first.get()).unwrap_or(Value::Null);
    let Some(object) = first.as_object() else {
        return Err(ParseError::at(
            "wrong-format",
            "/0",
            "this is not an Anchore report: a list must hold vulnerabilities or policy \
             evaluations (objects)",
        ));
    };
    if object.contains_key("vuln") {
        let scope = b.scope(report_scope(bytes));
        let asset = Asset {
            image: None,
            key: "anchore:unnamed-image".to_owned(),
            scope,
        };
        for (i, raw) in items.into_iter().enumerate() {
            read_vuln(&mut b, &format!("/{i}"), raw, &asset);
        }
        if b.finding_count() > 0 {
            b.warn(
                "/",
                "this anchorectl output does not name the scanned image: findings are kept \
                 against an unnamed image and a later report does not mark them fixed",
            );
        }
        return Ok(b.finish());
    }
    if !object.is_empty() && object.keys().all(|k| looks_like_digest(k)) {
        for (i, raw) in items.into_iter().enumerate() {
            let at = format!("/{i}");
            match serde_json::from_str::<BTreeMap<String, &RawValue>>(raw.get()) {
                Ok(map) => read_policy_item(&mut b, &at, map),
                Err(e) => b.warn(at, format!("policy evaluation skipped: {e}")),
            }
        }
        return Ok(b.finish());
    }
    Err(wrong_format())
}

/// The scope of a report that does not say what it scanned: the report itself.
fn report_scope(bytes: &[u8]) -> String {
    let digest = Fingerprint::of("anchore-report", &[&String::from_utf8_lossy(bytes)]);
    let short: String = digest
        .0
        .iter()
        .take(8)
        .map(|x| format!("{x:02x}"))
        .collect();
    format!("anchore:report-{short}")
}

/// What the findings of a report hang on.
struct Asset {
    image: Option<usize>,
    key: String,
    scope: usize,
}

/// The image named by a digest and, when given, a tag.
fn image_of(
    digest: Option<&str>,
    name: Option<&str>,
    image_id: Option<&str>,
) -> Option<ImageAsset> {
    let digest = digest.and_then(|d| normalise_digest(d).ok());
    let image_id = image_id.and_then(|id| {
        let id = id.trim();
        if id.contains(':') {
            normalise_digest(id).ok()
        } else {
            normalise_digest(&format!("sha256:{id}")).ok()
        }
    });
    let named = name.and_then(|n| ImageRef::parse(n).ok());
    let mut reference = match named {
        Some(reference) => reference,
        None if digest.is_some() || image_id.is_some() => ImageRef {
            registry: String::new(),
            repository: "(unnamed)".to_owned(),
            tag: None,
            digest: None,
        },
        None => return None,
    };
    if digest.is_some() {
        reference.digest = digest;
    }
    Some(ImageAsset::new(reference, image_id))
}

/// Anchore's package-type words, onto purl types.
fn anchore_ecosystem(kind: &str) -> &str {
    match kind.trim().to_ascii_lowercase().as_str() {
        "apkg" => "apk",
        "go" => "golang",
        _ => ecosystem_of(kind.trim()),
    }
}

/// Splits Anchore's `name-version` package string. RPMs: `name-[epoch:]version-release`, so
/// at the second hyphen from the end; others at the first hyphen followed by a digit.
fn split_package(package: &str, kind: &str) -> Option<(String, String)> {
    let package = package.trim();
    if ecosystem_of(kind) == "rpm" {
        let mut parts = package.rsplitn(3, '-');
        if let (Some(release), Some(version), Some(name)) =
            (parts.next(), parts.next(), parts.next())
            && !name.is_empty()
            && !version.is_empty()
            && !release.is_empty()
        {
            return Some((name.to_owned(), format!("{version}-{release}")));
        }
    }
    let split = package
        .as_bytes()
        .windows(2)
        .enumerate()
        .skip(1)
        .find_map(|(i, w)| matches!(w, [b'-', d] if d.is_ascii_digit()).then_some(i))?;
    let (name, version) = (package.get(..split)?, package.get(split + 1..)?);
    Some((name.to_owned(), version.to_owned()))
}

fn fix_of(fix: Option<&Value>) -> Option<String> {
    match fix? {
        Value::String(s) if !is_none(s) => Some(s.trim().to_owned()),
        Value::Array(list) => {
            let versions: Vec<&str> = list
                .iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|s| !is_none(s))
                .collect();
            (!versions.is_empty()).then(|| versions.join(", "))
        }
        _ => None,
    }
}

/// Anchore writes absent values as the string `None` (and `N/A`).
fn is_none(value: &str) -> bool {
    let value = value.trim();
    value.is_empty() || value == "None" || value == "N/A"
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    let item = item.trim();
    if !item.is_empty() && !list.iter().any(|known| known == item) {
        list.push(item.to_owned());
    }
}

#[cfg(test)]
mod tests;
