//! Who is signed in, for the page frame.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{SignInOptions, Viewer};

/// The signed-in user, or `None` for an anonymous visitor (the sign-in page).
#[server(prefix = "/rpc", endpoint = "session/viewer")]
pub async fn get_viewer() -> Result<Option<Viewer>, AppError> {
    Ok(crate::store::current_viewer())
}

/// How one can sign in (for the sign-in page).
#[server(prefix = "/rpc", endpoint = "session/options")]
pub async fn get_sign_in_options() -> Result<SignInOptions, AppError> {
    Ok(use_context::<SignInOptions>().unwrap_or_default())
}
