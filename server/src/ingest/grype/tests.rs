use super::*;
use crate::ingest::model::testkit;
use app::model::Severity;

const DIGEST: &str = "sha256:abababababababababababababababababababababababababababababababab";

fn image_report(matches: &str) -> String {
    format!(
        r#"{{"matches": [{matches}],
                "source": {{"type": "image", "target": {{"userInput": "alpine:3.19",
                    "imageID": "sha256:{id}", "manifestDigest": "sha256:{m}",
                    "tags": ["alpine:3.19"], "repoDigests": ["alpine@{DIGEST}"]}}}},
                "distro": {{"name": "alpine", "version": "3.19.1"}},
                "descriptor": {{"name": "grype", "version": "0.80.0",
                                "timestamp": "2024-08-01T10:00:00Z"}}}}"#,
        id = "cd".repeat(32),
        m = "ef".repeat(32),
    )
}

const OPENSSL: &str = r#"{"vulnerability": {"id": "CVE-2024-0001", "namespace": "alpine:distro:alpine:3.19",
          "severity": "High", "urls": ["https://security.alpinelinux.org/vuln/CVE-2024-0001"],
          "cvss": [{"source": "nvd@nist.gov", "type": "Primary", "version": "3.1",
                    "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "metrics": {"baseScore": 7.5}}],
          "fix": {"versions": ["3.1.4-r1"], "state": "fixed"}},
        "relatedVulnerabilities": [], "matchDetails": [{"matcher": "apk-matcher"}],
        "artifact": {"name": "openssl", "version": "3.1.4-r0", "type": "apk",
          "purl": "pkg:apk/alpine/openssl@3.1.4-r0?arch=x86_64&distro=alpine-3.19.1",
          "locations": [{"path": "/lib/apk/db/installed", "layerID": "sha256:01"}]}}"#;

#[test]
fn image_report_yields_image_component_vulnerability_and_finding() {
    let parsed = parse(image_report(OPENSSL).as_bytes()).unwrap();
    assert_eq!(parsed.scanner, "grype");
    assert_eq!(parsed.scanner_version.as_deref(), Some("0.80.0"));
    assert!(parsed.generated_at.is_some());
    assert_eq!(parsed.artifact.as_deref(), Some("alpine:3.19"));
    let image = &parsed.images[0];
    // the repo digest, not Grype's own manifestDigest
    assert_eq!(image.key, DIGEST);
    assert_eq!(image.reference.repository, "library/alpine");
    assert_eq!(image.os_family.as_deref(), Some("alpine"));
    assert_eq!(image.image_id, Some(format!("sha256:{}", "cd".repeat(32))));
    assert_eq!(parsed.scopes, vec![format!("image:{DIGEST}")]);
    assert_eq!(parsed.components[0].key(), "apk/openssl@3.1.4-r0");
    let info = &parsed.vulnerabilities[0];
    assert_eq!(
        info.cvss_vectors,
        vec![(
            "nvd".to_owned(),
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N".to_owned()
        )]
    );
    let f = &parsed.findings[0];
    assert_eq!(f.kind, FindingKind::Vulnerability);
    assert_eq!(f.severity, Severity::High);
    assert_eq!(f.vulnerability_id.as_deref(), Some("CVE-2024-0001"));
    assert_eq!(f.fixed_version.as_deref(), Some("3.1.4-r1"));
    assert_eq!(f.image, Some(0));
    assert!(!f.in_cluster);
    assert_eq!(f.resource.as_deref(), Some("/lib/apk/db/installed"));
    assert_eq!(f.details.value()["matchers"], json!(["apk-matcher"]));
    assert_eq!(f.title, "CVE-2024-0001 in openssl 3.1.4-r0");
    assert!(parsed.warnings.is_empty());
}

