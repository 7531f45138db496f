//! The read model of the finding page: one finding by its key, within the viewer's scope, with
//! its catalogue entry, its evidence per scanner scope, the other open findings of its
//! vulnerability, its owner and its history (status changes, decisions with their review,
//! assignments, comments). Read only; decisions are written by [`super::findings`].
//!
//! Every query goes by a key or an index: the finding by its primary key, observations by the
//! primary key's prefix `(cluster_id, finding_id)`, events and decisions by their
//! `(cluster_id, finding_id)` indexes, the catalogue and intel by id, and the other findings of
//! the vulnerability by `finding_vulnerability_idx`, limited (images and findings per image)
//! with the totals counted in the same pass.
//!
//! Visibility is the rule of [`crate::db`]: a finding of one of the viewer's clusters, or a
//! fleet-level finding on an image one of them runs. A finding the viewer may not see is
//! `None`, exactly as one that does not exist.

use app::model::{
    CatalogueEntry, EpssScore, Evidence, FindingDetail, HistoryEntry, HistoryEvent, ImageGroup,
    KevEntry, Owner, Place, ReportRef, Severity, SlaClock, SlaPolicy, WhereElse,
};
use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;

use crate::domain::risk::Environment;
use crate::domain::risk_explain::{self, Facts};

/// The most characters of a scanner's evidence shown.
const EVIDENCE_CHARS: usize = 4000;

