//! Trivy JSON (`--format json`, SchemaVersion 2) for image, filesystem, rootfs and repository
//! scans: vulnerabilities, failed misconfiguration checks and secrets.
//!
//! Pure: bytes in, [`ParsedReport`] out. Lenient the way the schema needs: every field may be
//! missing or null. Each record is decoded on its own, so one malformed record becomes a
//! warning naming its JSON pointer instead of sinking the report. Licenses are not findings
//! and are skipped.
//!
//! Schema reference: Trivy's `pkg/types/report.go` and the JSON output documentation.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use app::model::Severity;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::domain::component::Component;
use crate::domain::fingerprint::Fingerprint;
use crate::domain::image_ref::{ImageRef, normalise_digest};
use crate::ingest::model::{
    FindingKind, FindingRecord, ImageAsset, ParseError, ParsedReport, VulnerabilityInfo, Warning,
    parse_timestamp,
};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Report<'a> {
    schema_version: Option<i64>,
    artifact_name: Option<String>,
    artifact_type: Option<String>,
    created_at: Option<String>,
    metadata: Option<Metadata>,
    trivy: Option<TrivyInfo>,
    #[serde(borrow)]
    results: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TrivyInfo {
    version: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Metadata {
    #[serde(rename = "OS")]
    os: Option<Os>,
    #[serde(rename = "ImageID")]
    image_id: Option<String>,
    repo_tags: Option<Vec<String>>,
    repo_digests: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Os {
    family: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ResultEntry<'a> {
    target: Option<String>,
    class: Option<String>,
    #[serde(rename = "Type")]
    kind: Option<String>,
    #[serde(borrow)]
    vulnerabilities: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    misconfigurations: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    secrets: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Vulnerability {
    #[serde(rename = "VulnerabilityID")]
    vulnerability_id: String,
    pkg_name: Option<String>,
    pkg_path: Option<String>,
    pkg_identifier: Option<PkgIdentifier>,
    installed_version: Option<String>,
    fixed_version: Option<String>,
    status: Option<String>,
    severity: Option<String>,
    severity_source: Option<String>,
    #[serde(rename = "PrimaryURL")]
    primary_url: Option<String>,
    title: Option<String>,
    description: Option<String>,
    #[serde(rename = "CweIDs")]
    cwe_ids: Option<Vec<String>>,
    #[serde(rename = "CVSS")]
    cvss: Option<HashMap<String, Cvss>>,
    references: Option<Vec<String>>,
    published_date: Option<String>,
    last_modified_date: Option<String>,
    layer: Option<Layer>,
}

#[derive(Deserialize)]
struct PkgIdentifier {
    #[serde(rename = "PURL")]
    purl: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Layer {
    digest: Option<String>,
    #[serde(rename = "DiffID")]
    diff_id: Option<String>,
}

#[derive(Deserialize, Clone)]
struct Cvss {
    #[serde(rename = "V2Vector")]
    v2_vector: Option<String>,
    #[serde(rename = "V3Vector")]
    v3_vector: Option<String>,
    #[serde(rename = "V40Vector")]
    v40_vector: Option<String>,
    #[serde(rename = "V2Score")]
    v2_score: Option<f64>,
    #[serde(rename = "V3Score")]
    v3_score: Option<f64>,
    #[serde(rename = "V40Score")]
    v40_score: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Misconfiguration {
    #[serde(rename = "ID")]
    id: Option<String>,
    #[serde(rename = "AVDID")]
    avd_id: Option<String>,
    title: Option<String>,
    description: Option<String>,
    message: Option<String>,
    resolution: Option<String>,
    severity: Option<String>,
    #[serde(rename = "PrimaryURL")]
    primary_url: Option<String>,
    status: Option<String>,
    cause_metadata: Option<CauseMetadata>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CauseMetadata {
    resource: Option<String>,
    start_line: Option<i64>,
    end_line: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Secret {
    #[serde(rename = "RuleID")]
    rule_id: String,
    category: Option<String>,
    severity: Option<String>,
    title: Option<String>,
    start_line: Option<i64>,
    end_line: Option<i64>,
    #[serde(rename = "Match")]
    matched: Option<String>,
}

/// Parses a Trivy JSON report.
pub fn parse(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
    let report: Report<'_> = serde_json::from_slice(bytes).map_err(|e| top_level_error(&e))?;
    match report.schema_version {
        Some(2) => {}
        Some(other) => {
            return Err(ParseError::new(
                "unsupported-version",
                format!(
                    "Trivy SchemaVersion {other} is not supported; expected 2 (Trivy 0.20 or later)"
                ),
            ));
        }
        None => {
            return Err(ParseError::new(
                "wrong-format",
                "this is not a Trivy JSON report: it has no SchemaVersion. \
                 Produce it with `trivy image --format json` (or fs, rootfs, repo)",
            ));
        }
    }
    let mut parser = Parser::default();
    parser.read(report);
    Ok(parser.out)
}

/// Turns a top-level decoding failure into a message about what the body is.
fn top_level_error(error: &serde_json::Error) -> ParseError {
    use serde_json::error::Category;
    match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => ParseError::new(
            "invalid-json",
            format!("the body is not valid JSON: {error}"),
        ),
        Category::Data => ParseError::new(
            "wrong-format",
            format!(
                "this is not a Trivy JSON report (expected an object with SchemaVersion 2): \
                 {error}"
            ),
        ),
    }
}

#[derive(Default)]
struct Parser {
    out: ParsedReport,
    components: HashMap<String, usize>,
    vulnerabilities: HashMap<String, usize>,
}

/// What the findings of one report hang on.
struct Asset {
    /// Index of the image, for image scans.
    image: Option<usize>,
    /// The key that goes into fingerprints.
    key: String,
    /// Whether each result's target is a separate asset (filesystem and repository scans).
    per_target: bool,
}

impl Parser {
    fn read(&mut self, report: Report<'_>) {
        let metadata = report.metadata.unwrap_or_default();
        let artifact_type = report.artifact_type.unwrap_or_default();
        let artifact_name = report.artifact_name.unwrap_or_default();
        self.out.scanner = "trivy".to_owned();
        self.out.scanner_version = report.trivy.and_then(|t| t.version);
        self.out.artifact = (!artifact_name.is_empty()).then(|| artifact_name.clone());
        self.out.generated_at = report.created_at.as_deref().and_then(parse_timestamp);

        let asset = self.asset(&artifact_type, &artifact_name, metadata);
        self.out.scope = match asset.image {
            Some(i) => format!("image:{}", self.out.images[i].key),
            None => format!("{}:{artifact_name}", scope_kind(&artifact_type)),
        };

        for (i, raw) in report.results.unwrap_or_default().into_iter().enumerate() {
            let pointer = format!("/Results/{i}");
            match serde_json::from_str::<ResultEntry<'_>>(raw.get()) {
                Ok(entry) => self.read_result(&pointer, entry, &asset),
                Err(e) => self.warn(pointer, format!("result skipped: {e}")),
            }
        }
    }

    fn asset(&mut self, artifact_type: &str, artifact_name: &str, metadata: Metadata) -> Asset {
        if artifact_type == "container_image" {
            let reference = ImageRef::parse(artifact_name).ok().or_else(|| {
                metadata
                    .repo_tags
                    .iter()
                    .flatten()
                    .find_map(|t| ImageRef::parse(t).ok())
            });
            match reference {
                Some(mut reference) => {
                    if reference.digest.is_none() {
                        reference.digest = metadata
                            .repo_digests
                            .iter()
                            .flatten()
                            .filter_map(|d| d.split_once('@'))
                            .find_map(|(_, digest)| normalise_digest(digest).ok());
                    }
                    let image_id = metadata
                        .image_id
                        .as_deref()
                        .and_then(|d| normalise_digest(d).ok());
                    let mut image = ImageAsset::new(reference, image_id);
                    if let Some(os) = metadata.os {
                        image.os_family = os.family;
                        image.os_name = os.name;
                    }
                    let key = image.key.clone();
                    self.out.images.push(image);
                    return Asset {
                        image: Some(self.out.images.len() - 1),
                        key,
                        per_target: false,
                    };
                }
                None => self.warn(
                    "/ArtifactName".to_owned(),
                    format!(
                        "'{artifact_name}' is not an image reference; findings are kept \
                         against the artifact name instead of an image"
                    ),
                ),
            }
        }
        Asset {
            image: None,
            key: format!("{}:{artifact_name}", scope_kind(artifact_type)),
            per_target: true,
        }
    }

    fn read_result(&mut self, pointer: &str, entry: ResultEntry<'_>, asset: &Asset) {
        let target = entry.target.unwrap_or_default();
        let ecosystem = entry.kind.or(entry.class).unwrap_or_default();
        let asset_key = if asset.per_target {
            format!("{}#{target}", asset.key)
        } else {
            asset.key.clone()
        };
        for (j, raw) in entry
            .vulnerabilities
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let at = format!("{pointer}/Vulnerabilities/{j}");
            self.out.record_count += 1;
            match serde_json::from_str::<Vulnerability>(raw.get()) {
                Ok(v) => self.vulnerability(&at, v, &target, &ecosystem, &asset_key, asset),
                Err(e) => self.warn(at, format!("vulnerability skipped: {e}")),
            }
        }
        for (j, raw) in entry
            .misconfigurations
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let at = format!("{pointer}/Misconfigurations/{j}");
            self.out.record_count += 1;
            match serde_json::from_str::<Misconfiguration>(raw.get()) {
                Ok(m) => self.misconfiguration(&at, m, &target, &asset_key, asset),
                Err(e) => self.warn(at, format!("misconfiguration skipped: {e}")),
            }
        }
        for (j, raw) in entry.secrets.unwrap_or_default().into_iter().enumerate() {
            let at = format!("{pointer}/Secrets/{j}");
            self.out.record_count += 1;
            match serde_json::from_str::<Secret>(raw.get()) {
                Ok(s) => self.secret(&at, s, &target, &asset_key, asset),
                Err(e) => self.warn(at, format!("secret skipped: {e}")),
            }
        }
    }

    fn vulnerability(
        &mut self,
        at: &str,
        v: Vulnerability,
        target: &str,
        ecosystem: &str,
        asset_key: &str,
        asset: &Asset,
    ) {
        let id = v.vulnerability_id.trim().to_owned();
        if id.is_empty() {
            return self.warn(
                at.to_owned(),
                "vulnerability skipped: empty VulnerabilityID".into(),
            );
        }
        let Some(pkg_name) = v.pkg_name.filter(|n| !n.trim().is_empty()) else {
            return self.warn(at.to_owned(), format!("{id} skipped: no PkgName"));
        };
        let version = v.installed_version.clone().unwrap_or_default();
        let component = v
            .pkg_identifier
            .and_then(|p| p.purl)
            .and_then(|purl| Component::from_purl(&purl))
            .unwrap_or_else(|| Component::from_parts(ecosystem, &pkg_name, &version));
        let severity = self.severity(at, v.severity.as_deref());
        let fingerprint = Fingerprint::vulnerability(&id, &component.key(), asset_key);
        let component = self.component(component);

        if let Entry::Vacant(slot) = self.vulnerabilities.entry(id.clone()) {
            let (cvss_vector, cvss_score, cvss) =
                choose_cvss(v.cvss.as_ref(), v.severity_source.as_deref());
            let published_at = v.published_date.as_deref().and_then(parse_timestamp);
            let modified_at = v.last_modified_date.as_deref().and_then(parse_timestamp);
            slot.insert(self.out.vulnerabilities.len());
            self.out.vulnerabilities.push(VulnerabilityInfo {
                id: id.clone(),
                aliases: Vec::new(),
                title: v.title.clone(),
                description: v.description,
                severity,
                cvss_vector,
                cvss_score,
                cvss,
                cwe: v.cwe_ids.unwrap_or_default(),
                published_at,
                modified_at,
                references: v.references.unwrap_or_default(),
            });
        }

        let title = v.title.unwrap_or_else(|| id.clone());
        let mut details = json!({ "scanner": "trivy", "target": target });
        insert_some(&mut details, "pkg_path", v.pkg_path);
        insert_some(&mut details, "status", v.status);
        insert_some(&mut details, "primary_url", v.primary_url);
        insert_some(
            &mut details,
            "layer",
            v.layer.and_then(|l| l.digest.or(l.diff_id)),
        );
        self.out.findings.push(FindingRecord {
            fingerprint,
            kind: FindingKind::Vulnerability,
            severity,
            title,
            vulnerability_id: Some(id),
            component: Some(component),
            rule_id: None,
            image: asset.image,
            in_cluster: false,
            resource: (!target.is_empty()).then(|| target.to_owned()),
            fixed_version: v.fixed_version.filter(|f| !f.trim().is_empty()),
            details,
        });
    }

    fn misconfiguration(
        &mut self,
        at: &str,
        m: Misconfiguration,
        target: &str,
        asset_key: &str,
        asset: &Asset,
    ) {
        let status = m.status.as_deref().unwrap_or("FAIL");
        if !status.eq_ignore_ascii_case("fail") {
            return; // passed or excepted checks are not findings
        }
        let Some(rule_id) = m.avd_id.or(m.id).filter(|r| !r.trim().is_empty()) else {
            return self.warn(
                at.to_owned(),
                "misconfiguration skipped: no ID or AVDID".into(),
            );
        };
        let severity = self.severity(at, m.severity.as_deref());
        let cause = m.cause_metadata;
        let cause_resource = cause.as_ref().and_then(|c| c.resource.clone());
        let resource = match &cause_resource {
            Some(r) if !r.is_empty() => format!("{target}#{r}"),
            _ => target.to_owned(),
        };
        let fingerprint = Fingerprint::misconfiguration(&rule_id, &resource, asset_key);
        let title = m
            .title
            .or_else(|| m.message.clone())
            .unwrap_or_else(|| rule_id.clone());
        let mut details = json!({ "scanner": "trivy", "target": target });
        insert_some(&mut details, "message", m.message);
        insert_some(&mut details, "description", m.description);
        insert_some(&mut details, "resolution", m.resolution);
        insert_some(&mut details, "primary_url", m.primary_url);
        if let Some(c) = cause {
            insert_some(&mut details, "start_line", c.start_line);
            insert_some(&mut details, "end_line", c.end_line);
        }
        self.out.findings.push(FindingRecord {
            fingerprint,
            kind: FindingKind::Misconfiguration,
            severity,
            title,
            vulnerability_id: None,
            component: None,
            rule_id: Some(rule_id),
            image: asset.image,
            in_cluster: false,
            resource: Some(resource),
            fixed_version: None,
            details,
        });
    }

    fn secret(&mut self, at: &str, s: Secret, target: &str, asset_key: &str, asset: &Asset) {
        if s.rule_id.trim().is_empty() {
            return self.warn(at.to_owned(), "secret skipped: empty RuleID".into());
        }
        let severity = self.severity(at, s.severity.as_deref());
        let matched = s.matched.unwrap_or_default();
        let location = format!("{target}\n{matched}");
        let fingerprint = Fingerprint::secret(&s.rule_id, &location, asset_key);
        let title = s
            .title
            .unwrap_or_else(|| format!("Secret matched by rule {}", s.rule_id));
        let mut details = json!({ "scanner": "trivy", "target": target, "match": matched });
        insert_some(&mut details, "category", s.category);
        insert_some(&mut details, "start_line", s.start_line);
        insert_some(&mut details, "end_line", s.end_line);
        self.out.findings.push(FindingRecord {
            fingerprint,
            kind: FindingKind::Secret,
            severity,
            title,
            vulnerability_id: None,
            component: None,
            rule_id: Some(s.rule_id),
            image: asset.image,
            in_cluster: false,
            resource: Some(target.to_owned()),
            fixed_version: None,
            details,
        });
    }

    fn component(&mut self, component: Component) -> usize {
        let key = component.key();
        match self.components.entry(key) {
            Entry::Occupied(slot) => *slot.get(),
            Entry::Vacant(slot) => {
                self.out.components.push(component);
                *slot.insert(self.out.components.len() - 1)
            }
        }
    }

    fn severity(&mut self, at: &str, word: Option<&str>) -> Severity {
        match word.map(Severity::parse) {
            Some(Some(severity)) => severity,
            None => Severity::Unknown,
            Some(None) => {
                self.warn(
                    at.to_owned(),
                    format!(
                        "severity '{}' is not one Trivy uses; recorded as unknown",
                        word.unwrap_or_default()
                    ),
                );
                Severity::Unknown
            }
        }
    }

    fn warn(&mut self, pointer: String, message: String) {
        self.out.warnings.push(Warning { pointer, message });
    }
}

/// The word used in scope keys for an artifact type.
fn scope_kind(artifact_type: &str) -> &str {
    match artifact_type {
        "" => "artifact",
        "container_image" => "image",
        other => other,
    }
}

fn insert_some<T: Into<Value>>(details: &mut Value, key: &str, value: Option<T>) {
    if let (Some(map), Some(value)) = (details.as_object_mut(), value) {
        map.insert(key.to_owned(), value.into());
    }
}

/// Picks the vector used for ranking: the severity source's entry first, then NVD, then any;
/// within an entry CVSS v4 before v3 before v2. Returns (vector, score, all vectors as JSON).
fn choose_cvss(
    cvss: Option<&HashMap<String, Cvss>>,
    severity_source: Option<&str>,
) -> (Option<String>, Option<f32>, Value) {
    let Some(cvss) = cvss else {
        return (None, None, json!({}));
    };
    let mut sources: Vec<&String> = cvss.keys().collect();
    sources.sort_by_key(|s| {
        (
            Some(s.as_str()) != severity_source,
            s.as_str() != "nvd",
            s.as_str(),
        )
    });
    let chosen = sources.iter().find_map(|source| {
        let c = &cvss[*source];
        [
            (&c.v40_vector, c.v40_score),
            (&c.v3_vector, c.v3_score),
            (&c.v2_vector, c.v2_score),
        ]
        .into_iter()
        .find_map(|(vector, score)| {
            vector
                .as_ref()
                .filter(|v| !v.is_empty())
                .map(|v| (v.clone(), score.map(|s| s as f32)))
        })
    });
    let all: serde_json::Map<String, Value> = cvss
        .iter()
        .map(|(source, c)| {
            let mut entry = json!({});
            insert_some(&mut entry, "v2", c.v2_vector.clone());
            insert_some(&mut entry, "v3", c.v3_vector.clone());
            insert_some(&mut entry, "v4", c.v40_vector.clone());
            (source.clone(), entry)
        })
        .collect();
    match chosen {
        Some((vector, score)) => (Some(vector), score, Value::Object(all)),
        None => (None, None, Value::Object(all)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image_report(vulns: &str) -> String {
        format!(
            r#"{{"SchemaVersion": 2, "ArtifactName": "alpine:3.19", "ArtifactType": "container_image",
               "Metadata": {{"OS": {{"Family": "alpine", "Name": "3.19.1"}},
                            "RepoDigests": ["alpine@sha256:{d}"]}},
               "Results": [{{"Target": "alpine:3.19 (alpine 3.19.1)", "Class": "os-pkgs", "Type": "alpine",
                            "Vulnerabilities": [{vulns}]}}]}}"#,
            d = "ab".repeat(32)
        )
    }

    const VULN: &str = r#"{"VulnerabilityID": "CVE-2024-0001", "PkgName": "openssl", "InstalledVersion": "3.1.4-r0",
        "FixedVersion": "3.1.4-r1", "Severity": "HIGH", "Title": "openssl: bad thing",
        "CVSS": {"nvd": {"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "V3Score": 7.5}}}"#;

    #[test]
    fn image_report_yields_image_component_vulnerability_and_finding() {
        let parsed = parse(image_report(VULN).as_bytes()).unwrap();
        assert_eq!(parsed.images.len(), 1);
        let image = &parsed.images[0];
        assert_eq!(image.reference.repository, "library/alpine");
        assert_eq!(image.key, format!("sha256:{}", "ab".repeat(32)));
        assert_eq!(image.os_family.as_deref(), Some("alpine"));
        assert_eq!(parsed.scope, format!("image:{}", image.key));
        assert_eq!(parsed.components[0].key(), "apk/openssl@3.1.4-r0");
        assert_eq!(parsed.vulnerabilities[0].cvss_score, Some(7.5));
        let finding = &parsed.findings[0];
        assert_eq!(finding.severity, Severity::High);
        assert_eq!(finding.fixed_version.as_deref(), Some("3.1.4-r1"));
        assert_eq!(finding.image, Some(0));
        assert!(parsed.warnings.is_empty());
    }

    #[test]
    fn a_malformed_record_is_a_warning_not_a_failure() {
        let body = image_report(&format!(
            r#"{VULN}, {{"VulnerabilityID": 42}}, {{"VulnerabilityID": "CVE-1"}}"#
        ));
        let parsed = parse(body.as_bytes()).unwrap();
        assert_eq!(parsed.findings.len(), 1);
        assert_eq!(parsed.record_count, 3);
        assert_eq!(parsed.warnings.len(), 2);
        assert_eq!(parsed.warnings[0].pointer, "/Results/0/Vulnerabilities/1");
        assert!(parsed.warnings[1].message.contains("no PkgName"));
    }

    #[test]
    fn not_a_trivy_report_is_refused_with_a_reason() {
        assert_eq!(parse(b"{\"foo\": 1}").unwrap_err().kind, "wrong-format");
        assert_eq!(parse(b"[1, 2]").unwrap_err().kind, "wrong-format");
        assert_eq!(
            parse(b"{\"SchemaVersion\": 2,").unwrap_err().kind,
            "invalid-json"
        );
        assert_eq!(
            parse(b"{\"SchemaVersion\": 1}").unwrap_err().kind,
            "unsupported-version"
        );
    }

    #[test]
    fn nulls_and_missing_fields_are_fine() {
        let parsed = parse(
            br#"{"SchemaVersion": 2, "ArtifactName": "x:1", "ArtifactType": "container_image",
                 "Metadata": null, "Results": [{"Target": null, "Vulnerabilities": null}]}"#,
        )
        .unwrap();
        assert!(parsed.findings.is_empty());
        assert!(parsed.warnings.is_empty());
    }

    #[test]
    fn only_failed_checks_are_findings() {
        let parsed = parse(
            br#"{"SchemaVersion": 2, "ArtifactName": "repo", "ArtifactType": "filesystem",
                 "Results": [{"Target": "Dockerfile", "Class": "config", "Misconfigurations": [
                   {"ID": "DS002", "AVDID": "AVD-DS-0002", "Title": "root user", "Severity": "HIGH", "Status": "FAIL"},
                   {"ID": "DS001", "AVDID": "AVD-DS-0001", "Title": "latest tag", "Severity": "MEDIUM", "Status": "PASS"}]}]}"#,
        )
        .unwrap();
        assert_eq!(parsed.record_count, 2);
        assert_eq!(parsed.findings.len(), 1);
        assert_eq!(parsed.findings[0].rule_id.as_deref(), Some("AVD-DS-0002"));
        assert_eq!(parsed.scope, "filesystem:repo");
    }
}
