//! Stores one parsed report in one transaction: the report row, the estate it names, the
//! catalogue, the findings with their lifecycle and risk, VEX statements, runtime events and
//! control results. On any error nothing of the report remains. A transaction that loses a
//! deadlock, or the race to create the same new rows, against a concurrent report is retried
//! from the start.
//!
//! [`try_store`] reads as a script of named steps; every step is set-based (a few statements per report,
//! never one per finding). The CPU work on the findings (scoring, ordering) runs on a blocking
//! thread while the catalogue is written, so the database and the second core work at once.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

use crate::db;
use crate::db::findings::StagedFinding;
use crate::db::reports::{NewReport, ScopeState, StoredReport};
use crate::db::risk::Selector;
use crate::db::tokens::IngestIdentity;
use crate::domain::cvss::{self, Scored};
use crate::domain::risk::{
    self, Exposures, FindingFacts, Inputs, Intel, VulnerabilityFacts, Weights,
};
use crate::domain::tenancy::{CatalogueWrite, Writer};
use crate::error::ApiError;
use crate::ingest::model::{ParsedReport, VulnerabilityInfo, Warning};

/// How often a report is tried when its transaction hit a deadlock or lost the race to create a
/// catalogue entry or finding (each lost race means another report committed those rows).
const ATTEMPTS: usize = 5;

/// The answer to an ingest.
#[derive(Debug, Clone, Serialize)]
pub struct IngestOutcome {
    /// The report's id (the first report's, for a re-send).
    pub report_id: i64,
    /// The format it was read as.
    pub format: String,
    /// True when the format was detected from the content.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub detected: bool,
    /// True when these exact bytes had been sent before and nothing changed.
    pub duplicate: bool,
    /// What the report did.
    pub counts: Counts,
    /// Records that could not be read, and what was done about them.
    pub warnings: serde_json::Value,
}

/// What a report did.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Counts {
    /// Records read (findings, passing checks, events, skipped records).
    pub records: u64,
    /// Findings in the report (after merging duplicates within it).
    pub received: u64,
    /// Findings created.
    pub new: u64,
    /// Known findings confirmed.
    pub unchanged: u64,
    /// Findings no longer reported by this source and scope, now fixed.
    pub fixed: u64,
    /// Fixed findings reported again.
    pub reopened: u64,
    /// Findings suppressed by VEX statements.
    pub suppressed: u64,
    /// Runtime events stored.
    pub events: u64,
    /// Control results stored.
    pub controls: u64,
}

impl IngestOutcome {
    /// The answer for a byte-identical re-send: the first report, unchanged.
    pub fn replay(report: StoredReport) -> IngestOutcome {
        IngestOutcome {
            report_id: report.id,
            format: report.format,
            detected: false,
            duplicate: true,
            counts: serde_json::from_value(report.counts).unwrap_or_default(),
            warnings: report.warnings,
        }
    }
}

/// Why a report could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The database refused or failed a statement.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The thread scoring the report's findings panicked or was cancelled.
    #[error("scoring the report's findings failed: {0}")]
    Scoring(#[from] tokio::task::JoinError),
    /// A concurrent request stored the same bytes, but its report cannot be read back.
    #[error("a concurrent upload of the same report cannot be found")]
    ConcurrentReportMissing,
}

impl PipelineError {
    /// Whether retrying the whole transaction may succeed (a deadlock, or a lost race to create
    /// the same rows).
    fn is_transient(&self) -> bool {
        matches!(self, PipelineError::Database(error) if db::is_transient(error))
    }
}

impl From<PipelineError> for ApiError {
    fn from(error: PipelineError) -> Self {
        match error {
            PipelineError::Database(error) => ApiError::from(error),
            other => ApiError::Internal(other.into()),
        }
    }
}

/// Stores `parsed`, read as `format`, for `identity`.
pub async fn store(
    pool: &PgPool,
    identity: &IngestIdentity,
    format: &str,
    digest: &[u8; 32],
    body_bytes: usize,
    parsed: ParsedReport,
) -> Result<IngestOutcome, ApiError> {
    store_at(pool, identity, format, digest, body_bytes, parsed, None).await
}

