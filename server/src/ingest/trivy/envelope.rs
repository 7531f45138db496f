//! The report layouts Trivy writes around its results: a SchemaVersion 2 report, the two
//! `trivy k8s` layouts, and the pre-SchemaVersion bare list. Decides what the findings of each
//! result hang on (an image, an artifact, a Kubernetes resource) and the lifecycle scope; the
//! records inside a result are read by [`super::reader`].

use serde_json::value::RawValue;

use super::reader::Reader;
use super::schema::{Metadata, OneOrMany, Report, Resource, ResultEntry};
use crate::domain::image_ref::{ImageRef, normalise_digest};
use crate::ingest::model::{
    ImageAsset, ParseError, ParsedReport, ReportBuilder, WorkloadAsset, parse_timestamp,
};

/// Reads a SchemaVersion 2 report (or a `trivy k8s` one), its results through `read`.
pub(super) fn read_report<R>(
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
pub(super) struct Asset {
    /// The image, for image scans.
    pub(super) image: Option<usize>,
    /// The key that goes into fingerprints.
    pub(super) key: String,
    /// The lifecycle scope of a report about this asset alone.
    pub(super) scope: String,
    /// Whether each result's target is a separate asset (filesystem and repository scans).
    pub(super) per_target: bool,
}

impl Asset {
    pub(super) fn image(b: &ReportBuilder, image: usize) -> Asset {
        let key = b.image_at(image).key.clone();
        Asset {
            image: Some(image),
            scope: format!("image:{key}"),
            key,
            per_target: false,
        }
    }

    pub(super) fn artifact(kind: &str, name: &str) -> Asset {
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
pub(super) fn image_from(name: &str, metadata: &Metadata) -> Option<ImageAsset> {
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
pub(super) fn image_from_target(target: &str, metadata: &[Metadata]) -> Option<ImageAsset> {
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

pub(super) fn read_k8s<R>(b: &mut ReportBuilder, report: Report<'_, R>) {
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

pub(super) fn read_resource(
    b: &mut ReportBuilder,
    scope: usize,
    pointer: &str,
    resource: Resource<'_>,
) {
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

pub(super) fn read_legacy_list(
    b: &mut ReportBuilder,
    results: Vec<&RawValue>,
) -> Result<(), ParseError> {
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

/// The word used in scope and asset keys for an artifact type.
pub(super) fn scope_kind(artifact_type: &str) -> &str {
    match artifact_type {
        "" => "artifact",
        "container_image" => "image",
        other => other,
    }
}
