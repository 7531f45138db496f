//! SARIF 2.1.0 (`runs[].tool.driver`, `runs[].results[]`) as container and IaC scanners write
//! it: Trivy (`--format sarif`, image, filesystem and config scans), Grype (`-o sarif`), Dockle
//! and any other producer of the standard.
//!
//! Pure: bytes in, [`ParsedReport`] out. Each run and each result is decoded on its own, so a
//! malformed one becomes a warning naming its JSON pointer (`/runs/0/results/3`).
//!
//! Mapping, per run (every result is a record):
//! - **Scope**: `sarif:<tool>:<artifact>` with `<tool>` the lower-cased `tool.driver.name` and
//!   `<artifact>` the first of: `image:<key>` when the run's `properties.imageName` names an
//!   image (Trivy ≥ 0.47 image scans, with `repoDigests`/`imageID` giving the digest);
//!   `automationDetails.id`; `versionControlProvenance[0].repositoryUri`; the root of
//!   `originalUriBaseIds` (`ROOTPATH`, `%SRCROOT%`, `SRCROOT`, else the first), unless it is the
//!   bare `file:///`; the first path segment of the first result's location URI. A run that names
//!   none of these is scope `sarif:<tool>`. Non-image findings use the scope key as asset key.
//! - **Vulnerabilities**: a result whose rule id contains a CVE or GHSA id (Trivy: `CVE-…`;
//!   Grype: `CVE-…-<package>`; the old Trivy template: `[HIGH] CVE-…`), or whose rule is tagged
//!   `vulnerability` (Trivy's tag, e.g. for `RUSTSEC-…`), is a vulnerability finding when its
//!   package can be recovered from the `Key: value` lines Trivy's and Grype's writers put in
//!   `message.text` and `rule.help.text` (`Package:`, `Installed Version:`/`Version:`,
//!   `Fixed Version:`/`Fix Version:`, `Type:`), or from Grype's message sentence "… reports
//!   <package> at version <version> …". The CVE is the id, a GHSA next to it an alias. The
//!   ecosystem is the `Type:` word, else the lock file the URI names, else generic.
//!   Otherwise the result is a misconfiguration.
//! - **Misconfigurations**: rule id `ruleId`; resource = location URI (plus `#` and the first
//!   logical location's fully qualified name when given); fingerprint
//!   `misconfiguration(ruleId, resource, <scope key>)` — line numbers are not part of it, so a
//!   finding survives code moving; details keep `uri`, `line`, `message`. Results of rules
//!   tagged `secret` (Trivy) are secret findings keyed the same way.
//! - **Severity**: `properties["security-severity"]` (result, else rule) when it is a positive
//!   number: from 9 critical, from 7 high, from 4 medium, else low (GitHub code scanning's
//!   bands). Otherwise the level (result, else `rule.defaultConfiguration.level`, else
//!   `warning`, the SARIF default): error → high, warning → medium, note → low, none → low
//!   (SARIF's informational levels; Bulwark has nothing below low).
//!
//! Skipped (records only): results with `kind` pass / notApplicable / informational, results
//! suppressed in the source (`suppressions` with status accepted or no status), results with
//! `baselineState: absent`, and license results (rules tagged `license`). Code flows, fixes,
//! graphs, artifacts' contents and taxonomies are ignored.

use crate::ingest::model::insert_some;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::domain::component::{Component, ecosystem_of};
use crate::domain::fingerprint::Fingerprint;
use crate::domain::image_ref::{ImageRef, normalise_digest};
use crate::domain::vuln_id::{VulnId, cve_at, is_ghsa};
use crate::ingest::model::{
    FindingKind, FindingRecord, ImageAsset, ParseError, ParsedReport, ReportBuilder, ReportKind,
    VulnerabilityInfo, parse_timestamp,
};
use app::model::Severity;

#[derive(Deserialize)]
struct Log<'a> {
    version: Option<Value>,
    #[serde(borrow)]
    runs: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Option<Tool>,
    #[serde(borrow)]
    results: Option<Vec<&'a RawValue>>,
    properties: Option<Map<String, Value>>,
    automation_details: Option<AutomationDetails>,
    version_control_provenance: Option<Vec<Value>>,
    #[serde(rename = "originalUriBaseIds")]
    original_uri_base_ids: Option<BTreeMap<String, Value>>,
    invocations: Option<Vec<Value>>,
}

