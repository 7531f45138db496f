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

use crate::ingest::model::insert_some;
use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::domain::component::{Component, ecosystem_of};
use crate::domain::fingerprint::Fingerprint;
use crate::domain::image_ref::{ImageRef, normalise_digest};
use crate::ingest::model::{
    FindingKind, FindingRecord, ImageAsset, ParseError, ParsedReport, ReportBuilder, ReportKind,
    VulnerabilityInfo, parse_timestamp,
};
use app::model::Severity;

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

// ---------------------------------------------------------------------------------------------
// Clair v4

#[derive(Deserialize)]
struct V4Report<'a> {
    manifest_hash: Option<String>,
    #[serde(borrow)]
    packages: Option<HashMap<String, &'a RawValue>>,
    distributions: Option<HashMap<String, Value>>,
    #[serde(borrow)]
    environments: Option<HashMap<String, &'a RawValue>>,
    #[serde(borrow)]
    vulnerabilities: Option<HashMap<String, &'a RawValue>>,
    #[serde(borrow)]
    package_vulnerabilities: Option<BTreeMap<String, &'a RawValue>>,
    enrichments: Option<HashMap<String, Value>>,
}

#[derive(Deserialize)]
struct V4Package {
    name: Option<String>,
    version: Option<String>,
}

#[derive(Deserialize)]
struct V4Environment {
    package_db: Option<String>,
    introduced_in: Option<String>,
    distribution_id: Option<String>,
}

#[derive(Deserialize)]
struct V4Vulnerability {
    name: Option<String>,
    description: Option<String>,
    issued: Option<String>,
    links: Option<String>,
    severity: Option<String>,
    normalized_severity: Option<String>,
    updater: Option<String>,
    repository: Option<V4Repository>,
    fixed_in_version: Option<String>,
}

#[derive(Deserialize)]
struct V4Repository {
    name: Option<String>,
}

