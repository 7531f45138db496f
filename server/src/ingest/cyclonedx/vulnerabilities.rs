//! CycloneDX vulnerabilities into findings: which components an `affects` entry names, the id
//! to record (a CVE when one is named), severity and CVSS vectors from the ratings. The VEX
//! part of an `analysis` is mapped in [`super::vex`].

use std::collections::HashMap;

use app::model::Severity;
use serde_json::{Value, json};

use super::schema::{Advisory, Rating, Reference, Vulnerability};
use super::subject::Subject;
use super::vex;
use crate::domain::component::Component;
use crate::domain::fingerprint::Fingerprint;
use crate::domain::vuln_id::is_cve;
use crate::ingest::model::{
    FindingKind, FindingRecord, ReportBuilder, VulnerabilityInfo, insert_some, parse_timestamp,
};

/// What one `affects` entry is about.
pub(super) enum Target {
    /// A package, with the `bom-ref` it was named by.
    Component(Component, Option<String>),
    /// The subject image itself.
    Image,
    /// Nothing this document describes.
    Unresolved(String),
}

pub(super) struct Reader<'r> {
    pub(super) b: &'r mut ReportBuilder,
    pub(super) subject: &'r Subject,
    pub(super) by_ref: &'r HashMap<String, Component>,
    pub(super) scope: usize,
    pub(super) scanner: String,
}

impl Reader<'_> {
    /// The components a (1.4+ or extension) vulnerability names.
    pub(super) fn targets(&self, v: &Vulnerability) -> Vec<Target> {
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

    pub(super) fn resolve(&self, reference: &str) -> Target {
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

    pub(super) fn vulnerability(&mut self, at: &str, v: Vulnerability, targets: Vec<Target>) {
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
        let analysis = v.analysis.as_ref();
        let image_key = self
            .subject
            .image
            .map(|index| self.b.image_at(index).key.clone());
        let vex = vex::status_of(self.b, at, analysis).map(|status| vex::Declaration {
            vulnerability_id: &id,
            image_key: image_key.as_deref(),
            status,
            analysis,
            issued_at: vex::issued_at(analysis, v.updated.as_deref(), v.published.as_deref()),
        });
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
            match target {
                Target::Unresolved(reference) => self.b.warn(
                    at,
                    format!("{id}: affects '{reference}', which names no component of this SBOM; skipped"),
                ),
                Target::Image => match &vex {
                    Some(declaration) => self.b.vex(declaration.about(None)),
                    None => self.b.warn(
                        at,
                        format!("{id} is about the image itself, not one of its packages; no finding recorded"),
                    ),
                },
                Target::Component(component, bom_ref) => {
                    let key = component.key();
                    if let Some(declaration) = &vex {
                        self.b.vex(declaration.about(Some(key.clone())));
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
pub(super) fn choose_id(id: &str, references: &[Reference]) -> (String, Vec<String>) {
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

/// The rating of the vulnerability's own source when it has a severity, else the highest.
pub(super) fn pick_severity(
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
pub(super) fn vectors(ratings: &[Rating], source: Option<&str>) -> Vec<(String, String)> {
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

pub(super) fn cwe(value: &Value) -> Option<String> {
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

/// A percent-encoded text decoded (invalid escapes stay as they are, bytes that are not UTF-8
/// become U+FFFD).
pub(super) fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}
