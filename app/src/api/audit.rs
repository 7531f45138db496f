//! The audit log (administrators and managers).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{AuditFilter, AuditPage};

/// The newest audit entries matching `filter`.
#[server(prefix = "/rpc", endpoint = "audit/list")]
pub async fn get_audit_log(#[server(default)] filter: AuditFilter) -> Result<AuditPage, AppError> {
    let viewer = crate::store::require_viewer()?;
    if !viewer.role.can_read_audit_log() {
        return Err(AppError::Forbidden);
    }
    crate::store::use_store()?.audit_log(&viewer, filter).await
}
