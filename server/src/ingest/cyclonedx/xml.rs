//! CycloneDX XML read into the JSON form of the same BOM: elements become keys, wrapper
//! elements such as `<components>` become lists, namespace prefixes are dropped. What the BOM
//! means is not decided here; the JSON reader in [`super`] reads the result like any JSON BOM.

use quick_xml::events::Event;
use quick_xml::events::attributes::Attribute;
use quick_xml::reader::Reader;
use serde_json::{Map, Value};

use crate::ingest::model::ParseError;

/// Deeper than any CycloneDX document nests.
const MAX_DEPTH: usize = 64;

/// Wrapper elements whose children form a JSON list, and the children's element name.
const LISTS: &[(&str, &str)] = &[
    ("components", "component"),
    ("vulnerabilities", "vulnerability"),
    ("ratings", "rating"),
    ("cwes", "cwe"),
    ("advisories", "advisory"),
    ("affects", "target"),
    ("references", "reference"),
    ("externalReferences", "reference"),
    ("tools", "tool"),
    ("properties", "property"),
    ("hashes", "hash"),
    ("licenses", "license"),
    ("versions", "version"),
    ("responses", "response"),
    ("recommendations", "recommendation"),
    ("services", "service"),
    ("dependencies", "dependency"),
    ("authors", "author"),
    ("individuals", "individual"),
    ("organizations", "organization"),
];

struct Frame {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<(String, Value)>,
    text: String,
    namespace: Option<String>,
}

fn invalid(detail: impl std::fmt::Display) -> ParseError {
    ParseError::new(
        "invalid-xml",
        format!("the body is not well-formed XML: {detail}"),
    )
}

fn frame(start: &quick_xml::events::BytesStart<'_>) -> Result<Frame, ParseError> {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let mut attributes = Vec::new();
    let mut namespace = None;
    for attribute in start.attributes() {
        let attribute: Attribute<'_> = attribute.map_err(invalid)?;
        let value = attribute.unescape_value().map_err(invalid)?.into_owned();
        if attribute.key.as_ref() == b"xmlns" {
            namespace = Some(value);
            continue;
        }
        if attribute.key.as_namespace_binding().is_some() {
            continue;
        }
        let key = String::from_utf8_lossy(attribute.key.local_name().as_ref()).into_owned();
        attributes.push((key, value));
    }
    Ok(Frame {
        name,
        attributes,
        children: Vec::new(),
        text: String::new(),
        namespace,
    })
}

fn convert(frame: Frame) -> Value {
    let item = LISTS
        .iter()
        .find(|(list, _)| *list == frame.name)
        .map(|(_, item)| *item);
    if let Some(item) = item
        && frame.attributes.is_empty()
        && frame.children.iter().all(|(name, _)| name == item)
        && (!frame.children.is_empty() || frame.text.trim().is_empty())
    {
        return Value::Array(frame.children.into_iter().map(|(_, v)| v).collect());
    }
    if frame.children.is_empty() && frame.attributes.is_empty() {
        return Value::String(frame.text.trim().to_owned());
    }
    let mut map = Map::new();
    let text = frame.text.trim();
    if frame.children.is_empty() && !text.is_empty() {
        map.insert("value".to_owned(), Value::String(text.to_owned()));
    }
    for (key, value) in frame.attributes {
        map.insert(key, Value::String(value));
    }
    for (key, value) in frame.children {
        match map.get_mut(&key) {
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            None => {
                map.insert(key, value);
            }
        }
    }
    Value::Object(map)
}

/// Reads the XML document into JSON: the root `<bom>` becomes the top-level object, with
/// `bomFormat` and `specVersion` (from the namespace) filled in.
pub(super) fn to_json(body: &[u8]) -> Result<Value, ParseError> {
    let mut reader = Reader::from_reader(body);
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<(Frame, Value)> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| invalid(format_args!("{e} (at byte {})", reader.error_position())))?;
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(invalid("more than one root element"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(invalid(format_args!(
                        "elements nest deeper than {MAX_DEPTH}"
                    )));
                }
                stack.push(frame(&start)?);
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err(invalid("an end tag without a start tag"));
                };
                let name = done.name.clone();
                match stack.last_mut() {
                    Some(parent) => parent.children.push((name, convert(done))),
                    None => {
                        let header = Frame {
                            name: done.name.clone(),
                            attributes: Vec::new(),
                            children: Vec::new(),
                            text: String::new(),
                            namespace: done.namespace.clone(),
                        };
                        root = Some((header, convert(done)));
                    }
                }
            }
            Event::Text(text) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text.xml10_content().map_err(invalid)?);
                }
            }
            Event::CData(data) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&data.decode().map_err(invalid)?);
                }
            }
            Event::GeneralRef(reference) => {
                if let Some(top) = stack.last_mut() {
                    match reference.resolve_char_ref().map_err(invalid)? {
                        Some(c) => top.text.push(c),
                        None => {
                            let name = reference.decode().map_err(invalid)?;
                            match quick_xml::escape::resolve_predefined_entity(&name) {
                                Some(resolved) => top.text.push_str(resolved),
                                None => {
                                    top.text.push('&');
                                    top.text.push_str(&name);
                                    top.text.push(';');
                                }
                            }
                        }
                    }
                }
            }
            Event::Eof => break,
            Event::Empty(_)
            | Event::Comment(_)
            | Event::Decl(_)
            | Event::PI(_)
            | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(invalid("the document ends inside an element"));
    }
    let Some((header, value)) = root else {
        return Err(invalid("there is no root element"));
    };
    if header.name != "bom" {
        return Err(ParseError::new(
            "wrong-format",
            format!(
                "this is not a CycloneDX XML BOM: the root element is <{}>, expected <bom>",
                header.name
            ),
        ));
    }
    let mut map = match value {
        Value::Object(map) => map,
        // `<bom/>` or a BOM with text only
        _ => Map::new(),
    };
    map.insert(
        "bomFormat".to_owned(),
        Value::String("CycloneDX".to_owned()),
    );
    let version = header
        .namespace
        .as_deref()
        .and_then(|ns| ns.trim_end_matches('/').rsplit_once("/bom/"))
        .map(|(_, version)| version.to_owned());
    match version {
        Some(version) => {
            map.insert("specVersion".to_owned(), Value::String(version));
        }
        None => {
            map.insert("specVersion".to_owned(), Value::String("1".to_owned()));
        }
    }
    Ok(Value::Object(map))
}
