use app::model::Severity;

use super::*;
use crate::domain::fingerprint::Fingerprint;
use crate::domain::vuln_id::is_cve;
use crate::ingest::model::VexStatus;
use crate::ingest::model::testkit;

const DIGEST: &str = "sha256:abababababababababababababababababababababababababababababababab";

fn image_bom(vulnerabilities: &str) -> String {
    format!(
        r#"{{"bomFormat": "CycloneDX", "specVersion": "1.5", "serialNumber": "urn:uuid:1",
               "metadata": {{"tools": {{"components": [{{"name": "trivy", "version": "0.50.0"}}]}},
                 "component": {{"bom-ref": "img", "type": "container", "name": "alpine:3.19",
                   "purl": "pkg:oci/alpine@sha256%3A{hex}?repository_url=index.docker.io%2Flibrary%2Falpine"}}}},
               "components": [{{"bom-ref": "pkg:apk/alpine/openssl@3.1.4-r0?distro=3.19.1", "type": "library",
                 "name": "openssl", "version": "3.1.4-r0", "purl": "pkg:apk/alpine/openssl@3.1.4-r0?distro=3.19.1"}},
                 {{"bom-ref": "os", "type": "operating-system", "name": "alpine", "version": "3.19.1"}}],
               "vulnerabilities": [{vulnerabilities}]}}"#,
        hex = "ab".repeat(32)
    )
}

const VULN: &str = r#"{"id": "CVE-2024-0001", "source": {"name": "alpine"},
        "ratings": [{"source": {"name": "nvd"}, "severity": "critical", "method": "CVSSv31",
                     "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"},
                    {"source": {"name": "alpine"}, "severity": "medium"}],
        "cwes": [79], "description": "bad thing",
        "affects": [{"ref": "pkg:apk/alpine/openssl@3.1.4-r0?distro=3.19.1"}]}"#;

#[test]
fn image_subject_agrees_with_trivy_on_the_same_image() {
    let parsed = parse(image_bom(VULN).as_bytes()).unwrap();
    assert_eq!(parsed.scanner, "trivy");
    assert_eq!(parsed.scanner_version.as_deref(), Some("0.50.0"));
    assert_eq!(parsed.kind, ReportKind::Findings);
    assert_eq!(parsed.images.len(), 1);
    assert_eq!(parsed.images[0].key, DIGEST);
    assert_eq!(parsed.images[0].reference.repository, "library/alpine");
    assert_eq!(parsed.scopes, vec![format!("image:{DIGEST}")]);
    // the operating system is not a package
    assert_eq!(parsed.components.len(), 1);
    let finding = &parsed.findings[0];
    assert_eq!(finding.image, Some(0));
    assert!(!finding.in_cluster);
    // the rating of the vulnerability's own source wins over the highest
    assert_eq!(finding.severity, Severity::Medium);
    assert_eq!(parsed.vulnerabilities[0].cwe, vec!["CWE-79"]);

    let trivy = crate::ingest::trivy::parse(
            format!(
                r#"{{"SchemaVersion": 2, "ArtifactName": "alpine:3.19", "ArtifactType": "container_image",
                   "Metadata": {{"RepoDigests": ["alpine@{DIGEST}"]}},
                   "Results": [{{"Target": "alpine:3.19 (alpine 3.19.1)", "Class": "os-pkgs", "Type": "alpine",
                     "Vulnerabilities": [{{"VulnerabilityID": "CVE-2024-0001", "PkgName": "openssl",
                       "InstalledVersion": "3.1.4-r0", "Severity": "MEDIUM",
                       "PkgIdentifier": {{"PURL": "pkg:apk/alpine/openssl@3.1.4-r0?arch=x86_64&distro=3.19.1"}}}}]}}]}}"#
            )
            .as_bytes(),
        )
        .unwrap();
    assert_eq!(trivy.findings[0].fingerprint, finding.fingerprint);
    assert_eq!(trivy.scopes, parsed.scopes);
    assert_eq!(
        finding.fingerprint,
        Fingerprint::vulnerability("CVE-2024-0001", "apk/openssl@3.1.4-r0", DIGEST)
    );
}

