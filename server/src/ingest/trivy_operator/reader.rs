//! Reading one resource into the report: the workload it is about, the image it names, and
//! its vulnerabilities, secrets and failed checks as findings. Compliance reports are read in
//! [`super::compliance`].

use std::collections::HashMap;

use serde_json::json;

use super::schema::{Check, ObjectMeta, ReportData, Resource, Secret, Vulnerability};
use super::{API_GROUP, Kind, MAX_MATCH, SCANNER};
use crate::domain::component::Component;
use crate::domain::fingerprint::Fingerprint;
use crate::domain::image_ref::{ImageRef, normalise_digest};
use crate::ingest::model::{
    FindingKind, FindingRecord, ImageAsset, ReportBuilder, VulnerabilityInfo, WorkloadAsset,
    insert_some, parse_timestamp,
};

pub(super) fn label(meta: &ObjectMeta, key: &str) -> Option<String> {
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
pub(super) fn workload_of(meta: &ObjectMeta) -> Option<WorkloadAsset> {
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
pub(super) fn image_of(report: &ReportData<'_>) -> Option<ImageAsset> {
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
pub(super) struct Target {
    pub(super) scope: usize,
    pub(super) workload: Option<usize>,
    pub(super) image: Option<usize>,
    /// Fingerprint asset key: the image key, or the report's resource.
    pub(super) asset_key: String,
    pub(super) container: Option<String>,
}

pub(super) struct Reader {
    pub(super) b: ReportBuilder,
    pub(super) latest: Option<chrono::DateTime<chrono::Utc>>,
    pub(super) version: Option<String>,
    pub(super) artifacts: Vec<String>,
}

impl Reader {
    pub(super) fn saw_time(&mut self, at: Option<&str>) {
        if let Some(t) = at.and_then(parse_timestamp)
            && self.latest.is_none_or(|l| t > l)
        {
            self.latest = Some(t);
        }
    }

    pub(super) fn resource(
        &mut self,
        pointer: &str,
        kind: Kind,
        kind_name: &str,
        resource: Resource<'_>,
    ) {
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

    pub(super) fn workload_report(
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

    pub(super) fn vulnerability(
        &mut self,
        at: &str,
        v: Vulnerability,
        t: &Target,
        os_family: Option<&str>,
    ) {
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

    pub(super) fn secret(&mut self, at: &str, s: Secret, t: &Target) {
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

    pub(super) fn check(&mut self, at: &str, c: Check, kind: FindingKind, t: &Target) {
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
}

/// Trivy already masks the secret in its match line; keep at most a short prefix of it, and
/// nothing of a line that is not masked.
pub(super) fn redacted(matched: &str) -> String {
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
