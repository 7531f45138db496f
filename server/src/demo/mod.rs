//! The demo fleet. Without a size, the small fleet of `make run` ([`small`]: five clusters,
//! reports as real Trivy JSON through the parser). With a size, a fleet of any scale with days
//! of history ([`fleet`] plans it from a seed, [`scaled`] writes it through the ingest
//! pipeline, dated as it happened). Both write only through the code that ingests real reports.
//!
//! Guarded: a database holding data that is not the demo's is left alone unless forced; one
//! that holds an earlier demo is left as it is (so `make run` can always call it). The `demo`
//! setting marks a demo database (see [`db::demo::holding`]).
//!
//! Not here: the SQL (in [`db::demo`] and the stores the pipeline uses), the rollup of history
//! into daily snapshots (its own job; called at the end so trends show at once).

mod catalogue;
mod fleet;
mod fleet_names;
mod progress;
mod scaled;
mod small;
mod small_catalogue;

use std::time::Instant;

use anyhow::bail;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::db;
use crate::db::demo::Holding;
use crate::db::tokens::IngestIdentity;
use crate::domain::token::TokenSecret;

pub use fleet::Size;

/// What to load.
#[derive(Debug, Clone, Copy, Default)]
pub struct Request {
    /// The scaled fleet of this size; `None` for the small fleet.
    pub size: Option<Size>,
    /// Load next to data that is not the demo's.
    pub force: bool,
    /// Next to data that is not the demo's, load nothing and succeed.
    pub if_empty: bool,
}

/// What the demo loaded.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoSummary {
    /// Clusters.
    pub clusters: usize,
    /// Distinct images.
    pub images: usize,
    /// Reports ingested.
    pub reports: usize,
    /// Findings created.
    pub findings: u64,
    /// Findings open now (including reopened).
    pub open: i64,
    /// Findings fixed now.
    pub fixed: i64,
    /// Findings reopened now.
    pub reopened: i64,
    /// Findings accepted as risks now.
    pub accepted: i64,
    /// Seconds the load took, snapshots included.
    pub seconds: f64,
}

/// What `bulwark demo` did.
#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    /// The fleet was loaded.
    Loaded(DemoSummary),
    /// The database holds a demo already; nothing was done.
    AlreadyLoaded,
    /// The database holds data that is not the demo's and the request said `if_empty`; nothing
    /// was done.
    HoldsOtherData,
}

/// Loads the demo fleet `request` asks for, unless the database holds a demo already (then
/// nothing happens) or data that is not the demo's (then it refuses, unless forced).
pub async fn load(pool: &PgPool, request: Request) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let mut conn = pool.acquire().await?;
    match db::demo::holding(&mut conn).await? {
        Holding::Demo => return Ok(Outcome::AlreadyLoaded),
        Holding::Other if request.if_empty => return Ok(Outcome::HoldsOtherData),
        Holding::Other if !request.force => bail!(
            "the database holds data that is not the demo's (reports from its own sources): \
             the demo fleet was not loaded; pass --force to load it next to that data, or use \
             an empty database"
        ),
        Holding::Other | Holding::Nothing => {}
    }
    // Marked first, so that a load cut short is still known as the demo's.
    let details = match request.size {
        Some(s) => serde_json::json!({
            "fleet": "scaled", "clusters": s.clusters, "findings": s.findings, "days": s.days,
            "seed": s.seed,
        }),
        None => serde_json::json!({ "fleet": "small" }),
    };
    db::demo::mark(&mut conn, &details).await?;
    drop(conn);

    let mut summary = match request.size {
        None => small::load(pool).await?,
        Some(size) => scaled::load(pool, size).await?,
    };
    backfill_snapshots(pool).await?;
    let mut conn = pool.acquire().await?;
    let [_, open, fixed, reopened, accepted] = db::demo::finding_counts(&mut conn).await?;
    summary.open = open;
    summary.fixed = fixed;
    summary.reopened = reopened;
    summary.accepted = accepted;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(Outcome::Loaded(summary))
}

/// Rolls the history just written up into daily snapshots, so that the overview draws its
/// trends at once rather than after the first run of the rollup job.
async fn backfill_snapshots(pool: &PgPool) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await?;
    let policy = db::settings::sla_policy(&mut conn).await?;
    let started = Instant::now();
    let rows = db::snapshots::backfill(&mut conn, &policy).await?;
    tracing::info!(
        rows,
        seconds = format!("{:.1}", started.elapsed().as_secs_f64()),
        "daily snapshots of the demo history written"
    );
    Ok(())
}

/// A source with a token whose secret nobody keeps: demo reports are attributed like real ones
/// (the token's name ends in "(demo)", which [`db::demo::holding`] relies on).
async fn demo_identity(
    pool: &PgPool,
    source: &str,
    cluster_id: Option<i64>,
) -> anyhow::Result<IngestIdentity> {
    let mut tx = pool.begin().await?;
    let source_id = db::tokens::ensure_source(&mut tx, source, cluster_id).await?;
    let secret = TokenSecret::generate()?;
    let token_id = db::tokens::create(
        &mut tx,
        &db::tokens::NewToken {
            name: &format!("{source} (demo)"),
            hash: &secret.hash(),
            prefix: secret.display_prefix(),
            scopes: &["ingest"],
            source_id: Some(source_id),
            cluster_id,
            created_by: None,
            expires_in_days: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(IngestIdentity {
        token_id,
        source_id,
        source: source.to_owned(),
        cluster_id,
        scopes: vec!["ingest".to_owned()],
    })
}

/// A digest for an image of the demo, derived from its reference.
fn digest_of(reference: &str) -> String {
    format!(
        "sha256:{}",
        hex::encode(Sha256::digest(reference.as_bytes()))
    )
}