/// The same CVE in the same package of the same image, reported by Trivy and by Grype,
/// has one fingerprint: with a repo digest, and for a local image with only a config
/// digest.
#[test]
fn grype_and_trivy_agree_on_the_fingerprint() {
    let trivy_doc = |repo_digests: &str| {
        format!(
            r#"{{"SchemaVersion": 2, "ArtifactName": "alpine:3.19", "ArtifactType": "container_image",
                   "Metadata": {{"OS": {{"Family": "alpine", "Name": "3.19.1"}},
                                "ImageID": "sha256:{id}", "RepoTags": ["alpine:3.19"],
                                "RepoDigests": [{repo_digests}]}},
                   "Results": [{{"Target": "alpine:3.19 (alpine 3.19.1)", "Class": "os-pkgs", "Type": "alpine",
                     "Vulnerabilities": [{{"VulnerabilityID": "CVE-2024-0001", "PkgName": "openssl",
                        "PkgIdentifier": {{"PURL": "pkg:apk/alpine/openssl@3.1.4-r0?arch=x86_64&distro=3.19.1"}},
                        "InstalledVersion": "3.1.4-r0", "FixedVersion": "3.1.4-r1", "Severity": "HIGH"}}]}}]}}"#,
            id = "cd".repeat(32)
        )
    };
    let with_digest = format!("\"alpine@{DIGEST}\"");
    let trivy = crate::ingest::trivy::parse(trivy_doc(&with_digest).as_bytes()).unwrap();
    let grype = parse(image_report(OPENSSL).as_bytes()).unwrap();
    assert_eq!(trivy.images[0].key, grype.images[0].key);
    assert_eq!(trivy.scopes, grype.scopes);
    assert_eq!(trivy.findings[0].fingerprint, grype.findings[0].fingerprint);

    // A locally built image: no repo digests anywhere, both fall back to the image id.
    let trivy = crate::ingest::trivy::parse(trivy_doc("").as_bytes()).unwrap();
    let local = image_report(OPENSSL).replace(&format!("\"alpine@{DIGEST}\""), "");
    let grype = parse(local.as_bytes()).unwrap();
    assert_eq!(grype.images[0].key, format!("sha256:{}", "cd".repeat(32)));
    assert_eq!(trivy.images[0].key, grype.images[0].key);
    assert_eq!(trivy.findings[0].fingerprint, grype.findings[0].fingerprint);

    // ... and without any purl, from the package type, name and version.
    let bare = OPENSSL.replace(
        r#""purl": "pkg:apk/alpine/openssl@3.1.4-r0?arch=x86_64&distro=alpine-3.19.1","#,
        "",
    );
    let grype = parse(
        image_report(&bare)
            .replace(&format!("\"alpine@{DIGEST}\""), "")
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(trivy.findings[0].fingerprint, grype.findings[0].fingerprint);
}

#[test]
fn an_advisory_with_related_cves_is_reported_per_cve() {
    let ghsa = r#"{"vulnerability": {"id": "GHSA-4374-p667-p6c8", "namespace": "github:language:go",
              "severity": "High", "description": "HTTP/2 rapid reset",
              "cvss": [{"type": "Secondary", "version": "3.1", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
              "fix": {"versions": ["0.17.0"], "state": "fixed"}},
            "relatedVulnerabilities": [
              {"id": "CVE-2023-39325", "namespace": "nvd:cpe", "urls": ["https://go.dev/issue/63417"],
               "cvss": [{"source": "nvd@nist.gov", "version": "3.1", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}]},
              {"id": "CVE-2023-44487", "namespace": "nvd:cpe"}],
            "matchDetails": [],
            "artifact": {"name": "golang.org/x/net", "version": "v0.7.0", "type": "go-module",
                         "purl": "pkg:golang/golang.org/x/net@v0.7.0"}}"#;
    let parsed = parse(image_report(ghsa).as_bytes()).unwrap();
    let ids: Vec<_> = parsed
        .findings
        .iter()
        .map(|f| f.vulnerability_id.clone().unwrap())
        .collect();
    assert_eq!(ids, vec!["CVE-2023-39325", "CVE-2023-44487"]);
    assert_eq!(parsed.record_count, 1);
    let info = &parsed.vulnerabilities[0];
    assert_eq!(info.aliases, vec!["GHSA-4374-p667-p6c8"]);
    assert_eq!(info.description.as_deref(), Some("HTTP/2 rapid reset"));
    assert_eq!(
        info.cvss_vectors
            .iter()
            .map(|(s, _)| s.as_str())
            .collect::<Vec<_>>(),
        vec!["ghsa", "nvd"]
    );
    assert!(
        info.references
            .contains(&"https://go.dev/issue/63417".to_owned())
    );
    assert_eq!(parsed.components[0].key(), "golang/golang.org/x/net@v0.7.0");
    assert_eq!(
        parsed.findings[0].details.value()["advisory"],
        "GHSA-4374-p667-p6c8"
    );
    // a GHSA without a related CVE stays itself
    let lone = ghsa.replace("CVE-2023-39325", "GO-2023-2102").replace(
        r#",
              {"id": "CVE-2023-44487", "namespace": "nvd:cpe"}"#,
        "",
    );
    let parsed = parse(image_report(&lone).as_bytes()).unwrap();
    assert_eq!(
        parsed.findings[0].vulnerability_id.as_deref(),
        Some("GHSA-4374-p667-p6c8")
    );
    assert!(parsed.vulnerabilities[0].aliases.is_empty());
}

