//! One finding for its page (`/findings/{cluster_id}/{finding_id}`). The decision actions are
//! not here: they are mutations of their own.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::FindingDetail;

/// The finding `(cluster_id, finding_id)`, when the viewer may see it; "not found" otherwise,
/// the same as for a finding that does not exist.
#[server(prefix = "/rpc", endpoint = "findings/detail")]
pub async fn get_finding(cluster_id: i64, finding_id: i64) -> Result<FindingDetail, AppError> {
    let viewer = crate::store::require_viewer()?;
    crate::store::use_store()?
        .finding(&viewer, cluster_id, finding_id)
        .await
}
