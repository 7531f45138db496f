//! The UI's [`Store`] over PostgreSQL: each method borrows a connection and delegates to
//! [`crate::db`]. Database failures are logged here with a reference and reach the page as
//! [`AppError::Internal`] or [`AppError::Unavailable`], never with their details.

use app::error::AppError;
use app::model::{
    ApprovalPolicy, Assignee, AssigneesFor, AuditFilter, AuditPage, DecisionAction,
    DecisionOutcome, DecisionTarget, Estate, EstateFilter, EventList, FindingDetail, FindingKey,
    FindingList, ImageDetail, ListFilter, Overview, OverviewFilter, PendingApproval, Posture, Role,
    SavedView, SavedViews, SlaPolicy, TokenSummary, ViewDraft, Viewer, WhereRunning,
};
use app::store::Store;
use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::pool::PoolConnection;

use crate::db;

/// The store the server provides to every page render and server function.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// A store over `pool`.
    pub fn new(pool: PgPool) -> Self {
        PgStore { pool }
    }

    async fn conn(&self) -> Result<PoolConnection<sqlx::Postgres>, AppError> {
        self.pool.acquire().await.map_err(to_app_error)
    }
}

/// Logs a database error once and turns it into what a page may show.
pub fn to_app_error(error: sqlx::Error) -> AppError {
    match error {
        error if crate::error::database_unavailable(&error) => {
            tracing::warn!(%error, "database unavailable");
            AppError::Unavailable
        }
        error => {
            // the request's id: the page shows it, the access log and this line carry it
            let reference = crate::telemetry::request_id().unwrap_or_else(|| {
                let mut bytes = [0u8; 6];
                match getrandom::fill(&mut bytes) {
                    Ok(()) => hex::encode(bytes),
                    Err(_) => "unknown".to_owned(),
                }
            });
            tracing::error!(%error, reference, "database error while rendering");
            AppError::Internal(reference)
        }
    }
}

/// A list filter checked for a page: an unknown (or invisible) cluster is "not found", a bad
/// severity a bad request.
async fn list_query(
    conn: &mut sqlx::PgConnection,
    scope: Option<&[i64]>,
    filter: &ListFilter,
) -> Result<db::lists::ListQuery, AppError> {
    match db::lists::lookup(conn, scope, filter)
        .await
        .map_err(to_app_error)?
    {
        db::lists::Lookup::Ready(q) => Ok(q),
        db::lists::Lookup::NoSuchCluster(name) => {
            Err(AppError::NotFound(format!("Cluster '{name}'")))
        }
        db::lists::Lookup::BadSeverity(detail) | db::lists::Lookup::BadValue(detail) => {
            Err(AppError::BadRequest(detail))
        }
    }
}

/// An explorer filter checked for a page: an unknown (or invisible) cluster is "not found",
/// any other value the filter does not take a bad request.
pub async fn explorer_criteria(
    conn: &mut sqlx::PgConnection,
    scope: Option<&[i64]>,
    filter: &ListFilter,
) -> Result<db::explorer::Criteria, AppError> {
    match db::explorer::check(conn, scope, filter)
        .await
        .map_err(to_app_error)?
    {
        Ok(criteria) => Ok(criteria),
        Err(db::explorer::Refusal::NoSuchCluster(name)) => {
            Err(AppError::NotFound(format!("Cluster '{name}'")))
        }
        Err(db::explorer::Refusal::BadValue(detail)) => Err(AppError::BadRequest(detail)),
    }
}

