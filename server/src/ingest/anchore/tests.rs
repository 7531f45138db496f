use app::model::Severity;

use super::*;
use crate::ingest::model::FindingKind;
use crate::ingest::model::testkit;

const DIGEST: &str = "sha256:abababababababababababababababababababababababababababababababab";

fn engine_report(vulns: &str, kind: &str) -> String {
    format!(
        r#"{{"imageDigest": "{DIGEST}", "imageFullTag": "docker.io/library/debian:9",
                "vulnerability_type": "{kind}", "vulnerabilities": [{vulns}]}}"#
    )
}

const GNUTLS: &str = r#"{"feed": "vulnerabilities", "feed_group": "debian:9", "fix": "None",
        "package": "libgnutls30-3.5.8-5+deb9u4", "package_cpe": "None", "package_name": "libgnutls30",
        "package_path": "None", "package_type": "dpkg", "package_version": "3.5.8-5+deb9u4",
        "severity": "Medium", "url": "https://security-tracker.debian.org/tracker/CVE-2011-3389",
        "vuln": "CVE-2011-3389",
        "nvd_data": [{"id": "CVE-2011-3389", "cvss_v2": {"base_score": 4.3, "vector_string": "AV:N/AC:M/Au:N/C:P/I:N/A:N"},
                      "cvss_v3": {"base_score": -1.0}}]}"#;

#[test]
fn engine_report_yields_image_component_and_finding() {
    let parsed = parse(engine_report(GNUTLS, "all").as_bytes()).unwrap();
    assert_eq!(parsed.scanner, "anchore");
    let image = &parsed.images[0];
    assert_eq!(image.key, DIGEST);
    assert_eq!(image.reference.repository, "library/debian");
    assert_eq!(parsed.scopes, vec![format!("image:{DIGEST}")]);
    assert_eq!(parsed.components[0].key(), "deb/libgnutls30@3.5.8-5+deb9u4");
    let f = &parsed.findings[0];
    assert_eq!(f.kind, FindingKind::Vulnerability);
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(f.fixed_version, None);
    assert_eq!(f.resource, None);
    assert!(!f.in_cluster);
    assert_eq!(f.image, Some(0));
    assert_eq!(
        f.fingerprint,
        Fingerprint::vulnerability("CVE-2011-3389", "deb/libgnutls30@3.5.8-5+deb9u4", DIGEST)
    );
    assert_eq!(
        parsed.vulnerabilities[0].cvss_vectors,
        vec![("nvd".to_owned(), "AV:N/AC:M/Au:N/C:P/I:N/A:N".to_owned())]
    );
    assert!(parsed.warnings.is_empty());
    // an os-only report is a scope of its own
    let parsed = parse(engine_report(GNUTLS, "os").as_bytes()).unwrap();
    assert_eq!(parsed.scopes, vec![format!("image:{DIGEST}#os")]);
}

#[test]
fn anchore_and_trivy_agree_on_an_image_digest_and_deb_package() {
    let trivy = crate::ingest::trivy::parse(
            format!(
                r#"{{"SchemaVersion": 2, "ArtifactName": "debian:9", "ArtifactType": "container_image",
                   "Metadata": {{"RepoDigests": ["debian@{DIGEST}"]}},
                   "Results": [{{"Target": "debian:9 (debian 9.13)", "Class": "os-pkgs", "Type": "debian",
                     "Vulnerabilities": [{{"VulnerabilityID": "CVE-2011-3389", "PkgName": "libgnutls30",
                        "InstalledVersion": "3.5.8-5+deb9u4", "Severity": "MEDIUM"}}]}}]}}"#
            )
            .as_bytes(),
        )
        .unwrap();
    let anchore = parse(engine_report(GNUTLS, "all").as_bytes()).unwrap();
    assert_eq!(trivy.images[0].key, anchore.images[0].key);
    assert_eq!(
        trivy.findings[0].fingerprint,
        anchore.findings[0].fingerprint
    );
}

