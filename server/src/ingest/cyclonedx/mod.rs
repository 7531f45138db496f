//! CycloneDX SBOMs, JSON and XML, spec 1.0–1.6 (Syft, Grype, Trivy, cdxgen, jake, Snyk, the
//! CycloneDX libraries), including vulnerabilities (`vulnerabilities[]`, 1.4 and later) with
//! their VEX `analysis`, and the XML vulnerability extension 1.0 that 1.2/1.3 producers (Grype
//! before 0.30, the 1.2 specification examples) write as `<v:vulnerabilities>` at the top level
//! or inside a `<component>`.
//!
//! Pure: bytes in, [`ParsedReport`] out. The format is detected by the first non-blank
//! character (`<` is XML, anything else JSON). An XML document is first read into the JSON form
//! of the same BOM (elements become keys, wrapper elements such as `<components>` become lists,
//! namespace prefixes are dropped), so both encodings go through one reader and warnings point
//! into that JSON form (e.g. `/vulnerabilities/3`). Each component and vulnerability is decoded
//! on its own: a malformed one becomes a warning.
//!
//! Mapping:
//! - `metadata.component` is the subject. A container (type `container`, a `pkg:oci` purl, or
//!   an untyped/application component whose name or version carries an image digest) becomes
//!   the image asset (manifest digest from the version, the OCI purl or Trivy's RepoDigest
//!   property; config digest from Trivy's ImageID property). Anything else is a non-image
//!   artifact with asset key `sbom:<group>/<name>@<version>`; without a subject, the
//!   `serialNumber` (else a digest of the document) names the SBOM.
//! - Every component (nested ones too) is a record; packages (any type except container,
//!   operating-system, file, device, firmware, platform, data, machine-learning-model,
//!   cryptographic-asset, device-driver) go to the report's components, keyed by their purl or
//!   by `<group>/<name>@<version>` (ecosystem `generic`) when they have none.
//! - Every vulnerability is a record and becomes one finding per affected component
//!   (`affects[].ref` → a component's `bom-ref`, a BOM-link `urn:cdx:…#<bom-ref>`, or a purl),
//!   fingerprinted with the component key and the subject's asset key. The CVE is preferred
//!   as id (from `references[]` when the primary id is a GHSA/Snyk/OSS Index id; the others
//!   become aliases). Severity: the rating from the vulnerability's own source, else the
//!   highest rated severity. CVSS vectors of CVSS ratings are kept (v3 vectors without their
//!   `CVSS:3.x/` prefix get the one their method names); scores are not.
//! - `analysis.state` also yields a VEX statement about the component in the subject:
//!   not_affected/false_positive → not_affected, resolved → fixed, exploitable → affected,
//!   in_triage → under_investigation. The finding is still recorded (the pipeline suppresses it).
//! - Report kind: Findings when the SBOM carries vulnerabilities, Inventory otherwise.
//!
//! Skipped: licenses, hashes, dependencies, services, compositions, annotations, formulation.
//! An SBOM without vulnerabilities declares no lifecycle scope: a pure inventory (many tools
//! write an empty `vulnerabilities` list without having looked for any) must not mark
//! vulnerabilities of the same image fixed.
//!
//! Layout: `schema` (the serde structs), `xml` (XML into the JSON form), `subject` (components
//! and what the SBOM describes), `vulnerabilities` (findings) and `vex` (analysis states as VEX
//! statements); reading a document top to bottom is here.

mod schema;
mod subject;
mod vex;
mod vulnerabilities;
mod xml;

use std::collections::HashMap;

use serde_json::Value;

use crate::domain::component::Component;
use crate::ingest::model::{ParseError, ParsedReport, ReportBuilder, ReportKind, parse_timestamp};
use schema::{Bom, ComponentEntry, Metadata, Vulnerability};
use subject::{Subject, component_of, flatten};
use vulnerabilities::{Reader, Target};

/// Component types that are not packages.
const NOT_PACKAGES: &[&str] = &[
    "container",
    "operating-system",
    "file",
    "device",
    "firmware",
    "platform",
    "data",
    "machine-learning-model",
    "cryptographic-asset",
    "device-driver",
];

/// Parses a CycloneDX SBOM (JSON or XML).
pub fn parse(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match body.iter().find(|c| !c.is_ascii_whitespace()) {
        Some(b'<') => {
            let document = xml::to_json(body)?;
            let text = serde_json::to_vec(&document).map_err(|e| {
                ParseError::new("invalid-xml", format!("the XML could not be read: {e}"))
            })?;
            read(&text, "CycloneDX XML")
        }
        Some(_) => read(body, "CycloneDX JSON"),
        None => Err(ParseError::new("invalid-json", "the body is empty")),
    }
}