#[derive(Deserialize)]
struct Tool {
    driver: Option<Driver>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: Option<String>,
    version: Option<String>,
    semantic_version: Option<String>,
    rules: Option<Vec<Value>>,
}

#[derive(Deserialize)]
struct AutomationDetails {
    id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: Option<String>,
    name: Option<String>,
    short_description: Option<Message>,
    full_description: Option<Message>,
    help: Option<Message>,
    help_uri: Option<String>,
    default_configuration: Option<Configuration>,
    properties: Option<Map<String, Value>>,
}

#[derive(Deserialize, Default)]
struct Configuration {
    level: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
struct Message {
    text: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: Option<String>,
    rule_index: Option<i64>,
    rule: Option<RuleReference>,
    kind: Option<String>,
    level: Option<String>,
    message: Option<Message>,
    locations: Option<Vec<Location>>,
    suppressions: Option<Vec<Value>>,
    baseline_state: Option<String>,
    properties: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct RuleReference {
    id: Option<String>,
    index: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: Option<PhysicalLocation>,
    logical_locations: Option<Vec<LogicalLocation>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: Option<ArtifactLocation>,
    region: Option<Region>,
}

#[derive(Deserialize)]
struct ArtifactLocation {
    uri: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation {
    fully_qualified_name: Option<String>,
    name: Option<String>,
}

/// Parses a SARIF 2.1.0 log.
pub fn parse(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
    let log: Log<'_> =
        serde_json::from_slice(bytes).map_err(|e| ParseError::from_json("SARIF", &e))?;
    let Some(runs) = log.runs else {
        return Err(ParseError::new(
            "wrong-format",
            "this is not a SARIF log: it has no 'runs' list",
        ));
    };
    if let Some(version) = log.version.as_ref().and_then(Value::as_str)
        && !version.starts_with("2.")
    {
        return Err(ParseError::new(
            "unsupported-version",
            format!("SARIF version {version} is not supported; expected 2.1.0"),
        ));
    }
    // The report's scanner is the first run's tool.
    let first_tool = runs.first().and_then(|raw| {
        let run = serde_json::from_str::<Run<'_>>(raw.get()).ok()?;
        run.tool?.driver
    });
    let scanner = first_tool
        .as_ref()
        .and_then(|d| d.name.as_deref())
        .map(|n| n.trim().to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "sarif".to_owned());
    let mut b = ReportBuilder::new(&scanner, ReportKind::Findings);
    b.scanner_version(first_tool.and_then(|d| d.version.or(d.semantic_version)));
    for (i, raw) in runs.into_iter().enumerate() {
        let at = format!("/runs/{i}");
        match serde_json::from_str::<Run<'_>>(raw.get()) {
            Ok(run) => read_run(&mut b, &at, run, i == 0),
            Err(e) => b.warn(at, format!("run skipped: {e}")),
        }
    }
    Ok(b.finish())
}

/// What the findings of a run hang on.
struct RunAsset {
    tool: String,
    image: Option<usize>,
    key: String,
    scope: usize,
}

fn read_run(b: &mut ReportBuilder, at: &str, run: Run<'_>, first: bool) {
    let driver = run.tool.and_then(|t| t.driver);
    let tool = driver
        .as_ref()
        .and_then(|d| d.name.as_deref())
        .map(|n| n.trim().to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "sarif".to_owned());
    let rules: Vec<Rule> = driver
        .and_then(|d| d.rules)
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(j, rule)| {
            serde_json::from_value::<Rule>(rule).unwrap_or_else(|e| {
                b.warn(
                    format!("{at}/tool/driver/rules/{j}"),
                    format!("rule unreadable: {e}"),
                );
                Rule::default()
            })
        })
        .collect();
    if first {
        let ended = run.invocations.iter().flatten().find_map(|inv| {
            ["endTimeUtc", "startTimeUtc"]
                .iter()
                .find_map(|k| inv.get(*k)?.as_str().and_then(parse_timestamp))
        });
        b.generated_at(ended);
    }
    let results: Vec<(usize, &RawValue)> = run
        .results
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .collect();

