//! A small OpenID Connect identity provider for the test suite (and, as the `fake_idp` example,
//! for the browser tests): discovery, JWKS, an authorization page that lists its users, and a
//! token endpoint that checks the client, the redirect URI and PKCE before it signs an RS256
//! ID token. Its key is generated at start; nothing here is for production.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

/// Someone who can sign in at the provider.
#[derive(Clone, Debug)]
pub struct IdpUser {
    pub subject: String,
    pub email: String,
    pub name: String,
    pub groups: Vec<String>,
}

impl IdpUser {
    pub fn new(subject: &str, email: &str, name: &str, groups: &[&str]) -> Self {
        IdpUser {
            subject: subject.to_owned(),
            email: email.to_owned(),
            name: name.to_owned(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        }
    }
}

struct Grant {
    user: IdpUser,
    client_id: String,
    redirect_uri: String,
    nonce: Option<String>,
    challenge: String,
}

struct Inner {
    issuer: String,
    client_id: String,
    client_secret: String,
    users: Vec<IdpUser>,
    key: RsaPrivateKey,
    codes: Mutex<HashMap<String, Grant>>,
}

type Shared = Arc<Inner>;

const KID: &str = "fake-idp-1";

/// Serves the provider on `listener` until the task is dropped; returns its issuer URL.
pub async fn start(
    listener: TcpListener,
    client_id: &str,
    client_secret: &str,
    users: Vec<IdpUser>,
) -> String {
    let issuer = format!("http://{}", listener.local_addr().expect("bound"));
    let key = tokio::task::spawn_blocking(|| {
        RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("an RSA key")
    })
    .await
    .expect("key generation");
    let inner = Arc::new(Inner {
        issuer: issuer.clone(),
        client_id: client_id.to_owned(),
        client_secret: client_secret.to_owned(),
        users,
        key,
        codes: Mutex::new(HashMap::new()),
    });
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize_page).post(approve))
        .route("/token", axum::routing::post(token))
        .with_state(inner);
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("fake idp serves");
    });
    issuer
}

async fn discovery(State(idp): State<Shared>) -> Json<serde_json::Value> {
    let i = &idp.issuer;
    Json(serde_json::json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "email", "name", "groups"]
    }))
}

async fn jwks(State(idp): State<Shared>) -> Json<serde_json::Value> {
    let public = idp.key.to_public_key();
    Json(serde_json::json!({
        "keys": [{
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": KID,
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        }]
    }))
}

#[derive(Deserialize, Clone)]
struct AuthorizeParams {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    #[serde(default)]
    user: Option<String>,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn check(idp: &Inner, p: &AuthorizeParams) -> Result<(), String> {
    if p.response_type.as_deref() != Some("code") {
        return Err("response_type must be code".into());
    }
    if p.client_id.as_deref() != Some(idp.client_id.as_str()) {
        return Err("unknown client_id".into());
    }
    if !p
        .scope
        .as_deref()
        .unwrap_or_default()
        .split(' ')
        .any(|s| s == "openid")
    {
        return Err("scope must include openid".into());
    }
    if p.redirect_uri.is_none() {
        return Err("redirect_uri missing".into());
    }
    if p.code_challenge_method.as_deref() != Some("S256") || p.code_challenge.is_none() {
        return Err("PKCE with S256 is required".into());
    }
    Ok(())
}

async fn authorize_page(
    State(idp): State<Shared>,
    Query(params): Query<AuthorizeParams>,
) -> Response {
    if let Err(e) = check(&idp, &params) {
        return (StatusCode::BAD_REQUEST, e).into_response();
    }
    let hidden = |name: &str, value: &Option<String>| {
        value
            .as_ref()
            .map(|v| {
                format!(
                    "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                    escape(v)
                )
            })
            .unwrap_or_default()
    };
    let fields = [
        hidden("response_type", &params.response_type),
        hidden("client_id", &params.client_id),
        hidden("redirect_uri", &params.redirect_uri),
        hidden("scope", &params.scope),
        hidden("state", &params.state),
        hidden("nonce", &params.nonce),
        hidden("code_challenge", &params.code_challenge),
        hidden("code_challenge_method", &params.code_challenge_method),
    ]
    .concat();
    let buttons: String = idp
        .users
        .iter()
        .map(|u| {
            format!(
                "<li><form method=\"post\" action=\"/authorize\">{fields}\
                 <button name=\"user\" value=\"{}\">Sign in as {} ({})</button></form></li>",
                escape(&u.subject),
                escape(&u.name),
                escape(&u.groups.join(", "))
            )
        })
        .collect();
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Fake identity \
         provider</title><link rel=\"icon\" href=\"data:,\"></head><body><main><h1>Fake identity provider</h1><ul>{buttons}</ul>\
         </main></body></html>"
    ))
    .into_response()
}