fn read(body: &[u8], format: &str) -> Result<ParsedReport, ParseError> {
    let bom: Bom<'_> =
        serde_json::from_slice(body).map_err(|e| ParseError::from_json(format, &e))?;
    check_format(&bom, format)?;

    let metadata = bom
        .metadata
        .map(|raw| serde_json::from_str::<Metadata<'_>>(raw.get()));
    let tool = match &metadata {
        Some(Ok(m)) => m.tools.as_ref().and_then(first_tool),
        _ => None,
    };
    let scanner = tool
        .as_ref()
        .map(|(name, _)| name.clone())
        .unwrap_or_else(|| "cyclonedx".to_owned());
    let mut b = ReportBuilder::new(&scanner, ReportKind::Inventory);
    b.scanner_version(tool.and_then(|(_, version)| version));
    let metadata = match metadata {
        Some(Ok(m)) => m,
        Some(Err(e)) => {
            b.warn("/metadata", format!("metadata skipped: {e}"));
            Metadata::default()
        }
        None => Metadata::default(),
    };
    b.generated_at(metadata.timestamp.as_deref().and_then(parse_timestamp));
    let subject_entry = match metadata.component {
        Some(raw) => match serde_json::from_str::<ComponentEntry<'_>>(raw.get()) {
            Ok(entry) => Some(entry),
            Err(e) => {
                b.warn("/metadata/component", format!("subject skipped: {e}"));
                None
            }
        },
        None => None,
    };
    let subject = Subject::new(
        &mut b,
        subject_entry.as_ref(),
        bom.serial_number.as_deref(),
        body,
    );

    // Components, nested ones flattened, each decoded on its own.
    let mut entries: Vec<(String, ComponentEntry<'_>)> = Vec::new();
    flatten(
        &mut b,
        "/components",
        bom.components.unwrap_or_default(),
        &mut entries,
    );
    let mut by_ref: HashMap<String, Component> = HashMap::new();
    for (_, entry) in &entries {
        let Some(component) = component_of(entry) else {
            continue;
        };
        if let Some(bom_ref) = entry.bom_ref.as_deref().filter(|r| !r.is_empty()) {
            by_ref.insert(bom_ref.to_owned(), component.clone());
        }
        let is_package = entry
            .kind
            .as_deref()
            .is_none_or(|k| !NOT_PACKAGES.contains(&k.trim().to_ascii_lowercase().as_str()));
        if is_package {
            b.component(component);
        }
    }

    let top_level = bom.vulnerabilities.unwrap_or_default();
    let has_vulnerabilities = !top_level.is_empty()
        || entries
            .iter()
            .any(|(_, e)| e.vulnerabilities.as_ref().is_some_and(|v| !v.is_empty()));
    // Only a document that reports vulnerabilities covers the subject's vulnerabilities.
    let scope = has_vulnerabilities.then(|| b.scope(subject.key.clone()));
    let mut reader = Reader {
        b: &mut b,
        subject: &subject,
        by_ref: &by_ref,
        scope: scope.unwrap_or_default(),
        scanner: scanner.clone(),
    };
    // XML vulnerability extension 1.0: vulnerabilities inside their component.
    for (pointer, entry) in &entries {
        let Some(list) = &entry.vulnerabilities else {
            continue;
        };
        let component = component_of(entry);
        for (j, raw) in list.iter().enumerate() {
            let at = format!("{pointer}/vulnerabilities/{j}");
            reader.b.record();
            let target = match &component {
                Some(c) => Target::Component(c.clone(), entry.bom_ref.clone()),
                None => Target::Unresolved(format!("{pointer} (a component without a name)")),
            };
            match serde_json::from_str::<Vulnerability>(raw.get()) {
                Ok(v) => reader.vulnerability(&at, v, vec![target]),
                Err(e) => reader.b.warn(at, format!("vulnerability skipped: {e}")),
            }
        }
    }
    for (i, raw) in top_level.into_iter().enumerate() {
        let at = format!("/vulnerabilities/{i}");
        reader.b.record();
        match serde_json::from_str::<Vulnerability>(raw.get()) {
            Ok(v) => {
                let targets = reader.targets(&v);
                reader.vulnerability(&at, v, targets);
            }
            Err(e) => reader.b.warn(at, format!("vulnerability skipped: {e}")),
        }
    }

    let mut report = b.finish();
    if has_vulnerabilities {
        report.kind = ReportKind::Findings;
    }
    Ok(report)
}

/// Refuses documents that are not CycloneDX BOMs, and major versions other than 1.
fn check_format(bom: &Bom<'_>, format: &str) -> Result<(), ParseError> {
    match bom.bom_format.as_deref().map(str::trim) {
        Some(f) if f.eq_ignore_ascii_case("cyclonedx") => {}
        Some(other) => {
            return Err(ParseError::new(
                "wrong-format",
                format!("this is not a {format} SBOM: its bomFormat is '{other}', not 'CycloneDX'"),
            ));
        }
        None if bom.spec_version.is_some()
            && (bom.metadata.is_some()
                || bom.components.is_some()
                || bom.vulnerabilities.is_some()) => {}
        None => {
            return Err(ParseError::new(
                "wrong-format",
                format!(
                    "this is not a {format} SBOM: it has no bomFormat 'CycloneDX' (nor a \
                     specVersion with components, metadata or vulnerabilities)"
                ),
            ));
        }
    }
    let version = match &bom.spec_version {
        Some(Value::String(v)) => v.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Ok(()),
    };
    if !version.is_empty() && version.split('.').next() != Some("1") {
        return Err(ParseError::new(
            "unsupported-version",
            format!("CycloneDX specVersion {version} is not supported; expected 1.x"),
        ));
    }
    Ok(())
}

/// Name and version of the first tool listed in `metadata.tools`.
fn first_tool(tools: &Value) -> Option<(String, Option<String>)> {
    let list = match tools {
        Value::Array(items) => items.as_slice(),
        Value::Object(map) => map
            .get("components")
            .or_else(|| map.get("services"))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default(),
        _ => return None,
    };
    list.iter().find_map(|tool| {
        let name = tool.get("name")?.as_str()?.trim();
        let version = tool
            .get("version")
            .and_then(Value::as_str)
            .map(|v| v.trim().to_owned());
        (!name.is_empty()).then(|| (name.to_owned(), version))
    })
}

#[cfg(test)]
mod tests;