/// Stores `parsed` as [`store`] does; with `at`, every lifecycle write of the report (its
/// arrival, first and last seen, fixes and reopenings) is dated `at` instead of now. Only the
/// demo fleet passes a time: it writes its history through this same code.
#[tracing::instrument(skip_all, fields(format, findings = parsed.findings.len()), err)]
pub async fn store_at(
    pool: &PgPool,
    identity: &IngestIdentity,
    format: &str,
    digest: &[u8; 32],
    body_bytes: usize,
    parsed: ParsedReport,
    at: Option<DateTime<Utc>>,
) -> Result<IngestOutcome, ApiError> {
    let parsed = Arc::new(parsed);
    let upload = Upload {
        identity,
        format,
        digest,
        body_bytes,
        at,
    };
    let mut attempt = 1;
    let outcome = loop {
        match try_store(pool, &upload, &parsed).await {
            Err(error) if attempt < ATTEMPTS && error.is_transient() => {
                tracing::warn!(%error, attempt, "ingest transaction retried");
                attempt += 1;
            }
            other => break other.map_err(ApiError::from),
        }
    };
    // Freeing a large report takes a while; the answer need not wait for it.
    tokio::task::spawn_blocking(move || drop(parsed));
    outcome
}

/// Who sent which bytes.
struct Upload<'a> {
    identity: &'a IngestIdentity,
    format: &'a str,
    digest: &'a [u8; 32],
    body_bytes: usize,
    /// The clock of the report's lifecycle writes, when it is not now.
    at: Option<DateTime<Utc>>,
}

/// One attempt at storing the report, as a script of named steps.
async fn try_store(
    pool: &PgPool,
    upload: &Upload<'_>,
    parsed: &Arc<ParsedReport>,
) -> Result<IngestOutcome, PipelineError> {
    let mut clock = crate::telemetry::Phases::start();
    let identity = upload.identity;
    // what this sender may change, and where its data lives (the tenancy model)
    let writer = Writer::new(identity.cluster_id);
    let mut warnings = parsed.warnings.clone();
    let mut tx = pool.begin().await?;
    if let Some(at) = upload.at {
        db::reports::set_clock(&mut tx, at).await?;
    }
    // The transaction's timestamp, which column defaults use too: rows can leave it out.
    let now = db::reports::transaction_time(&mut tx).await?;

    // 1. The report itself; the same bytes arriving concurrently are answered with the first.
    let Some(report_id) = insert_report(&mut tx, upload, parsed).await? else {
        tx.rollback().await?;
        return replay(pool, upload).await;
    };
    clock.lap("report");

    // 2. The cluster: the token's, else the one the report names.
    let cluster_id = resolve_cluster(&mut tx, writer, parsed, &mut warnings).await?;

    // 3. The estate the report names.
    let estate = store_estate(&mut tx, cluster_id, parsed).await?;
    clock.lap("estate");

    // 4. Lifecycle scopes, locked in a fixed order until commit.
    let scopes = lock_scopes(&mut tx, identity, parsed, cluster_id).await?;

    // 5. The catalogue, unless each scope's last report brought exactly this one.
    let catalogue = CataloguePlan::new(parsed, &scopes);
    clock.lap("cvss");

    // 6. What the risk depends on, read before the catalogue is written: the catalogue keeps
    //    a stored vector, so its CVSS afterwards is the stored one, else this report's best.
    let mut context = RiskContext::load(&mut tx, parsed, &estate, cluster_id).await?;
    context.fill_cvss(
        &parsed.vulnerabilities,
        &catalogue.best_cvss,
        writer.catalogue(),
    );
    let scope_ids = scopes.ids(parsed);
    clock.lap("risk_context");

    // 7. Findings are scored and put in key order on another thread while the catalogue is
    //    written.
    let scoring = spawn_scoring(parsed, estate, context, &scope_ids, cluster_id);
    if !catalogue.known {
        db::catalogue::upsert_vulnerabilities(
            &mut tx,
            &parsed.vulnerabilities,
            &catalogue.best_cvss,
            writer.catalogue(),
        )
        .await?;
    }
    clock.lap("vulnerabilities");
    let component_ids = db::catalogue::upsert_components(&mut tx, &parsed.components).await?;
    clock.lap("components");
    let scored = scoring.await?;
    let staged = stage(parsed, &scored, &component_ids, cluster_id);
    clock.lap("stage");

    // 8. Findings merged into their scopes: new, confirmed, returning and gone.
    let mut counts = Counts {
        records: parsed.record_count as u64,
        ..Counts::default()
    };
    let hashes = merge_findings(
        &mut tx,
        parsed,
        &scopes,
        staged,
        &scored.context,
        (report_id, now),
        &mut counts,
        &mut warnings,
    )
    .await?;
    clock.lap("merge");

    // 9. VEX statements, runtime events, control results.
    apply_statements_events_controls(
        &mut tx,
        (identity, writer),
        parsed,
        cluster_id,
        report_id,
        &mut counts,
    )
    .await?;
    clock.lap("vex_events_controls");

    // 10. Bookkeeping: scopes advance, the report records its outcome.
    for (scope_id, hash) in &hashes {
        db::reports::advance_scope(
            &mut tx,
            *scope_id,
            report_id,
            now,
            hash,
            &catalogue.hash,
            parsed.generated_at,
        )
        .await?;
    }
    if let Some(cluster_id) = cluster_id {
        db::estate::touch_cluster(&mut tx, cluster_id).await?;
    }
    let counts_json = serde_json::to_value(&counts).unwrap_or_else(|_| json!({}));
    let warnings = warnings_json(&warnings);
    let record_count = i32::try_from(parsed.record_count).unwrap_or(i32::MAX);
    let first_scope = scope_ids.first().copied().filter(|id| *id > 0);
    db::reports::finish(
        &mut tx,
        report_id,
        first_scope,
        record_count,
        &counts_json,
        &warnings,
    )
    .await?;
    clock.lap("bookkeeping");
    tx.commit().await?;
    clock.lap("commit");
    tracing::debug!(report_id, timings = %clock, "report stored");

    Ok(IngestOutcome {
        report_id,
        format: upload.format.to_owned(),
        detected: false,
        duplicate: false,
        counts,
        warnings,
    })
}

