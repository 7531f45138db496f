//! `AppError`: what the user interface may learn about a failure. Safe to show: internal causes
//! stay in the server log, under the reference given here.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// An error a page can display.
#[derive(Clone, Debug, Error, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppError {
    /// The thing asked for does not exist (or the user may not see it).
    #[error("{0} was not found")]
    NotFound(String),
    /// The request itself was wrong; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// Nobody is signed in (or the session ended).
    #[error("please sign in again: your session has ended")]
    Unauthorized,
    /// The signed-in user's role does not allow this.
    #[error("your role does not allow this")]
    Forbidden,
    /// The database could not be reached; retrying later may help.
    #[error("the service is temporarily unavailable; please try again in a moment")]
    Unavailable,
    /// A failure on the server. The reference finds the details in the server log.
    #[error("something went wrong on our side (reference {0})")]
    Internal(String),
    /// The call to the server failed on the way (network, encoding).
    #[error("the server could not be reached: {0}")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}