/// The finding `(cluster_id, id)` as its page shows it, or `None` when it does not exist or
/// `scope` (the viewer's clusters, `None`: every cluster) does not let the viewer see it.
/// `now` decides whether it is overdue.
#[tracing::instrument(skip(conn, scope), err)]
pub async fn load(
    conn: &mut PgConnection,
    scope: Option<&[i64]>,
    cluster_id: i64,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Option<FindingDetail>, sqlx::Error> {
    let Some(f) = sqlx::query!(
        r#"select f.cluster_id, f.id, f.kind, f.status, f.severity, f.title, f.vulnerability_id,
                  f.rule_id, f.resource, f.fixed_version, f.first_seen, f.status_changed_at,
                  f.fixed_at, f.risk_score, f.risk_factors::jsonb as "risk_factors!",
                  c.name as "cluster?", c.environment as "environment?",
                  c.criticality as "criticality?",
                  i.repository || coalesce(':' || i.tag, '') as image, i.digest as "digest?",
                  n.name || '/' || w.kind || '/' || w.name as workload,
                  co.name || ' ' || co.version as package,
                  (select max(s.last_seen_at) from observation o
                   join scan_scope s on s.id = o.scope_id
                   where o.cluster_id = f.cluster_id and o.finding_id = f.id and o.active
                     and ($3::bigint[] is null or s.cluster_id is null
                          or s.cluster_id = any($3))) as last_seen,
                  v.cvss_score as "cvss_score?",
                  k.date_added as "kev_added?", e.score as "epss?"
           from finding f
           left join cluster c on c.id = f.cluster_id
           left join image i on i.id = f.image_id
           left join workload w on w.cluster_id = f.cluster_id and w.id = f.workload_id
           left join namespace n on n.cluster_id = w.cluster_id and n.id = w.namespace_id
           left join component co on co.id = f.component_id
           left join vulnerability v on v.id = f.vulnerability_id
           left join intel_kev k on k.cve_id = f.vulnerability_id
           left join intel_epss e on e.cve_id = f.vulnerability_id
           where f.cluster_id = $1 and f.id = $2
             and ($3::bigint[] is null
                  or f.cluster_id = any($3)
                  or (f.cluster_id = 0 and exists (
                        select 1 from cluster_image ci
                        where ci.image_id = f.image_id and ci.cluster_id = any($3))))"#,
        cluster_id,
        id,
        scope as Option<&[i64]>
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };

    let severity = Severity::from_i16(f.severity);
    let weights = super::risk::weights(&mut *conn).await?;
    let facts = Facts {
        severity,
        cvss_score: f.cvss_score,
        kev_added: f.kev_added,
        epss: f.epss,
        fixed_version: f.fixed_version.as_deref(),
        environment: if f.cluster_id > 0 {
            f.environment
                .as_deref()
                .map_or(Environment::Unknown, Environment::parse)
        } else {
            Environment::Unknown
        },
        criticality: if f.cluster_id > 0 {
            f.criticality.unwrap_or(0)
        } else {
            0
        },
    };
    let risk = risk_explain::explain(&f.risk_factors, f.risk_score, &facts, &weights);
    let sla = if matches!(f.status.as_str(), "open" | "reopened") {
        let policy = super::settings::sla_policy(&mut *conn).await?;
        Some(sla_clock(
            &policy,
            severity,
            f.kev_added.is_some(),
            f.status_changed_at,
            now,
        ))
    } else {
        None
    };
    let vulnerability = match &f.vulnerability_id {
        Some(vid) => catalogue(&mut *conn, vid).await?,
        None => None,
    };
    let evidence = evidence(&mut *conn, scope, f.cluster_id, f.id).await?;
    let where_else = match (&f.vulnerability_id, f.kind.as_str()) {
        (Some(vid), "vulnerability") => {
            Some(where_else(&mut *conn, scope, vid, f.cluster_id, f.id).await?)
        }
        _ => None,
    };
    let owner = owner(&mut *conn, f.cluster_id, f.id).await?;
    let mut history = history(&mut *conn, f.cluster_id, f.id, FindingDetail::HISTORY_LIMIT).await?;
    let history_truncated = history.len() > FindingDetail::HISTORY_LIMIT;
    history.truncate(FindingDetail::HISTORY_LIMIT);

    Ok(Some(FindingDetail {
        cluster_id: f.cluster_id,
        id: f.id,
        title: f.title,
        severity,
        status: f.status,
        kind: f.kind,
        cluster: f.cluster.filter(|_| f.cluster_id > 0),
        vulnerability_id: f.vulnerability_id,
        rule_id: f.rule_id,
        package: f.package,
        image: f.image,
        image_digest: f.digest,
        workload: f.workload,
        resource: f.resource,
        first_seen: f.first_seen,
        last_seen: f.last_seen,
        status_changed_at: f.status_changed_at,
        fixed_at: f.fixed_at,
        sla,
        fixed_version: f.fixed_version,
        risk,
        vulnerability,
        evidence,
        where_else,
        history,
        history_truncated,
        can_decide: false,
        owner,
        assignees: Vec::new(),
    }))
}

/// The SLA clock of an open finding: the policy's days for its severity (the critical clock in
/// KEV) from when it (re)opened; overdue when due by the end of `now`'s day (UTC), as the
/// findings list and the daily rollup count it.
pub fn sla_clock(
    policy: &SlaPolicy,
    severity: Severity,
    kev: bool,
    started_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> SlaClock {
    let days = policy.days_for(severity, kev);
    let due_at = started_at + Duration::days(i64::from(days));
    let end_of_today = (now.date_naive() + Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now);
    SlaClock {
        days,
        kev_clock: kev && policy.days_for(severity, false) != days,
        started_at,
        due_at,
        overdue: due_at < end_of_today,
    }
}

/// A vulnerability's catalogue entry with its KEV and EPSS entries.
async fn catalogue(
    conn: &mut PgConnection,
    id: &str,
) -> Result<Option<CatalogueEntry>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select v.id, v.aliases, v.title, v.description, v.cvss_vector, v.cvss_score, v.cwe,
                  v.published_at, v.reference_urls,
                  k.date_added as "kev_added?", k.due_date as "kev_due?",
                  k.name as "kev_name?", k.ransomware_use as "kev_ransomware?",
                  e.score as "epss?", e.percentile as "epss_percentile?",
                  e.score_date as "epss_date?"
           from vulnerability v
           left join intel_kev k on k.cve_id = v.id
           left join intel_epss e on e.cve_id = v.id
           where v.id = $1"#,
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| CatalogueEntry {
        cvss_version: r.cvss_vector.as_deref().and_then(cvss_version),
        id: r.id,
        aliases: r.aliases,
        title: r.title,
        description: r.description,
        cvss_vector: r.cvss_vector,
        cvss_score: r.cvss_score,
        cwe: r.cwe,
        published_at: r.published_at,
        references: r.reference_urls,
        kev: r.kev_added.map(|date_added| KevEntry {
            date_added,
            due_date: r.kev_due,
            name: r.kev_name,
            ransomware_use: r.kev_ransomware,
        }),
        epss: match (r.epss, r.epss_percentile) {
            (Some(score), Some(percentile)) => Some(EpssScore {
                score,
                percentile,
                date: r.epss_date,
            }),
            _ => None,
        },
    }))
}

