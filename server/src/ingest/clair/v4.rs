//! Clair v4 vulnerability reports: the image from `manifest_hash`, one record per
//! `package_vulnerabilities` link, advisory ids split into their CVEs, ecosystems from the
//! package database, CVSS vectors from the `clair.cvss` enrichment. The Clair v2-era clients
//! are read in [`super::v2`].

use super::{fixes_something, os_ecosystem, v4_severity};
use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::domain::component::Component;
use crate::domain::fingerprint::Fingerprint;
use crate::domain::image_ref::{ImageRef, normalise_digest};
use crate::domain::vuln_id::{VulnId, cves_in};
use crate::ingest::model::{
    FindingKind, FindingRecord, ImageAsset, ParseError, ParsedReport, ReportBuilder, ReportKind,
    VulnerabilityInfo, escape_pointer, insert_some, parse_timestamp,
};

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

pub(super) fn parse_v4(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
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
        let advisory_id = VulnId::parse(advisory);
        let (ids, aliases) = if let Some(cve) = advisory_id.filter(VulnId::is_cve) {
            (vec![cve.into_string()], Vec::new())
        } else {
            let mut cves: Vec<String> = cves_in(name).into_iter().map(String::from).collect();
            for cve in cves_in(links).into_iter().map(String::from) {
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