/// The overview of the clusters `filter` selects among `scope` (`None`: every cluster), for the
/// page and for `GET /api/v1/overview`.
pub async fn build_overview(
    conn: &mut sqlx::PgConnection,
    scope: Option<&[i64]>,
    filter: OverviewFilter,
) -> Result<Overview, AppError> {
    use crate::domain::posture;
    // a blank field (as a GET form sends an untouched select) is no filter
    let blank = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let filter = OverviewFilter {
        provider: blank(filter.provider),
        environment: blank(filter.environment),
        cluster: blank(filter.cluster),
        days: filter.days,
    };
    let selection = match db::overview::select(&mut *conn, scope, &filter)
        .await
        .map_err(to_app_error)?
    {
        Ok(selection) => selection,
        Err(db::overview::Refusal::NoSuchCluster(name)) => {
            return Err(AppError::NotFound(format!("Cluster '{name}'")));
        }
        Err(db::overview::Refusal::BadValue(detail)) => {
            return Err(AppError::BadRequest(detail));
        }
    };
    let ids = &selection.ids;
    let policy = db::settings::sla_policy(&mut *conn)
        .await
        .map_err(to_app_error)?;
    let options = db::overview::options(&mut *conn, scope)
        .await
        .map_err(to_app_error)?;
    let as_of = db::overview::latest_day(&mut *conn)
        .await
        .map_err(to_app_error)?;
    let mut overview = Overview {
        includes_fleet_level: selection.includes_fleet_level(),
        as_of,
        policy,
        options,
        ..Overview::default()
    };
    if let Some(as_of) = as_of {
        let week_ago = as_of - chrono::Duration::days(7);
        let month_ago = as_of - chrono::Duration::days(30);
        let rows =
            db::overview::daily_totals(&mut *conn, ids, posture::first_day_needed(as_of), as_of)
                .await
                .map_err(to_app_error)?;
        overview.open = posture::open_on(&rows, as_of);
        overview.open_7d_ago = posture::open_on(&rows, week_ago);
        overview.open_30d_ago = posture::open_on(&rows, month_ago);
        overview.overdue = posture::overdue_on(&rows, as_of);
        overview.trend = posture::trend(&rows, as_of);
        overview.weekly = posture::weekly(&rows, as_of);
        overview.mttr = posture::mttr(&rows, as_of, filter.period(), &policy);
        let kinds = db::overview::open_by_kind(&mut *conn, ids, &[as_of, week_ago, month_ago])
            .await
            .map_err(to_app_error)?;
        overview.by_kind = posture::by_kind(&kinds, as_of);
    }
    overview.top_risks = db::overview::top_risks(&mut *conn, ids, 10)
        .await
        .map_err(to_app_error)?;
    overview.worst_clusters = db::overview::worst_clusters(&mut *conn, ids, 10)
        .await
        .map_err(to_app_error)?;
    overview.worst_workloads = db::overview::worst_workloads(&mut *conn, ids, 10)
        .await
        .map_err(to_app_error)?;
    overview.coverage = db::overview::coverage(
        &mut *conn,
        ids,
        policy.stale_after_hours,
        chrono::Utc::now(),
    )
    .await
    .map_err(to_app_error)?;
    let fresh = overview.coverage.iter().filter(|c| !c.stale).count();
    overview.posture = Posture::compute(
        &overview.open,
        &overview.overdue,
        fresh,
        overview.coverage.len(),
    );
    overview.filter = OverviewFilter {
        days: Some(filter.period()),
        ..filter
    };
    Ok(overview)
}

/// The findings `target` names that `viewer` may decide on, and how many fleet-level findings
/// "all matching" left out (only viewers of every cluster decide on those). Refuses: a single
/// finding they may not see (404) or may see but not decide on (400), a selection naming any
/// such key (400), "all matching" whose count is no longer the one the page showed (409).
/// The most findings one "all matching" decision covers.
const MAX_BULK: i64 = 250_000;

