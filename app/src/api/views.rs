//! Saved views of the findings explorer: the list, saving and deleting. Usable from an
//! `ActionForm` with JavaScript off (form-encoded fields); on success a mutation redirects
//! back with a [`crate::model::Flash`], a refusal is an [`AppError`] with its status.
//!
//! # Form fields
//!
//! - `views/save`: `name` (1–80 characters), `query` (the explorer's query string, as the page
//!   renders it; its page position is dropped), `shared` (present: share with the team).
//!   Returns to `/findings?<query>`, the view just saved.
//! - `views/delete`: `id` (the view's id), `next` (optional: the path on this site to return
//!   to, `/findings` by default).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{SavedView, SavedViews};

/// The saved views the viewer may open: their own, then the team's.
#[server(prefix = "/rpc", endpoint = "views/list")]
pub async fn get_saved_views() -> Result<SavedViews, AppError> {
    let viewer = crate::store::require_viewer()?;
    crate::store::use_store()?.saved_views(&viewer).await
}

/// Saves the explorer's query under `name` (replacing the viewer's view of that name), then
/// opens it.
#[server(prefix = "/rpc", endpoint = "views/save")]
pub async fn save_view(
    name: Option<String>,
    query: Option<String>,
    shared: Option<String>,
) -> Result<SavedView, AppError> {
    use crate::model::{Flash, ViewDraft, with_flash};
    let viewer = crate::store::require_viewer()?;
    let draft = ViewDraft {
        name: name.unwrap_or_default(),
        query: query.unwrap_or_default(),
        shared: shared.is_some(),
    };
    let saved = crate::store::use_store()?.save_view(&viewer, draft).await?;
    leptos_axum::redirect(&with_flash(&saved.href(), Flash::ViewSaved.code()));
    Ok(saved)
}

/// Deletes the view `id` (the viewer's own; an administrator's, any shared view), then returns
/// to `next`.
#[server(prefix = "/rpc", endpoint = "views/delete")]
pub async fn delete_view(id: Option<String>, next: Option<String>) -> Result<(), AppError> {
    use crate::model::{Flash, return_path, with_flash};
    let viewer = crate::store::require_viewer()?;
    let id = id
        .as_deref()
        .map(str::trim)
        .and_then(|id| id.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::BadRequest("Choose the view to delete.".to_owned()))?;
    crate::store::use_store()?.delete_view(&viewer, id).await?;
    let back = return_path(next.as_deref(), "/findings");
    leptos_axum::redirect(&with_flash(&back, Flash::ViewDeleted.code()));
    Ok(())
}
