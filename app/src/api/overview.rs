//! Data for the overview page.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{FleetOverview, SeverityBreakdown};

/// Fleet-wide numbers, clusters and latest reports (of the clusters the viewer may see).
#[server(prefix = "/rpc", endpoint = "overview/fleet")]
pub async fn get_fleet_overview() -> Result<FleetOverview, AppError> {
    let viewer = crate::store::require_viewer()?;
    crate::store::use_store()?.fleet_overview(&viewer).await
}

/// Open findings by severity for the fleet or for one cluster (by name).
#[server(prefix = "/rpc", endpoint = "overview/severity")]
pub async fn get_severity_breakdown(
    cluster: Option<String>,
) -> Result<SeverityBreakdown, AppError> {
    let viewer = crate::store::require_viewer()?;
    crate::store::use_store()?
        .severity_breakdown(&viewer, cluster)
        .await
}