fn parse_v4(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
    let report: V4Report<'_> = serde_json::from_slice(bytes)
        .map_err(|e| ParseError::from_json("Clair v4 vulnerability", &e))?;
    let mut b = ReportBuilder::new("clair", ReportKind::Findings);
    let hash = report.manifest_hash.unwrap_or_default();
    b.artifact(Some(hash.clone()));

    // The image's OS: the distribution, when the report found exactly one family.
    let distributions = report.distributions.unwrap_or_default();
    let mut os: Vec<(String, String)> = distributions
        .values()
        .filter_map(|d| {
            let did = d.get("did")?.as_str()?.trim();
            let version = ["version_id", "version"]
                .iter()
                .find_map(|k| d.get(*k)?.as_str().filter(|v| !v.trim().is_empty()))
                .unwrap_or_default();
            (!did.is_empty()).then(|| (did.to_owned(), version.to_owned()))
        })
        .collect();
    os.sort();
    os.dedup();

    let (image, asset_key) = match normalise_digest(&hash) {
        Ok(digest) => {
            let reference = ImageRef {
                registry: String::new(),
                repository: "(unnamed)".to_owned(),
                tag: None,
                digest: Some(digest),
            };
            let mut asset = ImageAsset::new(reference, None);
            if let [(family, version)] = os.as_slice() {
                asset.os_family = Some(family.clone());
                asset.os_name = (!version.is_empty()).then(|| version.clone());
            }
            let index = b.image(asset);
            (Some(index), b.image_at(index).key.clone())
        }
        Err(_) => {
            b.warn(
                "/manifest_hash",
                format!(
                    "'{hash}' is not a manifest digest; findings are kept against the \
                     manifest hash instead of an image"
                ),
            );
            (None, format!("clair-manifest:{hash}"))
        }
    };
    let scope = b.scope(format!("image:{asset_key}"));

    let cvss = cvss_enrichment(report.enrichments.unwrap_or_default());
    let packages = report.packages.unwrap_or_default();
    let environments = report.environments.unwrap_or_default();
    let vulnerabilities = report.vulnerabilities.unwrap_or_default();
    let distro_of = |id: &str| -> Option<String> {
        distributions
            .get(id)?
            .get("did")?
            .as_str()
            .map(str::to_owned)
    };

    let ctx = V4Context {
        image,
        asset_key: &asset_key,
        scope,
    };
    for (package_id, raw_links) in report.package_vulnerabilities.unwrap_or_default() {
        let base = format!("/package_vulnerabilities/{}", escape_pointer(&package_id));
        let links: Vec<Value> = match serde_json::from_str::<Option<Vec<Value>>>(raw_links.get()) {
            Ok(links) => links.unwrap_or_default(),
            Err(e) => {
                b.record();
                b.warn(base, format!("package links skipped: {e}"));
                continue;
            }
        };
        if links.is_empty() {
            continue;
        }
        let package = packages
            .get(&package_id)
            .map(|raw| serde_json::from_str::<V4Package>(raw.get()));
        let environment = environments.get(&package_id).and_then(|raw| {
            serde_json::from_str::<Option<Vec<V4Environment>>>(raw.get())
                .ok()
                .flatten()
                .and_then(|envs| envs.into_iter().next())
        });
        for (i, link) in links.iter().enumerate() {
            let at = format!("{base}/{i}");
            b.record();
            let package = match &package {
                Some(Ok(p)) => p,
                Some(Err(e)) => {
                    b.warn(
                        &at,
                        format!("link skipped: package '{package_id}' unreadable: {e}"),
                    );
                    continue;
                }
                None => {
                    b.warn(
                        &at,
                        format!("link skipped: package '{package_id}' is not in 'packages'"),
                    );
                    continue;
                }
            };
            let Some(vuln_id) = link.as_str() else {
                b.warn(&at, "link skipped: not a vulnerability id");
                continue;
            };
            let vuln = match vulnerabilities
                .get(vuln_id)
                .map(|raw| serde_json::from_str::<V4Vulnerability>(raw.get()))
            {
                Some(Ok(v)) => v,
                Some(Err(e)) => {
                    b.warn(&at, format!("vulnerability '{vuln_id}' skipped: {e}"));
                    continue;
                }
                None => {
                    b.warn(
                        &at,
                        format!(
                            "link skipped: vulnerability '{vuln_id}' is not in 'vulnerabilities'"
                        ),
                    );
                    continue;
                }
            };
            let Some(name) = package.name.as_deref().filter(|n| !n.trim().is_empty()) else {
                b.warn(
                    &at,
                    format!("link skipped: package '{package_id}' has no name"),
                );
                continue;
            };
            let ecosystem = v4_ecosystem(
                environment.as_ref().and_then(|e| e.package_db.as_deref()),
                environment
                    .as_ref()
                    .and_then(|e| e.distribution_id.as_deref())
                    .and_then(distro_of)
                    .as_deref(),
                vuln.repository.as_ref().and_then(|r| r.name.as_deref()),
            );
            let component = Component::from_parts(
                ecosystem,
                name.trim(),
                package.version.as_deref().unwrap_or_default().trim(),
            );
            let vectors = cvss.get(vuln_id).cloned().unwrap_or_default();
            ctx.link(
                &mut b,
                &at,
                vuln_id,
                vuln,
                component,
                vectors,
                environment.as_ref(),
            );
        }
    }
    Ok(b.finish())
}

struct V4Context<'a> {
    image: Option<usize>,
    asset_key: &'a str,
    scope: usize,
}