async fn decision_keys(
    conn: &mut sqlx::PgConnection,
    viewer: &Viewer,
    target: &DecisionTarget,
) -> Result<(Vec<FindingKey>, u64), AppError> {
    let scope = viewer.clusters.as_deref();
    match target {
        DecisionTarget::One(key) => {
            let access = db::decisions::access(&mut *conn, scope, &[*key])
                .await
                .map_err(to_app_error)?;
            match access.first() {
                Some(a) if a.decidable => Ok((vec![*key], 0)),
                Some(a) if a.visible => Err(AppError::BadRequest(
                    "This finding is fleet-level (an image scanned outside a cluster, shared by \
                     every cluster that runs it): only users who see every cluster decide on it."
                        .to_owned(),
                )),
                _ => Err(AppError::NotFound(format!("Finding {}:{}", key.0, key.1))),
            }
        }
        DecisionTarget::Selection(keys) => {
            if keys.is_empty() || keys.len() > app::model::MAX_SELECTION {
                return Err(AppError::BadRequest(format!(
                    "A selection holds 1 to {} findings.",
                    app::model::MAX_SELECTION
                )));
            }
            let access = db::decisions::access(&mut *conn, scope, keys)
                .await
                .map_err(to_app_error)?;
            let allowed: std::collections::HashSet<FindingKey> = access
                .iter()
                .filter(|a| a.decidable)
                .map(|a| (a.cluster_id, a.id))
                .collect();
            let refused: Vec<String> = keys
                .iter()
                .filter(|k| !allowed.contains(k))
                .map(|(c, f)| format!("{c}:{f}"))
                .collect();
            if !refused.is_empty() {
                let shown: Vec<&str> = refused.iter().take(10).map(String::as_str).collect();
                return Err(AppError::BadRequest(format!(
                    "{} of the selected findings are not yours to decide on (unknown, in a \
                     cluster outside your view, or fleet-level): {}{}. Nothing was changed.",
                    refused.len(),
                    shown.join(", "),
                    if refused.len() > shown.len() {
                        ", …"
                    } else {
                        ""
                    }
                )));
            }
            Ok((keys.clone(), 0))
        }
        DecisionTarget::AllMatching { filter, count } => {
            // exactly the set the explorer counts and lists
            let criteria = explorer_criteria(&mut *conn, scope, filter).await?;
            let mut keys = db::explorer::matching_keys(&mut *conn, &criteria, MAX_BULK)
                .await
                .map_err(to_app_error)?;
            if keys.len() as i64 > MAX_BULK {
                return Err(AppError::BadRequest(format!(
                    "One decision covers at most {MAX_BULK} findings: narrow the filter."
                )));
            }
            let matching = keys.len() as i64;
            if matching != *count {
                return Err(AppError::Conflict(format!(
                    "The filter now matches {matching} findings, not the {count} the page \
                     showed: nothing was changed. Reload the list and decide again."
                )));
            }
            let before = keys.len();
            if scope.is_some() {
                keys.retain(|(cluster, _)| *cluster != 0);
            }
            let skipped = (before - keys.len()) as u64;
            Ok((keys, skipped))
        }
    }
}

/// Records `action` for `keys` (already checked against the viewer's scope).
async fn apply_decision(
    conn: &mut sqlx::PgConnection,
    viewer: &Viewer,
    keys: &[FindingKey],
    action: &DecisionAction,
) -> Result<db::decisions::Applied, AppError> {
    let by = viewer.user_id;
    let applied = match action {
        DecisionAction::Accept {
            justification,
            expires,
        } => {
            let policy = db::settings::approval_policy(&mut *conn)
                .await
                .map_err(to_app_error)?;
            // through the end of the named day (UTC)
            let expires_at = expires
                .succ_opt()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc())
                .ok_or_else(|| AppError::BadRequest("The expiry is out of range.".to_owned()))?;
            db::decisions::accept(
                &mut *conn,
                keys,
                justification,
                expires_at,
                by,
                policy.by_severity(),
            )
            .await
        }
        DecisionAction::FalsePositive { justification } => {
            db::decisions::false_positive(&mut *conn, keys, justification, by).await
        }
        DecisionAction::Reopen { justification } => {
            db::decisions::reopen(&mut *conn, keys, justification, by).await
        }
        DecisionAction::Assign { assignee_id } => {
            // the owner picker's rule (db::assignees): an active user of a triage role who
            // sees every one of the findings. One answer for every refusal, so that a limited
            // analyst cannot tell another cluster's users from ids that name nobody.
            let refused = || {
                AppError::BadRequest(format!(
                    "User {assignee_id} may not own these findings: choose an administrator, \
                     manager or analyst who sees all of them. Nothing was changed."
                ))
            };
            let role = db::users::find_by_id(&mut *conn, *assignee_id)
                .await
                .map_err(to_app_error)?
                .and_then(|user| app::model::Role::parse(&user.role));
            if !role.is_some_and(app::model::Role::can_triage) {
                return Err(refused());
            }
            match db::decisions::assignee_blind_spots(&mut *conn, *assignee_id, keys)
                .await
                .map_err(to_app_error)?
            {
                Some(0) => {}
                None | Some(_) => return Err(refused()),
            }
            db::decisions::assign(&mut *conn, keys, *assignee_id, by).await
        }
        DecisionAction::Comment { text } => {
            db::decisions::comment(&mut *conn, keys, text, by).await
        }
    };
    applied.map_err(to_app_error)
}

/// Queues the snapshot refresh of `clusters`, whose findings changed status (one waiting job
/// per cluster; the worker picks it up after the commit).
async fn enqueue_snapshots(
    conn: &mut sqlx::PgConnection,
    clusters: &[i64],
) -> Result<(), AppError> {
    for cluster_id in clusters {
        db::jobs::enqueue(
            &mut *conn,
            crate::jobs::SNAPSHOT_CLUSTER,
            &serde_json::json!({ "cluster_id": cluster_id }),
            chrono::Utc::now(),
        )
        .await
        .map_err(to_app_error)?;
    }
    Ok(())
}

