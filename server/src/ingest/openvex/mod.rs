//! OpenVEX documents (<https://openvex.dev/ns>, v0.0.1–v0.2.0) as written by `vexctl`,
//! Chainguard, Docker Scout and by hand.
//!
//! Pure: bytes in, [`ParsedReport`] (kind [`ReportKind::Vex`]) out. Each statement is decoded
//! on its own; a malformed one becomes a warning naming its JSON pointer (`/statements/3`).
//!
//! Mapping: one [`VexStatement`] per (vulnerability id, product) of each statement, or per
//! (vulnerability id, subcomponent) when a product lists subcomponents. The vulnerability is a
//! string or `{name, @id, aliases}`; the statement is recorded under its name and under each
//! alias, so that it meets findings whichever id their scanner chose. A product is a string
//! or `{@id, identifiers: {purl}, subcomponents}`; an OCI image purl
//! (`pkg:oci/name@sha256%3A<hex>`), or an image reference with a digest, gives the image key
//! `sha256:<hex>`; any other purl gives the component key. A subcomponent of an image product
//! gives both. `impact_statement` (else `action_statement`, else `status_notes`) is the
//! statement text; the statement's `timestamp` (else `last_updated`, else the document's) is
//! when it was issued.
//!
//! Skipped, with a warning: statements with an unknown status or without a vulnerability, and
//! products that name neither an image digest nor a versioned package (a statement about every
//! version of a package cannot be matched to findings). A document without statements is a
//! successful empty report.

use std::str::FromStr;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::domain::component::Component;
use crate::domain::image_ref::{ImageRef, normalise_digest};
use crate::ingest::model::{
    ParseError, ParsedReport, ReportBuilder, ReportKind, VexStatement, VexStatus, parse_timestamp,
};

#[derive(Deserialize)]
struct Document<'a> {
    #[serde(rename = "@context")]
    context: Option<Value>,
    #[serde(rename = "@id")]
    id: Option<String>,
    author: Option<String>,
    tooling: Option<String>,
    timestamp: Option<String>,
    last_updated: Option<String>,
    #[serde(borrow)]
    statements: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct Statement {
    vulnerability: Option<VulnerabilityRef>,
    products: Option<Vec<Product>>,
    status: Option<String>,
    justification: Option<String>,
    impact_statement: Option<String>,
    action_statement: Option<String>,
    status_notes: Option<String>,
    timestamp: Option<String>,
    last_updated: Option<String>,
}

/// `"CVE-…"` or `{name, @id, aliases}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum VulnerabilityRef {
    Name(String),
    Object {
        name: Option<String>,
        #[serde(rename = "@id")]
        id: Option<String>,
        aliases: Option<Vec<String>>,
    },
}

/// A purl or IRI, or `{@id, identifiers, subcomponents}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Product {
    Id(String),
    Object {
        #[serde(rename = "@id")]
        id: Option<String>,
        identifiers: Option<Identifiers>,
        subcomponents: Option<Vec<Product>>,
    },
}

#[derive(Deserialize)]
struct Identifiers {
    purl: Option<String>,
}

impl Product {
    /// The purl (preferred) or IRI naming the product.
    fn name(&self) -> Option<&str> {
        let name = match self {
            Product::Id(id) => Some(id.as_str()),
            Product::Object {
                id, identifiers, ..
            } => identifiers
                .as_ref()
                .and_then(|i| i.purl.as_deref())
                .filter(|p| !p.trim().is_empty())
                .or(id.as_deref()),
        };
        name.map(str::trim).filter(|n| !n.is_empty())
    }

    fn subcomponents(&self) -> &[Product] {
        match self {
            Product::Object {
                subcomponents: Some(list),
                ..
            } => list,
            _ => &[],
        }
    }
}

/// What a product or subcomponent name identifies.
#[derive(Default, Clone)]
struct Identity {
    image_key: Option<String>,
    component_key: Option<String>,
}

/// An OCI image purl or an image reference with a digest gives the image; another versioned
/// purl gives the package.
fn identify(name: &str) -> Option<Identity> {
    if name.starts_with("pkg:") {
        let purl = packageurl::PackageUrl::from_str(name).ok()?;
        if purl.ty().eq_ignore_ascii_case("oci") {
            let digest = normalise_digest(purl.version()?).ok()?;
            return Some(Identity {
                image_key: Some(digest),
                component_key: None,
            });
        }
        let component = Component::from_purl(name)?;
        return Some(Identity {
            image_key: None,
            component_key: Some(component.key()),
        });
    }
    let reference = ImageRef::parse(name).ok()?;
    Some(Identity {
        image_key: Some(reference.digest?),
        component_key: None,
    })
}

