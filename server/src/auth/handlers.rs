//! The form endpoints of signing in and out and of changing one's password, and the audit
//! log's CSV export. Forms answer with `303 See Other` (to the next page, or back to the form
//! with `?flash=` and an [`app::model::Flash`] code), so they work without JavaScript.
//!
//! Both password checks (signing in, and the current password when changing it) go through the
//! sign-in throttle: the attempt is charged to its (login name, client address) pair first, a
//! pair that must wait is answered `429` with the time to come back and its password is not
//! checked, and a right password forgets the pair. The rules are in [`super::rate`].

use std::net::IpAddr;

use app::model::{AuditFilter, Flash, Viewer};
use axum::Form;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::middleware::{SessionHash, client_ip, html_escape, plain_page};
use super::password;
use super::rate::{SignInBackoff, throttle_client, throttle_login};
use super::session::{self, SessionSecret};
use crate::AppState;
use crate::db;
use crate::db::audit::{Actor, Event};
use crate::db::login_throttle::Pause;
use crate::error::ApiError;

/// The sign-in form.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

fn safe_next(next: &str) -> &str {
    if app::pages::login::safe_next(next) && !next.starts_with("/login") {
        next
    } else {
        "/"
    }
}

fn back_to_login(flash: Flash, next: &str) -> Response {
    let next = app::components::format::query_value(safe_next(next));
    Redirect::to(&format!("/login?flash={}&next={next}", flash.code())).into_response()
}

