//! Aqua trivy-operator custom resources (`aquasecurity.github.io/v1alpha1`), as `kubectl get
//! -o json` prints them or as the operator's webhook sends them:
//!
//! - `VulnerabilityReport` / `ClusterVulnerabilityReport`: vulnerabilities of the image one
//!   container runs. Findings are about the image (fleet-wide, like a `trivy image` scan, with
//!   the same fingerprints); the workload is linked to the image.
//! - `ExposedSecretReport`: secrets found in that image (about the image as well).
//! - `ConfigAuditReport`, `InfraAssessmentReport` (and their `Cluster…` variants): failed checks
//!   become misconfiguration findings about the workload; `RbacAssessmentReport` /
//!   `ClusterRbacAssessmentReport`: rbac findings about the role.
//! - `ClusterComplianceReport`: one control result per control (from the detail report, else
//!   the summary report); failed controls also become control findings.
//!
//! Accepted layouts: one resource; a Kubernetes `List` (`items`); a JSON array of resources; a
//! dict of lists keyed by kind or CRD name (`{"vulnerabilityreports.aquasecurity.github.io":
//! [...]}`); and the webhook envelope `{"verb": "update", "operatorObject": {...}}` sent when
//! `OPERATOR_SEND_DELETED_REPORTS` is on. A `delete` notification ingests nothing (a deleted
//! report says nothing about whether its findings were fixed). Resources may lack `kind` and
//! `apiVersion` (typed objects marshalled by the webhook): the kind is then inferred from the
//! report's content.
//!
//! Skipped: `SbomReport` / `ClusterSbomReport` (inventory; send the CycloneDX SBOM instead),
//! other kinds (warning), passing checks (counted, not findings), scanner scores (the pipeline
//! scores CVSS vectors itself), the full secret match (only Trivy's redacted line, truncated).
//!
//! Lifecycle scopes: one per report kind, resource and container
//! (`VulnerabilityReport:<ns>/<kind>/<name>/<container>`, `ConfigAuditReport:<ns>/<kind>/<name>`,
//! `ClusterComplianceReport:<framework>`), declared even when the report is clean, so a report
//! about one workload never fixes another's findings.
//!
//! Schema reference: trivy-operator `pkg/apis/aquasecurity/v1alpha1/*_types.go` and
//! `pkg/webhook/webhookreporter.go`.

use crate::ingest::model::insert_some;
use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::domain::component::Component;
use crate::domain::fingerprint::Fingerprint;
use crate::domain::image_ref::{ImageRef, normalise_digest};
use crate::ingest::model::{
    ControlResultRecord, ControlStatus, FindingKind, FindingRecord, ImageAsset, ParseError,
    ParsedReport, ReportBuilder, ReportKind, VulnerabilityInfo, WorkloadAsset, parse_timestamp,
};

const SCANNER: &str = "trivy-operator";
const API_GROUP: &str = "aquasecurity.github.io/";
/// How deeply lists, envelopes and dicts of lists may nest.
const MAX_DEPTH: usize = 4;
/// Failed targets kept in a control's details.
const MAX_TARGETS: usize = 20;
/// Characters of a (redacted) secret match kept in details.
const MAX_MATCH: usize = 120;

/// A custom resource, with the parts every kind shares.
#[derive(Deserialize)]
struct Resource<'a> {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    kind: Option<String>,
    metadata: Option<ObjectMeta>,
    #[serde(borrow)]
    report: Option<&'a RawValue>,
    #[serde(borrow)]
    spec: Option<&'a RawValue>,
    #[serde(borrow)]
    status: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
struct ObjectMeta {
    name: Option<String>,
    namespace: Option<String>,
    labels: Option<HashMap<String, Option<String>>>,
    annotations: Option<HashMap<String, Option<String>>>,
    #[serde(rename = "ownerReferences")]
    owner_references: Option<Vec<OwnerReference>>,
}

#[derive(Deserialize)]
struct OwnerReference {
    kind: Option<String>,
    name: Option<String>,
    controller: Option<bool>,
}

/// `report` of the workload-level kinds (vulnerability, secret, config/infra/rbac reports).
#[derive(Deserialize)]
struct ReportData<'a> {
    #[serde(rename = "updateTimestamp")]
    update_timestamp: Option<String>,
    scanner: Option<Scanner>,
    registry: Option<Registry>,
    artifact: Option<Artifact>,
    os: Option<Os>,
    #[serde(borrow)]
    vulnerabilities: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    secrets: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    checks: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    components: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Scanner {
    version: Option<String>,
}

#[derive(Deserialize)]
struct Registry {
    server: Option<String>,
}

#[derive(Deserialize)]
struct Artifact {
    repository: Option<String>,
    tag: Option<String>,
    digest: Option<String>,
}

