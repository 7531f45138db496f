//! Trivy JSON (`--format json`): SchemaVersion 2 reports of image, filesystem, rootfs and
//! repository scans; both `trivy k8s` layouts (`Resources`, and the older `Vulnerabilities` /
//! `Misconfigurations` resource lists); and the pre-SchemaVersion list of results (including
//! the bare `null` old versions printed for a clean scan).
//!
//! Pure: bytes in, [`ParsedReport`] out. Lenient the way the schema needs: every field may be
//! missing or null. Each record is decoded on its own, so one malformed record becomes a
//! warning naming its JSON pointer instead of sinking the report. Licenses are not findings.
//!
//! Schema reference: Trivy's `pkg/types/report.go` and `pkg/k8s/report` (JSON field names are
//! the Go field names).

use crate::ingest::model::insert_some;
use std::collections::{HashMap, HashSet};

use app::model::Severity;
use serde::{Deserialize, Serialize};
use serde_json::json;
use serde_json::value::RawValue;

use crate::domain::component::Component;
use crate::domain::fingerprint::Fingerprint;
use crate::domain::image_ref::{ImageRef, normalise_digest};
use crate::ingest::model::{
    Details, FindingKind, FindingRecord, ImageAsset, ParseError, ParsedReport, ReportBuilder,
    ReportKind, VulnerabilityInfo, WorkloadAsset, parse_timestamp, read_severity,
};

/// A report; its results are read in the same pass (`R` = [`ResultEntry`]) or kept raw to be
/// read one by one (`R` = `&RawValue`), which turns a malformed result into a warning.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Report<'a, R> {
    schema_version: Option<i64>,
    artifact_name: Option<String>,
    artifact_type: Option<String>,
    created_at: Option<String>,
    metadata: Option<Metadata>,
    trivy: Option<TrivyInfo>,
    results: Option<Vec<R>>,
    // `trivy k8s`
    cluster_name: Option<String>,
    #[serde(borrow)]
    resources: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    vulnerabilities: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    misconfigurations: Option<Vec<&'a RawValue>>,
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

/// Trivy writes a resource's `Metadata` as one object in some versions, a list in others.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::Many(items) => items,
            OneOrMany::One(item) => vec![item],
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Resource<'a> {
    namespace: Option<String>,
    kind: Option<String>,
    name: Option<String>,
    metadata: Option<OneOrMany<Metadata>>,
    #[serde(borrow)]
    results: Option<Vec<&'a RawValue>>,
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
    #[serde(rename = "PrimaryURL")]
    primary_url: Option<String>,
    title: Option<String>,
    layer: Option<Layer>,
}

/// The catalogue part of a vulnerability record: read once per vulnerability id (a report
/// repeats it for every package it affects), skipped for the repeats.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct VulnerabilityCatalogue {
    description: Option<String>,
    #[serde(rename = "CweIDs")]
    cwe_ids: Option<Vec<String>>,
    #[serde(rename = "CVSS")]
    cvss: Option<HashMap<String, Cvss>>,
    references: Option<Vec<String>>,
    published_date: Option<String>,
    last_modified_date: Option<String>,
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

#[derive(Deserialize)]
struct Cvss {
    #[serde(rename = "V2Vector")]
    v2_vector: Option<String>,
    #[serde(rename = "V3Vector")]
    v3_vector: Option<String>,
    #[serde(rename = "V40Vector")]
    v40_vector: Option<String>,
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
    let mut b = ReportBuilder::new("trivy", ReportKind::Findings);
    match bytes.iter().find(|c| !c.is_ascii_whitespace()) {
        // Trivy before 0.20 printed `null` for a scan that found nothing.
        Some(b'n') => {
            serde_json::from_slice::<()>(bytes).map_err(|e| ParseError::from_json("Trivy", &e))?;
            return Ok(b.finish());
        }
        // ... and a bare list of results otherwise.
        Some(b'[') => {
            let results: Vec<&RawValue> =
                serde_json::from_slice(bytes).map_err(|e| ParseError::from_json("Trivy", &e))?;
            read_legacy_list(&mut b, results)?;
            return Ok(b.finish());
        }
        _ => {}
    }
    // One pass when every result is well-formed (the usual case); otherwise the results are
    // read one by one, and a malformed one becomes a warning.
    match serde_json::from_slice::<Report<'_, ResultEntry<'_>>>(bytes) {
        Ok(report) => read_report(b, report, |reader, pointer, entry, asset| {
            reader.entry(pointer, entry, asset);
        }),
        Err(_) => {
            let report: Report<'_, &RawValue> = serde_json::from_slice(bytes)
                .map_err(|e| ParseError::from_json("Trivy JSON", &e))?;
            read_report(b, report, |reader, pointer, raw, asset| {
                reader.result(pointer, raw, asset);
            })
        }
    }
}