impl V4Context<'_> {
    #[allow(clippy::too_many_arguments)]
    fn link(
        &self,
        b: &mut ReportBuilder,
        at: &str,
        clair_id: &str,
        vuln: V4Vulnerability,
        component: Component,
        cvss_vectors: Vec<(String, String)>,
        environment: Option<&V4Environment>,
    ) {
        let name = vuln.name.as_deref().unwrap_or_default().trim();
        let Some(advisory) = name
            .split_whitespace()
            .next()
            .map(|w| w.trim_end_matches([':', ',', ';']))
            .filter(|w| !w.is_empty())
        else {
            return b.warn(
                at,
                format!("vulnerability '{clair_id}' skipped: it has no name"),
            );
        };
        let links = vuln.links.as_deref().unwrap_or_default();
        let (ids, aliases) = if is_cve(advisory) {
            (vec![advisory.to_ascii_uppercase()], Vec::new())
        } else {
            let mut cves = cve_ids(name);
            for cve in cve_ids(links) {
                if !cves.contains(&cve) {
                    cves.push(cve);
                }
            }
            if cves.is_empty() {
                (vec![advisory.to_owned()], Vec::new())
            } else {
                (cves, vec![advisory.to_owned()])
            }
        };
        let severity = match vuln.normalized_severity.as_deref() {
            Some(word) => v4_severity(b, at, word),
            None => b.severity(at, vuln.severity.as_deref()),
        };
        let fixed_version = vuln
            .fixed_in_version
            .as_deref()
            .map(str::trim)
            .filter(|v| fixes_something(v))
            .map(str::to_owned);
        let references: Vec<String> = links.split_whitespace().map(str::to_owned).collect();
        let component_key = component.key();
        let component_index = b.component(component);
        let mut details = json!({ "scanner": "clair", "advisory": advisory });
        insert_some(&mut details, "clair_name", Some(name.to_owned()));
        insert_some(&mut details, "updater", vuln.updater.clone());
        insert_some(
            &mut details,
            "package_db",
            environment.and_then(|e| e.package_db.clone()),
        );
        insert_some(
            &mut details,
            "layer",
            environment.and_then(|e| e.introduced_in.clone()),
        );
        insert_some(
            &mut details,
            "links",
            (!links.is_empty()).then(|| links.to_owned()),
        );
        for id in ids {
            b.vulnerability(VulnerabilityInfo {
                id: id.clone(),
                aliases: aliases.clone(),
                title: Some(name.to_owned()),
                description: vuln.description.clone().filter(|d| !d.trim().is_empty()),
                severity,
                cvss_vectors: cvss_vectors.clone(),
                cwe: Vec::new(),
                published_at: vuln
                    .issued
                    .as_deref()
                    .and_then(parse_timestamp)
                    // Go's zero time: "not known".
                    .filter(|t| t.timestamp() > 0),
                modified_at: None,
                references: references.clone(),
            });
            b.finding(FindingRecord {
                fingerprint: Fingerprint::vulnerability(&id, &component_key, self.asset_key),
                kind: FindingKind::Vulnerability,
                severity,
                title: format!("{id} in {component_key}"),
                vulnerability_id: Some(id),
                component: Some(component_index),
                rule_id: None,
                image: self.image,
                workload: None,
                in_cluster: false,
                resource: environment.and_then(|e| e.package_db.clone()),
                fixed_version: fixed_version.clone(),
                scope: self.scope,
                details: details.clone().into(),
            });
        }
    }
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