/// Inserts the report row; `None` when the same bytes from the same source are stored already.
async fn insert_report(
    conn: &mut PgConnection,
    upload: &Upload<'_>,
    parsed: &ParsedReport,
) -> Result<Option<i64>, sqlx::Error> {
    let new_report = NewReport {
        source_id: upload.identity.source_id,
        cluster_id: upload.identity.cluster_id,
        token_id: Some(upload.identity.token_id),
        format: upload.format,
        kind: parsed.kind.as_str(),
        scanner: Some(&parsed.scanner),
        scanner_version: parsed.scanner_version.as_deref(),
        artifact: parsed.artifact.as_deref(),
        digest: upload.digest,
        body_bytes: i64::try_from(upload.body_bytes).unwrap_or(i64::MAX),
        generated_at: parsed.generated_at,
    };
    db::reports::insert(conn, &new_report).await
}

/// The answer for bytes stored before (possibly by a concurrent request that just committed).
async fn replay(pool: &PgPool, upload: &Upload<'_>) -> Result<IngestOutcome, PipelineError> {
    let mut conn = pool.acquire().await?;
    let existing = db::reports::find_by_digest(&mut conn, upload.identity.source_id, upload.digest)
        .await?
        .ok_or(PipelineError::ConcurrentReportMissing)?;
    Ok(IngestOutcome::replay(existing))
}

/// The report's lifecycle scopes, by key.
struct Scopes(HashMap<String, ScopeState>);

impl Scopes {
    /// The scope id of each of the report's scopes, in report order (0 for none).
    fn ids(&self, parsed: &ParsedReport) -> Vec<i64> {
        parsed
            .scopes
            .iter()
            .map(|key| self.0.get(key).map_or(0, |s| s.id))
            .collect()
    }
}