fn too_many(retry_after: u64, back: &str) -> Response {
    let body = format!(
        "<p>Wait {retry_after} seconds before trying again.</p><p><a href=\"{}\">Back</a></p>",
        html_escape(back)
    );
    let mut response = plain_page(StatusCode::TOO_MANY_REQUESTS, "Too many attempts", &body);
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// A wait in words: "1 second", "32 seconds", "4 minutes 16 seconds", "15 minutes".
fn in_words(seconds: u64) -> String {
    let unit = |n: u64, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    match (seconds / 60, seconds % 60) {
        (0, s) => unit(s, "second"),
        (m, 0) => unit(m, "minute"),
        (m, s) => format!("{} {}", unit(m, "minute"), unit(s, "second")),
    }
}

/// The answer to an attempt of a pair that must wait: `429`, `Retry-After`, and in words how
/// long and until when.
fn paused(pause: Pause, back: &str) -> Response {
    let body = format!(
        "<p>Too many failed sign-ins for this account from your address. Try again in {} \
         (at {} UTC).</p><p>Signing in from elsewhere is not affected, and an administrator \
         can lift the pause.</p><p><a href=\"{}\">Back</a></p>",
        in_words(pause.seconds),
        pause.until.format("%H:%M:%S"),
        html_escape(back)
    );
    let mut response = plain_page(StatusCode::TOO_MANY_REQUESTS, "Sign-in paused", &body);
    if let Ok(v) = HeaderValue::from_str(&pause.seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// A password check charged to its throttle pair (see [`super::rate`]).
struct Attempt {
    login: String,
    client: String,
    ip: Option<IpAddr>,
    /// The pair's failures in a row, this attempt counted as one until it succeeds.
    failures: u32,
    backoff: SignInBackoff,
}

impl Attempt {
    /// Charges an attempt of `email` from `ip`; `Err` with the pair's wait when it must wait
    /// (nothing is counted then).
    async fn charge(
        state: &AppState,
        email: &str,
        ip: Option<IpAddr>,
    ) -> Result<Result<Attempt, Pause>, ApiError> {
        let backoff = SignInBackoff::new(state.auth.login_failures_per_account);
        let (login, client) = (throttle_login(email), throttle_client(ip));
        let mut tx = state.pool.begin().await?;
        let charged =
            db::login_throttle::charge(&mut tx, &login, &client, SignInBackoff::FORGET_AFTER)
                .await?;
        let Some(failures) = charged else {
            // the same transaction, so the same `now()` that found the pair waiting
            let pause = db::login_throttle::paused(&mut tx, &login, &client).await?;
            tx.commit().await?;
            return Ok(Err(pause.unwrap_or(Pause {
                until: chrono::Utc::now(),
                seconds: 1,
            })));
        };
        let failures = u32::try_from(failures).unwrap_or(u32::MAX);
        // Should this attempt fail, the pair waits; it waits already while the password is
        // being checked, so that guesses sent in parallel are refused meanwhile.
        if let Some(wait) = backoff.wait_after(failures) {
            db::login_throttle::wait(&mut tx, &login, &client, wait).await?;
        }
        tx.commit().await?;
        Ok(Ok(Attempt {
            login,
            client,
            ip,
            failures,
            backoff,
        }))
    }

    /// The password was right: the pair's failures are forgotten (in the caller's transaction).
    async fn succeeded(&self, conn: &mut sqlx::PgConnection) -> Result<(), ApiError> {
        db::login_throttle::forget(conn, &self.login, &self.client).await?;
        Ok(())
    }

    /// The password was wrong: audited as `login_failed`, and the pair's wait (if it has one
    /// now) restarts from this moment; the first failure that makes the pair wait is audited
    /// as `login.throttled`. Whether the pair waits now.
    async fn failed(
        &self,
        state: &AppState,
        actor: Actor,
        details: serde_json::Value,
    ) -> Result<bool, ApiError> {
        let mut tx = state.pool.begin().await?;
        db::audit::record(
            &mut tx,
            Event {
                actor: actor.clone(),
                action: "login_failed",
                target: Some(("login", self.login.clone())),
                cluster_id: None,
                ip: self.ip,
                details,
            },
        )
        .await?;
        let mut waits = false;
        if let Some(wait) = self.backoff.wait_after(self.failures) {
            let pause = db::login_throttle::wait(&mut tx, &self.login, &self.client, wait).await?;
            waits = pause.is_some();
            if waits && self.backoff.starts_waiting(self.failures) {
                db::audit::record(
                    &mut tx,
                    Event {
                        actor,
                        action: "login.throttled",
                        target: Some(("login", self.login.clone())),
                        cluster_id: None,
                        ip: self.ip,
                        details: serde_json::json!({
                            "failures": self.failures,
                            "retry_after_seconds": wait.as_secs(),
                        }),
                    },
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(waits)
    }
}

/// `POST /login`.
pub async fn login(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let ip = client_ip(request.extensions());
    let presented = session::presented(request.headers(), &state.auth);
    let Form(form) = match Form::<LoginForm>::from_request(request, &()).await {
        Ok(form) => form,
        Err(_) => return Ok(back_to_login(Flash::SignInIncomplete, "/")),
    };
    if let Some(ip) = ip
        && let Err(wait) = state.limiters.login(ip)
    {
        return Ok(too_many(wait, "/login"));
    }
    let email = form.email.trim();
    if email.is_empty() || form.password.is_empty() || email.len() > 320 {
        return Ok(back_to_login(Flash::SignInIncomplete, &form.next));
    }
    let attempt = match Attempt::charge(&state, email, ip).await? {
        Ok(attempt) => attempt,
        Err(pause) => return Ok(paused(pause, "/login")),
    };
    let mut conn = state.pool.acquire().await?;
    let user = db::users::find_by_email(&mut conn, email)
        .await?
        .filter(|u| u.disabled_at.is_none());
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    // Verifying takes a while, and a request never holds a pooled connection while it waits
    // for another (two connections of one request could wait on each other for ever).
    drop(conn);
    let ok = password::verify(form.password, hash).await;
    let Some(user) = user.filter(|_| ok) else {
        let waits = attempt
            .failed(&state, Actor::Anonymous, serde_json::json!({}))
            .await?;
        let flash = if waits {
            Flash::SignInPaused
        } else {
            Flash::SignInFailed
        };
        return Ok(back_to_login(flash, &form.next));
    };

    let secret = SessionSecret::generate()?;
    let mut tx = state.pool.begin().await?;
    // never promote a session id the browser brought along (session fixation)
    if let Some(old) = presented {
        db::users::delete_session(&mut tx, &session::hash(&old)).await?;
    }
    let absolute = i64::try_from(state.auth.session_absolute.as_secs()).unwrap_or(i64::MAX);
    db::users::create_session(&mut tx, &secret.hash(), user.id, absolute).await?;
    db::users::touch_login(&mut tx, user.id).await?;
    attempt.succeeded(&mut tx).await?;
    db::audit::record(
        &mut tx,
        Event {
            actor: Actor::User {
                id: user.id,
                email: user.email.clone(),
            },
            action: "login",
            target: Some(("user", user.id.to_string())),
            cluster_id: None,
            ip,
            details: serde_json::json!({ "method": "password" }),
        },
    )
    .await?;
    tx.commit().await?;
    let mut response = Redirect::to(safe_next(&form.next)).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session::set_cookie(&secret, &state.auth),
    );
    Ok(response)
}

use axum::extract::FromRequest;

/// `POST /logout`.
pub async fn logout(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let ip = client_ip(request.extensions());
    if let (Some(SessionHash(hash)), Some(viewer)) = (
        request.extensions().get::<SessionHash>(),
        request.extensions().get::<Viewer>(),
    ) {
        let mut tx = state.pool.begin().await?;
        db::users::delete_session(&mut tx, hash).await?;
        db::audit::record(
            &mut tx,
            Event {
                actor: Actor::from(viewer),
                action: "logout",
                target: Some(("user", viewer.user_id.to_string())),
                cluster_id: None,
                ip,
                details: serde_json::json!({}),
            },
        )
        .await?;
        tx.commit().await?;
    }
    let mut response =
        Redirect::to(&format!("/login?flash={}", Flash::SignedOut.code())).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session::clear_cookie(&state.auth));
    Ok(response)
}

/// The password change form.
#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /account/password`: checks the current password, stores the new one, signs out every
/// other session and issues a new one for this browser.
pub async fn change_password(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let ip = client_ip(request.extensions());
    let viewer = request
        .extensions()
        .get::<Viewer>()
        .cloned()
        .ok_or_else(|| ApiError::Unauthorized("sign in first".to_owned()))?;
    let back = |flash: Flash| {
        Ok(Redirect::to(&format!("/account?flash={}", flash.code())).into_response())
    };
    let Ok(Form(form)) = Form::<PasswordForm>::from_request(request, &()).await else {
        return back(Flash::PasswordNotChanged);
    };
    // the current password is a sign-in again: the same pair, the same throttle
    let attempt = match Attempt::charge(&state, &viewer.email, ip).await? {
        Ok(attempt) => attempt,
        Err(pause) => return Ok(paused(pause, "/account")),
    };
    let mut conn = state.pool.acquire().await?;
    let user = db::users::find_by_id(&mut conn, viewer.user_id)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("the account no longer exists".to_owned()))?;
    // as in `login`: no pooled connection is held while verifying or hashing
    drop(conn);
    if !password::verify(form.current, user.password_hash.clone()).await {
        attempt
            .failed(
                &state,
                Actor::from(&viewer),
                serde_json::json!({ "during": "password change" }),
            )
            .await?;
        return back(Flash::PasswordWrong);
    }
    attempt.succeeded(&mut *state.pool.acquire().await?).await?;
    if form.new != form.confirm {
        return back(Flash::PasswordMismatch);
    }
    if let Err(problem) = password::check_new(&form.new, &user.email) {
        return back(match problem {
            password::PasswordProblem::TooLong => Flash::PasswordTooLong,
            password::PasswordProblem::TooShort | password::PasswordProblem::SameAsEmail => {
                Flash::PasswordWeak
            }
        });
    }
    let hash = password::hash(form.new).await?;
    let secret = SessionSecret::generate()?;
    let mut tx = state.pool.begin().await?;
    db::users::set_password_hash(&mut tx, user.id, &hash).await?;
    let ended = db::users::delete_sessions_of(&mut tx, user.id).await?;
    let absolute = i64::try_from(state.auth.session_absolute.as_secs()).unwrap_or(i64::MAX);
    db::users::create_session(&mut tx, &secret.hash(), user.id, absolute).await?;
    db::audit::record(
        &mut tx,
        Event {
            actor: Actor::from(&viewer),
            action: "password.change",
            target: Some(("user", user.id.to_string())),
            cluster_id: None,
            ip,
            details: serde_json::json!({ "sessions_ended": ended }),
        },
    )
    .await?;
    tx.commit().await?;
    let mut response =
        Redirect::to(&format!("/account?flash={}", Flash::PasswordChanged.code())).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session::set_cookie(&secret, &state.auth),
    );
    Ok(response)
}

/// Most rows one CSV export holds.
const CSV_LIMIT: i64 = 100_000;

/// `GET /audit.csv`: the entries matching the page's filters, newest first.
pub async fn audit_csv(
    State(state): State<AppState>,
    Query(filter): Query<AuditFilter>,
    request: Request,
) -> Result<Response, ApiError> {
    let viewer = request
        .extensions()
        .get::<Viewer>()
        .cloned()
        .ok_or_else(|| ApiError::Unauthorized("sign in first".to_owned()))?;
    if !viewer.role.can_read_audit_log() {
        return Err(ApiError::Forbidden(
            "the audit log is for managers".to_owned(),
        ));
    }
    let query = db::audit::Query::new(&filter)
        .map_err(|detail| ApiError::bad_request("invalid-filter", "Invalid filter", detail))?;
    let mut conn = state.pool.acquire().await?;
    let entries = db::audit::list(&mut conn, &query, viewer.clusters.as_deref(), CSV_LIMIT).await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let row = |w: &mut csv::Writer<Vec<u8>>, cells: [&str; 7]| -> Result<(), ApiError> {
        w.write_record(cells.map(|c| spreadsheet_safe(c).into_owned()))
            .map_err(|e| ApiError::Internal(e.into()))
    };
    row(
        &mut writer,
        ["id", "at", "actor", "action", "target", "ip", "details"],
    )?;
    for e in &entries {
        let id = e.id.to_string();
        let at = e.at.to_rfc3339();
        row(
            &mut writer,
            [
                &id,
                &at,
                &e.actor,
                &e.action,
                e.target.as_deref().unwrap_or(""),
                e.ip.as_deref().unwrap_or(""),
                &e.details,
            ],
        )?;
    }
    let body = writer
        .into_inner()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("csv: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"bulwark-audit.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// A cell a spreadsheet will not run as a formula (CSV injection): text starting with `=`, `+`,
/// `-`, `@`, tab or carriage return gets a leading apostrophe.
pub fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_in_csv_cells() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_safe("alice@example.com"), "alice@example.com");
        assert_eq!(spreadsheet_safe(""), "");
    }

    #[test]
    fn waits_read_as_words() {
        assert_eq!(in_words(1), "1 second");
        assert_eq!(in_words(32), "32 seconds");
        assert_eq!(in_words(60), "1 minute");
        assert_eq!(in_words(61), "1 minute 1 second");
        assert_eq!(in_words(256), "4 minutes 16 seconds");
        assert_eq!(in_words(900), "15 minutes");
    }

    #[test]
    fn sign_in_never_redirects_off_site_or_back_to_itself() {
        assert_eq!(safe_next("//evil.example"), "/");
        assert_eq!(safe_next("/login?next=/"), "/");
        assert_eq!(safe_next("/audit?action=login"), "/audit?action=login");
    }
}
