//! Test support shared by the parser tests: the vendored fixtures of a format, the team's
//! shared samples (a missing one fails the test, naming the path), and the compact summary of a
//! [`ParsedReport`] that the snapshot tests record with `insta`.
//!
//! Only what several parsers' tests need lives here; a parser's own test helpers stay in its
//! `tests.rs`.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{ParseError, ParsedReport};

/// The server crate's directory (`BULWARK_SERVER` when a parser kit outside the crate runs the
/// tests).
fn server_dir() -> PathBuf {
    std::env::var_os("BULWARK_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// Every vendored sample of `format` (`tests/fixtures/<format>`, `PROVENANCE.md` aside), as
/// (file name, bytes), sorted by name. Fails when the folder is missing or empty.
pub fn fixtures(format: &str) -> Vec<(String, Vec<u8>)> {
    let dir = server_dir().join("tests/fixtures").join(format);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("fixture folder {} cannot be read: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.map(|e| e.path()).expect("fixture folder entry"))
        .filter(|path| path.is_file() && !path.ends_with("PROVENANCE.md"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
        .into_iter()
        .map(|path| (file_name(&path), read(&path)))
        .collect()
}

/// One vendored sample of `format` (`tests/fixtures/<format>/<name>`).
pub fn fixture(format: &str, name: &str) -> Vec<u8> {
    read(&server_dir().join("tests/fixtures").join(format).join(name))
}

/// Where the team's published scanner outputs live: `BULWARK_SAMPLES`, else `shared/samples`
/// beside the repository (CI always has them there).
pub fn shared_samples() -> PathBuf {
    std::env::var_os("BULWARK_SAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/samples"))
}

/// The shared sample at `relative` (e.g. `grype/defectdojo__many_vulns.json`). A missing
/// sample fails the test with its path: these are the samples too large (or licensed too
/// narrowly) to vendor, and a test that quietly passed without them would prove nothing.
pub fn shared_sample(relative: &str) -> Vec<u8> {
    let path = shared_samples().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "shared sample {} cannot be read ({e}): the team's samples must be in \
             shared/samples beside the repository, or named by BULWARK_SAMPLES",
            path.display()
        )
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{} cannot be read: {e}", path.display()))
}

/// What a snapshot records of a parse: the report summary, or the refusal.
pub fn outcome(result: &Result<ParsedReport, ParseError>) -> Value {
    match result {
        Ok(report) => summary(report),
        Err(e) => {
            json!({ "refused": { "kind": e.kind, "detail": e.detail, "pointer": e.pointer } })
        }
    }
}

/// A compact, deterministic summary of a report, one line of text per finding, event,
/// control, VEX statement and warning, so that a snapshot reads as a review. Images,
/// workloads, links, findings, controls and VEX statements are sorted (their order in the
/// report carries no meaning); scopes, events and warnings keep report order. Findings name
/// their asset by key rather than by index, their scope by its index when there are several,
/// and show the first 16 hex digits of their fingerprint.
pub fn summary(report: &ParsedReport) -> Value {
    let image_key = |i: usize| {
        report
            .images
            .get(i)
            .map_or_else(|| format!("(image #{i})"), |image| image.key.clone())
    };
    let workload_key = |i: usize| {
        report
            .workloads
            .get(i)
            .map_or_else(|| format!("(workload #{i})"), |w| w.key())
    };
    let opt = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_owned());

    let images = sorted(report.images.iter().map(|image| {
        let r = &image.reference;
        format!(
            "{} | {}/{}:{} | digest {} | id {} | os {} {}",
            image.key,
            r.registry,
            r.repository,
            opt(&r.tag),
            opt(&r.digest),
            opt(&image.image_id),
            opt(&image.os_family),
            opt(&image.os_name),
        )
    }));
    let workloads = sorted(report.workloads.iter().map(|w| w.key()));
    let links = sorted(report.links.iter().map(|link| {
        format!(
            "{} -> {} (container {})",
            workload_key(link.workload),
            image_key(link.image),
            opt(&link.container)
        )
    }));
    let findings = sorted(report.findings.iter().map(|f| {
        let id = f
            .vulnerability_id
            .as_deref()
            .or(f.rule_id.as_deref())
            .unwrap_or("-");
        let component = f
            .component
            .and_then(|c| report.components.get(c))
            .map_or_else(|| "-".to_owned(), |c| c.key());
        let mut on = Vec::new();
        if let Some(i) = f.image {
            on.push(format!("image {}", image_key(i)));
        }
        if let Some(w) = f.workload {
            on.push(format!("workload {}", workload_key(w)));
        }
        if f.in_cluster {
            on.push("in cluster".to_owned());
        }
        // The scope by its index in `scopes`, and only when the report declares several.
        let scope = if report.scopes.len() > 1 {
            format!(" | scope #{}", f.scope)
        } else {
            String::new()
        };
        let hex: String = f
            .fingerprint
            .0
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        format!(
            "{:?} {:?} {id} | {} | pkg {component} | fixed {} | at {} | on {}{scope} | {hex}",
            f.kind,
            f.severity,
            f.title,
            opt(&f.fixed_version),
            opt(&f.resource),
            if on.is_empty() {
                "-".to_owned()
            } else {
                on.join(", ")
            },
        )
    }));
    let events: Vec<String> = report
        .events
        .iter()
        .map(|e| {
            format!(
                "{} p{} {} | ns {} pod {} container {} image {} | {}",
                e.time.to_rfc3339(),
                e.priority,
                e.rule,
                opt(&e.namespace),
                opt(&e.pod),
                opt(&e.container_name),
                opt(&e.image),
                opt(&e.process),
            )
        })
        .collect();
    let controls = sorted(report.controls.iter().map(|c| {
        let count = |n: Option<i32>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
        format!(
            "{} {} {:?} {:?} | {} | failed {} of {}",
            c.framework_id,
            c.control_id,
            c.status,
            c.severity,
            c.title,
            count(c.failed_checks),
            count(c.total_checks),
        )
    }));
    let vex = sorted(report.vex.iter().map(|v| {
        format!(
            "{} {:?} | component {} | image {} | {}",
            v.vulnerability_id,
            v.status,
            opt(&v.component_key),
            opt(&v.image_key),
            opt(&v.justification),
        )
    }));
    let warnings: Vec<String> = report
        .warnings
        .iter()
        .map(|w| format!("{}: {}", w.pointer, w.message))
        .collect();
    json!({
        "scanner": report.scanner,
        "scanner_version": report.scanner_version,
        "kind": format!("{:?}", report.kind),
        "artifact": report.artifact,
        "cluster_name": report.cluster_name,
        "record_count": report.record_count,
        "components": report.components.len(),
        "vulnerabilities": report.vulnerabilities.len(),
        "scopes": report.scopes,
        "images": images,
        "workloads": workloads,
        "links": links,
        "findings": findings,
        "events": events,
        "controls": controls,
        "vex": vex,
        "warnings": warnings,
    })
}

fn sorted(lines: impl Iterator<Item = String>) -> Vec<String> {
    let mut lines: Vec<String> = lines.collect();
    lines.sort();
    lines
}
