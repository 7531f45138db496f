//! The catalogue: vulnerabilities and components, shared by every finding.

use std::collections::HashMap;

use serde_json::json;
use sqlx::PgConnection;

use crate::db::copy::CopyIn;
use crate::domain::component::Component;
use crate::domain::cvss::Scored;
use crate::domain::report::VulnerabilityInfo;
use crate::domain::tenancy::CatalogueWrite;

/// Adds new vulnerabilities and, with [`CatalogueWrite::Merge`], fills in what stored ones
/// lack; with [`CatalogueWrite::AddOnly`] (a cluster-bound sender, see
/// [`crate::domain::tenancy`]) a stored vulnerability is never changed. A row that gains
/// nothing is not rewritten, so re-sending a report leaves the catalogue untouched. The first
/// description of a vulnerability wins; vectors from every source are merged.
#[tracing::instrument(skip_all, fields(vulnerabilities = vulnerabilities.len()), err)]
pub async fn upsert_vulnerabilities(
    conn: &mut PgConnection,
    vulnerabilities: &[VulnerabilityInfo],
    best_cvss: &[Option<Scored>],
    mode: CatalogueWrite,
) -> Result<(), sqlx::Error> {
    if vulnerabilities.is_empty() {
        return Ok(());
    }
    // Read what is on file first: a re-scan mostly brings nothing new, and reading 30,000
    // narrow rows is far cheaper than sending 30,000 documents for the database to compare.
    let ids: Vec<&str> = vulnerabilities.iter().map(|v| v.id.as_str()).collect();
    let known: HashMap<String, Known> = sqlx::query_as!(
        Known,
        r#"select id as "id!", title is not null as "has_title!",
                  description is not null as "has_description!",
                  cvss_vector is not null as "has_cvss!", severity as "severity!",
                  aliases as "aliases!",
                  array(select jsonb_object_keys(cvss)) as "sources!",
                  cardinality(cwe) > 0 as "has_cwe!",
                  cardinality(reference_urls) > 0 as "has_references!",
                  published_at is not null as "has_published!", modified_at
           from vulnerability where id = any($1)"#,
        &ids as &[&str]
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|k| (k.id.clone(), k))
    .collect();
    // New ones go in by COPY; known ones with something to add through the merging upsert.
    let mut fresh: Vec<(&VulnerabilityInfo, &Option<Scored>)> = Vec::new();
    let mut news: Vec<(&VulnerabilityInfo, &Option<Scored>)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (v, best) in vulnerabilities.iter().zip(best_cvss) {
        match known.get(&v.id) {
            None if seen.insert(v.id.as_str()) => fresh.push((v, best)),
            None => news.push((v, best)), // a second record of a new id: merged after the first
            Some(k) if mode == CatalogueWrite::Merge && k.brings_news(v, best.is_some()) => {
                news.push((v, best));
            }
            Some(_) => {}
        }
    }
    // In key order, like every bulk insert here: concurrent reports lock in the same order.
    fresh.sort_unstable_by(|a, b| a.0.id.cmp(&b.0.id));
    insert_fresh(conn, &fresh).await?;
    // In batches: the JSON of 30,000 vulnerabilities with their descriptions is tens of MB,
    // and the server should not hold it (twice, as a tree and as text) next to the report.
    for batch in news.chunks(UPSERT_BATCH) {
        upsert_vulnerability_batch(&mut *conn, batch).await?;
    }
    Ok(())
}

/// Vectors by source as stored in `vulnerability.cvss`: `{"nvd": ["CVSS:3.1/…"], …}`.
fn vectors_by_source(v: &VulnerabilityInfo) -> serde_json::Map<String, serde_json::Value> {
    let mut by_source = serde_json::Map::new();
    for (source, vector) in &v.cvss_vectors {
        let entry = by_source.entry(source.clone()).or_insert_with(|| json!([]));
        if let Some(list) = entry.as_array_mut() {
            list.push(json!(vector));
        }
    }
    by_source
}

