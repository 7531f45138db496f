//! The Clair v2-era client outputs: clair-scanner (`image`, `unapproved`, `vulnerabilities[]`)
//! and klar (`LayerCount`, `Vulnerabilities` keyed by severity). Both become the same
//! [`V2Record`] and finding; Clair v4 is read in [`super::v4`].

use super::{fixes_something, os_ecosystem, v4_severity};
use std::collections::{BTreeMap, HashMap};

use app::model::Severity;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::domain::component::Component;
use crate::domain::fingerprint::Fingerprint;
use crate::domain::image_ref::ImageRef;
use crate::ingest::model::{
    FindingKind, FindingRecord, ImageAsset, ParseError, ParsedReport, ReportBuilder, ReportKind,
    VulnerabilityInfo, escape_pointer, insert_some,
};

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

pub(super) fn parse_scanner(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
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

pub(super) fn parse_klar(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
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
