//! Triage decisions, their review and the approval policy: one server function per action,
//! each usable from an `ActionForm` with JavaScript off (form-encoded fields). A function
//! parses its fields into the model's types (the refusal, a 400, names the bad field), lets
//! the store decide, and on success redirects back with a [`Flash`]; a refusal is an
//! [`AppError`] with its status (with JavaScript off Leptos returns to the page, whose
//! `ServerAction` holds the error).
//!
//! # Form fields of the decision functions
//!
//! Which findings (every decision function):
//! - `keys[]` (repeatable) or `keys[0]`, `keys[1]` …: each value one or more finding keys
//!   `cluster:id` separated by commas or spaces (`keys[]=12:345,12:346`, or one checkbox per
//!   row named `keys[]`). One key is one finding (another cluster's is a 404); several are a
//!   selection of at most 1000 (any key outside the viewer's scope refuses the request, 400);
//! - or `matching=<N>` with the findings list's filter as `filter[severity]`,
//!   `filter[cluster]`, `filter[q]`, `filter[sla]` (the fields of [`ListFilter`]): "all N
//!   matching". When the filter no longer matches exactly N findings, nothing changes (409).
//!   `matching` wins over `keys`;
//! - `next` (optional): the path on this site to return to, `/findings` by default.
//!
//! And per action: accept `justification` (1–2000 characters) and `expires` (`YYYY-MM-DD`,
//! the last day, in the future and at most two years ahead); false positive `justification`;
//! reopen `justification` (optional); assign `assignee` (a user id); comment `text`
//! (1–4000 characters). Approve and reject take `decisions[]` (`cluster:decision id`, as the
//! approval queue lists them), an optional `note` and `next` (`/approvals` by default).

// `decide_findings` takes every field of the decision bar's one form
#![expect(
    clippy::too_many_arguments,
    reason = "a server function's arguments are its form's fields"
)]

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{ApprovalPolicy, DecisionOutcome, ListFilter, PendingApproval};

/// For which severities an acceptance needs a manager's approval.
#[server(prefix = "/rpc", endpoint = "settings/approval")]
pub async fn get_approval_policy() -> Result<ApprovalPolicy, AppError> {
    let viewer = crate::store::require_viewer()?;
    crate::store::use_store()?.approval_policy(&viewer).await
}

/// Replaces the approval policy (administrators and managers): each severity's checkbox,
/// checked when present. Returns to `/settings/sla` with the outcome as a flash.
#[server(prefix = "/rpc", endpoint = "settings/approval/save")]
pub async fn save_approval_policy(
    critical: Option<String>,
    high: Option<String>,
    medium: Option<String>,
    low: Option<String>,
    unknown: Option<String>,
) -> Result<(), AppError> {
    use crate::model::Flash;
    let viewer = crate::store::require_viewer()?;
    let policy = ApprovalPolicy {
        critical: critical.is_some(),
        high: high.is_some(),
        medium: medium.is_some(),
        low: low.is_some(),
        unknown: unknown.is_some(),
    };
    crate::store::use_store()?
        .set_approval_policy(&viewer, policy)
        .await?;
    leptos_axum::redirect(&format!(
        "/settings/sla?flash={}",
        Flash::ApprovalPolicySaved.code()
    ));
    Ok(())
}

/// Accepts the risk of the findings named (see the module doc for the fields). Where the
/// policy asks for approval the acceptance is pending and the findings stay open.
#[server(prefix = "/rpc", endpoint = "triage/accept")]
pub async fn accept_risk(
    #[server(default)] keys: Vec<String>,
    matching: Option<String>,
    #[server(default)] filter: ListFilter,
    justification: Option<String>,
    expires: Option<String>,
    next: Option<String>,
) -> Result<DecisionOutcome, AppError> {
    let action = crate::model::decision_action(
        "accept",
        justification.as_deref(),
        expires.as_deref(),
        None,
        chrono::Utc::now().date_naive(),
    )
    .map_err(AppError::BadRequest)?;
    server::decide(keys, matching, filter, next, action).await
}

/// Marks the findings named false positives.
#[server(prefix = "/rpc", endpoint = "triage/false-positive")]
pub async fn mark_false_positive(
    #[server(default)] keys: Vec<String>,
    matching: Option<String>,
    #[server(default)] filter: ListFilter,
    justification: Option<String>,
    next: Option<String>,
) -> Result<DecisionOutcome, AppError> {
    let action = crate::model::decision_action(
        "false_positive",
        justification.as_deref(),
        None,
        None,
        chrono::Utc::now().date_naive(),
    )
    .map_err(AppError::BadRequest)?;
    server::decide(keys, matching, filter, next, action).await
}

/// Reopens the findings named: revokes the decisions in force (pending acceptances too).
#[server(prefix = "/rpc", endpoint = "triage/reopen")]
pub async fn reopen_findings(
    #[server(default)] keys: Vec<String>,
    matching: Option<String>,
    #[server(default)] filter: ListFilter,
    justification: Option<String>,
    next: Option<String>,
) -> Result<DecisionOutcome, AppError> {
    let action = crate::model::decision_action(
        "reopen",
        justification.as_deref(),
        None,
        None,
        chrono::Utc::now().date_naive(),
    )
    .map_err(AppError::BadRequest)?;
    server::decide(keys, matching, filter, next, action).await
}

