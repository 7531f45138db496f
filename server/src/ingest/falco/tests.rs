use super::*;
use crate::ingest::model::testkit;

fn fixture(name: &str) -> Vec<u8> {
    crate::ingest::model::testkit::fixture("falco", name)
}

#[test]
fn json_lines_map_onto_runtime_events() {
    let parsed = parse(&fixture("events.jsonl")).unwrap();
    assert_eq!(parsed.kind, ReportKind::Runtime);
    assert_eq!(parsed.record_count, 5);
    assert_eq!(parsed.events.len(), 5);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert!(parsed.findings.is_empty() && parsed.scopes.is_empty());
    let priorities: Vec<i16> = parsed.events.iter().map(|e| e.priority).collect();
    assert_eq!(priorities, vec![5, 4, 5, 3, 4]);

    let shell = &parsed.events[0];
    assert_eq!(shell.rule, "Terminal shell in container");
    assert_eq!(
        shell.time,
        parse_timestamp("2025-03-10T09:15:02.118305125Z").unwrap()
    );
    assert_eq!(shell.namespace.as_deref(), Some("shop"));
    assert_eq!(shell.pod.as_deref(), Some("api-7d9c6b5f4-x2x8k"));
    assert_eq!(shell.container_id.as_deref(), Some("3f1c2a9b8d7e"));
    assert_eq!(shell.container_name.as_deref(), Some("api"));
    assert_eq!(shell.image.as_deref(), Some("ghcr.io/acme/shop-api:2.4.1"));
    assert_eq!(shell.process.as_deref(), Some("bash -il"));
    assert_eq!(shell.source.as_deref(), Some("syscall"));
    assert_eq!(shell.hostname.as_deref(), Some("worker-1"));
    assert!(shell.tags.contains(&"mitre_execution".to_owned()));
    assert_eq!(shell.fields["evt.type"], "execve");
    assert!(
        shell
            .output
            .as_deref()
            .unwrap()
            .contains("shell was spawned")
    );

    // a host event: no container, and null k8s fields are absent
    let host = &parsed.events[3];
    assert_eq!(host.container_id, None);
    assert_eq!(host.container_name, None);
    assert_eq!(host.namespace, None);
    assert_eq!(host.process.as_deref(), Some("tee /etc/cron.d/backdoor"));

    // a k8s_audit event has no syscall fields
    let audit = &parsed.events[4];
    assert_eq!(audit.source.as_deref(), Some("k8s_audit"));
    assert_eq!(audit.hostname, None);
    assert_eq!(audit.process, None);
}

#[test]
fn falcosidekick_payloads_one_or_batched() {
    let body = fixture("falcosidekick.json");
    let parsed = parse(&body).unwrap();
    assert_eq!(parsed.events.len(), 1);
    let event = &parsed.events[0];
    assert_eq!(event.priority, 2);
    assert_eq!(event.rule, "PTRACE attached to process");
    assert_eq!(event.namespace.as_deref(), Some("payments"));
    assert_eq!(
        event.image.as_deref(),
        Some("registry.acme.internal/payments:1.9.0")
    );
    assert_eq!(event.fields["uuid"], "5e5b7a2c-3a55-4a0e-9f53-7f0b7c1d2e41");
    assert_eq!(event.fields["environment"], "production");

    let single = String::from_utf8(body).unwrap();
    let batch = format!(
        r#"[{single}, {{"rule": 7}}, {}]"#,
        single.replace("\"Critical\"", "\"debug\"")
    );
    let parsed = parse(batch.as_bytes()).unwrap();
    assert_eq!(parsed.record_count, 3);
    assert_eq!(parsed.events.len(), 2);
    assert_eq!(parsed.events[1].priority, 7);
    assert_eq!(parsed.warnings.len(), 1);
    assert_eq!(parsed.warnings[0].pointer, "/1");
    assert!(parse(b"[]").unwrap().events.is_empty());
}