#[test]
fn cve_reference_is_preferred_and_analysis_becomes_vex() {
    let parsed = parse(
            br#"{"bomFormat": "CycloneDX", "specVersion": "1.4",
                 "metadata": {"component": {"type": "application", "name": "shop", "version": "2.0"}},
                 "components": [{"bom-ref": "c1", "type": "library", "group": "com.fasterxml.jackson.core",
                                 "name": "jackson-databind", "version": "2.9.4"}],
                 "vulnerabilities": [{"id": "SNYK-JAVA-1", "references": [{"id": "GHSA-x"}, {"id": "CVE-2018-7489"}],
                   "ratings": [{"severity": "high", "method": "CVSSv3", "vector": "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
                               {"severity": "none", "method": "OWASP", "vector": "SL:1/M:1"}],
                   "analysis": {"state": "not_affected", "justification": "code_not_reachable",
                                "detail": "not called", "lastUpdated": "2024-01-02T03:04:05Z"},
                   "affects": [{"ref": "c1"}]}]}"#,
        )
        .unwrap();
    let finding = &parsed.findings[0];
    assert_eq!(finding.vulnerability_id.as_deref(), Some("CVE-2018-7489"));
    assert_eq!(finding.severity, Severity::High);
    let info = &parsed.vulnerabilities[0];
    assert_eq!(info.aliases, vec!["SNYK-JAVA-1", "GHSA-x"]);
    // v3 vector completed with the prefix its method names; OWASP vectors are not CVSS
    assert_eq!(
        info.cvss_vectors,
        vec![(
            "cyclonedx".to_owned(),
            "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".to_owned()
        )]
    );
    // no purl: the group is part of the name, the ecosystem unknown
    let key = "generic/com.fasterxml.jackson.core/jackson-databind@2.9.4";
    assert_eq!(parsed.scopes, vec!["sbom:shop@2.0"]);
    assert_eq!(
        finding.fingerprint,
        Fingerprint::vulnerability("CVE-2018-7489", key, "sbom:shop@2.0")
    );
    assert_eq!(finding.image, None);
    let vex = &parsed.vex[0];
    assert_eq!(vex.status, VexStatus::NotAffected);
    assert_eq!(vex.vulnerability_id, "CVE-2018-7489");
    assert_eq!(vex.component_key.as_deref(), Some(key));
    assert_eq!(vex.image_key, None);
    assert_eq!(vex.justification.as_deref(), Some("code_not_reachable"));
    assert_eq!(vex.statement.as_deref(), Some("not called"));
    assert!(vex.issued_at.is_some());
}

