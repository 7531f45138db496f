use super::*;
use crate::ingest::model::testkit;

fn fixture(name: &str) -> Vec<u8> {
    crate::ingest::model::testkit::fixture("kube_bench", name)
}

fn count(parsed: &ParsedReport, status: ControlStatus) -> usize {
    parsed
        .controls
        .iter()
        .filter(|c| c.status == status)
        .count()
}

const GROUP: &str = r#"{"id": "4", "version": "cis-1.7", "detected_version": "1.27",
        "text": "Worker Node Security Configuration", "node_type": "node",
        "tests": [{"section": "4.1", "desc": "Worker Node Configuration Files", "results": [
          {"test_number": "4.1.1", "test_desc": "Ensure that the kubelet service file permissions are set to 600",
           "audit": "stat -c %a /etc/systemd/system/kubelet.service", "remediation": "chmod 600 ...",
           "status": "FAIL", "actual_value": "644", "scored": true, "expected_result": "'644' is equal to '600'"},
          {"test_number": "4.1.2", "test_desc": "Ensure ownership", "status": "PASS", "scored": true},
          {"test_number": "4.1.3", "test_desc": "Proxy kubeconfig (Manual)", "status": "WARN", "scored": false},
          {"test_number": "4.1.4", "test_desc": "Skipped", "status": "INFO", "scored": false},
          {"test_number": "4.1.5", "status": "BROKEN"},
          {"test_desc": "no number", "status": "FAIL"},
          {"test_number": 7}
        ]}, "not a section"]}"#;

#[test]
fn checks_become_controls_and_failures_become_findings() {
    let body = format!(r#"{{"Controls": [{GROUP}], "Totals": {{"total_fail": 1}}}}"#);
    let parsed = parse(body.as_bytes()).unwrap();
    assert_eq!(parsed.scanner, "kube-bench");
    assert_eq!(parsed.kind, ReportKind::Controls);
    assert_eq!(parsed.scopes, vec!["kube-bench:node"]);
    assert_eq!(parsed.record_count, 7);
    assert_eq!(parsed.controls.len(), 5);
    let first = &parsed.controls[0];
    assert_eq!(first.framework_id, "cis-kubernetes-1.7");
    assert_eq!(first.framework_version.as_deref(), Some("1.7"));
    assert_eq!(first.control_id, "4.1.1");
    assert_eq!(first.status, ControlStatus::Fail);
    assert_eq!(
        first.section.as_deref(),
        Some("4.1 Worker Node Configuration Files")
    );
    assert_eq!(first.details["actual_value"], "644");
    assert_eq!(first.details["kubernetes_version"], "1.27");
    let statuses: Vec<ControlStatus> = parsed.controls.iter().map(|c| c.status).collect();
    assert_eq!(
        statuses,
        vec![
            ControlStatus::Fail,
            ControlStatus::Pass,
            ControlStatus::Warn,
            ControlStatus::Info,
            ControlStatus::Skip
        ]
    );
    // WARN (manual check) is not a finding; only FAIL is.
    assert_eq!(parsed.findings.len(), 1);
    let finding = &parsed.findings[0];
    assert_eq!(finding.kind, FindingKind::Control);
    assert!(finding.in_cluster && finding.workload.is_none());
    assert_eq!(finding.severity, Severity::Unknown);
    assert_eq!(finding.rule_id.as_deref(), Some("cis-kubernetes-1.7:4.1.1"));
    assert_eq!(
        finding.fingerprint,
        Fingerprint::of("control", &["cis-kubernetes-1.7", "4.1.1", "node"])
    );
    assert!(finding.title.starts_with("4.1.1 Ensure that the kubelet"));
    let pointers: Vec<&str> = parsed.warnings.iter().map(|w| w.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        vec![
            "/Controls/0/tests/0/results/4",
            "/Controls/0/tests/0/results/5",
            "/Controls/0/tests/0/results/6",
            "/Controls/0/tests/1"
        ]
    );
}

#[test]
fn bare_lists_single_groups_and_concatenated_documents() {
    let list = parse(format!("[{GROUP}]").as_bytes()).unwrap();
    let single = parse(GROUP.as_bytes()).unwrap();
    let several = parse(format!("{GROUP}\n{GROUP}").as_bytes()).unwrap();
    assert_eq!(list.findings.len(), 1);
    assert_eq!(single.findings.len(), 1);
    assert_eq!(several.findings.len(), 2);
    assert_eq!(list.warnings[0].pointer, "/0/tests/0/results/4");
    assert_eq!(single.warnings[0].pointer, "/tests/0/results/4");
    assert_eq!(several.warnings[4].pointer, "/1/tests/0/results/4");
    assert_eq!(several.scopes, vec!["kube-bench:node"]);
}

#[test]
fn versions_and_missing_fields() {
    let parsed = parse(
        br#"[{"version": "1.6", "node_type": "master", "tests": [{"results": [
                   {"test_number": "1.1.1", "status": "PASS"}]}]},
                 {"version": "gke-1.2.0", "node_type": "node", "tests": null},
                 {"node_type": " ", "tests": [{"section": "x", "results": [
                   {"test_number": "9", "status": "FAIL"}]}]}]"#,
    )
    .unwrap();
    assert_eq!(
        parsed.scopes,
        vec![
            "kube-bench:master",
            "kube-bench:node",
            "kube-bench:unspecified"
        ]
    );
    assert_eq!(parsed.controls[0].framework_id, "cis-kubernetes-1.6");
    assert_eq!(parsed.controls[1].framework_id, "cis-kubernetes");
    assert_eq!(parsed.controls[1].framework_version, None);
    assert_eq!(parsed.controls[1].title, "9");
    assert_eq!(parsed.findings.len(), 1);
    assert_eq!(
        Framework::of(Some("gke-1.2.0")).id,
        "cis-kubernetes-gke-1.2.0"
    );
}

