//! CycloneDX SBOMs, JSON and XML, spec 1.0–1.6 (Syft, Grype, Trivy, cdxgen, jake, Snyk, the
//! CycloneDX libraries), including vulnerabilities (`vulnerabilities[]`, 1.4 and later) with
//! their VEX `analysis`, and the XML vulnerability extension 1.0 that 1.2/1.3 producers (Grype
//! before 0.30, the 1.2 specification examples) write as `<v:vulnerabilities>` at the top level
//! or inside a `<component>`.
//!
//! Pure: bytes in, [`ParsedReport`] out. The format is detected by the first non-blank
//! character (`<` is XML, anything else JSON). An XML document is first read into the JSON form
//! of the same BOM (elements become keys, wrapper elements such as `<components>` become lists,
//! namespace prefixes are dropped), so both encodings go through one reader and warnings point
//! into that JSON form (e.g. `/vulnerabilities/3`). Each component and vulnerability is decoded
//! on its own: a malformed one becomes a warning.
//!
//! Mapping:
//! - `metadata.component` is the subject. A container (type `container`, a `pkg:oci` purl, or
//!   an untyped/application component whose name or version carries an image digest) becomes
//!   the image asset (manifest digest from the version, the OCI purl or Trivy's RepoDigest
//!   property; config digest from Trivy's ImageID property). Anything else is a non-image
//!   artifact with asset key `sbom:<group>/<name>@<version>`; without a subject, the
//!   `serialNumber` (else a digest of the document) names the SBOM.
//! - Every component (nested ones too) is a record; packages (any type except container,
//!   operating-system, file, device, firmware, platform, data, machine-learning-model,
//!   cryptographic-asset, device-driver) go to the report's components, keyed by their purl or
//!   by `<group>/<name>@<version>` (ecosystem `generic`) when they have none.
//! - Every vulnerability is a record and becomes one finding per affected component
//!   (`affects[].ref` → a component's `bom-ref`, a BOM-link `urn:cdx:…#<bom-ref>`, or a purl),
//!   fingerprinted with the component key and the subject's asset key. The CVE is preferred
//!   as id (from `references[]` when the primary id is a GHSA/Snyk/OSS Index id; the others
//!   become aliases). Severity: the rating from the vulnerability's own source, else the
//!   highest rated severity. CVSS vectors of CVSS ratings are kept (v3 vectors without their
//!   `CVSS:3.x/` prefix get the one their method names); scores are not.
//! - `analysis.state` also yields a VEX statement about the component in the subject:
//!   not_affected/false_positive → not_affected, resolved → fixed, exploitable → affected,
//!   in_triage → under_investigation. The finding is still recorded (the pipeline suppresses it).
//! - Report kind: Findings when the SBOM carries vulnerabilities, Inventory otherwise.
//!
//! Skipped: licenses, hashes, dependencies, services, compositions, annotations, formulation.
//! An SBOM without vulnerabilities declares no lifecycle scope: a pure inventory (many tools
//! write an empty `vulnerabilities` list without having looked for any) must not mark
//! vulnerabilities of the same image fixed.

use crate::ingest::model::insert_some;
use std::collections::HashMap;
use std::str::FromStr;

use app::model::Severity;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::domain::component::Component;
use crate::domain::fingerprint::Fingerprint;
use crate::domain::image_ref::{ImageRef, normalise_digest};
use crate::ingest::model::{
    FindingKind, FindingRecord, ImageAsset, ParseError, ParsedReport, ReportBuilder, ReportKind,
    VexStatement, VexStatus, VulnerabilityInfo, parse_timestamp,
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bom<'a> {
    bom_format: Option<String>,
    spec_version: Option<Value>,
    serial_number: Option<String>,
    #[serde(borrow)]
    metadata: Option<&'a RawValue>,
    #[serde(borrow)]
    components: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    vulnerabilities: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize, Default)]