#[test]
fn advisories_with_cves_are_reported_per_cve() {
    let rhsa = r#"{"vuln": "RHSA-2024:0001", "severity": "High", "package_name": "openssl-libs",
            "package_version": "1:1.1.1k-14.el8_6", "package_type": "rpm", "fix": "1:1.1.1k-15.el8_6",
            "feed_group": "rhel:8",
            "nvd_data": [{"id": "CVE-2024-0727"}, {"id": "CVE-2024-2511"}],
            "vendor_data": [{"id": "RHSA-2024:0001", "cvss_v3": {"vector_string": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}}]}"#;
    let parsed = parse(engine_report(rhsa, "all").as_bytes()).unwrap();
    let ids: Vec<_> = parsed
        .findings
        .iter()
        .map(|f| f.vulnerability_id.clone().unwrap())
        .collect();
    assert_eq!(ids, vec!["CVE-2024-0727", "CVE-2024-2511"]);
    assert_eq!(parsed.record_count, 1);
    assert_eq!(parsed.vulnerabilities[0].aliases, vec!["RHSA-2024:0001"]);
    assert_eq!(
        parsed.vulnerabilities[0].cvss_vectors[0].0, "rhel",
        "vendor vectors carry the feed group's distribution"
    );
    assert_eq!(
        parsed.findings[0].fixed_version.as_deref(),
        Some("1:1.1.1k-15.el8_6")
    );
    assert_eq!(
        parsed.components[0].key(),
        "rpm/openssl-libs@1:1.1.1k-14.el8_6"
    );
}

#[test]
fn package_strings_split_before_the_version() {
    let split = |p: &str, k: &str| split_package(p, k).unwrap();
    assert_eq!(
        split("openssl-libs-1:1.1.1k-14.el8_6", "RPM"),
        ("openssl-libs".to_owned(), "1:1.1.1k-14.el8_6".to_owned())
    );
    assert_eq!(
        split("java-11-openjdk-headless-1:11.0.25.0.9-2.el8", "rpm"),
        (
            "java-11-openjdk-headless".to_owned(),
            "1:11.0.25.0.9-2.el8".to_owned()
        )
    );
    assert_eq!(
        split("tomcat-embed-core-9.0.97", "Java"),
        ("tomcat-embed-core".to_owned(), "9.0.97".to_owned())
    );
    assert_eq!(
        split("libgnutls30-3.5.8-5+deb9u4", "dpkg"),
        ("libgnutls30".to_owned(), "3.5.8-5+deb9u4".to_owned())
    );
    assert_eq!(
        split("foo-1.0", "rpm"),
        ("foo".to_owned(), "1.0".to_owned())
    );
    assert_eq!(split_package("nodigits", "java"), None);
    assert_eq!(split_package("é-", "java"), None);
}

