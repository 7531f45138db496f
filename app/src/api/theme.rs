//! Remembering the colour theme: the header's switch posts here when JavaScript is off (with
//! JavaScript the switch sets the cookie in the page and never calls this).

use leptos::prelude::*;

use crate::error::AppError;

/// Remembers `theme` (`light`, `dark` or `system`) in the `theme` cookie and sends the browser
/// back to `next`, the page the switch was on (a path on this site; anything else goes to `/`).
/// Open to visitors too: the sign-in page has the switch, and a theme is no one's secret.
#[server(prefix = "/rpc", endpoint = "theme/set")]
pub async fn set_theme(theme: String, next: Option<String>) -> Result<(), AppError> {
    use crate::model::Theme;

    let theme = Theme::parse(&theme).ok_or_else(|| {
        AppError::BadRequest("The theme must be light, dark or system.".to_owned())
    })?;
    let cookie = http::HeaderValue::from_str(&theme.cookie())
        .map_err(|_| AppError::Internal("theme-cookie".to_owned()))?;
    let response = use_context::<leptos_axum::ResponseOptions>()
        .ok_or_else(|| AppError::Internal("response-options-missing".to_owned()))?;
    response.append_header(http::header::SET_COOKIE, cookie);
    let next = next
        .filter(|n| crate::pages::login::safe_next(n))
        .unwrap_or_else(|| "/".to_owned());
    leptos_axum::redirect(&next);
    Ok(())
}