struct Metadata<'a> {
    timestamp: Option<String>,
    /// A list of tools (≤1.4), or `{components, services}` (1.5+).
    tools: Option<Value>,
    #[serde(borrow)]
    component: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ComponentEntry<'a> {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(rename = "bom-ref")]
    bom_ref: Option<String>,
    group: Option<String>,
    name: Option<String>,
    version: Option<String>,
    purl: Option<String>,
    properties: Option<Vec<Property>>,
    #[serde(borrow)]
    components: Option<Vec<&'a RawValue>>,
    /// XML vulnerability extension 1.0: vulnerabilities of this component.
    #[serde(borrow)]
    vulnerabilities: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct Property {
    name: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Vulnerability {
    id: Option<String>,
    source: Option<Source>,
    references: Option<Vec<Reference>>,
    ratings: Option<Vec<Rating>>,
    cwes: Option<Vec<Value>>,
    description: Option<String>,
    detail: Option<String>,
    recommendation: Option<String>,
    /// XML vulnerability extension 1.0.
    recommendations: Option<Vec<String>>,
    advisories: Option<Vec<Advisory>>,
    published: Option<String>,
    updated: Option<String>,
    analysis: Option<Analysis>,
    affects: Option<Vec<Affect>>,
    /// XML vulnerability extension 1.0: the `bom-ref` of the affected component.
    #[serde(rename = "ref")]
    target_ref: Option<String>,
}

#[derive(Deserialize)]
struct Source {
    name: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
struct Reference {
    id: Option<String>,
}

#[derive(Deserialize)]
struct Rating {
    source: Option<Source>,
    severity: Option<String>,
    method: Option<String>,
    vector: Option<String>,
}

/// A URL (extension 1.0) or `{title, url}` (1.4+).
#[derive(Deserialize)]
#[serde(untagged)]
enum Advisory {
    Url(String),
    Object { url: Option<String> },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Analysis {
    state: Option<String>,
    justification: Option<String>,
    detail: Option<String>,
    #[serde(alias = "responses")]
    response: Option<Vec<String>>,
    first_issued: Option<String>,
    last_updated: Option<String>,
}

#[derive(Deserialize)]
struct Affect {
    #[serde(rename = "ref")]
    target: Option<String>,
}

/// Component types that are not packages.
const NOT_PACKAGES: &[&str] = &[
    "container",
    "operating-system",
    "file",
    "device",
    "firmware",
    "platform",
    "data",
    "machine-learning-model",
    "cryptographic-asset",
    "device-driver",
];

/// Parses a CycloneDX SBOM (JSON or XML).
pub fn parse(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match body.iter().find(|c| !c.is_ascii_whitespace()) {
        Some(b'<') => {
            let document = xml::to_json(body)?;
            let text = serde_json::to_vec(&document).map_err(|e| {
                ParseError::new("invalid-xml", format!("the XML could not be read: {e}"))
            })?;
            read(&text, "CycloneDX XML")
        }
        Some(_) => read(body, "CycloneDX JSON"),
        None => Err(ParseError::new("invalid-json", "the body is empty")),
    }
}

fn read(body: &[u8], format: &str) -> Result<ParsedReport, ParseError> {
    let bom: Bom<'_> =
        serde_json::from_slice(body).map_err(|e| ParseError::from_json(format, &e))?;
    check_format(&bom, format)?;

    let metadata = bom
        .metadata
        .map(|raw| serde_json::from_str::<Metadata<'_>>(raw.get()));
    let tool = match &metadata {
        Some(Ok(m)) => m.tools.as_ref().and_then(first_tool),
        _ => None,
    };
    let scanner = tool
        .as_ref()
        .map(|(name, _)| name.clone())
        .unwrap_or_else(|| "cyclonedx".to_owned());
    let mut b = ReportBuilder::new(&scanner, ReportKind::Inventory);
    b.scanner_version(tool.and_then(|(_, version)| version));
    let metadata = match metadata {
        Some(Ok(m)) => m,
        Some(Err(e)) => {
            b.warn("/metadata", format!("metadata skipped: {e}"));
            Metadata::default()
        }
        None => Metadata::default(),
    };
    b.generated_at(metadata.timestamp.as_deref().and_then(parse_timestamp));
    let subject_entry = match metadata.component {
        Some(raw) => match serde_json::from_str::<ComponentEntry<'_>>(raw.get()) {
            Ok(entry) => Some(entry),
            Err(e) => {
                b.warn("/metadata/component", format!("subject skipped: {e}"));
                None
            }
        },
        None => None,
    };
    let subject = Subject::new(
        &mut b,
        subject_entry.as_ref(),
        bom.serial_number.as_deref(),
        body,
    );

    // Components, nested ones flattened, each decoded on its own.
    let mut entries: Vec<(String, ComponentEntry<'_>)> = Vec::new();
    flatten(
        &mut b,
        "/components",
        bom.components.unwrap_or_default(),
        &mut entries,
    );
    let mut by_ref: HashMap<String, Component> = HashMap::new();
    for (_, entry) in &entries {
        let Some(component) = component_of(entry) else {
            continue;
        };
        if let Some(bom_ref) = entry.bom_ref.as_deref().filter(|r| !r.is_empty()) {
            by_ref.insert(bom_ref.to_owned(), component.clone());
        }
        let is_package = entry
            .kind
            .as_deref()
            .is_none_or(|k| !NOT_PACKAGES.contains(&k.trim().to_ascii_lowercase().as_str()));
        if is_package {
            b.component(component);
        }
    }

    let top_level = bom.vulnerabilities.unwrap_or_default();
    let has_vulnerabilities = !top_level.is_empty()
        || entries
            .iter()
            .any(|(_, e)| e.vulnerabilities.as_ref().is_some_and(|v| !v.is_empty()));
    // Only a document that reports vulnerabilities covers the subject's vulnerabilities.
    let scope = has_vulnerabilities.then(|| b.scope(subject.key.clone()));
    let mut reader = Reader {
        b: &mut b,
        subject: &subject,
        by_ref: &by_ref,
        scope: scope.unwrap_or_default(),
        scanner: scanner.clone(),
    };
    // XML vulnerability extension 1.0: vulnerabilities inside their component.
    for (pointer, entry) in &entries {
        let Some(list) = &entry.vulnerabilities else {
            continue;
        };
        let component = component_of(entry);
        for (j, raw) in list.iter().enumerate() {
            let at = format!("{pointer}/vulnerabilities/{j}");
            reader.b.record();
            let target = match &component {
                Some(c) => Target::Component(c.clone(), entry.bom_ref.clone()),
                None => Target::Unresolved(format!("{pointer} (a component without a name)")),
            };
            match serde_json::from_str::<Vulnerability>(raw.get()) {
                Ok(v) => reader.vulnerability(&at, v, vec![target]),
                Err(e) => reader.b.warn(at, format!("vulnerability skipped: {e}")),
            }
        }
    }
    for (i, raw) in top_level.into_iter().enumerate() {
        let at = format!("/vulnerabilities/{i}");
        reader.b.record();
        match serde_json::from_str::<Vulnerability>(raw.get()) {
            Ok(v) => {
                let targets = reader.targets(&v);
                reader.vulnerability(&at, v, targets);
            }
            Err(e) => reader.b.warn(at, format!("vulnerability skipped: {e}")),
        }
    }

    let mut report = b.finish();
    if has_vulnerabilities {
        report.kind = ReportKind::Findings;
    }
    Ok(report)
}

/// Refuses documents that are not CycloneDX BOMs, and major versions other than 1.
fn check_format(bom: &Bom<'_>, format: &str) -> Result<(), ParseError> {
    match bom.bom_format.as_deref().map(str::trim) {
        Some(f) if f.eq_ignore_ascii_case("cyclonedx") => {}
        Some(other) => {
            return Err(ParseError::new(
                "wrong-format",
                format!("this is not a {format} SBOM: its bomFormat is '{other}', not 'CycloneDX'"),
            ));
        }
        None if bom.spec_version.is_some()
            && (bom.metadata.is_some()
                || bom.components.is_some()
                || bom.vulnerabilities.is_some()) => {}
        None => {
            return Err(ParseError::new(
                "wrong-format",
                format!(
                    "this is not a {format} SBOM: it has no bomFormat 'CycloneDX' (nor a \
                     specVersion with components, metadata or vulnerabilities)"
                ),
            ));
        }
    }
    let version = match &bom.spec_version {
        Some(Value::String(v)) => v.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Ok(()),
    };
    if !version.is_empty() && version.split('.').next() != Some("1") {
        return Err(ParseError::new(
            "unsupported-version",
            format!("CycloneDX specVersion {version} is not supported; expected 1.x"),
        ));
    }
    Ok(())
}

/// Name and version of the first tool listed in `metadata.tools`.
fn first_tool(tools: &Value) -> Option<(String, Option<String>)> {
    let list = match tools {
        Value::Array(items) => items.as_slice(),
        Value::Object(map) => map
            .get("components")
            .or_else(|| map.get("services"))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default(),
        _ => return None,
    };
    list.iter().find_map(|tool| {
        let name = tool.get("name")?.as_str()?.trim();
        let version = tool
            .get("version")
            .and_then(Value::as_str)
            .map(|v| v.trim().to_owned());
        (!name.is_empty()).then(|| (name.to_owned(), version))
    })
}

/// Decodes `list` (at `pointer`) and every nested `components` list into `out`, counting one
/// record per entry.
fn flatten<'a>(
    b: &mut ReportBuilder,
    pointer: &str,
    list: Vec<&'a RawValue>,
    out: &mut Vec<(String, ComponentEntry<'a>)>,
) {
    for (i, raw) in list.into_iter().enumerate() {
        let at = format!("{pointer}/{i}");
        b.record();
        match serde_json::from_str::<ComponentEntry<'a>>(raw.get()) {
            Ok(mut entry) => {
                let nested = entry.components.take().unwrap_or_default();
                out.push((at.clone(), entry));
                flatten(b, &format!("{at}/components"), nested, out);
            }
            Err(e) => b.warn(at, format!("component skipped: {e}")),
        }
    }
}

/// The package a component entry names: from its purl, else from group, name and version.
fn component_of(entry: &ComponentEntry<'_>) -> Option<Component> {
    let purl = entry
        .purl
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    if let Some(component) = purl.and_then(Component::from_purl) {
        return Some(component);
    }
    let name = entry
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())?;
    let full = match entry
        .group
        .as_deref()
        .map(str::trim)
        .filter(|g| !g.is_empty())
    {
        Some(group) => format!("{group}/{name}"),
        None => name.to_owned(),
    };
    // A purl without a version still names the ecosystem.
    let ecosystem = purl
        .and_then(|p| packageurl::PackageUrl::from_str(p).ok())
        .map(|p| p.ty().to_owned())
        .unwrap_or_else(|| "generic".to_owned());
    let version = entry.version.as_deref().map(str::trim).unwrap_or_default();
    Some(Component::from_parts(&ecosystem, &full, version))
}

fn property<'e>(entry: &'e ComponentEntry<'_>, name: &str) -> Option<&'e str> {
    entry
        .properties
        .iter()
        .flatten()
        .find(|p| p.name.as_deref() == Some(name))
        .and_then(|p| p.value.as_deref())
}

/// What the SBOM describes.
struct Subject {
    /// The image, when the subject is one.
    image: Option<usize>,
    /// Asset key used in fingerprints, and the scope of a report about it.
    key: String,
    /// The subject's `bom-ref`, which `affects` may name.
    bom_ref: Option<String>,
    /// The subject as a package, when it is not an image.
    component: Option<Component>,
}

impl Subject {
    fn new(
        b: &mut ReportBuilder,
        entry: Option<&ComponentEntry<'_>>,
        serial: Option<&str>,
        body: &[u8],
    ) -> Subject {
        let serial = serial.map(str::trim).filter(|s| !s.is_empty());
        let unnamed = |b: &mut ReportBuilder| {
            b.artifact(serial.map(str::to_owned));
            let key = match serial {
                Some(serial) => format!("sbom:{serial}"),
                None => {
                    let text = String::from_utf8_lossy(body);
                    let digest = Fingerprint::of("cyclonedx-document", &[text.as_ref()]);
                    let hex: String = digest.0.iter().map(|byte| format!("{byte:02x}")).collect();
                    format!("sbom:sha256:{hex}")
                }
            };
            Subject {
                image: None,
                key,
                bom_ref: None,
                component: None,
            }
        };
        let Some(entry) = entry else {
            return unnamed(b);
        };
        let bom_ref = entry.bom_ref.clone().filter(|r| !r.is_empty());
        if let Some(image) = image_of(entry) {
            b.artifact(entry.name.clone());
            let index = b.image(image);
            return Subject {
                image: Some(index),
                key: format!("image:{}", b.image_at(index).key),
                bom_ref,
                component: None,
            };
        }
        let Some(name) = entry
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        else {
            return Subject {
                bom_ref,
                ..unnamed(b)
            };
        };
        let full = match entry
            .group
            .as_deref()
            .map(str::trim)
            .filter(|g| !g.is_empty())
        {
            Some(group) => format!("{group}/{name}"),
            None => name.to_owned(),
        };
        let key = match entry
            .version
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            Some(version) => format!("sbom:{full}@{version}"),
            None => format!("sbom:{full}"),
        };
        b.artifact(Some(full));
        Subject {
            image: None,
            key,
            bom_ref,
            component: component_of(entry),
        }
    }

    /// The asset key that goes into fingerprints (`image:` prefix dropped for images, so that
    /// fingerprints agree with image scanners).
    fn asset_key(&self, b: &ReportBuilder) -> String {
        match self.image {
            Some(index) => b.image_at(index).key.clone(),
            None => self.key.clone(),
        }
    }
}

/// The image a subject component names, if it is one.
fn image_of(entry: &ComponentEntry<'_>) -> Option<ImageAsset> {
    let kind = entry.kind.as_deref().map(|k| k.trim().to_ascii_lowercase());
    let name = entry.name.as_deref().map(str::trim).unwrap_or_default();
    let version = entry.version.as_deref().map(str::trim).unwrap_or_default();
    let purl = entry
        .purl
        .as_deref()
        .and_then(|p| packageurl::PackageUrl::from_str(p.trim()).ok())
        .filter(|p| p.ty().eq_ignore_ascii_case("oci"));
    let name_digest = name
        .split_once('@')
        .and_then(|(_, d)| normalise_digest(d).ok());
    let version_digest = normalise_digest(version).ok();
    let is_image = match kind.as_deref() {
        Some("container") => true,
        _ if purl.is_some() => true,
        None | Some("application") => name_digest.is_some() || version_digest.is_some(),
        _ => false,
    };
    if !is_image {
        return None;
    }
    let purl_digest = purl
        .as_ref()
        .and_then(|p| p.version())
        .and_then(|v| normalise_digest(v).ok());
    let repo_digest = property(entry, "aquasecurity:trivy:RepoDigest")
        .and_then(|d| d.split_once('@'))
        .and_then(|(_, d)| normalise_digest(d).ok());
    let digest = name_digest
        .or(version_digest)
        .or(purl_digest)
        .or(repo_digest);
    let image_id =
        property(entry, "aquasecurity:trivy:ImageID").and_then(|d| normalise_digest(d).ok());
    let from_purl = purl.as_ref().and_then(|p| {
        let repository = p
            .qualifiers()
            .iter()
            .find(|(k, _)| k.as_ref() == "repository_url")
            .map(|(_, v)| v.to_string())?;
        let tag = p
            .qualifiers()
            .iter()
            .find(|(k, _)| k.as_ref() == "tag")
            .map(|(_, v)| v.to_string());
        let reference = match tag {
            Some(tag) => format!("{repository}:{tag}"),
            None => repository,
        };
        ImageRef::parse(&reference).ok()
    });
    let named = ImageRef::parse(name).ok().or(from_purl).or_else(|| {
        property(entry, "aquasecurity:trivy:RepoTag").and_then(|t| ImageRef::parse(t).ok())
    });
    let mut reference = match (named, &digest, &image_id) {
        (Some(reference), _, _) => reference,
        (None, Some(_), _) | (None, None, Some(_)) => ImageRef {
            registry: String::new(),
            repository: "(unnamed)".to_owned(),
            tag: None,
            digest: None,
        },
        (None, None, None) => return None,
    };
    if reference.digest.is_none() {
        reference.digest = digest;
    }
    Some(ImageAsset::new(reference, image_id))
}

/// What one `affects` entry is about.
enum Target {
    /// A package, with the `bom-ref` it was named by.
    Component(Component, Option<String>),
    /// The subject image itself.
    Image,
    /// Nothing this document describes.
    Unresolved(String),
}

struct Reader<'r> {
    b: &'r mut ReportBuilder,
    subject: &'r Subject,
    by_ref: &'r HashMap<String, Component>,
    scope: usize,
    scanner: String,
}

