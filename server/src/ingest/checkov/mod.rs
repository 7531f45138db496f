//! Checkov JSON (`checkov -o json`): one report object per framework (`check_type`:
//! terraform, kubernetes, dockerfile, helm, cloudformation, …), a list of them when several
//! frameworks ran, or the bare summary (`{"passed": 0, "failed": 0, …}`) Checkov prints when
//! nothing was scanned.
//!
//! Pure: bytes in, [`ParsedReport`] out. Each check is decoded on its own; a malformed one
//! becomes a warning naming its JSON pointer (`/1/results/failed_checks/3`).
//!
//! Mapping: every passed, failed and skipped check is a record; each failed check is a
//! misconfiguration finding on the scanned code (a non-image artifact, never in the cluster):
//! rule id `check_id`, resource `<file_path>#<resource>`, severity from `severity` (null in
//! open-source Checkov without a platform key → unknown), fingerprint
//! `misconfiguration(check_id, resource, "repo:<root>")`. The root is the report's `repo_id`
//! when there is one, else the scanned directory (a check's `file_abs_path` minus its
//! `file_path`). The lifecycle scope is one framework on one root, `checkov:<check_type>@<root>`
//! (`checkov:<check_type>` when no check names a file): a later run of the same framework on
//! the same directory fixes what it no longer reports, and a run that found no file at all
//! fixes nothing. `parsing_errors` become warnings. Checks of the SCA frameworks are kept as
//! misconfigurations too (their CVE is in the details).
//!
//! Skipped: passed and skipped checks (records only), `code_block`, `evaluations`,
//! `breadcrumbs`, `fixed_definition`.

use crate::ingest::model::insert_some;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::domain::fingerprint::Fingerprint;
use crate::ingest::model::{
    FindingKind, FindingRecord, ParseError, ParsedReport, ReportBuilder, ReportKind,
};

#[derive(Deserialize)]
struct Report<'a> {
    check_type: Option<String>,
    /// `checks` in Checkov's full-report variant.
    #[serde(borrow, alias = "checks")]
    results: Option<Results<'a>>,
    summary: Option<Summary>,
    repo_id: Option<String>,
    // The bare summary Checkov prints when nothing was scanned.
    checkov_version: Option<String>,
    passed: Option<Value>,
    failed: Option<Value>,
}

#[derive(Deserialize)]
struct Results<'a> {
    #[serde(borrow)]
    passed_checks: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    failed_checks: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    skipped_checks: Option<Vec<&'a RawValue>>,
    parsing_errors: Option<Vec<Value>>,
}

#[derive(Deserialize)]
struct Summary {
    checkov_version: Option<String>,
    repo_id: Option<String>,
}

#[derive(Deserialize)]
struct Check {
    check_id: Option<String>,
    bc_check_id: Option<String>,
    check_name: Option<String>,
    file_path: Option<String>,
    file_abs_path: Option<String>,
    resource: Option<String>,
    severity: Option<Value>,
    guideline: Option<String>,
    file_line_range: Option<Vec<Value>>,
    vulnerability_details: Option<VulnerabilityDetails>,
}

#[derive(Deserialize)]
struct VulnerabilityDetails {
    id: Option<String>,
    package_name: Option<String>,
    package_version: Option<String>,
}

/// Paths of any check, to find the scanned directory.
#[derive(Deserialize)]
struct CheckPaths {
    file_path: Option<String>,
    file_abs_path: Option<String>,
}

/// Parses Checkov JSON output.
pub fn parse(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
    let mut b = ReportBuilder::new("checkov", ReportKind::Findings);
    let first = bytes.iter().find(|c| !c.is_ascii_whitespace());
    if first == Some(&b'[') {
        let reports: Vec<&RawValue> =
            serde_json::from_slice(bytes).map_err(|e| ParseError::from_json("Checkov JSON", &e))?;
        if let Some(i) = reports
            .iter()
            .position(|r| !r.get().trim_start().starts_with('{'))
        {
            return Err(ParseError::at(
                "wrong-format",
                format!("/{i}"),
                "this is not Checkov JSON output: a list must hold one report object per \
                 check_type",
            ));
        }
        for (i, raw) in reports.into_iter().enumerate() {
            let at = format!("/{i}");
            match serde_json::from_str::<Report<'_>>(raw.get()) {
                Ok(report) if is_report(&report) => read_report(&mut b, &at, report),
                Ok(report) if is_bare_summary(&report) => {
                    b.scanner_version(report.checkov_version);
                }
                Ok(_) => b.warn(at, "report skipped: it has no check_type or results"),
                Err(e) => b.warn(at, format!("report skipped: {e}")),
            }
        }
        return Ok(b.finish());
    }
    let report: Report<'_> =
        serde_json::from_slice(bytes).map_err(|e| ParseError::from_json("Checkov JSON", &e))?;
    if is_report(&report) {
        read_report(&mut b, "", report);
    } else if is_bare_summary(&report) {
        b.scanner_version(report.checkov_version);
    } else if !serde_json::from_slice::<Map<String, Value>>(bytes).is_ok_and(|m| m.is_empty()) {
        return Err(ParseError::new(
            "wrong-format",
            "this is not Checkov JSON output: it has no check_type or results (produce it \
             with `checkov -o json`)",
        ));
    }
    Ok(b.finish())
}

