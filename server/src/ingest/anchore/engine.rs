//! Anchore Engine's vulnerability outputs: the vulnerability report (Engine API,
//! `anchore-cli --json image vuln`, anchorectl in both spellings) and the vulnerability
//! evaluation (`metadata` + `securityEvaluation`). Both become vulnerability findings through
//! one [`emit`]; telling the dialects apart and the image they are about is in [`super`], policy
//! evaluations in [`super::enterprise`].

use app::model::Severity;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::{
    Asset, anchore_ecosystem, fix_of, image_of, is_none, push_unique, report_scope, split_package,
};
use crate::domain::component::Component;
use crate::domain::fingerprint::Fingerprint;
use crate::domain::vuln_id::is_cve;
use crate::ingest::model::{
    FindingKind, FindingRecord, ParseError, ParsedReport, ReportBuilder, ReportKind,
    VulnerabilityInfo, insert_some, parse_timestamp,
};

// Vulnerability report (Anchore Engine API / anchore-cli / anchorectl)

#[derive(Deserialize)]
struct VulnReport<'a> {
    #[serde(alias = "imageDigest")]
    image_digest: Option<String>,
    #[serde(alias = "imageFullTag", alias = "full_tag", alias = "fullTag")]
    image_full_tag: Option<String>,
    #[serde(alias = "vulnerabilityType")]
    vulnerability_type: Option<String>,
    #[serde(borrow)]
    vulnerabilities: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct Vuln {
    vuln: Option<String>,
    severity: Option<String>,
    package: Option<String>,
    #[serde(alias = "packageName")]
    package_name: Option<String>,
    #[serde(alias = "packageVersion")]
    package_version: Option<String>,
    #[serde(alias = "packageType")]
    package_type: Option<String>,
    #[serde(alias = "packagePath")]
    package_path: Option<String>,
    fix: Option<Value>,
    url: Option<String>,
    description: Option<String>,
    feed: Option<String>,
    #[serde(alias = "feedGroup")]
    feed_group: Option<String>,
    #[serde(alias = "nvdData")]
    nvd_data: Option<Vec<Value>>,
    #[serde(alias = "vendorData")]
    vendor_data: Option<Vec<Value>>,
    extra: Option<Extra>,
    #[serde(alias = "inheritedFromBase")]
    inherited_from_base: Option<bool>,
    #[serde(alias = "willNotFix")]
    will_not_fix: Option<bool>,
}

#[derive(Deserialize)]
struct Extra {
    description: Option<String>,
    link: Option<String>,
    references: Option<Vec<Value>>,
    #[serde(alias = "nvdData")]
    nvd_data: Option<Vec<Value>>,
    #[serde(alias = "vendorData")]
    vendor_data: Option<Vec<Value>>,
}

pub(super) fn parse_vuln_report(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
    let report: VulnReport<'_> = serde_json::from_slice(bytes)
        .map_err(|e| ParseError::from_json("Anchore vulnerability", &e))?;
    let mut b = ReportBuilder::new("anchore", ReportKind::Findings);
    let digest = report.image_digest.clone().filter(|d| !d.trim().is_empty());
    let name = report
        .image_full_tag
        .clone()
        .filter(|n| !n.trim().is_empty());
    b.artifact(name.clone().or_else(|| digest.clone()));
    let suffix = match report.vulnerability_type.as_deref().map(str::trim) {
        None | Some("") | Some("all") => String::new(),
        Some(other) => format!("#{other}"),
    };
    let asset = match image_of(digest.as_deref(), name.as_deref(), None) {
        Some(image) => {
            let index = b.image(image);
            let key = b.image_at(index).key.clone();
            let scope = b.scope(format!("image:{key}{suffix}"));
            Asset {
                image: Some(index),
                key,
                scope,
            }
        }
        None => match digest.or(name) {
            Some(raw) => {
                b.warn(
                    "/imageDigest",
                    format!(
                        "'{raw}' is not an image digest or reference; findings are kept \
                         against it instead of an image"
                    ),
                );
                let key = format!("image:{raw}");
                let scope = b.scope(format!("{key}{suffix}"));
                Asset {
                    image: None,
                    key,
                    scope,
                }
            }
            None => {
                let scope = b.scope(report_scope(bytes));
                Asset {
                    image: None,
                    key: "anchore:unnamed-image".to_owned(),
                    scope,
                }
            }
        },
    };
    for (i, raw) in report
        .vulnerabilities
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        read_vuln(&mut b, &format!("/vulnerabilities/{i}"), raw, &asset);
    }
    Ok(b.finish())
}