/// The cluster an audit entry about `keys` concerns: theirs when they share one real cluster,
/// else none (fleet-level).
fn single_cluster(keys: &[FindingKey]) -> Option<i64> {
    let first = keys.first()?.0;
    (first != 0 && keys.iter().all(|(c, _)| *c == first)).then_some(first)
}

/// The audit target of a decision: one finding, a selection, or all matching.
fn audit_target(target: &DecisionTarget) -> (&'static str, String) {
    match target {
        DecisionTarget::One((c, f)) => ("finding", format!("{c}:{f}")),
        DecisionTarget::Selection(keys) => ("findings", format!("{} selected", keys.len())),
        DecisionTarget::AllMatching { count, .. } => ("findings", format!("all {count} matching")),
    }
}

/// What a decision's audit entry records: its target (the keys, or the filter and count), its
/// fields and what it changed.
fn decision_details(
    target: &DecisionTarget,
    action: &DecisionAction,
    outcome: &DecisionOutcome,
) -> serde_json::Value {
    let key = |(c, f): &FindingKey| format!("{c}:{f}");
    let target = match target {
        DecisionTarget::One(k) => serde_json::json!({ "finding": key(k) }),
        DecisionTarget::Selection(keys) => {
            serde_json::json!({ "selection": keys.iter().map(key).collect::<Vec<_>>() })
        }
        DecisionTarget::AllMatching { filter, count } => {
            serde_json::json!({ "filter": filter, "count": count })
        }
    };
    let fields = match action {
        DecisionAction::Accept {
            justification,
            expires,
        } => serde_json::json!({ "justification": justification, "expires": expires }),
        DecisionAction::FalsePositive { justification }
        | DecisionAction::Reopen { justification } => {
            serde_json::json!({ "justification": justification })
        }
        DecisionAction::Assign { assignee_id } => serde_json::json!({ "assignee": assignee_id }),
        DecisionAction::Comment { text } => serde_json::json!({ "comment": text }),
    };
    serde_json::json!({
        "target": target,
        "decision": fields,
        "recorded": outcome.recorded,
        "changed": outcome.changed,
        "pending": outcome.pending,
        "skipped_fleet_level": outcome.skipped_fleet_level,
    })
}

/// The users who may own the findings `of` names (see [`Store::assignees`]); what is asked
/// about must be within the viewer's scope.
async fn owner_candidates(
    conn: &mut sqlx::PgConnection,
    viewer: &Viewer,
    of: &AssigneesFor,
) -> Result<Vec<Assignee>, AppError> {
    let scope = viewer.clusters.as_deref();
    match of {
        AssigneesFor::Finding(key) => {
            let access = db::decisions::access(&mut *conn, scope, &[*key])
                .await
                .map_err(to_app_error)?;
            if !access.first().is_some_and(|a| a.visible) {
                return Err(AppError::NotFound(format!("Finding {}:{}", key.0, key.1)));
            }
            db::assignees::candidates(&mut *conn, &[], &[*key]).await
        }
        AssigneesFor::Matching(filter) => {
            // the clusters the filter selects, within the viewer's: never empty for a
            // viewer who sees a cluster (and an empty selection lists nobody)
            let criteria = explorer_criteria(&mut *conn, scope, filter).await?;
            db::assignees::candidates(&mut *conn, &criteria.clusters, &[]).await
        }
    }
    .map_err(to_app_error)
}

#[async_trait]
impl Store for PgStore {
    async fn overview(
        &self,
        viewer: &Viewer,
        filter: OverviewFilter,
    ) -> Result<Overview, AppError> {
        let mut conn = self.conn().await?;
        build_overview(&mut conn, viewer.clusters.as_deref(), filter).await
    }

    async fn sla_policy(&self, _viewer: &Viewer) -> Result<SlaPolicy, AppError> {
        let mut conn = self.conn().await?;
        db::settings::sla_policy(&mut conn)
            .await
            .map_err(to_app_error)
    }