impl Reader<'_> {
    /// The components a (1.4+ or extension) vulnerability names.
    fn targets(&self, v: &Vulnerability) -> Vec<Target> {
        let refs: Vec<&str> = v
            .affects
            .iter()
            .flatten()
            .filter_map(|a| a.target.as_deref())
            .chain(v.target_ref.as_deref())
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .collect();
        refs.into_iter().map(|r| self.resolve(r)).collect()
    }

    fn resolve(&self, reference: &str) -> Target {
        let lookup = |r: &str| -> Option<Target> {
            if let Some(c) = self.by_ref.get(r) {
                return Some(Target::Component(c.clone(), Some(r.to_owned())));
            }
            if self.subject.bom_ref.as_deref() == Some(r) {
                return Some(match (&self.subject.component, self.subject.image) {
                    (_, Some(_)) => Target::Image,
                    (Some(c), None) => Target::Component(c.clone(), Some(r.to_owned())),
                    (None, None) => Target::Unresolved(r.to_owned()),
                });
            }
            None
        };
        if let Some(target) = lookup(reference) {
            return target;
        }
        // BOM-Link: urn:cdx:<serial>/<version>#<percent-encoded bom-ref>
        if reference.starts_with("urn:cdx:")
            && let Some((_, fragment)) = reference.split_once('#')
        {
            let decoded = percent_decode(fragment);
            if let Some(target) = lookup(&decoded) {
                return target;
            }
            if let Some(c) = Component::from_purl(&decoded) {
                return Target::Component(c, Some(decoded));
            }
        }
        match Component::from_purl(reference) {
            Some(c) => Target::Component(c, Some(reference.to_owned())),
            None => Target::Unresolved(reference.to_owned()),
        }
    }

    fn vulnerability(&mut self, at: &str, v: Vulnerability, targets: Vec<Target>) {
        let Some(raw_id) = v.id.as_deref().map(str::trim).filter(|i| !i.is_empty()) else {
            return self.b.warn(at, "vulnerability skipped: no id");
        };
        if targets.is_empty() {
            return self.b.warn(
                at,
                format!("{raw_id} skipped: it names no affected component (affects is empty)"),
            );
        }
        let (id, aliases) = choose_id(raw_id, v.references.as_deref().unwrap_or_default());
        let source_name = v.source.as_ref().and_then(|s| s.name.clone());
        let ratings = v.ratings.unwrap_or_default();
        let severity = pick_severity(self.b, at, &ratings, source_name.as_deref());
        let cvss_vectors = vectors(&ratings, source_name.as_deref());
        let vex = match v.analysis.as_ref().and_then(|a| a.state.as_deref()) {
            Some(state) => {
                let status = vex_status(state);
                if status.is_none() {
                    self.b.warn(
                        at,
                        format!("analysis state '{state}' is not recognised; no VEX statement"),
                    );
                }
                status
            }
            None => None,
        };
        let analysis = v.analysis.as_ref();
        let issued_at = analysis
            .and_then(|a| a.last_updated.as_deref().or(a.first_issued.as_deref()))
            .or(v.updated.as_deref())
            .or(v.published.as_deref())
            .and_then(parse_timestamp);
        let image_key = self
            .subject
            .image
            .map(|index| self.b.image_at(index).key.clone());
        let asset_key = self.subject.asset_key(self.b);
        let mut info = Some(VulnerabilityInfo {
            id: id.clone(),
            aliases,
            title: None,
            description: v
                .description
                .clone()
                .or_else(|| v.detail.clone())
                .filter(|d| !d.trim().is_empty()),
            severity,
            cvss_vectors,
            cwe: v.cwes.iter().flatten().filter_map(cwe).collect(),
            published_at: v.published.as_deref().and_then(parse_timestamp),
            modified_at: v.updated.as_deref().and_then(parse_timestamp),
            references: v
                .advisories
                .iter()
                .flatten()
                .filter_map(|a| match a {
                    Advisory::Url(url) => Some(url.trim().to_owned()),
                    Advisory::Object { url } => url.as_deref().map(|u| u.trim().to_owned()),
                })
                .filter(|u| !u.is_empty())
                .collect(),
        });
        let recommendation = v
            .recommendation
            .clone()
            .or_else(|| v.recommendations.as_ref().map(|r| r.join("; ")))
            .filter(|r| !r.trim().is_empty());
        for target in targets {
            let statement = |component_key: Option<String>, status: VexStatus| VexStatement {
                vulnerability_id: id.clone(),
                component_key,
                image_key: image_key.clone(),
                status,
                justification: analysis.and_then(|a| a.justification.clone()),
                statement: analysis.and_then(|a| a.detail.clone()),
                issued_at,
            };
            match target {
                Target::Unresolved(reference) => self.b.warn(
                    at,
                    format!("{id}: affects '{reference}', which names no component of this SBOM; skipped"),
                ),
                Target::Image => match vex {
                    Some(status) => self.b.vex(statement(None, status)),
                    None => self.b.warn(
                        at,
                        format!("{id} is about the image itself, not one of its packages; no finding recorded"),
                    ),
                },
                Target::Component(component, bom_ref) => {
                    let key = component.key();
                    if let Some(status) = vex {
                        self.b.vex(statement(Some(key.clone()), status));
                    }
                    if let Some(info) = info.take() {
                        self.b.vulnerability(info);
                    }
                    let title = if component.version.is_empty() {
                        format!("{id} in {}", component.name)
                    } else {
                        format!("{id} in {} {}", component.name, component.version)
                    };
                    let resource = component.purl.clone().unwrap_or_else(|| key.clone());
                    let fingerprint = Fingerprint::vulnerability(&id, &key, &asset_key);
                    let index = self.b.component(component);
                    let mut details = json!({ "scanner": self.scanner });
                    insert_some(&mut details, "bom_ref", bom_ref);
                    insert_some(&mut details, "source", source_name.clone());
                    insert_some(
                        &mut details,
                        "primary_url",
                        v.source.as_ref().and_then(|s| s.url.clone()),
                    );
                    insert_some(&mut details, "recommendation", recommendation.clone());
                    if let Some(a) = analysis {
                        insert_some(&mut details, "analysis_state", a.state.clone());
                        insert_some(&mut details, "justification", a.justification.clone());
                        insert_some(&mut details, "response", a.response.clone());
                    }
                    if raw_id != id {
                        insert_some(&mut details, "reported_id", Some(raw_id.to_owned()));
                    }
                    self.b.finding(FindingRecord {
                        fingerprint,
                        kind: FindingKind::Vulnerability,
                        severity,
                        title,
                        vulnerability_id: Some(id.clone()),
                        component: Some(index),
                        rule_id: None,
                        image: self.subject.image,
                        workload: None,
                        in_cluster: false,
                        resource: Some(resource),
                        fixed_version: None,
                        scope: self.scope,
                        details: details.into(),
                    });
                }
            }
        }
    }
}