    // The artifact the run covers.
    let image = run
        .properties
        .as_ref()
        .and_then(image_from_properties)
        .map(|image| b.image(image));
    let artifact = match image {
        Some(index) => Some(format!("image:{}", b.image_at(index).key)),
        None => run
            .automation_details
            .and_then(|a| a.id)
            .filter(|id| !id.trim().is_empty())
            .or_else(|| {
                run.version_control_provenance
                    .iter()
                    .flatten()
                    .find_map(|v| v.get("repositoryUri")?.as_str().map(str::to_owned))
            })
            .or_else(|| base_root(run.original_uri_base_ids.as_ref()))
            .or_else(|| first_uri_root(&results)),
    };
    let key = match &artifact {
        Some(artifact) => format!("sarif:{tool}:{artifact}"),
        None => format!("sarif:{tool}"),
    };
    if first {
        b.artifact(artifact.clone().or_else(|| Some(tool.clone())));
    }
    let scope = b.scope(key.clone());
    let asset = RunAsset {
        key: match image {
            Some(index) => b.image_at(index).key.clone(),
            None => key,
        },
        tool,
        image,
        scope,
    };
    for (j, raw) in results {
        let at = format!("{at}/results/{j}");
        b.record();
        match serde_json::from_str::<SarifResult>(raw.get()) {
            Ok(result) => read_result(b, &at, result, &rules, &asset),
            Err(e) => b.warn(at, format!("result skipped: {e}")),
        }
    }
}

/// Trivy's image-scan run properties: `imageName`, `repoDigests`, `imageID`.
fn image_from_properties(properties: &Map<String, Value>) -> Option<ImageAsset> {
    let name = properties.get("imageName")?.as_str()?;
    let mut reference = ImageRef::parse(name).ok()?;
    if reference.digest.is_none() {
        reference.digest = properties
            .get("repoDigests")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|d| d.split_once('@'))
            .find_map(|(_, digest)| normalise_digest(digest).ok());
    }
    let image_id = properties
        .get("imageID")
        .and_then(Value::as_str)
        .and_then(|d| normalise_digest(d).ok());
    Some(ImageAsset::new(reference, image_id))
}

/// The scan root named by `originalUriBaseIds`, unless it is the bare filesystem root.
fn base_root(bases: Option<&BTreeMap<String, Value>>) -> Option<String> {
    let bases = bases?;
    let preferred = ["ROOTPATH", "%SRCROOT%", "SRCROOT"]
        .iter()
        .filter_map(|k| bases.get(*k));
    preferred.chain(bases.values()).find_map(|base| {
        let uri = base.get("uri")?.as_str()?.trim();
        let path = uri.strip_prefix("file://").unwrap_or(uri);
        let path = path.trim_end_matches('/');
        (!path.is_empty()).then(|| path.to_owned())
    })
}

/// The first path segment of the first location URI of the run's results.
fn first_uri_root(results: &[(usize, &RawValue)]) -> Option<String> {
    results.iter().find_map(|(_, raw)| {
        let result = serde_json::from_str::<SarifResult>(raw.get()).ok()?;
        let uri = result
            .locations?
            .into_iter()
            .find_map(|l| l.physical_location?.artifact_location?.uri)?;
        let path = uri.strip_prefix("file://").unwrap_or(&uri);
        let path = path.trim_start_matches("./").trim_start_matches('/');
        path.split('/')
            .next()
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    })
}