#[derive(Deserialize)]
struct Os {
    family: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Vulnerability {
    #[serde(rename = "vulnerabilityID")]
    vulnerability_id: Option<String>,
    resource: Option<String>,
    installed_version: Option<String>,
    fixed_version: Option<String>,
    published_date: Option<String>,
    last_modified_date: Option<String>,
    severity: Option<String>,
    title: Option<String>,
    description: Option<String>,
    primary_link: Option<String>,
    links: Option<Vec<String>>,
    target: Option<String>,
    cvss: Option<HashMap<String, Cvss>>,
    class: Option<String>,
    package_type: Option<String>,
    #[serde(alias = "pkgPath")]
    package_path: Option<String>,
    #[serde(rename = "packagePURL", alias = "purl", alias = "pkgPURL")]
    package_purl: Option<String>,
}

/// trivy-db's `types.CVSS`, per source.
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
#[serde(rename_all = "camelCase")]
struct Secret {
    #[serde(rename = "ruleID")]
    rule_id: Option<String>,
    category: Option<String>,
    severity: Option<String>,
    title: Option<String>,
    target: Option<String>,
    #[serde(rename = "match")]
    matched: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Check {
    #[serde(rename = "checkID")]
    check_id: Option<String>,
    title: Option<String>,
    description: Option<String>,
    severity: Option<String>,
    category: Option<String>,
    messages: Option<Vec<String>>,
    remediation: Option<String>,
    target: Option<String>,
    /// Absent means failed, as Go's zero value.
    success: Option<bool>,
}

#[derive(Deserialize, Default)]
struct ComplianceSpecWrapper {
    compliance: Option<ComplianceSpec>,
}

#[derive(Deserialize, Default)]
struct ComplianceSpec {
    id: Option<String>,
    title: Option<String>,
    version: Option<String>,
    controls: Option<Vec<SpecControl>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpecControl {
    id: Option<String>,
    name: Option<String>,
    description: Option<String>,
    severity: Option<String>,
    checks: Option<Vec<SpecCheck>>,
    default_status: Option<String>,
}

#[derive(Deserialize)]
struct SpecCheck {
    id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ComplianceStatus<'a> {
    update_timestamp: Option<String>,
    #[serde(borrow)]
    detail_report: Option<DetailReport<'a>>,
    #[serde(borrow)]
    summary_report: Option<SummaryReport<'a>>,
}

#[derive(Deserialize)]
struct DetailReport<'a> {
    id: Option<String>,
    title: Option<String>,
    version: Option<String>,
    #[serde(borrow)]
    results: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct ControlCheckResult {
    id: Option<String>,
    name: Option<String>,
    description: Option<String>,
    severity: Option<String>,
    /// The control's default status (PASS, FAIL, WARN, MANUAL).
    status: Option<String>,
    checks: Option<Vec<Check>>,
}

#[derive(Deserialize)]
struct SummaryReport<'a> {
    id: Option<String>,
    title: Option<String>,
    #[serde(rename = "controlCheck", borrow)]
    control_check: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ControlCheckSummary {
    id: Option<String>,
    name: Option<String>,
    severity: Option<String>,
    total_fail: Option<i64>,
}

/// The report kinds this parser knows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Vulnerability,
    Secret,
    ConfigAudit,
    Infra,
    Rbac,
    Compliance,
    Sbom,
}

impl Kind {
    /// From a Kubernetes kind (with or without the `Cluster` prefix).
    fn from_name(kind: &str) -> Option<Kind> {
        let base = kind.strip_prefix("Cluster").unwrap_or(kind);
        match base {
            "VulnerabilityReport" | "NodeVulnerabilityReport" | "ImageVulnerabilityReport" => {
                Some(Kind::Vulnerability)
            }
            "ExposedSecretReport" => Some(Kind::Secret),
            "ConfigAuditReport" => Some(Kind::ConfigAudit),
            "InfraAssessmentReport" => Some(Kind::Infra),
            "RbacAssessmentReport" => Some(Kind::Rbac),
            "ComplianceReport" => Some(Kind::Compliance),
            "SbomReport" => Some(Kind::Sbom),
            _ => None,
        }
    }
}

/// Parses trivy-operator custom resources.
pub fn parse(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
    let top: &RawValue =
        serde_json::from_slice(bytes).map_err(|e| ParseError::from_json("trivy-operator", &e))?;
    let mut collected = Collected::default();
    collected.top(top)?;

    // Decode every resource first: the report kind depends on what they all are.
    let mut resources = Vec::new();
    for (pointer, raw) in collected.objects {
        match serde_json::from_str::<Resource<'_>>(raw.get()) {
            Ok(resource) => resources.push((pointer, resource)),
            Err(e) => collected
                .warnings
                .push((pointer, format!("resource skipped: {e}"))),
        }
    }
    let kinds: Vec<Option<(Kind, String)>> = resources.iter().map(|(_, r)| kind_of(r)).collect();
    let only_controls = !kinds.is_empty()
        && kinds
            .iter()
            .all(|k| matches!(k, Some((Kind::Compliance, _))));
    let mut b = ReportBuilder::new(
        SCANNER,
        if only_controls {
            ReportKind::Controls
        } else {
            ReportKind::Findings
        },
    );
    for (pointer, message) in collected.warnings {
        b.warn(pointer, message);
    }
    let mut reader = Reader {
        b,
        latest: None,
        version: None,
        artifacts: Vec::new(),
    };
    for ((pointer, resource), kind) in resources.into_iter().zip(kinds) {
        match kind {
            Some((kind, name)) => reader.resource(&pointer, kind, &name, resource),
            None => reader.b.warn(
                pointer,
                format!(
                    "resource skipped: kind '{}' is not a trivy-operator report",
                    resource.kind.as_deref().unwrap_or("(none)")
                ),
            ),
        }
    }
    let Reader {
        mut b,
        latest,
        version,
        artifacts,
    } = reader;
    b.scanner_version(version);
    b.generated_at(latest);
    b.artifact(match artifacts.as_slice() {
        [] => None,
        [one] => Some(one.clone()),
        many => Some(format!("{} trivy-operator reports", many.len())),
    });
    Ok(b.finish())
}

/// The resources of a document, found through lists, envelopes and dicts of lists.
#[derive(Default)]
struct Collected<'a> {
    objects: Vec<(String, &'a RawValue)>,
    warnings: Vec<(String, String)>,
    /// Items that are not trivy-operator resources.
    foreign: usize,
    /// Whether a report-deleted notification was seen.
    deleted: bool,
}

/// What an object is, by its keys.
enum Shape<'a> {
    Envelope(Option<String>, &'a RawValue),
    List(&'a RawValue),
    Report,
    DictOfLists(BTreeMap<String, &'a RawValue>),
    Other,
}

fn first_char(raw: &RawValue) -> Option<u8> {
    raw.get().bytes().find(|c| !c.is_ascii_whitespace())
}

fn shape_of(map: BTreeMap<String, &RawValue>) -> Shape<'_> {
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

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

const EXPECTED: &str = "expected an aquasecurity.github.io custom resource (VulnerabilityReport, \
     ConfigAuditReport, ClusterComplianceReport, ...), a List or array of them, a dict of lists \
     keyed by kind, or a trivy-operator webhook payload";

impl<'a> Collected<'a> {
    /// The whole document: anything unrecognisable here means another format.
    fn top(&mut self, raw: &'a RawValue) -> Result<(), ParseError> {
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

    fn list(&mut self, pointer: &str, raw: &'a RawValue, depth: usize) -> Result<(), ParseError> {
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

    fn value(&mut self, pointer: &str, raw: &'a RawValue, depth: usize) {
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

    fn foreign(&mut self, pointer: &str) {
        self.foreign += 1;
        self.warnings.push((
            pointer.to_owned(),
            "skipped: not a trivy-operator resource".to_owned(),
        ));
    }

    fn shape(&mut self, pointer: &str, raw: &'a RawValue, shape: Shape<'a>, depth: usize) {
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
fn kind_of(resource: &Resource<'_>) -> Option<(Kind, String)> {
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

/// A `trivy-operator.<key>` label (or the older `starboard.<key>`), or annotation.
fn label(meta: &ObjectMeta, key: &str) -> Option<String> {
    let get = |map: &Option<HashMap<String, Option<String>>>, name: &str| {
        map.as_ref()
            .and_then(|m| m.get(name).cloned().flatten())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    ["trivy-operator", "starboard"].iter().find_map(|prefix| {
        let name = format!("{prefix}.{key}");
        get(&meta.labels, &name).or_else(|| get(&meta.annotations, &name))
    })
}

/// The resource a report is about: the operator's labels, else the controlling owner.
fn workload_of(meta: &ObjectMeta) -> Option<WorkloadAsset> {
    let owner = meta.owner_references.as_ref().and_then(|owners| {
        owners
            .iter()
            .find(|o| o.controller == Some(true))
            .or(owners.first())
    });
    let kind = label(meta, "resource.kind").or_else(|| owner.and_then(|o| o.kind.clone()))?;
    let name = label(meta, "resource.name").or_else(|| owner.and_then(|o| o.name.clone()))?;
    let namespace = label(meta, "resource.namespace")
        .or_else(|| meta.namespace.clone())
        .unwrap_or_default();
    Some(WorkloadAsset {
        namespace,
        kind,
        name,
    })
}

/// The image a vulnerability or secret report names: `registry.server` + `artifact`.
fn image_of(report: &ReportData<'_>) -> Option<ImageAsset> {
    let artifact = report.artifact.as_ref()?;
    let repository = artifact.repository.as_deref()?.trim();
    if repository.is_empty() {
        return None;
    }
    let server = report
        .registry
        .as_ref()
        .and_then(|r| r.server.as_deref())
        .map(str::trim)
        .unwrap_or_default();
    let mut name = if server.is_empty() {
        repository.to_owned()
    } else {
        format!("{server}/{repository}")
    };
    if let Some(tag) = artifact
        .tag
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        name = format!("{name}:{tag}");
    }
    let mut reference = ImageRef::parse(&name).ok()?;
    if let Some(digest) = artifact
        .digest
        .as_deref()
        .and_then(|d| normalise_digest(d).ok())
    {
        reference.digest = Some(digest);
    }
    let mut image = ImageAsset::new(reference, None);
    if let Some(os) = &report.os {
        image.os_family = os.family.clone().filter(|f| !f.trim().is_empty());
        image.os_name = os.name.clone().filter(|n| !n.trim().is_empty());
    }
    Some(image)
}

/// Where a report's findings hang.
struct Target {
    scope: usize,
    workload: Option<usize>,
    image: Option<usize>,
    /// Fingerprint asset key: the image key, or the report's resource.
    asset_key: String,
    container: Option<String>,
}

struct Reader {
    b: ReportBuilder,
    latest: Option<chrono::DateTime<chrono::Utc>>,
    version: Option<String>,
    artifacts: Vec<String>,
}

impl Reader {
    fn saw_time(&mut self, at: Option<&str>) {
        if let Some(t) = at.and_then(parse_timestamp)
            && self.latest.is_none_or(|l| t > l)
        {
            self.latest = Some(t);
        }
    }

    fn resource(&mut self, pointer: &str, kind: Kind, kind_name: &str, resource: Resource<'_>) {
        if let Some(api) = resource.api_version.as_deref()
            && !api.starts_with(API_GROUP)
        {
            return self.b.warn(
                pointer,
                format!("resource skipped: apiVersion '{api}' is not aquasecurity.github.io"),
            );
        }
        let meta = resource.metadata.unwrap_or_default();
        match kind {
            Kind::Compliance => self.compliance(pointer, &meta, resource.spec, resource.status),
            Kind::Sbom => self.b.warn(
                pointer,
                format!("{kind_name} skipped: SBOM reports are not ingested here"),
            ),
            _ => {
                let Some(raw) = resource.report else {
                    return self
                        .b
                        .warn(pointer, format!("{kind_name} skipped: it has no report"));
                };
                match serde_json::from_str::<ReportData<'_>>(raw.get()) {
                    Ok(report) => self.workload_report(
                        &format!("{pointer}/report"),
                        kind,
                        kind_name,
                        &meta,
                        report,
                    ),
                    Err(e) => self.b.warn(
                        format!("{pointer}/report"),
                        format!("{kind_name} skipped: {e}"),
                    ),
                }
            }
        }
    }

    fn workload_report(
        &mut self,
        pointer: &str,
        kind: Kind,
        kind_name: &str,
        meta: &ObjectMeta,
        report: ReportData<'_>,
    ) {
        self.saw_time(report.update_timestamp.as_deref());
        if self.version.is_none() {
            self.version = report
                .scanner
                .as_ref()
                .and_then(|s| s.version.clone())
                .filter(|v| !v.trim().is_empty());
        }
        let container = label(meta, "container.name");
        let workload = workload_of(meta).map(|w| self.b.workload(w));
        let image = match kind {
            Kind::Vulnerability | Kind::Secret => image_of(&report).map(|i| self.b.image(i)),
            _ => None,
        };
        let subject = match (workload, image) {
            (Some(w), _) => self.b.workload_at(w).key(),
            (None, Some(i)) => self.b.image_at(i).key.clone(),
            (None, None) => {
                return self.b.warn(
                    pointer,
                    format!(
                        "{kind_name} skipped: no trivy-operator.resource labels or owner, \
                         so the resource it is about is unknown"
                    ),
                );
            }
        };
        if let (Some(w), Some(i)) = (workload, image) {
            self.b.link(w, i, container.clone());
        }
        let scope_key = match &container {
            Some(c) => format!("{kind_name}:{subject}/{c}"),
            None => format!("{kind_name}:{subject}"),
        };
        self.artifacts.push(match image {
            Some(i) => self.b.image_at(i).reference.name_with_tag(),
            None => subject.clone(),
        });
        let scope = self.b.scope(scope_key.clone());
        let asset_key = match image {
            Some(i) => self.b.image_at(i).key.clone(),
            None if matches!(kind, Kind::Vulnerability | Kind::Secret) => {
                if report.artifact.is_some() {
                    self.b.warn(
                        format!("{pointer}/artifact"),
                        "the artifact is not an image reference; findings are kept against \
                         the resource instead of an image",
                    );
                }
                scope_key
            }
            None => "cluster".to_owned(),
        };
        let target = Target {
            scope,
            workload,
            image,
            asset_key,
            container,
        };
        let os_family = report.os.as_ref().and_then(|o| o.family.clone());
        for (i, raw) in report
            .vulnerabilities
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let at = format!("{pointer}/vulnerabilities/{i}");
            self.b.record();
            match serde_json::from_str::<Vulnerability>(raw.get()) {
                Ok(v) => self.vulnerability(&at, v, &target, os_family.as_deref()),
                Err(e) => self.b.warn(at, format!("vulnerability skipped: {e}")),
            }
        }
        for (i, raw) in report.secrets.unwrap_or_default().into_iter().enumerate() {
            let at = format!("{pointer}/secrets/{i}");
            self.b.record();
            match serde_json::from_str::<Secret>(raw.get()) {
                Ok(s) => self.secret(&at, s, &target),
                Err(e) => self.b.warn(at, format!("secret skipped: {e}")),
            }
        }
        let check_kind = if kind == Kind::Rbac {
            FindingKind::Rbac
        } else {
            FindingKind::Misconfiguration
        };
        for (i, raw) in report.checks.unwrap_or_default().into_iter().enumerate() {
            let at = format!("{pointer}/checks/{i}");
            self.b.record();
            match serde_json::from_str::<Check>(raw.get()) {
                Ok(c) => self.check(&at, c, check_kind, &target),
                Err(e) => self.b.warn(at, format!("check skipped: {e}")),
            }
        }
    }

    fn vulnerability(&mut self, at: &str, v: Vulnerability, t: &Target, os_family: Option<&str>) {
        let id = v
            .vulnerability_id
            .as_deref()
            .unwrap_or_default()
            .trim()
            .to_owned();
        if id.is_empty() {
            return self.b.warn(at, "vulnerability skipped: no vulnerabilityID");
        }
        let Some(package) = v.resource.filter(|r| !r.trim().is_empty()) else {
            return self
                .b
                .warn(at, format!("{id} skipped: no resource (package)"));
        };
        let version = v.installed_version.clone().unwrap_or_default();
        let target = v.target.unwrap_or_default();
        // The same ecosystem word `trivy image` puts in a result's Type: packageType, else the
        // OS family for OS packages.
        let class = v.class.clone().unwrap_or_default();
        let os_target = class == "os-pkgs" || class.is_empty() && target.contains(" (");
        let ecosystem = v
            .package_type
            .clone()
            .filter(|p| !p.trim().is_empty())
            .or_else(|| {
                os_target
                    .then(|| {
                        os_family.map(str::to_owned).or_else(|| {
                            let (_, os) = target.rsplit_once(" (")?;
                            os.split_whitespace().next().map(str::to_owned)
                        })
                    })
                    .flatten()
            })
            .unwrap_or(class);
        let component = v
            .package_purl
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .and_then(Component::from_purl)
            .unwrap_or_else(|| Component::from_parts(&ecosystem, &package, &version));
        let severity = self.b.severity(at, v.severity.as_deref());
        let fingerprint = Fingerprint::vulnerability(&id, &component.key(), &t.asset_key);
        let component = self.b.component(component);
        let cvss_vectors = v
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
        let title = v.title.clone().filter(|t| !t.trim().is_empty());
        self.b.vulnerability(VulnerabilityInfo {
            id: id.clone(),
            aliases: Vec::new(),
            title: title.clone(),
            description: v.description.filter(|d| !d.trim().is_empty()),
            severity,
            cvss_vectors,
            cwe: Vec::new(),
            published_at: v.published_date.as_deref().and_then(parse_timestamp),
            modified_at: v.last_modified_date.as_deref().and_then(parse_timestamp),
            references: v.links.unwrap_or_default(),
        });
        let mut details = json!({ "scanner": SCANNER });
        insert_some(
            &mut details,
            "target",
            Some(target.clone()).filter(|t| !t.is_empty()),
        );
        insert_some(&mut details, "class", v.class.filter(|c| !c.is_empty()));
        insert_some(
            &mut details,
            "pkg_path",
            v.package_path.filter(|p| !p.is_empty()),
        );
        insert_some(
            &mut details,
            "primary_url",
            v.primary_link.filter(|p| !p.is_empty()),
        );
        insert_some(&mut details, "container", t.container.clone());
        self.b.finding(FindingRecord {
            fingerprint,
            kind: FindingKind::Vulnerability,
            severity,
            title: title.unwrap_or_else(|| id.clone()),
            vulnerability_id: Some(id),
            component: Some(component),
            rule_id: None,
            image: t.image,
            workload: if t.image.is_some() { None } else { t.workload },
            in_cluster: t.image.is_none(),
            resource: (!target.is_empty()).then_some(target),
            fixed_version: v.fixed_version.filter(|f| !f.trim().is_empty()),
            scope: t.scope,
            details: details.into(),
        });
    }

    fn secret(&mut self, at: &str, s: Secret, t: &Target) {
        let Some(rule_id) = s.rule_id.filter(|r| !r.trim().is_empty()) else {
            return self.b.warn(at, "secret skipped: no ruleID");
        };
        let severity = self.b.severity(at, s.severity.as_deref());
        let target = s.target.unwrap_or_default();
        let matched = s.matched.unwrap_or_default();
        // As `trivy image` does: the file and Trivy's (redacted) matching line.
        let location = format!("{target}\n{matched}");
        let fingerprint = Fingerprint::secret(&rule_id, &location, &t.asset_key);
        let title = s
            .title
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| format!("Secret matched by rule {rule_id}"));
        let mut details =
            json!({ "scanner": SCANNER, "target": target, "match": redacted(&matched) });
        insert_some(&mut details, "category", s.category);
        insert_some(&mut details, "container", t.container.clone());
        self.b.finding(FindingRecord {
            fingerprint,
            kind: FindingKind::Secret,
            severity,
            title,
            vulnerability_id: None,
            component: None,
            rule_id: Some(rule_id),
            image: t.image,
            workload: if t.image.is_some() { None } else { t.workload },
            in_cluster: t.image.is_none(),
            resource: Some(target),
            fixed_version: None,
            scope: t.scope,
            details: details.into(),
        });
    }

    fn check(&mut self, at: &str, c: Check, kind: FindingKind, t: &Target) {
        if c.success == Some(true) {
            return; // passing checks are records, not findings
        }
        let title = c.title.clone().filter(|t| !t.trim().is_empty());
        let rule_id = match c.check_id.filter(|id| !id.trim().is_empty()) {
            Some(id) => id,
            None => match &title {
                Some(title) => {
                    self.b
                        .warn(at, "check has no checkID; its title is used as the rule id");
                    title.clone()
                }
                None => return self.b.warn(at, "check skipped: no checkID or title"),
            },
        };
        let severity = self.b.severity(at, c.severity.as_deref());
        let resource = match t.workload {
            Some(w) => self.b.workload_at(w).key(),
            None => t.asset_key.clone(),
        };
        // The same identity as a `trivy k8s` misconfiguration of the resource.
        let fingerprint = Fingerprint::misconfiguration(&rule_id, &resource, "cluster");
        let messages = c.messages.unwrap_or_default();
        let title = title
            .or_else(|| messages.first().cloned())
            .unwrap_or_else(|| rule_id.clone());
        let mut details = json!({ "scanner": SCANNER });
        insert_some(&mut details, "category", c.category);
        insert_some(&mut details, "description", c.description);
        if !messages.is_empty() {
            insert_some(&mut details, "messages", Some(messages));
        }
        insert_some(&mut details, "remediation", c.remediation);
        insert_some(&mut details, "target", c.target.filter(|t| !t.is_empty()));
        self.b.finding(FindingRecord {
            fingerprint,
            kind,
            severity,
            title,
            vulnerability_id: None,
            component: None,
            rule_id: Some(rule_id),
            image: None,
            workload: t.workload,
            in_cluster: true,
            resource: Some(resource),
            fixed_version: None,
            scope: t.scope,
            details: details.into(),
        });
    }

    fn compliance(
        &mut self,
        pointer: &str,
        meta: &ObjectMeta,
        spec: Option<&RawValue>,
        status: Option<&RawValue>,
    ) {
        let spec = match spec.map(|s| serde_json::from_str::<ComplianceSpecWrapper>(s.get())) {
            None => ComplianceSpec::default(),
            Some(Ok(s)) => s.compliance.unwrap_or_default(),
            Some(Err(e)) => {
                self.b
                    .warn(format!("{pointer}/spec"), format!("spec ignored: {e}"));
                ComplianceSpec::default()
            }
        };
        let status = match status.map(|s| serde_json::from_str::<ComplianceStatus<'_>>(s.get())) {
            None => ComplianceStatus::default(),
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                return self.b.warn(
                    format!("{pointer}/status"),
                    format!("ClusterComplianceReport skipped: {e}"),
                );
            }
        };
        self.saw_time(status.update_timestamp.as_deref());
        let detail = status.detail_report;
        let summary = status.summary_report;
        if detail.is_none() && summary.is_none() {
            return self.b.warn(
                pointer,
                "ClusterComplianceReport skipped: it has no status report yet",
            );
        }
        let nonempty = |s: &Option<String>| s.clone().filter(|v| !v.trim().is_empty());
        let framework_id = nonempty(&spec.id)
            .or_else(|| detail.as_ref().and_then(|d| nonempty(&d.id)))
            .or_else(|| summary.as_ref().and_then(|s| nonempty(&s.id)))
            .or_else(|| nonempty(&meta.name))
            .unwrap_or_else(|| "trivy-compliance".to_owned());
        let framework_name = nonempty(&spec.title)
            .or_else(|| detail.as_ref().and_then(|d| nonempty(&d.title)))
            .or_else(|| summary.as_ref().and_then(|s| nonempty(&s.title)))
            .unwrap_or_else(|| framework_id.clone());
        let framework_version =
            nonempty(&spec.version).or_else(|| detail.as_ref().and_then(|d| nonempty(&d.version)));
        let scope = self
            .b
            .scope(format!("ClusterComplianceReport:{framework_id}"));
        self.artifacts.push(framework_name.clone());
        let spec_controls: HashMap<String, &SpecControl> = spec
            .controls
            .iter()
            .flatten()
            .filter_map(|c| Some((c.id.clone()?, c)))
            .collect();
        let framework = Framework {
            id: framework_id,
            name: framework_name,
            version: framework_version,
            scope,
        };
        let mut seen: HashSet<String> = HashSet::new();
        if let Some(detail) = detail {
            for (i, raw) in detail.results.unwrap_or_default().into_iter().enumerate() {
                let at = format!("{pointer}/status/detailReport/results/{i}");
                self.b.record();
                match serde_json::from_str::<ControlCheckResult>(raw.get()) {
                    Ok(result) => {
                        let Some(id) = nonempty(&result.id) else {
                            self.b.warn(at, "control skipped: no id");
                            continue;
                        };
                        seen.insert(id.clone());
                        let spec = spec_controls.get(&id).copied();
                        self.detail_control(&at, &framework, id, result, spec);
                    }
                    Err(e) => self.b.warn(at, format!("control skipped: {e}")),
                }
            }
        }
        if let Some(summary) = summary {
            for (i, raw) in summary
                .control_check
                .unwrap_or_default()
                .into_iter()
                .enumerate()
            {
                let at = format!("{pointer}/status/summaryReport/controlCheck/{i}");
                let parsed = serde_json::from_str::<ControlCheckSummary>(raw.get());
                if let Ok(c) = &parsed
                    && c.id.as_ref().is_some_and(|id| seen.contains(id))
                {
                    continue; // already read from the detail report
                }
                self.b.record();
                match parsed {
                    Ok(c) => {
                        let Some(id) = nonempty(&c.id) else {
                            self.b.warn(at, "control skipped: no id");
                            continue;
                        };
                        seen.insert(id.clone());
                        let spec = spec_controls.get(&id).copied();
                        self.summary_control(&at, &framework, id, c, spec);
                    }
                    Err(e) => self.b.warn(at, format!("control skipped: {e}")),
                }
            }
        }
        // Controls of the spec the status does not mention were not evaluated.
        for control in spec.controls.iter().flatten() {
            let Some(id) = nonempty(&control.id) else {
                continue;
            };
            if !seen.insert(id.clone()) {
                continue;
            }
            self.b.record();
            let at = format!("{pointer}/spec/compliance/controls");
            let severity = self.b.severity(&at, control.severity.as_deref());
            self.b.control(ControlResultRecord {
                framework_id: framework.id.clone(),
                framework_name: framework.name.clone(),
                framework_version: framework.version.clone(),
                control_id: id.clone(),
                title: control.name.clone().unwrap_or(id),
                section: None,
                severity,
                status: ControlStatus::Skip,
                total_checks: None,
                failed_checks: None,
                details: json!({
                    "scanner": SCANNER,
                    "reason": "not in the report's status",
                    "checks": spec_check_ids(Some(control)),
                }),
            });
        }
    }

    fn detail_control(
        &mut self,
        at: &str,
        framework: &Framework,
        id: String,
        result: ControlCheckResult,
        spec: Option<&SpecControl>,
    ) {
        let checks = result.checks.unwrap_or_default();
        let failed: Vec<&Check> = checks.iter().filter(|c| c.success != Some(true)).collect();
        // Controls that found nothing carry one placeholder check (`success: true`, no id).
        let real_checks = checks
            .iter()
            .any(|c| c.check_id.as_deref().is_some_and(|id| !id.is_empty()));
        let status = if !failed.is_empty() {
            ControlStatus::Fail
        } else if real_checks {
            ControlStatus::Pass
        } else {
            default_status(
                result
                    .status
                    .as_deref()
                    .or(spec.and_then(|s| s.default_status.as_deref())),
            )
            .unwrap_or(ControlStatus::Pass)
        };
        let mut details = json!({ "scanner": SCANNER });
        let description = result
            .description
            .clone()
            .or_else(|| spec.and_then(|s| s.description.clone()));
        insert_some(&mut details, "description", description);
        if !failed.is_empty() {
            let mut check_ids: Vec<String> = Vec::new();
            let mut targets: Vec<String> = Vec::new();
            let mut remediation = None;
            for check in &failed {
                if let Some(cid) = check.check_id.clone().filter(|c| !c.is_empty())
                    && !check_ids.contains(&cid)
                {
                    check_ids.push(cid);
                }
                if let Some(target) = check.target.clone().filter(|t| !t.is_empty())
                    && !targets.contains(&target)
                {
                    targets.push(target);
                }
                if remediation.is_none() {
                    remediation = check.remediation.clone().filter(|r| !r.is_empty());
                }
            }
            let affected = targets.len();
            targets.truncate(MAX_TARGETS);
            insert_some(&mut details, "checks", Some(check_ids));
            insert_some(&mut details, "failed_targets", Some(targets));
            insert_some(&mut details, "affected_targets", Some(affected));
            insert_some(&mut details, "remediation", remediation);
        }
        let control = ControlInput {
            id,
            title: result.name.or_else(|| spec.and_then(|s| s.name.clone())),
            severity: result
                .severity
                .filter(|s| !s.trim().is_empty())
                .or_else(|| spec.and_then(|s| s.severity.clone())),
            status,
            failed: Some(i32::try_from(failed.len()).unwrap_or(i32::MAX)),
            details,
        };
        self.control(at, framework, control);
    }

    fn summary_control(
        &mut self,
        at: &str,
        framework: &Framework,
        id: String,
        c: ControlCheckSummary,
        spec: Option<&SpecControl>,
    ) {
        // No count means the control cannot be checked automatically.
        let status = match c.total_fail {
            Some(n) if n > 0 => ControlStatus::Fail,
            Some(_) => ControlStatus::Pass,
            None => ControlStatus::Manual,
        };
        let mut details = json!({ "scanner": SCANNER, "checks": spec_check_ids(spec) });
        insert_some(
            &mut details,
            "description",
            spec.and_then(|s| s.description.clone()),
        );
        let control = ControlInput {
            id,
            title: c.name.or_else(|| spec.and_then(|s| s.name.clone())),
            severity: c
                .severity
                .filter(|s| !s.trim().is_empty())
                .or_else(|| spec.and_then(|s| s.severity.clone())),
            status,
            failed: c.total_fail.map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
            details,
        };
        self.control(at, framework, control);
    }

    fn control(&mut self, at: &str, framework: &Framework, c: ControlInput) {
        let severity = self.b.severity(at, c.severity.as_deref());
        let title = c
            .title
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| c.id.clone());
        if c.status == ControlStatus::Fail {
            let mut details = c.details.clone();
            insert_some(&mut details, "framework", Some(framework.name.clone()));
            self.b.finding(FindingRecord {
                fingerprint: Fingerprint::of("control", &[&framework.id, &c.id, "cluster"]),
                kind: FindingKind::Control,
                severity,
                title: format!("{} {title}", c.id),
                vulnerability_id: None,
                component: None,
                rule_id: Some(format!("{}:{}", framework.id, c.id)),
                image: None,
                workload: None,
                in_cluster: true,
                resource: None,
                fixed_version: None,
                scope: framework.scope,
                details: details.into(),
            });
        }
        self.b.control(ControlResultRecord {
            framework_id: framework.id.clone(),
            framework_name: framework.name.clone(),
            framework_version: framework.version.clone(),
            control_id: c.id,
            title,
            section: None,
            severity,
            status: c.status,
            total_checks: None,
            failed_checks: c.failed,
            details: c.details,
        });
    }
}

struct Framework {
    id: String,
    name: String,
    version: Option<String>,
    scope: usize,
}

struct ControlInput {
    id: String,
    title: Option<String>,
    severity: Option<String>,
    status: ControlStatus,
    failed: Option<i32>,
    details: Value,
}

/// The check ids a control of the spec maps to.
fn spec_check_ids(spec: Option<&SpecControl>) -> Vec<String> {
    spec.and_then(|s| s.checks.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|c| c.id.clone())
        .collect()
}

/// A control's default status word (used when it has no automated check).
fn default_status(word: Option<&str>) -> Option<ControlStatus> {
    match word?.trim().to_ascii_uppercase().as_str() {
        "PASS" => Some(ControlStatus::Pass),
        "FAIL" => Some(ControlStatus::Fail),
        "WARN" => Some(ControlStatus::Warn),
        "MANUAL" => Some(ControlStatus::Manual),
        _ => None,
    }
}

/// Trivy already masks the secret in its match line; keep at most a short prefix of it, and
/// nothing of a line that is not masked.
fn redacted(matched: &str) -> String {
    if matched.is_empty() {
        return String::new();
    }
    if !matched.contains("***") {
        return "(redacted)".to_owned();
    }
    let mut out: String = matched.chars().take(MAX_MATCH).collect();
    if out.len() < matched.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests;
