//! Threat intelligence files: the CISA Known Exploited Vulnerabilities catalog (JSON or CSV)
//! and FIRST EPSS scores (CSV, as published: a `#model_version:...,score_date:...` comment line,
//! then `cve,epss,percentile`). Pure parsers; what cannot be read is reported per row.

use chrono::NaiveDate;
use serde::Deserialize;

pub use crate::domain::intel::{EpssFile, EpssScore, KevCatalog, KevEntry};
use crate::domain::vuln_id::is_cve;
use crate::ingest::model::{ParseError, Warning};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KevJson {
    catalog_version: Option<String>,
    vulnerabilities: Option<Vec<serde_json::Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KevRow {
    #[serde(rename = "cveID")]
    cve_id: String,
    vendor_project: Option<String>,
    product: Option<String>,
    vulnerability_name: Option<String>,
    date_added: String,
    due_date: Option<String>,
    known_ransomware_campaign_use: Option<String>,
    notes: Option<String>,
}

/// Parses the KEV catalog as JSON (`known_exploited_vulnerabilities.json`) or CSV.
pub fn parse_kev(bytes: &[u8]) -> Result<KevCatalog, ParseError> {
    let mut catalog = KevCatalog::default();
    match bytes
        .iter()
        .find(|c| !c.is_ascii_whitespace() && **c != 0xEF && **c != 0xBB && **c != 0xBF)
    {
        Some(b'{') => {
            let doc: KevJson = serde_json::from_slice(bytes)
                .map_err(|e| ParseError::from_json("CISA KEV catalog", &e))?;
            let rows = doc.vulnerabilities.ok_or_else(|| {
                ParseError::new(
                    "wrong-format",
                    "this is not the CISA KEV catalog: it has no 'vulnerabilities' list",
                )
            })?;
            catalog.version = doc.catalog_version;
            for (i, row) in rows.into_iter().enumerate() {
                let pointer = format!("/vulnerabilities/{i}");
                match serde_json::from_value::<KevRow>(row) {
                    Ok(row) => kev_row(&mut catalog, pointer, row),
                    Err(e) => catalog.warnings.push(Warning {
                        pointer,
                        message: format!("entry skipped: {e}"),
                    }),
                }
            }
        }
        Some(_) => {
            let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
            let headers = reader
                .headers()
                .map_err(|e| {
                    ParseError::new("invalid-csv", format!("the CSV header cannot be read: {e}"))
                })?
                .clone();
            if !headers
                .iter()
                .any(|h| h.trim_start_matches('\u{feff}') == "cveID")
            {
                return Err(ParseError::new(
                    "wrong-format",
                    "this is not the CISA KEV catalog: the CSV has no 'cveID' column",
                ));
            }
            for (i, record) in reader.deserialize::<KevRow>().enumerate() {
                let pointer = format!("line {}", i + 2);
                match record {
                    Ok(row) => kev_row(&mut catalog, pointer, row),
                    Err(e) => catalog.warnings.push(Warning {
                        pointer,
                        message: format!("row skipped: {e}"),
                    }),
                }
            }
        }
        None => return Err(ParseError::new("empty-body", "the file is empty")),
    }
    Ok(catalog)
}

fn kev_row(catalog: &mut KevCatalog, pointer: String, row: KevRow) {
    let cve_id = row.cve_id.trim().to_ascii_uppercase();
    if !is_cve(&cve_id) {
        catalog.warnings.push(Warning {
            pointer,
            message: format!("entry skipped: '{cve_id}' is not a CVE id"),
        });
        return;
    }
    let Some(date_added) = parse_date(&row.date_added) else {
        catalog.warnings.push(Warning {
            pointer,
            message: format!(
                "{cve_id} skipped: dateAdded '{}' is not a date",
                row.date_added
            ),
        });
        return;
    };
    let text = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    catalog.entries.push(KevEntry {
        cve_id,
        vendor: text(row.vendor_project),
        product: text(row.product),
        name: text(row.vulnerability_name),
        date_added,
        due_date: row.due_date.as_deref().and_then(parse_date),
        ransomware_use: text(row.known_ransomware_campaign_use),
        notes: text(row.notes),
    });
}

fn parse_date(value: &str) -> Option<NaiveDate> {
    let value = value.trim();
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .or_else(|| {
            value
                .get(..10)
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        })
}

/// Parses an EPSS CSV.
pub fn parse_epss(bytes: &[u8]) -> Result<EpssFile, ParseError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ParseError::new("invalid-csv", format!("the file is not UTF-8 text: {e}")))?;
    let mut file = EpssFile::default();
    let mut body = text.trim_start_matches('\u{feff}');
    if let Some(rest) = body.strip_prefix('#') {
        let (comment, after) = rest.split_once('\n').unwrap_or((rest, ""));
        for part in comment.trim().split(',') {
            match part.split_once(':') {
                Some(("model_version", v)) => file.model_version = Some(v.trim().to_owned()),
                Some(("score_date", v)) => file.score_date = parse_date(v),
                _ => {}
            }
        }
        body = after;
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(body.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ParseError::new("invalid-csv", format!("the CSV header cannot be read: {e}")))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (Some(cve), Some(epss), Some(percentile)) =
        (column("cve"), column("epss"), column("percentile"))
    else {
        return Err(ParseError::new(
            "wrong-format",
            "this is not an EPSS file: expected the columns cve, epss, percentile",
        ));
    };
    let line_offset = if text.trim_start_matches('\u{feff}').starts_with('#') {
        3
    } else {
        2
    };
    for (i, record) in reader.records().enumerate() {
        let pointer = format!("line {}", i + line_offset);
        let row = match record {
            Ok(row) => row,
            Err(e) => {
                file.warnings.push(Warning {
                    pointer,
                    message: format!("row skipped: {e}"),
                });
                continue;
            }
        };
        let id = row.get(cve).unwrap_or_default().trim().to_ascii_uppercase();
        let score = row.get(epss).and_then(|v| v.trim().parse::<f32>().ok());
        let pct = row
            .get(percentile)
            .and_then(|v| v.trim().parse::<f32>().ok());
        match (is_cve(&id), score, pct) {
            (true, Some(score), Some(percentile))
                if (0.0..=1.0).contains(&score) && (0.0..=1.0).contains(&percentile) =>
            {
                file.scores.push(EpssScore {
                    cve_id: id,
                    score,
                    percentile,
                });
            }
            _ => file.warnings.push(Warning {
                pointer,
                message: "row skipped: expected a CVE id and two numbers between 0 and 1".into(),
            }),
        }
    }
    Ok(file)
}

#[cfg(test)]
mod tests;