/// Locks the report's scopes, in key order so that concurrent reports cannot deadlock.
async fn lock_scopes(
    conn: &mut PgConnection,
    identity: &IngestIdentity,
    parsed: &ParsedReport,
    cluster_id: Option<i64>,
) -> Result<Scopes, sqlx::Error> {
    let mut keys: Vec<&String> = parsed.scopes.iter().collect();
    keys.sort();
    let mut scopes = HashMap::new();
    for key in keys {
        let state = db::reports::lock_scope(conn, identity.source_id, key, cluster_id).await?;
        scopes.insert(key.clone(), state);
    }
    Ok(Scopes(scopes))
}

/// What to do with the report's catalogue entries.
struct CataloguePlan {
    /// Hash of the entries, in report order.
    hash: Vec<u8>,
    /// Each scope's last report brought exactly these entries: the catalogue only ever gains,
    /// so writing them again would change nothing.
    known: bool,
    /// The best CVSS of each entry (empty when `known`).
    best_cvss: Vec<Option<Scored>>,
}

impl CataloguePlan {
    fn new(parsed: &ParsedReport, scopes: &Scopes) -> CataloguePlan {
        let hash = catalogue_hash(&parsed.vulnerabilities);
        let known = !scopes.0.is_empty()
            && scopes
                .0
                .values()
                .all(|s| s.catalogue_hash.as_deref() == Some(hash.as_slice()));
        let best_cvss = if known {
            Vec::new()
        } else {
            parsed
                .vulnerabilities
                .iter()
                .map(|v| cvss::best(&v.cvss_vectors))
                .collect()
        };
        CataloguePlan {
            hash,
            known,
            best_cvss,
        }
    }
}

/// Scores the findings and works out their key order on a blocking thread.
fn spawn_scoring(
    parsed: &Arc<ParsedReport>,
    estate: Estate,
    context: RiskContext,
    scope_ids: &[i64],
    cluster_id: Option<i64>,
) -> tokio::task::JoinHandle<Scoring> {
    let parsed = Arc::clone(parsed);
    let scope_ids = scope_ids.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut cache = RiskCache::default();
        let risks = score_findings(&parsed, &estate, cluster_id, &context, &mut cache);
        let order = stage_order(&parsed, &estate, &scope_ids, cluster_id);
        Scoring {
            estate,
            context,
            cache,
            risks,
            order,
        }
    })
}

/// Merges the staged findings of each scope whose content changed since its last report;
/// returns the new content hash of every scope the report applies to.
#[expect(
    clippy::too_many_arguments,
    reason = "the step's inputs, named at the one call site"
)]
async fn merge_findings(
    conn: &mut PgConnection,
    parsed: &ParsedReport,
    scopes: &Scopes,
    staged: Vec<StagedFinding<'_>>,
    context: &RiskContext,
    (report_id, now): (i64, DateTime<Utc>),
    counts: &mut Counts,
    warnings: &mut Vec<Warning>,
) -> Result<HashMap<i64, Vec<u8>>, sqlx::Error> {
    let mut merge_scopes = Vec::new();
    let mut hashes: HashMap<i64, Vec<u8>> = HashMap::new();
    let mut by_scope: HashMap<i64, Vec<&StagedFinding<'_>>> = HashMap::new();
    for row in &staged {
        by_scope.entry(row.scope_id).or_default().push(row);
    }
    for key in &parsed.scopes {
        let Some(state) = scopes.0.get(key) else {
            continue;
        };
        let rows: Vec<&StagedFinding<'_>> = by_scope.remove(&state.id).unwrap_or_default();
        if let (Some(at), Some(newest)) = (parsed.generated_at, state.last_generated_at)
            && at < newest
        {
            warnings.push(Warning {
                pointer: String::new(),
                message: format!(
                    "scope '{key}': this report was generated at {at}, before the newest \
                     one already applied ({newest}); its findings were not applied"
                ),
            });
            continue;
        }
        let hash = content_hash(&rows);
        let distinct = rows.len() as u64;
        counts.received += distinct;
        if state.content_hash.as_deref() == Some(hash.as_slice()) {
            counts.unchanged += distinct; // same findings as last time: nothing to touch
        } else {
            merge_scopes.push(state.id);
        }
        hashes.insert(state.id, hash);
    }
    if merge_scopes.is_empty() {
        return Ok(hashes);
    }
    let merging: std::collections::HashSet<i64> = merge_scopes.iter().copied().collect();
    let merge_rows: Vec<StagedFinding<'_>> = staged
        .into_iter()
        .filter(|r| merging.contains(&r.scope_id))
        .collect();
    let vex_possible = db::vex::any_for(conn, &context.vulnerability_ids).await?;
    let merged = db::findings::merge(
        conn,
        &merge_scopes,
        report_id,
        now,
        &merge_rows,
        vex_possible,
    )
    .await?;
    counts.new += merged.new;
    counts.unchanged += merged.unchanged();
    counts.fixed += merged.fixed;
    counts.reopened += merged.reopened;
    counts.suppressed += merged.suppressed;
    Ok(hashes)
}

