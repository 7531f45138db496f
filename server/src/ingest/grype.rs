//! Anchore Grype JSON (`grype <target> -o json`): `matches[]` (each a `vulnerability`, its
//! `relatedVulnerabilities`, the `matchDetails` and the matched `artifact`), with the scanned
//! `source`, the `distro` and the `descriptor` (grype name, version, timestamp). Both the
//! current layout (`vulnerability.cvss[]`, `fix.versions`, `matchDetails` as a list) and the
//! pre-0.10 one (`cvssV2`/`cvssV3`, `fixedInVersion`, `links`, `matchDetails` as an object) are
//! read.
//!
//! Pure: bytes in, [`ParsedReport`] out. Each match is decoded on its own, so a malformed one
//! becomes a warning naming its JSON pointer (`/matches/3`). A report with no matches is a
//! successful empty report; a document without a `matches` list is refused.
//!
//! Mapping:
//! - **Image scans** (`source.type` `image`): the image is named by `target.userInput` (else the
//!   first tag, else the first repo digest's name); its key follows [`ImageAsset::new`]: the
//!   digest of the first `repoDigests` entry, else the config digest `imageID`, else
//!   `registry/repository:tag`. This is the order Trivy uses (`Metadata.RepoDigests`, then
//!   `ImageID`), so both scanners give the same key for the same image. `manifestDigest` is
//!   deliberately not used: Grype (stereoscope) computes it over the manifest it read, which is
//!   the platform manifest of a multi-arch image or a manifest synthesised from `docker save`
//!   for a daemon image, so it names no registry object that Trivy would report. Scope
//!   `image:<key>`; `distro` gives the image's OS.
//! - **Other sources** (`directory`, `file`, `sbom`, ...): the asset and scope are
//!   `<type>:<path>` (older Grype wrote the path JSON-quoted, `"\".\""`; the quotes are
//!   dropped). A report without `source` (trimmed output) is kept against an unnamed artifact
//!   whose scope is the report itself (`grype:report-<sha256 prefix>`), so that it never marks
//!   another scan's findings fixed; a warning says so.
//! - **Ids**: the match's `vulnerability.id` unless it is not a CVE and `relatedVulnerabilities`
//!   names CVEs: then one finding per related CVE, with the advisory id (GHSA, ALAS, ...) as an
//!   alias. Trivy reports these per CVE, so the fingerprints agree.
//! - **Component**: `artifact.purl` ([`Component::from_purl`]), else `artifact.type`, `name`,
//!   `version` ([`Component::from_parts`]); Trivy builds it the same way from its purl.
//! - Severity: `vulnerability.severity` (Negligible → low, as [`app::model::Severity::parse`]
//!   reads it). CVSS vectors from `vulnerability.cvss[]` and from the related entry of the
//!   chosen id, with their `source` (`nvd@nist.gov` → `nvd`, GitHub → `ghsa`), else the
//!   namespace's first word; `cvssV2`/`cvssV3` in old reports. Scores are not copied.
//! - Fix: `fix.versions` when `fix.state` is `fixed` (or absent); `fixedInVersion` in old
//!   reports. `wont-fix`, `not-fixed` and `unknown` states are kept in the details.
//!
//! Skipped: `ignoredMatches` (counted as records, not findings: the user told Grype to ignore
//! them), EPSS and Grype's `risk` (the pipeline has its own intelligence), CPEs, licenses and
//! the artifact's metadata.

use crate::ingest::model::insert_some;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::domain::component::Component;
use crate::domain::fingerprint::Fingerprint;
use crate::domain::image_ref::{ImageRef, normalise_digest};
use crate::ingest::model::{
    FindingKind, FindingRecord, ImageAsset, ParseError, ParsedReport, ReportBuilder, ReportKind,
    VulnerabilityInfo, parse_timestamp,
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    #[serde(borrow)]
    matches: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    ignored_matches: Option<Vec<&'a RawValue>>,
    source: Option<Source>,
    distro: Option<Distro>,
    descriptor: Option<Descriptor>,
}

