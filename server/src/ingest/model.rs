//! What parsers share while they read a report: the [`ReportBuilder`] they fill (it
//! deduplicates assets, packages and catalogue entries and keeps the bookkeeping: record count,
//! warnings, scopes), the [`ParseError`] that refuses a whole report, and small reading helpers.
//!
//! The normalized report itself is [`crate::domain::report`]; it is re-exported here so that a
//! parser imports everything it builds with from one place.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use app::model::Severity;
use chrono::{DateTime, Utc};

use crate::domain::component::Component;
pub use crate::domain::report::*;

/// Why a whole report was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct ParseError {
    /// Stable problem slug: `invalid-json`, `wrong-format`, `unsupported-version`, ...
    pub kind: &'static str,
    /// What is wrong, in words a person can act on.
    pub detail: String,
    /// Where, when one record is the reason (JSON pointer or line).
    pub pointer: Option<String>,
}

impl ParseError {
    /// A new error about the whole document.
    pub fn new(kind: &'static str, detail: impl Into<String>) -> Self {
        ParseError {
            kind,
            detail: detail.into(),
            pointer: None,
        }
    }

    /// A new error about one record.
    pub fn at(kind: &'static str, pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        ParseError {
            kind,
            detail: detail.into(),
            pointer: Some(pointer.into()),
        }
    }

    /// The body is not JSON (or not the JSON this format needs at the top level).
    pub fn from_json(format: &str, error: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        match error.classify() {
            Category::Syntax | Category::Eof | Category::Io => ParseError::new(
                "invalid-json",
                format!("the body is not valid JSON: {error}"),
            ),
            Category::Data => ParseError::new(
                "wrong-format",
                format!("this is not a {format} report: {error}"),
            ),
        }
    }
}

/// Parses RFC 3339 timestamps as scanners write them (also without a zone, taken as UTC);
/// `None` for anything else.
pub fn parse_timestamp(value: &str) -> Option<DateTime<Utc>> {
    let value = value.trim();
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
}

/// Collects a report while a parser reads it: deduplicates images, workloads, components,
/// vulnerabilities and scopes, counts records and gathers warnings.
#[derive(Debug, Default)]
pub struct ReportBuilder {
    report: ParsedReport,
    images: HashMap<String, usize>,
    workloads: HashMap<WorkloadAsset, usize>,
    components: HashMap<String, usize>,
    vulnerabilities: HashMap<String, usize>,
    scopes: HashMap<String, usize>,
    links: std::collections::HashSet<WorkloadImage>,
}

impl ReportBuilder {
    /// A new report from `scanner`.
    pub fn new(scanner: &str, kind: ReportKind) -> Self {
        ReportBuilder {
            report: ParsedReport {
                scanner: scanner.to_owned(),
                kind,
                ..ParsedReport::default()
            },
            ..ReportBuilder::default()
        }
    }

    /// Sets the scanner version (empty strings are ignored).
    pub fn scanner_version(&mut self, version: Option<String>) {
        self.report.scanner_version = version.filter(|v| !v.trim().is_empty());
    }

    /// Sets what was scanned (empty strings are ignored).
    pub fn artifact(&mut self, artifact: Option<String>) {
        self.report.artifact = artifact.filter(|a| !a.trim().is_empty());
    }

    /// Sets when the scanner ran.
    pub fn generated_at(&mut self, at: Option<DateTime<Utc>>) {
        self.report.generated_at = at;
    }

    /// Counts one record read (whatever becomes of it).
    pub fn record(&mut self) {
        self.report.record_count += 1;
    }

    /// Notes a record that could not be read.
    pub fn warn(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        self.report.warnings.push(Warning {
            pointer: pointer.into(),
            message: message.into(),
        });
    }

    /// Reads a severity word, warning (and using `Unknown`) when it is not one.
    pub fn severity(&mut self, pointer: &str, word: Option<&str>) -> Severity {
        let (severity, warning) = read_severity(word);
        if let Some(message) = warning {
            self.warn(pointer, message);
        }
        severity
    }

    /// The index of lifecycle scope `key`, declared if new.
    pub fn scope(&mut self, key: impl Into<String>) -> usize {
        let key = key.into();
        match self.scopes.entry(key) {
            Entry::Occupied(slot) => *slot.get(),
            Entry::Vacant(slot) => {
                self.report.scopes.push(slot.key().clone());
                *slot.insert(self.report.scopes.len() - 1)
            }
        }
    }

    /// The index of this image, added if new; later sightings fill in what was missing.
    pub fn image(&mut self, image: ImageAsset) -> usize {
        match self.images.entry(image.key.clone()) {
            Entry::Occupied(slot) => {
                let known = &mut self.report.images[*slot.get()];
                if known.os_family.is_none() {
                    known.os_family = image.os_family;
                    known.os_name = image.os_name;
                }
                if known.image_id.is_none() {
                    known.image_id = image.image_id;
                }
                *slot.get()
            }
            Entry::Vacant(slot) => {
                self.report.images.push(image);
                *slot.insert(self.report.images.len() - 1)
            }
        }
    }

    /// The image at `index`.
    pub fn image_at(&self, index: usize) -> &ImageAsset {
        &self.report.images[index]
    }

    /// The index of this workload, added if new.
    pub fn workload(&mut self, workload: WorkloadAsset) -> usize {
        match self.workloads.entry(workload) {
            Entry::Occupied(slot) => *slot.get(),
            Entry::Vacant(slot) => {
                self.report.workloads.push(slot.key().clone());
                *slot.insert(self.report.workloads.len() - 1)
            }
        }
    }

    /// The workload at `index`.
    pub fn workload_at(&self, index: usize) -> &WorkloadAsset {
        &self.report.workloads[index]
    }

