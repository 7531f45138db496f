//! The theme switch in the page header: Light, Dark, System. Without JavaScript it is a form
//! whose buttons post the choice (the server remembers it in a cookie and sends the browser
//! back); once hydrated, a press switches at once, in the page, without a reload: it sets the
//! document's `data-theme` and the same cookie. The palette itself lives in `style/main.css`;
//! the tests here hold it to its promises (the dark palette written the same twice, contrast).

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::model::Theme;

/// The switch. `initial` is the theme the page was rendered in; `action` is the URL the form
/// posts to without JavaScript (the server function's, passed in by the `App`).
#[component]
pub fn ThemeSwitch(initial: Theme, action: &'static str) -> impl IntoView {
    let chosen = RwSignal::new(initial);
    let location = use_location();
    let next = move || format!("{}{}", location.pathname.get(), location.search.get());
    view! {
        <form class="theme-switch" method="post" action=action>
            <fieldset>
                <legend class="visually-hidden">"Colour theme"</legend>
                <input type="hidden" name="next" value=next />
                {Theme::ALL
                    .into_iter()
                    .map(|theme| {
                        view! {
                            <button
                                type="submit"
                                name="theme"
                                value=theme.slug()
                                aria-pressed=move || (chosen.get() == theme).to_string()
                                on:click=move |ev| {
                                    ev.prevent_default();
                                    chosen.set(theme);
                                    browser::apply(theme);
                                }
                            >
                                {theme.label()}
                            </button>
                        }
                    })
                    .collect_view()}
            </fieldset>
        </form>
    }
}

/// The theme the page shows in the browser: what the server rendered on `<html>`.
pub fn rendered_theme() -> Theme {
    document()
        .document_element()
        .and_then(|root| root.get_attribute("data-theme"))
        .and_then(|value| Theme::parse(&value))
        .unwrap_or_default()
}

/// Switching in the page: the attribute the stylesheet reads, the colour-scheme meta, and the
/// cookie the server reads on the next request.
#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::document;
    use leptos::wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::wasm_bindgen;

    use crate::model::Theme;

    #[wasm_bindgen]
    extern "C" {
        /// The document, as far as its `cookie` property goes.
        type CookieJar;
        #[wasm_bindgen(method, setter = cookie)]
        fn set_cookie(this: &CookieJar, value: &str);
    }

    pub fn apply(theme: Theme) {
        let doc = document();
        if let Some(root) = doc.document_element() {
            let _ = match theme.attribute() {
                Some(value) => root.set_attribute("data-theme", value),
                None => root.remove_attribute("data-theme"),
            };
        }
        if let Ok(Some(meta)) = doc.query_selector(r#"meta[name="color-scheme"]"#) {
            let _ = meta.set_attribute("content", theme.color_scheme());
        }
        doc.unchecked_into::<CookieJar>()
            .set_cookie(&theme.cookie());
    }
}

/// On the server a press never happens: the form posts instead.
#[cfg(not(feature = "hydrate"))]
mod browser {
    use crate::model::Theme;

    pub fn apply(_theme: Theme) {}
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    const CSS: &str = include_str!("../../../style/main.css");

    /// The `--name: #rrggbb` tokens of the palette that starts at byte `from`.
    fn palette(from: usize) -> BTreeMap<&'static str, &'static str> {
        let block = &CSS[from..];
        let block = &block[..block.find("color-scheme").expect("palette ends")];
        block
            .lines()
            .filter_map(|l| l.trim().strip_prefix("--"))
            .filter_map(|l| l.trim_end_matches(';').split_once(": "))
            .filter(|(_, v)| v.starts_with('#'))
            .collect()
    }

    fn palettes() -> Vec<BTreeMap<&'static str, &'static str>> {
        CSS.match_indices("/* theme: ")
            .map(|(at, _)| palette(at))
            .collect()
    }

    fn luminance(hex: &str) -> f64 {
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).expect("hex colour")) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (a, b) = (luminance(a), luminance(b));
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    #[test]
    fn the_dark_palette_is_the_same_for_the_system_and_for_the_reader() {
        let all = palettes();
        assert_eq!(all.len(), 3, "light, dark (system), dark (chosen)");
        assert_eq!(all[1], all[2]);
        assert_eq!(
            all[0].keys().collect::<Vec<_>>(),
            all[1].keys().collect::<Vec<_>>(),
            "both themes define every colour"
        );
        assert!(all[0].len() >= 39, "every colour is a token");
    }

    #[test]
    fn text_and_marks_keep_their_contrast_in_both_themes() {
        let surfaces = ["bg", "surface", "surface-2"];
        let mut text = vec![("on-accent", "accent")];
        for fg in [
            "text",
            "text-muted",
            "link",
            "provider-aws",
            "provider-gcp",
            "provider-azure",
            "provider-onprem",
            "provider-other",
        ] {
            text.extend(surfaces.map(|bg| (fg, bg)));
        }
        let severities = ["critical", "high", "medium", "low", "unknown"];
        let badges: Vec<(String, String)> = severities
            .iter()
            .flat_map(|s| {
                [
                    (format!("sev-{s}"), format!("sev-{s}-bg")),
                    ("text".to_owned(), format!("sev-{s}-bg")),
                ]
            })
            .collect();
        let mut marks: Vec<(String, String)> = severities
            .iter()
            .map(|s| format!("sev-{s}"))
            .chain(
                [
                    "open", "new", "fixed", "overdue", "accepted", "1", "2", "3", "4", "5", "6",
                ]
                .iter()
                .map(|s| format!("series-{s}")),
            )
            .chain(["chart-axis", "border-strong"].map(str::to_owned))
            .map(|fg| (fg, "surface".to_owned()))
            .collect();
        marks.extend(surfaces.map(|bg| ("focus".to_owned(), bg.to_owned())));

        for palette in palettes() {
            let ratio = |fg: &str, bg: &str| contrast(palette[fg], palette[bg]);
            for (fg, bg) in &text {
                assert!(ratio(fg, bg) >= 4.5, "{fg} on {bg}: {:.2}", ratio(fg, bg));
            }
            for (fg, bg) in &badges {
                assert!(ratio(fg, bg) >= 4.5, "{fg} on {bg}: {:.2}", ratio(fg, bg));
            }
            for (fg, bg) in &marks {
                assert!(ratio(fg, bg) >= 3.0, "{fg} on {bg}: {:.2}", ratio(fg, bg));
            }
        }
    }

    #[test]
    fn contrast_is_computed_as_wcag_defines_it() {
        assert!((contrast("#000000", "#ffffff") - 21.0).abs() < 1e-9);
        assert!((contrast("#777777", "#ffffff") - 4.48).abs() < 0.01);
    }
}