/// Reads a SchemaVersion 2 report (or a `trivy k8s` one), its results through `read`.
fn read_report<R>(
    mut b: ReportBuilder,
    mut report: Report<'_, R>,
    read: impl Fn(&mut Reader<'_>, &str, R, &Asset),
) -> Result<ParsedReport, ParseError> {
    b.scanner_version(report.trivy.take().and_then(|t| t.version));
    b.generated_at(report.created_at.as_deref().and_then(parse_timestamp));

    if report.resources.is_some() || report.cluster_name.is_some() {
        read_k8s(&mut b, report);
        return Ok(b.finish());
    }
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
                "this is not a Trivy JSON report: it has no SchemaVersion, ClusterName or \
                 Resources. Produce it with `trivy image --format json` (or fs, rootfs, repo, k8s)",
            ));
        }
    }
    let artifact_type = report.artifact_type.unwrap_or_default();
    let artifact_name = report.artifact_name.unwrap_or_default();
    b.artifact(Some(artifact_name.clone()));
    let metadata = report.metadata.unwrap_or_default();
    let asset = if artifact_type == "container_image" {
        match image_from(&artifact_name, &metadata) {
            Some(image) => {
                let image = b.image(image);
                Asset::image(&b, image)
            }
            None => {
                b.warn(
                    "/ArtifactName",
                    format!(
                        "'{artifact_name}' is not an image reference; findings are kept \
                         against the artifact name instead of an image"
                    ),
                );
                Asset::artifact("image", &artifact_name)
            }
        }
    } else {
        Asset::artifact(scope_kind(&artifact_type), &artifact_name)
    };
    let scope = b.scope(asset.scope.clone());
    let mut reader = Reader::new(&mut b, scope, None);
    for (i, result) in report.results.unwrap_or_default().into_iter().enumerate() {
        read(&mut reader, &format!("/Results/{i}"), result, &asset);
    }
    Ok(b.finish())
}

/// What the findings of a result hang on.
#[derive(Clone)]
struct Asset {
    /// The image, for image scans.
    image: Option<usize>,
    /// The key that goes into fingerprints.
    key: String,
    /// The lifecycle scope of a report about this asset alone.
    scope: String,
    /// Whether each result's target is a separate asset (filesystem and repository scans).
    per_target: bool,
}

impl Asset {
    fn image(b: &ReportBuilder, image: usize) -> Asset {
        let key = b.image_at(image).key.clone();
        Asset {
            image: Some(image),
            scope: format!("image:{key}"),
            key,
            per_target: false,
        }
    }

    fn artifact(kind: &str, name: &str) -> Asset {
        let key = format!("{kind}:{name}");
        Asset {
            image: None,
            scope: key.clone(),
            key,
            per_target: true,
        }
    }
}

