//! `ClusterComplianceReport`: one control result per control of the framework (from the
//! detail report, else the summary report), failed controls also as control findings. The
//! other report kinds are read in [`super::reader`].

use std::collections::{HashMap, HashSet};

use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::reader::Reader;
use super::schema::{
    Check, ComplianceSpec, ComplianceSpecWrapper, ComplianceStatus, ControlCheckResult,
    ControlCheckSummary, ObjectMeta, SpecControl,
};
use super::{MAX_TARGETS, SCANNER};
use crate::domain::fingerprint::Fingerprint;
use crate::ingest::model::{
    ControlResultRecord, ControlStatus, FindingKind, FindingRecord, insert_some,
};

impl Reader {
    pub(super) fn compliance(
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

    pub(super) fn detail_control(
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

    pub(super) fn summary_control(
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

    pub(super) fn control(&mut self, at: &str, framework: &Framework, c: ControlInput) {
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

pub(super) struct Framework {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) version: Option<String>,
    pub(super) scope: usize,
}

pub(super) struct ControlInput {
    pub(super) id: String,
    pub(super) title: Option<String>,
    pub(super) severity: Option<String>,
    pub(super) status: ControlStatus,
    pub(super) failed: Option<i32>,
    pub(super) details: Value,
}

/// The check ids a control of the spec maps to.
pub(super) fn spec_check_ids(spec: Option<&SpecControl>) -> Vec<String> {
    spec.and_then(|s| s.checks.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|c| c.id.clone())
        .collect()
}

/// A control's default status word (used when it has no automated check).
pub(super) fn default_status(word: Option<&str>) -> Option<ControlStatus> {
    match word?.trim().to_ascii_uppercase().as_str() {
        "PASS" => Some(ControlStatus::Pass),
        "FAIL" => Some(ControlStatus::Fail),
        "WARN" => Some(ControlStatus::Warn),
        "MANUAL" => Some(ControlStatus::Manual),
        _ => None,
    }
}
