//! Reading a Kubescape report into the report: frameworks and their control results from the
//! summary, and each resource's failed controls as findings about its workload. Finding the
//! parts of the document is in [`super`].

use std::collections::{BTreeMap, HashMap, HashSet};

use app::model::Severity;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::schema::{
    ControlSummary, FrameworkSummary, Object, ResourceControl, ResourceEntry, ResultEntry, Rule,
    SummaryDetails,
};
use super::{MAX_PATHS, SCANNER};
use crate::domain::fingerprint::Fingerprint;
use crate::ingest::model::{
    ControlResultRecord, ControlStatus, FindingKind, FindingRecord, ReportBuilder, WorkloadAsset,
    escape_pointer, insert_some, nonempty,
};

/// (pointer token, id when keyed by it, control) triples of a control collection: kubescape
/// writes a map keyed by control id; a plain list is read too.
pub(super) fn control_entries<'a>(
    b: &mut ReportBuilder,
    at: &str,
    raw: Option<&'a RawValue>,
) -> Vec<(String, Option<String>, &'a RawValue)> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    let text = raw.get().trim_start();
    let entries = if text.starts_with('[') {
        serde_json::from_str::<Vec<&RawValue>>(raw.get()).map(|list| {
            list.into_iter()
                .enumerate()
                .map(|(i, raw)| (i.to_string(), None, raw))
                .collect()
        })
    } else if text.starts_with("null") {
        Ok(Vec::new())
    } else {
        serde_json::from_str::<BTreeMap<String, &RawValue>>(raw.get()).map(|map| {
            map.into_iter()
                .map(|(id, raw)| (escape_pointer(&id), Some(id), raw))
                .collect()
        })
    };
    entries.unwrap_or_else(|e| {
        b.warn(at, format!("controls skipped: {e}"));
        Vec::new()
    })
}

/// What a resource result is about.
pub(super) struct Named {
    pub(super) workload: WorkloadAsset,
    pub(super) source: Option<String>,
}

pub(super) struct Reader<'r> {
    pub(super) b: &'r mut ReportBuilder,
    pub(super) scope: usize,
    pub(super) target: &'r str,
    /// Control id → kubescape score (baseScore, else scoreFactor), from the summary.
    pub(super) scores: HashMap<String, f64>,
}