/// The image a report or a result names: `name`, completed with the digests and OS of
/// `metadata`.
fn image_from(name: &str, metadata: &Metadata) -> Option<ImageAsset> {
    let image_id = metadata
        .image_id
        .as_deref()
        .and_then(|d| normalise_digest(d).ok());
    let named = ImageRef::parse(name).ok().or_else(|| {
        metadata
            .repo_tags
            .iter()
            .flatten()
            .chain(metadata.repo_digests.iter().flatten())
            .find_map(|t| ImageRef::parse(t).ok())
    });
    // A report with the name redacted still identifies the image by its config digest.
    let mut reference = match (named, &image_id) {
        (Some(reference), _) => reference,
        (None, Some(_)) => ImageRef {
            registry: String::new(),
            repository: "(unnamed)".to_owned(),
            tag: None,
            digest: None,
        },
        (None, None) => return None,
    };
    if reference.digest.is_none() {
        reference.digest = metadata
            .repo_digests
            .iter()
            .flatten()
            .filter_map(|d| d.split_once('@'))
            .find_map(|(_, digest)| normalise_digest(digest).ok());
    }
    let mut image = ImageAsset::new(reference, image_id);
    if let Some(os) = &metadata.os {
        image.os_family = os.family.clone();
        image.os_name = os.name.clone();
    }
    Some(image)
}

/// An OS-package target names its image: `"alpine:3.19 (alpine 3.19.1)"`.
fn image_from_target(target: &str, metadata: &[Metadata]) -> Option<ImageAsset> {
    let (name, os) = match target.rsplit_once(" (") {
        Some((name, os)) => (name.trim(), os.trim_end_matches(')')),
        None => (target.trim(), ""),
    };
    let reference = ImageRef::parse(name).ok()?;
    let matching = metadata.iter().find(|m| {
        m.repo_tags
            .iter()
            .flatten()
            .chain(m.repo_digests.iter().flatten())
            .any(|t| ImageRef::parse(t).is_ok_and(|r| r.repository == reference.repository))
    });
    let mut image = match matching {
        Some(m) => image_from(name, m)?,
        None => ImageAsset::new(reference, None),
    };
    if image.os_family.is_none()
        && let Some((family, version)) = os.split_once(' ')
    {
        image.os_family = Some(family.to_owned());
        image.os_name = Some(version.to_owned());
    }
    Some(image)
}

fn read_k8s<R>(b: &mut ReportBuilder, report: Report<'_, R>) {
    let cluster = report.cluster_name.unwrap_or_default();
    b.cluster_name(Some(cluster.clone()));
    b.artifact(Some(if cluster.is_empty() {
        "kubernetes cluster".to_owned()
    } else {
        cluster.clone()
    }));
    // One scan covers the whole cluster: whatever it no longer reports is fixed.
    let scope = b.scope(format!("k8s:{cluster}"));
    let lists = [
        ("Resources", report.resources),
        ("Vulnerabilities", report.vulnerabilities),
        ("Misconfigurations", report.misconfigurations),
    ];
    for (list, resources) in lists {
        for (i, raw) in resources.unwrap_or_default().into_iter().enumerate() {
            let pointer = format!("/{list}/{i}");
            match serde_json::from_str::<Resource<'_>>(raw.get()) {
                Ok(resource) => read_resource(b, scope, &pointer, resource),
                Err(e) => b.warn(pointer, format!("resource skipped: {e}")),
            }
        }
    }
}

fn read_resource(b: &mut ReportBuilder, scope: usize, pointer: &str, resource: Resource<'_>) {
    let (Some(kind), Some(name)) = (resource.kind, resource.name) else {
        return b.warn(pointer, "resource skipped: no Kind or Name");
    };
    let workload = b.workload(WorkloadAsset {
        namespace: resource.namespace.unwrap_or_default(),
        kind,
        name,
    });
    let metadata = resource
        .metadata
        .map(OneOrMany::into_vec)
        .unwrap_or_default();
    let mut reader = Reader::new(b, scope, Some(workload));
    // Results of one resource list each image's OS packages before its language packages, so
    // the latest OS target names the image that later targets belong to.
    let mut image: Option<Asset> = None;
    for (j, raw) in resource.results.unwrap_or_default().into_iter().enumerate() {
        let at = format!("{pointer}/Results/{j}");
        let probe = serde_json::from_str::<ResultEntry<'_>>(raw.get());
        let Ok(entry) = probe else {
            reader
                .b
                .warn(&at, "result skipped: not a Trivy result object");
            continue;
        };
        let class = entry.class.as_deref().unwrap_or_default();
        let target = entry.target.clone().unwrap_or_default();
        let asset = match class {
            "config" => Asset {
                image: None,
                key: "cluster".to_owned(),
                scope: String::new(),
                per_target: false,
            },
            "os-pkgs" => match image_from_target(&target, &metadata) {
                Some(found) => {
                    let index = reader.b.image(found);
                    reader.b.link(workload, index, None);
                    let asset = Asset::image(reader.b, index);
                    image = Some(asset.clone());
                    asset
                }
                None => Asset::artifact("k8s-target", &target),
            },
            _ => image
                .clone()
                .unwrap_or_else(|| Asset::artifact("k8s-target", &target)),
        };
        reader.entry(&at, entry, &asset);
    }
}