#[test]
fn policy_gates_that_stop_or_warn_are_findings_about_the_image() {
    let doc = format!(
        r#"[{{"{DIGEST}": {{"docker.io/acme/app:1.0": [{{
                "detail": {{"result": {{"final_action": "stop", "image_id": "{id}",
                  "result": {{"{id}": {{"result": {{"final_action": "stop",
                    "header": ["Image_Id", "Repo_Tag", "Trigger_Id", "Gate", "Trigger", "Check_Output", "Gate_Action", "Whitelisted", "Policy_Id"],
                    "rows": [
                      ["{id}", "docker.io/acme/app:1.0", "abc", "dockerfile", "instruction", "Dockerfile directive 'HEALTHCHECK' not found", "warn", false, "p1"],
                      ["{id}", "docker.io/acme/app:1.0", "CVE-1+x.jar", "vulnerabilities", "package", "CRITICAL Vulnerability found in x.jar", "stop", false, "p1"],
                      ["{id}", "docker.io/acme/app:1.0", "def", "dockerfile", "instruction", "user is root", "stop", false, "p1"],
                      ["{id}", "docker.io/acme/app:1.0", "ghi", "dockerfile", "exposed_ports", "port 22", "stop", true, "p1"],
                      ["{id}", "docker.io/acme/app:1.0", "jkl", "licenses", "blacklist", "fine", "go", false, "p1"],
                      "garbage"
                    ]}}}},
                    "policy_data": [], "policy_name": ""}}}}}},
                "last_evaluation": "2020-03-06T13:40:10Z", "policyId": "bundle", "status": "fail"}}]}}}}]"#,
        id = "cd".repeat(32)
    );
    let parsed = parse(doc.as_bytes()).unwrap();
    assert_eq!(parsed.record_count, 6);
    assert_eq!(parsed.warnings.len(), 1);
    assert!(parsed.warnings[0].pointer.ends_with("/rows/5"));
    let image = &parsed.images[0];
    assert_eq!(image.key, DIGEST);
    assert_eq!(image.image_id, Some(format!("sha256:{}", "cd".repeat(32))));
    assert_eq!(parsed.scopes, vec![format!("anchore-policy:{DIGEST}")]);
    let got: Vec<(&str, Severity)> = parsed
        .findings
        .iter()
        .map(|f| (f.rule_id.as_deref().unwrap(), f.severity))
        .collect();
    assert_eq!(
        got,
        vec![
            ("dockerfile:instruction", Severity::Medium),
            ("vulnerabilities:package", Severity::Critical),
            ("dockerfile:instruction", Severity::High),
        ]
    );
    let f = &parsed.findings[0];
    assert_eq!(f.kind, FindingKind::Misconfiguration);
    assert_eq!(f.image, Some(0));
    assert!(!f.in_cluster);
    assert_eq!(
        f.fingerprint,
        Fingerprint::misconfiguration("dockerfile:instruction", "abc", DIGEST)
    );
    assert!(parsed.generated_at.is_some());
}

#[test]
fn anchorectl_lists_name_no_image_and_are_their_own_scope() {
    let list = r#"[{"vuln": "CVE-2011-3389", "severity": "Medium", "packageName": "libgnutls30",
            "packageVersion": "3.5.8-5+deb9u4", "packageType": "dpkg", "fix": "None", "feedGroup": "debian:9"}]"#;
    let parsed = parse(list.as_bytes()).unwrap();
    assert!(parsed.images.is_empty());
    assert!(parsed.scopes[0].starts_with("anchore:report-"));
    assert_eq!(parsed.findings.len(), 1);
    assert_eq!(parsed.warnings.len(), 1);
    assert_eq!(parsed.components[0].key(), "deb/libgnutls30@3.5.8-5+deb9u4");
    let empty = parse(b"[]").unwrap();
    assert!(empty.findings.is_empty());
    assert!(empty.warnings.is_empty());
}