    async fn set_sla_policy(&self, viewer: &Viewer, policy: SlaPolicy) -> Result<(), AppError> {
        if !viewer.role.can_edit_sla() {
            return Err(AppError::Forbidden);
        }
        if let Some(problem) = policy.problem() {
            return Err(AppError::BadRequest(problem));
        }
        let mut tx = self.pool.begin().await.map_err(to_app_error)?;
        let before = db::settings::sla_policy(&mut tx)
            .await
            .map_err(to_app_error)?;
        db::settings::set_sla_policy(&mut tx, &policy, viewer.user_id)
            .await
            .map_err(to_app_error)?;
        db::audit::record(
            &mut tx,
            db::audit::Event {
                actor: viewer.into(),
                action: "settings.sla",
                target: Some(("setting", "sla.policy".to_owned())),
                cluster_id: None,
                ip: None,
                details: serde_json::json!({ "before": before, "after": policy }),
            },
        )
        .await
        .map_err(to_app_error)?;
        // overdue counts of every day follow the new clocks
        db::jobs::enqueue(
            &mut tx,
            crate::jobs::SNAPSHOT_BACKFILL,
            &serde_json::json!({}),
            chrono::Utc::now(),
        )
        .await
        .map_err(to_app_error)?;
        tx.commit().await.map_err(to_app_error)?;
        Ok(())
    }

    async fn audit_log(&self, viewer: &Viewer, filter: AuditFilter) -> Result<AuditPage, AppError> {
        const PAGE: i64 = 200;
        let query = db::audit::Query::new(&filter).map_err(AppError::BadRequest)?;
        let mut conn = self.conn().await?;
        let mut entries = db::audit::list(&mut conn, &query, viewer.clusters.as_deref(), PAGE + 1)
            .await
            .map_err(to_app_error)?;
        let truncated = entries.len() > PAGE as usize;
        entries.truncate(PAGE as usize);
        let actions = db::audit::actions(&mut conn, viewer.clusters.as_deref())
            .await
            .map_err(to_app_error)?;
        Ok(AuditPage {
            entries,
            truncated,
            actions,
        })
    }

    async fn findings(&self, viewer: &Viewer, filter: ListFilter) -> Result<FindingList, AppError> {
        let scope = viewer.clusters.as_deref();
        let mut conn = self.conn().await?;
        let criteria = explorer_criteria(&mut conn, scope, &filter).await?;
        let mut page = db::explorer::page(&mut conn, &criteria)
            .await
            .map_err(to_app_error)?;
        page.can_decide = viewer.role.can_triage();
        Ok(page)
    }

    async fn runtime_events(
        &self,
        viewer: &Viewer,
        filter: ListFilter,
    ) -> Result<EventList, AppError> {
        let scope = viewer.clusters.as_deref();
        let mut conn = self.conn().await?;
        let query = list_query(&mut conn, scope, &filter).await?;
        let rows = db::lists::newest_events(&mut conn, scope, &query, 100)
            .await
            .map_err(to_app_error)?;
        Ok(EventList { rows })
    }

    async fn finding(
        &self,
        viewer: &Viewer,
        cluster_id: i64,
        finding_id: i64,
    ) -> Result<FindingDetail, AppError> {
        let mut conn = self.conn().await?;
        let mut detail = db::finding_detail::load(
            &mut conn,
            viewer.clusters.as_deref(),
            cluster_id,
            finding_id,
            chrono::Utc::now(),
        )
        .await
        .map_err(to_app_error)?
        .ok_or_else(|| AppError::NotFound(format!("Finding {cluster_id}/{finding_id}")))?;
        // fleet-level findings are decided by those who see every cluster
        detail.can_decide =
            viewer.role.can_triage() && (cluster_id != 0 || viewer.clusters.is_none());
        if detail.can_decide {
            detail.assignees =
                db::assignees::candidates(&mut conn, &[], &[(cluster_id, finding_id)])
                    .await
                    .map_err(to_app_error)?;
        }
        Ok(detail)
    }

    async fn tokens(&self, viewer: &Viewer) -> Result<Vec<TokenSummary>, AppError> {
        let mut conn = self.conn().await?;
        let rows = db::tokens::list(&mut conn, viewer.clusters.as_deref())
            .await
            .map_err(to_app_error)?;
        Ok(rows
            .into_iter()
            .map(|t| TokenSummary {
                id: t.id,
                name: t.name,
                prefix: t.token_prefix,
                scopes: t.scopes,
                source: t.source,
                cluster: t.cluster,
                created_at: t.created_at,
                last_used_at: t.last_used_at,
                expires_at: t.expires_at,
                revoked_at: t.revoked_at,
            })
            .collect())
    }