fn read_legacy_list(b: &mut ReportBuilder, results: Vec<&RawValue>) -> Result<(), ParseError> {
    // A list of anything but objects is not a Trivy report at all.
    if let Some(i) = results
        .iter()
        .position(|raw| !raw.get().trim_start().starts_with('{'))
    {
        return Err(ParseError::at(
            "wrong-format",
            format!("/{i}"),
            "this is not a Trivy JSON report: a list must hold result objects \
             (Target, Type, Vulnerabilities)",
        ));
    }
    // No artifact name in this layout: the first OS target names the image, if there is one.
    let entries: Vec<(String, Option<ResultEntry<'_>>)> = results
        .into_iter()
        .enumerate()
        .map(|(i, raw)| (format!("/{i}"), serde_json::from_str(raw.get()).ok()))
        .collect();
    let image = entries.iter().find_map(|(_, e)| {
        let target = e.as_ref()?.target.as_deref()?;
        target
            .contains(" (")
            .then(|| image_from_target(target, &[]))?
    });
    let asset = match image {
        Some(image) => {
            let index = b.image(image);
            Asset::image(b, index)
        }
        None => {
            let first = entries
                .iter()
                .find_map(|(_, e)| e.as_ref()?.target.clone())
                .unwrap_or_default();
            Asset::artifact("artifact", &first)
        }
    };
    b.artifact(Some(asset.key.clone()));
    let scope = b.scope(asset.scope.clone());
    let mut reader = Reader::new(b, scope, None);
    for (pointer, entry) in entries {
        match entry {
            Some(entry) => reader.entry(&pointer, entry, &asset),
            None => reader
                .b
                .warn(pointer, "result skipped: not a Trivy result object"),
        }
    }
    Ok(())
}

/// Vulnerability records a decoder takes at a time; an entry with fewer than two windows of
/// them is decoded inline.
const DECODE_WINDOW: usize = 8_192;

/// Components a decoder remembers by purl before it starts afresh (bounds its memory).
const PURL_CACHE: usize = 65_536;

/// What a decoder keeps from one record to the next. Each decoder reads its records in report
/// order, so the first record of an id in the report is always the first its decoder sees.
#[derive(Default)]
struct Decoder {
    /// Ids whose catalogue part this decoder has read.
    seen: HashSet<String>,
    /// Components (with their keys) by purl: a report repeats a package for each of its
    /// vulnerabilities, and reading a purl is the dearest part of a record.
    purls: HashMap<String, (Component, String)>,
}

impl Decoder {
    fn component(
        &mut self,
        purl: Option<&str>,
        fallback: impl FnOnce() -> Component,
    ) -> (Component, String) {
        if let Some(purl) = purl {
            if let Some((component, key)) = self.purls.get(purl) {
                return (component.clone(), key.clone());
            }
            if let Some(component) = Component::from_purl(purl) {
                let key = component.key();
                if self.purls.len() >= PURL_CACHE {
                    self.purls.clear();
                }
                self.purls
                    .insert(purl.to_owned(), (component.clone(), key.clone()));
                return (component, key);
            }
        }
        // No purl, or one that does not read: the record's own fields, not remembered (another
        // record with the same unreadable purl may name its package differently).
        let component = fallback();
        let key = component.key();
        (component, key)
    }
}

/// A vulnerability record decoded on its own, ready to be added to the report.
struct PreparedVulnerability {
    id: String,
    title: Option<String>,
    severity: Severity,
    /// Why the severity word was not read.
    severity_warning: Option<String>,
    component: Component,
    component_key: String,
    fingerprint: Fingerprint,
    fixed_version: Option<String>,
    /// The catalogue part, read for the first record of an id its decoder saw.
    catalogue: Option<Result<VulnerabilityCatalogue, String>>,
    details: Details,
}

/// A vulnerability finding's evidence (keys in the order a JSON object of them prints).
#[derive(Serialize)]
struct VulnerabilityDetails<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    layer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pkg_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_url: Option<String>,
    scanner: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    target: &'a str,
}

