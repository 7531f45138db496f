//! Session cookies. The cookie carries 32 random bytes; the database keeps only their SHA-256,
//! so a leaked `user_session` table opens no session. A new secret is issued at every sign-in
//! and password change (an id planted before sign-in is never promoted).

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};
use sha2::{Digest, Sha256};

use super::AuthSettings;

/// The cookie's name over plain HTTP.
pub const COOKIE: &str = "bulwark_session";
/// The cookie's name over HTTPS: the `__Host-` prefix pins it to this host, path `/`, Secure.
pub const SECURE_COOKIE: &str = "__Host-bulwark_session";

/// A session secret as handed to the browser.
pub struct SessionSecret(String);

impl SessionSecret {
    /// 32 fresh random bytes, hex-encoded.
    pub fn generate() -> anyhow::Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("system random generator: {e}"))?;
        Ok(SessionSecret(hex::encode(bytes)))
    }

    /// The secret itself, for the cookie.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the database stores for it.
    pub fn hash(&self) -> String {
        hash(&self.0)
    }
}

/// The stored form of a presented secret.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn name(settings: &AuthSettings) -> &'static str {
    if settings.secure_cookies {
        SECURE_COOKIE
    } else {
        COOKIE
    }
}

/// The session secret presented in the request's cookies, if it is well-formed.
pub fn presented(headers: &HeaderMap, settings: &AuthSettings) -> Option<String> {
    secret_cookie(headers, name(settings))
}

/// The value of cookie `wanted` if it is one of our secrets (64 hex digits).
pub fn secret_cookie(headers: &HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == wanted)
        .map(|cookie| cookie.value().to_owned())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `Set-Cookie` for a cookie only the server reads (`HttpOnly`, `SameSite=Lax`, `Secure` over
/// HTTPS), sent with requests under `path`, kept `max_age_secs` seconds (0 removes it).
pub fn http_only_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age_secs: i64,
    secure: bool,
) -> HeaderValue {
    let cookie = Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(cookie::time::Duration::seconds(max_age_secs));
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(secret: &SessionSecret, settings: &AuthSettings) -> HeaderValue {
    let max_age = i64::try_from(settings.session_absolute.as_secs()).unwrap_or(i64::MAX);
    http_only_cookie(
        name(settings),
        &secret.0,
        "/",
        max_age,
        settings.secure_cookies,
    )
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(settings: &AuthSettings) -> HeaderValue {
    http_only_cookie(name(settings), "", "/", 0, settings.secure_cookies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_read_back_and_malformed_ones_are_ignored() {
        let settings = AuthSettings::default();
        let secret = SessionSecret::generate().expect("random");
        let mut headers = HeaderMap::new();
        let cookie = format!("theme=dark; {COOKIE}={}; other=1", secret.0);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&cookie).expect("header"),
        );
        assert_eq!(
            presented(&headers, &settings).as_deref(),
            Some(secret.0.as_str())
        );
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("bulwark_session=abc"),
        );
        assert_eq!(presented(&headers, &settings), None);
        assert_ne!(secret.hash(), secret.0);
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_over_tls() {
        let mut settings = AuthSettings::default();
        let secret = SessionSecret::generate().expect("random");
        let plain = set_cookie(&secret, &settings);
        let plain = plain.to_str().expect("ascii");
        assert!(plain.starts_with("bulwark_session="));
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Lax"));
        assert!(!plain.contains("Secure"));
        assert!(plain.contains("Path=/") && plain.contains("Max-Age=43200"));
        settings.secure_cookies = true;
        let tls = set_cookie(&secret, &settings);
        let tls = tls.to_str().expect("ascii");
        assert!(tls.starts_with("__Host-bulwark_session=") && tls.contains("; Secure"));
        let cleared = clear_cookie(&settings);
        let cleared = cleared.to_str().expect("ascii");
        assert!(cleared.starts_with("__Host-bulwark_session=;") && cleared.contains("Max-Age=0"));
    }

    #[test]
    fn cookies_are_found_among_others_and_across_headers() {
        let secret = "ab".repeat(32);
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1;b=2"));
        let second = format!("c=3;  bulwark_oidc={secret} ; d");
        headers.append(
            header::COOKIE,
            HeaderValue::from_str(&second).expect("header"),
        );
        assert_eq!(
            secret_cookie(&headers, "bulwark_oidc").as_deref(),
            Some(secret.as_str())
        );
        assert_eq!(secret_cookie(&headers, "bulwark_session"), None);
    }
}