/// Vulnerabilities not on file, by COPY. One that a concurrent report created first fails the
/// unique key, and the report is retried ([`crate::db::is_transient`]).
async fn insert_fresh(
    conn: &mut PgConnection,
    fresh: &[(&VulnerabilityInfo, &Option<Scored>)],
) -> Result<(), sqlx::Error> {
    if fresh.is_empty() {
        return Ok(());
    }
    let mut copy = CopyIn::start(
        conn,
        "copy vulnerability (id, aliases, title, description, severity, cvss_vector, cvss_score,
                             cvss, cwe, published_at, modified_at, reference_urls)
         from stdin",
    )
    .await?;
    for &(v, best) in fresh {
        let cvss = serde_json::Value::Object(vectors_by_source(v)).to_string();
        copy.text(Some(&v.id))
            .text_array(v.aliases.iter().map(String::as_str))
            .text(v.title.as_deref())
            .text(v.description.as_deref())
            .int(Some(i64::from(v.severity.as_i16())))
            .text(best.as_ref().map(|b| b.vector.as_str()))
            .text(best.as_ref().map(|b| b.score.to_string()).as_deref())
            .text(Some(&cvss))
            .text_array(v.cwe.iter().map(String::as_str))
            .text(v.published_at.map(|t| t.to_rfc3339()).as_deref())
            .text(v.modified_at.map(|t| t.to_rfc3339()).as_deref())
            .text_array(v.references.iter().map(String::as_str));
        copy.end_row().await?;
    }
    copy.finish().await?;
    Ok(())
}

/// Vulnerabilities per statement in [`upsert_vulnerabilities`].
const UPSERT_BATCH: usize = 2_000;

