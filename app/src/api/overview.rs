//! Data for the overview page.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{FleetOverview, SeverityBreakdown};

/// Fleet-wide numbers, clusters and latest reports.
#[server(prefix = "/rpc", endpoint = "overview/fleet")]
pub async fn get_fleet_overview() -> Result<FleetOverview, AppError> {
    crate::store::use_store()?.fleet_overview().await
}

/// Open findings by severity for the fleet or for one cluster (by name).
#[server(prefix = "/rpc", endpoint = "overview/severity")]
pub async fn get_severity_breakdown(
    cluster: Option<String>,
) -> Result<SeverityBreakdown, AppError> {
    crate::store::use_store()?.severity_breakdown(cluster).await
}
