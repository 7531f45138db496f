//! Falco alerts as Falco writes them with `json_output: true` (one JSON event per line), a
//! single event object, a JSON array of events, and Falcosidekick webhook payloads (the Falco
//! event JSON plus `uuid`, posted one by one or, by batching outputs, as an array).
//!
//! Pure: bytes in, [`ParsedReport`] (kind [`ReportKind::Runtime`]) out: runtime events only,
//! no findings and no lifecycle scopes (an alert never fixes anything). In JSON lines, blank
//! lines are ignored and a line that is not a Falco event becomes a warning `line N`; in an
//! array, a bad element becomes a warning `/N`.
//!
//! Mapping (`output_fields`): `k8s.ns.name` → namespace, `k8s.pod.name` → pod,
//! `container.id` (else `container.full_id`), `container.name`, the image from
//! `container.image.repository` + `container.image.tag` (+ `@container.image.digest`), else
//! `container.image`; the process from `proc.cmdline`, else `proc.name`. Falco's `<NA>`
//! placeholder, empty strings and the pseudo container id `host` count as absent. Priority
//! words map to syslog numbers (emergency 0 … debug 7); the event time is `time`, else the
//! `evt.time`/`evt.time.iso8601` nanoseconds in `output_fields`. The whole `output_fields`
//! object (plus Falcosidekick's `uuid`) is kept as the event's fields.
//!
//! Skipped, with a warning: events without a rule or a readable time. An unknown priority
//! word is recorded as notice (5) with a warning.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::domain::image_ref::normalise_digest;
use crate::ingest::model::{
    ParseError, ParsedReport, ReportBuilder, ReportKind, RuntimeEventRecord, parse_timestamp,
};

#[derive(Deserialize)]
struct Event {
    uuid: Option<String>,
    output: Option<String>,
    priority: Option<Value>,
    rule: Option<String>,
    time: Option<String>,
    output_fields: Option<Map<String, Value>>,
    source: Option<String>,
    tags: Option<Vec<Value>>,
    hostname: Option<String>,
}

/// Syslog number used when a priority word is unknown.
const DEFAULT_PRIORITY: i16 = 5;

/// Parses Falco JSON alerts (JSON lines, one event, an array, Falcosidekick payloads).
pub fn parse(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
    let mut b = ReportBuilder::new("falco", ReportKind::Runtime);
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let Some(first) = body.iter().find(|c| !c.is_ascii_whitespace()) else {
        // No alerts at all: an empty log.
        return Ok(b.finish());
    };
    if *first != b'{' && *first != b'[' {
        return Err(ParseError::new(
            "wrong-format",
            "this is not Falco JSON output: expected one JSON event per line, an event object \
             or an array of events (enable json_output in falco.yaml)",
        ));
    }
    // The whole body as one JSON value: one event, or an array of them.
    if let Ok(whole) = serde_json::from_slice::<&RawValue>(body) {
        if *first == b'[' {
            let events: Vec<&RawValue> = serde_json::from_str(whole.get())
                .map_err(|e| ParseError::from_json("Falco JSON", &e))?;
            for (i, raw) in events.into_iter().enumerate() {
                b.record();
                if let Err(message) = read_event(&mut b, &format!("/{i}"), raw.get()) {
                    b.warn(format!("/{i}"), message);
                }
            }
            return Ok(b.finish());
        }
        let event = decode(whole.get()).map_err(|message| {
            ParseError::new(
                "wrong-format",
                format!("this is not a Falco event: {message}"),
            )
        })?;
        b.record();
        if let Err(message) = add_event(&mut b, "", event) {
            return Err(ParseError::new(
                "wrong-format",
                format!("this is not a usable Falco event: {message}"),
            ));
        }
        return Ok(b.finish());
    }
    // JSON lines.
    let text = String::from_utf8_lossy(body);
    let mut first_error: Option<String> = None;
    let mut any_json = false;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let pointer = format!("line {}", n + 1);
        b.record();
        if let Err(message) = read_event(&mut b, &pointer, line) {
            any_json |= serde_json::from_str::<serde::de::IgnoredAny>(line).is_ok();
            first_error.get_or_insert_with(|| format!("{pointer}: {message}"));
            b.warn(pointer, message);
        } else {
            any_json = true;
        }
    }
    let report = b.finish();
    if report.events.is_empty()
        && let Some(error) = first_error
    {
        let (kind, what) = if any_json {
            (
                "wrong-format",
                "this is not Falco JSON output: no line is a Falco event",
            )
        } else {
            ("invalid-json", "the body is neither JSON nor JSON lines")
        };
        return Err(ParseError::new(kind, format!("{what} ({error})")));
    }
    Ok(report)
}

fn decode(text: &str) -> Result<Event, String> {
    let event: Event = serde_json::from_str(text).map_err(|e| format!("not a Falco event: {e}"))?;
    if event.rule.is_none() && event.priority.is_none() && event.output.is_none() {
        return Err("not a Falco event: it has no rule, priority or output".to_owned());
    }
    Ok(event)
}

fn read_event(b: &mut ReportBuilder, pointer: &str, text: &str) -> Result<(), String> {
    let event = decode(text)?;
    add_event(b, pointer, event)
}