impl Reader<'_> {
    pub(super) fn summary(&mut self, summary: SummaryDetails<'_>) {
        let mut covered: HashSet<String> = HashSet::new();
        for (i, raw) in summary
            .frameworks
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let at = format!("/summaryDetails/frameworks/{i}");
            let framework = match serde_json::from_str::<FrameworkSummary<'_>>(raw.get()) {
                Ok(f) => f,
                Err(e) => {
                    self.b.warn(at, format!("framework skipped: {e}"));
                    continue;
                }
            };
            let Some(name) = nonempty(framework.name.as_deref()).map(str::to_owned) else {
                self.b.warn(at, "framework skipped: no name");
                continue;
            };
            let version = nonempty(framework.version.as_deref()).map(str::to_owned);
            let mut id = format!("kubescape-{}", slug(&name));
            if let Some(v) = &version
                && !id.contains(&slug(v))
            {
                id = format!("{id}-{}", slug(v));
            }
            let fw = Framework { id, name, version };
            let controls = control_entries(self.b, &format!("{at}/controls"), framework.controls);
            for (token, key, raw) in controls {
                let control_at = format!("{at}/controls/{token}");
                if let Some(id) = self.control(&control_at, &fw, key, raw) {
                    covered.insert(id);
                }
            }
        }
        // Controls no framework lists (a scan of single controls).
        let controls = control_entries(self.b, "/summaryDetails/controls", summary.controls);
        let loose = Framework {
            id: "kubescape".to_owned(),
            name: "Kubescape controls".to_owned(),
            version: None,
        };
        for (token, key, raw) in controls {
            let at = format!("/summaryDetails/controls/{token}");
            let parsed = serde_json::from_str::<ControlSummary>(raw.get());
            if let Ok(c) = &parsed {
                let id = nonempty(c.control_id.as_deref()).or(key.as_deref());
                if let Some(id) = id {
                    if let Some(score) = c.base_score.or(c.score_factor) {
                        self.scores.entry(id.to_owned()).or_insert(score);
                    }
                    if covered.contains(id) {
                        continue;
                    }
                }
            }
            self.control(&at, &loose, key, raw);
        }
    }

    /// Reads one control summary of a framework; returns its id.
    pub(super) fn control(
        &mut self,
        at: &str,
        fw: &Framework,
        key: Option<String>,
        raw: &RawValue,
    ) -> Option<String> {
        self.b.record();
        let c = match serde_json::from_str::<ControlSummary>(raw.get()) {
            Ok(c) => c,
            Err(e) => {
                self.b.warn(at, format!("control skipped: {e}"));
                return None;
            }
        };
        let Some(id) = nonempty(c.control_id.as_deref())
            .or(nonempty(key.as_deref()))
            .map(str::to_owned)
        else {
            self.b.warn(at, "control skipped: no controlID");
            return None;
        };
        let score = c.base_score.or(c.score_factor);
        if let Some(score) = score {
            self.scores.entry(id.clone()).or_insert(score);
        }
        let (word, sub_status) = match (&c.status_info, &c.status) {
            (Some(info), _) if nonempty(info.status.as_deref()).is_some() => {
                (info.status.clone(), info.sub_status.clone())
            }
            (_, Some(Value::String(word))) => (Some(word.clone()), None),
            (_, Some(Value::Object(map))) => (
                map.get("status").and_then(Value::as_str).map(str::to_owned),
                map.get("subStatus")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            ),
            _ => (None, None),
        };
        let status = self.status(at, word.as_deref(), sub_status.as_deref());
        let severity = severity_of(score);
        let title = nonempty(c.name.as_deref()).unwrap_or(&id).to_owned();
        let counters = c.resource_counters;
        let failed = counters.as_ref().and_then(|n| n.failed_resources);
        let total = counters.as_ref().map(|n| {
            n.passed_resources.unwrap_or(0)
                + n.failed_resources.unwrap_or(0)
                + n.skipped_resources.unwrap_or(0)
        });
        let section = c
            .category
            .and_then(|cat| cat.name)
            .filter(|n| !n.trim().is_empty());
        let mut details = json!({ "scanner": SCANNER });
        insert_some(&mut details, "status", word.filter(|w| !w.is_empty()));
        insert_some(
            &mut details,
            "sub_status",
            sub_status.filter(|s| !s.is_empty()),
        );
        insert_some(&mut details, "score_factor", c.score_factor);
        insert_some(&mut details, "base_score", c.base_score);
        insert_some(&mut details, "score", c.score);
        insert_some(&mut details, "compliance_score", c.compliance_score);
        if let Some(n) = &counters {
            insert_some(&mut details, "passed_resources", n.passed_resources);
            insert_some(&mut details, "failed_resources", n.failed_resources);
            insert_some(&mut details, "skipped_resources", n.skipped_resources);
            insert_some(&mut details, "excluded_resources", n.excluded_resources);
        }
        if status == ControlStatus::Fail {
            let mut finding_details = details.clone();
            insert_some(&mut finding_details, "framework", Some(fw.name.clone()));
            self.b.finding(FindingRecord {
                fingerprint: Fingerprint::of("control", &[&fw.id, &id, self.target]),
                kind: FindingKind::Control,
                severity,
                title: format!("{id} {title}"),
                vulnerability_id: None,
                component: None,
                rule_id: Some(format!("{}:{id}", fw.id)),
                image: None,
                workload: None,
                in_cluster: true,
                resource: None,
                fixed_version: None,
                scope: self.scope,
                details: finding_details.into(),
            });
        }
        self.b.control(ControlResultRecord {
            framework_id: fw.id.clone(),
            framework_name: fw.name.clone(),
            framework_version: fw.version.clone(),
            control_id: id.clone(),
            title,
            section,
            severity,
            status,
            total_checks: total.map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
            failed_checks: failed.map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
            details,
        });
        Some(id)
    }

    pub(super) fn status(
        &mut self,
        at: &str,
        word: Option<&str>,
        sub_status: Option<&str>,
    ) -> ControlStatus {
        let word = word.unwrap_or_default().trim().to_ascii_lowercase();
        let sub = sub_status.unwrap_or_default().to_ascii_lowercase();
        match word.as_str() {
            "passed" | "irrelevant" | "excluded" => ControlStatus::Pass,
            "failed" => ControlStatus::Fail,
            "skipped" if sub.contains("review") => ControlStatus::Manual,
            "skipped" => ControlStatus::Skip,
            "warning" => ControlStatus::Warn,
            _ => {
                self.b.warn(
                    at,
                    format!("status '{word}' is not a kubescape status; recorded as skip"),
                );
                ControlStatus::Skip
            }
        }
    }

    /// Names the scanned resources by id.
    pub(super) fn resources(&mut self, list: Vec<&RawValue>) -> HashMap<String, Named> {
        let mut named = HashMap::new();
        for (i, raw) in list.into_iter().enumerate() {
            let at = format!("/resources/{i}");
            let entry = match serde_json::from_str::<ResourceEntry<'_>>(raw.get()) {
                Ok(entry) => entry,
                Err(e) => {
                    self.b.warn(at, format!("resource skipped: {e}"));
                    continue;
                }
            };
            let Some(id) = entry.resource_id.filter(|id| !id.is_empty()) else {
                continue;
            };
            let object = entry
                .object
                .and_then(|o| serde_json::from_str::<Object>(o.get()).ok());
            let Some(object) = object else {
                continue; // the id alone still names it
            };
            let meta = object.metadata.as_ref();
            let kind = nonempty(object.kind.as_deref());
            let name =
                nonempty(meta.and_then(|m| m.name.as_deref())).or(nonempty(object.name.as_deref()));
            let namespace = nonempty(meta.and_then(|m| m.namespace.as_deref()))
                .or(nonempty(object.namespace.as_deref()))
                .unwrap_or_default();
            let (Some(kind), Some(name)) = (kind, name) else {
                continue;
            };
            let source = entry
                .source
                .and_then(|s| s.relative_path)
                .or(object.source_path)
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty());
            named.insert(
                id,
                Named {
                    workload: WorkloadAsset {
                        namespace: namespace.to_owned(),
                        kind: kind.to_owned(),
                        name: name.to_owned(),
                    },
                    source,
                },
            );
        }
        named
    }

    pub(super) fn result(
        &mut self,
        at: &str,
        entry: ResultEntry<'_>,
        resources: &HashMap<String, Named>,
    ) {
        let resource_id = entry.resource_id.unwrap_or_default();
        let named = resources.get(&resource_id);
        let workload = named
            .map(|n| n.workload.clone())
            .or_else(|| workload_from_id(&resource_id));
        let source = named.and_then(|n| n.source.clone());
        let mut target: Option<(Option<usize>, String)> = None;
        for (j, raw) in entry.controls.unwrap_or_default().into_iter().enumerate() {
            let control_at = format!("{at}/controls/{j}");
            self.b.record();
            let c = match serde_json::from_str::<ResourceControl>(raw.get()) {
                Ok(c) => c,
                Err(e) => {
                    self.b
                        .warn(control_at, format!("resource control skipped: {e}"));
                    continue;
                }
            };
            if !failed(&c) {
                continue; // passing and skipped controls are records, not findings
            }
            let Some(id) = nonempty(c.control_id.as_deref()).map(str::to_owned) else {
                self.b
                    .warn(control_at, "resource control skipped: no controlID");
                continue;
            };
            // The asset, resolved once per resource (and only when something failed on it).
            let (workload, resource) = match &target {
                Some(t) => t.clone(),
                None => {
                    let resolved = match &workload {
                        Some(w) => {
                            let key = w.key();
                            let index = self.b.workload(w.clone());
                            let resource = match &source {
                                Some(path) => format!("{path}#{key}"),
                                None => key,
                            };
                            (Some(index), resource)
                        }
                        None if !resource_id.is_empty() => {
                            self.b.warn(
                                at,
                                format!(
                                    "resource '{resource_id}' could not be named; findings are \
                                     kept against its resource id"
                                ),
                            );
                            (None, resource_id.clone())
                        }
                        None => {
                            self.b.warn(at, "resource result skipped: no resourceID");
                            return;
                        }
                    };
                    target = Some(resolved.clone());
                    resolved
                }
            };
            let score = self.scores.get(&id).copied();
            let mut details = json!({ "scanner": SCANNER, "resource_id": resource_id });
            insert_some(&mut details, "source_path", source.clone());
            let rules = c.rules.unwrap_or_default();
            let failed_rules: Vec<&Rule> = rules
                .iter()
                .filter(|r| r.status.as_deref() == Some("failed"))
                .collect();
            let rule_names: Vec<String> =
                failed_rules.iter().filter_map(|r| r.name.clone()).collect();
            if !rule_names.is_empty() {
                insert_some(&mut details, "rules", Some(rule_names));
            }
            let paths = rule_paths(&failed_rules);
            if !paths.is_empty() {
                insert_some(&mut details, "paths", Some(paths));
            }
            insert_some(&mut details, "score_factor", score);
            self.b.finding(FindingRecord {
                fingerprint: Fingerprint::misconfiguration(&id, &resource, "cluster"),
                kind: FindingKind::Misconfiguration,
                severity: severity_of(score),
                title: nonempty(c.name.as_deref()).unwrap_or(&id).to_owned(),
                vulnerability_id: None,
                component: None,
                rule_id: Some(id),
                image: None,
                workload,
                in_cluster: true,
                resource: Some(resource),
                fixed_version: None,
                scope: self.scope,
                details: details.into(),
            });
        }
    }
}