/// Gives the findings named an owner: `assignee`, the id of an active user who sees them.
#[server(prefix = "/rpc", endpoint = "triage/assign")]
pub async fn assign_owner(
    #[server(default)] keys: Vec<String>,
    matching: Option<String>,
    #[server(default)] filter: ListFilter,
    assignee: Option<String>,
    next: Option<String>,
) -> Result<DecisionOutcome, AppError> {
    let action = crate::model::decision_action(
        "assign",
        None,
        None,
        assignee.as_deref(),
        chrono::Utc::now().date_naive(),
    )
    .map_err(AppError::BadRequest)?;
    server::decide(keys, matching, filter, next, action).await
}

/// Comments on the findings named.
#[server(prefix = "/rpc", endpoint = "triage/comment")]
pub async fn comment_findings(
    #[server(default)] keys: Vec<String>,
    matching: Option<String>,
    #[server(default)] filter: ListFilter,
    text: Option<String>,
    next: Option<String>,
) -> Result<DecisionOutcome, AppError> {
    let action = crate::model::decision_action(
        "comment",
        text.as_deref(),
        None,
        None,
        chrono::Utc::now().date_naive(),
    )
    .map_err(AppError::BadRequest)?;
    server::decide(keys, matching, filter, next, action).await
}

/// One decision chosen in a form (`action`: `accept`, `false_positive`, `reopen`, `assign`,
/// `comment`), for the explorer's decision bar and the finding page: the other fields are those
/// of the action's own function (`justification`, `expires`, `assignee`), except that a
/// comment's text is `justification` too. An empty `matching` means the selection (`keys[]`).
#[server(prefix = "/rpc", endpoint = "triage/decide")]
pub async fn decide_findings(
    action: Option<String>,
    #[server(default)] keys: Vec<String>,
    matching: Option<String>,
    #[server(default)] filter: ListFilter,
    justification: Option<String>,
    expires: Option<String>,
    assignee: Option<String>,
    next: Option<String>,
) -> Result<DecisionOutcome, AppError> {
    let matching = matching.filter(|m| !m.trim().is_empty());
    let action = crate::model::decision_action(
        action.as_deref().unwrap_or_default(),
        justification.as_deref(),
        expires.as_deref(),
        assignee.as_deref(),
        chrono::Utc::now().date_naive(),
    )
    .map_err(AppError::BadRequest)?;
    server::decide(keys, matching, filter, next, action).await
}

/// Approves the pending acceptances `decisions` (managers and administrators, never their
/// own): they apply now.
#[server(prefix = "/rpc", endpoint = "triage/approve")]
pub async fn approve_acceptance(
    #[server(default)] decisions: Vec<String>,
    note: Option<String>,
    next: Option<String>,
) -> Result<u64, AppError> {
    server::review(decisions, note, next, true).await
}

/// Rejects the pending acceptances `decisions` (managers and administrators, never their
/// own): the findings stay open.
#[server(prefix = "/rpc", endpoint = "triage/reject")]
pub async fn reject_acceptance(
    #[server(default)] decisions: Vec<String>,
    note: Option<String>,
    next: Option<String>,
) -> Result<u64, AppError> {
    server::review(decisions, note, next, false).await
}

/// The pending acceptances the viewer may review (managers and administrators).
#[server(prefix = "/rpc", endpoint = "approvals/list")]
pub async fn get_pending_approvals() -> Result<Vec<PendingApproval>, AppError> {
    let viewer = crate::store::require_viewer()?;
    crate::store::use_store()?.pending_approvals(&viewer).await
}

/// What every decision function does once its own fields are read.
#[cfg(feature = "ssr")]
mod server {
    use crate::error::AppError;
    use crate::model::{
        DecisionAction, DecisionOutcome, Flash, ListFilter, parse_keys, parse_target, return_path,
        with_flash,
    };

    /// Reads the target, lets the store decide, and redirects back with the outcome.
    pub async fn decide(
        keys: Vec<String>,
        matching: Option<String>,
        filter: ListFilter,
        next: Option<String>,
        action: DecisionAction,
    ) -> Result<DecisionOutcome, AppError> {
        let viewer = crate::store::require_viewer()?;
        let target =
            parse_target(&keys, matching.as_deref(), filter).map_err(AppError::BadRequest)?;
        let outcome = crate::store::use_store()?
            .decide(&viewer, target, action)
            .await?;
        let flash = if outcome.pending > 0 {
            Flash::AcceptancePending
        } else {
            Flash::DecisionRecorded
        };
        let back = return_path(next.as_deref(), "/findings");
        leptos_axum::redirect(&with_flash(&back, flash.code()));
        Ok(outcome)
    }

    /// Approves or rejects, and redirects back with the outcome.
    pub async fn review(
        decisions: Vec<String>,
        note: Option<String>,
        next: Option<String>,
        approve: bool,
    ) -> Result<u64, AppError> {
        let viewer = crate::store::require_viewer()?;
        let decisions = parse_keys(&decisions).map_err(|_| {
            AppError::BadRequest(
                "Choose the acceptances to review (cluster:decision, as the queue lists them)."
                    .to_owned(),
            )
        })?;
        let count = crate::store::use_store()?
            .review_acceptances(&viewer, decisions, approve, note.unwrap_or_default())
            .await?;
        let flash = if approve {
            Flash::AcceptanceApproved
        } else {
            Flash::AcceptanceRejected
        };
        let back = return_path(next.as_deref(), "/approvals");
        leptos_axum::redirect(&with_flash(&back, flash.code()));
        Ok(count)
    }
}
