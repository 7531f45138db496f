//! Pure rules of the model, tested without a database: fingerprints, image references, API
//! token secrets. Nothing here does I/O.

pub mod component;
pub mod cvss;
pub mod fingerprint;
pub mod image_ref;
pub mod intel;
pub mod posture;
pub mod report;
pub mod risk;
pub mod risk_explain;
pub mod tenancy;
pub mod token;
pub mod version;
pub mod vuln_id;