/// Where a result's vulnerability records are, and what they hang on.
struct RecordContext<'a> {
    target: &'a str,
    ecosystem: &'a str,
    asset_key: &'a str,
}

/// Decodes one vulnerability record (pure but for the decoder's memory, so records are decoded
/// in parallel). An unusable record is a warning message.
fn prepare_vulnerability(
    raw: &RawValue,
    cx: &RecordContext<'_>,
    decoder: &mut Decoder,
) -> Result<PreparedVulnerability, String> {
    let mut v = serde_json::from_str::<Vulnerability>(raw.get())
        .map_err(|e| format!("vulnerability skipped: {e}"))?;
    let id = v.vulnerability_id.trim().to_owned();
    if id.is_empty() {
        return Err("vulnerability skipped: empty VulnerabilityID".to_owned());
    }
    let Some(pkg_name) = v.pkg_name.as_deref().filter(|n| !n.trim().is_empty()) else {
        return Err(format!("{id} skipped: no PkgName"));
    };
    let version = v.installed_version.as_deref().unwrap_or_default();
    let purl = v.pkg_identifier.as_ref().and_then(|p| p.purl.as_deref());
    let (component, component_key) = decoder.component(purl, || {
        Component::from_parts(cx.ecosystem, pkg_name, version)
    });
    let fingerprint = Fingerprint::vulnerability(&id, &component_key, cx.asset_key);
    let catalogue = (!decoder.seen.contains(&id)).then(|| {
        decoder.seen.insert(id.clone());
        serde_json::from_str::<VulnerabilityCatalogue>(raw.get()).map_err(|e| e.to_string())
    });
    let (severity, severity_warning) = read_severity(v.severity.as_deref());
    let details = Details::of(&VulnerabilityDetails {
        layer: v.layer.take().and_then(|l| l.digest.or(l.diff_id)),
        pkg_path: v.pkg_path.take(),
        primary_url: v.primary_url.take(),
        scanner: "trivy",
        status: v.status.take(),
        target: cx.target,
    });
    Ok(PreparedVulnerability {
        id,
        title: v.title,
        severity,
        severity_warning,
        component,
        component_key,
        fingerprint,
        fixed_version: v.fixed_version.filter(|f| !f.trim().is_empty()),
        catalogue,
        details,
    })
}

/// Reads the records of results into the builder.
struct Reader<'b> {
    b: &'b mut ReportBuilder,
    scope: usize,
    /// The Kubernetes resource the results belong to (`trivy k8s`).
    workload: Option<usize>,
    /// One per core, kept from result to result.
    decoders: Vec<Decoder>,
}

impl<'b> Reader<'b> {
    fn new(b: &'b mut ReportBuilder, scope: usize, workload: Option<usize>) -> Self {
        let lanes = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Reader {
            b,
            scope,
            workload,
            decoders: (0..lanes).map(|_| Decoder::default()).collect(),
        }
    }