fn random_code() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("random");
    URL_SAFE_NO_PAD.encode(bytes)
}

async fn approve(State(idp): State<Shared>, Form(params): Form<AuthorizeParams>) -> Response {
    if let Err(e) = check(&idp, &params) {
        return (StatusCode::BAD_REQUEST, e).into_response();
    }
    let Some(user) = idp
        .users
        .iter()
        .find(|u| Some(&u.subject) == params.user.as_ref())
        .cloned()
    else {
        return (StatusCode::BAD_REQUEST, "unknown user").into_response();
    };
    let code = random_code();
    let redirect_uri = params.redirect_uri.clone().unwrap_or_default();
    idp.codes.lock().expect("codes").insert(
        code.clone(),
        Grant {
            user,
            client_id: params.client_id.clone().unwrap_or_default(),
            redirect_uri: redirect_uri.clone(),
            nonce: params.nonce.clone(),
            challenge: params.code_challenge.clone().unwrap_or_default(),
        },
    );
    let state = params
        .state
        .as_deref()
        .map(app::components::format::query_value)
        .unwrap_or_default();
    Redirect::to(&format!("{redirect_uri}?code={code}&state={state}")).into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn token_error(error: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({ "error": error })),
    )
        .into_response()
}

/// Client credentials from HTTP Basic (form-urlencoded parts, RFC 6749 2.3.1) or the form.
fn client_credentials(headers: &HeaderMap, form: &TokenForm) -> Option<(String, String)> {
    let decode = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        let raw = String::from_utf8(STANDARD.decode(basic).ok()?).ok()?;
        let (id, secret) = raw.split_once(':')?;
        return Some((decode(id), decode(secret)));
    }
    Some((form.client_id.clone()?, form.client_secret.clone()?))
}

async fn token(
    State(idp): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    if form.grant_type.as_deref() != Some("authorization_code") {
        return token_error("unsupported_grant_type");
    }
    match client_credentials(&headers, &form) {
        Some((id, secret)) if id == idp.client_id && secret == idp.client_secret => {}
        _ => return token_error("invalid_client"),
    }
    // a code is good once
    let Some(grant) = form
        .code
        .as_ref()
        .and_then(|c| idp.codes.lock().expect("codes").remove(c))
    else {
        return token_error("invalid_grant");
    };
    if grant.client_id != idp.client_id
        || form.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str())
    {
        return token_error("invalid_grant");
    }
    let verifier = form.code_verifier.unwrap_or_default();
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.challenge {
        return token_error("invalid_grant");
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let mut claims = serde_json::json!({
        "iss": idp.issuer,
        "sub": grant.user.subject,
        "aud": idp.client_id,
        "iat": now,
        "exp": now + 300,
        "email": grant.user.email,
        "email_verified": true,
        "name": grant.user.name,
        "groups": grant.user.groups,
    });
    if let Some(nonce) = grant.nonce {
        claims["nonce"] = serde_json::Value::String(nonce);
    }
    let header = serde_json::json!({ "alg": "RS256", "typ": "JWT", "kid": KID });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signer = SigningKey::<Sha256>::new(idp.key.clone());
    let signature = signer.sign(input.as_bytes()).to_bytes();
    let id_token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature));
    Json(serde_json::json!({
        "access_token": random_code(),
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
    .into_response()
}