/// The CVSS version of a vector: "3.1", "3.0", "4.0" from its prefix, "2.0" for a valid
/// vector without one.
pub fn cvss_version(vector: &str) -> Option<String> {
    let scored = crate::domain::cvss::score(vector)?;
    let prefixed = scored
        .vector
        .strip_prefix("CVSS:")
        .and_then(|rest| rest.split('/').next())
        .map(str::to_owned);
    Some(prefixed.unwrap_or_else(|| format!("{}.0", scored.version)))
}

/// Each scanner scope's observation of the finding, still-active first. Scopes of clusters
/// the viewer may not see are left out (a fleet-level finding is observed by fleet-level
/// scopes; this keeps it so whatever the data).
async fn evidence(
    conn: &mut PgConnection,
    scope: Option<&[i64]>,
    cluster_id: i64,
    id: i64,
) -> Result<Vec<Evidence>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select src.name as source, s.scope, o.severity, o.first_seen, o.active, o.gone_at,
                  s.last_seen_at, o.details::text as "details!",
                  o.details->>'fixed_versions' as fixed_versions,
                  r1.id as "first_id?", r1.received_at as "first_at?",
                  r1.format as "first_format?",
                  r1.scanner || coalesce(' ' || r1.scanner_version, '') as first_scanner,
                  r2.id as "latest_id?", r2.received_at as "latest_at?",
                  r2.format as "latest_format?",
                  r2.scanner || coalesce(' ' || r2.scanner_version, '') as latest_scanner
           from observation o
           join scan_scope s on s.id = o.scope_id
           join source src on src.id = s.source_id
           left join report r1 on r1.id = o.first_report_id
           left join report r2 on r2.id = case when o.active then s.last_report_id
                                               else o.changed_report_id end
           where o.cluster_id = $1 and o.finding_id = $2
             and ($3::bigint[] is null or s.cluster_id is null or s.cluster_id = any($3))
           order by o.active desc, s.last_seen_at desc, src.name, s.scope
           limit 100"#,
        cluster_id,
        id,
        scope as Option<&[i64]>
    )
    .fetch_all(conn)
    .await?;
    let report = |id: Option<i64>,
                  at: Option<DateTime<Utc>>,
                  format: Option<String>,
                  scanner: Option<String>| {
        Some(ReportRef {
            id: id?,
            received_at: at?,
            format: format?,
            scanner,
        })
    };
    Ok(rows
        .into_iter()
        .map(|r| Evidence {
            source: r.source,
            scope: r.scope,
            severity: Severity::from_i16(r.severity),
            first_seen: r.first_seen,
            last_seen: r.active.then_some(r.last_seen_at),
            active: r.active,
            gone_at: r.gone_at,
            first_report: report(r.first_id, r.first_at, r.first_format, r.first_scanner),
            latest_report: report(r.latest_id, r.latest_at, r.latest_format, r.latest_scanner),
            fixed_versions: r.fixed_versions.filter(|v| !v.trim().is_empty()),
            details: cut(&r.details, EVIDENCE_CHARS),
        })
        .collect())
}