pub(super) struct Framework {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) version: Option<String>,
}

/// Whether a control failed on a resource: its status, or (older reports) any failed rule.
pub(super) fn failed(c: &ResourceControl) -> bool {
    let word = match &c.status {
        Some(Value::Object(map)) => map.get("status").and_then(Value::as_str),
        Some(Value::String(word)) => Some(word.as_str()),
        _ => None,
    }
    .filter(|w| !w.trim().is_empty());
    match word {
        Some(word) => word.trim().eq_ignore_ascii_case("failed"),
        None => c
            .rules
            .iter()
            .flatten()
            .any(|r| r.status.as_deref() == Some("failed")),
    }
}

/// The paths failed rules point at (`failedPath`, `reviewPath`, `deletePath`, `fixPath`).
pub(super) fn rule_paths(rules: &[&Rule]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |p: String| {
        if !p.is_empty() && out.len() < MAX_PATHS && !out.contains(&p) {
            out.push(p);
        }
    };
    for rule in rules {
        for path in rule.paths.iter().flatten() {
            for key in ["failedPath", "reviewPath", "deletePath"] {
                if let Some(p) = path.get(key).and_then(Value::as_str) {
                    push(p.to_owned());
                }
            }
            if let Some(fix) = path.get("fixPath") {
                push(fix_path(fix));
            }
        }
        for p in rule.failed_paths.iter().flatten() {
            if let Some(p) = p.as_str() {
                push(p.to_owned());
            }
        }
        for fix in rule.fix_paths.iter().flatten() {
            push(fix_path(fix));
        }
    }
    out
}