/// Applies the report's VEX statements, stores its runtime events (rescoring what runs in the
/// workloads they name) and its control results.
async fn apply_statements_events_controls(
    conn: &mut PgConnection,
    (identity, writer): (&IngestIdentity, Writer),
    parsed: &ParsedReport,
    cluster_id: Option<i64>,
    report_id: i64,
    counts: &mut Counts,
) -> Result<(), sqlx::Error> {
    counts.suppressed += db::vex::apply(
        conn,
        identity.source_id,
        writer.vex_reach(),
        report_id,
        &parsed.vex,
    )
    .await?;
    let attributed =
        db::runtime::insert_events(conn, cluster_id.unwrap_or(0), report_id, &parsed.events)
            .await?;
    counts.events = parsed.events.len() as u64;
    if let (Some(cluster_id), false) = (cluster_id, attributed.is_empty()) {
        // New runtime signal: rescore what runs in those workloads.
        let images = db::estate::images_of_workloads(conn, cluster_id, &attributed).await?;
        db::risk::recompute(
            conn,
            &Selector::Assets {
                cluster_id,
                workload_ids: attributed,
                image_ids: images,
            },
        )
        .await?;
    }
    db::controls::insert_results(conn, cluster_id.unwrap_or(0), report_id, &parsed.controls)
        .await?;
    counts.controls = parsed.controls.len() as u64;
    Ok(())
}

async fn resolve_cluster(
    conn: &mut PgConnection,
    writer: Writer,
    parsed: &ParsedReport,
    warnings: &mut Vec<Warning>,
) -> Result<Option<i64>, sqlx::Error> {
    if writer.is_bound() {
        return Ok(Some(writer.finding_cluster(None)));
    }
    if let Some(name) = &parsed.cluster_name
        && let Some(id) = db::estate::cluster_by_name(conn, name).await?
    {
        return Ok(Some(id));
    }
    let needs_cluster = parsed.findings.iter().any(|f| f.in_cluster)
        || !parsed.workloads.is_empty()
        || !parsed.events.is_empty()
        || !parsed.controls.is_empty();
    if needs_cluster {
        warnings.push(Warning {
            pointer: String::new(),
            message: "the token is bound to no cluster and the report names none: Kubernetes \
                      resources, events and controls are kept at fleet level; bind the token \
                      to a cluster (bulwark token create --cluster NAME)"
                .to_owned(),
        });
    }
    Ok(None)
}

/// Database ids of the report's estate.
struct Estate {
    image_ids: Vec<i64>,
    /// `(namespace_id, workload_id)` per report workload; empty without a cluster.
    workloads: Vec<(i64, i64)>,
}

async fn store_estate(
    conn: &mut PgConnection,
    cluster_id: Option<i64>,
    parsed: &ParsedReport,
) -> Result<Estate, sqlx::Error> {
    let image_ids = db::estate::upsert_images(conn, &parsed.images).await?;
    let Some(cluster_id) = cluster_id else {
        return Ok(Estate {
            image_ids,
            workloads: Vec::new(),
        });
    };
    // An image the report merely names is not linked to the cluster: only the containers of
    // the cluster's own workloads (below) are evidence that it runs there (tenancy rule (b)).
    let workloads = db::estate::upsert_workloads(conn, cluster_id, &parsed.workloads).await?;
    let mut w_ids = Vec::new();
    let mut names = Vec::new();
    let mut i_ids = Vec::new();
    for link in &parsed.links {
        let (Some((_, workload_id)), Some(image_id)) =
            (workloads.get(link.workload), image_ids.get(link.image))
        else {
            continue;
        };
        let name = link.container.clone().unwrap_or_else(|| {
            let repository = &parsed.images[link.image].reference.repository;
            repository
                .rsplit('/')
                .next()
                .unwrap_or(repository)
                .to_owned()
        });
        w_ids.push(*workload_id);
        names.push(name);
        i_ids.push(*image_id);
    }
    db::estate::upsert_containers(conn, cluster_id, &w_ids, &names, &i_ids).await?;
    Ok(Estate {
        image_ids,
        workloads,
    })
}

