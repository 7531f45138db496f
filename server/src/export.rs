//! `GET /findings.csv?<the explorer's query string>`: every finding the explorer's filters
//! select (not one page), as CSV, streamed row by row from the database.
//!
//! The query string is the explorer's (`q`, `severity`, `kind`, `status`, `kev`, `fix`,
//! `exposure`, `provider`, `environment`, `cluster`, `namespace`, `vulnerability`, `image`,
//! `workload`, `sla`, `sort`; `group` and `after` are ignored), checked by the explorer's
//! engine within the viewer's scope: an unknown or invisible cluster is a 404, any other value
//! the filter does not take a 400 problem that names it. Every signed-in role may export.
//!
//! Columns, after a header row: `cluster`, `finding_id`, `risk`, `severity`, `status`,
//! `kind`, `vulnerability`, `title`, `package`, `installed_version`, `fixed_version`, `image`,
//! `namespace`, `workload`, `resource`, `first_seen` (RFC 3339, UTC), `kev` (`yes`/`no`),
//! `epss` (0–1, empty when unknown), `link` (the finding page's path,
//! `/findings/{cluster_id}/{id}`). Empty cells are unknown or not applicable.
//!
//! Cells: RFC 4180 (CRLF line ends; a cell with a comma, quote, CR or LF quoted, quotes
//! doubled), UTF-8 as stored, and a cell a spreadsheet would run as a formula (starting with
//! `=`, `+`, `-`, `@`, tab or CR) prefixed with `'` ([`spreadsheet_safe`], shared with
//! `/audit.csv`).
//!
//! Streaming: the filter is checked, then one task owns a pooled connection in a repeatable-read,
//! read-only transaction (the file is one consistent snapshot), reads the rows as the database
//! sends them and hands CSV chunks of about [`CHUNK`] bytes to the response body over a
//! channel of [`IN_FLIGHT`] chunks. Memory stays bounded whatever the row count; a client that
//! goes away ends the task and frees the connection. A database failure mid-file aborts the
//! response (no final chunk), so a truncated file is never mistaken for a whole one.
//!
//! What does not belong here: the SQL (in [`crate::db::export`]), the filter's rules (in
//! [`crate::db::explorer`]).

use app::model::{ListFilter, Severity, Viewer};
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::SecondsFormat;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::auth::handlers::spreadsheet_safe;
use crate::db::export::ExportRow;
use crate::error::ApiError;
use crate::{AppState, db};

/// The header row.
pub const COLUMNS: [&str; 19] = [
    "cluster",
    "finding_id",
    "risk",
    "severity",
    "status",
    "kind",
    "vulnerability",
    "title",
    "package",
    "installed_version",
    "fixed_version",
    "image",
    "namespace",
    "workload",
    "resource",
    "first_seen",
    "kev",
    "epss",
    "link",
];

/// Bytes of CSV gathered before a chunk is handed to the response.
pub const CHUNK: usize = 32 * 1024;
/// Chunks waiting for the client at most; the reader waits for the client beyond that.
pub const IN_FLIGHT: usize = 4;

/// Writes one record of `cells`, each made spreadsheet-safe, RFC 4180-quoted.
fn write_cells<const N: usize>(
    writer: &mut csv::Writer<Vec<u8>>,
    cells: [&str; N],
) -> csv::Result<()> {
    writer.write_record(cells.map(spreadsheet_safe).iter().map(|c| c.as_bytes()))
}

fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(CHUNK + 4096))
}

/// One CSV line (CRLF-terminated) of `cells`, escaped as the export escapes every cell.
pub fn line<const N: usize>(cells: [&str; N]) -> Vec<u8> {
    let mut w = writer();
    // writing to memory fails only on a bug in the csv crate
    if write_cells(&mut w, cells).is_err() {
        return Vec::new();
    }
    w.into_inner().unwrap_or_default()
}

