//! Data for the overview page and the SLA policy behind it.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{Overview, OverviewFilter, SlaPolicy};

/// The overview of the clusters the filter selects (of those the viewer may see).
#[server(prefix = "/rpc", endpoint = "overview/posture")]
pub async fn get_overview(#[server(default)] filter: OverviewFilter) -> Result<Overview, AppError> {
    let viewer = crate::store::require_viewer()?;
    crate::store::use_store()?.overview(&viewer, filter).await
}

/// The SLA policy in force.
#[server(prefix = "/rpc", endpoint = "settings/sla")]
pub async fn get_sla_policy() -> Result<SlaPolicy, AppError> {
    let viewer = crate::store::require_viewer()?;
    crate::store::use_store()?.sla_policy(&viewer).await
}

/// Replaces the SLA policy (administrators and managers), then returns to the settings page
/// with the outcome as a flash.
#[server(prefix = "/rpc", endpoint = "settings/sla/save")]
pub async fn save_sla_policy(
    critical_days: String,
    high_days: String,
    medium_days: String,
    low_days: String,
    stale_after_hours: String,
) -> Result<(), AppError> {
    use crate::model::Flash;
    let viewer = crate::store::require_viewer()?;
    let number = |value: &str| value.trim().parse::<i32>().ok();
    let policy = (|| {
        Some(SlaPolicy {
            critical_days: number(&critical_days)?,
            high_days: number(&high_days)?,
            medium_days: number(&medium_days)?,
            low_days: number(&low_days)?,
            stale_after_hours: number(&stale_after_hours)?,
        })
    })()
    .filter(|p| p.problem().is_none());
    // A form that does not read changes nothing and says why, with JavaScript on or off.
    let flash = match policy {
        Some(policy) => {
            crate::store::use_store()?
                .set_sla_policy(&viewer, policy)
                .await?;
            Flash::SlaSaved
        }
        None => Flash::SlaInvalid,
    };
    leptos_axum::redirect(&format!("/settings/sla?flash={}", flash.code()));
    Ok(())
}
