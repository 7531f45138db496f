//! Sign-in: a plain HTML form posted to `/login` (works without JavaScript). The server answers
//! with a redirect: to `next` on success, back here with `?error=` otherwise.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::session::get_sign_in_options;
use crate::components::format;

/// The sign-in page.
#[component]
pub fn Login() -> impl IntoView {
    let query = use_query_map();
    let next = move || {
        query
            .read()
            .get("next")
            .filter(|n| safe_next(n))
            .unwrap_or_else(|| "/".to_owned())
    };
    let message = move || {
        query.read().get("error").map(|e| match e.as_str() {
            "invalid" => "The e-mail address or the password is wrong.",
            "throttled" => "Too many failed attempts. Wait a few minutes before trying again.",
            "missing" => "Enter your e-mail address and your password.",
            "expired" => "Your session has ended. Please sign in again.",
            "sso_unavailable" => {
                "Single sign-on is unavailable right now. Try again, or sign in with a local account."
            }
            "sso_denied" => "The identity provider did not confirm who you are.",
            "sso_state" => "That single sign-on attempt expired or was already used. Start again.",
            "sso_role" => {
                "Your account at the identity provider has no role in Bulwark. Ask an administrator."
            }
            "sso_email" => "The identity provider did not share your e-mail address.",
            "sso_conflict" => {
                "A local account already uses your e-mail address. Ask an administrator to link them."
            }
            "sso_disabled" => "Your account is disabled.",
            _ => "Signing in failed. Please try again.",
        })
    };
    let signed_out = move || query.read().get("signed_out").is_some();
    let options = Resource::new(|| (), |_| get_sign_in_options());
    let sso_href = move || format!("/auth/oidc/login?next={}", format::query_value(&next()));
    view! {
        <Title text="Sign in" />
        <section class="card auth-card" aria-labelledby="login-heading">
            <h1 id="login-heading">"Sign in to Bulwark"</h1>
            {move || message().map(|m| view! { <p class="alert" role="alert" id="login-error">{m}</p> })}
            {move || signed_out().then(|| view! { <p class="notice" role="status">"You have signed out."</p> })}
            <form method="post" action="/login" class="stack">
                <input type="hidden" name="next" value=next />
                <label for="login-email">"E-mail address"</label>
                <input
                    id="login-email"
                    name="email"
                    type="email"
                    autocomplete="username"
                    required
                    autofocus
                    aria-describedby=move || message().map(|_| "login-error")
                />
                <label for="login-password">"Password"</label>
                <input
                    id="login-password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required
                />
                <button type="submit">"Sign in"</button>
            </form>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let sso = options.await.map(|o| o.single_sign_on).unwrap_or(false);
                    sso.then(|| view! {
                        <p class="sso">
                            // a server route, not a page: the router must not handle it
                            <a class="button-link" href=sso_href rel="external">
                                "Sign in with single sign-on"
                            </a>
                        </p>
                    })
                })}
            </Transition>
        </section>
    }
}

/// Whether `next` is a path on this site (not `//host` or a scheme), so that signing in never
/// redirects elsewhere. The server applies the same rule.
pub fn safe_next(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert!(safe_next("/"));
        assert!(safe_next("/audit?action=login"));
        assert!(!safe_next("//evil.example/"));
        assert!(!safe_next("/\\evil.example"));
        assert!(!safe_next("https://evil.example/"));
        assert!(!safe_next("/\nSet-Cookie: x"));
        assert!(!safe_next(""));
    }
}