    async fn approval_policy(&self, _viewer: &Viewer) -> Result<ApprovalPolicy, AppError> {
        let mut conn = self.conn().await?;
        db::settings::approval_policy(&mut conn)
            .await
            .map_err(to_app_error)
    }

    async fn set_approval_policy(
        &self,
        viewer: &Viewer,
        policy: ApprovalPolicy,
    ) -> Result<(), AppError> {
        if !viewer.role.can_approve() {
            return Err(AppError::Forbidden);
        }
        let mut tx = self.pool.begin().await.map_err(to_app_error)?;
        let before = db::settings::approval_policy(&mut tx)
            .await
            .map_err(to_app_error)?;
        db::settings::set_approval_policy(&mut tx, &policy, viewer.user_id)
            .await
            .map_err(to_app_error)?;
        db::audit::record(
            &mut tx,
            db::audit::Event {
                actor: viewer.into(),
                action: "settings.approval",
                target: Some(("setting", db::settings::APPROVAL_POLICY.to_owned())),
                cluster_id: None,
                ip: None,
                details: serde_json::json!({ "before": before, "after": policy }),
            },
        )
        .await
        .map_err(to_app_error)?;
        tx.commit().await.map_err(to_app_error)?;
        Ok(())
    }

    async fn decide(
        &self,
        viewer: &Viewer,
        target: DecisionTarget,
        action: DecisionAction,
    ) -> Result<DecisionOutcome, AppError> {
        if !viewer.role.can_triage() {
            return Err(AppError::Forbidden);
        }
        if let Some(problem) = action.problem(chrono::Utc::now().date_naive()) {
            return Err(AppError::BadRequest(problem));
        }
        let mut tx = self.pool.begin().await.map_err(to_app_error)?;
        let (keys, skipped) = decision_keys(&mut tx, viewer, &target).await?;
        let applied = apply_decision(&mut tx, viewer, &keys, &action).await?;
        enqueue_snapshots(&mut tx, &applied.clusters).await?;
        let outcome = DecisionOutcome {
            recorded: applied.recorded,
            changed: applied.changed,
            pending: applied.pending,
            skipped_fleet_level: skipped,
        };
        db::audit::record(
            &mut tx,
            db::audit::Event {
                actor: viewer.into(),
                action: action.audit_action(),
                target: Some(audit_target(&target)),
                cluster_id: single_cluster(&keys),
                ip: None,
                details: decision_details(&target, &action, &outcome),
            },
        )
        .await
        .map_err(to_app_error)?;
        tx.commit().await.map_err(to_app_error)?;
        Ok(outcome)
    }

    async fn review_acceptances(
        &self,
        viewer: &Viewer,
        decisions: Vec<FindingKey>,
        approve: bool,
        note: String,
    ) -> Result<u64, AppError> {
        if !viewer.role.can_approve() {
            return Err(AppError::Forbidden);
        }
        let note = app::model::optional_text("The note", Some(&note), app::model::MAX_REVIEW_NOTE)
            .map_err(AppError::BadRequest)?;
        if decisions.is_empty() {
            return Err(AppError::BadRequest(
                "Choose at least one acceptance.".to_owned(),
            ));
        }
        let scope = viewer.clusters.as_deref();
        let mut tx = self.pool.begin().await.map_err(to_app_error)?;
        let found = db::decisions::reviewable(&mut tx, scope, &decisions)
            .await
            .map_err(to_app_error)?;
        if found.len() != decisions.len() {
            return Err(if decisions.len() == 1 {
                AppError::NotFound("The pending acceptance".to_owned())
            } else {
                AppError::BadRequest(format!(
                    "{} of the chosen acceptances are not pending or not yours to review. \
                     Nothing was changed.",
                    decisions.len() - found.len()
                ))
            });
        }
        // four eyes: whoever asked never decides
        if found.iter().any(|r| r.decided_by == Some(viewer.user_id)) {
            return Err(AppError::Forbidden);
        }
        if approve && found.iter().any(|r| r.expired) {
            return Err(AppError::BadRequest(
                "The acceptance expired while it was pending: it is void and cannot be \
                 approved. Nothing was changed."
                    .to_owned(),
            ));
        }
        let (count, changed, clusters) = if approve {
            let applied = db::decisions::approve(&mut tx, &decisions, viewer.user_id, &note)
                .await
                .map_err(to_app_error)?;
            (applied.recorded, applied.changed, applied.clusters)
        } else {
            let n = db::decisions::reject(&mut tx, &decisions, viewer.user_id, &note)
                .await
                .map_err(to_app_error)?;
            (n, 0, Vec::new())
        };
        enqueue_snapshots(&mut tx, &clusters).await?;
        let keys: Vec<String> = decisions.iter().map(|(c, d)| format!("{c}:{d}")).collect();
        db::audit::record(
            &mut tx,
            db::audit::Event {
                actor: viewer.into(),
                action: if approve {
                    "finding.approve"
                } else {
                    "finding.reject"
                },
                target: Some((
                    "finding_decision",
                    match keys.as_slice() {
                        [one] => one.clone(),
                        _ => format!("{} decisions", keys.len()),
                    },
                )),
                cluster_id: single_cluster(&decisions),
                ip: None,
                details: serde_json::json!({
                    "decisions": keys,
                    "count": count,
                    "changed": changed,
                    "note": note,
                }),
            },
        )
        .await
        .map_err(to_app_error)?;
        tx.commit().await.map_err(to_app_error)?;
        Ok(count)
    }