/// The ecosystem of a Clair v4 package: its package database, else its distribution, else the
/// vulnerability's repository.
fn v4_ecosystem(
    package_db: Option<&str>,
    distribution: Option<&str>,
    repository: Option<&str>,
) -> &'static str {
    if let Some(db) = package_db.map(str::to_ascii_lowercase) {
        let prefixed = [
            ("python:", "pypi"),
            ("maven:", "maven"),
            ("jar:", "maven"),
            ("java:", "maven"),
            ("go:", "golang"),
            ("nodejs:", "npm"),
            ("npm:", "npm"),
            ("ruby:", "gem"),
            ("gem:", "gem"),
        ];
        if let Some((_, ecosystem)) = prefixed.iter().find(|(p, _)| db.starts_with(p)) {
            return ecosystem;
        }
        if db.contains("dpkg") {
            return "deb";
        }
        if db.contains("rpm") {
            return "rpm";
        }
        if db.contains("apk/db") {
            return "apk";
        }
    }
    if let Some(distribution) = distribution.filter(|d| !d.is_empty()) {
        let ecosystem = os_ecosystem(distribution);
        if ecosystem != "generic" {
            return ecosystem;
        }
    }
    match repository.map(str::to_ascii_lowercase).as_deref() {
        Some("pypi") => "pypi",
        Some("maven") => "maven",
        Some("npm") => "npm",
        Some("go") => "golang",
        Some("rubygems") => "gem",
        Some("crates.io") => "cargo",
        Some("nuget") => "nuget",
        _ => "generic",
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

/// vulnerability id → CVSS vectors, from the `clair.cvss` enricher
/// (`{"<media type>; enricher=clair.cvss ...": [{"<vuln id>": [{"vectorString": ...}]}]}`).
fn cvss_enrichment(enrichments: HashMap<String, Value>) -> HashMap<String, Vec<(String, String)>> {
    let mut vectors: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for (kind, value) in enrichments {
        if !kind.contains("clair.cvss") {
            continue;
        }
        let maps = match value {
            Value::Array(items) => items,
            other => vec![other],
        };
        for map in maps {
            let Value::Object(map) = map else { continue };
            for (id, entries) in map {
                let entries = match entries {
                    Value::Array(items) => items,
                    other => vec![other],
                };
                for entry in entries {
                    if let Some(vector) = entry.get("vectorString").and_then(Value::as_str) {
                        let pair = ("nvd".to_owned(), vector.to_owned());
                        let list = vectors.entry(id.clone()).or_default();
                        if !vector.trim().is_empty() && !list.contains(&pair) {
                            list.push(pair);
                        }
                    }
                }
            }
        }
    }
    vectors
}

// ---------------------------------------------------------------------------------------------
// clair-scanner

#[derive(Deserialize)]
struct ScannerReport<'a> {
    image: Option<String>,
    unapproved: Option<Vec<Value>>,
    #[serde(borrow)]
    vulnerabilities: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct ScannerVulnerability {
    featurename: Option<String>,
    featureversion: Option<String>,
    vulnerability: Option<String>,
    namespace: Option<String>,
    description: Option<String>,
    link: Option<String>,
    severity: Option<String>,
    fixedby: Option<String>,
}

fn parse_scanner(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
    let report: ScannerReport<'_> =
        serde_json::from_slice(bytes).map_err(|e| ParseError::from_json("clair-scanner", &e))?;
    let mut b = ReportBuilder::new("clair-scanner", ReportKind::Findings);
    let name = report.image.unwrap_or_default();
    b.artifact(Some(name.clone()));
    let (image, asset_key) = match ImageRef::parse(&name) {
        Ok(reference) => {
            let index = b.image(ImageAsset::new(reference, None));
            (Some(index), b.image_at(index).key.clone())
        }
        Err(_) => {
            b.warn(
                "/image",
                format!(
                    "'{name}' is not an image reference; findings are kept against the name \
                     instead of an image"
                ),
            );
            (None, format!("clair-scanner:{name}"))
        }
    };
    let scope = b.scope(format!("image:{asset_key}"));
    let unapproved: Vec<String> = report
        .unapproved
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    for (i, raw) in report
        .vulnerabilities
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let at = format!("/vulnerabilities/{i}");
        b.record();
        let v = match serde_json::from_str::<ScannerVulnerability>(raw.get()) {
            Ok(v) => v,
            Err(e) => {
                b.warn(at, format!("vulnerability skipped: {e}"));
                continue;
            }
        };
        let approved = v.vulnerability.as_ref().map(|id| !unapproved.contains(id));
        let record = V2Record {
            id: v.vulnerability,
            package: v.featurename,
            version: v.featureversion,
            namespace: v.namespace,
            description: v.description,
            link: v.link,
            severity: v.severity,
            fixed_by: v.fixedby,
            cvss_vectors: Vec::new(),
        };
        let extra = approved.map(|a| ("approved", Value::Bool(a)));
        v2_finding(
            &mut b,
            &at,
            record,
            image,
            &asset_key,
            scope,
            "clair-scanner",
            extra,
        );
    }
    Ok(b.finish())
}

// ---------------------------------------------------------------------------------------------
// klar