/// The id to record (a CVE when the vulnerability or its references name one) and the others.
fn choose_id(id: &str, references: &[Reference]) -> (String, Vec<String>) {
    let mut ids: Vec<String> = vec![id.to_owned()];
    for r in references {
        if let Some(other) = r.id.as_deref().map(str::trim).filter(|i| !i.is_empty())
            && !ids.iter().any(|known| known == other)
        {
            ids.push(other.to_owned());
        }
    }
    let chosen = ids
        .iter()
        .find(|i| is_cve(i))
        .cloned()
        .unwrap_or_else(|| id.to_owned());
    let aliases = ids.into_iter().filter(|i| *i != chosen).collect();
    (chosen, aliases)
}

fn is_cve(id: &str) -> bool {
    id.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("CVE-"))
}

/// The rating of the vulnerability's own source when it has a severity, else the highest.
fn pick_severity(
    b: &mut ReportBuilder,
    at: &str,
    ratings: &[Rating],
    source: Option<&str>,
) -> Severity {
    let rated: Vec<(Option<&str>, Severity)> = ratings
        .iter()
        .filter_map(|r| {
            let word = r.severity.as_deref()?;
            let name = r.source.as_ref().and_then(|s| s.name.as_deref());
            Some((name, b.severity(at, Some(word))))
        })
        .collect();
    let own = source.and_then(|source| {
        rated
            .iter()
            .find(|(name, severity)| {
                *severity != Severity::Unknown
                    && name.is_some_and(|n| n.trim().eq_ignore_ascii_case(source.trim()))
            })
            .map(|(_, severity)| *severity)
    });
    own.or_else(|| rated.iter().map(|(_, s)| *s).max())
        .unwrap_or(Severity::Unknown)
}