#[test]
fn fix_states_other_than_fixed_give_no_fixed_version() {
    let wont = OPENSSL.replace(r#""state": "fixed""#, r#""state": "wont-fix""#);
    let parsed = parse(image_report(&wont).as_bytes()).unwrap();
    assert_eq!(parsed.findings[0].fixed_version, None);
    assert_eq!(parsed.findings[0].details.value()["fix_state"], "wont-fix");
}

#[test]
fn malformed_matches_are_warnings_not_failures() {
    let body = image_report(&format!(
        r#"{OPENSSL}, {{"vulnerability": 42}}, {{"vulnerability": {{"id": "CVE-1"}}}},
               {{"vulnerability": {{"id": ""}}, "artifact": {{"name": "x"}}}},
               {{"vulnerability": {{"id": "CVE-2", "severity": "Apocalyptic"}},
                 "artifact": {{"name": "x", "version": "1", "type": "npm"}}}}"#
    ));
    let parsed = parse(body.as_bytes()).unwrap();
    assert_eq!(parsed.record_count, 5);
    assert_eq!(parsed.findings.len(), 2);
    let pointers: Vec<&str> = parsed.warnings.iter().map(|w| w.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        vec!["/matches/1", "/matches/2", "/matches/3", "/matches/4"]
    );
    assert_eq!(parsed.findings[1].severity, Severity::Unknown);
    assert_eq!(parsed.components[1].key(), "npm/x@1");
}

#[test]
fn other_documents_are_refused_and_empty_reports_accepted() {
    assert_eq!(parse(b"{\"foo\": 1}").unwrap_err().kind, "wrong-format");
    assert_eq!(parse(b"[]").unwrap_err().kind, "wrong-format");
    assert_eq!(parse(b"{\"matches\": [").unwrap_err().kind, "invalid-json");
    assert_eq!(
        parse(br#"{"SchemaVersion": 2, "Results": []}"#)
            .unwrap_err()
            .kind,
        "wrong-format"
    );
    let empty = parse(image_report("").as_bytes()).unwrap();
    assert!(empty.findings.is_empty());
    assert_eq!(empty.scopes, vec![format!("image:{DIGEST}")]);
    let bare = parse(br#"{"matches": null, "source": null}"#);
    assert_eq!(bare.unwrap_err().kind, "wrong-format");
    let bare = parse(br#"{"matches": []}"#).unwrap();
    assert_eq!(bare.scopes.len(), 1);
    assert!(bare.warnings.is_empty());
}

#[test]
fn directory_scans_are_their_own_asset_and_old_layouts_read() {
    let old = r#"{"matches": [{"vulnerability": {"id": "CVE-2019-18276", "severity": "Negligible",
              "links": ["https://security-tracker.debian.org/tracker/CVE-2019-18276"],
              "cvssV2": {"baseScore": 7.2, "vector": "AV:L/AC:L/Au:N/C:C/I:C/A:C"},
              "fixedInVersion": "5.0-5"},
            "matchDetails": {"matcher": "dpkg-matcher"},
            "artifact": {"name": "bash", "version": "5.0-4", "type": "deb",
              "cpes": [{"Part": "a"}], "purl": "pkg:deb/debian/bash@5.0-4?arch=amd64"}}],
          "source": {"type": "directory", "target": "\".\""}}"#;
    let parsed = parse(old.as_bytes()).unwrap();
    assert!(parsed.images.is_empty());
    assert_eq!(parsed.scopes, vec!["directory:."]);
    let f = &parsed.findings[0];
    assert_eq!(f.severity, Severity::Low);
    assert_eq!(f.fixed_version.as_deref(), Some("5.0-5"));
    assert_eq!(f.image, None);
    assert_eq!(
        f.fingerprint,
        Fingerprint::vulnerability("CVE-2019-18276", "deb/bash@5.0-4", "directory:.")
    );
    assert_eq!(
        parsed.vulnerabilities[0].cvss_vectors,
        vec![("grype".to_owned(), "AV:L/AC:L/Au:N/C:C/I:C/A:C".to_owned())]
    );
    assert_eq!(f.details.value()["matchers"], json!(["dpkg-matcher"]));
    let object_target = parse(
        br#"{"matches": [], "source": {"type": "directory", "target": {"path": "/src/app"}}}"#,
    )
    .unwrap();
    assert_eq!(object_target.scopes, vec!["directory:/src/app"]);
}