pub(super) fn read_vuln(b: &mut ReportBuilder, at: &str, raw: &RawValue, asset: &Asset) {
    b.record();
    let v = match serde_json::from_str::<Vuln>(raw.get()) {
        Ok(v) => v,
        Err(e) => return b.warn(at, format!("vulnerability skipped: {e}")),
    };
    let Some(primary) = v
        .vuln
        .clone()
        .map(|x| x.trim().to_owned())
        .filter(|x| !x.is_empty())
    else {
        return b.warn(at, "vulnerability skipped: no 'vuln' id");
    };
    let kind = v.package_type.clone().unwrap_or_default();
    let (name, version) = match (&v.package_name, &v.package_version) {
        (Some(n), Some(ver)) if !n.trim().is_empty() && !is_none(ver) => {
            (n.trim().to_owned(), ver.trim().to_owned())
        }
        _ => match v.package.as_deref().and_then(|p| split_package(p, &kind)) {
            Some(split) => split,
            None => {
                return b.warn(
                    at,
                    format!("{primary} skipped: no package name and version"),
                );
            }
        },
    };
    let component = Component::from_parts(anchore_ecosystem(&kind), &name, &version);
    let severity = b.severity(at, v.severity.as_deref());

    let extra = v.extra.as_ref();
    let nvd: Vec<&Value> = v
        .nvd_data
        .iter()
        .flatten()
        .chain(
            extra
                .and_then(|e| e.nvd_data.as_ref())
                .into_iter()
                .flatten(),
        )
        .collect();
    let vendor: Vec<&Value> = v
        .vendor_data
        .iter()
        .flatten()
        .chain(
            extra
                .and_then(|e| e.vendor_data.as_ref())
                .into_iter()
                .flatten(),
        )
        .collect();
    let cves: Vec<String> = if is_cve(&primary) {
        Vec::new()
    } else {
        let mut ids = Vec::new();
        for id in nvd
            .iter()
            .filter_map(|d| d.get("id").and_then(Value::as_str))
        {
            push_unique(&mut ids, id);
        }
        ids.retain(|id| is_cve(id));
        ids
    };
    let vendor_source = v
        .feed_group
        .as_deref()
        .and_then(|g| g.split(':').next())
        .filter(|g| !g.is_empty())
        .unwrap_or("vendor")
        .to_owned();
    let mut references = Vec::new();
    for url in v
        .url
        .iter()
        .chain(extra.and_then(|e| e.link.as_ref()))
        .map(String::as_str)
        .chain(
            extra
                .and_then(|e| e.references.as_ref())
                .into_iter()
                .flatten()
                .filter_map(|r| r.as_str().or_else(|| r.get("url").and_then(Value::as_str))),
        )
    {
        push_unique(&mut references, url);
    }
    let description = v
        .description
        .clone()
        .or_else(|| extra.and_then(|e| e.description.clone()))
        .filter(|d| !d.trim().is_empty());
    let fixed_version = fix_of(v.fix.as_ref());
    let resource = v
        .package_path
        .clone()
        .filter(|p| !is_none(p) && p != "pkgdb");

    let mut details = json!({ "scanner": "anchore" });
    insert_some(&mut details, "feed", v.feed.clone());
    insert_some(&mut details, "feed_group", v.feed_group.clone());
    insert_some(&mut details, "package", v.package.clone());
    insert_some(&mut details, "package_path", resource.clone());
    insert_some(&mut details, "url", v.url.clone());
    insert_some(&mut details, "inherited_from_base", v.inherited_from_base);
    insert_some(&mut details, "will_not_fix", v.will_not_fix);

    let candidate = Candidate {
        primary,
        cves,
        component,
        severity,
        description,
        references,
        fixed_version,
        resource,
        details,
    };
    emit(b, candidate, asset, |id| {
        let mut vectors = Vec::new();
        for entry in nvd.iter().filter(|d| entry_is(d, id)) {
            push_vectors(&mut vectors, entry, "nvd");
        }
        for entry in vendor.iter().filter(|d| entry_is(d, id)) {
            push_vectors(&mut vectors, entry, &vendor_source);
        }
        vectors
    });
}

