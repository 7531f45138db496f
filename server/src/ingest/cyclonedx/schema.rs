//! The CycloneDX document as serde structs: the fields of the specification (1.0–1.6, and
//! the XML vulnerability extension 1.0 in its JSON form) this parser reads, every one optional.
//! No mapping lives here.

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Bom<'a> {
    pub(super) bom_format: Option<String>,
    pub(super) spec_version: Option<Value>,
    pub(super) serial_number: Option<String>,
    #[serde(borrow)]
    pub(super) metadata: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(super) components: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    pub(super) vulnerabilities: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize, Default)]
pub(super) struct Metadata<'a> {
    pub(super) timestamp: Option<String>,
    /// A list of tools (≤1.4), or `{components, services}` (1.5+).
    pub(super) tools: Option<Value>,
    #[serde(borrow)]
    pub(super) component: Option<&'a RawValue>,
}

#[derive(Deserialize)]
pub(super) struct ComponentEntry<'a> {
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
    #[serde(rename = "bom-ref")]
    pub(super) bom_ref: Option<String>,
    pub(super) group: Option<String>,
    pub(super) name: Option<String>,
    pub(super) version: Option<String>,
    pub(super) purl: Option<String>,
    pub(super) properties: Option<Vec<Property>>,
    #[serde(borrow)]
    pub(super) components: Option<Vec<&'a RawValue>>,
    /// XML vulnerability extension 1.0: vulnerabilities of this component.
    #[serde(borrow)]
    pub(super) vulnerabilities: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
pub(super) struct Property {
    pub(super) name: Option<String>,
    pub(super) value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Vulnerability {
    pub(super) id: Option<String>,
    pub(super) source: Option<Source>,
    pub(super) references: Option<Vec<Reference>>,
    pub(super) ratings: Option<Vec<Rating>>,
    pub(super) cwes: Option<Vec<Value>>,
    pub(super) description: Option<String>,
    pub(super) detail: Option<String>,
    pub(super) recommendation: Option<String>,
    /// XML vulnerability extension 1.0.
    pub(super) recommendations: Option<Vec<String>>,
    pub(super) advisories: Option<Vec<Advisory>>,
    pub(super) published: Option<String>,
    pub(super) updated: Option<String>,
    pub(super) analysis: Option<Analysis>,
    pub(super) affects: Option<Vec<Affect>>,
    /// XML vulnerability extension 1.0: the `bom-ref` of the affected component.
    #[serde(rename = "ref")]
    pub(super) target_ref: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Source {
    pub(super) name: Option<String>,
    pub(super) url: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Reference {
    pub(super) id: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Rating {
    pub(super) source: Option<Source>,
    pub(super) severity: Option<String>,
    pub(super) method: Option<String>,
    pub(super) vector: Option<String>,
}

/// A URL (extension 1.0) or `{title, url}` (1.4+).
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum Advisory {
    Url(String),
    Object { url: Option<String> },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Analysis {
    pub(super) state: Option<String>,
    pub(super) justification: Option<String>,
    pub(super) detail: Option<String>,
    #[serde(alias = "responses")]
    pub(super) response: Option<Vec<String>>,
    pub(super) first_issued: Option<String>,
    pub(super) last_updated: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Affect {
    #[serde(rename = "ref")]
    pub(super) target: Option<String>,
}