/// CVSS vectors of the ratings, with their source, prefixed as their method says.
fn vectors(ratings: &[Rating], source: Option<&str>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for r in ratings {
        let Some(vector) = r.vector.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
            continue;
        };
        let method = r
            .method
            .as_deref()
            .map(|m| m.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let prefix = match method.as_str() {
            "cvssv2" => None,
            "cvssv3" => Some("CVSS:3.0/"),
            "cvssv31" => Some("CVSS:3.1/"),
            "cvssv4" | "cvssv40" => Some("CVSS:4.0/"),
            "" => None,
            _ => continue, // OWASP risk, SSVC and other non-CVSS methods
        };
        let vector = match prefix {
            Some(prefix) if !vector.starts_with("CVSS:") => format!("{prefix}{vector}"),
            _ => vector.to_owned(),
        };
        let name = r
            .source
            .as_ref()
            .and_then(|s| s.name.as_deref())
            .or(source)
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or("cyclonedx")
            .to_owned();
        let pair = (name, vector);
        if !out.contains(&pair) {
            out.push(pair);
        }
    }
    out
}

fn cwe(value: &Value) -> Option<String> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        _ => return None,
    };
    if text.is_empty() {
        None
    } else if text.to_ascii_uppercase().starts_with("CWE-") {
        Some(text)
    } else {
        Some(format!("CWE-{text}"))
    }
}