/// Parses an OpenVEX document.
pub fn parse(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
    let document: Document<'_> =
        serde_json::from_slice(bytes).map_err(|e| ParseError::from_json("OpenVEX", &e))?;
    let is_openvex = match &document.context {
        Some(Value::String(context)) => context.contains("openvex"),
        Some(Value::Array(contexts)) => contexts
            .iter()
            .any(|c| c.as_str().is_some_and(|c| c.contains("openvex"))),
        _ => false,
    };
    if !is_openvex && document.statements.is_none() {
        return Err(ParseError::new(
            "wrong-format",
            "this is not an OpenVEX document: it has no '@context' naming openvex.dev and no \
             'statements' list",
        ));
    }
    let mut b = ReportBuilder::new("openvex", ReportKind::Vex);
    b.scanner_version(document.tooling.clone());
    b.artifact(document.id.clone().or(document.author.clone()));
    let document_time = document
        .timestamp
        .as_deref()
        .or(document.last_updated.as_deref())
        .and_then(parse_timestamp);
    b.generated_at(document_time);
    for (i, raw) in document
        .statements
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let at = format!("/statements/{i}");
        b.record();
        match serde_json::from_str::<Statement>(raw.get()) {
            Ok(statement) => read_statement(&mut b, &at, statement, document_time),
            Err(e) => b.warn(at, format!("statement skipped: {e}")),
        }
    }
    Ok(b.finish())
}

fn read_statement(
    b: &mut ReportBuilder,
    at: &str,
    s: Statement,
    document_time: Option<chrono::DateTime<chrono::Utc>>,
) {
    let mut ids: Vec<String> = Vec::new();
    let mut add = |id: Option<&str>| {
        if let Some(id) = id.map(str::trim).filter(|i| !i.is_empty())
            && !ids.iter().any(|known| known == id)
        {
            ids.push(id.to_owned());
        }
    };
    match &s.vulnerability {
        Some(VulnerabilityRef::Name(name)) => add(Some(name)),
        Some(VulnerabilityRef::Object { name, id, aliases }) => {
            add(name.as_deref().or(id.as_deref()));
            for alias in aliases.iter().flatten() {
                add(Some(alias));
            }
        }
        None => {}
    }
    if ids.is_empty() {
        return b.warn(at, "statement skipped: it names no vulnerability");
    }
    let Some(word) = s.status.as_deref() else {
        return b.warn(at, "statement skipped: it has no status");
    };
    let status = match word.trim().to_ascii_lowercase().as_str() {
        "not_affected" => VexStatus::NotAffected,
        "affected" => VexStatus::Affected,
        "fixed" => VexStatus::Fixed,
        "under_investigation" => VexStatus::UnderInvestigation,
        _ => {
            return b.warn(
                at,
                format!("statement skipped: status '{word}' is not an OpenVEX status"),
            );
        }
    };
    let issued_at = s
        .timestamp
        .as_deref()
        .or(s.last_updated.as_deref())
        .and_then(parse_timestamp)
        .or(document_time);
    let text = s
        .impact_statement
        .or(s.action_statement)
        .or(s.status_notes)
        .filter(|t| !t.trim().is_empty());
    let justification = s.justification.filter(|j| !j.trim().is_empty());

    let mut identities: Vec<Identity> = Vec::new();
    for (j, product) in s.products.iter().flatten().enumerate() {
        let product_at = format!("{at}/products/{j}");
        let parent = match product.name() {
            Some(name) => {
                let identity = identify(name);
                if identity.is_none() {
                    b.warn(
                        &product_at,
                        format!(
                            "product '{name}' names neither an image digest nor a versioned \
                             package; skipped"
                        ),
                    );
                }
                identity
            }
            None => {
                b.warn(&product_at, "product skipped: it has no @id or purl");
                None
            }
        };
        let subcomponents = product.subcomponents();
        if subcomponents.is_empty() {
            identities.extend(parent);
            continue;
        }
        for (k, sub) in subcomponents.iter().enumerate() {
            let sub_at = format!("{product_at}/subcomponents/{k}");
            let Some(name) = sub.name() else {
                b.warn(&sub_at, "subcomponent skipped: it has no @id or purl");
                continue;
            };
            match identify(name) {
                Some(found) => identities.push(Identity {
                    image_key: found
                        .image_key
                        .or_else(|| parent.as_ref().and_then(|p| p.image_key.clone())),
                    component_key: found.component_key,
                }),
                None => b.warn(
                    &sub_at,
                    format!(
                        "subcomponent '{name}' names neither an image digest nor a versioned \
                         package; skipped"
                    ),
                ),
            }
        }
    }
    if s.products.as_ref().is_none_or(Vec::is_empty) {
        b.warn(at, "statement skipped: it names no product");
    }
    for identity in identities {
        for id in &ids {
            b.vex(VexStatement {
                vulnerability_id: id.clone(),
                component_key: identity.component_key.clone(),
                image_key: identity.image_key.clone(),
                status,
                justification: justification.clone(),
                statement: text.clone(),
                issued_at,
            });
        }
    }
}

#[cfg(test)]
mod tests;