    async fn pending_approvals(&self, viewer: &Viewer) -> Result<Vec<PendingApproval>, AppError> {
        if !viewer.role.can_approve() {
            return Err(AppError::Forbidden);
        }
        let mut conn = self.conn().await?;
        db::decisions::pending(&mut conn, viewer.clusters.as_deref(), viewer.user_id, 500)
            .await
            .map_err(to_app_error)
    }

    async fn assignees(
        &self,
        viewer: &Viewer,
        of: AssigneesFor,
    ) -> Result<Vec<Assignee>, AppError> {
        if !viewer.role.can_triage() {
            return Err(AppError::Forbidden);
        }
        let mut conn = self.conn().await?;
        owner_candidates(&mut conn, viewer, &of).await
    }

    async fn estate(&self, viewer: &Viewer, filter: EstateFilter) -> Result<Estate, AppError> {
        let blank = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let cluster = blank(filter.cluster);
        let namespace = blank(filter.namespace).filter(|_| cluster.is_some());
        let mut conn = self.conn().await?;
        match db::estate_view::estate(
            &mut conn,
            viewer.clusters.as_deref(),
            cluster.as_deref(),
            namespace.as_deref(),
        )
        .await
        .map_err(to_app_error)?
        {
            Ok(estate) => Ok(estate),
            Err(db::estate_view::Missing::Cluster(name)) => {
                Err(AppError::NotFound(format!("Cluster '{name}'")))
            }
            Err(db::estate_view::Missing::Namespace(name)) => {
                Err(AppError::NotFound(format!("Namespace '{name}'")))
            }
        }
    }

    async fn image(&self, viewer: &Viewer, id: String) -> Result<ImageDetail, AppError> {
        let id = match id.trim().parse::<i64>() {
            Ok(id) if id > 0 => id,
            _ => {
                let shown: String = id.chars().take(40).collect();
                return Err(AppError::BadRequest(format!(
                    "'{shown}' is not an image id"
                )));
            }
        };
        let mut conn = self.conn().await?;
        db::estate_view::image(&mut conn, viewer.clusters.as_deref(), id)
            .await
            .map_err(to_app_error)?
            .ok_or_else(|| AppError::NotFound(format!("Image {id}")))
    }

    async fn where_running(&self, viewer: &Viewer, cve: String) -> Result<WhereRunning, AppError> {
        let Some(cve) = app::model::cve_id(&cve) else {
            let shown: String = cve.chars().take(40).collect();
            return Err(AppError::BadRequest(format!(
                "'{shown}' is not a CVE id (CVE-2024-3094)"
            )));
        };
        let mut conn = self.conn().await?;
        db::estate_view::where_running(&mut conn, viewer.clusters.as_deref(), &cve)
            .await
            .map_err(to_app_error)
    }

    async fn saved_views(&self, viewer: &Viewer) -> Result<SavedViews, AppError> {
        let mut conn = self.conn().await?;
        let views = db::views::list(
            &mut conn,
            viewer.user_id,
            viewer.clusters.as_deref(),
            viewer.role == Role::Admin,
        )
        .await
        .map_err(to_app_error)?;
        Ok(SavedViews {
            views,
            can_share: app::model::may_share_views(viewer.role),
        })
    }