/// What the risk of the report's findings depends on, loaded once per report with the same
/// functions the recompute uses.
struct RiskContext {
    weights: Weights,
    intel: HashMap<String, Intel>,
    /// Catalogue CVSS (vector, score) per vulnerability id.
    cvss: HashMap<String, db::catalogue::CatalogueCvss>,
    exposures: Exposures,
    vulnerability_ids: Vec<String>,
}

impl RiskContext {
    async fn load(
        conn: &mut PgConnection,
        parsed: &ParsedReport,
        estate: &Estate,
        cluster_id: Option<i64>,
    ) -> Result<RiskContext, sqlx::Error> {
        let mut ids: Vec<&str> = parsed
            .findings
            .iter()
            .filter_map(|f| f.vulnerability_id.as_deref())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let vulnerability_ids: Vec<String> = ids.into_iter().map(str::to_owned).collect();
        type Pairs = Vec<(i64, i64)>;
        let (workloads, images, clusters): (Pairs, Pairs, Vec<i64>) = match cluster_id {
            Some(c) => (
                estate.workloads.iter().map(|(_, w)| (c, *w)).collect(),
                estate.image_ids.iter().map(|i| (c, *i)).collect(),
                vec![c],
            ),
            None => (Vec::new(), Vec::new(), Vec::new()),
        };
        Ok(RiskContext {
            weights: db::risk::weights(conn).await?,
            intel: db::risk::intel(conn, &vulnerability_ids).await?,
            cvss: db::catalogue::cvss_of(conn, &vulnerability_ids).await?,
            exposures: db::risk::exposures(conn, &workloads, &clusters, &images).await?,
            vulnerability_ids,
        })
    }

    /// The CVSS the catalogue will hold once `vulnerabilities` are written with their `best`
    /// vectors: a stored vector and score stay; a missing one is filled in when `mode` merges;
    /// an unknown vulnerability gets its best vector either way.
    fn fill_cvss(
        &mut self,
        vulnerabilities: &[VulnerabilityInfo],
        best: &[Option<Scored>],
        mode: CatalogueWrite,
    ) {
        let on_file: HashSet<String> = match mode {
            CatalogueWrite::AddOnly => self.cvss.keys().cloned().collect(),
            CatalogueWrite::Merge => HashSet::new(),
        };
        for (v, best) in vulnerabilities.iter().zip(best) {
            let Some(best) = best else { continue };
            if on_file.contains(&v.id) {
                continue; // a bound sender never changes a stored entry
            }
            let entry = self.cvss.entry(v.id.clone()).or_insert((None, None));
            if entry.0.is_none() {
                entry.0 = Some(best.vector.clone());
            }
            entry.1 = entry.1.or(Some(best.score));
        }
    }
}

/// Where a finding lives, resolved to database ids.
struct Placement {
    cluster_id: i64,
    image_id: Option<i64>,
    namespace_id: Option<i64>,
    workload_id: Option<i64>,
}

fn place(
    f: &crate::ingest::model::FindingRecord,
    estate: &Estate,
    cluster_id: Option<i64>,
) -> Placement {
    let image_id = f.image.and_then(|i| estate.image_ids.get(i).copied());
    let (namespace_id, workload_id) = match (f.in_cluster, cluster_id, f.workload) {
        (true, Some(_), Some(w)) => match estate.workloads.get(w) {
            Some((ns, wl)) => (Some(*ns), Some(*wl)),
            None => (None, None),
        },
        _ => (None, None),
    };
    Placement {
        // every finding of a report lives in the report's cluster (`Writer::finding_cluster`:
        // the bound token's, else the one the report names), images included
        cluster_id: cluster_id.unwrap_or(0),
        image_id,
        namespace_id,
        workload_id,
    }
}