fn add_event(b: &mut ReportBuilder, pointer: &str, event: Event) -> Result<(), String> {
    let Some(rule) = event
        .rule
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
    else {
        return Err("event skipped: it has no rule".to_owned());
    };
    let mut fields = event.output_fields.unwrap_or_default();
    let Some(time) = event
        .time
        .as_deref()
        .and_then(parse_timestamp)
        .or_else(|| nanos(fields.get("evt.time")))
        .or_else(|| nanos(fields.get("evt.time.iso8601")))
        .or_else(|| {
            fields
                .get("evt.time.iso8601")
                .and_then(Value::as_str)
                .and_then(parse_timestamp)
        })
    else {
        return Err(format!("event '{rule}' skipped: it has no readable time"));
    };
    let priority = match event.priority.as_ref() {
        Some(Value::String(word)) => match syslog_priority(word) {
            Some(p) => p,
            None => {
                b.warn(
                    pointer,
                    format!("priority '{word}' is not a Falco priority; recorded as notice"),
                );
                DEFAULT_PRIORITY
            }
        },
        Some(Value::Null) | None => DEFAULT_PRIORITY,
        Some(other) => {
            b.warn(
                pointer,
                format!("priority {other} is not a Falco priority word; recorded as notice"),
            );
            DEFAULT_PRIORITY
        }
    };
    let text = |key: &str| field_text(fields.get(key));
    let container_id = text("container.id")
        .or_else(|| text("container.full_id"))
        .filter(|id| id != "host");
    let image = match text("container.image.repository") {
        Some(repository) => {
            let mut image = repository;
            if let Some(tag) = text("container.image.tag") {
                image = format!("{image}:{tag}");
            }
            if let Some(digest) =
                text("container.image.digest").filter(|d| normalise_digest(d).is_ok())
            {
                image = format!("{image}@{digest}");
            }
            Some(image)
        }
        None => text("container.image"),
    };
    let record = RuntimeEventRecord {
        time,
        rule,
        priority,
        source: event.source.filter(|s| !s.trim().is_empty()),
        hostname: event.hostname.filter(|h| !h.trim().is_empty()),
        namespace: text("k8s.ns.name"),
        pod: text("k8s.pod.name"),
        container_id,
        container_name: text("container.name").filter(|n| n != "host"),
        image,
        process: text("proc.cmdline").or_else(|| text("proc.name")),
        output: event.output.filter(|o| !o.trim().is_empty()),
        tags: event
            .tags
            .unwrap_or_default()
            .iter()
            .filter_map(|t| field_text(Some(t)))
            .collect(),
        fields: {
            if let Some(uuid) = event.uuid {
                fields.insert("uuid".to_owned(), Value::String(uuid));
            }
            Value::Object(fields)
        },
    };
    b.event(record);
    Ok(())
}

/// Falco priority words (case-insensitive, also Falcosidekick's lowercase ones) as syslog
/// numbers.
fn syslog_priority(word: &str) -> Option<i16> {
    Some(match word.trim().to_ascii_lowercase().as_str() {
        "emergency" => 0,
        "alert" => 1,
        "critical" => 2,
        "error" => 3,
        "warning" => 4,
        "notice" => 5,
        "informational" | "info" => 6,
        "debug" => 7,
        _ => return None,
    })
}

/// A field's value as text: strings trimmed, numbers and booleans printed, the first element
/// of a list; `None` for nulls, empty strings and Falco's `<NA>`.
fn field_text(value: Option<&Value>) -> Option<String> {
    let text = match value? {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Bool(v) => v.to_string(),
        Value::Array(items) => return items.iter().find_map(|item| field_text(Some(item))),
        Value::Null | Value::Object(_) => return None,
    };
    (!text.is_empty() && text != "<NA>").then_some(text)
}

/// An epoch time in nanoseconds (Falco's `evt.time` with `-p` numeric output).
fn nanos(value: Option<&Value>) -> Option<DateTime<Utc>> {
    let n = value?.as_i64()?;
    (n > 0).then(|| DateTime::from_timestamp_nanos(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let base = std::env::var("BULWARK_SERVER")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")));
        std::fs::read(base.join("tests/fixtures/falco").join(name)).expect("fixture")
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

    /// The team's shared sample is Elastic License 2.0: read from the shared samples directory
    /// when it is there, never vendored. Counts from a Python script over its JSON lines.
    #[test]
    fn shared_elastic_sample_when_present() {
        let path = crate::ingest::model::shared_samples()
            .join("falco/elastic-integrations__test-falco.log");
        let Ok(body) = std::fs::read(&path) else {
            eprintln!("skipped: {} is not present", path.display());
            return;
        };
        let parsed = parse(&body).unwrap();
        assert_eq!(parsed.record_count, 17);
        assert_eq!(parsed.events.len(), 17);
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        let count = |p: i16| parsed.events.iter().filter(|e| e.priority == p).count();
        // Warning 12, Informational 3, Notice 2
        assert_eq!((count(4), count(6), count(5)), (12, 3, 2));
        let namespaced = parsed
            .events
            .iter()
            .filter(|e| e.namespace.is_some())
            .count();
        assert_eq!(namespaced, 1);
        assert_eq!(
            parsed.events.iter().filter(|e| e.image.is_some()).count(),
            1
        );
        assert!(parsed.events.iter().all(|e| e.container_id.is_some()));
    }
}