#[test]
fn malformed_records_are_warnings_and_other_documents_are_refused() {
    let body = engine_report(
        &format!(
            r#"{GNUTLS}, 42, {{"severity": "High"}}, {{"vuln": "CVE-1", "package": "nodigits"}},
                   {{"vuln": "CVE-2", "severity": "Severe", "package": "x-1.0", "package_type": "npm"}}"#
        ),
        "all",
    );
    let parsed = parse(body.as_bytes()).unwrap();
    assert_eq!(parsed.record_count, 5);
    assert_eq!(parsed.findings.len(), 2);
    let pointers: Vec<&str> = parsed.warnings.iter().map(|w| w.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        vec![
            "/vulnerabilities/1",
            "/vulnerabilities/2",
            "/vulnerabilities/3",
            "/vulnerabilities/4"
        ]
    );
    assert_eq!(parsed.components[1].key(), "npm/x@1.0");

    assert_eq!(parse(b"{\"foo\": 1}").unwrap_err().kind, "wrong-format");
    assert_eq!(parse(b"{}").unwrap_err().kind, "wrong-format");
    assert_eq!(parse(b"[1, 2]").unwrap_err().kind, "wrong-format");
    assert_eq!(parse(b"[{\"a\": 1}]").unwrap_err().kind, "wrong-format");
    assert_eq!(parse(b"42").unwrap_err().kind, "wrong-format");
    assert_eq!(
        parse(b"{\"vulnerabilities\": [").unwrap_err().kind,
        "invalid-json"
    );
    assert_eq!(parse(b"nope").unwrap_err().kind, "invalid-json");
    assert_eq!(
        parse(br#"{"matches": [], "source": {"type": "image"}}"#)
            .unwrap_err()
            .kind,
        "wrong-format"
    );
    let empty = parse(br#"{"imageDigest": null, "vulnerabilities": null}"#).unwrap();
    assert!(empty.findings.is_empty());
    assert_eq!(empty.scopes.len(), 1);
}

fn fixture(name: &str) -> Vec<u8> {
    crate::ingest::model::testkit::fixture("anchore", name)
}

#[test]
fn samples_name_their_images() {
    let parsed = parse(&fixture("defectdojo-engine__many_vulns_2.4.1.json")).unwrap();
    let image = &parsed.images[0];
    assert_eq!(
        image.key,
        "sha256:e010a676dba57f2110960b4e81a1d9098585ed6a8ac79e8c4a552ba4018d1674"
    );
    assert_eq!(image.reference.registry, "registry1.dsop.io");
    assert_eq!(parsed.scopes, vec![format!("image:{}", image.key)]);
    // every 2.4.1 record with nvd_data has its NVD vectors from `extra`
    let with_vectors = parsed
        .vulnerabilities
        .iter()
        .filter(|v| !v.cvss_vectors.is_empty())
        .count();
    assert!(with_vectors > 0);
    assert!(
        parsed
            .vulnerabilities
            .iter()
            .all(|v| v.description.is_some())
    );

    let parsed = parse(&fixture("defectdojo-engine__new_format_issue_11552.json")).unwrap();
    assert_eq!(parsed.images[0].reference.repository, "library/myimage");
    assert_eq!(parsed.images[0].reference.tag.as_deref(), Some("new"));
    // GHSA entries carry their CVE: the CVE is the id, the GHSA an alias
    let ghsa = parsed
        .findings
        .iter()
        .find(|f| f.details.value()["advisory"] == "GHSA-5j33-cvvr-w245")
        .unwrap();
    assert_eq!(ghsa.vulnerability_id.as_deref(), Some("CVE-2024-50379"));
    assert_eq!(
        parsed.components[parsed.findings[0].component.unwrap()].key(),
        "maven/tomcat-annotations-api@9.0.97"
    );
    assert!(
        parsed
            .components
            .iter()
            .any(|c| c.key() == "rpm/openssl-libs@1:1.1.1k-14.el8_6")
    );

    let parsed = parse(&fixture("defectdojo-enterprise__many_checks.json")).unwrap();
    assert_eq!(
        parsed.images[0].key,
        "sha256:8fdd536f0caa79bb924b9c1b9451b49957322d1b07ab23def8c9a49448e5d462"
    );
    assert_eq!(
        parsed.images[0].reference.repository,
        "jenkinsxio/builder-maven"
    );
    let parsed = parse(&fixture("defectdojo-enterprise__no_checks.json")).unwrap();
    assert_eq!(
        parsed.scopes.len(),
        1,
        "a clean evaluation still declares its scope"
    );
}

/// Every vendored sample's parse, summarised and reviewed as a snapshot
/// (`snapshots/*.snap` beside this file).
#[test]
fn every_vendored_sample_matches_its_snapshot() {
    for (file, body) in testkit::fixtures("anchore") {
        insta::assert_json_snapshot!(file.clone(), testkit::outcome(&parse(&body)));
    }
}
