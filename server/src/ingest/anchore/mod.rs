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

use crate::ingest::model::insert_some;
use std::collections::BTreeMap;

use app::model::Severity;
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

// ---------------------------------------------------------------------------------------------
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

fn parse_vuln_report(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
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

fn read_vuln(b: &mut ReportBuilder, at: &str, raw: &RawValue, asset: &Asset) {
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

// ---------------------------------------------------------------------------------------------
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

fn parse_evaluation(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
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

// ---------------------------------------------------------------------------------------------
// Policy evaluation

#[derive(Deserialize)]
struct PolicyEvaluation {
    detail: Option<PolicyDetail>,
    last_evaluation: Option<String>,
    #[serde(rename = "policyId")]
    policy_id: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize)]
struct PolicyDetail {
    result: Option<PolicyResult>,
}

#[derive(Deserialize)]
struct PolicyResult {
    final_action: Option<String>,
    image_id: Option<String>,
    /// Keyed by image id; other keys (`policy_data`, `whitelist_names`, ...) are not tables.
    result: Option<BTreeMap<String, Value>>,
}

#[derive(Deserialize)]
struct Table {
    header: Option<Vec<String>>,
    rows: Option<Vec<Value>>,
    final_action: Option<String>,
}

/// The columns of a gate table; Anchore's default order when the header is missing.
const COLUMNS: [&str; 9] = [
    "Image_Id",
    "Repo_Tag",
    "Trigger_Id",
    "Gate",
    "Trigger",
    "Check_Output",
    "Gate_Action",
    "Whitelisted",
    "Policy_Id",
];

fn read_policy_item(b: &mut ReportBuilder, at: &str, item: BTreeMap<String, &RawValue>) {
    for (digest, raw) in item {
        let at = format!("{at}/{}", escape_pointer(&digest));
        let tags = match serde_json::from_str::<BTreeMap<String, Vec<&RawValue>>>(raw.get()) {
            Ok(tags) => tags,
            Err(e) => {
                b.warn(at, format!("policy evaluation skipped: {e}"));
                continue;
            }
        };
        for (tag, evaluations) in tags {
            let at = format!("{at}/{}", escape_pointer(&tag));
            for (i, raw) in evaluations.into_iter().enumerate() {
                let at = format!("{at}/{i}");
                match serde_json::from_str::<PolicyEvaluation>(raw.get()) {
                    Ok(evaluation) => read_policy_evaluation(b, &at, &digest, &tag, evaluation),
                    Err(e) => b.warn(at, format!("policy evaluation skipped: {e}")),
                }
            }
        }
    }
}

fn read_policy_evaluation(
    b: &mut ReportBuilder,
    at: &str,
    digest: &str,
    tag: &str,
    evaluation: PolicyEvaluation,
) {
    let result = evaluation.detail.and_then(|d| d.result);
    let image_id = result.as_ref().and_then(|r| r.image_id.clone());
    let Some(image) = image_of(Some(digest), Some(tag), image_id.as_deref()) else {
        return b.warn(at, "policy evaluation skipped: no image digest or tag");
    };
    b.artifact(Some(tag.to_owned()));
    b.generated_at(
        evaluation
            .last_evaluation
            .as_deref()
            .and_then(parse_timestamp),
    );
    let index = b.image(image);
    let key = b.image_at(index).key.clone();
    let scope = b.scope(format!("anchore-policy:{key}"));
    let Some(result) = result else {
        return b.warn(
            at,
            "policy evaluation has no detail: run the check with detail",
        );
    };
    let final_action = result.final_action.clone();
    for (image_key, table) in result.result.unwrap_or_default() {
        // Only the per-image tables; `policy_data`, `policy_name`, `whitelist_*` are not.
        let Some(inner @ Value::Object(_)) = table.get("result") else {
            continue;
        };
        let table_at = format!(
            "{at}/detail/result/result/{}/result",
            escape_pointer(&image_key)
        );
        let table = match Table::deserialize(inner) {
            Ok(table) => table,
            Err(e) => {
                b.warn(table_at, format!("gate results skipped: {e}"));
                continue;
            }
        };
        let header = table
            .header
            .unwrap_or_else(|| COLUMNS.iter().map(|c| (*c).to_owned()).collect());
        let column = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
        let columns = Columns {
            trigger_id: column("Trigger_Id"),
            gate: column("Gate"),
            trigger: column("Trigger"),
            output: column("Check_Output"),
            action: column("Gate_Action"),
            whitelisted: column("Whitelisted"),
            policy_id: column("Policy_Id"),
        };
        let row_context = RowContext {
            image: index,
            key: key.clone(),
            scope,
            tag: tag.to_owned(),
            final_action: table.final_action.or_else(|| final_action.clone()),
            policy_id: evaluation.policy_id.clone(),
            status: evaluation.status.clone(),
        };
        for (j, row) in table.rows.unwrap_or_default().into_iter().enumerate() {
            read_gate_row(
                b,
                &format!("{table_at}/rows/{j}"),
                &row,
                &columns,
                &row_context,
            );
        }
    }
}

struct Columns {
    trigger_id: Option<usize>,
    gate: Option<usize>,
    trigger: Option<usize>,
    output: Option<usize>,
    action: Option<usize>,
    whitelisted: Option<usize>,
    policy_id: Option<usize>,
}

struct RowContext {
    image: usize,
    key: String,
    scope: usize,
    tag: String,
    final_action: Option<String>,
    policy_id: Option<String>,
    status: Option<String>,
}

fn read_gate_row(b: &mut ReportBuilder, at: &str, row: &Value, c: &Columns, ctx: &RowContext) {
    b.record();
    let Some(cells) = row.as_array() else {
        return b.warn(at, "gate result skipped: not a table row");
    };
    let cell = |i: Option<usize>| -> Option<String> {
        match i.and_then(|i| cells.get(i))? {
            Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    };
    let action = cell(c.action).unwrap_or_default().to_ascii_lowercase();
    let whitelisted = match c.whitelisted.and_then(|i| cells.get(i)) {
        Some(Value::Bool(w)) => *w,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        Some(Value::Object(o)) => !o.is_empty(),
        _ => false,
    };
    if whitelisted || !(action == "stop" || action == "warn") {
        return; // passing (go) and whitelisted rows are records, not findings
    }
    let gate = cell(c.gate).unwrap_or_else(|| "unknown".to_owned());
    let trigger = cell(c.trigger).unwrap_or_else(|| "unknown".to_owned());
    let output = cell(c.output);
    let Some(trigger_id) = cell(c.trigger_id).or_else(|| output.clone()) else {
        return b.warn(at, "gate result skipped: no Trigger_Id or Check_Output");
    };
    let rule_id = format!("{gate}:{trigger}");
    // The vulnerabilities gate starts its output with the vulnerability's severity word;
    // otherwise the action says how bad it is: stop → high, warn → medium.
    let severity = output
        .as_deref()
        .and_then(|o| o.split_whitespace().next())
        .and_then(Severity::parse)
        .filter(|s| *s != Severity::Unknown)
        .unwrap_or(if action == "stop" {
            Severity::High
        } else {
            Severity::Medium
        });
    let title = output
        .as_deref()
        .and_then(|o| o.lines().next())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("Anchore policy gate {rule_id} ({action})"));
    let mut details = json!({
        "scanner": "anchore",
        "gate": gate,
        "trigger": trigger,
        "trigger_id": trigger_id,
        "action": action,
        "tag": ctx.tag,
    });
    insert_some(&mut details, "check_output", output);
    insert_some(
        &mut details,
        "policy_id",
        cell(c.policy_id).or_else(|| ctx.policy_id.clone()),
    );
    insert_some(&mut details, "final_action", ctx.final_action.clone());
    insert_some(&mut details, "evaluation_status", ctx.status.clone());
    b.finding(FindingRecord {
        fingerprint: Fingerprint::misconfiguration(&rule_id, &trigger_id, &ctx.key),
        kind: FindingKind::Misconfiguration,
        severity,
        title,
        vulnerability_id: None,
        component: None,
        rule_id: Some(rule_id),
        image: Some(ctx.image),
        workload: None,
        in_cluster: false,
        resource: Some(trigger_id),
        fixed_version: None,
        scope: ctx.scope,
        details: details.into(),
    });
}

// ---------------------------------------------------------------------------------------------
// Helpers

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

fn is_cve(id: &str) -> bool {
    id.len() > 4 && id.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("cve-"))
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    let item = item.trim();
    if !item.is_empty() && !list.iter().any(|known| known == item) {
        list.push(item.to_owned());
    }
}

fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests;