#[test]
fn analysis_states_map_onto_vex_statuses() {
    for (state, status) in [
        ("not_affected", Some(VexStatus::NotAffected)),
        ("false_positive", Some(VexStatus::NotAffected)),
        ("resolved", Some(VexStatus::Fixed)),
        ("exploitable", Some(VexStatus::Affected)),
        ("in_triage", Some(VexStatus::UnderInvestigation)),
        ("maybe", None),
    ] {
        let vuln = VULN.replace(
            r#""cwes""#,
            &format!(r#""analysis": {{"state": "{state}"}}, "cwes""#),
        );
        let parsed = parse(image_bom(&vuln).as_bytes()).unwrap();
        assert_eq!(parsed.findings.len(), 1, "{state}");
        assert_eq!(parsed.vex.first().map(|v| v.status), status, "{state}");
        assert_eq!(parsed.warnings.len(), usize::from(status.is_none()));
        if let Some(vex) = parsed.vex.first() {
            assert_eq!(vex.image_key.as_deref(), Some(DIGEST));
            assert_eq!(vex.component_key.as_deref(), Some("apk/openssl@3.1.4-r0"));
        }
    }
}

#[test]
fn severity_words_and_highest_rating() {
    let severity = |ratings: &str| {
        let vuln = format!(
            r#"{{"id": "CVE-1", "ratings": [{ratings}], "affects": [{{"ref": "pkg:npm/a@1.0.0"}}]}}"#
        );
        let parsed = parse(image_bom(&vuln).as_bytes()).unwrap();
        (parsed.findings[0].severity, parsed.warnings.len())
    };
    assert_eq!(severity(r#"{"severity": "info"}"#), (Severity::Low, 0));
    assert_eq!(severity(r#"{"severity": "none"}"#), (Severity::Unknown, 0));
    assert_eq!(severity(""), (Severity::Unknown, 0));
    assert_eq!(
        severity(r#"{"severity": "low"}, {"score": 9.8}, {"severity": "high"}"#),
        (Severity::High, 0)
    );
    assert_eq!(severity(r#"{"severity": "dire"}"#), (Severity::Unknown, 1));
}

#[test]
fn inventory_without_vulnerabilities_declares_no_scope() {
    let parsed = parse(
            br#"{"bomFormat": "CycloneDX", "specVersion": "1.6",
                 "metadata": {"component": {"type": "container", "name": "nginx",
                                            "version": "sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"}},
                 "components": [{"type": "library", "name": "libc6", "version": "2.36", "purl": "pkg:deb/debian/libc6@2.36",
                                 "components": [{"type": "library", "name": "nested", "version": "1"}]}],
                 "vulnerabilities": []}"#,
        )
        .unwrap();
    assert_eq!(parsed.kind, ReportKind::Inventory);
    assert!(parsed.scopes.is_empty());
    assert!(parsed.findings.is_empty());
    assert_eq!(parsed.record_count, 2);
    let keys: Vec<String> = parsed.components.iter().map(Component::key).collect();
    assert_eq!(keys, vec!["deb/libc6@2.36", "generic/nested@1"]);
    assert_eq!(parsed.images[0].reference.repository, "library/nginx");
    assert!(parsed.images[0].key.starts_with("sha256:cdcd"));
}

#[test]
fn xml_vulnerability_extension_inside_components() {
    let parsed = parse(
            br#"<?xml version="1.0" encoding="UTF-8"?>
            <bom xmlns="http://cyclonedx.org/schema/bom/1.2" xmlns:v="http://cyclonedx.org/schema/ext/vulnerability/1.0" version="1">
              <metadata><tools><tool><vendor>anchore</vendor><name>grype</name><version>0.7.0</version></tool></tools>
                <component type="container"><name>acme/app:1.0</name>
                  <version>sha256:efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef</version></component>
              </metadata>
              <components>
                <component type="library"><name>Django</name><version>2.2.17</version>
                  <v:vulnerabilities>
                    <v:vulnerability ref="urn:uuid:1"><v:id>CVE-2021-3281</v:id>
                      <v:source name="nvd"><v:url>https://nvd.nist.gov/vuln/detail/CVE-2021-3281</v:url></v:source>
                      <v:ratings><v:rating><v:score><v:base>5.0</v:base></v:score><v:severity>Medium</v:severity>
                        <v:vector>AV:N/AC:L/Au:N/C:N/I:P/A:N</v:vector></v:rating></v:ratings>
                      <v:cwes><v:cwe>22</v:cwe></v:cwes>
                      <v:description>Directory traversal &amp; more</v:description>
                      <v:advisories><v:advisory>https://example.com/a</v:advisory></v:advisories>
                    </v:vulnerability>
                  </v:vulnerabilities>
                </component>
                <component type="library"><name>six</name><version>1.15.0</version></component>
              </components>
            </bom>"#,
        )
        .unwrap();
    assert_eq!(parsed.scanner, "grype");
    assert_eq!(parsed.record_count, 3);
    assert_eq!(parsed.components.len(), 2);
    assert_eq!(parsed.findings.len(), 1);
    let finding = &parsed.findings[0];
    assert_eq!(finding.severity, Severity::Medium);
    assert_eq!(finding.image, Some(0));
    assert_eq!(parsed.images[0].reference.tag.as_deref(), Some("1.0"));
    let info = &parsed.vulnerabilities[0];
    assert_eq!(
        info.description.as_deref(),
        Some("Directory traversal & more")
    );
    assert_eq!(info.cwe, vec!["CWE-22"]);
    assert_eq!(info.references, vec!["https://example.com/a"]);
    assert_eq!(
        info.cvss_vectors,
        vec![("nvd".to_owned(), "AV:N/AC:L/Au:N/C:N/I:P/A:N".to_owned())]
    );
}

#[test]
fn xml_and_json_encodings_of_one_bom_agree() {
    let json = parse(&fixture("defectdojo__log4j.json")).unwrap();
    let xml = parse(&fixture("defectdojo__log4j.xml")).unwrap();
    let summary = |p: &ParsedReport| -> Vec<(Fingerprint, Severity, Option<VexStatus>)> {
        p.findings
            .iter()
            .zip(&p.vex)
            .map(|(f, v)| (f.fingerprint, f.severity, Some(v.status)))
            .collect()
    };
    assert_eq!(summary(&json), summary(&xml));
    assert_eq!(json.scopes, xml.scopes);
    assert_eq!(
        json.vulnerabilities[0].cvss_vectors,
        xml.vulnerabilities[0].cvss_vectors
    );
}

#[test]
fn malformed_and_dangling_records_are_warnings() {
    let body = image_bom(&format!(
        r#"{VULN}, {{"id": 42}}, {{"id": "CVE-2"}}, {{"id": "CVE-3", "affects": [{{"ref": "nowhere"}}]}},
               {{"id": "CVE-4", "affects": [{{"ref": "img"}}]}},
               {{"id": "CVE-5", "affects": [{{"ref": "urn:cdx:urn:uuid:1/1#pkg%3Aapk%2Falpine%2Fopenssl%403.1.4-r0%3Fdistro%3D3.19.1"}}]}}"#
    ));
    let parsed = parse(body.as_bytes()).unwrap();
    assert_eq!(parsed.record_count, 2 + 6);
    assert_eq!(parsed.findings.len(), 2);
    assert_eq!(
        parsed.findings[1].vulnerability_id.as_deref(),
        Some("CVE-5")
    );
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
    assert!(parsed.warnings[2].message.contains("nowhere"));
    assert!(parsed.warnings[3].message.contains("image itself"));
    let broken = parse(
            br#"{"bomFormat": "CycloneDX", "specVersion": "1.4", "components": [{"name": ["x"]}, {"name": "ok", "version": "1"}]}"#,
        )
        .unwrap();
    assert_eq!(broken.record_count, 2);
    assert_eq!(broken.components.len(), 1);
    assert_eq!(broken.warnings[0].pointer, "/components/0");
}

#[test]
fn other_documents_are_refused_with_a_reason() {
    let kind = |body: &[u8]| parse(body).unwrap_err().kind;
    assert_eq!(kind(br#"{"spdxVersion": "SPDX-2.3"}"#), "wrong-format");
    assert_eq!(
        kind(br#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": []}"#),
        "wrong-format"
    );
    assert_eq!(
        kind(br#"{"bomFormat": "SPDX", "specVersion": "1.4"}"#),
        "wrong-format"
    );
    assert_eq!(
        kind(br#"{"bomFormat": "CycloneDX", "specVersion": "2.0"}"#),
        "unsupported-version"
    );
    assert_eq!(kind(b"[1, 2]"), "wrong-format");
    assert_eq!(kind(br#"{"bomFormat": "CycloneDX","#), "invalid-json");
    assert_eq!(kind(b""), "invalid-json");
    assert_eq!(kind(b"<bom><components>"), "invalid-xml");
    assert_eq!(kind(b"<bom></components>"), "invalid-xml");
    assert_eq!(
        kind(br#"<?xml version="1.0"?><sarif><runs/></sarif>"#),
        "wrong-format"
    );
    let deep = format!("<bom>{}{}</bom>", "<a>".repeat(100), "</a>".repeat(100));
    assert_eq!(kind(deep.as_bytes()), "invalid-xml");
    // a minimal BOM is a successful empty inventory
    let empty = parse(br#"<bom xmlns="http://cyclonedx.org/schema/bom/1.6"/>"#).unwrap();
    assert_eq!(empty.kind, ReportKind::Inventory);
    assert_eq!(empty.record_count, 0);
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
        let _ = parse(&body);
    }

    #[test]
    fn xml_token_soup_never_panics(tokens in proptest::collection::vec(0usize..TOKENS.len(), 0..60)) {
        let body: String = tokens.iter().filter_map(|&i| TOKENS.get(i).copied()).collect();
        let _ = parse(body.as_bytes());
        let _ = parse(format!("<bom>{body}</bom>").as_bytes());
    }
}

const TOKENS: &[&str] = &[
    "<components>",
    "</components>",
    "<component type=\"container\">",
    "</component>",
    "<name>",
    "</name>",
    "a:1",
    "<version>",
    "</version>",
    "sha256:",
    "<v:vulnerabilities>",
    "</v:vulnerabilities>",
    "<vulnerability ref=\"x\">",
    "</vulnerability>",
    "<affects>",
    "</affects>",
    "<target><ref>x</ref></target>",
    "<id>CVE-1</id>",
    "&amp;",
    "&#0;",
    "&#x1F600;",
    "&bogus;",
    "<![CDATA[<x>]]>",
    "<!-- c -->",
    "<metadata>",
    "</metadata>",
    "<ratings>",
    "<rating><severity>high</severity></rating>",
    "</ratings>",
    "<properties/>",
    "\"",
    "<",
    ">",
];

fn fixture(name: &str) -> Vec<u8> {
    crate::ingest::model::testkit::fixture("cyclonedx", name)
}

#[test]
fn sample_subjects_name_their_images() {
    let grype = parse(&fixture("defectdojo__dd_1_15_0.xml")).unwrap();
    let image = &grype.images[0];
    assert_eq!(image.reference.repository, "defectdojo/defectdojo-django");
    assert_eq!(image.reference.tag.as_deref(), Some("1.15.0"));
    assert_eq!(
        image.key,
        "sha256:b914ffbdf28309f2f5fc46caf1a78bbd90f1e2786dd0f01b69c8b00a07a9d078"
    );
    let trivy = parse(&fixture("defectdojo__issue_9277.json")).unwrap();
    let image = &trivy.images[0];
    assert_eq!(image.reference.repository, "library/ubuntu");
    assert_eq!(
        image.image_id.as_deref(),
        Some("sha256:174c8c134b2a94b5bb0b37d9a2b6ba0663d82d23ebf62bd51f74a2fd457333da")
    );
    assert!(trivy.findings.iter().all(|f| f.image == Some(0)));
    let jake = parse(&fixture("defectdojo__jake2.json")).unwrap();
    assert!(
        jake.findings
            .iter()
            .all(|f| f.vulnerability_id.as_deref().is_some_and(is_cve))
    );
}

/// Every vendored sample's parse, summarised and reviewed as a snapshot
/// (`snapshots/*.snap` beside this file).
#[test]
fn every_vendored_sample_matches_its_snapshot() {
    for (file, body) in testkit::fixtures("cyclonedx") {
        insta::assert_json_snapshot!(file.clone(), testkit::outcome(&parse(&body)));
    }
}