fn is_report(report: &Report<'_>) -> bool {
    report.check_type.is_some() || report.results.is_some()
}

fn is_bare_summary(report: &Report<'_>) -> bool {
    report.checkov_version.is_some() || (report.passed.is_some() && report.failed.is_some())
}

fn read_report(b: &mut ReportBuilder, pointer: &str, report: Report<'_>) {
    let check_type = report
        .check_type
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    let summary = report.summary;
    if let Some(version) = summary.as_ref().and_then(|s| s.checkov_version.clone()) {
        b.scanner_version(Some(version));
    }
    let results = report.results;
    let [passed, failed, skipped] = match &results {
        Some(r) => [
            r.passed_checks.clone().unwrap_or_default(),
            r.failed_checks.clone().unwrap_or_default(),
            r.skipped_checks.clone().unwrap_or_default(),
        ],
        None => [Vec::new(), Vec::new(), Vec::new()],
    };
    let repo_id = report
        .repo_id
        .or_else(|| summary.and_then(|s| s.repo_id))
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    let root = repo_id.or_else(|| {
        failed
            .iter()
            .chain(&passed)
            .chain(&skipped)
            .find_map(|raw| scan_root(raw.get()))
    });
    b.artifact(Some(root.clone().unwrap_or_else(|| check_type.clone())));
    let scope = b.scope(match &root {
        Some(root) => format!("checkov:{check_type}@{root}"),
        None => format!("checkov:{check_type}"),
    });
    let asset_key = format!("repo:{}", root.as_deref().unwrap_or_default());
    let results_at = format!("{pointer}/results");
    for (i, raw) in failed.into_iter().enumerate() {
        let at = format!("{results_at}/failed_checks/{i}");
        b.record();
        match serde_json::from_str::<Check>(raw.get()) {
            Ok(check) => failed_check(b, &at, check, &check_type, &asset_key, scope),
            Err(e) => b.warn(at, format!("check skipped: {e}")),
        }
    }
    for _ in passed.iter().chain(&skipped) {
        b.record();
    }
    let parsing_errors = results.and_then(|r| r.parsing_errors).unwrap_or_default();
    for (i, error) in parsing_errors.iter().enumerate() {
        let file = match error {
            Value::String(file) => file.clone(),
            other => other.to_string(),
        };
        b.warn(
            format!("{results_at}/parsing_errors/{i}"),
            format!("Checkov could not parse {file}; its checks are missing from this report"),
        );
    }
}

/// The directory Checkov scanned: a check's absolute path minus its path relative to the
/// scan root.
fn scan_root(check: &str) -> Option<String> {
    let paths: CheckPaths = serde_json::from_str(check).ok()?;
    let relative = paths.file_path?;
    let absolute = paths.file_abs_path?;
    let relative = relative.trim();
    if relative.is_empty() || relative == absolute.trim() {
        return None;
    }
    let root = absolute
        .trim()
        .strip_suffix(relative)?
        .trim_end_matches('/');
    Some(if root.is_empty() { "/" } else { root }.to_owned())
}

fn failed_check(
    b: &mut ReportBuilder,
    at: &str,
    check: Check,
    check_type: &str,
    asset_key: &str,
    scope: usize,
) {
    let Some(check_id) = check
        .check_id
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
    else {
        return b.warn(at, "check skipped: no check_id");
    };
    let severity_word = match &check.severity {
        Some(Value::String(word)) => Some(word.as_str()),
        _ => None,
    };
    let severity = b.severity(at, severity_word);
    let file = check.file_path.unwrap_or_default();
    let resource_name = check.resource.unwrap_or_default();
    let resource = match (file.is_empty(), resource_name.is_empty()) {
        (false, false) => format!("{file}#{resource_name}"),
        (false, true) => file.clone(),
        (true, _) => resource_name.clone(),
    };
    let fingerprint = Fingerprint::misconfiguration(&check_id, &resource, asset_key);
    let title = check
        .check_name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| check_id.clone());
    let mut details = json!({
        "scanner": "checkov",
        "check_type": check_type,
        "file_path": file,
        "resource": resource_name,
    });
    insert_some(&mut details, "bc_check_id", check.bc_check_id);
    insert_some(&mut details, "guideline", check.guideline);
    insert_some(&mut details, "file_abs_path", check.file_abs_path);
    let lines: Vec<i64> = check
        .file_line_range
        .iter()
        .flatten()
        .filter_map(Value::as_i64)
        .collect();
    if let [start, end] = lines.as_slice() {
        insert_some(&mut details, "start_line", Some(*start));
        insert_some(&mut details, "end_line", Some(*end));
    }
    if let Some(v) = check.vulnerability_details {
        insert_some(&mut details, "vulnerability_id", v.id);
        insert_some(&mut details, "package_name", v.package_name);
        insert_some(&mut details, "package_version", v.package_version);
    }
    b.finding(FindingRecord {
        fingerprint,
        kind: FindingKind::Misconfiguration,
        severity,
        title,
        vulnerability_id: None,
        component: None,
        rule_id: Some(check_id),
        image: None,
        workload: None,
        in_cluster: false,
        resource: Some(resource),
        fixed_version: None,
        scope,
        details: details.into(),
    });
}

#[cfg(test)]
mod tests;
