//! The HTML shell and the one route table.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{Lazy, LazyRoute, SsrMode, lazy_route, path};

use crate::api::session::get_viewer;
use crate::api::theme::SetTheme;
use crate::components::layout::Layout;
use crate::model::Theme;
use crate::pages::account::Account;
use crate::pages::approvals::Approvals;
use crate::pages::audit::Audit;
use crate::pages::estate::EstatePage;
use crate::pages::events::Events;
use crate::pages::finding::Finding;
use crate::pages::findings::Findings;
use crate::pages::image::ImagePage;
use crate::pages::login::Login;
use crate::pages::not_found::NotFound;
use crate::pages::overview::Overview;
use crate::pages::sla::SlaSettings;
use crate::pages::tokens::Tokens;
use crate::resource::resource;

/// The document around every server-rendered page, in the theme the reader chose (the
/// `theme` cookie): `<html data-theme>` is there in the first byte of the page, so nothing
/// flashes while the stylesheet and the script load. Without a choice there is no attribute
/// and the stylesheet follows the system.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let theme = chosen_theme();
    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=theme.attribute()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content=theme.color_scheme() />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Where the theme switch posts without JavaScript.
const SET_THEME: &str = <SetTheme as leptos::server_fn::ServerFn>::PATH;

/// The application: layout and routes. Owns the one resource of the frame: who is signed in.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let viewer = resource(|| (), |_| get_viewer());
    let theme = chosen_theme();
    // Effects run only in the browser: this marks the page as interactive (used by the browser
    // tests to know hydration finished).
    Effect::new(move |_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/bulwark.css" />
        <Title formatter=|page: String| format!("{page} · Bulwark") />
        <Router>
            <Layout viewer theme theme_action=SET_THEME>
                <Routes fallback=NotFound>
                    // Async: the server answers with the complete page, so every page works with
                    // JavaScript off and the status code can depend on the data.
                    <Route path=path!("/") view={Lazy::<OverviewRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/login") view={Lazy::<LoginRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/account") view={Lazy::<AccountRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/audit") view={Lazy::<AuditRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/findings") view={Lazy::<FindingsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/findings/:cluster_id/:finding_id") view={Lazy::<FindingRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/estate") view={Lazy::<EstateRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/images/:id") view={Lazy::<ImageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/events") view={Lazy::<EventsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/settings/tokens") view={Lazy::<TokensRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/settings/sla") view={Lazy::<SlaSettingsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/approvals") view={Lazy::<ApprovalsRoute>::new()} ssr=SsrMode::Async />
                </Routes>
            </Layout>
        </Router>
    }
}

macro_rules! lazy_page {
    ($route:ident => $page:ident) => {
        struct $route;
        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }
            fn view(_this: Self) -> AnyView {
                view! { <$page /> }.into_any()
            }
        }
    };
}
lazy_page!(OverviewRoute => Overview);
lazy_page!(LoginRoute => Login);
lazy_page!(AccountRoute => Account);
lazy_page!(AuditRoute => Audit);
lazy_page!(FindingsRoute => Findings);
lazy_page!(FindingRoute => Finding);
lazy_page!(EstateRoute => EstatePage);
lazy_page!(ImageRoute => ImagePage);
lazy_page!(EventsRoute => Events);
lazy_page!(TokensRoute => Tokens);
lazy_page!(SlaSettingsRoute => SlaSettings);
lazy_page!(ApprovalsRoute => Approvals);

/// The theme the reader chose: on the server from the request's `theme` cookie, in the browser
/// from what the server rendered (so that hydration agrees with the server's markup).
fn chosen_theme() -> Theme {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .map(|parts| {
                Theme::from_cookies(
                    parts
                        .headers
                        .get_all(http::header::COOKIE)
                        .iter()
                        .filter_map(|v| v.to_str().ok()),
                )
            })
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        crate::components::theme::rendered_theme()
    }
}

/// The Content-Security-Policy of a page: scripts only from this origin or carrying this
/// response's nonce (Leptos puts it on its hydration scripts), WebAssembly compilation allowed,
/// no plugins, no framing, forms only to this origin. The server's security-headers layer
/// sends it with every page, with the nonce it made for the request and gave the render.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}
