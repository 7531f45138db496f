//! [`Flash`]: the one-line outcome a form handler reports when it redirects back to a page
//! ("The token was revoked", "The current password is wrong"). The server's form handlers and
//! the pages share this enum, so the message a page shows is chosen by a typed value, never by
//! a free string in a URL: the handler redirects to `…?flash=<code>`, the page reads the code
//! back with [`Flash::parse`] and shows [`Flash::message`]. An unknown code shows nothing.
//!
//! What belongs here: the outcomes of form posts and sign-in redirects. Errors of data loading
//! are [`crate::error::AppError`], shown by the async region, not flashes.

use std::fmt;
use std::str::FromStr;

/// Whether a flash reports success (shown as a status) or a problem (shown as an alert).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlashKind {
    /// The action worked.
    Success,
    /// The action was refused or failed; the message says why.
    Error,
}

/// Declares the enum with each variant's stable code, kind and message in one table, so a
/// variant cannot exist without all three.
macro_rules! flashes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $kind:ident, $message:literal;)+) => {
        /// The outcome a form handler reports to the page it redirects to.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Flash {
            $($(#[$doc])* $variant,)+
        }

        impl Flash {
            /// Every flash, in declaration order.
            pub const ALL: &'static [Flash] = &[$(Flash::$variant,)+];

            /// The short, stable code carried in the query string (`?flash=token-revoked`).
            /// Bookmarks and tests use these: never change one, add a new variant instead.
            pub fn code(self) -> &'static str {
                match self {
                    $(Flash::$variant => $code,)+
                }
            }

            /// Whether this reports success or a problem.
            pub fn kind(self) -> FlashKind {
                match self {
                    $(Flash::$variant => FlashKind::$kind,)+
                }
            }

            /// What the page tells the person, in plain words.
            pub fn message(self) -> &'static str {
                match self {
                    $(Flash::$variant => $message,)+
                }
            }
        }
    };
}

