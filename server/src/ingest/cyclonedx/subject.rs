//! Components and the subject of an SBOM: nested component lists flattened, the package a
//! component names, and what the document describes (an image, another artifact, or only its
//! serial number). Vulnerabilities are read in [`super::vulnerabilities`].

use std::str::FromStr;

use serde_json::value::RawValue;

use super::schema::ComponentEntry;
use crate::domain::component::Component;
use crate::domain::fingerprint::Fingerprint;
use crate::domain::image_ref::{ImageRef, normalise_digest};
use crate::ingest::model::{ImageAsset, ReportBuilder};

/// Decodes `list` (at `pointer`) and every nested `components` list into `out`, counting one
/// record per entry.
pub(super) fn flatten<'a>(
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
pub(super) fn component_of(entry: &ComponentEntry<'_>) -> Option<Component> {
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

pub(super) fn property<'e>(entry: &'e ComponentEntry<'_>, name: &str) -> Option<&'e str> {
    entry
        .properties
        .iter()
        .flatten()
        .find(|p| p.name.as_deref() == Some(name))
        .and_then(|p| p.value.as_deref())
}

/// What the SBOM describes.
pub(super) struct Subject {
    /// The image, when the subject is one.
    pub(super) image: Option<usize>,
    /// Asset key used in fingerprints, and the scope of a report about it.
    pub(super) key: String,
    /// The subject's `bom-ref`, which `affects` may name.
    pub(super) bom_ref: Option<String>,
    /// The subject as a package, when it is not an image.
    pub(super) component: Option<Component>,
}

impl Subject {
    pub(super) fn new(
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
    pub(super) fn asset_key(&self, b: &ReportBuilder) -> String {
        match self.image {
            Some(index) => b.image_at(index).key.clone(),
            None => self.key.clone(),
        }
    }
}

/// The image a subject component names, if it is one.
pub(super) fn image_of(entry: &ComponentEntry<'_>) -> Option<ImageAsset> {
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