    fn result(&mut self, pointer: &str, raw: &RawValue, asset: &Asset) {
        match serde_json::from_str::<ResultEntry<'_>>(raw.get()) {
            Ok(entry) => self.entry(pointer, entry, asset),
            Err(e) => self.b.warn(pointer, format!("result skipped: {e}")),
        }
    }

    fn entry(&mut self, pointer: &str, entry: ResultEntry<'_>, asset: &Asset) {
        let target = entry.target.unwrap_or_default();
        let ecosystem = entry.kind.or(entry.class).unwrap_or_default();
        let asset_key = if asset.per_target {
            format!("{}#{target}", asset.key)
        } else {
            asset.key.clone()
        };
        let cx = RecordContext {
            target: &target,
            ecosystem: &ecosystem,
            asset_key: &asset_key,
        };
        let raws = entry.vulnerabilities.unwrap_or_default();
        self.vulnerabilities(pointer, &raws, &cx, asset);
        for (j, raw) in entry
            .misconfigurations
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let at = format!("{pointer}/Misconfigurations/{j}");
            self.b.record();
            match serde_json::from_str::<Misconfiguration>(raw.get()) {
                Ok(m) => self.misconfiguration(&at, m, &target, &asset_key, asset),
                Err(e) => self.b.warn(at, format!("misconfiguration skipped: {e}")),
            }
        }
        for (j, raw) in entry.secrets.unwrap_or_default().into_iter().enumerate() {
            let at = format!("{pointer}/Secrets/{j}");
            self.b.record();
            match serde_json::from_str::<Secret>(raw.get()) {
                Ok(s) => self.secret(&at, s, &target, &asset_key, asset),
                Err(e) => self.b.warn(at, format!("secret skipped: {e}")),
            }
        }
    }

    /// Decodes vulnerability records and adds them in report order. A large list is decoded by
    /// one thread per core, window by window in turn, while this thread adds the windows already
    /// decoded (at most one waiting per decoder, so decoded records never pile up).
    fn vulnerabilities(
        &mut self,
        pointer: &str,
        raws: &[&RawValue],
        cx: &RecordContext<'_>,
        asset: &Asset,
    ) {
        let windows: Vec<&[&RawValue]> = raws.chunks(DECODE_WINDOW).collect();
        let lanes = self.decoders.len().min(windows.len());
        if lanes < 2 {
            for (i, raw) in raws.iter().enumerate() {
                let prepared = prepare_vulnerability(raw, cx, &mut self.decoders[0]);
                self.add_vulnerability(pointer, i, prepared, cx.target, asset);
            }
            return;
        }
        let mut decoders = std::mem::take(&mut self.decoders);
        std::thread::scope(|scope| {
            let receivers: Vec<_> = decoders
                .iter_mut()
                .take(lanes)
                .enumerate()
                .map(|(lane, decoder)| {
                    let (sender, receiver) = std::sync::mpsc::sync_channel(1);
                    let windows = &windows;
                    scope.spawn(move || {
                        for window in windows.iter().skip(lane).step_by(lanes) {
                            let prepared: Vec<_> = window
                                .iter()
                                .map(|raw| prepare_vulnerability(raw, cx, decoder))
                                .collect();
                            if sender.send(prepared).is_err() {
                                return;
                            }
                        }
                    });
                    receiver
                })
                .collect();
            for w in 0..windows.len() {
                // A decoder that stopped early panicked; the scope passes the panic on.
                let Ok(prepared) = receivers[w % lanes].recv() else {
                    break;
                };
                for (i, prepared) in prepared.into_iter().enumerate() {
                    let index = w * DECODE_WINDOW + i;
                    self.add_vulnerability(pointer, index, prepared, cx.target, asset);
                }
            }
        });
        self.decoders = decoders;
    }

    fn add_vulnerability(
        &mut self,
        pointer: &str,
        index: usize,
        prepared: Result<PreparedVulnerability, String>,
        target: &str,
        asset: &Asset,
    ) {
        self.b.record();
        match prepared {
            Ok(p) => self.vulnerability(pointer, index, p, target, asset),
            Err(message) => self
                .b
                .warn(format!("{pointer}/Vulnerabilities/{index}"), message),
        }
    }

    fn vulnerability(
        &mut self,
        pointer: &str,
        index: usize,
        p: PreparedVulnerability,
        target: &str,
        asset: &Asset,
    ) {
        let at = || format!("{pointer}/Vulnerabilities/{index}");
        let PreparedVulnerability {
            id,
            title,
            severity,
            severity_warning,
            component,
            component_key,
            fingerprint,
            fixed_version,
            catalogue,
            details,
        } = p;
        if let Some(message) = severity_warning {
            self.b.warn(at(), message);
        }
        let component = self.b.component_keyed(component_key, component);
        if !self.b.knows_vulnerability(&id) {
            let catalogue = match catalogue {
                Some(Ok(catalogue)) => catalogue,
                Some(Err(e)) => {
                    self.b
                        .warn(at(), format!("{id}: catalogue details skipped: {e}"));
                    VulnerabilityCatalogue::default()
                }
                None => VulnerabilityCatalogue::default(),
            };
            let cvss_vectors = catalogue
                .cvss
                .iter()
                .flatten()
                .flat_map(|(source, c)| {
                    [&c.v40_vector, &c.v3_vector, &c.v2_vector]
                        .into_iter()
                        .flatten()
                        .filter(|vector| !vector.trim().is_empty())
                        .map(move |vector| (source.clone(), vector.clone()))
                })
                .collect();
            self.b.vulnerability(VulnerabilityInfo {
                id: id.clone(),
                aliases: Vec::new(),
                title: title.clone(),
                description: catalogue.description,
                severity,
                cvss_vectors,
                cwe: catalogue.cwe_ids.unwrap_or_default(),
                published_at: catalogue
                    .published_date
                    .as_deref()
                    .and_then(parse_timestamp),
                modified_at: catalogue
                    .last_modified_date
                    .as_deref()
                    .and_then(parse_timestamp),
                references: catalogue.references.unwrap_or_default(),
            });
        }

        self.b.finding(FindingRecord {
            fingerprint,
            kind: FindingKind::Vulnerability,
            severity,
            title: title.unwrap_or_else(|| id.clone()),
            vulnerability_id: Some(id),
            component: Some(component),
            rule_id: None,
            image: asset.image,
            workload: if asset.image.is_some() {
                None
            } else {
                self.workload
            },
            in_cluster: asset.image.is_none() && self.workload.is_some(),
            resource: (!target.is_empty()).then(|| target.to_owned()),
            fixed_version,
            scope: self.scope,
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
            return self.b.warn(at, "misconfiguration skipped: no ID or AVDID");
        };
        let severity = self.b.severity(at, m.severity.as_deref());
        let cause = m.cause_metadata;
        let cause_resource = cause.as_ref().and_then(|c| c.resource.clone());
        // A check on a Kubernetes resource is about the resource; elsewhere about a file.
        let (resource, in_cluster) = match (self.workload, asset.image) {
            (Some(w), None) => (self.b.workload_at(w).key(), true),
            _ => match &cause_resource {
                Some(r) if !r.is_empty() => (format!("{target}#{r}"), false),
                _ => (target.to_owned(), false),
            },
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
        self.b.finding(FindingRecord {
            fingerprint,
            kind: FindingKind::Misconfiguration,
            severity,
            title,
            vulnerability_id: None,
            component: None,
            rule_id: Some(rule_id),
            image: asset.image,
            workload: if in_cluster { self.workload } else { None },
            in_cluster,
            resource: Some(resource),
            fixed_version: None,
            scope: self.scope,
            details: details.into(),
        });
    }

    fn secret(&mut self, at: &str, s: Secret, target: &str, asset_key: &str, asset: &Asset) {
        if s.rule_id.trim().is_empty() {
            return self.b.warn(at, "secret skipped: empty RuleID");
        }
        let severity = self.b.severity(at, s.severity.as_deref());
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
        let in_cluster = asset.image.is_none() && self.workload.is_some();
        self.b.finding(FindingRecord {
            fingerprint,
            kind: FindingKind::Secret,
            severity,
            title,
            vulnerability_id: None,
            component: None,
            rule_id: Some(s.rule_id),
            image: asset.image,
            workload: if in_cluster { self.workload } else { None },
            in_cluster,
            resource: Some(target.to_owned()),
            fixed_version: None,
            scope: self.scope,
            details: details.into(),
        });
    }
}

/// The word used in scope and asset keys for an artifact type.
fn scope_kind(artifact_type: &str) -> &str {
    match artifact_type {
        "" => "artifact",
        "container_image" => "image",
        other => other,
    }
}

#[cfg(test)]
mod tests;
