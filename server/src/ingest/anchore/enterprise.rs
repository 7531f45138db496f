//! Anchore Enterprise (and Engine) policy evaluations: `GET /images/{digest}/check?detail=true`
//! and `anchore-cli --json evaluate check --detail`. Every gate row is a record; a `stop` or
//! `warn` row that is not whitelisted is a misconfiguration finding about the image, in its own
//! scope (`anchore-policy:<image key>`). Vulnerability outputs are in [`super::engine`].

use std::collections::BTreeMap;

use app::model::Severity;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::image_of;
use crate::domain::fingerprint::Fingerprint;
use crate::ingest::model::{
    FindingKind, FindingRecord, ReportBuilder, escape_pointer, insert_some, parse_timestamp,
};

#[derive(Deserialize)]
struct PolicyEvaluation {
    detail: Option<PolicyDetail>,
    last_evaluation: Option<String>,
    #[serde(rename = "policyId")]
    policy_id: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize)]
struct PolicyDetail {
    result: Option<PolicyResult>,
}

#[derive(Deserialize)]
struct PolicyResult {
    final_action: Option<String>,
    image_id: Option<String>,
    /// Keyed by image id; other keys (`policy_data`, `whitelist_names`, ...) are not tables.
    result: Option<BTreeMap<String, Value>>,
}

#[derive(Deserialize)]
struct Table {
    header: Option<Vec<String>>,
    rows: Option<Vec<Value>>,
    final_action: Option<String>,
}

/// The columns of a gate table; Anchore's default order when the header is missing.
const COLUMNS: [&str; 9] = [
    "Image_Id",
    "Repo_Tag",
    "Trigger_Id",
    "Gate",
    "Trigger",
    "Check_Output",
    "Gate_Action",
    "Whitelisted",
    "Policy_Id",
];

pub(super) fn read_policy_item(b: &mut ReportBuilder, at: &str, item: BTreeMap<String, &RawValue>) {
    for (digest, raw) in item {
        let at = format!("{at}/{}", escape_pointer(&digest));
        let tags = match serde_json::from_str::<BTreeMap<String, Vec<&RawValue>>>(raw.get()) {
            Ok(tags) => tags,
            Err(e) => {
                b.warn(at, format!("policy evaluation skipped: {e}"));
                continue;
            }
        };
        for (tag, evaluations) in tags {
            let at = format!("{at}/{}", escape_pointer(&tag));
            for (i, raw) in evaluations.into_iter().enumerate() {
                let at = format!("{at}/{i}");
                match serde_json::from_str::<PolicyEvaluation>(raw.get()) {
                    Ok(evaluation) => read_policy_evaluation(b, &at, &digest, &tag, evaluation),
                    Err(e) => b.warn(at, format!("policy evaluation skipped: {e}")),
                }
            }
        }
    }
}

fn read_policy_evaluation(
    b: &mut ReportBuilder,
    at: &str,
    digest: &str,
    tag: &str,
    evaluation: PolicyEvaluation,
) {
    let result = evaluation.detail.and_then(|d| d.result);
    let image_id = result.as_ref().and_then(|r| r.image_id.clone());
    let Some(image) = image_of(Some(digest), Some(tag), image_id.as_deref()) else {
        return b.warn(at, "policy evaluation skipped: no image digest or tag");
    };
    b.artifact(Some(tag.to_owned()));
    b.generated_at(
        evaluation
            .last_evaluation
            .as_deref()
            .and_then(parse_timestamp),
    );
    let index = b.image(image);
    let key = b.image_at(index).key.clone();
    let scope = b.scope(format!("anchore-policy:{key}"));
    let Some(result) = result else {
        return b.warn(
            at,
            "policy evaluation has no detail: run the check with detail",
        );
    };
    let final_action = result.final_action.clone();
    for (image_key, table) in result.result.unwrap_or_default() {
        // Only the per-image tables; `policy_data`, `policy_name`, `whitelist_*` are not.
        let Some(inner @ Value::Object(_)) = table.get("result") else {
            continue;
        };
        let table_at = format!(
            "{at}/detail/result/result/{}/result",
            escape_pointer(&image_key)
        );
        let table = match Table::deserialize(inner) {
            Ok(table) => table,
            Err(e) => {
                b.warn(table_at, format!("gate results skipped: {e}"));
                continue;
            }
        };
        let header = table
            .header
            .unwrap_or_else(|| COLUMNS.iter().map(|c| (*c).to_owned()).collect());
        let column = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
        let columns = Columns {
            trigger_id: column("Trigger_Id"),
            gate: column("Gate"),
            trigger: column("Trigger"),
            output: column("Check_Output"),
            action: column("Gate_Action"),
            whitelisted: column("Whitelisted"),
            policy_id: column("Policy_Id"),
        };
        let row_context = RowContext {
            image: index,
            key: key.clone(),
            scope,
            tag: tag.to_owned(),
            final_action: table.final_action.or_else(|| final_action.clone()),
            policy_id: evaluation.policy_id.clone(),
            status: evaluation.status.clone(),
        };
        for (j, row) in table.rows.unwrap_or_default().into_iter().enumerate() {
            read_gate_row(
                b,
                &format!("{table_at}/rows/{j}"),
                &row,
                &columns,
                &row_context,
            );
        }
    }
}

