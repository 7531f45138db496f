//! Finding the resources in a document: one resource, a `List`, an array, a dict of lists
//! keyed by kind, or the webhook envelope (nested up to `MAX_DEPTH`), and telling each
//! resource's kind (inferred from its content when it does not say). What a resource means is
//! read by [`super::reader`] and [`super::compliance`].

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use super::reader::label;
use super::schema::{ComplianceSpecWrapper, ReportData, Resource};
use super::{API_GROUP, Kind, MAX_DEPTH};
use crate::ingest::model::{ParseError, escape_pointer};

#[derive(Default)]
pub(super) struct Collected<'a> {
    pub(super) objects: Vec<(String, &'a RawValue)>,
    pub(super) warnings: Vec<(String, String)>,
    /// Items that are not trivy-operator resources.
    pub(super) foreign: usize,
    /// Whether a report-deleted notification was seen.
    pub(super) deleted: bool,
}

/// What an object is, by its keys.
pub(super) enum Shape<'a> {
    Envelope(Option<String>, &'a RawValue),
    List(&'a RawValue),
    Report,
    DictOfLists(BTreeMap<String, &'a RawValue>),
    Other,
}

pub(super) fn first_char(raw: &RawValue) -> Option<u8> {
    raw.get().bytes().find(|c| !c.is_ascii_whitespace())
}

pub(super) fn shape_of(map: BTreeMap<String, &RawValue>) -> Shape<'_> {
    let text = |key: &str| {
        map.get(key)
            .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
    };
    if let Some(object) = map.get("operatorObject") {
        return Shape::Envelope(text("verb"), object);
    }
    let api_version = text("apiVersion");
    let kind = text("kind");
    if let Some(items) = map.get("items")
        && matches!(first_char(items), Some(b'[' | b'n'))
    {
        return Shape::List(items);
    }
    let is_object = |key: &str| map.get(key).is_some_and(|v| first_char(v) == Some(b'{'));
    let ours = api_version
        .as_deref()
        .is_some_and(|a| a.starts_with(API_GROUP));
    let untyped_report = api_version.is_none()
        && (is_object("report")
            || is_object("status") && is_object("spec")
            || kind.as_deref().and_then(Kind::from_name).is_some());
    if ours || untyped_report {
        return Shape::Report;
    }
    let all_lists = !map.is_empty()
        && map.iter().all(|(key, value)| {
            key.to_ascii_lowercase().contains("report")
                && matches!(first_char(value), Some(b'[' | b'n'))
        });
    if all_lists {
        Shape::DictOfLists(map)
    } else {
        Shape::Other
    }
}

pub(super) const EXPECTED: &str = "expected an aquasecurity.github.io custom resource (VulnerabilityReport, \
     ConfigAuditReport, ClusterComplianceReport, ...), a List or array of them, a dict of lists \
     keyed by kind, or a trivy-operator webhook payload";

impl<'a> Collected<'a> {
    /// The whole document: anything unrecognisable here means another format.
    pub(super) fn top(&mut self, raw: &'a RawValue) -> Result<(), ParseError> {
        let refused = || {
            ParseError::new(
                "wrong-format",
                format!("this is not a trivy-operator report: {EXPECTED}"),
            )
        };
        match first_char(raw) {
            Some(b'[') => self.list("", raw, 1)?,
            Some(b'{') => {
                let map: BTreeMap<String, &RawValue> = serde_json::from_str(raw.get())
                    .map_err(|e| ParseError::from_json("trivy-operator", &e))?;
                match shape_of(map) {
                    Shape::Other => return Err(refused()),
                    shape => self.shape("", raw, shape, 1),
                }
            }
            _ => return Err(refused()),
        }
        // A list of other things (Pods, numbers, ...) is another format altogether.
        if self.objects.is_empty() && self.foreign > 0 && !self.deleted {
            return Err(refused());
        }
        Ok(())
    }

    pub(super) fn list(
        &mut self,
        pointer: &str,
        raw: &'a RawValue,
        depth: usize,
    ) -> Result<(), ParseError> {
        if first_char(raw) == Some(b'n') {
            return Ok(());
        }
        let items: Vec<&RawValue> = serde_json::from_str(raw.get())
            .map_err(|e| ParseError::from_json("trivy-operator", &e))?;
        for (i, item) in items.into_iter().enumerate() {
            self.value(&format!("{pointer}/{i}"), item, depth + 1);
        }
        Ok(())
    }

    pub(super) fn value(&mut self, pointer: &str, raw: &'a RawValue, depth: usize) {
        if depth > MAX_DEPTH {
            return self
                .warnings
                .push((pointer.to_owned(), "skipped: nested too deeply".to_owned()));
        }
        match first_char(raw) {
            Some(b'[') => {
                if let Err(e) = self.list(pointer, raw, depth) {
                    self.warnings.push((pointer.to_owned(), e.detail));
                }
            }
            Some(b'{') => match serde_json::from_str::<BTreeMap<String, &RawValue>>(raw.get()) {
                Ok(map) => {
                    let shape = shape_of(map);
                    self.shape(pointer, raw, shape, depth);
                }
                Err(e) => self
                    .warnings
                    .push((pointer.to_owned(), format!("skipped: {e}"))),
            },
            _ => self.foreign(pointer),
        }
    }

    pub(super) fn foreign(&mut self, pointer: &str) {
        self.foreign += 1;
        self.warnings.push((
            pointer.to_owned(),
            "skipped: not a trivy-operator resource".to_owned(),
        ));
    }

    pub(super) fn shape(
        &mut self,
        pointer: &str,
        raw: &'a RawValue,
        shape: Shape<'a>,
        depth: usize,
    ) {
        match shape {
            Shape::Envelope(verb, object) => {
                if verb
                    .as_deref()
                    .is_some_and(|v| v.eq_ignore_ascii_case("delete"))
                {
                    self.warnings.push((
                        pointer.to_owned(),
                        "a report-deleted notification: nothing ingested (deletion does not \
                         mean the findings were fixed)"
                            .to_owned(),
                    ));
                } else {
                    self.value(&format!("{pointer}/operatorObject"), object, depth + 1);
                }
            }
            Shape::List(items) => {
                let at = format!("{pointer}/items");
                if let Err(e) = self.list(&at, items, depth) {
                    self.warnings.push((at, e.detail));
                }
            }
            Shape::Report => self.objects.push((pointer.to_owned(), raw)),
            Shape::DictOfLists(map) => {
                for (key, list) in map {
                    let at = format!("{pointer}/{}", escape_pointer(&key));
                    if let Err(e) = self.list(&at, list, depth) {
                        self.warnings.push((at, e.detail));
                    }
                }
            }
            Shape::Other => self.foreign(pointer),
        }
    }
}

/// The kind of a resource, and the kind name used in scopes; inferred from the content when
/// the resource does not say (the webhook may send typed objects without `kind`).
pub(super) fn kind_of(resource: &Resource<'_>) -> Option<(Kind, String)> {
    if let Some(name) = resource.kind.as_deref().filter(|k| !k.trim().is_empty()) {
        return Kind::from_name(name).map(|k| (k, name.to_owned()));
    }
    if let Some(spec) = resource.spec
        && serde_json::from_str::<ComplianceSpecWrapper>(spec.get())
            .is_ok_and(|s| s.compliance.is_some())
    {
        return Some((Kind::Compliance, "ClusterComplianceReport".to_owned()));
    }
    let report: ReportData<'_> = serde_json::from_str(resource.report?.get()).ok()?;
    let cluster = resource
        .metadata
        .as_ref()
        .is_none_or(|m| m.namespace.as_deref().unwrap_or_default().is_empty());
    let (kind, name) = if report.vulnerabilities.is_some() {
        (Kind::Vulnerability, "VulnerabilityReport")
    } else if report.secrets.is_some() {
        (Kind::Secret, "ExposedSecretReport")
    } else if report.components.is_some() {
        (Kind::Sbom, "SbomReport")
    } else if report.checks.is_some() {
        let target_kind = resource
            .metadata
            .as_ref()
            .and_then(|m| label(m, "resource.kind"))
            .unwrap_or_default();
        if target_kind.ends_with("Role") || target_kind.ends_with("RoleBinding") {
            (Kind::Rbac, "RbacAssessmentReport")
        } else {
            (Kind::ConfigAudit, "ConfigAuditReport")
        }
    } else {
        return None;
    };
    let name = if cluster && kind != Kind::Secret {
        format!("Cluster{name}")
    } else {
        name.to_owned()
    };
    Some((kind, name))
}