#[test]
fn bad_lines_are_warnings_naming_the_line() {
    let lines = concat!(
        r#"{"rule": "A", "priority": "Warning", "time": "2025-01-01T00:00:00Z", "output_fields": {"proc.name": "sh", "k8s.ns.name": "<NA>"}}"#,
        "\n\nnot json\n",
        r#"{"priority": "Notice", "time": "2025-01-01T00:00:01Z"}"#,
        "\n",
        r#"{"rule": "B", "priority": "Loud", "output_fields": {"evt.time": 1735689600000000000, "container.image": "nginx:1.25", "container.image.digest": ["sha256:abc"]}}"#,
        "\n",
        r#"{"rule": "C", "priority": "Error"}"#,
        "\n",
    );
    let parsed = parse(lines.as_bytes()).unwrap();
    assert_eq!(parsed.record_count, 5);
    assert_eq!(parsed.events.len(), 2);
    let first = &parsed.events[0];
    assert_eq!(first.namespace, None, "<NA> is absent");
    assert_eq!(first.process.as_deref(), Some("sh"));
    let second = &parsed.events[1];
    assert_eq!(second.priority, 5);
    assert_eq!(second.image.as_deref(), Some("nginx:1.25"));
    assert_eq!(
        second.time,
        parse_timestamp("2025-01-01T00:00:00Z").unwrap()
    );
    let warnings: Vec<&str> = parsed.warnings.iter().map(|w| w.pointer.as_str()).collect();
    assert_eq!(warnings, vec!["line 3", "line 4", "line 5", "line 6"]);
    assert!(parsed.warnings[1].message.contains("no rule"));
    assert!(parsed.warnings[2].message.contains("Loud"));
    assert!(parsed.warnings[3].message.contains("no readable time"));
}

#[test]
fn other_documents_are_refused_and_an_empty_log_accepted() {
    let kind = |body: &[u8]| parse(body).unwrap_err().kind;
    assert_eq!(
        kind(br#"{"SchemaVersion": 2, "ArtifactName": "x"}"#),
        "wrong-format"
    );
    assert_eq!(kind(b"{\"a\": 1}\n{\"b\": 2}\n"), "wrong-format");
    assert_eq!(kind(b"{ nope\n{ nope\n"), "invalid-json");
    assert_eq!(
        kind(b"2025-03-10T09:15:02+0000: Notice A shell was spawned\n"),
        "wrong-format"
    );
    assert_eq!(
        kind(br#"{"rule": "A", "priority": "Notice"}"#),
        "wrong-format"
    );
    let empty = parse(b"\n  \n").unwrap();
    assert_eq!(empty.kind, ReportKind::Runtime);
    assert_eq!(empty.record_count, 0);
}

proptest::proptest! {
    #[test]
    fn arbitrary_lines_never_panic(lines in proptest::collection::vec(
        proptest::prelude::prop_oneof![
            proptest::prelude::Just(r#"{"rule": "r", "priority": "Warning", "time": "2025-01-01T00:00:00Z"}"#.to_owned()),
            proptest::prelude::Just(r#"{"rule": "r", "output_fields": {"evt.time": -1, "container.image.digest": [[]]}}"#.to_owned()),
            proptest::prelude::Just("[".to_owned()),
            proptest::prelude::Just("]".to_owned()),
            "\\PC{0,20}",
        ],
        0..12,
    )) {
        let _ = parse(lines.join("\n").as_bytes());
    }
}

/// Every vendored sample's parse, summarised and reviewed as a snapshot
/// (`snapshots/*.snap` beside this file).
#[test]
fn every_vendored_sample_matches_its_snapshot() {
    for (file, body) in testkit::fixtures("falco") {
        insta::assert_json_snapshot!(file.clone(), testkit::outcome(&parse(&body)));
    }
}

/// Elastic's Falco log is Elastic License 2.0: read from the team's shared samples, never vendored.
/// Not vendored; a missing shared sample fails the test.
#[test]
fn shared_samples_match_their_snapshots() {
    for relative in ["falco/elastic-integrations__test-falco.log"] {
        let body = testkit::shared_sample(relative);
        let name = format!("shared__{}", relative.replace('/', "__"));
        insta::assert_json_snapshot!(name, testkit::outcome(&parse(&body)));
    }
}