struct Columns {
    trigger_id: Option<usize>,
    gate: Option<usize>,
    trigger: Option<usize>,
    output: Option<usize>,
    action: Option<usize>,
    whitelisted: Option<usize>,
    policy_id: Option<usize>,
}

struct RowContext {
    image: usize,
    key: String,
    scope: usize,
    tag: String,
    final_action: Option<String>,
    policy_id: Option<String>,
    status: Option<String>,
}

fn read_gate_row(b: &mut ReportBuilder, at: &str, row: &Value, c: &Columns, ctx: &RowContext) {
    b.record();
    let Some(cells) = row.as_array() else {
        return b.warn(at, "gate result skipped: not a table row");
    };
    let cell = |i: Option<usize>| -> Option<String> {
        match i.and_then(|i| cells.get(i))? {
            Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    };
    let action = cell(c.action).unwrap_or_default().to_ascii_lowercase();
    let whitelisted = match c.whitelisted.and_then(|i| cells.get(i)) {
        Some(Value::Bool(w)) => *w,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        Some(Value::Object(o)) => !o.is_empty(),
        _ => false,
    };
    if whitelisted || !(action == "stop" || action == "warn") {
        return; // passing (go) and whitelisted rows are records, not findings
    }
    let gate = cell(c.gate).unwrap_or_else(|| "unknown".to_owned());
    let trigger = cell(c.trigger).unwrap_or_else(|| "unknown".to_owned());
    let output = cell(c.output);
    let Some(trigger_id) = cell(c.trigger_id).or_else(|| output.clone()) else {
        return b.warn(at, "gate result skipped: no Trigger_Id or Check_Output");
    };
    let rule_id = format!("{gate}:{trigger}");
    // The vulnerabilities gate starts its output with the vulnerability's severity word;
    // otherwise the action says how bad it is: stop → high, warn → medium.
    let severity = output
        .as_deref()
        .and_then(|o| o.split_whitespace().next())
        .and_then(Severity::parse)
        .filter(|s| *s != Severity::Unknown)
        .unwrap_or(if action == "stop" {
            Severity::High
        } else {
            Severity::Medium
        });
    let title = output
        .as_deref()
        .and_then(|o| o.lines().next())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("Anchore policy gate {rule_id} ({action})"));
    let mut details = json!({
        "scanner": "anchore",
        "gate": gate,
        "trigger": trigger,
        "trigger_id": trigger_id,
        "action": action,
        "tag": ctx.tag,
    });
    insert_some(&mut details, "check_output", output);
    insert_some(
        &mut details,
        "policy_id",
        cell(c.policy_id).or_else(|| ctx.policy_id.clone()),
    );
    insert_some(&mut details, "final_action", ctx.final_action.clone());
    insert_some(&mut details, "evaluation_status", ctx.status.clone());
    b.finding(FindingRecord {
        fingerprint: Fingerprint::misconfiguration(&rule_id, &trigger_id, &ctx.key),
        kind: FindingKind::Misconfiguration,
        severity,
        title,
        vulnerability_id: None,
        component: None,
        rule_id: Some(rule_id),
        image: Some(ctx.image),
        workload: None,
        in_cluster: false,
        resource: Some(trigger_id),
        fixed_version: None,
        scope: ctx.scope,
        details: details.into(),
    });
}
