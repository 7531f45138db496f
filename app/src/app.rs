//! The HTML shell and the one route table.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::components::layout::Layout;
use crate::pages::not_found::NotFound;
use crate::pages::overview::Overview;

/// The document around every server-rendered page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
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

/// The application: layout and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
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
            <Layout>
                <Routes fallback=NotFound>
                    // Async: the server answers with the complete page, so every page works with
                    // JavaScript off and the status code can depend on the data.
                    <Route path=path!("/") view=Overview ssr=SsrMode::Async />
                </Routes>
            </Layout>
        </Router>
    }
}
