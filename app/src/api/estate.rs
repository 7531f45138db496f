//! The estate page, the image page and "where is this CVE running?": reads only.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{Estate, EstateFilter, ImageDetail, WhereRunning};

/// The estate the viewer may see, at the level `filter` names.
#[server(prefix = "/rpc", endpoint = "estate/view")]
pub async fn get_estate(#[server(default)] filter: EstateFilter) -> Result<Estate, AppError> {
    let viewer = crate::store::require_viewer()?;
    crate::store::use_store()?.estate(&viewer, filter).await
}

/// One image (`id` as the page's path gives it), when the viewer may see it.
#[server(prefix = "/rpc", endpoint = "estate/image")]
pub async fn get_image(id: String) -> Result<ImageDetail, AppError> {
    let viewer = crate::store::require_viewer()?;
    crate::store::use_store()?.image(&viewer, id).await
}

/// Where the vulnerability `cve` runs among the viewer's clusters.
#[server(prefix = "/rpc", endpoint = "estate/where-running")]
pub async fn get_where_running(cve: String) -> Result<WhereRunning, AppError> {
    let viewer = crate::store::require_viewer()?;
    crate::store::use_store()?.where_running(&viewer, cve).await
}
