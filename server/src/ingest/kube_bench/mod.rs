//! kube-bench JSON (`kube-bench run --json`): CIS Kubernetes Benchmark results of one node.
//!
//! Layouts read: `{"Controls": [...], "Totals": {...}}` (the default), the bare list of control
//! groups (`--noTotals`), a single control group, and several of these concatenated (older
//! versions printed one JSON document per target). A control group (`id`, `version`, `text`,
//! `node_type`, `tests[]`) holds sections (`section`, `desc`, `results[]`), which hold the
//! checks (`test_number`, `test_desc`, `audit`, `remediation`, `status`, `scored`,
//! `expected_result`, `actual_value`, `reason`).
//!
//! Pure: bytes in, [`ParsedReport`] out. Each control group, section and check is decoded on
//! its own; a malformed one becomes a warning naming its JSON pointer
//! (`/Controls/0/tests/2/results/5`).
//!
//! Mapping: every check is a record and a control result of framework `cis-kubernetes-<v>`
//! (`<v>` is the group's benchmark `version` without a `cis-` prefix, e.g. `1.6`, `1.7`,
//! `gke-1.2.0`; plain `cis-kubernetes` when the report gives none), control id = `test_number`,
//! status PASS/FAIL/WARN/INFO → pass/fail/warn/info. kube-bench rates no severity: controls and
//! findings have severity unknown. Only FAIL becomes a finding (kind `control`, `in_cluster`,
//! rule id `<framework>:<test_number>`, fingerprint `control(framework, test_number,
//! node_type)`): kube-bench's WARN means "check this manually" (a manual or unscorable check),
//! so it is a `warn` control result, not a finding. kube-bench does not name the node, so the
//! lifecycle scope is `kube-bench:<node_type>` (master, etcd, controlplane, node, policies, ...),
//! declared for every node type in the report even when all its checks pass.
//!
//! Skipped: `Totals` and the per-group / per-section counters (derived from the checks),
//! `test_info` (a copy of the remediation), `AuditEnv` / `AuditConfig` (the commands, not
//! their output).

use crate::ingest::model::{insert_some, nonempty};
use std::collections::BTreeMap;

use app::model::Severity;
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use crate::domain::fingerprint::Fingerprint;
use crate::ingest::model::{
    ControlResultRecord, ControlStatus, FindingKind, FindingRecord, ParseError, ParsedReport,
    ReportBuilder, ReportKind,
};

const SCANNER: &str = "kube-bench";

/// Evidence strings (audit output, expected result) are kept up to this many characters.
const MAX_TEXT: usize = 2000;

#[derive(Deserialize)]
struct Group<'a> {
    id: Option<String>,
    version: Option<String>,
    detected_version: Option<String>,
    text: Option<String>,
    node_type: Option<String>,
    #[serde(borrow)]
    tests: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct Section<'a> {
    section: Option<String>,
    desc: Option<String>,
    #[serde(borrow)]
    results: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct Check {
    test_number: Option<String>,
    test_desc: Option<String>,
    audit: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    remediation: Option<String>,
    status: Option<String>,
    actual_value: Option<String>,
    scored: Option<bool>,
    expected_result: Option<String>,
    reason: Option<String>,
}

/// Parses a kube-bench JSON report.
pub fn parse(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
    let documents = serde_json::Deserializer::from_slice(bytes)
        .into_iter::<&RawValue>()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ParseError::from_json("kube-bench JSON", &e))?;
    if documents.is_empty() {
        return Err(ParseError::new("invalid-json", "the body is empty"));
    }
    // (JSON pointer, control group) pairs, in report order.
    let mut groups: Vec<(String, &RawValue)> = Vec::new();
    let several = documents.len() > 1;
    for (n, document) in documents.iter().enumerate() {
        let prefix = if several {
            format!("/{n}")
        } else {
            String::new()
        };
        groups_of(&prefix, document, &mut groups)?;
    }
    let mut b = ReportBuilder::new(SCANNER, ReportKind::Controls);
    let entries = groups.len();
    let mut decoded = Vec::with_capacity(entries);
    for (at, raw) in groups {
        match serde_json::from_str::<Group<'_>>(raw.get()) {
            Ok(group) if group.tests.is_some() || group.node_type.is_some() => {
                decoded.push((at, group));
            }
            Ok(_) => b.warn(
                at,
                "skipped: not a kube-bench control group (no tests, no node_type)",
            ),
            Err(e) => b.warn(at, format!("control group skipped: {e}")),
        }
    }
    if decoded.is_empty() && entries > 0 {
        return Err(ParseError::new(
            "wrong-format",
            "this is not a kube-bench JSON report: none of its entries is a control group with \
             'node_type' and 'tests' (produce it with `kube-bench run --json`)",
        ));
    }
    let mut node_types: Vec<String> = Vec::new();
    for (at, group) in decoded {
        let node_type = nonempty(group.node_type.as_deref()).unwrap_or("unspecified");
        if !node_types.iter().any(|n| n == node_type) {
            node_types.push(node_type.to_owned());
        }
        read_group(&mut b, &at, &group, node_type);
    }
    if !node_types.is_empty() {
        b.artifact(Some(format!("kube-bench {}", node_types.join(", "))));
    }
    Ok(b.finish())
}

