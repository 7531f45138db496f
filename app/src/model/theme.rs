//! The colour theme a reader chose, and how it travels: the `theme` cookie (set by the header's
//! switch), read by the server to render `<html data-theme>` so that nothing flashes on load.

/// Light, dark, or whatever the system prefers (no cookie, no attribute: the stylesheet follows
/// `prefers-color-scheme`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Theme {
    /// Follow the system.
    #[default]
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

impl Theme {
    /// Every choice, in the order the switch offers them.
    pub const ALL: [Theme; 3] = [Theme::Light, Theme::Dark, Theme::System];

    /// The name of the cookie that remembers the choice.
    pub const COOKIE: &'static str = "theme";

    /// How long the choice is remembered: a year, in seconds.
    pub const COOKIE_MAX_AGE: u32 = 365 * 24 * 60 * 60;

    /// Reads `light`, `dark` or `system` (as the form and the cookie spell it).
    pub fn parse(word: &str) -> Option<Theme> {
        match word {
            "light" => Some(Theme::Light),
            "dark" => Some(Theme::Dark),
            "system" => Some(Theme::System),
            _ => None,
        }
    }

    /// The form and cookie value.
    pub fn slug(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    /// The switch's button text.
    pub fn label(self) -> &'static str {
        match self {
            Theme::System => "System",
            Theme::Light => "Light",
            Theme::Dark => "Dark",
        }
    }

    /// The document's `data-theme` value; none when following the system.
    pub fn attribute(self) -> Option<&'static str> {
        match self {
            Theme::System => None,
            Theme::Light => Some("light"),
            Theme::Dark => Some("dark"),
        }
    }

    /// The `<meta name="color-scheme">` content: the schemes the page may be drawn in.
    pub fn color_scheme(self) -> &'static str {
        match self {
            Theme::System => "light dark",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    /// The choice in `Cookie` header values (`a=1; theme=dark`); the system's when there is
    /// none or it is not a theme.
    pub fn from_cookies<'a>(headers: impl IntoIterator<Item = &'a str>) -> Theme {
        headers
            .into_iter()
            .flat_map(|header| header.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == Theme::COOKIE)
            .and_then(|(_, value)| Theme::parse(value.trim()))
            .unwrap_or_default()
    }

    /// The `Set-Cookie` value (also what the browser assigns to `document.cookie`) that
    /// remembers this choice for a year, or forgets it when following the system. Not
    /// `HttpOnly`: the switch sets it from the page too.
    pub fn cookie(self) -> String {
        match self.attribute() {
            Some(value) => format!(
                "{}={value}; Path=/; Max-Age={}; SameSite=Lax",
                Theme::COOKIE,
                Theme::COOKIE_MAX_AGE
            ),
            None => format!("{}=; Path=/; Max-Age=0; SameSite=Lax", Theme::COOKIE),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Theme;

    #[test]
    fn the_choice_is_read_from_the_cookie_among_others() {
        assert_eq!(
            Theme::from_cookies(["bulwark_session=x; theme=dark"]),
            Theme::Dark
        );
        assert_eq!(
            Theme::from_cookies(["a=1", "theme=light; b=2"]),
            Theme::Light
        );
        assert_eq!(Theme::from_cookies(["mytheme=dark"]), Theme::System);
        assert_eq!(Theme::from_cookies(["theme=purple"]), Theme::System);
        assert_eq!(Theme::from_cookies([]), Theme::System);
    }

    #[test]
    fn only_the_three_words_are_themes() {
        for theme in Theme::ALL {
            assert_eq!(Theme::parse(theme.slug()), Some(theme));
        }
        assert_eq!(Theme::parse("Dark"), None);
        assert_eq!(Theme::parse("dark; Path=/evil"), None);
    }

    #[test]
    fn a_choice_is_kept_a_year_and_following_the_system_forgets_it() {
        assert_eq!(
            Theme::Dark.cookie(),
            "theme=dark; Path=/; Max-Age=31536000; SameSite=Lax"
        );
        assert_eq!(
            Theme::System.cookie(),
            "theme=; Path=/; Max-Age=0; SameSite=Lax"
        );
        assert_eq!(Theme::System.attribute(), None);
        assert_eq!(Theme::Light.color_scheme(), "light");
        assert_eq!(Theme::System.color_scheme(), "light dark");
    }
}