fn read_result(
    b: &mut ReportBuilder,
    at: &str,
    result: SarifResult,
    rules: &[Rule],
    asset: &RunAsset,
) {
    let kind = result.kind.as_deref().unwrap_or("fail");
    if ["pass", "notapplicable", "informational"].contains(&kind.to_ascii_lowercase().as_str()) {
        return;
    }
    if result.baseline_state.as_deref() == Some("absent") {
        return;
    }
    let suppressed = result.suppressions.iter().flatten().any(|s| {
        s.get("status")
            .and_then(Value::as_str)
            .is_none_or(|status| status == "accepted")
    });
    if suppressed {
        return;
    }
    let index = result
        .rule_index
        .or_else(|| result.rule.as_ref().and_then(|r| r.index));
    let rule_id = result
        .rule_id
        .clone()
        .or_else(|| result.rule.as_ref().and_then(|r| r.id.clone()));
    let by_index = index
        .and_then(|i| usize::try_from(i).ok())
        .and_then(|i| rules.get(i))
        .filter(|r| rule_id.is_none() || r.id == rule_id);
    let rule = by_index.or_else(|| {
        rule_id
            .as_ref()
            .and_then(|id| rules.iter().find(|r| r.id.as_ref() == Some(id)))
    });
    let Some(rule_id) = rule_id
        .or_else(|| rule.and_then(|r| r.id.clone()))
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
    else {
        return b.warn(at, "result skipped: no ruleId");
    };
    let default_rule = Rule::default();
    let rule = rule.unwrap_or(&default_rule);
    let tags: Vec<String> = [rule.properties.as_ref(), result.properties.as_ref()]
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("tags")?.as_array())
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_ascii_lowercase)
        .collect();
    if tags.iter().any(|t| t == "license") {
        return;
    }
    let message = result
        .message
        .as_ref()
        .and_then(|m| m.text.clone())
        .unwrap_or_default();
    let severity = severity_of(b, at, &result, rule);

    let location = result.locations.iter().flatten().next();
    let uri = location
        .and_then(|l| l.physical_location.as_ref())
        .and_then(|p| p.artifact_location.as_ref())
        .and_then(|a| a.uri.clone())
        .unwrap_or_default();
    let line = location
        .and_then(|l| l.physical_location.as_ref())
        .and_then(|p| p.region.as_ref())
        .and_then(|r| r.start_line);
    let logical = location
        .and_then(|l| l.logical_locations.as_ref())
        .and_then(|ls| ls.first())
        .and_then(|l| l.fully_qualified_name.clone().or_else(|| l.name.clone()));

    let found = Found {
        rule_id,
        rule,
        message,
        severity,
        uri,
        line,
        logical,
    };
    let advisory = advisory_ids(&found.rule_id);
    let is_vulnerability = advisory.is_some() || tags.iter().any(|t| t == "vulnerability");
    if is_vulnerability {
        let fields = package_fields(&found.message, rule);
        if let Some(package) = fields.package.clone() {
            let (id, aliases) = advisory.unwrap_or_else(|| (found.rule_id.clone(), Vec::new()));
            return vulnerability(b, found, id, aliases, package, fields, asset);
        }
    }
    let kind = if tags.iter().any(|t| t == "secret") {
        FindingKind::Secret
    } else {
        FindingKind::Misconfiguration
    };
    check(b, found, kind, asset);
}

/// What a result says, with its rule.
struct Found<'r> {
    rule_id: String,
    rule: &'r Rule,
    message: String,
    severity: Severity,
    uri: String,
    line: Option<i64>,
    logical: Option<String>,
}

impl Found<'_> {
    fn details(&self, tool: &str) -> Value {
        let mut details = json!({ "scanner": tool });
        insert_some(
            &mut details,
            "uri",
            (!self.uri.is_empty()).then(|| self.uri.clone()),
        );
        insert_some(&mut details, "line", self.line);
        insert_some(&mut details, "logical_location", self.logical.clone());
        insert_some(
            &mut details,
            "message",
            (!self.message.is_empty()).then(|| self.message.clone()),
        );
        insert_some(&mut details, "rule_name", self.rule.name.clone());
        insert_some(&mut details, "help_uri", self.rule.help_uri.clone());
        details
    }

    /// The rule's short description, unless it only repeats the id.
    fn rule_title(&self) -> Option<String> {
        self.rule
            .short_description
            .as_ref()
            .and_then(|m| m.text.as_deref())
            .map(str::trim)
            .filter(|t| !t.is_empty() && *t != self.rule_id)
            .map(str::to_owned)
    }
}