/// Whether a `nvd_data`/`vendor_data` entry is about `id` (entries without an id are about
/// the record's vulnerability).
fn entry_is(entry: &Value, id: &str) -> bool {
    entry
        .get("id")
        .and_then(Value::as_str)
        .is_none_or(|own| own.trim() == id)
}

fn push_vectors(vectors: &mut Vec<(String, String)>, entry: &Value, source: &str) {
    for key in ["cvss_v3", "cvssV3", "cvss_v2", "cvssV2"] {
        let vector = entry.get(key).and_then(|c| {
            c.get("vector_string")
                .or_else(|| c.get("vectorString"))
                .and_then(Value::as_str)
        });
        if let Some(vector) = vector.map(str::trim).filter(|x| !x.is_empty()) {
            let item = (source.to_owned(), vector.to_owned());
            if !vectors.contains(&item) {
                vectors.push(item);
            }
        }
    }
}

/// A vulnerability record ready to become one finding per id.
struct Candidate {
    primary: String,
    cves: Vec<String>,
    component: Component,
    severity: Severity,
    description: Option<String>,
    references: Vec<String>,
    fixed_version: Option<String>,
    resource: Option<String>,
    details: Value,
}

fn emit(
    b: &mut ReportBuilder,
    c: Candidate,
    asset: &Asset,
    vectors_of: impl Fn(&str) -> Vec<(String, String)>,
) {
    let component_key = c.component.key();
    let title_package = if c.component.version.is_empty() {
        c.component.name.clone()
    } else {
        format!("{} {}", c.component.name, c.component.version)
    };
    let component = b.component(c.component);
    let aliased = !c.cves.is_empty();
    let ids = if aliased {
        c.cves.clone()
    } else {
        vec![c.primary.clone()]
    };
    for id in ids {
        let mut cvss_vectors = vectors_of(&id);
        if aliased {
            for vector in vectors_of(&c.primary) {
                if !cvss_vectors.contains(&vector) {
                    cvss_vectors.push(vector);
                }
            }
        }
        b.vulnerability(VulnerabilityInfo {
            id: id.clone(),
            aliases: if aliased {
                vec![c.primary.clone()]
            } else {
                Vec::new()
            },
            title: None,
            description: c.description.clone(),
            severity: c.severity,
            cvss_vectors,
            cwe: Vec::new(),
            published_at: None,
            modified_at: None,
            references: c.references.clone(),
        });
        let mut details = c.details.clone();
        insert_some(&mut details, "advisory", aliased.then(|| c.primary.clone()));
        b.finding(FindingRecord {
            fingerprint: Fingerprint::vulnerability(&id, &component_key, &asset.key),
            kind: FindingKind::Vulnerability,
            severity: c.severity,
            title: format!("{id} in {title_package}"),
            vulnerability_id: Some(id),
            component: Some(component),
            rule_id: None,
            image: asset.image,
            workload: None,
            in_cluster: false,
            resource: c.resource.clone(),
            fixed_version: c.fixed_version.clone(),
            scope: asset.scope,
            details: details.into(),
        });
    }
}