#[derive(Deserialize)]
struct Source {
    #[serde(rename = "type")]
    kind: Option<String>,
    /// An object for images (and for directories in recent versions), a string otherwise.
    target: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ImageTarget {
    user_input: Option<String>,
    #[serde(rename = "imageID")]
    image_id: Option<String>,
    repo_digests: Option<Vec<String>>,
    tags: Option<Vec<String>>,
    path: Option<String>,
}

#[derive(Deserialize)]
struct Distro {
    name: Option<String>,
    version: Option<String>,
}

#[derive(Deserialize)]
struct Descriptor {
    name: Option<String>,
    version: Option<String>,
    timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Match {
    vulnerability: Vulnerability,
    related_vulnerabilities: Option<Vec<Related>>,
    /// A list in current versions, one object before 0.10.
    match_details: Option<Value>,
    artifact: Option<Artifact>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Vulnerability {
    id: Option<String>,
    data_source: Option<String>,
    namespace: Option<String>,
    severity: Option<String>,
    urls: Option<Vec<String>>,
    description: Option<String>,
    cvss: Option<Vec<Cvss>>,
    fix: Option<Fix>,
    // before Grype 0.10
    links: Option<Vec<String>>,
    #[serde(rename = "cvssV2")]
    cvss_v2: Option<OldCvss>,
    #[serde(rename = "cvssV3")]
    cvss_v3: Option<OldCvss>,
    fixed_in_version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Related {
    id: Option<String>,
    data_source: Option<String>,
    namespace: Option<String>,
    urls: Option<Vec<String>>,
    description: Option<String>,
    cvss: Option<Vec<Cvss>>,
}

#[derive(Deserialize)]
struct Cvss {
    source: Option<String>,
    vector: Option<String>,
}

#[derive(Deserialize)]
struct OldCvss {
    vector: Option<String>,
}

#[derive(Deserialize)]
struct Fix {
    versions: Option<Vec<String>>,
    state: Option<String>,
}

#[derive(Deserialize)]
struct Artifact {
    name: Option<String>,
    version: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    purl: Option<String>,
    locations: Option<Vec<Location>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    path: Option<String>,
    #[serde(rename = "layerID")]
    layer_id: Option<String>,
}

/// Parses a Grype JSON report.
pub fn parse(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
    let report: Report<'_> =
        serde_json::from_slice(bytes).map_err(|e| ParseError::from_json("Grype JSON", &e))?;
    let Some(matches) = report.matches else {
        return Err(ParseError::new(
            "wrong-format",
            "this is not a Grype JSON report: it has no 'matches' list. Produce it with \
             `grype <image or directory> -o json`",
        ));
    };
    let mut b = ReportBuilder::new("grype", ReportKind::Findings);
    if let Some(d) = report.descriptor {
        if d.name.as_deref().is_none_or(|n| n == "grype") {
            b.scanner_version(d.version);
        }
        b.generated_at(d.timestamp.as_deref().and_then(parse_timestamp));
    }
    let asset = asset_of(&mut b, report.source, report.distro, bytes);
    let scope = b.scope(asset.scope.clone());
    for (i, raw) in matches.into_iter().enumerate() {
        let at = format!("/matches/{i}");
        b.record();
        match serde_json::from_str::<Match>(raw.get()) {
            Ok(m) => read_match(&mut b, &at, m, &asset, scope),
            Err(e) => b.warn(at, format!("match skipped: {e}")),
        }
    }
    // Ignored matches are read records that the user chose not to see: never findings.
    for _ in report.ignored_matches.unwrap_or_default() {
        b.record();
    }
    if asset.unnamed && b.finding_count() > 0 {
        b.warn(
            "/source",
            "the report does not say what was scanned (no 'source'): findings are kept against \
             an unnamed artifact and a later report does not mark them fixed",
        );
    }
    Ok(b.finish())
}

/// What the findings hang on.
struct Asset {
    image: Option<usize>,
    key: String,
    scope: String,
    unnamed: bool,
}

fn asset_of(
    b: &mut ReportBuilder,
    source: Option<Source>,
    distro: Option<Distro>,
    bytes: &[u8],
) -> Asset {
    let Some(source) = source else {
        return unnamed(bytes);
    };
    let kind = source
        .kind
        .filter(|k| !k.trim().is_empty())
        .unwrap_or_else(|| "artifact".to_owned());
    match source.target {
        Some(target @ Value::Object(_)) => {
            let target: ImageTarget = serde_json::from_value(target).unwrap_or_default();
            if kind == "image" {
                if let Some(mut image) = image_from(&target) {
                    if let Some(d) = distro {
                        image.os_family = d.name.filter(|n| !n.is_empty());
                        image.os_name = d.version.filter(|v| !v.is_empty());
                    }
                    let name = target
                        .user_input
                        .clone()
                        .unwrap_or_else(|| image.reference.name_with_tag());
                    b.artifact(Some(name));
                    let index = b.image(image);
                    let key = b.image_at(index).key.clone();
                    return Asset {
                        image: Some(index),
                        scope: format!("image:{key}"),
                        key,
                        unnamed: false,
                    };
                }
                b.warn(
                    "/source/target",
                    "the scanned image has no usable name, tag or digest; findings are kept \
                     against the report's input instead of an image",
                );
            }
            match target.user_input.or(target.path) {
                Some(name) if !name.trim().is_empty() => artifact(b, &kind, &name),
                _ => unnamed(bytes),
            }
        }
        Some(Value::String(name)) => {
            // Grype before 0.30 wrote directory targets JSON-quoted: "\".\"".
            let name = serde_json::from_str::<String>(&name).unwrap_or(name);
            if name.trim().is_empty() {
                unnamed(bytes)
            } else {
                artifact(b, &kind, &name)
            }
        }
        _ => unnamed(bytes),
    }
}

fn artifact(b: &mut ReportBuilder, kind: &str, name: &str) -> Asset {
    b.artifact(Some(name.to_owned()));
    let key = format!("{kind}:{name}");
    Asset {
        image: None,
        scope: key.clone(),
        key,
        unnamed: false,
    }
}

/// A report that does not say what it scanned is its own scope.
fn unnamed(bytes: &[u8]) -> Asset {
    let digest = Fingerprint::of("grype-report", &[&String::from_utf8_lossy(bytes)]);
    let short: String = digest
        .0
        .iter()
        .take(8)
        .map(|x| format!("{x:02x}"))
        .collect();
    Asset {
        image: None,
        key: "grype:unnamed-artifact".to_owned(),
        scope: format!("grype:report-{short}"),
        unnamed: true,
    }
}

/// The image of an image source, keyed the way Trivy keys it (repo digest, config digest,
/// name and tag).
fn image_from(target: &ImageTarget) -> Option<ImageAsset> {
    let image_id = target
        .image_id
        .as_deref()
        .and_then(|d| normalise_digest(d).ok());
    let repo_digests = target.repo_digests.iter().flatten();
    let named = target
        .user_input
        .iter()
        .chain(target.tags.iter().flatten())
        .chain(repo_digests.clone())
        .find_map(|name| ImageRef::parse(name).ok());
    let mut reference = match (named, &image_id) {
        (Some(reference), _) => reference,
        // A redacted name still identifies the image by its config digest.
        (None, Some(_)) => ImageRef {
            registry: String::new(),
            repository: "(unnamed)".to_owned(),
            tag: None,
            digest: None,
        },
        (None, None) => return None,
    };
    let repo_digest = repo_digests
        .filter_map(|d| d.split_once('@'))
        .find_map(|(_, digest)| normalise_digest(digest).ok());
    if repo_digest.is_some() {
        reference.digest = repo_digest;
    }
    Some(ImageAsset::new(reference, image_id))
}

fn read_match(b: &mut ReportBuilder, at: &str, m: Match, asset: &Asset, scope: usize) {
    let v = m.vulnerability;
    let Some(primary) =
        v.id.clone()
            .map(|i| i.trim().to_owned())
            .filter(|i| !i.is_empty())
    else {
        return b.warn(at, "match skipped: the vulnerability has no id");
    };
    let Some(artifact) = m.artifact else {
        return b.warn(at, format!("{primary} skipped: the match has no artifact"));
    };
    let Some(name) = artifact.name.clone().filter(|n| !n.trim().is_empty()) else {
        return b.warn(at, format!("{primary} skipped: the artifact has no name"));
    };
    let version = artifact.version.clone().unwrap_or_default();
    let component = artifact
        .purl
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .and_then(Component::from_purl)
        .unwrap_or_else(|| {
            Component::from_parts(artifact.kind.as_deref().unwrap_or(""), &name, &version)
        });
    let component_key = component.key();
    let component_index = b.component(component);
    let severity = b.severity(at, v.severity.as_deref());
    let related = m.related_vulnerabilities.unwrap_or_default();

    // Which ids become findings: the CVEs behind an advisory, else the advisory itself.
    let mut ids: Vec<String> = Vec::new();
    if !is_cve(&primary) {
        for r in &related {
            if let Some(id) = r.id.as_deref().map(str::trim)
                && is_cve(id)
                && !ids.iter().any(|known| known == id)
            {
                ids.push(id.to_owned());
            }
        }
    }
    let aliased = !ids.is_empty();
    if !aliased {
        ids.push(primary.clone());
    }

    let (fix_state, fixed_version) = fix_of(&v);
    let mut primary_vectors = Vec::new();
    let primary_source = source_word(v.namespace.as_deref());
    for c in v.cvss.iter().flatten() {
        push_vector(&mut primary_vectors, c, &primary_source);
    }
    for old in [&v.cvss_v3, &v.cvss_v2].into_iter().flatten() {
        if let Some(vector) = old.vector.as_deref().filter(|x| !x.trim().is_empty()) {
            primary_vectors.push((primary_source.clone(), vector.trim().to_owned()));
        }
    }
    let mut primary_refs: Vec<String> = Vec::new();
    for url in v
        .data_source
        .iter()
        .chain(v.urls.iter().flatten())
        .chain(v.links.iter().flatten())
    {
        push_unique(&mut primary_refs, url);
    }

    let locations: Vec<Value> = artifact
        .locations
        .iter()
        .flatten()
        .take(10)
        .map(|l| {
            let mut loc = json!({ "path": l.path });
            insert_some(&mut loc, "layer", l.layer_id.clone());
            loc
        })
        .collect();
    let resource = artifact
        .locations
        .iter()
        .flatten()
        .find_map(|l| l.path.clone())
        .filter(|p| !p.is_empty());
    let matchers = matchers_of(m.match_details.as_ref());

    for id in ids {
        let own = related
            .iter()
            .find(|r| r.id.as_deref().map(str::trim) == Some(id.as_str()));
        let mut cvss_vectors = primary_vectors.clone();
        let mut references = primary_refs.clone();
        let mut description = v.description.clone().filter(|d| !d.trim().is_empty());
        if let Some(r) = own {
            let source = source_word(r.namespace.as_deref());
            for c in r.cvss.iter().flatten() {
                push_vector(&mut cvss_vectors, c, &source);
            }
            for url in r.data_source.iter().chain(r.urls.iter().flatten()) {
                push_unique(&mut references, url);
            }
            if description.is_none() {
                description = r.description.clone().filter(|d| !d.trim().is_empty());
            }
        }
        let mut aliases = Vec::new();
        if aliased {
            aliases.push(primary.clone());
        }
        b.vulnerability(VulnerabilityInfo {
            id: id.clone(),
            aliases,
            title: None,
            description,
            severity,
            cvss_vectors,
            cwe: Vec::new(),
            published_at: None,
            modified_at: None,
            references,
        });
        let mut details = json!({
            "scanner": "grype",
            "locations": locations,
        });
        insert_some(&mut details, "advisory", aliased.then(|| primary.clone()));
        insert_some(&mut details, "namespace", v.namespace.clone());
        insert_some(&mut details, "data_source", v.data_source.clone());
        insert_some(&mut details, "fix_state", fix_state.clone());
        insert_some(&mut details, "artifact_type", artifact.kind.clone());
        if !matchers.is_empty() {
            insert_some(&mut details, "matchers", Some(matchers.clone()));
        }
        b.finding(FindingRecord {
            fingerprint: Fingerprint::vulnerability(&id, &component_key, &asset.key),
            kind: FindingKind::Vulnerability,
            severity,
            title: if version.is_empty() {
                format!("{id} in {name}")
            } else {
                format!("{id} in {name} {version}")
            },
            vulnerability_id: Some(id),
            component: Some(component_index),
            rule_id: None,
            image: asset.image,
            workload: None,
            in_cluster: false,
            resource: resource.clone(),
            fixed_version: fixed_version.clone(),
            scope,
            details: details.into(),
        });
    }
}

fn is_cve(id: &str) -> bool {
    id.len() > 4 && id.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("cve-"))
}

/// The fix state (when given) and the fixed versions, when they fix the issue.
fn fix_of(v: &Vulnerability) -> (Option<String>, Option<String>) {
    if let Some(fix) = &v.fix {
        let state = fix.state.clone().filter(|s| !s.trim().is_empty());
        let fixes = state.as_deref().is_none_or(|s| s == "fixed");
        let versions: Vec<&str> = fix
            .versions
            .iter()
            .flatten()
            .map(|x| x.trim())
            .filter(|x| !x.is_empty())
            .collect();
        let fixed = (fixes && !versions.is_empty()).then(|| versions.join(", "));
        return (state, fixed);
    }
    let fixed = v.fixed_in_version.clone().filter(|x| !x.trim().is_empty());
    (None, fixed)
}

/// The source word of a CVSS entry: its `source` when given, else the namespace's.
fn push_vector(vectors: &mut Vec<(String, String)>, c: &Cvss, fallback: &str) {
    let Some(vector) = c.vector.as_deref().map(str::trim).filter(|x| !x.is_empty()) else {
        return;
    };
    let source = match c.source.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => source_name(s),
        _ => fallback.to_owned(),
    };
    let entry = (source, vector.to_owned());
    if !vectors.contains(&entry) {
        vectors.push(entry);
    }
}

/// `nvd@nist.gov` → `nvd`, GitHub's CNA → `ghsa`, other sources as given.
fn source_name(source: &str) -> String {
    let lower = source.to_ascii_lowercase();
    if lower == "nvd@nist.gov" || lower == "nvd" {
        "nvd".to_owned()
    } else if lower.contains("github") {
        "ghsa".to_owned()
    } else {
        source.to_owned()
    }
}

/// The first word of a Grype namespace (`nvd:cpe` → `nvd`, `github:language:go` → `ghsa`,
/// `debian:distro:debian:12` → `debian`); `grype` when there is none.
fn source_word(namespace: Option<&str>) -> String {
    match namespace.map(str::trim).filter(|n| !n.is_empty()) {
        None => "grype".to_owned(),
        Some(n) => {
            let first = n.split(':').next().unwrap_or(n);
            if first == "github" {
                "ghsa".to_owned()
            } else {
                first.to_owned()
            }
        }
    }
}

/// The matcher names of `matchDetails` (a list, or one object in old reports).
fn matchers_of(details: Option<&Value>) -> Vec<Value> {
    let one = |d: &Value| d.get("matcher").and_then(Value::as_str).map(str::to_owned);
    let mut names: Vec<String> = Vec::new();
    match details {
        Some(Value::Array(list)) => {
            for name in list.iter().filter_map(one) {
                push_unique(&mut names, &name);
            }
        }
        Some(d @ Value::Object(_)) => names.extend(one(d)),
        _ => {}
    }
    names.into_iter().map(Value::from).collect()
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    let item = item.trim();
    if !item.is_empty() && !list.iter().any(|known| known == item) {
        list.push(item.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::Severity;

    const DIGEST: &str = "sha256:abababababababababababababababababababababababababababababababab";

    fn image_report(matches: &str) -> String {
        format!(
            r#"{{"matches": [{matches}],
                "source": {{"type": "image", "target": {{"userInput": "alpine:3.19",
                    "imageID": "sha256:{id}", "manifestDigest": "sha256:{m}",
                    "tags": ["alpine:3.19"], "repoDigests": ["alpine@{DIGEST}"]}}}},
                "distro": {{"name": "alpine", "version": "3.19.1"}},
                "descriptor": {{"name": "grype", "version": "0.80.0",
                                "timestamp": "2024-08-01T10:00:00Z"}}}}"#,
            id = "cd".repeat(32),
            m = "ef".repeat(32),
        )
    }

    const OPENSSL: &str = r#"{"vulnerability": {"id": "CVE-2024-0001", "namespace": "alpine:distro:alpine:3.19",
          "severity": "High", "urls": ["https://security.alpinelinux.org/vuln/CVE-2024-0001"],
          "cvss": [{"source": "nvd@nist.gov", "type": "Primary", "version": "3.1",
                    "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "metrics": {"baseScore": 7.5}}],
          "fix": {"versions": ["3.1.4-r1"], "state": "fixed"}},
        "relatedVulnerabilities": [], "matchDetails": [{"matcher": "apk-matcher"}],
        "artifact": {"name": "openssl", "version": "3.1.4-r0", "type": "apk",
          "purl": "pkg:apk/alpine/openssl@3.1.4-r0?arch=x86_64&distro=alpine-3.19.1",
          "locations": [{"path": "/lib/apk/db/installed", "layerID": "sha256:01"}]}}"#;

    #[test]
    fn image_report_yields_image_component_vulnerability_and_finding() {
        let parsed = parse(image_report(OPENSSL).as_bytes()).unwrap();
        assert_eq!(parsed.scanner, "grype");
        assert_eq!(parsed.scanner_version.as_deref(), Some("0.80.0"));
        assert!(parsed.generated_at.is_some());
        assert_eq!(parsed.artifact.as_deref(), Some("alpine:3.19"));
        let image = &parsed.images[0];
        // the repo digest, not Grype's own manifestDigest
        assert_eq!(image.key, DIGEST);
        assert_eq!(image.reference.repository, "library/alpine");
        assert_eq!(image.os_family.as_deref(), Some("alpine"));
        assert_eq!(image.image_id, Some(format!("sha256:{}", "cd".repeat(32))));
        assert_eq!(parsed.scopes, vec![format!("image:{DIGEST}")]);
        assert_eq!(parsed.components[0].key(), "apk/openssl@3.1.4-r0");
        let info = &parsed.vulnerabilities[0];
        assert_eq!(
            info.cvss_vectors,
            vec![(
                "nvd".to_owned(),
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N".to_owned()
            )]
        );
        let f = &parsed.findings[0];
        assert_eq!(f.kind, FindingKind::Vulnerability);
        assert_eq!(f.severity, Severity::High);
        assert_eq!(f.vulnerability_id.as_deref(), Some("CVE-2024-0001"));
        assert_eq!(f.fixed_version.as_deref(), Some("3.1.4-r1"));
        assert_eq!(f.image, Some(0));
        assert!(!f.in_cluster);
        assert_eq!(f.resource.as_deref(), Some("/lib/apk/db/installed"));
        assert_eq!(f.details.value()["matchers"], json!(["apk-matcher"]));
        assert_eq!(f.title, "CVE-2024-0001 in openssl 3.1.4-r0");
        assert!(parsed.warnings.is_empty());
    }

    /// The same CVE in the same package of the same image, reported by Trivy and by Grype,
    /// has one fingerprint: with a repo digest, and for a local image with only a config
    /// digest.
    #[test]
    fn grype_and_trivy_agree_on_the_fingerprint() {
        let trivy_doc = |repo_digests: &str| {
            format!(
                r#"{{"SchemaVersion": 2, "ArtifactName": "alpine:3.19", "ArtifactType": "container_image",
                   "Metadata": {{"OS": {{"Family": "alpine", "Name": "3.19.1"}},
                                "ImageID": "sha256:{id}", "RepoTags": ["alpine:3.19"],
                                "RepoDigests": [{repo_digests}]}},
                   "Results": [{{"Target": "alpine:3.19 (alpine 3.19.1)", "Class": "os-pkgs", "Type": "alpine",
                     "Vulnerabilities": [{{"VulnerabilityID": "CVE-2024-0001", "PkgName": "openssl",
                        "PkgIdentifier": {{"PURL": "pkg:apk/alpine/openssl@3.1.4-r0?arch=x86_64&distro=3.19.1"}},
                        "InstalledVersion": "3.1.4-r0", "FixedVersion": "3.1.4-r1", "Severity": "HIGH"}}]}}]}}"#,
                id = "cd".repeat(32)
            )
        };
        let with_digest = format!("\"alpine@{DIGEST}\"");
        let trivy = crate::ingest::trivy::parse(trivy_doc(&with_digest).as_bytes()).unwrap();
        let grype = parse(image_report(OPENSSL).as_bytes()).unwrap();
        assert_eq!(trivy.images[0].key, grype.images[0].key);
        assert_eq!(trivy.scopes, grype.scopes);
        assert_eq!(trivy.findings[0].fingerprint, grype.findings[0].fingerprint);