fn fixture(name: &str) -> Vec<u8> {
    crate::ingest::model::testkit::fixture("grype", name)
}

#[test]
fn samples_name_their_images_as_trivy_would() {
    let parsed = parse(&fixture("defectdojo__issue_9618.json")).unwrap();
    let image = &parsed.images[0];
    assert_eq!(
        image.key,
        "sha256:97e6d5aeed19f627205b218f45b284cd01ff658dd181416ab1d3e21aeb28d68e"
    );
    assert_eq!(image.reference.registry, "quay.io");
    assert_eq!(image.os_family.as_deref(), Some("redhat"));
    assert_eq!(parsed.scanner_version.as_deref(), Some("0.96.0"));
    // 23 matches are fixed with versions
    let fixed = parsed
        .findings
        .iter()
        .filter(|f| f.fixed_version.is_some())
        .count();
    assert_eq!(fixed, 23);

    let parsed = parse(&fixture("defectdojo__check_all_fields.json")).unwrap();
    assert_eq!(
        parsed.images[0].key,
        "sha256:ce9898fd214aef9c994a42624b09056bdce3ff4a8e3f68dc242d967b80fcbeee"
    );
    let django: Vec<_> = parsed
        .findings
        .iter()
        .filter(|f| f.vulnerability_id.as_deref() == Some("CVE-2021-44420"))
        .collect();
    assert_eq!(django.len(), 2);
    assert_eq!(
        parsed
            .findings
            .iter()
            .filter(|f| f.fixed_version.is_some())
            .count(),
        2
    );

    let parsed = parse(&fixture("defectdojo__same_cve_different_paths.json")).unwrap();
    // "sha256:test" is not a digest: the image is keyed by name and tag
    assert_eq!(parsed.images[0].key, "docker.io/library/test-image:latest");
    assert_eq!(parsed.images[0].image_id, None);

    let parsed = parse(&fixture("defectdojo__many_vulns4.json")).unwrap();
    assert!(parsed.images.is_empty());
    assert_eq!(parsed.scopes, vec!["directory:."]);
}

/// Every vendored sample's parse, summarised and reviewed as a snapshot
/// (`snapshots/*.snap` beside this file).
#[test]
fn every_vendored_sample_matches_its_snapshot() {
    for (file, body) in testkit::fixtures("grype") {
        insta::assert_json_snapshot!(file.clone(), testkit::outcome(&parse(&body)));
    }
}

/// The two multi-megabyte Grype samples, from the team's shared samples.
/// Not vendored; a missing shared sample fails the test.
#[test]
fn shared_samples_match_their_snapshots() {
    for relative in [
        "grype/defectdojo__many_vulns.json",
        "grype/defectdojo__many_vulns2.json",
    ] {
        let body = testkit::shared_sample(relative);
        let name = format!("shared__{}", relative.replace('/', "__"));
        insta::assert_json_snapshot!(name, testkit::outcome(&parse(&body)));
    }
}
