//! Decoding one vulnerability record on its own, so that the records of a large result can be
//! decoded on several threads: the record's fields, its package (purls remembered per decoder)
//! and its fingerprint. Adding the decoded records to the report, in report order, belongs to
//! [`super::reader`].

use std::collections::{HashMap, HashSet};

use app::model::Severity;
use serde::Serialize;
use serde_json::value::RawValue;

use super::schema::{Vulnerability, VulnerabilityCatalogue};
use crate::domain::component::Component;
use crate::domain::fingerprint::Fingerprint;
use crate::domain::version;
use crate::ingest::model::{Details, read_severity};

/// Vulnerability records a decoder takes at a time; an entry with fewer than two windows of
/// them is decoded inline.
pub(super) const DECODE_WINDOW: usize = 8_192;

/// Components a decoder remembers by purl before it starts afresh (bounds its memory).
pub(super) const PURL_CACHE: usize = 65_536;

/// What a decoder keeps from one record to the next. Each decoder reads its records in report
/// order, so the first record of an id in the report is always the first its decoder sees.
#[derive(Default)]
pub(super) struct Decoder {
    /// Ids whose catalogue part this decoder has read.
    pub(super) seen: HashSet<String>,
    /// Components (with their keys) by purl: a report repeats a package for each of its
    /// vulnerabilities, and reading a purl is the dearest part of a record.
    pub(super) purls: HashMap<String, (Component, String)>,
}

impl Decoder {
    pub(super) fn component(
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
pub(super) struct PreparedVulnerability {
    pub(super) id: String,
    pub(super) title: Option<String>,
    pub(super) severity: Severity,
    /// Why the severity word was not read.
    pub(super) severity_warning: Option<String>,
    pub(super) component: Component,
    pub(super) component_key: String,
    pub(super) fingerprint: Fingerprint,
    pub(super) fixed_version: Option<String>,
    /// The catalogue part, read for the first record of an id its decoder saw.
    pub(super) catalogue: Option<Result<VulnerabilityCatalogue, String>>,
    pub(super) details: Details,
}

/// A vulnerability finding's evidence (keys in the order a JSON object of them prints).
#[derive(Serialize)]
pub(super) struct VulnerabilityDetails<'a> {
    /// Every fixed version the record lists, when it lists several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) fixed_versions: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) layer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) pkg_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) primary_url: Option<String>,
    pub(super) scanner: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) status: Option<String>,
    pub(super) target: &'a str,
}

/// Where a result's vulnerability records are, and what they hang on.
pub(super) struct RecordContext<'a> {
    pub(super) target: &'a str,
    pub(super) ecosystem: &'a str,
    pub(super) asset_key: &'a str,
}

/// Decodes one vulnerability record (pure but for the decoder's memory, so records are decoded
/// in parallel). An unusable record is a warning message.
pub(super) fn prepare_vulnerability(
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
    // Trivy lists one fixed version per release line ("2.4.62, 3.0.1"): the finding shows the
    // one to upgrade to, the evidence keeps the list.
    let listed = v.fixed_version.take().unwrap_or_default();
    let fixed_version = version::fix_for(cx.ecosystem, Some(version), listed.split(','))
        .unwrap_or(listed.trim())
        .to_owned();
    let fixed_version = (!fixed_version.is_empty()).then_some(fixed_version);
    let details = Details::of(&VulnerabilityDetails {
        fixed_versions: listed.contains(',').then(|| listed.trim().to_owned()),
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
        fixed_version,
        catalogue,
        details,
    })
}