flashes! {
    // signing in and out
    /// Signed out on request.
    SignedOut = "signed-out", Success, "You have signed out.";
    /// Wrong e-mail address or password (the two are never told apart).
    SignInFailed = "sign-in-failed", Error, "The e-mail address or the password is wrong.";
    /// Wrong, and the failures from this address for this login name are now so many that
    /// each further attempt from here waits (longer after each failure).
    SignInPaused = "sign-in-paused", Error,
        "The e-mail address or the password is wrong. After repeated failures from your \
         address, wait a moment before trying again; the wait grows with each failure.";
    /// The sign-in form came without an e-mail address or password.
    SignInIncomplete = "sign-in-incomplete", Error, "Enter your e-mail address and your password.";
    /// The session cookie was stale.
    SessionExpired = "session-expired", Error, "Your session has ended. Please sign in again.";
    /// The identity provider could not be reached or is not configured.
    SsoUnavailable = "sso-unavailable", Error,
        "Single sign-on is unavailable right now. Try again, or sign in with a local account.";
    /// The identity provider refused or its answer did not verify.
    SsoDenied = "sso-denied", Error, "The identity provider did not confirm who you are.";
    /// The single sign-on attempt expired or was replayed.
    SsoExpired = "sso-expired", Error,
        "That single sign-on attempt expired or was already used. Start again.";
    /// The provider's groups map onto no Bulwark role.
    SsoNoRole = "sso-no-role", Error,
        "Your account at the identity provider has no role in Bulwark. Ask an administrator.";
    /// The provider shared no e-mail address.
    SsoNoEmail = "sso-no-email", Error, "The identity provider did not share your e-mail address.";
    /// A local account already has the provider's e-mail address.
    SsoConflict = "sso-conflict", Error,
        "A local account already uses your e-mail address. Ask an administrator to link them.";
    /// The account signing in is disabled.
    AccountDisabled = "account-disabled", Error, "Your account is disabled.";

    // the account page
    /// The password was changed (and other sessions ended).
    PasswordChanged = "password-changed", Success,
        "Your password was changed. Other sessions were signed out.";
    /// The current password given was wrong.
    PasswordWrong = "password-wrong", Error, "The current password is wrong.";
    /// The new password and its confirmation differ.
    PasswordMismatch = "password-mismatch", Error,
        "The new password and its confirmation differ.";
    /// The new password is too short or is the e-mail address.
    PasswordWeak = "password-weak", Error,
        "Choose a password of at least 12 characters that is not your e-mail address.";
    /// The new password is longer than allowed.
    PasswordTooLong = "password-too-long", Error, "Passwords may be at most 256 characters long.";
    /// The password form could not be read.
    PasswordNotChanged = "password-not-changed", Error,
        "The password could not be changed. Please try again.";

    // API tokens
    /// A token was revoked.
    TokenRevoked = "token-revoked", Success, "The token was revoked; it stops working at once.";
    /// The token's name is missing or too long.
    TokenNameInvalid = "token-name", Error, "Give the token a name (at most 100 characters).";
    /// The token's scope is not one we offer.
    TokenScopeInvalid = "token-scope", Error, "Choose what the token may do.";
    /// The ingest token's source name is missing or malformed.
    TokenSourceInvalid = "token-source", Error,
        "An ingest token needs a source name: letters, digits and . _ : / -.";
    /// The source already sends for another cluster.
    TokenSourceTaken = "token-source-cluster", Error,
        "That source already sends for another cluster; choose another name.";
    /// The cluster is unknown, not the viewer's, or missing for a limited viewer.
    TokenClusterInvalid = "token-cluster", Error,
        "Choose one of your clusters (a cluster is required when your view is limited).";
    /// The expiry is out of range.
    TokenExpiryInvalid = "token-expiry", Error, "The expiry must be between 1 and 3650 days.";
    /// The token to revoke does not exist (for this viewer).
    TokenUnknown = "token-unknown", Error, "There is no such token.";
    /// The token form could not be read.
    TokenNotSaved = "token-not-saved", Error, "The token could not be saved. Please try again.";

    // the SLA policy
    /// The SLA policy was saved.
    SlaSaved = "sla-saved", Success,
        "The SLA policy was saved. Overdue counts and the posture score follow within a minute.";
    /// A field of the SLA form was not a valid number of days or hours.
    SlaInvalid = "sla-invalid", Error,
        "The policy was not saved: each clock needs a whole number of days from 1 to 3650, a more \
         severe level never more days than a less severe one, and stale after 1 to 8760 hours.";
    /// The approval policy of risk acceptances was saved.
    ApprovalPolicySaved = "approval-saved", Success,
        "The approval policy was saved. It applies to acceptances requested from now on.";

    // triage decisions
    /// A decision was recorded (and applied where it changes a status).
    DecisionRecorded = "decided", Success, "The decision was recorded.";
    /// A risk acceptance was recorded, and (some of) it waits for a manager's approval.
    AcceptancePending = "accept-pending", Success,
        "The acceptance was recorded. Where the policy asks for a manager's approval it is \
         pending, and those findings stay open until it is approved.";
    /// Pending acceptances were approved and now apply.
    AcceptanceApproved = "accept-approved", Success,
        "The acceptance was approved; it applies now.";
    /// Pending acceptances were rejected.
    AcceptanceRejected = "accept-rejected", Success,
        "The acceptance was rejected; the findings stay open.";

    // saved views of the findings explorer
    /// A view was saved (or replaced the view of the same name).
    ViewSaved = "view-saved", Success, "The view was saved.";
    /// A view was deleted.
    ViewDeleted = "view-deleted", Success, "The view was deleted.";
}

impl Flash {
    /// The flash with this code; `None` for anything else (an unknown code shows nothing).
    pub fn parse(code: &str) -> Option<Flash> {
        Flash::ALL.iter().copied().find(|f| f.code() == code)
    }
}

impl fmt::Display for Flash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The code is not one of [`Flash::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown flash code")]
pub struct UnknownFlash;

impl FromStr for Flash {
    type Err = UnknownFlash;

    fn from_str(code: &str) -> Result<Flash, UnknownFlash> {
        Flash::parse(code).ok_or(UnknownFlash)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_code_reads_back_as_its_flash() {
        for flash in Flash::ALL {
            assert_eq!(Flash::parse(flash.code()), Some(*flash), "{flash:?}");
        }
    }

    #[test]
    fn codes_are_unique_short_and_need_no_escaping_in_a_url() {
        let mut seen = HashSet::new();
        for flash in Flash::ALL {
            let code = flash.code();
            assert!(seen.insert(code), "{code} is used twice");
            assert!(code.len() <= 24, "{code} is long");
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{code} needs escaping"
            );
        }
    }

    #[test]
    fn unknown_codes_show_nothing() {
        assert_eq!(Flash::parse(""), None);
        assert_eq!(Flash::parse("Token-Revoked"), None);
        assert_eq!(Flash::parse("<script>"), None);
        assert_eq!("nope".parse::<Flash>(), Err(UnknownFlash));
    }

    #[test]
    fn successes_and_problems_are_told_apart() {
        assert_eq!(Flash::TokenRevoked.kind(), FlashKind::Success);
        assert_eq!(Flash::PasswordChanged.kind(), FlashKind::Success);
        assert_eq!(Flash::SignInFailed.kind(), FlashKind::Error);
        assert!(Flash::TokenRevoked.message().contains("revoked"));
    }
}