    async fn save_view(&self, viewer: &Viewer, draft: ViewDraft) -> Result<SavedView, AppError> {
        use app::model::{MAX_VIEW_QUERY, MAX_VIEWS, parse_view_query, view_name};
        let name = view_name(&draft.name).map_err(AppError::BadRequest)?;
        if draft.shared && !app::model::may_share_views(viewer.role) {
            return Err(AppError::Forbidden);
        }
        let filter = parse_view_query(&draft.query).map_err(AppError::BadRequest)?;
        let query = app::components::saved_views::view_query(&filter);
        if query.len() > MAX_VIEW_QUERY {
            return Err(AppError::BadRequest(format!(
                "A view's query may be at most {MAX_VIEW_QUERY} characters long."
            )));
        }
        let mut tx = self.pool.begin().await.map_err(to_app_error)?;
        // the values must mean what the explorer takes, within the viewer's clusters
        match db::explorer::check(&mut tx, viewer.clusters.as_deref(), &filter)
            .await
            .map_err(to_app_error)?
        {
            Ok(_) => {}
            Err(db::explorer::Refusal::NoSuchCluster(name)) => {
                return Err(AppError::BadRequest(format!(
                    "no cluster '{name}' among the clusters you see"
                )));
            }
            Err(db::explorer::Refusal::BadValue(detail)) => {
                return Err(AppError::BadRequest(detail));
            }
        }
        db::views::lock_owner(&mut tx, viewer.user_id)
            .await
            .map_err(to_app_error)?;
        let before = db::views::own_by_name(&mut tx, viewer.user_id, &name)
            .await
            .map_err(to_app_error)?;
        if before.is_none()
            && db::views::count_owned(&mut tx, viewer.user_id)
                .await
                .map_err(to_app_error)?
                >= MAX_VIEWS
        {
            return Err(AppError::BadRequest(format!(
                "You keep {MAX_VIEWS} views, the most one may keep: delete one first."
            )));
        }
        let cluster_name = filter
            .cluster
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        // checked above: `<cluster id>:<workload id>`
        let workload_cluster_id = filter
            .workload
            .as_deref()
            .and_then(|w| w.trim().split_once(':'))
            .and_then(|(c, _)| c.parse::<i64>().ok());
        let id = db::views::save(
            &mut tx,
            &db::views::NewView {
                owner_id: viewer.user_id,
                name: &name,
                query: &query,
                shared: draft.shared,
                cluster_name,
                workload_cluster_id,
            },
        )
        .await
        .map_err(to_app_error)?;
        let replaced = before
            .as_ref()
            .map(|b| serde_json::json!({ "name": b.name, "query": b.query, "shared": b.shared }));
        db::audit::record(
            &mut tx,
            db::audit::Event {
                actor: viewer.into(),
                action: "view.save",
                target: Some(("saved_view", id.to_string())),
                cluster_id: None,
                ip: None,
                details: serde_json::json!({
                    "name": name,
                    "query": query,
                    "shared": draft.shared,
                    "replaced": replaced,
                }),
            },
        )
        .await
        .map_err(to_app_error)?;
        tx.commit().await.map_err(to_app_error)?;
        Ok(SavedView {
            id,
            name,
            query,
            shared: draft.shared,
            mine: true,
            owner: viewer.name.clone(),
            deletable: true,
        })
    }

    async fn delete_view(&self, viewer: &Viewer, id: i64) -> Result<(), AppError> {
        let mut tx = self.pool.begin().await.map_err(to_app_error)?;
        let view = db::views::visible(&mut tx, id, viewer.user_id, viewer.clusters.as_deref())
            .await
            .map_err(to_app_error)?
            // an administrator moderates the team's list; nobody deletes another's private view
            .filter(|v| v.owner_id == viewer.user_id || (viewer.role == Role::Admin && v.shared))
            .ok_or_else(|| AppError::NotFound(format!("View {id}")))?;
        db::views::delete(&mut tx, view.id)
            .await
            .map_err(to_app_error)?;
        db::audit::record(
            &mut tx,
            db::audit::Event {
                actor: viewer.into(),
                action: "view.delete",
                target: Some(("saved_view", view.id.to_string())),
                cluster_id: None,
                ip: None,
                details: serde_json::json!({
                    "name": view.name,
                    "query": view.query,
                    "shared": view.shared,
                    "owner_id": view.owner_id,
                }),
            },
        )
        .await
        .map_err(to_app_error)?;
        tx.commit().await.map_err(to_app_error)?;
        Ok(())
    }
}