/// At most `n` characters of `text`, "…" marking a cut.
fn cut(text: &str, n: usize) -> String {
    match text.char_indices().nth(n) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// The other open findings of vulnerability `vid` the viewer may see, grouped by image: the
/// riskiest images ([`WhereElse::IMAGE_LIMIT`]) with their riskiest findings
/// ([`WhereElse::PLACE_LIMIT`] each), and how many findings and images there are in all.
async fn where_else(
    conn: &mut PgConnection,
    scope: Option<&[i64]>,
    vid: &str,
    cluster_id: i64,
    id: i64,
) -> Result<WhereElse, sqlx::Error> {
    let rows = sqlx::query!(
        r#"with hits as materialized (
               -- from finding_open_vulnerability_idx alone (an index-only scan): the key,
               -- the image and the risk of every open finding of the vulnerability
               select f.cluster_id, f.id, f.image_id, f.risk_score
               from finding f
               where f.vulnerability_id = $1 and f.status in ('open', 'reopened')
                 and not (f.cluster_id = $2 and f.id = $3)
                 and ($4::bigint[] is null
                      or f.cluster_id = any($4)
                      or (f.cluster_id = 0 and exists (
                            select 1 from cluster_image ci
                            where ci.image_id = f.image_id and ci.cluster_id = any($4))))
           ), images as (
               select h.image_id, max(h.risk_score) as risk_max, count(*) as findings
               from hits h group by h.image_id
           ), top_images as (
               select * from images
               order by risk_max desc nulls last, findings desc, image_id nulls last
               limit $5
           ), places as (
               select * from (
                   select h.*, t.risk_max, t.findings,
                          row_number() over (partition by h.image_id
                                             order by h.risk_score desc nulls last,
                                                      h.cluster_id, h.id) as rank
                   from hits h
                   -- a hash join: `is not distinct from` would compare every pair
                   join top_images t on coalesce(t.image_id, 0) = coalesce(h.image_id, 0)
               ) ranked
               where rank <= $6
           )
           select p.cluster_id as "cluster_id!", p.id as "id!", p.image_id,
                  p.risk_score, f.severity, p.risk_max,
                  p.findings as "image_findings!",
                  i.repository || coalesce(':' || i.tag, '') as image,
                  c.name as "cluster?",
                  n.name || '/' || w.kind || '/' || w.name as workload,
                  (select count(*) from hits) as "total!",
                  (select count(*) from images) as "images!"
           from places p
           join finding f on f.cluster_id = p.cluster_id and f.id = p.id
           left join image i on i.id = p.image_id
           left join cluster c on c.id = p.cluster_id and p.cluster_id > 0
           left join workload w on w.cluster_id = f.cluster_id and w.id = f.workload_id
           left join namespace n on n.cluster_id = w.cluster_id and n.id = w.namespace_id
           order by p.risk_max desc nulls last, p.findings desc, p.image_id nulls last,
                    p.rank"#,
        vid,
        cluster_id,
        id,
        scope as Option<&[i64]>,
        WhereElse::IMAGE_LIMIT,
        WhereElse::PLACE_LIMIT
    )
    .fetch_all(conn)
    .await?;
    let mut out = WhereElse {
        findings: rows.first().map_or(0, |r| r.total),
        images: rows.first().map_or(0, |r| r.images),
        groups: Vec::new(),
    };
    let mut current: Option<Option<i64>> = None;
    for r in rows {
        if current != Some(r.image_id) {
            current = Some(r.image_id);
            out.groups.push(ImageGroup {
                image: r.image,
                risk_max: r.risk_max,
                findings: r.image_findings,
                places: Vec::new(),
            });
        }
        if let Some(group) = out.groups.last_mut() {
            group.places.push(Place {
                cluster_id: r.cluster_id,
                finding_id: r.id,
                cluster: r.cluster,
                workload: r.workload,
                risk: r.risk_score,
                severity: Severity::from_i16(r.severity),
            });
        }
    }
    Ok(out)
}

/// The finding's owner: the assignee of its newest assignment in force (`None` when there is
/// none, or when that assignee's account was removed).
async fn owner(
    conn: &mut PgConnection,
    cluster_id: i64,
    id: i64,
) -> Result<Option<Owner>, sqlx::Error> {
    let row = sqlx::query!(
        r#"with newest as (
               select d.assignee_id, d.decided_by, d.created_at
               from finding_decision d
               where d.cluster_id = $1 and d.finding_id = $2 and d.decision = 'assigned'
                 and d.revoked_at is null
               order by d.created_at desc, d.id desc
               limit 1
           )
           select coalesce(nullif(u.display_name, ''), u.email) as "name?",
                  (u.disabled_at is not null) as "disabled?",
                  coalesce(nullif(b.display_name, ''), b.email) as "by?",
                  n.created_at
           from newest n
           left join app_user u on u.id = n.assignee_id
           left join app_user b on b.id = n.decided_by"#,
        cluster_id,
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(|r| {
        Some(Owner {
            name: r.name?,
            disabled: r.disabled.unwrap_or(false),
            by: r.by,
            since: r.created_at,
        })
    }))
}