/// Scores findings, computing each distinct set of inputs once (a report's findings share
/// few: the same CVE, the same image), and keeps the stored breakdowns for borrowing.
#[derive(Default)]
struct RiskCache {
    index: HashMap<RiskKey, usize>,
    scores: Vec<(i16, String)>,
}

/// Everything the score depends on, hashable.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct RiskKey {
    severity: i16,
    cvss: Option<u32>,
    kev: Option<chrono::NaiveDate>,
    epss: Option<u32>,
    fix: bool,
    environment: risk::Environment,
    criticality: i16,
    internet_facing: bool,
    privileged: bool,
    runtime: bool,
}

impl RiskCache {
    fn score(&mut self, inputs: Inputs, weights: &Weights) -> usize {
        let e = inputs.exposure;
        let key = RiskKey {
            severity: inputs.severity.as_i16(),
            cvss: inputs.cvss.map(f32::to_bits),
            kev: inputs.kev_added,
            epss: inputs.epss.map(f32::to_bits),
            fix: inputs.fix_available,
            environment: e.environment,
            criticality: e.criticality,
            internet_facing: e.internet_facing,
            privileged: e.privileged,
            runtime: e.runtime_signal,
        };
        if let Some(i) = self.index.get(&key) {
            return *i;
        }
        let scored = risk::score(&inputs, weights);
        self.scores.push((scored.score, scored.points_json()));
        self.index.insert(key, self.scores.len() - 1);
        self.scores.len() - 1
    }
}

/// The risk of each finding of the report (an index into the cache).
fn score_findings(
    parsed: &ParsedReport,
    estate: &Estate,
    cluster_id: Option<i64>,
    context: &RiskContext,
    cache: &mut RiskCache,
) -> Vec<usize> {
    parsed
        .findings
        .iter()
        .map(|f| {
            let p = place(f, estate, cluster_id);
            let finding = FindingFacts {
                kind: f.kind,
                severity: f.severity,
                fixed_version: f.fixed_version.as_deref(),
                placement: risk::Placement {
                    cluster_id: p.cluster_id,
                    workload_id: p.workload_id,
                    image_id: p.image_id,
                },
            };
            let (cvss_vector, cvss_score) = f
                .vulnerability_id
                .as_ref()
                .and_then(|id| context.cvss.get(id))
                .map_or((None, None), |(vector, score)| (vector.as_deref(), *score));
            let vulnerability = VulnerabilityFacts {
                cvss_vector,
                cvss_score,
                intel: f
                    .vulnerability_id
                    .as_ref()
                    .and_then(|id| context.intel.get(id))
                    .copied()
                    .unwrap_or_default(),
            };
            cache.score(
                risk::inputs(&finding, &vulnerability, &context.exposures),
                &context.weights,
            )
        })
        .collect()
}

/// What scoring hands back: its inputs, and the risk and key order of every finding.
struct Scoring {
    estate: Estate,
    context: RiskContext,
    cache: RiskCache,
    risks: Vec<usize>,
    order: Vec<(i64, usize)>,
}

/// The findings to merge as `(scope id, index)`: one per (scope, cluster, fingerprint), sorted
/// by cluster and fingerprint; of duplicates within a report, the first listed.
fn stage_order(
    parsed: &ParsedReport,
    estate: &Estate,
    scope_ids: &[i64],
    cluster_id: Option<i64>,
) -> Vec<(i64, usize)> {
    // Sorted through a list of keys rather than the rows (a row is large to move around).
    let mut order: Vec<(i64, &[u8; 32], i64, usize)> = parsed
        .findings
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let scope_id = scope_ids.get(f.scope).copied().unwrap_or_default();
            let cluster = place(f, estate, cluster_id).cluster_id;
            (cluster, &f.fingerprint.0, scope_id, i)
        })
        .collect();
    order.sort_unstable();
    order.dedup_by(|b, a| (a.0, a.1, a.2) == (b.0, b.1, b.2));
    order
        .into_iter()
        .map(|(_, _, scope_id, i)| (scope_id, i))
        .collect()
}