fn check(b: &mut ReportBuilder, found: Found<'_>, kind: FindingKind, asset: &RunAsset) {
    let resource = match (&found.logical, found.uri.is_empty()) {
        (Some(logical), false) => format!("{}#{logical}", found.uri),
        (Some(logical), true) => logical.clone(),
        (None, _) => found.uri.clone(),
    };
    let fingerprint = match kind {
        FindingKind::Secret => Fingerprint::secret(&found.rule_id, &resource, &asset.key),
        _ => Fingerprint::misconfiguration(&found.rule_id, &resource, &asset.key),
    };
    let title = found
        .rule_title()
        .or_else(|| {
            found
                .message
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| found.rule_id.clone());
    let details = found.details(&asset.tool);
    b.finding(FindingRecord {
        fingerprint,
        kind,
        severity: found.severity,
        title,
        vulnerability_id: None,
        component: None,
        rule_id: Some(found.rule_id),
        image: asset.image,
        workload: None,
        in_cluster: false,
        resource: (!resource.is_empty()).then_some(resource),
        fixed_version: None,
        scope: asset.scope,
        details: details.into(),
    });
}

fn vulnerability(
    b: &mut ReportBuilder,
    found: Found<'_>,
    id: String,
    aliases: Vec<String>,
    package: String,
    fields: PackageFields,
    asset: &RunAsset,
) {
    let ecosystem = fields
        .kind
        .as_deref()
        .map(ecosystem_of)
        .filter(|e| *e != "generic")
        .unwrap_or_else(|| lockfile_ecosystem(&found.uri));
    let component = Component::from_parts(
        ecosystem,
        &package,
        fields.version.as_deref().unwrap_or_default(),
    );
    let component_key = component.key();
    let component = b.component(component);
    let properties = found.rule.properties.as_ref();
    let cvss_vectors = ["cvssv40_vector", "cvssv3_vector", "cvssv2_vector"]
        .iter()
        .filter_map(|k| properties?.get(*k)?.as_str())
        .filter(|v| !v.trim().is_empty())
        .map(|v| (asset.tool.clone(), v.to_owned()))
        .collect();
    let title = found.rule_title();
    b.vulnerability(VulnerabilityInfo {
        id: id.clone(),
        aliases,
        title: title.clone(),
        description: found
            .rule
            .full_description
            .as_ref()
            .and_then(|m| m.text.clone())
            .filter(|d| !d.trim().is_empty()),
        severity: found.severity,
        cvss_vectors,
        cwe: Vec::new(),
        published_at: None,
        modified_at: None,
        references: found.rule.help_uri.iter().cloned().collect(),
    });
    let details = found.details(&asset.tool);
    b.finding(FindingRecord {
        fingerprint: Fingerprint::vulnerability(&id, &component_key, &asset.key),
        kind: FindingKind::Vulnerability,
        severity: found.severity,
        title: title.unwrap_or_else(|| format!("{id} in {component_key}")),
        vulnerability_id: Some(id),
        component: Some(component),
        rule_id: None,
        image: asset.image,
        workload: None,
        in_cluster: false,
        resource: (!found.uri.is_empty()).then_some(found.uri),
        fixed_version: fields.fixed,
        scope: asset.scope,
        details: details.into(),
    });
}

/// Severity from `security-severity` (a CVSS-like score) when positive, else from the level.
fn severity_of(b: &mut ReportBuilder, at: &str, result: &SarifResult, rule: &Rule) -> Severity {
    let score = [result.properties.as_ref(), rule.properties.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|p| match p.get("security-severity")? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        });
    match score {
        Some(s) if s >= 9.0 => return Severity::Critical,
        Some(s) if s >= 7.0 => return Severity::High,
        Some(s) if s >= 4.0 => return Severity::Medium,
        Some(s) if s > 0.0 => return Severity::Low,
        _ => {}
    }
    let level = result
        .level
        .clone()
        .or_else(|| rule.default_configuration.as_ref()?.level.clone())
        .unwrap_or_else(|| "warning".to_owned());
    match level.trim().to_ascii_lowercase().as_str() {
        "error" => Severity::High,
        "warning" => Severity::Medium,
        "note" | "none" => Severity::Low,
        _ => b.severity(at, Some(&level)),
    }
}