#[derive(Deserialize)]
struct KlarReport<'a> {
    #[serde(rename = "LayerCount")]
    layer_count: Option<Value>,
    #[serde(borrow, rename = "Vulnerabilities")]
    vulnerabilities: Option<BTreeMap<String, Option<Vec<&'a RawValue>>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KlarVulnerability {
    name: Option<String>,
    namespace_name: Option<String>,
    description: Option<String>,
    link: Option<String>,
    severity: Option<String>,
    fixed_by: Option<String>,
    feature_name: Option<String>,
    feature_version: Option<String>,
    metadata: Option<HashMap<String, Value>>,
}

fn parse_klar(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
    let report: KlarReport<'_> =
        serde_json::from_slice(bytes).map_err(|e| ParseError::from_json("klar", &e))?;
    let mut b = ReportBuilder::new("klar", ReportKind::Findings);
    // klar does not say which image it scanned: the report is its own scope.
    let digest = Fingerprint::of("klar-report", &[&String::from_utf8_lossy(bytes)]);
    let short: String = digest
        .0
        .iter()
        .take(8)
        .map(|x| format!("{x:02x}"))
        .collect();
    let scope = b.scope(format!("klar:report-{short}"));
    let asset_key = "klar:unnamed-image";
    let mut lists: Vec<(String, Vec<&RawValue>)> = report
        .vulnerabilities
        .unwrap_or_default()
        .into_iter()
        .map(|(severity, list)| (severity, list.unwrap_or_default()))
        .collect();
    // Worst first, as klar prints them.
    lists.sort_by_key(|(severity, _)| std::cmp::Reverse(klar_rank(severity)));
    for (group, list) in lists {
        for (i, raw) in list.into_iter().enumerate() {
            let at = format!("/Vulnerabilities/{}/{i}", escape_pointer(&group));
            b.record();
            let v = match serde_json::from_str::<KlarVulnerability>(raw.get()) {
                Ok(v) => v,
                Err(e) => {
                    b.warn(at, format!("vulnerability skipped: {e}"));
                    continue;
                }
            };
            let record = V2Record {
                id: v.name,
                package: v.feature_name,
                version: v.feature_version,
                namespace: v.namespace_name,
                description: v.description,
                link: v.link,
                severity: v.severity.or_else(|| Some(group.clone())),
                fixed_by: v.fixed_by,
                cvss_vectors: klar_vectors(v.metadata.unwrap_or_default()),
            };
            v2_finding(&mut b, &at, record, None, asset_key, scope, "klar", None);
        }
    }
    if b.finding_count() > 0 {
        b.warn(
            "/",
            "klar output does not name the scanned image: findings are kept against an unnamed \
             image and a later klar report does not mark them fixed",
        );
    }
    let _ = report.layer_count;
    Ok(b.finish())
}

fn klar_rank(severity: &str) -> u8 {
    match severity.to_ascii_lowercase().as_str() {
        "defcon1" => 7,
        "critical" => 6,
        "high" => 5,
        "medium" => 4,
        "low" => 3,
        "negligible" => 2,
        "unknown" => 1,
        _ => 0,
    }
}

/// `Metadata: {"NVD": {"CVSSv2": {"Vectors": "AV:N/..."}, "CVSSv3": {...}}}`.
fn klar_vectors(metadata: HashMap<String, Value>) -> Vec<(String, String)> {
    let mut sources: Vec<(String, Value)> = metadata.into_iter().collect();
    sources.sort_by(|a, b| a.0.cmp(&b.0));
    let mut vectors = Vec::new();
    for (source, value) in sources {
        for key in ["CVSSv3", "CVSSv2"] {
            if let Some(vector) = value
                .get(key)
                .and_then(|c| c.get("Vectors"))
                .and_then(Value::as_str)
                .filter(|v| !v.trim().is_empty())
            {
                vectors.push((source.to_ascii_lowercase(), vector.to_owned()));
            }
        }
    }
    vectors
}

// ---------------------------------------------------------------------------------------------
// Clair v2 records (clair-scanner and klar)