#[test]
fn empty_outputs_are_empty_reports() {
    for body in [
        &b"[]"[..],
        b"{\"Controls\": [], \"Totals\": {}}",
        b"{\"Controls\": null}",
    ] {
        let parsed = parse(body).unwrap();
        assert_eq!(parsed.record_count, 0);
        assert!(parsed.scopes.is_empty());
        assert!(parsed.warnings.is_empty());
    }
}

#[test]
fn other_documents_are_refused() {
    let err = parse(b"{\"matches\": []}").unwrap_err();
    assert_eq!(err.kind, "wrong-format");
    assert!(err.detail.contains("kube-bench"), "{}", err.detail);
    let err = parse(br#"[{"Target": "alpine", "Vulnerabilities": []}]"#).unwrap_err();
    assert_eq!(err.kind, "wrong-format");
    assert_eq!(
        parse(b"{\"Controls\": 3}").unwrap_err().kind,
        "wrong-format"
    );
    assert_eq!(parse(b"42").unwrap_err().kind, "wrong-format");
    assert_eq!(parse(b"{\"Controls\": [").unwrap_err().kind, "invalid-json");
    assert_eq!(parse(b"  ").unwrap_err().kind, "invalid-json");
}

// Expected counts from python3 over the JSON: one record and one control per entry of
// `tests[].results[]`; findings = status FAIL; warn = status WARN.
#[test]
fn sample_controls_with_totals() {
    let parsed = parse(&fixture("defectdojo__kube-bench-controls.json")).unwrap();
    assert_eq!(parsed.record_count, 122);
    assert_eq!(parsed.controls.len(), 122);
    assert_eq!(count(&parsed, ControlStatus::Pass), 37);
    assert_eq!(count(&parsed, ControlStatus::Fail), 36);
    assert_eq!(count(&parsed, ControlStatus::Warn), 49);
    assert_eq!(parsed.findings.len(), 36);
    assert!(
        parsed
            .findings
            .iter()
            .all(|f| f.kind == FindingKind::Control && f.severity == Severity::Unknown)
    );
    assert_eq!(
        parsed.scopes,
        vec![
            "kube-bench:master",
            "kube-bench:etcd",
            "kube-bench:controlplane",
            "kube-bench:node",
            "kube-bench:policies"
        ]
    );
    // findings per node type: master 26, node 10
    let on = |scope: usize| parsed.findings.iter().filter(|f| f.scope == scope).count();
    assert_eq!((on(0), on(1), on(2), on(3), on(4)), (26, 0, 0, 10, 0));
    assert!(
        parsed
            .controls
            .iter()
            .all(|c| c.framework_id == "cis-kubernetes-1.6")
    );
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
}

#[test]
fn sample_many_vuln() {
    let parsed = parse(&fixture("defectdojo__kube-bench-report-many-vuln.json")).unwrap();
    assert_eq!(parsed.record_count, 24);
    assert_eq!(parsed.controls.len(), 24);
    assert_eq!(count(&parsed, ControlStatus::Pass), 20);
    assert_eq!(parsed.findings.len(), 4);
    let ids: Vec<&str> = parsed
        .findings
        .iter()
        .filter_map(|f| f.rule_id.as_deref())
        .collect();
    assert_eq!(
        ids,
        vec![
            "cis-kubernetes-1.5:3.1.1",
            "cis-kubernetes-1.5:4.1.2",
            "cis-kubernetes-1.5:4.1.5",
            "cis-kubernetes-1.5:4.2.11"
        ]
    );
    assert_eq!(parsed.scopes, vec!["kube-bench:node"]);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
}

#[test]
fn sample_one_vuln() {
    let parsed = parse(&fixture("defectdojo__kube-bench-report-one-vuln.json")).unwrap();
    assert_eq!(parsed.record_count, 23);
    assert_eq!(parsed.controls.len(), 23);
    assert_eq!(count(&parsed, ControlStatus::Pass), 22);
    assert_eq!(parsed.findings.len(), 1);
    assert_eq!(
        parsed.findings[0].rule_id.as_deref(),
        Some("cis-kubernetes-1.5:4.2.11")
    );
    assert_eq!(parsed.scopes, vec!["kube-bench:node"]);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
}

#[test]
fn sample_zero_vuln_still_declares_its_scope() {
    let parsed = parse(&fixture("defectdojo__kube-bench-report-zero-vuln.json")).unwrap();
    assert_eq!(parsed.record_count, 23);
    assert_eq!(parsed.controls.len(), 23);
    assert_eq!(count(&parsed, ControlStatus::Pass), 23);
    assert!(parsed.findings.is_empty());
    assert_eq!(parsed.scopes, vec!["kube-bench:node"]);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
}

/// Every vendored sample's parse, summarised and reviewed as a snapshot
/// (`snapshots/*.snap` beside this file).
#[test]
fn every_vendored_sample_matches_its_snapshot() {
    for (file, body) in testkit::fixtures("kube_bench") {
        insta::assert_json_snapshot!(file.clone(), testkit::outcome(&parse(&body)));
    }
}