/// Collects the control groups of one top-level document.
fn groups_of<'a>(
    prefix: &str,
    document: &'a RawValue,
    out: &mut Vec<(String, &'a RawValue)>,
) -> Result<(), ParseError> {
    let text = document.get().trim_start();
    if text.starts_with('[') {
        let list: Vec<&RawValue> = serde_json::from_str(document.get())
            .map_err(|e| ParseError::from_json("kube-bench JSON", &e))?;
        out.extend(
            list.into_iter()
                .enumerate()
                .map(|(i, raw)| (format!("{prefix}/{i}"), raw)),
        );
        return Ok(());
    }
    if !text.starts_with('{') {
        return Err(ParseError::new(
            "wrong-format",
            "this is not a kube-bench JSON report: expected an object with 'Controls' or a list \
             of control groups (produce it with `kube-bench run --json`)",
        ));
    }
    let fields: BTreeMap<String, &RawValue> = serde_json::from_str(document.get())
        .map_err(|e| ParseError::from_json("kube-bench JSON", &e))?;
    if let Some(controls) = fields.get("Controls") {
        let list: Option<Vec<&RawValue>> = serde_json::from_str(controls.get()).map_err(|e| {
            ParseError::at(
                "wrong-format",
                format!("{prefix}/Controls"),
                format!("this is not a kube-bench JSON report: 'Controls' is not a list: {e}"),
            )
        })?;
        out.extend(
            list.unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(i, raw)| (format!("{prefix}/Controls/{i}"), raw)),
        );
        Ok(())
    } else if fields.contains_key("tests") && fields.contains_key("node_type") {
        out.push((prefix.to_owned(), document));
        Ok(())
    } else {
        Err(ParseError::new(
            "wrong-format",
            "this is not a kube-bench JSON report: it has no 'Controls' list and is not a \
             control group (produce it with `kube-bench run --json`)",
        ))
    }
}

/// The framework a control group's checks belong to.
struct Framework {
    id: String,
    version: Option<String>,
}

impl Framework {
    fn of(version: Option<&str>) -> Framework {
        let version = nonempty(version).map(|v| {
            let lower = v.to_ascii_lowercase();
            match lower.strip_prefix("cis-") {
                Some(rest) if !rest.is_empty() => rest.to_owned(),
                _ => lower,
            }
        });
        let id = match &version {
            Some(v) => format!("cis-kubernetes-{v}"),
            None => "cis-kubernetes".to_owned(),
        };
        Framework { id, version }
    }
}

fn read_group(b: &mut ReportBuilder, at: &str, group: &Group<'_>, node_type: &str) {
    // Declared before the checks: a node type whose checks all pass still fixes what it had.
    let scope = b.scope(format!("kube-bench:{node_type}"));
    let framework = Framework::of(group.version.as_deref());
    for (j, raw) in group.tests.iter().flatten().enumerate() {
        let section_at = format!("{at}/tests/{j}");
        let section = match serde_json::from_str::<Section<'_>>(raw.get()) {
            Ok(section) => section,
            Err(e) => {
                b.warn(section_at, format!("section skipped: {e}"));
                continue;
            }
        };
        let label = match (
            nonempty(section.section.as_deref()),
            nonempty(section.desc.as_deref()),
        ) {
            (Some(id), Some(desc)) => Some(format!("{id} {desc}")),
            (Some(one), None) | (None, Some(one)) => Some(one.to_owned()),
            (None, None) => None,
        };
        for (k, raw) in section.results.iter().flatten().enumerate() {
            let check_at = format!("{section_at}/results/{k}");
            b.record();
            match serde_json::from_str::<Check>(raw.get()) {
                Ok(check) => {
                    let context = Context {
                        framework: &framework,
                        group,
                        node_type,
                        section: label.as_deref(),
                        scope,
                    };
                    read_check(b, &check_at, check, &context);
                }
                Err(e) => b.warn(check_at, format!("check skipped: {e}")),
            }
        }
    }
}

