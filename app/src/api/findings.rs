//! Data for the findings and runtime events lists.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{EventList, FindingList, ListFilter};

/// Open findings matching `filter`, riskiest first (of the clusters the viewer may see).
#[server(prefix = "/rpc", endpoint = "findings/list")]
pub async fn get_findings(#[server(default)] filter: ListFilter) -> Result<FindingList, AppError> {
    let viewer = crate::store::require_viewer()?;
    crate::store::use_store()?.findings(&viewer, filter).await
}

/// The newest runtime events matching `filter`.
#[server(prefix = "/rpc", endpoint = "events/list")]
pub async fn get_events(#[server(default)] filter: ListFilter) -> Result<EventList, AppError> {
    let viewer = crate::store::require_viewer()?;
    crate::store::use_store()?
        .runtime_events(&viewer, filter)
        .await
}