/// The cells of one row, in [`COLUMNS`] order.
fn cells(r: &ExportRow) -> [String; 19] {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        text(&r.cluster),
        r.id.to_string(),
        r.risk.map(|v| v.to_string()).unwrap_or_default(),
        Severity::from_i16(r.severity).slug().to_owned(),
        r.status.clone(),
        r.kind.clone(),
        text(&r.vulnerability),
        r.title.clone(),
        text(&r.package),
        text(&r.installed),
        text(&r.fixed),
        text(&r.image),
        text(&r.namespace),
        text(&r.workload),
        text(&r.resource),
        r.first_seen.to_rfc3339_opts(SecondsFormat::Secs, true),
        if r.kev { "yes" } else { "no" }.to_owned(),
        r.epss.map(|v| v.to_string()).unwrap_or_default(),
        format!("/findings/{}/{}", r.cluster_id, r.id),
    ]
}

/// CSV text gathered into chunks of about [`CHUNK`] bytes.
struct Chunks {
    writer: csv::Writer<Vec<u8>>,
}

impl Chunks {
    fn new() -> Chunks {
        Chunks { writer: writer() }
    }

    /// Adds a record; a full chunk when one is ready.
    fn push<const N: usize>(&mut self, cells: [&str; N]) -> csv::Result<Option<Bytes>> {
        write_cells(&mut self.writer, cells)?;
        self.writer.flush()?;
        if self.writer.get_ref().len() >= CHUNK {
            return self.take().map(Some);
        }
        Ok(None)
    }

    /// Whatever is gathered.
    fn take(&mut self) -> csv::Result<Bytes> {
        let full = std::mem::replace(&mut self.writer, writer());
        let bytes = full
            .into_inner()
            .map_err(|e| csv::Error::from(e.into_error()))?;
        Ok(Bytes::from(bytes))
    }
}

/// `attachment; filename="bulwark-findings-<UTC date>.csv"`.
fn disposition() -> String {
    format!(
        "attachment; filename=\"bulwark-findings-{}.csv\"",
        chrono::Utc::now().format("%Y-%m-%d")
    )
}