        // A locally built image: no repo digests anywhere, both fall back to the image id.
        let trivy = crate::ingest::trivy::parse(trivy_doc("").as_bytes()).unwrap();
        let local = image_report(OPENSSL).replace(&format!("\"alpine@{DIGEST}\""), "");
        let grype = parse(local.as_bytes()).unwrap();
        assert_eq!(grype.images[0].key, format!("sha256:{}", "cd".repeat(32)));
        assert_eq!(trivy.images[0].key, grype.images[0].key);
        assert_eq!(trivy.findings[0].fingerprint, grype.findings[0].fingerprint);

        // ... and without any purl, from the package type, name and version.
        let bare = OPENSSL.replace(
            r#""purl": "pkg:apk/alpine/openssl@3.1.4-r0?arch=x86_64&distro=alpine-3.19.1","#,
            "",
        );
        let grype = parse(
            image_report(&bare)
                .replace(&format!("\"alpine@{DIGEST}\""), "")
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(trivy.findings[0].fingerprint, grype.findings[0].fingerprint);
    }

    #[test]
    fn an_advisory_with_related_cves_is_reported_per_cve() {
        let ghsa = r#"{"vulnerability": {"id": "GHSA-4374-p667-p6c8", "namespace": "github:language:go",
              "severity": "High", "description": "HTTP/2 rapid reset",
              "cvss": [{"type": "Secondary", "version": "3.1", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
              "fix": {"versions": ["0.17.0"], "state": "fixed"}},
            "relatedVulnerabilities": [
              {"id": "CVE-2023-39325", "namespace": "nvd:cpe", "urls": ["https://go.dev/issue/63417"],
               "cvss": [{"source": "nvd@nist.gov", "version": "3.1", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}]},
              {"id": "CVE-2023-44487", "namespace": "nvd:cpe"}],
            "matchDetails": [],
            "artifact": {"name": "golang.org/x/net", "version": "v0.7.0", "type": "go-module",
                         "purl": "pkg:golang/golang.org/x/net@v0.7.0"}}"#;
        let parsed = parse(image_report(ghsa).as_bytes()).unwrap();
        let ids: Vec<_> = parsed
            .findings
            .iter()
            .map(|f| f.vulnerability_id.clone().unwrap())
            .collect();
        assert_eq!(ids, vec!["CVE-2023-39325", "CVE-2023-44487"]);
        assert_eq!(parsed.record_count, 1);
        let info = &parsed.vulnerabilities[0];
        assert_eq!(info.aliases, vec!["GHSA-4374-p667-p6c8"]);
        assert_eq!(info.description.as_deref(), Some("HTTP/2 rapid reset"));
        assert_eq!(
            info.cvss_vectors
                .iter()
                .map(|(s, _)| s.as_str())
                .collect::<Vec<_>>(),
            vec!["ghsa", "nvd"]
        );
        assert!(
            info.references
                .contains(&"https://go.dev/issue/63417".to_owned())
        );
        assert_eq!(parsed.components[0].key(), "golang/golang.org/x/net@v0.7.0");
        assert_eq!(
            parsed.findings[0].details.value()["advisory"],
            "GHSA-4374-p667-p6c8"
        );
        // a GHSA without a related CVE stays itself
        let lone = ghsa.replace("CVE-2023-39325", "GO-2023-2102").replace(
            r#",
              {"id": "CVE-2023-44487", "namespace": "nvd:cpe"}"#,
            "",
        );
        let parsed = parse(image_report(&lone).as_bytes()).unwrap();
        assert_eq!(
            parsed.findings[0].vulnerability_id.as_deref(),
            Some("GHSA-4374-p667-p6c8")
        );
        assert!(parsed.vulnerabilities[0].aliases.is_empty());
    }

