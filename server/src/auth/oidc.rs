//! OpenID Connect single sign-on: authorization code flow with PKCE, provider discovery, ID
//! token verification (signature against the provider's keys, issuer, audience, expiry, nonce),
//! and roles from a configurable claim. Local accounts stay for break-glass access.
//!
//! `GET /auth/oidc/login` stores the flow's state, nonce and PKCE verifier server-side (in
//! `user_session`, keyed by the hash of a short-lived cookie) and sends the browser to the
//! provider; `GET /auth/oidc/callback` takes them back exactly once, exchanges the code and
//! signs the user in.

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::model::{Flash, Role};
use axum::extract::{Query, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse as _,
};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use tokio::sync::RwLock;

use super::middleware::client_ip;
use super::session::{self, SessionSecret};
use crate::AppState;
use crate::db;
use crate::db::audit::{Actor, Event};
use crate::error::ApiError;

/// How Bulwark talks to the identity provider.
#[derive(Clone, Debug)]
pub struct OidcSettings {
    /// The provider's issuer URL (discovery reads `{issuer}/.well-known/openid-configuration`).
    pub issuer: String,
    /// Bulwark's client id at the provider.
    pub client_id: String,
    /// The client secret, for confidential clients.
    pub client_secret: Option<String>,
    /// Where the provider sends the browser back: `{public url}/auth/oidc/callback`.
    pub redirect_url: String,
    /// The ID token claim holding the user's groups or roles (dots reach into objects:
    /// `realm_access.roles`).
    pub roles_claim: String,
    /// Claim value → role; the most powerful match wins.
    pub role_map: Vec<(String, Role)>,
    /// The role of users none of whose values is mapped; `None` refuses them.
    pub default_role: Option<Role>,
}

impl OidcSettings {
    /// Parses `group=role,group=role` (roles as stored: admin, manager, analyst, executive).
    pub fn parse_role_map(text: &str) -> Result<Vec<(String, Role)>, String> {
        text.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (value, role) = pair
                    .rsplit_once('=')
                    .ok_or_else(|| format!("'{pair}' is not VALUE=ROLE"))?;
                let role = Role::parse(role.trim()).ok_or_else(|| {
                    format!("'{role}' is not a role (admin, manager, analyst, executive)")
                })?;
                Ok((value.trim().to_owned(), role))
            })
            .collect()
    }

    /// The role for these claim values.
    pub fn role_for(&self, values: &[String]) -> Option<Role> {
        self.role_map
            .iter()
            .filter(|(v, _)| values.iter().any(|x| x == v))
            .map(|(_, r)| *r)
            .min()
            .or(self.default_role)
    }
}

/// The provider as discovered, refreshed hourly (keys rotate).
pub struct Oidc {
    settings: OidcSettings,
    http: openidconnect::reqwest::Client,
    metadata: RwLock<Option<(Instant, Arc<CoreProviderMetadata>)>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.settings.issuer)
            .finish_non_exhaustive()
    }
}

const METADATA_TTL: Duration = Duration::from_secs(3600);
const COOKIE: &str = "bulwark_oidc";
const FLOW_SECONDS: i64 = 600;
/// The flow cookie is sent only to the sign-on routes.
const FLOW_PATH: &str = "/auth/oidc";

impl Oidc {
    /// A client for `settings`; nothing is fetched until the first sign-in.
    pub fn new(settings: OidcSettings) -> anyhow::Result<Self> {
        let http = openidconnect::reqwest::ClientBuilder::new()
            // following redirects would let a provider response reach other hosts (SSRF)
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Oidc {
            settings,
            http,
            metadata: RwLock::new(None),
        })
    }

    async fn metadata(&self) -> anyhow::Result<Arc<CoreProviderMetadata>> {
        if let Some((at, m)) = &*self.metadata.read().await
            && at.elapsed() < METADATA_TTL
        {
            return Ok(m.clone());
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone())?;
        let metadata = Arc::new(CoreProviderMetadata::discover_async(issuer, &self.http).await?);
        *self.metadata.write().await = Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    fn client(
        &self,
        metadata: &CoreProviderMetadata,
    ) -> anyhow::Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
    > {
        Ok(CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(self.settings.client_id.clone()),
            self.settings.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(RedirectUrl::new(self.settings.redirect_url.clone())?))
    }
}

/// `?next=` of the sign-in link.
#[derive(Deserialize)]
pub struct Start {
    #[serde(default)]
    next: Option<String>,
}

fn sso_error(flash: Flash) -> Response {
    Redirect::to(&format!("/login?flash={}", flash.code())).into_response()
}

/// `GET /auth/oidc/login`: sends the browser to the identity provider.
pub async fn start(State(state): State<AppState>, Query(start): Query<Start>) -> Response {
    let Some(oidc) = state.oidc.clone() else {
        return ApiError::NotFound("single sign-on is not configured".to_owned()).into_response();
    };
    match begin(&state, &oidc, start.next).await {
        Ok(response) => response,
        Err(error) => {
            tracing::warn!(error = %error, "single sign-on could not start");
            sso_error(Flash::SsoUnavailable)
        }
    }
}

