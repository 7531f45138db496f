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
mod tests;