struct Context<'a> {
    framework: &'a Framework,
    group: &'a Group<'a>,
    node_type: &'a str,
    section: Option<&'a str>,
    scope: usize,
}

fn read_check(b: &mut ReportBuilder, at: &str, check: Check, cx: &Context<'_>) {
    let Some(id) = nonempty(check.test_number.as_deref()).map(str::to_owned) else {
        return b.warn(at, "check skipped: no test_number");
    };
    let word = check.status.as_deref().unwrap_or_default().trim();
    let status = match word.to_ascii_uppercase().as_str() {
        "PASS" => ControlStatus::Pass,
        "FAIL" => ControlStatus::Fail,
        "WARN" => ControlStatus::Warn,
        "INFO" => ControlStatus::Info,
        "MANUAL" => ControlStatus::Manual,
        "SKIP" => ControlStatus::Skip,
        _ => {
            b.warn(
                at,
                format!("status '{word}' is not a kube-bench status; recorded as skip"),
            );
            ControlStatus::Skip
        }
    };
    let title = nonempty(check.test_desc.as_deref())
        .unwrap_or(&id)
        .to_owned();
    let mut details = json!({ "scanner": SCANNER, "node_type": cx.node_type });
    insert_some(&mut details, "group", nonempty(cx.group.text.as_deref()));
    insert_some(&mut details, "group_id", nonempty(cx.group.id.as_deref()));
    insert_some(&mut details, "section", cx.section);
    insert_some(
        &mut details,
        "benchmark_version",
        nonempty(cx.group.version.as_deref()),
    );
    insert_some(
        &mut details,
        "kubernetes_version",
        nonempty(cx.group.detected_version.as_deref()),
    );
    insert_some(&mut details, "scored", check.scored);
    insert_some(&mut details, "type", nonempty(check.kind.as_deref()));
    insert_some(&mut details, "audit", clipped(check.audit.as_deref()));
    insert_some(
        &mut details,
        "expected_result",
        clipped(check.expected_result.as_deref()),
    );
    insert_some(
        &mut details,
        "actual_value",
        clipped(check.actual_value.as_deref()),
    );
    insert_some(&mut details, "reason", clipped(check.reason.as_deref()));
    insert_some(
        &mut details,
        "remediation",
        clipped(check.remediation.as_deref()),
    );
    let framework = cx.framework;
    if status == ControlStatus::Fail {
        b.finding(FindingRecord {
            fingerprint: Fingerprint::of("control", &[&framework.id, &id, cx.node_type]),
            kind: FindingKind::Control,
            severity: Severity::Unknown,
            title: format!("{id} {title}"),
            vulnerability_id: None,
            component: None,
            rule_id: Some(format!("{}:{id}", framework.id)),
            image: None,
            workload: None,
            in_cluster: true,
            resource: None,
            fixed_version: None,
            scope: cx.scope,
            details: details.clone().into(),
        });
    }
    b.control(ControlResultRecord {
        framework_id: framework.id.clone(),
        framework_name: "CIS Kubernetes Benchmark".to_owned(),
        framework_version: framework.version.clone(),
        control_id: id,
        title,
        section: cx.section.map(str::to_owned),
        severity: Severity::Unknown,
        status,
        total_checks: None,
        failed_checks: None,
        details,
    });
}

/// The trimmed text, cut to [`MAX_TEXT`] characters; `None` when empty.
fn clipped(value: Option<&str>) -> Option<String> {
    let value = nonempty(value)?;
    Some(match value.char_indices().nth(MAX_TEXT) {
        Some((cut, _)) => format!("{}…", value.get(..cut).unwrap_or_default()),
        None => value.to_owned(),
    })
}

#[cfg(test)]
mod tests;