/// Status changes and decisions (with their review, assignee and comment), newest first:
/// `limit` + 1 at most, so the caller can tell
/// whether there were more.
async fn history(
    conn: &mut PgConnection,
    cluster_id: i64,
    id: i64,
    limit: usize,
) -> Result<Vec<HistoryEntry>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select * from (
               (select e.at as "at!", 0 as "kind!", e.id as "seq!", e.status as "what!",
                       null::text as by_name, null::text as justification,
                       null::timestamptz as expires_at, null::text as approver,
                       null::timestamptz as approved_at, null::timestamptz as revoked_at,
                       null::text as vex_source, null::text as approval,
                       null::text as rejecter, null::timestamptz as rejected_at,
                       null::text as review_note, null::text as assignee
                from finding_event e
                where e.cluster_id = $1 and e.finding_id = $2
                order by e.at desc, e.id desc
                limit $3)
               union all
               (select d.created_at, 1, d.id, d.decision,
                       coalesce(nullif(u.display_name, ''), u.email), d.justification,
                       d.expires_at, coalesce(nullif(a.display_name, ''), a.email),
                       d.approved_at, d.revoked_at, d.vex_source, d.approval,
                       coalesce(nullif(r.display_name, ''), r.email), d.rejected_at,
                       d.review_note, coalesce(nullif(o.display_name, ''), o.email)
                from finding_decision d
                left join app_user u on u.id = d.decided_by
                left join app_user a on a.id = d.approved_by
                left join app_user r on r.id = d.rejected_by
                left join app_user o on o.id = d.assignee_id
                where d.cluster_id = $1 and d.finding_id = $2
                order by d.created_at desc, d.id desc
                limit $3)
           ) h
           order by 1 desc, 2, 3 desc
           limit $3"#,
        cluster_id,
        id,
        i64::try_from(limit + 1).unwrap_or(i64::MAX)
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| HistoryEntry {
            at: r.at,
            event: if r.kind == 0 {
                HistoryEvent::Status { status: r.what }
            } else {
                HistoryEvent::Decision {
                    decision: r.what,
                    by: r.by_name,
                    justification: r.justification.unwrap_or_default(),
                    expires_at: r.expires_at,
                    approved: r.approver.zip(r.approved_at),
                    revoked_at: r.revoked_at,
                    vex_source: r.vex_source,
                    approval: r.approval,
                    rejected: r.rejected_at.map(|at| (r.rejecter, at)),
                    review_note: r.review_note.filter(|n| !n.trim().is_empty()),
                    assignee: r.assignee,
                }
            },
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).single().unwrap()
    }

    #[test]
    fn the_sla_clock_runs_from_the_last_opening_and_kev_gets_the_critical_clock() {
        let policy = SlaPolicy::default();
        let opened = at(2026, 11, 1, 12);
        let high = sla_clock(&policy, Severity::High, false, opened, at(2026, 11, 20, 0));
        assert_eq!(
            (high.days, high.kev_clock, high.overdue),
            (30, false, false)
        );
        assert_eq!(high.due_at, at(2026, 12, 1, 12));
        // due later today counts as overdue today, as the list counts it
        let due_today = sla_clock(&policy, Severity::High, false, opened, at(2026, 12, 1, 1));
        assert!(due_today.overdue);
        let kev = sla_clock(&policy, Severity::Low, true, opened, at(2026, 11, 20, 0));
        assert_eq!((kev.days, kev.kev_clock, kev.overdue), (7, true, true));
        let critical_kev = sla_clock(&policy, Severity::Critical, true, opened, opened);
        assert!(
            !critical_kev.kev_clock,
            "a critical finding has that clock anyway"
        );
    }

    #[test]
    fn cvss_versions_come_from_the_vector() {
        assert_eq!(
            cvss_version("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").as_deref(),
            Some("3.1")
        );
        assert_eq!(
            cvss_version("AV:N/AC:L/Au:N/C:P/I:P/A:P").as_deref(),
            Some("2.0")
        );
        assert_eq!(cvss_version("not a vector"), None);
    }

    #[test]
    fn evidence_is_cut_on_a_character_boundary() {
        assert_eq!(cut("äbc", 2), "äb…");
        assert_eq!(cut("abc", 3), "abc");
    }
}