async fn begin(state: &AppState, oidc: &Oidc, next: Option<String>) -> anyhow::Result<Response> {
    let metadata = oidc.metadata().await?;
    let client = oidc.client(&metadata)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".to_owned()))
        .add_scope(Scope::new("profile".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    let next = next
        .filter(|n| app::pages::login::safe_next(n) && !n.starts_with("/login"))
        .unwrap_or_else(|| "/".to_owned());
    let secret = SessionSecret::generate()?;
    let flow = serde_json::json!({
        "oidc": {
            "state": csrf.secret(),
            "nonce": nonce.secret(),
            "verifier": verifier.secret(),
            "next": next,
        }
    });
    let mut conn = state.pool.acquire().await?;
    db::users::create_pending_flow(&mut conn, &secret.hash(), &flow, FLOW_SECONDS).await?;
    let cookie = session::http_only_cookie(
        COOKIE,
        secret.expose(),
        FLOW_PATH,
        FLOW_SECONDS,
        state.auth.secure_cookies,
    );
    let mut response = Redirect::to(url.as_str()).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// What the provider sends back.
#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /auth/oidc/callback`: verifies the answer, signs the user in.
pub async fn callback(
    State(state): State<AppState>,
    Query(answer): Query<Callback>,
    request: Request,
) -> Response {
    let Some(oidc) = state.oidc.clone() else {
        return ApiError::NotFound("single sign-on is not configured".to_owned()).into_response();
    };
    let ip = client_ip(request.extensions());
    let presented = session::presented(request.headers(), &state.auth);
    let flow = session::secret_cookie(request.headers(), COOKIE);
    let outcome = finish(&state, &oidc, answer, flow, presented, ip).await;
    let clear = session::http_only_cookie(COOKIE, "", FLOW_PATH, 0, state.auth.secure_cookies);
    let mut response = match outcome {
        Ok(response) => response,
        Err(Refusal::User(code, reason)) => {
            tracing::info!(reason, "single sign-on refused");
            let mut conn = match state.pool.acquire().await {
                Ok(c) => c,
                Err(e) => return ApiError::from(e).into_response(),
            };
            let _ = db::audit::record(
                &mut conn,
                Event {
                    actor: Actor::Anonymous,
                    action: "login_failed",
                    target: None,
                    cluster_id: None,
                    ip,
                    details: serde_json::json!({ "method": "oidc", "reason": reason }),
                },
            )
            .await;
            sso_error(code)
        }
        Err(Refusal::Internal(error)) => {
            tracing::warn!(error = %error, "single sign-on failed");
            sso_error(Flash::SsoUnavailable)
        }
    };
    response.headers_mut().append(header::SET_COOKIE, clear);
    response
}

enum Refusal {
    /// The user cannot be signed in (what the sign-in page says, the reason for the log).
    User(Flash, String),
    /// Something failed on the way.
    Internal(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Refusal {
    fn from(e: E) -> Self {
        Refusal::Internal(e.into())
    }
}

fn refuse(flash: Flash, reason: impl Into<String>) -> Refusal {
    Refusal::User(flash, reason.into())
}

/// The values of `claim` (a dotted path) in the ID token's payload: a string or a list.
pub fn claim_values(payload: &serde_json::Value, claim: &str) -> Vec<String> {
    let mut at = payload;
    for part in claim.split('.') {
        match at.get(part) {
            Some(v) => at = v,
            None => return Vec::new(),
        }
    }
    match at {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

async fn finish(
    state: &AppState,
    oidc: &Oidc,
    answer: Callback,
    flow: Option<String>,
    presented: Option<String>,
    ip: Option<std::net::IpAddr>,
) -> Result<Response, Refusal> {
    if let Some(error) = answer.error {
        return Err(refuse(
            Flash::SsoDenied,
            format!("the provider answered '{error}'"),
        ));
    }
    let flow =
        flow.ok_or_else(|| refuse(Flash::SsoExpired, "no sign-in in progress (cookie missing)"))?;
    let mut conn = state.pool.acquire().await?;
    // single use: the pending flow is deleted as it is read
    let data = db::users::take_pending_flow(&mut conn, &session::hash(&flow))
        .await?
        .ok_or_else(|| refuse(Flash::SsoExpired, "the sign-in expired or was already used"))?;
    // not held across the provider's answer, nor beside the transaction below
    drop(conn);
    let pending = &data["oidc"];
    let text = |k: &str| pending[k].as_str().unwrap_or_default().to_owned();
    let expected_state = text("state");
    let got_state = answer.state.unwrap_or_default();
    if expected_state.is_empty()
        || !bool::from(expected_state.as_bytes().ct_eq(got_state.as_bytes()))
    {
        return Err(refuse(Flash::SsoExpired, "the state does not match"));
    }
    let code = answer
        .code
        .ok_or_else(|| refuse(Flash::SsoDenied, "the provider sent no code"))?;

    let metadata = oidc.metadata().await?;
    let client = oidc.client(&metadata)?;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))?
        .set_pkce_verifier(PkceCodeVerifier::new(text("verifier")))
        .request_async(&oidc.http)
        .await
        .map_err(|e| refuse(Flash::SsoDenied, format!("the code exchange failed: {e}")))?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| refuse(Flash::SsoDenied, "the provider sent no ID token"))?;
    let nonce = Nonce::new(text("nonce"));
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .map_err(|e| refuse(Flash::SsoDenied, format!("the ID token is not valid: {e}")))?;
    // the signature is verified: the payload's other claims can be read
    let payload = id_token
        .to_string()
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .unwrap_or_default();
    let issuer = claims.issuer().to_string();
    let subject = claims.subject().to_string();
    let email = claims
        .email()
        .map(|e| e.to_string())
        .ok_or_else(|| refuse(Flash::SsoNoEmail, "the ID token carries no e-mail address"))?;
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.to_string())
        .unwrap_or_default();
    let values = claim_values(&payload, &oidc.settings.roles_claim);
    let role = oidc.settings.role_for(&values).ok_or_else(|| {
        refuse(
            Flash::SsoNoRole,
            format!("no role is mapped for {values:?}"),
        )
    })?;

    let mut tx = state.pool.begin().await?;
    let user = match db::users::find_by_oidc(&mut tx, &issuer, &subject).await? {
        Some(user) => {
            if user.disabled_at.is_some() {
                return Err(refuse(Flash::AccountDisabled, "the account is disabled"));
            }
            if user.role != role.as_str() {
                db::users::set_role(&mut tx, user.id, role).await?;
                db::audit::record(
                    &mut tx,
                    Event {
                        actor: Actor::Anonymous,
                        action: "user.role_change",
                        target: Some(("user", user.id.to_string())),
                        cluster_id: None,
                        ip,
                        details: serde_json::json!({
                            "from": user.role, "to": role.as_str(), "by": "identity provider"
                        }),
                    },
                )
                .await?;
            }
            user.id
        }
        None => {
            if db::users::find_by_email(&mut tx, &email).await?.is_some() {
                // never take over an existing account by e-mail address alone
                return Err(refuse(
                    Flash::SsoConflict,
                    "a local account already uses this e-mail address",
                ));
            }
            let id =
                db::users::create_oidc(&mut tx, &email, &name, role, &issuer, &subject).await?;
            db::audit::record(
                &mut tx,
                Event {
                    actor: Actor::Anonymous,
                    action: "user.create",
                    target: Some(("user", id.to_string())),
                    cluster_id: None,
                    ip,
                    details: serde_json::json!({
                        "email": email, "role": role.as_str(), "by": "identity provider"
                    }),
                },
            )
            .await?;
            id
        }
    };
    let secret = SessionSecret::generate()?;
    if let Some(old) = presented {
        db::users::delete_session(&mut tx, &session::hash(&old)).await?;
    }
    let absolute = i64::try_from(state.auth.session_absolute.as_secs()).unwrap_or(i64::MAX);
    db::users::create_session(&mut tx, &secret.hash(), user, absolute).await?;
    db::users::touch_login(&mut tx, user).await?;
    db::audit::record(
        &mut tx,
        Event {
            actor: Actor::User {
                id: user,
                email: email.clone(),
            },
            action: "login",
            target: Some(("user", user.to_string())),
            cluster_id: None,
            ip,
            details: serde_json::json!({ "method": "oidc", "issuer": issuer }),
        },
    )
    .await?;
    tx.commit().await?;
    let next = text("next");
    let next = if app::pages::login::safe_next(&next) {
        next
    } else {
        "/".to_owned()
    };
    let mut response = Redirect::to(&next).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session::set_cookie(&secret, &state.auth),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_maps_parse_and_the_most_powerful_match_wins() {
        let map = OidcSettings::parse_role_map("secops=manager, admins=admin,viewers=executive")
            .expect("valid");
        let settings = OidcSettings {
            issuer: String::new(),
            client_id: String::new(),
            client_secret: None,
            redirect_url: String::new(),
            roles_claim: "groups".into(),
            role_map: map,
            default_role: None,
        };
        let v = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            settings.role_for(&v(&["viewers", "secops"])),
            Some(Role::Manager)
        );
        assert_eq!(settings.role_for(&v(&["admins"])), Some(Role::Admin));
        assert_eq!(settings.role_for(&v(&["other"])), None);
        assert!(OidcSettings::parse_role_map("x=root").is_err());
        assert!(OidcSettings::parse_role_map("nonsense").is_err());
    }

    #[test]
    fn claims_are_read_by_dotted_path() {
        let payload = serde_json::json!({
            "groups": ["a", "b"], "role": "c", "realm_access": {"roles": ["d"]}
        });
        assert_eq!(claim_values(&payload, "groups"), vec!["a", "b"]);
        assert_eq!(claim_values(&payload, "role"), vec!["c"]);
        assert_eq!(claim_values(&payload, "realm_access.roles"), vec!["d"]);
        assert!(claim_values(&payload, "missing.path").is_empty());
    }
}