struct V2Record {
    id: Option<String>,
    package: Option<String>,
    version: Option<String>,
    namespace: Option<String>,
    description: Option<String>,
    link: Option<String>,
    severity: Option<String>,
    fixed_by: Option<String>,
    cvss_vectors: Vec<(String, String)>,
}

#[allow(clippy::too_many_arguments)]
fn v2_finding(
    b: &mut ReportBuilder,
    at: &str,
    v: V2Record,
    image: Option<usize>,
    asset_key: &str,
    scope: usize,
    scanner: &str,
    extra: Option<(&str, Value)>,
) {
    let Some(id) = v.id.map(|i| i.trim().to_owned()).filter(|i| !i.is_empty()) else {
        return b.warn(at, "vulnerability skipped: no vulnerability name");
    };
    let Some(package) = v
        .package
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
    else {
        return b.warn(at, format!("{id} skipped: no feature (package) name"));
    };
    let version = v.version.unwrap_or_default();
    let namespace = v.namespace.unwrap_or_default();
    let distro = namespace.split(':').next().unwrap_or_default();
    let component = Component::from_parts(os_ecosystem(distro), &package, version.trim());
    let severity = match v.severity.as_deref() {
        Some(word) => v4_severity(b, at, word),
        None => Severity::Unknown,
    };
    let component_key = component.key();
    let fingerprint = Fingerprint::vulnerability(&id, &component_key, asset_key);
    let component = b.component(component);
    let link = v.link.filter(|l| !l.trim().is_empty());
    b.vulnerability(VulnerabilityInfo {
        id: id.clone(),
        aliases: Vec::new(),
        title: None,
        description: v.description.filter(|d| !d.trim().is_empty()),
        severity,
        cvss_vectors: v.cvss_vectors,
        cwe: Vec::new(),
        published_at: None,
        modified_at: None,
        references: link.iter().cloned().collect(),
    });
    let mut details = json!({ "scanner": scanner });
    insert_some(
        &mut details,
        "namespace",
        (!namespace.is_empty()).then_some(namespace),
    );
    insert_some(&mut details, "link", link);
    if let Some((key, value)) = extra {
        insert_some(&mut details, key, Some(value));
    }
    b.finding(FindingRecord {
        fingerprint,
        kind: FindingKind::Vulnerability,
        severity,
        title: format!("{id} in {component_key}"),
        vulnerability_id: Some(id),
        component: Some(component),
        rule_id: None,
        image,
        workload: None,
        in_cluster: false,
        resource: None,
        fixed_version: v
            .fixed_by
            .map(|f| f.trim().to_owned())
            .filter(|f| fixes_something(f)),
        scope,
        details: details.into(),
    });
}

// ---------------------------------------------------------------------------------------------
// helpers

/// Whether `word` is a CVE id (`CVE-2021-1234`).
fn is_cve(word: &str) -> bool {
    cve_at(word.as_bytes(), 0) == Some(word.len())
}

/// If a CVE id starts at `i` of `text` (case-insensitive), the index just after it.
fn cve_at(text: &[u8], i: usize) -> Option<usize> {
    let prefix = text.get(i..i + 4)?;
    if !prefix.eq_ignore_ascii_case(b"CVE-") {
        return None;
    }
    let digits = |from: usize| {
        text.get(from..).map_or(0, |rest| {
            rest.iter().take_while(|c| c.is_ascii_digit()).count()
        })
    };
    let year = digits(i + 4);
    if year != 4 || text.get(i + 8) != Some(&b'-') {
        return None;
    }
    let number = digits(i + 9);
    (number >= 4).then_some(i + 9 + number)
}

/// Every CVE id in `text`, upper-cased, in order, without repeats.
fn cve_ids(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut ids: Vec<String> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let boundary = i == 0 || bytes.get(i - 1).is_some_and(|c| !c.is_ascii_alphanumeric());
        match cve_at(bytes, i).filter(|_| boundary) {
            Some(end) => {
                let id = text.get(i..end).unwrap_or_default().to_ascii_uppercase();
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

/// RFC 6901 escaping of one pointer segment.
fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests;