/// `path=value` of a kubescape fix path (empty when it names no path).
pub(super) fn fix_path(fix: &Value) -> String {
    match (
        fix.get("path").and_then(Value::as_str),
        fix.get("value").and_then(Value::as_str),
    ) {
        (Some(path), Some(value)) if !path.is_empty() && !value.is_empty() => {
            format!("{path}={value}")
        }
        (Some(path), _) => path.to_owned(),
        _ => String::new(),
    }
}

/// Names a resource from its kubescape id: `[path=<n>/api=]<group>/<version>/<ns>/<kind>/<name>`
/// (the first object of a `/path=`-joined chain).
pub(super) fn workload_from_id(id: &str) -> Option<WorkloadAsset> {
    let head = match id.get(1..).and_then(|rest| rest.find("/path=")) {
        Some(pos) => id.get(..pos + 1).unwrap_or(id),
        None => id,
    };
    let head = match head.strip_prefix("path=") {
        Some(rest) => rest.split_once("/api=").map_or(rest, |(_, api)| api),
        None => head,
    };
    let mut parts = head.rsplitn(4, '/');
    let name = parts.next()?.trim();
    let kind = parts.next()?.trim();
    let namespace = parts.next()?.trim();
    parts.next()?; // the api version (may be empty)
    if name.is_empty() || kind.is_empty() {
        return None;
    }
    Some(WorkloadAsset {
        namespace: namespace.to_owned(),
        kind: kind.to_owned(),
        name: name.to_owned(),
    })
}

/// Kubescape's control severity scale (`ControlSeverityToInt` in its opa-utils): the base
/// score (1–10) ≥ 9 critical, ≥ 7 high, ≥ 4 medium, ≥ 1 low.
pub(super) fn severity_of(score: Option<f64>) -> Severity {
    match score {
        Some(s) if s >= 9.0 => Severity::Critical,
        Some(s) if s >= 7.0 => Severity::High,
        Some(s) if s >= 4.0 => Severity::Medium,
        Some(s) if s >= 1.0 => Severity::Low,
        _ => Severity::Unknown,
    }
}

/// Lowercase, with runs of anything but letters, digits and dots as one `-`.
pub(super) fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}