    /// Records that a workload runs an image (once per workload, image and container).
    pub fn link(&mut self, workload: usize, image: usize, container: Option<String>) {
        let link = WorkloadImage {
            workload,
            image,
            container,
        };
        if self.links.insert(link.clone()) {
            self.report.links.push(link);
        }
    }

    /// Sets the cluster name the report gives (empty strings are ignored).
    pub fn cluster_name(&mut self, name: Option<String>) {
        self.report.cluster_name = name.filter(|n| !n.trim().is_empty());
    }

    /// The index of this component, added if new.
    pub fn component(&mut self, component: Component) -> usize {
        let key = component.key();
        self.component_keyed(key, component)
    }

    /// The index of `component`, whose [`Component::key`] the caller has at hand already.
    pub fn component_keyed(&mut self, key: String, component: Component) -> usize {
        match self.components.entry(key) {
            Entry::Occupied(slot) => *slot.get(),
            Entry::Vacant(slot) => {
                self.report.components.push(component);
                *slot.insert(self.report.components.len() - 1)
            }
        }
    }

    /// The component at `index`.
    pub fn component_at(&self, index: usize) -> &Component {
        &self.report.components[index]
    }

    /// Whether the catalogue already has `id` (parsers may then skip reading its details).
    pub fn knows_vulnerability(&self, id: &str) -> bool {
        self.vulnerabilities.contains_key(id)
    }

    /// Adds a catalogue entry unless one with the same id was added already (then aliases and
    /// vectors are merged in).
    pub fn vulnerability(&mut self, info: VulnerabilityInfo) {
        match self.vulnerabilities.entry(info.id.clone()) {
            Entry::Occupied(slot) => {
                let known = &mut self.report.vulnerabilities[*slot.get()];
                for alias in info.aliases {
                    if !known.aliases.contains(&alias) {
                        known.aliases.push(alias);
                    }
                }
                for vector in info.cvss_vectors {
                    if !known.cvss_vectors.contains(&vector) {
                        known.cvss_vectors.push(vector);
                    }
                }
                if known.title.is_none() {
                    known.title = info.title;
                }
                if known.description.is_none() {
                    known.description = info.description;
                }
            }
            Entry::Vacant(slot) => {
                self.report.vulnerabilities.push(info);
                slot.insert(self.report.vulnerabilities.len() - 1);
            }
        }
    }

    /// Adds a finding.
    pub fn finding(&mut self, finding: FindingRecord) {
        self.report.findings.push(finding);
    }

    /// Adds a runtime event.
    pub fn event(&mut self, event: RuntimeEventRecord) {
        self.report.events.push(event);
    }

    /// Adds a control result.
    pub fn control(&mut self, control: ControlResultRecord) {
        self.report.controls.push(control);
    }

    /// Adds a VEX statement.
    pub fn vex(&mut self, statement: VexStatement) {
        self.report.vex.push(statement);
    }

    /// Findings added so far.
    pub fn finding_count(&self) -> usize {
        self.report.findings.len()
    }

    /// The report.
    pub fn finish(self) -> ParsedReport {
        self.report
    }
}

/// Sets `key` in the `details` object when there is a value.
pub fn insert_some<T: Into<serde_json::Value>>(
    details: &mut serde_json::Value,
    key: &str,
    value: Option<T>,
) {
    if let (Some(map), Some(value)) = (details.as_object_mut(), value) {
        map.insert(key.to_owned(), value.into());
    }
}

/// A severity word read: `Unknown`, with a warning message, when it is not one.
pub fn read_severity(word: Option<&str>) -> (Severity, Option<String>) {
    match word {
        None => (Severity::Unknown, None),
        Some(w) => match Severity::parse(w) {
            Some(severity) => (severity, None),
            None => (
                Severity::Unknown,
                Some(format!(
                    "severity '{w}' is not recognised; recorded as unknown"
                )),
            ),
        },
    }
}

/// The trimmed text, unless it is empty.
pub fn nonempty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// One JSON pointer reference token (RFC 6901 §3): `~` → `~0`, then `/` → `~1`. Every parser
/// that names a record by an object key in a warning's pointer escapes the key with this.
pub fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
pub mod testkit;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_the_shapes_scanners_write() {
        for value in [
            "2024-05-07T18:54:19.341081180Z",
            "2024-05-07T18:54:19+02:00",
            "2024-05-07T18:54:19",
            "2024-05-07 18:54:19",
            "2024-05-07",
        ] {
            assert!(parse_timestamp(value).is_some(), "{value}");
        }
        assert!(parse_timestamp("yesterday").is_none());
    }

    #[test]
    fn pointer_tokens_escape_tilde_before_slash() {
        assert_eq!(escape_pointer("plain"), "plain");
        assert_eq!(escape_pointer("a/b"), "a~1b");
        assert_eq!(escape_pointer("m~n"), "m~0n");
        // `~1` in a key must not read back as `/`: the tilde is escaped first.
        assert_eq!(escape_pointer("~1/"), "~01~1");
        assert_eq!(escape_pointer(""), "");
    }

    #[test]
    fn builder_deduplicates_and_counts() {
        let mut b = ReportBuilder::new("x", ReportKind::Findings);
        assert_eq!(b.scope("a"), 0);
        assert_eq!(b.scope("b"), 1);
        assert_eq!(b.scope("a"), 0);
        let c = Component::from_parts("npm", "lodash", "4.17.20");
        assert_eq!(b.component(c.clone()), b.component(c));
        let severity = b.severity("/x", Some("catastrophic"));
        assert_eq!(severity, Severity::Unknown);
        let report = b.finish();
        assert_eq!(report.scopes, vec!["a", "b"]);
        assert_eq!(report.components.len(), 1);
        assert_eq!(report.warnings.len(), 1);
    }
}
