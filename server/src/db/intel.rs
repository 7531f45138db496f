//! Threat intelligence tables: CISA KEV and FIRST EPSS. Imports write only what changed and
//! return the CVE ids whose data changed, so that only their findings are rescored.

use sqlx::PgConnection;

use crate::domain::intel::{EpssFile, KevCatalog};

/// Upserts the catalog; returns the CVE ids that are new or changed.
#[tracing::instrument(skip_all, fields(entries = catalog.entries.len()), err)]
pub async fn upsert_kev(
    conn: &mut PgConnection,
    catalog: &KevCatalog,
) -> Result<Vec<String>, sqlx::Error> {
    let e = &catalog.entries;
    let ids: Vec<&str> = e.iter().map(|x| x.cve_id.as_str()).collect();
    let vendors: Vec<Option<&str>> = e.iter().map(|x| x.vendor.as_deref()).collect();
    let products: Vec<Option<&str>> = e.iter().map(|x| x.product.as_deref()).collect();
    let names: Vec<Option<&str>> = e.iter().map(|x| x.name.as_deref()).collect();
    let added: Vec<chrono::NaiveDate> = e.iter().map(|x| x.date_added).collect();
    let due: Vec<Option<chrono::NaiveDate>> = e.iter().map(|x| x.due_date).collect();
    let ransomware: Vec<Option<&str>> = e.iter().map(|x| x.ransomware_use.as_deref()).collect();
    let notes: Vec<Option<&str>> = e.iter().map(|x| x.notes.as_deref()).collect();
    let changed = sqlx::query_scalar!(
        r#"insert into intel_kev as k (cve_id, vendor, product, name, date_added, due_date,
                                       ransomware_use, notes, catalog_version)
           select distinct on (id) id, v, p, n, a, d, r, no, $9
           from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::date[], $6::date[],
                       $7::text[], $8::text[]) as x(id, v, p, n, a, d, r, no)
           order by id
           on conflict (cve_id) do update set
               vendor = excluded.vendor, product = excluded.product, name = excluded.name,
               date_added = excluded.date_added, due_date = excluded.due_date,
               ransomware_use = excluded.ransomware_use, notes = excluded.notes,
               catalog_version = excluded.catalog_version, imported_at = now()
           where (k.date_added, k.due_date, k.ransomware_use)
                 is distinct from (excluded.date_added, excluded.due_date, excluded.ransomware_use)
           returning cve_id"#,
        &ids as &[&str],
        &vendors as &[Option<&str>],
        &products as &[Option<&str>],
        &names as &[Option<&str>],
        &added,
        &due as &[Option<chrono::NaiveDate>],
        &ransomware as &[Option<&str>],
        &notes as &[Option<&str>],
        catalog.version
    )
    .fetch_all(&mut *conn)
    .await?;
    if !changed.is_empty() {
        // KEV is part of the explorer's facet key: recount it (a second at a million findings;
        // the catalogue changes once a day)
        sqlx::query_scalar!("select finding_facet_rebuild()")
            .fetch_one(conn)
            .await?;
    }
    Ok(changed)
}

/// Upserts scores (a daily file has about 250,000 rows, sent as three arrays in one
/// statement); returns the CVE ids whose score changed.
#[tracing::instrument(skip_all, fields(scores = file.scores.len()), err)]
pub async fn upsert_epss(
    conn: &mut PgConnection,
    file: &EpssFile,
) -> Result<Vec<String>, sqlx::Error> {
    let ids: Vec<&str> = file.scores.iter().map(|s| s.cve_id.as_str()).collect();
    let scores: Vec<f32> = file.scores.iter().map(|s| s.score).collect();
    let percentiles: Vec<f32> = file.scores.iter().map(|s| s.percentile).collect();
    sqlx::query_scalar!(
        r#"insert into intel_epss as e (cve_id, score, percentile, score_date)
           select distinct on (id) id, s, p, $4
           from unnest($1::text[], $2::real[], $3::real[]) as x(id, s, p)
           order by id
           on conflict (cve_id) do update set
               score = excluded.score, percentile = excluded.percentile,
               score_date = excluded.score_date, imported_at = now()
           where (e.score, e.percentile) is distinct from (excluded.score, excluded.percentile)
           returning cve_id"#,
        &ids as &[&str],
        &scores,
        &percentiles,
        file.score_date
    )
    .fetch_all(conn)
    .await
}
