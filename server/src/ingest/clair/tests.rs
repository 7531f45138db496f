use super::*;
use crate::domain::component::Component;
use crate::domain::fingerprint::Fingerprint;
use crate::ingest::model::ReportKind;
use crate::ingest::model::testkit;

const DIGEST: &str = "sha256:fe3d51dd3262e5d9b9584603da59e387619234d95182351e4f493a1e5998f1f0";

fn v4(vulns: &str, links: &str) -> String {
    format!(
        r#"{{"manifest_hash": "{DIGEST}",
               "packages": {{"p1": {{"id": "p1", "name": "libarchive", "version": "3.3.3-1.el8", "kind": "binary"}},
                            "p2": {{"id": "p2", "name": "pip", "version": "20.0", "kind": "binary"}}}},
               "distributions": {{"d1": {{"id": "d1", "did": "rhel", "version_id": "8"}}}},
               "repository": {{}},
               "environments": {{"p1": [{{"package_db": "/var/lib/rpm", "introduced_in": "sha256:aa", "distribution_id": "d1"}}],
                                "p2": [{{"package_db": "python:usr/lib/python3.8/site-packages", "distribution_id": ""}}]}},
               "vulnerabilities": {{{vulns}}},
               "package_vulnerabilities": {{{links}}},
               "enrichments": {{"message/vnd.clair.map.vulnerability; enricher=clair.cvss schema=x": [
                   {{"v1": [{{"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}]}}]}}}}"#
    )
}

const RHSA: &str = r#""v1": {"id": "v1", "name": "RHSA-2022:0892: libarchive security update (Moderate)",
        "links": "https://access.redhat.com/errata/RHSA-2022:0892 https://access.redhat.com/security/cve/CVE-2021-23177 https://access.redhat.com/security/cve/CVE-2021-31566",
        "severity": "Moderate", "normalized_severity": "Medium", "fixed_in_version": "0:3.3.3-4.el8",
        "issued": "2022-03-15T00:00:00Z"},
        "v2": {"id": "v2", "name": "pyup.io-42559 (CVE-2021-3572)", "links": "", "normalized_severity": "Negligible",
        "repository": {"name": "pypi"}, "fixed_in_version": ""}"#;

#[test]
fn v4_report_names_the_image_by_its_manifest_digest_and_splits_advisories_per_cve() {
    let parsed = parse(v4(RHSA, r#""p1": ["v1"], "p2": ["v2"]"#).as_bytes()).unwrap();
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert_eq!(parsed.images.len(), 1);
    assert_eq!(parsed.images[0].key, DIGEST);
    assert_eq!(parsed.images[0].os_family.as_deref(), Some("rhel"));
    assert_eq!(parsed.scopes, vec![format!("image:{DIGEST}")]);
    assert_eq!(parsed.record_count, 2);
    let ids: Vec<&str> = parsed
        .findings
        .iter()
        .filter_map(|f| f.vulnerability_id.as_deref())
        .collect();
    assert_eq!(
        ids,
        vec!["CVE-2021-23177", "CVE-2021-31566", "CVE-2021-3572"]
    );
    let first = &parsed.findings[0];
    assert_eq!(first.severity, Severity::Medium);
    assert_eq!(first.fixed_version.as_deref(), Some("0:3.3.3-4.el8"));
    assert_eq!(first.image, Some(0));
    assert!(!first.in_cluster);
    // Agrees with a Trivy/Grype finding of the same CVE, package and image.
    assert_eq!(
        first.fingerprint,
        Fingerprint::vulnerability("CVE-2021-23177", "rpm/libarchive@3.3.3-1.el8", DIGEST)
    );
    assert_eq!(parsed.findings[2].severity, Severity::Low);
    assert_eq!(parsed.findings[2].fixed_version, None);
    let keys: Vec<String> = parsed.components.iter().map(Component::key).collect();
    assert_eq!(keys, vec!["rpm/libarchive@3.3.3-1.el8", "pypi/pip@20.0"]);
    let info = &parsed.vulnerabilities[0];
    assert_eq!(info.aliases, vec!["RHSA-2022:0892"]);
    assert_eq!(info.cvss_vectors.len(), 1);
    assert!(info.published_at.is_some());
}

#[test]
fn v4_severities_map_explicitly() {
    let mut b = ReportBuilder::new("clair", ReportKind::Findings);
    let words = [
        "Unknown",
        "Negligible",
        "Low",
        "Medium",
        "High",
        "Critical",
        "Defcon1",
    ];
    let mapped: Vec<Severity> = words.iter().map(|w| v4_severity(&mut b, "/", w)).collect();
    assert_eq!(
        mapped,
        vec![
            Severity::Unknown,
            Severity::Low,
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
            Severity::Critical
        ]
    );
    assert_eq!(v4_severity(&mut b, "/x", "Apocalyptic"), Severity::Unknown);
    assert_eq!(b.finish().warnings.len(), 1);
}

#[test]
fn v4_broken_links_are_warnings() {
    let parsed =
        parse(v4(RHSA, r#""p1": ["v1", "nope", 7], "p9": ["v2"], "p2": "x""#).as_bytes()).unwrap();
    assert_eq!(parsed.findings.len(), 2);
    assert_eq!(parsed.record_count, 5);
    assert_eq!(parsed.warnings.len(), 4, "{:?}", parsed.warnings);
    assert_eq!(parsed.warnings[0].pointer, "/package_vulnerabilities/p1/1");
}

#[test]
fn v4_empty_report_declares_its_scope() {
    let parsed = parse(v4("", "").as_bytes()).unwrap();
    assert!(parsed.findings.is_empty());
    assert_eq!(parsed.scopes.len(), 1);
    let nulls = format!(
        r#"{{"manifest_hash": "{DIGEST}", "packages": null, "vulnerabilities": null,
                "package_vulnerabilities": null, "environments": null}}"#
    );
    assert!(parse(nulls.as_bytes()).unwrap().warnings.is_empty());
}

#[test]
fn index_reports_and_other_documents_are_refused() {
    let index = format!(
        r#"{{"manifest_hash": "{DIGEST}", "state": "IndexFinished", "success": true, "packages": {{}}}}"#
    );
    assert_eq!(parse(index.as_bytes()).unwrap_err().kind, "wrong-format");
    assert_eq!(
        parse(b"{\"matches\": []}").unwrap_err().kind,
        "wrong-format"
    );
    assert_eq!(parse(b"[1]").unwrap_err().kind, "wrong-format");
    assert_eq!(parse(b"{\"image\": ").unwrap_err().kind, "invalid-json");
}

#[test]
fn clair_scanner_keys_findings_by_image_name() {
    let parsed = parse(
            br#"{"image": "ubuntu:bionic", "unapproved": ["CVE-2019-5094"], "vulnerabilities": [
                {"featurename": "e2fsprogs", "featureversion": "1.44.1-1ubuntu1.1", "vulnerability": "CVE-2019-5094",
                 "namespace": "ubuntu:18.04", "severity": "Medium", "fixedby": "1.44.1-1ubuntu1.2", "link": "http://x"},
                {"featurename": "", "vulnerability": "CVE-1"}]}"#,
        )
        .unwrap();
    assert_eq!(parsed.scanner, "clair-scanner");
    assert_eq!(parsed.images[0].key, "docker.io/library/ubuntu:bionic");
    assert_eq!(parsed.scopes, vec!["image:docker.io/library/ubuntu:bionic"]);
    assert_eq!(parsed.record_count, 2);
    assert_eq!(parsed.findings.len(), 1);
    assert_eq!(parsed.warnings.len(), 1);
    assert_eq!(
        parsed.components[0].key(),
        "deb/e2fsprogs@1.44.1-1ubuntu1.1"
    );
    assert_eq!(parsed.findings[0].details.value()["approved"], false);
}

#[test]
fn klar_reports_are_their_own_scope() {
    let body = br#"{"LayerCount": 3, "Vulnerabilities": {"Defcon1": [
            {"Name": "RHSA-2019:0109", "NamespaceName": "centos:7", "Severity": "Defcon1",
             "FeatureName": "perl", "FeatureVersion": "4:5.16.3-293.el7", "FixedBy": "4:5.16.3-294.el7_6",
             "Metadata": {"NVD": {"CVSSv2": {"Score": 5, "Vectors": "AV:N/AC:L/Au:N/C:P/I:N/A:N"}}}}]}}"#;
    let parsed = parse(body).unwrap();
    assert_eq!(parsed.scanner, "klar");
    assert!(parsed.images.is_empty());
    assert!(parsed.scopes[0].starts_with("klar:report-"));
    assert_eq!(parsed.findings[0].severity, Severity::Critical);
    assert_eq!(parsed.components[0].key(), "rpm/perl@4:5.16.3-293.el7");
    assert_eq!(parsed.vulnerabilities[0].cvss_vectors[0].0, "nvd");
    assert_eq!(parsed.warnings.len(), 1);
    let empty = parse(br#"{"LayerCount": 9, "Vulnerabilities": {}}"#).unwrap();
    assert!(empty.findings.is_empty() && empty.warnings.is_empty());
}

#[test]
fn zero_versions_fix_nothing() {
    assert!(!fixes_something("0:0"));
    assert!(fixes_something("0:2.28-164.el8_5.3"));
}

/// Every vendored sample's parse, summarised and reviewed as a snapshot
/// (`snapshots/*.snap` beside this file).
#[test]
fn every_vendored_sample_matches_its_snapshot() {
    for (file, body) in testkit::fixtures("clair") {
        insta::assert_json_snapshot!(file.clone(), testkit::outcome(&parse(&body)));
    }
}

/// The Clair samples over 1 MB, from the team's shared samples.
/// Not vendored; a missing shared sample fails the test.
#[test]
fn shared_samples_match_their_snapshots() {
    for relative in [
        "clair/clair-action__quay-rhel8.json",
        "clair/clair-action__quay_v3_4.json",
    ] {
        let body = testkit::shared_sample(relative);
        let name = format!("shared__{}", relative.replace('/', "__"));
        insta::assert_json_snapshot!(name, testkit::outcome(&parse(&body)));
    }
}