    #[test]
    fn fix_states_other_than_fixed_give_no_fixed_version() {
        let wont = OPENSSL.replace(r#""state": "fixed""#, r#""state": "wont-fix""#);
        let parsed = parse(image_report(&wont).as_bytes()).unwrap();
        assert_eq!(parsed.findings[0].fixed_version, None);
        assert_eq!(parsed.findings[0].details.value()["fix_state"], "wont-fix");
    }

    #[test]
    fn malformed_matches_are_warnings_not_failures() {
        let body = image_report(&format!(
            r#"{OPENSSL}, {{"vulnerability": 42}}, {{"vulnerability": {{"id": "CVE-1"}}}},
               {{"vulnerability": {{"id": ""}}, "artifact": {{"name": "x"}}}},
               {{"vulnerability": {{"id": "CVE-2", "severity": "Apocalyptic"}},
                 "artifact": {{"name": "x", "version": "1", "type": "npm"}}}}"#
        ));
        let parsed = parse(body.as_bytes()).unwrap();
        assert_eq!(parsed.record_count, 5);
        assert_eq!(parsed.findings.len(), 2);
        let pointers: Vec<&str> = parsed.warnings.iter().map(|w| w.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            vec!["/matches/1", "/matches/2", "/matches/3", "/matches/4"]
        );
        assert_eq!(parsed.findings[1].severity, Severity::Unknown);
        assert_eq!(parsed.components[1].key(), "npm/x@1");
    }

    #[test]
    fn other_documents_are_refused_and_empty_reports_accepted() {
        assert_eq!(parse(b"{\"foo\": 1}").unwrap_err().kind, "wrong-format");
        assert_eq!(parse(b"[]").unwrap_err().kind, "wrong-format");
        assert_eq!(parse(b"{\"matches\": [").unwrap_err().kind, "invalid-json");
        assert_eq!(
            parse(br#"{"SchemaVersion": 2, "Results": []}"#)
                .unwrap_err()
                .kind,
            "wrong-format"
        );
        let empty = parse(image_report("").as_bytes()).unwrap();
        assert!(empty.findings.is_empty());
        assert_eq!(empty.scopes, vec![format!("image:{DIGEST}")]);
        let bare = parse(br#"{"matches": null, "source": null}"#);
        assert_eq!(bare.unwrap_err().kind, "wrong-format");
        let bare = parse(br#"{"matches": []}"#).unwrap();
        assert_eq!(bare.scopes.len(), 1);
        assert!(bare.warnings.is_empty());
    }

    #[test]
    fn directory_scans_are_their_own_asset_and_old_layouts_read() {
        let old = r#"{"matches": [{"vulnerability": {"id": "CVE-2019-18276", "severity": "Negligible",
              "links": ["https://security-tracker.debian.org/tracker/CVE-2019-18276"],
              "cvssV2": {"baseScore": 7.2, "vector": "AV:L/AC:L/Au:N/C:C/I:C/A:C"},
              "fixedInVersion": "5.0-5"},
            "matchDetails": {"matcher": "dpkg-matcher"},
            "artifact": {"name": "bash", "version": "5.0-4", "type": "deb",
              "cpes": [{"Part": "a"}], "purl": "pkg:deb/debian/bash@5.0-4?arch=amd64"}}],
          "source": {"type": "directory", "target": "\".\""}}"#;
        let parsed = parse(old.as_bytes()).unwrap();
        assert!(parsed.images.is_empty());
        assert_eq!(parsed.scopes, vec!["directory:."]);
        let f = &parsed.findings[0];
        assert_eq!(f.severity, Severity::Low);
        assert_eq!(f.fixed_version.as_deref(), Some("5.0-5"));
        assert_eq!(f.image, None);
        assert_eq!(
            f.fingerprint,
            Fingerprint::vulnerability("CVE-2019-18276", "deb/bash@5.0-4", "directory:.")
        );
        assert_eq!(
            parsed.vulnerabilities[0].cvss_vectors,
            vec![("grype".to_owned(), "AV:L/AC:L/Au:N/C:C/I:C/A:C".to_owned())]
        );
        assert_eq!(f.details.value()["matchers"], json!(["dpkg-matcher"]));
        let object_target = parse(
            br#"{"matches": [], "source": {"type": "directory", "target": {"path": "/src/app"}}}"#,
        )
        .unwrap();
        assert_eq!(object_target.scopes, vec!["directory:/src/app"]);
    }