/// The CVE (preferred) or GHSA id in a rule id, with the other ids as aliases.
fn advisory_ids(rule_id: &str) -> Option<(String, Vec<String>)> {
    let upper = rule_id.to_ascii_uppercase();
    let bytes = upper.as_bytes();
    let mut cves = Vec::new();
    let mut ghsas = Vec::new();
    for (i, _) in upper.match_indices("CVE-") {
        if let Some(end) = cve_at(bytes, i) {
            cves.push(upper.get(i..end).unwrap_or_default().to_owned());
        }
    }
    for (i, _) in upper.match_indices("GHSA-") {
        if let Some(id) = rule_id.get(i..i + 19).filter(|id| is_ghsa(id)) {
            ghsas.extend(VulnId::parse(id).map(VulnId::into_string));
        }
    }
    let mut ids = cves.into_iter().chain(ghsas);
    let primary = ids.next()?;
    Some((primary, ids.collect()))
}

/// Package facts from the `Key: value` lines of a message or a rule's help.
#[derive(Default)]
struct PackageFields {
    package: Option<String>,
    version: Option<String>,
    fixed: Option<String>,
    kind: Option<String>,
}

fn package_fields(message: &str, rule: &Rule) -> PackageFields {
    let mut fields = PackageFields::default();
    read_lines(&mut fields, message);
    if fields.package.is_none() || fields.version.is_none() {
        // Grype: "The path X reports <package> at version <version>  which would ..."
        if let Some((_, rest)) = message.split_once(" reports ")
            && let Some((package, rest)) = rest.split_once(" at version ")
            && let Some(version) = rest.split_whitespace().next()
        {
            fields
                .package
                .get_or_insert_with(|| package.trim().to_owned());
            fields.version.get_or_insert_with(|| version.to_owned());
        }
    }
    if let Some(help) = rule.help.as_ref().and_then(|h| h.text.as_deref()) {
        let mut from_rule = PackageFields::default();
        read_lines(&mut from_rule, help);
        // The rule's package only counts when the result does not name another one.
        if fields.package.is_none() || fields.package == from_rule.package {
            fields.package = fields.package.or(from_rule.package);
            fields.version = fields.version.or(from_rule.version);
            fields.fixed = fields.fixed.or(from_rule.fixed);
        }
        fields.kind = fields.kind.or(from_rule.kind);
    }
    fields
}

fn read_lines(fields: &mut PackageFields, text: &str) {
    // Some writers escape the newlines twice (a literal `\n`).
    let text = text.replace("\\n", "\n");
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let slot = match key.trim().to_ascii_lowercase().as_str() {
            "package" | "pkgname" | "package name" => &mut fields.package,
            "installed version" | "version" => &mut fields.version,
            "fixed version" | "fix version" => &mut fields.fixed,
            "type" | "package type" => &mut fields.kind,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(value.to_owned());
        }
    }
}

/// The ecosystem of the lock file or archive a location names.
fn lockfile_ecosystem(uri: &str) -> &'static str {
    let file = uri.rsplit('/').next().unwrap_or(uri).to_ascii_lowercase();
    match file.as_str() {
        "cargo.lock" => "cargo",
        "composer.lock" | "composer.json" => "composer",
        "package-lock.json" | "yarn.lock" | "pnpm-lock.yaml" | "package.json" => "npm",
        "gemfile.lock" => "gem",
        "pipfile.lock" | "poetry.lock" | "requirements.txt" | "uv.lock" => "pypi",
        "go.mod" | "go.sum" => "golang",
        "pom.xml" | "gradle.lockfile" => "maven",
        "packages.lock.json" | "packages.config" => "nuget",
        f if f.ends_with(".jar") || f.ends_with(".war") || f.ends_with(".ear") => "maven",
        f if f.ends_with(".deps.json") => "nuget",
        f if f.ends_with(".gemspec") => "gem",
        _ => "generic",
    }
}

#[cfg(test)]
mod tests;