/// `GET /findings.csv`: see the module doc.
#[tracing::instrument(skip_all, err)]
pub async fn findings_csv(
    State(state): State<AppState>,
    query: Result<Query<ListFilter>, QueryRejection>,
    request: Request,
) -> Result<Response, ApiError> {
    let viewer = request
        .extensions()
        .get::<Viewer>()
        .cloned()
        .ok_or_else(|| ApiError::Unauthorized("sign in first".to_owned()))?;
    let Query(filter) = query.map_err(|rejection| {
        ApiError::bad_request("invalid-query", "Invalid query", rejection.body_text())
    })?;
    // the whole selection: no grouping, no page
    let filter = ListFilter {
        group: None,
        after: None,
        ..filter
    };
    let mut tx = db::export::snapshot(&state.pool).await?;
    let criteria = match db::explorer::check(&mut tx, viewer.clusters.as_deref(), &filter).await? {
        Ok(criteria) => criteria,
        Err(db::explorer::Refusal::NoSuchCluster(name)) => {
            return Err(ApiError::NotFound(format!("there is no cluster '{name}'")));
        }
        Err(db::explorer::Refusal::BadValue(detail)) => {
            return Err(ApiError::bad_request(
                "invalid-query",
                "Invalid query",
                detail,
            ));
        }
    };
    let (sender, mut receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(IN_FLIGHT);
    tokio::spawn(
        async move {
            let result = produce(&mut tx, &criteria, &sender).await;
            match result {
                Ok(()) => {
                    if let Err(error) = tx.commit().await {
                        tracing::warn!(%error, "ending the export's transaction");
                    }
                }
                Err(Stop::ClientGone) => {}
                Err(Stop::Failed(error)) => {
                    tracing::error!(error = %error, "findings export failed mid-stream");
                    let _ = sender
                        .send(Err(std::io::Error::other("the export failed")))
                        .await;
                }
            }
        }
        .instrument(tracing::Span::current()),
    );
    let body = Body::from_stream(futures_util::stream::poll_fn(move |cx| {
        receiver.poll_recv(cx)
    }));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// Why producing the file stopped early.
enum Stop {
    /// The response was dropped (the client went away).
    ClientGone,
    /// Reading or writing failed.
    Failed(anyhow::Error),
}

impl From<csv::Error> for Stop {
    fn from(error: csv::Error) -> Self {
        Stop::Failed(error.into())
    }
}

impl From<sqlx::Error> for Stop {
    fn from(error: sqlx::Error) -> Self {
        Stop::Failed(error.into())
    }
}

/// Writes the header and every row of `criteria` into `sender`, chunk by chunk.
async fn produce(
    conn: &mut sqlx::PgConnection,
    criteria: &db::explorer::Criteria,
    sender: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), Stop> {
    let send =
        |bytes: Bytes| async move { sender.send(Ok(bytes)).await.map_err(|_| Stop::ClientGone) };
    let mut chunks = Chunks::new();
    chunks.push(COLUMNS)?;
    // the header goes out at once: the download starts before the first row is sorted
    send(chunks.take()?).await?;
    let mut query = db::export::query(criteria);
    let mut rows = db::export::rows(conn, &mut query);
    while let Some(row) = rows.next().await {
        let cells = cells(&row?);
        if let Some(full) = chunks.push(cells.each_ref().map(String::as_str))? {
            send(full).await?;
        }
    }
    let rest = chunks.take()?;
    if !rest.is_empty() {
        send(rest).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(cells: &[&str; 3]) -> String {
        String::from_utf8(line(*cells)).unwrap_or_default()
    }

    #[test]
    fn cells_are_quoted_as_rfc_4180_says() {
        assert_eq!(text(&["a", "b", "c"]), "a,b,c\r\n");
        assert_eq!(
            text(&["a,b", "say \"hi\"", ""]),
            "\"a,b\",\"say \"\"hi\"\"\",\r\n"
        );
        assert_eq!(
            text(&["two\nlines", "cr\rhere", "x"]),
            "\"two\nlines\",\"cr\rhere\",x\r\n"
        );
    }

    #[test]
    fn non_ascii_text_is_kept_as_utf8() {
        assert_eq!(
            text(&["Grüße", "日本語", "naïve – ok"]),
            "Grüße,日本語,naïve – ok\r\n"
        );
    }

    #[test]
    fn formulas_are_neutralised_and_then_quoted() {
        assert_eq!(
            text(&["=HYPERLINK(\"http://x\",\"y\")", "+1", "-2"]),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",'+1,'-2\r\n"
        );
        assert_eq!(
            text(&["@SUM(A1)", "\tx", "\rx"]),
            "'@SUM(A1),'\tx,\"'\rx\"\r\n"
        );
        // only the first character counts
        assert_eq!(
            text(&["a=b", "x@example.com", "1-2"]),
            "a=b,x@example.com,1-2\r\n"
        );
    }

    #[test]
    fn a_row_has_a_cell_per_column_and_links_to_its_finding() {
        let row = ExportRow {
            cluster: Some("prod-eu".to_owned()),
            cluster_id: 3,
            id: 42,
            risk: Some(87),
            severity: 4,
            status: "open".to_owned(),
            kind: "vulnerability".to_owned(),
            vulnerability: Some("CVE-2024-1".to_owned()),
            title: "t".to_owned(),
            package: Some("openssl".to_owned()),
            installed: Some("3.0.1".to_owned()),
            fixed: None,
            image: Some("acme/api:1".to_owned()),
            namespace: None,
            workload: None,
            resource: None,
            first_seen: chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default(),
            kev: true,
            epss: Some(0.5),
        };
        let cells = cells(&row);
        assert_eq!(cells.len(), COLUMNS.len());
        assert_eq!(cells[0], "prod-eu");
        assert_eq!(cells[2], "87");
        assert_eq!(cells[3], "critical");
        assert_eq!(cells[10], "");
        assert_eq!(cells[15], "2026-09-21T14:13:20Z");
        assert_eq!(cells[16], "yes");
        assert_eq!(cells[17], "0.5");
        assert_eq!(cells[18], "/findings/3/42");
    }

    #[test]
    fn chunks_hold_whole_records_and_lose_nothing() {
        let mut chunks = Chunks::new();
        let mut out = Vec::new();
        let cell = "x".repeat(1000);
        for _ in 0..100 {
            if let Ok(Some(full)) = chunks.push([cell.as_str(), "y"]) {
                assert!(full.ends_with(b"\r\n"));
                out.extend_from_slice(&full);
            }
        }
        assert!(out.len() >= CHUNK, "a chunk was handed over");
        out.extend_from_slice(&chunks.take().unwrap_or_default());
        assert_eq!(out.len(), 100 * (1000 + 1 + 1 + 2));
    }
}