// Vulnerability evaluation (`metadata` + `securityEvaluation`)

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Evaluation<'a> {
    metadata: Option<EvaluationMetadata>,
    #[serde(borrow)]
    security_evaluation: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EvaluationMetadata {
    registry: Option<String>,
    repository: Option<String>,
    tag: Option<String>,
    image_digest: Option<String>,
    timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EvaluationEntry {
    vulnerability_id: Option<String>,
    cves: Option<String>,
    severity: Option<String>,
    package_type: Option<String>,
    path: Option<String>,
    package: Option<String>,
    fix_available: Option<String>,
    link: Option<String>,
    detected_at: Option<String>,
}

pub(super) fn parse_evaluation(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
    let report: Evaluation<'_> = serde_json::from_slice(bytes)
        .map_err(|e| ParseError::from_json("Anchore vulnerability evaluation", &e))?;
    let mut b = ReportBuilder::new("anchore", ReportKind::Findings);
    let metadata = report.metadata;
    let (digest, name) = match &metadata {
        Some(m) => {
            let name = m
                .repository
                .as_deref()
                .filter(|r| !r.is_empty())
                .map(|repo| {
                    let mut name = match m.registry.as_deref().filter(|r| !r.is_empty()) {
                        Some(registry) => format!("{registry}/{repo}"),
                        None => repo.to_owned(),
                    };
                    if let Some(tag) = m.tag.as_deref().filter(|t| !t.is_empty()) {
                        name = format!("{name}:{tag}");
                    }
                    name
                });
            b.generated_at(m.timestamp.as_deref().and_then(parse_timestamp));
            (m.image_digest.clone(), name)
        }
        None => (None, None),
    };
    b.artifact(name.clone().or_else(|| digest.clone()));
    let asset = match image_of(digest.as_deref(), name.as_deref(), None) {
        Some(image) => {
            let index = b.image(image);
            let key = b.image_at(index).key.clone();
            let scope = b.scope(format!("image:{key}"));
            Asset {
                image: Some(index),
                key,
                scope,
            }
        }
        None => {
            let scope = b.scope(report_scope(bytes));
            Asset {
                image: None,
                key: "anchore:unnamed-image".to_owned(),
                scope,
            }
        }
    };
    for (i, raw) in report
        .security_evaluation
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let at = format!("/securityEvaluation/{i}");
        b.record();
        match serde_json::from_str::<EvaluationEntry>(raw.get()) {
            Ok(entry) => read_evaluation_entry(&mut b, &at, entry, &asset),
            Err(e) => b.warn(at, format!("vulnerability skipped: {e}")),
        }
    }
    if asset.image.is_none() && b.finding_count() > 0 {
        b.warn(
            "/metadata",
            "the report does not name the scanned image: findings are kept against an unnamed \
             image and a later report does not mark them fixed",
        );
    }
    Ok(b.finish())
}

fn read_evaluation_entry(b: &mut ReportBuilder, at: &str, e: EvaluationEntry, asset: &Asset) {
    let Some(primary) = e
        .vulnerability_id
        .map(|x| x.trim().to_owned())
        .filter(|x| !x.is_empty())
    else {
        return b.warn(at, "vulnerability skipped: no vulnerabilityId");
    };
    let kind = e.package_type.clone().unwrap_or_default();
    let Some((name, version)) = e.package.as_deref().and_then(|p| split_package(p, &kind)) else {
        return b.warn(
            at,
            format!("{primary} skipped: no package name and version"),
        );
    };
    let component = Component::from_parts(anchore_ecosystem(&kind), &name, &version);
    let severity = b.severity(at, e.severity.as_deref());
    let cves: Vec<String> = if is_cve(&primary) {
        Vec::new()
    } else {
        let mut ids = Vec::new();
        for id in e
            .cves
            .iter()
            .flat_map(|c| c.split([',', ' ']))
            .filter(|id| is_cve(id.trim()))
        {
            push_unique(&mut ids, id);
        }
        ids
    };
    let resource = e.path.clone().filter(|p| !is_none(p) && p != "pkgdb");
    let mut references = Vec::new();
    for link in e.link.iter() {
        push_unique(&mut references, link);
    }
    let mut details = json!({ "scanner": "anchore" });
    insert_some(&mut details, "package", e.package.clone());
    insert_some(&mut details, "package_path", resource.clone());
    insert_some(&mut details, "url", e.link.clone());
    insert_some(
        &mut details,
        "detected_at",
        e.detected_at.filter(|d| !is_none(d)),
    );
    let candidate = Candidate {
        primary,
        cves,
        component,
        severity,
        description: None,
        references,
        fixed_version: e.fix_available.filter(|f| !is_none(f)),
        resource,
        details,
    };
    emit(b, candidate, asset, |_| Vec::new());
}
