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
    /// The request no longer fits what is stored (the data changed since the page showed
    /// it); the message says what differs. Nothing was changed.
    #[error("{0}")]
    Conflict(String),
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

impl AppError {
    /// What went wrong, in plain words for the person looking at the page. Never carries
    /// internal details: a transport failure says only that the server could not be reached.
    pub fn message(&self) -> String {
        match self {
            AppError::NotFound(what) => format!("{what} was not found."),
            AppError::BadRequest(how) | AppError::Conflict(how) => how.clone(),
            AppError::Unauthorized => "Your session has ended. Please sign in again.".to_owned(),
            AppError::Forbidden => "Your role does not allow this.".to_owned(),
            AppError::Unavailable => {
                "The service is temporarily unavailable. Please try again in a moment.".to_owned()
            }
            AppError::Internal(_) => "Something went wrong on our side.".to_owned(),
            AppError::Transport(_) => {
                "The server could not be reached. Check your connection and try again.".to_owned()
            }
        }
    }

    /// The HTTP status a server function answers with this error: 404, 400, 409, 401, 403, 503
    /// (the database is unavailable), and 500 only for a fault on the server. A transport
    /// failure made on the server is a response it could not build: a fault too.
    pub fn status(&self) -> u16 {
        match self {
            AppError::NotFound(_) => 404,
            AppError::BadRequest(_) => 400,
            AppError::Conflict(_) => 409,
            AppError::Unauthorized => 401,
            AppError::Forbidden => 403,
            AppError::Unavailable => 503,
            AppError::Internal(_) | AppError::Transport(_) => 500,
        }
    }

    /// The reference under which the server logged the failure, for the person to quote when
    /// they report it. Only failures on the server have one.
    pub fn reference(&self) -> Option<&str> {
        match self {
            AppError::Internal(reference) => Some(reference),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        // on the server these are the caller's arguments that did not read: its mistake,
        // answered 400 without the parser's words
        #[cfg(feature = "ssr")]
        if matches!(
            value,
            ServerFnErrorErr::Args(_)
                | ServerFnErrorErr::MissingArg(_)
                | ServerFnErrorErr::Deserialization(_)
        ) {
            return AppError::BadRequest("The request could not be read.".to_owned());
        }
        AppError::Transport(value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_details_never_reach_the_page() {
        let error = AppError::Transport("error decoding response body at /rpc/x: eof".into());
        assert!(!error.message().contains("/rpc"));
        assert_eq!(error.reference(), None);
    }

    #[test]
    fn server_failures_carry_their_reference_and_nothing_else() {
        let error = AppError::Internal("a1b2c3".into());
        assert_eq!(error.reference(), Some("a1b2c3"));
        assert!(!error.message().contains("a1b2c3"));
    }

    #[test]
    fn each_error_has_its_status_and_only_faults_are_500() {
        let statuses: Vec<u16> = [
            AppError::NotFound("x".into()),
            AppError::BadRequest("x".into()),
            AppError::Conflict("x".into()),
            AppError::Unauthorized,
            AppError::Forbidden,
            AppError::Unavailable,
            AppError::Internal("r".into()),
            AppError::Transport("x".into()),
        ]
        .iter()
        .map(AppError::status)
        .collect();
        assert_eq!(statuses, [404, 400, 409, 401, 403, 503, 500, 500]);
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn arguments_that_do_not_read_are_a_bad_request_without_the_parsers_words() {
        for error in [
            ServerFnErrorErr::Args("expected a map at filter[".into()),
            ServerFnErrorErr::MissingArg("filter".into()),
            ServerFnErrorErr::Deserialization("stream ended".into()),
        ] {
            let app = AppError::from_server_fn_error(error);
            assert_eq!(app.status(), 400);
            assert_eq!(app.message(), "The request could not be read.");
        }
        let fault = AppError::from_server_fn_error(ServerFnErrorErr::Serialization("x".into()));
        assert_eq!(fault.status(), 500);
    }

    #[test]
    fn not_found_names_what_was_missing() {
        let error = AppError::NotFound("Cluster 'x'".into());
        assert_eq!(error.message(), "Cluster 'x' was not found.");
    }
}
