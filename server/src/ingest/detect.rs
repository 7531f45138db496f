//! Format detection for `POST /api/v1/ingest`: looks at the first 64 KiB for the keys and
//! values each format's documented schema puts near the top, in an order that resolves the
//! overlaps between formats (a CycloneDX document may embed SARIF-like fields, Trivy Operator
//! reports embed Trivy field names, Falco events can quote anything in their output, ...).
//! Detection never parses the whole document; the chosen parser still validates it.

use crate::ingest::Format;
use crate::ingest::model::ParseError;

/// How much of the body detection looks at.
const HEAD: usize = 64 * 1024;

/// The format of `body`, or a 400-worthy explanation.
pub fn detect(body: &[u8]) -> Result<Format, ParseError> {
    let first = body.iter().copied().find(|c| !c.is_ascii_whitespace());
    let Some(first) = first else {
        return Err(ParseError::new("empty-body", "the body is empty"));
    };
    let trimmed = body.trim_ascii();
    if matches!(trimmed, b"null" | b"[]" | b"{}") {
        return Err(ParseError::new(
            "empty-document",
            format!(
                "the document is '{}': it holds no records, so its format cannot be told from \
                 the content; send it to /api/v1/ingest/{{format}} so that Bulwark knows which \
                 scanner found nothing",
                String::from_utf8_lossy(trimmed)
            ),
        ));
    }
    let head = String::from_utf8_lossy(&body[..body.len().min(HEAD)]);
    let compact: String = head.chars().filter(|c| !c.is_whitespace()).collect();
    let key = |name: &str| compact.contains(&format!("\"{name}\":"));
    let has = |needle: &str| compact.contains(needle);

    let found = if first == b'<' {
        has("<bom").then_some(Format::CycloneDx)
    } else if key("bomFormat") || has("cyclonedx.org/schema") {
        Some(Format::CycloneDx)
    } else if has("openvex.dev/ns") || (key("@context") && key("statements")) {
        Some(Format::OpenVex)
    } else if key("runs") && (key("tool") || has("sarif")) {
        Some(Format::Sarif)
    } else if has("aquasecurity.github.io") || (key("operatorObject") && key("verb")) {
        Some(Format::TrivyOperator)
    } else if key("rule") && key("priority") && key("output") {
        Some(Format::Falco)
    } else if key("SchemaVersion")
        || key("ArtifactName")
        || key("ClusterName")
        || (first == b'[' && key("Target") && (key("Vulnerabilities") || key("Misconfigurations")))
    {
        Some(Format::Trivy)
    } else if key("matches") && (key("matchDetails") || key("descriptor")) {
        Some(Format::Grype)
    } else if key("securityEvaluation")
        || (key("imageDigest") && key("vulnerability_type"))
        || (key("vuln") && (key("package_name") || key("packageName")))
        || (compact.starts_with("[{\"sha256:") && key("detail"))
    {
        Some(Format::Anchore)
    } else if key("manifest_hash") || key("LayerCount") || (key("unapproved") && key("image")) {
        Some(Format::Clair)
    } else if (key("summaryDetails") && (key("results") || key("resources")))
        || key("customerGUID")
        || (key("generationTime") && key("clusterAPIServerInfo"))
    {
        Some(Format::Kubescape)
    } else if key("PolarisOutputVersion")
        || (key("AuditTime") && key("SourceType") && key("ClusterInfo"))
    {
        Some(Format::Polaris)
    } else if (key("Controls") && key("Totals"))
        || (key("node_type") && key("tests") && key("test_number"))
    {
        Some(Format::KubeBench)
    } else if key("check_type") || key("checkov_version") {
        Some(Format::Checkov)
    } else if key("hunter") || (key("nodes") && key("services") && key("vulnerabilities")) {
        Some(Format::KubeHunter)
    } else {
        None
    };
    found.ok_or_else(|| {
        let known: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
        ParseError::new(
            "unknown-format",
            format!(
                "the format could not be recognised from the content; send it to \
                 /api/v1/ingest/{{format}} instead (formats: {})",
                known.join(", ")
            ),
        )
    })
}
