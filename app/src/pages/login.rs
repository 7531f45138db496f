//! Sign-in: a plain HTML form posted to `/login` (works without JavaScript, and the server
//! sets the session cookie and limits attempts). The server answers with a redirect: to `next`
//! on success, back here with a [`crate::model::Flash`] otherwise.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query;

use crate::api::session::get_sign_in_options;
use crate::components::async_region::AsyncRegion;
use crate::components::flash::FlashMessage;
use crate::components::format;
use crate::error::AppError;
use crate::model::LoginQuery;
use crate::resource::resource;

/// The sign-in page.
#[component]
pub fn Login() -> impl IntoView {
    let query = use_query::<LoginQuery>();
    let applied = Memo::new(move |_| query.get().unwrap_or_default());
    let next = move || {
        applied
            .read()
            .next
            .get()
            .filter(|n| safe_next(n))
            .cloned()
            .unwrap_or_else(|| "/".to_owned())
    };
    let flash = Signal::derive(move || applied.read().flash());
    let options = resource(|| (), |_| get_sign_in_options());
    let sso_href = move || format!("/auth/oidc/login?next={}", format::query_value(&next()));
    view! {
        <Title text="Sign in" />
        <section class="card auth-card" aria-labelledby="login-heading">
            <h1 id="login-heading">"Sign in to Bulwark"</h1>
            <FlashMessage flash id="login-flash" />
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
                    aria-describedby=move || flash.get().map(|_| "login-flash")
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
            <AsyncRegion>
                {move || Suspend::new(async move {
                    let sso = options.await?.single_sign_on;
                    Ok::<_, AppError>(sso.then(|| view! {
                        <p class="sso">
                            // a server route, not a page: the router must not handle it
                            <a class="button-link" href=sso_href rel="external">
                                "Sign in with single sign-on"
                            </a>
                        </p>
                    }))
                })}
            </AsyncRegion>
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
