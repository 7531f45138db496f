//! API tokens (administrators and managers).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::TokenSummary;

/// Every token the viewer may manage, newest first.
#[server(prefix = "/rpc", endpoint = "tokens/list")]
pub async fn get_tokens() -> Result<Vec<TokenSummary>, AppError> {
    let viewer = crate::store::require_viewer()?;
    if !viewer.role.can_manage_tokens() {
        return Err(AppError::Forbidden);
    }
    crate::store::use_store()?.tokens(&viewer).await
}