    fn fixture(name: &str) -> Vec<u8> {
        let base = std::env::var("BULWARK_SERVER")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")));
        std::fs::read(base.join("tests/fixtures/grype").join(name)).expect("fixture")
    }

    /// (file, records, findings, [critical, high, medium, low, unknown], warnings), counted
    /// with a Python script over the JSON: every match is a record; a match is one finding,
    /// or one per related CVE when its id is not a CVE and it has related CVEs; severities
    /// from `vulnerability.severity` (Negligible → low, missing → unknown).
    type Expected = (&'static str, usize, usize, [usize; 5], usize);
    const SAMPLES: &[Expected] = &[
        // no 'source': unnamed artifact, one warning
        (
            "defectdojo__anchore_grype_epss_problem.json",
            1,
            1,
            [0, 1, 0, 0, 0],
            1,
        ),
        (
            "defectdojo__check_all_fields.json",
            6,
            6,
            [2, 3, 0, 1, 0],
            0,
        ),
        ("defectdojo__fix_available.json", 1, 1, [0, 1, 0, 0, 0], 0),
        (
            "defectdojo__fix_not_available.json",
            1,
            1,
            [0, 1, 0, 0, 0],
            0,
        ),
        ("defectdojo__issue_9618.json", 35, 35, [1, 18, 13, 2, 1], 0),
        (
            "defectdojo__many_vulns3.json",
            327,
            327,
            [5, 24, 155, 133, 10],
            0,
        ),
        ("defectdojo__many_vulns4.json", 9, 9, [2, 2, 5, 0, 0], 0),
        (
            "defectdojo__many_vulns_with_epss_values.json",
            15,
            15,
            [1, 10, 2, 2, 0],
            0,
        ),
        ("defectdojo__no_vuln.json", 0, 0, [0, 0, 0, 0, 0], 0),
        (
            "defectdojo__same_cve_different_paths.json",
            2,
            2,
            [2, 0, 0, 0, 0],
            0,
        ),
    ];

    fn check(file: &str, parsed: &ParsedReport, expected: &Expected) {
        let (_, records, findings, severities, warnings) = expected;
        let severity = |s: Severity| parsed.findings.iter().filter(|f| f.severity == s).count();
        assert_eq!(parsed.record_count, *records, "{file} records");
        assert_eq!(parsed.findings.len(), *findings, "{file} findings");
        assert!(
            parsed
                .findings
                .iter()
                .all(|f| f.kind == FindingKind::Vulnerability),
            "{file} kinds"
        );
        let by_severity = [
            severity(Severity::Critical),
            severity(Severity::High),
            severity(Severity::Medium),
            severity(Severity::Low),
            severity(Severity::Unknown),
        ];
        assert_eq!(&by_severity, severities, "{file} severities");
        assert_eq!(
            parsed.warnings.len(),
            *warnings,
            "{file}: {:?}",
            parsed.warnings
        );
        assert_eq!(parsed.scopes.len(), 1, "{file} scopes");
    }

    #[test]
    fn every_vendored_sample_parses_to_the_expected_counts() {
        for expected in SAMPLES {
            let file = expected.0;
            let parsed = parse(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            check(file, &parsed, expected);
        }
    }

    /// The two multi-megabyte samples are not vendored: read from the team's sample set
    /// when it is there.
    #[test]
    fn large_samples_parse_when_present() {
        let large: &[Expected] = &[
            (
                "defectdojo__many_vulns.json",
                1509,
                1509,
                [0, 32, 613, 788, 76],
                0,
            ),
            (
                "defectdojo__many_vulns2.json",
                1567,
                1567,
                [0, 26, 637, 800, 104],
                0,
            ),
        ];
        for expected in large {
            let path = crate::ingest::model::shared_samples()
                .join("grype")
                .join(expected.0);
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let parsed = parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", expected.0));
            check(expected.0, &parsed, expected);
        }
    }

    #[test]
    fn samples_name_their_images_as_trivy_would() {
        let parsed = parse(&fixture("defectdojo__issue_9618.json")).unwrap();
        let image = &parsed.images[0];
        assert_eq!(
            image.key,
            "sha256:97e6d5aeed19f627205b218f45b284cd01ff658dd181416ab1d3e21aeb28d68e"
        );
        assert_eq!(image.reference.registry, "quay.io");
        assert_eq!(image.os_family.as_deref(), Some("redhat"));
        assert_eq!(parsed.scanner_version.as_deref(), Some("0.96.0"));
        // 23 matches are fixed with versions
        let fixed = parsed
            .findings
            .iter()
            .filter(|f| f.fixed_version.is_some())
            .count();
        assert_eq!(fixed, 23);

        let parsed = parse(&fixture("defectdojo__check_all_fields.json")).unwrap();
        assert_eq!(
            parsed.images[0].key,
            "sha256:ce9898fd214aef9c994a42624b09056bdce3ff4a8e3f68dc242d967b80fcbeee"
        );
        let django: Vec<_> = parsed
            .findings
            .iter()
            .filter(|f| f.vulnerability_id.as_deref() == Some("CVE-2021-44420"))
            .collect();
        assert_eq!(django.len(), 2);
        assert_eq!(
            parsed
                .findings
                .iter()
                .filter(|f| f.fixed_version.is_some())
                .count(),
            2
        );

        let parsed = parse(&fixture("defectdojo__same_cve_different_paths.json")).unwrap();
        // "sha256:test" is not a digest: the image is keyed by name and tag
        assert_eq!(parsed.images[0].key, "docker.io/library/test-image:latest");
        assert_eq!(parsed.images[0].image_id, None);

        let parsed = parse(&fixture("defectdojo__many_vulns4.json")).unwrap();
        assert!(parsed.images.is_empty());
        assert_eq!(parsed.scopes, vec!["directory:."]);
    }
}