/// The report's findings as rows to merge, in the order of [`stage_order`].
fn stage<'a>(
    parsed: &'a ParsedReport,
    scored: &'a Scoring,
    component_ids: &[i64],
    cluster_id: Option<i64>,
) -> Vec<StagedFinding<'a>> {
    scored
        .order
        .iter()
        .map(|&(scope_id, i)| {
            let f = &parsed.findings[i];
            let p = place(f, &scored.estate, cluster_id);
            let (risk_score, risk_factors) = &scored.cache.scores[scored.risks[i]];
            StagedFinding {
                scope_id,
                cluster_id: p.cluster_id,
                fingerprint: &f.fingerprint.0,
                kind: f.kind.as_str(),
                severity: f.severity.as_i16(),
                title: &f.title,
                vulnerability_id: f.vulnerability_id.as_deref(),
                component_id: f.component.and_then(|i| component_ids.get(i).copied()),
                rule_id: f.rule_id.as_deref(),
                image_id: p.image_id,
                namespace_id: p.namespace_id,
                workload_id: p.workload_id,
                resource: f.resource.as_deref(),
                fixed_version: f.fixed_version.as_deref(),
                risk_score: *risk_score,
                risk_factors,
                details: f.details.as_str(),
            }
        })
        .collect()
}

/// SHA-256 over what a scope's findings are (rows in the staged key order): equal hashes mean
/// the report says exactly what the scope's last report said.
fn content_hash(rows: &[&StagedFinding<'_>]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    for r in rows {
        hasher.update(r.cluster_id.to_be_bytes());
        hasher.update(r.fingerprint);
        hasher.update(r.severity.to_be_bytes());
        hasher.update(r.risk_score.to_be_bytes());
        hash_text(&mut hasher, r.risk_factors);
        for text in [Some(r.title), r.fixed_version, r.resource, Some(r.details)] {
            hash_text(&mut hasher, text.unwrap_or("\u{0}"));
        }
        hasher.update(r.image_id.unwrap_or(-1).to_be_bytes());
        hasher.update(r.workload_id.unwrap_or(-1).to_be_bytes());
    }
    hasher.finalize().to_vec()
}

/// Feeds `text` to `hasher` with its length first, so that texts cannot run into each other.
fn hash_text(hasher: &mut Sha256, text: &str) {
    hasher.update((text.len() as u64).to_be_bytes());
    hasher.update(text.as_bytes());
}

/// SHA-256 over the report's catalogue entries, in report order.
fn catalogue_hash(vulnerabilities: &[VulnerabilityInfo]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    let mut text = |value: &str| hash_text(&mut hasher, value);
    for v in vulnerabilities {
        text(&v.id);
        text(v.title.as_deref().unwrap_or("\u{0}"));
        text(v.description.as_deref().unwrap_or("\u{0}"));
        text(&v.severity.as_i16().to_string());
        for (source, vector) in &v.cvss_vectors {
            text(source);
            text(vector);
        }
        text("\u{1}");
        for list in [&v.aliases, &v.cwe, &v.references] {
            for item in list {
                text(item);
            }
            text("\u{1}");
        }
        for at in [v.published_at, v.modified_at] {
            text(&at.map(|t| t.to_rfc3339()).unwrap_or_default());
        }
    }
    hasher.finalize().to_vec()
}

/// At most this many warnings are kept on a report; the rest are summarised.
const MAX_WARNINGS: usize = 1000;

fn warnings_json(warnings: &[Warning]) -> serde_json::Value {
    let mut list: Vec<serde_json::Value> = warnings
        .iter()
        .take(MAX_WARNINGS)
        .map(|w| json!({ "pointer": w.pointer, "message": w.message }))
        .collect();
    if warnings.len() > MAX_WARNINGS {
        list.push(json!({
            "pointer": "",
            "message": format!("{} more warnings not shown", warnings.len() - MAX_WARNINGS),
        }));
    }
    serde_json::Value::Array(list)
}
