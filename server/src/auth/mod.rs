//! Access control: who is asking and what they may do.
//!
//! Nothing here knows the router: routes and their rules are declared in `routes.rs`, which
//! hands the rules to [`middleware::guard`].
//!
//! - [`session`]: session cookies (random secrets; the database stores their hashes).
//! - [`bearer`]: API tokens presented as `Authorization: Bearer` (the REST API's extractors).
//! - [`password`]: Argon2id hashes and the policy for new passwords.
//! - [`access`]: what a route may require and the lookup of a request's rule (the rules
//!   themselves are declared with the routes, in `routes.rs`).
//! - [`middleware`]: the guard every request passes (session, access rule, CSRF) and the
//!   security headers every response carries.
//! - [`handlers`]: sign-in, sign-out, password change, the audit CSV.
//! - [`tokens`]: the token settings forms and the REST read API.
//! - [`oidc`]: OpenID Connect single sign-on.
//! - [`rate`]: in-memory rate limits, and the rules of the sign-in throttle.

pub mod access;
pub mod bearer;
pub mod handlers;
pub mod middleware;
pub mod oidc;
pub mod password;
pub mod rate;
pub mod session;
pub mod tokens;

use std::time::Duration;

/// How sessions and limits behave.
#[derive(Clone, Debug)]
pub struct AuthSettings {
    /// Served over HTTPS: cookies get `Secure` and the `__Host-` prefix, responses HSTS.
    pub secure_cookies: bool,
    /// The origin browsers use to reach Bulwark (`https://bulwark.example.com`) when it sits
    /// behind a proxy; `None` trusts the `Host` header.
    pub public_origin: Option<String>,
    /// A session unused this long ends.
    pub session_idle: Duration,
    /// A session ends this long after sign-in, used or not.
    pub session_absolute: Duration,
    /// Sign-in attempts per client address per minute.
    pub login_attempts_per_minute: u32,
    /// Failed sign-ins in a row per account *and client address* before attempts from that
    /// address wait, longer after each further failure (see [`rate`]).
    pub login_failures_per_account: u32,
    /// Reports per ingest token per minute.
    pub ingest_reports_per_minute: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            secure_cookies: false,
            public_origin: None,
            session_idle: Duration::from_secs(30 * 60),
            session_absolute: Duration::from_secs(12 * 60 * 60),
            login_attempts_per_minute: 10,
            login_failures_per_account: 5,
            ingest_reports_per_minute: 120,
        }
    }
}