async fn upsert_vulnerability_batch(
    conn: &mut PgConnection,
    batch: &[(&VulnerabilityInfo, &Option<Scored>)],
) -> Result<(), sqlx::Error> {
    let rows: Vec<serde_json::Value> = batch
        .iter()
        .map(|&(v, best)| {
            let by_source = vectors_by_source(v);
            json!({
                "id": v.id,
                "aliases": v.aliases,
                "title": v.title,
                "description": v.description,
                "severity": v.severity.as_i16(),
                "cvss_vector": best.as_ref().map(|b| &b.vector),
                "cvss_score": best.as_ref().map(|b| b.score),
                "cvss": by_source,
                "cwe": v.cwe,
                "published_at": v.published_at,
                "modified_at": v.modified_at,
                "reference_urls": v.references,
            })
        })
        .collect();
    sqlx::query!(
        r#"insert into vulnerability as v (id, aliases, title, description, severity, cvss_vector,
                                           cvss_score, cvss, cwe, published_at, modified_at,
                                           reference_urls)
           select distinct on (x.id) x.id, coalesce(x.aliases, '{}'), x.title, x.description,
                  coalesce(x.severity, 0), x.cvss_vector, x.cvss_score, coalesce(x.cvss, '{}'),
                  coalesce(x.cwe, '{}'), x.published_at, x.modified_at,
                  coalesce(x.reference_urls, '{}')
           from jsonb_to_recordset($1::jsonb) as x(id text, aliases text[], title text,
                description text, severity smallint, cvss_vector text, cvss_score real,
                cvss jsonb, cwe text[], published_at timestamptz, modified_at timestamptz,
                reference_urls text[])
           order by x.id
           on conflict (id) do update set
               aliases = array(select distinct unnest(v.aliases || excluded.aliases)),
               title = coalesce(v.title, excluded.title),
               description = coalesce(v.description, excluded.description),
               severity = greatest(v.severity, excluded.severity),
               cvss_vector = coalesce(v.cvss_vector, excluded.cvss_vector),
               cvss_score = coalesce(v.cvss_score, excluded.cvss_score),
               cvss = excluded.cvss || v.cvss,
               cwe = case when cardinality(v.cwe) = 0 then excluded.cwe else v.cwe end,
               published_at = coalesce(v.published_at, excluded.published_at),
               modified_at = greatest(v.modified_at, excluded.modified_at),
               reference_urls = case when cardinality(v.reference_urls) = 0
                                     then excluded.reference_urls else v.reference_urls end,
               updated_at = now()
           where not (excluded.aliases <@ v.aliases)
              or (v.title is null and excluded.title is not null)
              or (v.description is null and excluded.description is not null)
              or excluded.severity > v.severity
              or (v.cvss_vector is null and excluded.cvss_vector is not null)
              or not (excluded.cvss <@ v.cvss)
              or (cardinality(v.cwe) = 0 and cardinality(excluded.cwe) > 0)
              or (v.published_at is null and excluded.published_at is not null)
              or excluded.modified_at > v.modified_at
              or (cardinality(v.reference_urls) = 0 and cardinality(excluded.reference_urls) > 0)"#,
        serde_json::Value::Array(rows)
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// What is on file about a vulnerability, enough to tell whether a report adds to it.
struct Known {
    id: String,
    has_title: bool,
    has_description: bool,
    has_cvss: bool,
    severity: i16,
    aliases: Vec<String>,
    sources: Vec<String>,
    has_cwe: bool,
    has_references: bool,
    has_published: bool,
    modified_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Known {
    /// Whether `v` carries something the stored row lacks (the upsert fills gaps only).
    fn brings_news(&self, v: &VulnerabilityInfo, has_best_cvss: bool) -> bool {
        (!self.has_title && v.title.is_some())
            || (!self.has_description && v.description.is_some())
            || (!self.has_cvss && has_best_cvss)
            || v.severity.as_i16() > self.severity
            || v.aliases.iter().any(|a| !self.aliases.contains(a))
            || v.cvss_vectors
                .iter()
                .any(|(s, _)| !self.sources.contains(s))
            || (!self.has_cwe && !v.cwe.is_empty())
            || (!self.has_references && !v.references.is_empty())
            || (!self.has_published && v.published_at.is_some())
            || matches!((v.modified_at, self.modified_at), (Some(new), Some(old)) if new > old)
            || (self.modified_at.is_none() && v.modified_at.is_some())
    }
}

/// Creates the components that are new; returns the ids of all of them, in the order given.
#[tracing::instrument(skip_all, fields(components = components.len()), err)]
pub async fn upsert_components(
    conn: &mut PgConnection,
    components: &[Component],
) -> Result<Vec<i64>, sqlx::Error> {
    if components.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = components.iter().map(Component::key).collect();
    // Read what is on file first: a re-scan brings few new components, and a lookup is far
    // cheaper than an insert that conflicts.
    let mut by_key: HashMap<String, i64> = component_ids(&mut *conn, &keys).await?;
    let mut missing: Vec<&Component> = Vec::new();
    let mut missing_keys: Vec<&str> = Vec::new();
    for (c, key) in components.iter().zip(&keys) {
        if !by_key.contains_key(key) {
            missing.push(c);
            missing_keys.push(key);
        }
    }
    if !missing.is_empty() {
        let ecosystems: Vec<&str> = missing.iter().map(|c| c.ecosystem.as_str()).collect();
        let names: Vec<&str> = missing.iter().map(|c| c.name.as_str()).collect();
        let versions: Vec<&str> = missing.iter().map(|c| c.version.as_str()).collect();
        let purls: Vec<Option<&str>> = missing.iter().map(|c| c.purl.as_deref()).collect();
        let created = sqlx::query!(
            r#"insert into component (key, ecosystem, name, version, purl)
               select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
                   as t(key, ecosystem, name, version, purl)
               order by key
               on conflict (key) do nothing
               returning id, key"#,
            &missing_keys as &[&str],
            &ecosystems as &[&str],
            &names as &[&str],
            &versions as &[&str],
            &purls as &[Option<&str>],
        )
        .fetch_all(&mut *conn)
        .await?;
        by_key.extend(created.into_iter().map(|r| (r.key, r.id)));
        // Created by a concurrent report meanwhile: on file now.
        let raced: Vec<String> = missing_keys
            .iter()
            .filter(|k| !by_key.contains_key(**k))
            .map(|k| (*k).to_owned())
            .collect();
        if !raced.is_empty() {
            by_key.extend(component_ids(conn, &raced).await?);
        }
    }
    Ok(keys
        .iter()
        .map(|k| by_key.get(k).copied().unwrap_or_default())
        .collect())
}

/// The ids of the components on file among `keys`.
async fn component_ids(
    conn: &mut PgConnection,
    keys: &[String],
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let rows = sqlx::query!("select id, key from component where key = any($1)", keys)
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().map(|r| (r.key, r.id)).collect())
}

/// A vulnerability's CVSS vector and base score as on file.
pub type CatalogueCvss = (Option<String>, Option<f32>);

/// The CVSS vector and score on file for each of these vulnerabilities the catalogue knows
/// (both `None` when it knows the vulnerability but no vector).
#[tracing::instrument(skip_all, fields(ids = ids.len()), err)]
pub async fn cvss_of(
    conn: &mut PgConnection,
    ids: &[String],
) -> Result<HashMap<String, CatalogueCvss>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query!(
        "select id, cvss_vector, cvss_score from vulnerability
         where id = any($1)",
        ids
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, (r.cvss_vector, r.cvss_score)))
        .collect())
}