fn vex_status(state: &str) -> Option<VexStatus> {
    match state.trim().to_ascii_lowercase().as_str() {
        "not_affected" | "false_positive" => Some(VexStatus::NotAffected),
        "resolved" | "resolved_with_pedigree" => Some(VexStatus::Fixed),
        "exploitable" => Some(VexStatus::Affected),
        "in_triage" => Some(VexStatus::UnderInvestigation),
        _ => None,
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (byte, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// CycloneDX XML read into the JSON form of the same BOM.
mod xml {
    use quick_xml::events::Event;
    use quick_xml::events::attributes::Attribute;
    use quick_xml::reader::Reader;
    use serde_json::{Map, Value};

    use crate::ingest::model::ParseError;

    /// Deeper than any CycloneDX document nests.
    const MAX_DEPTH: usize = 64;

    /// Wrapper elements whose children form a JSON list, and the children's element name.
    const LISTS: &[(&str, &str)] = &[
        ("components", "component"),
        ("vulnerabilities", "vulnerability"),
        ("ratings", "rating"),
        ("cwes", "cwe"),
        ("advisories", "advisory"),
        ("affects", "target"),
        ("references", "reference"),
        ("externalReferences", "reference"),
        ("tools", "tool"),
        ("properties", "property"),
        ("hashes", "hash"),
        ("licenses", "license"),
        ("versions", "version"),
        ("responses", "response"),
        ("recommendations", "recommendation"),
        ("services", "service"),
        ("dependencies", "dependency"),
        ("authors", "author"),
        ("individuals", "individual"),
        ("organizations", "organization"),
    ];

    struct Frame {
        name: String,
        attributes: Vec<(String, String)>,
        children: Vec<(String, Value)>,
        text: String,
        namespace: Option<String>,
    }

    fn invalid(detail: impl std::fmt::Display) -> ParseError {
        ParseError::new(
            "invalid-xml",
            format!("the body is not well-formed XML: {detail}"),
        )
    }

    fn frame(start: &quick_xml::events::BytesStart<'_>) -> Result<Frame, ParseError> {
        let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
        let mut attributes = Vec::new();
        let mut namespace = None;
        for attribute in start.attributes() {
            let attribute: Attribute<'_> = attribute.map_err(invalid)?;
            let value = attribute.unescape_value().map_err(invalid)?.into_owned();
            if attribute.key.as_ref() == b"xmlns" {
                namespace = Some(value);
                continue;
            }
            if attribute.key.as_namespace_binding().is_some() {
                continue;
            }
            let key = String::from_utf8_lossy(attribute.key.local_name().as_ref()).into_owned();
            attributes.push((key, value));
        }
        Ok(Frame {
            name,
            attributes,
            children: Vec::new(),
            text: String::new(),
            namespace,
        })
    }

    fn convert(frame: Frame) -> Value {
        let item = LISTS
            .iter()
            .find(|(list, _)| *list == frame.name)
            .map(|(_, item)| *item);
        if let Some(item) = item
            && frame.attributes.is_empty()
            && frame.children.iter().all(|(name, _)| name == item)
            && (!frame.children.is_empty() || frame.text.trim().is_empty())
        {
            return Value::Array(frame.children.into_iter().map(|(_, v)| v).collect());
        }
        if frame.children.is_empty() && frame.attributes.is_empty() {
            return Value::String(frame.text.trim().to_owned());
        }
        let mut map = Map::new();
        let text = frame.text.trim();
        if frame.children.is_empty() && !text.is_empty() {
            map.insert("value".to_owned(), Value::String(text.to_owned()));
        }
        for (key, value) in frame.attributes {
            map.insert(key, Value::String(value));
        }
        for (key, value) in frame.children {
            match map.get_mut(&key) {
                Some(Value::Array(items)) => items.push(value),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, value]);
                }
                None => {
                    map.insert(key, value);
                }
            }
        }
        Value::Object(map)
    }

    /// Reads the XML document into JSON: the root `<bom>` becomes the top-level object, with
    /// `bomFormat` and `specVersion` (from the namespace) filled in.
    pub(super) fn to_json(body: &[u8]) -> Result<Value, ParseError> {
        let mut reader = Reader::from_reader(body);
        reader.config_mut().expand_empty_elements = true;
        let mut stack: Vec<Frame> = Vec::new();
        let mut root: Option<(Frame, Value)> = None;
        loop {
            let event = reader
                .read_event()
                .map_err(|e| invalid(format_args!("{e} (at byte {})", reader.error_position())))?;
            match event {
                Event::Start(start) => {
                    if root.is_some() {
                        return Err(invalid("more than one root element"));
                    }
                    if stack.len() >= MAX_DEPTH {
                        return Err(invalid(format_args!(
                            "elements nest deeper than {MAX_DEPTH}"
                        )));
                    }
                    stack.push(frame(&start)?);
                }
                Event::End(_) => {
                    let Some(done) = stack.pop() else {
                        return Err(invalid("an end tag without a start tag"));
                    };
                    let name = done.name.clone();
                    match stack.last_mut() {
                        Some(parent) => parent.children.push((name, convert(done))),
                        None => {
                            let header = Frame {
                                name: done.name.clone(),
                                attributes: Vec::new(),
                                children: Vec::new(),
                                text: String::new(),
                                namespace: done.namespace.clone(),
                            };
                            root = Some((header, convert(done)));
                        }
                    }
                }
                Event::Text(text) => {
                    if let Some(top) = stack.last_mut() {
                        top.text.push_str(&text.xml10_content().map_err(invalid)?);
                    }
                }
                Event::CData(data) => {
                    if let Some(top) = stack.last_mut() {
                        top.text.push_str(&data.decode().map_err(invalid)?);
                    }
                }
                Event::GeneralRef(reference) => {
                    if let Some(top) = stack.last_mut() {
                        match reference.resolve_char_ref().map_err(invalid)? {
                            Some(c) => top.text.push(c),
                            None => {
                                let name = reference.decode().map_err(invalid)?;
                                match quick_xml::escape::resolve_predefined_entity(&name) {
                                    Some(resolved) => top.text.push_str(resolved),
                                    None => {
                                        top.text.push('&');
                                        top.text.push_str(&name);
                                        top.text.push(';');
                                    }
                                }
                            }
                        }
                    }
                }
                Event::Eof => break,
                Event::Empty(_)
                | Event::Comment(_)
                | Event::Decl(_)
                | Event::PI(_)
                | Event::DocType(_) => {}
            }
        }
        if !stack.is_empty() {
            return Err(invalid("the document ends inside an element"));
        }
        let Some((header, value)) = root else {
            return Err(invalid("there is no root element"));
        };
        if header.name != "bom" {
            return Err(ParseError::new(
                "wrong-format",
                format!(
                    "this is not a CycloneDX XML BOM: the root element is <{}>, expected <bom>",
                    header.name
                ),
            ));
        }
        let mut map = match value {
            Value::Object(map) => map,
            // `<bom/>` or a BOM with text only
            _ => Map::new(),
        };
        map.insert(
            "bomFormat".to_owned(),
            Value::String("CycloneDX".to_owned()),
        );
        let version = header
            .namespace
            .as_deref()
            .and_then(|ns| ns.trim_end_matches('/').rsplit_once("/bom/"))
            .map(|(_, version)| version.to_owned());
        match version {
            Some(version) => {
                map.insert("specVersion".to_owned(), Value::String(version));
            }
            None => {
                map.insert("specVersion".to_owned(), Value::String("1".to_owned()));
            }
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests;
