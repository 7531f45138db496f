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
use crate::domain::version;
use crate::domain::vuln_id::is_cve;
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
    let ecosystem = component.ecosystem.clone();
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

    let (fix_state, fixed_versions) = fix_of(&v);
    // the one to upgrade to, else the list as the scanner gives it
    let fixed_version = version::fix_for(
        &ecosystem,
        Some(version.as_str()),
        fixed_versions.iter().map(String::as_str),
    )
    .map(str::to_owned)
    .or_else(|| (!fixed_versions.is_empty()).then(|| fixed_versions.join(", ")));
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
        if fixed_versions.len() > 1 {
            insert_some(
                &mut details,
                "fixed_versions",
                Some(fixed_versions.join(", ")),
            );
        }
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

/// The fix state (when given) and the versions that fix the issue (none when the state says
/// it is not fixed).
fn fix_of(v: &Vulnerability) -> (Option<String>, Vec<String>) {
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
        let fixed = if fixes {
            versions.into_iter().map(str::to_owned).collect()
        } else {
            Vec::new()
        };
        return (state, fixed);
    }
    let fixed = v
        .fixed_in_version
        .iter()
        .map(|x| x.trim())
        .filter(|x| !x.is_empty());
    (None, fixed.map(str::to_owned).collect())
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
mod tests;
