//! The signed-in user's account: who they are, and changing their password (a plain form
//! posted to `/account/password`; the server redirects back with a [`crate::model::Flash`]).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::session::get_viewer;
use crate::components::async_region::AsyncRegion;
use crate::components::flash::{FlashMessage, use_flash};
use crate::error::AppError;
use crate::resource::resource;

/// The account page.
#[component]
pub fn Account() -> impl IntoView {
    let viewer = resource(|| (), |_| get_viewer());
    view! {
        <Title text="Account" />
        <h1>"Your account"</h1>
        <AsyncRegion>
            {move || Suspend::new(async move {
                let viewer = viewer.await?.ok_or(AppError::Unauthorized)?;
                Ok::<_, AppError>(view! {
                    <section class="card" aria-labelledby="who-heading">
                        <h2 id="who-heading">"Signed in as"</h2>
                        <dl class="facts">
                            <dt>"Name"</dt><dd>{viewer.name.clone()}</dd>
                            <dt>"E-mail"</dt><dd data-testid="account-email">{viewer.email.clone()}</dd>
                            <dt>"Role"</dt><dd data-testid="account-role">{viewer.role.label()}</dd>
                            <dt>"Clusters"</dt>
                            <dd>{match &viewer.clusters {
                                None => "all".to_owned(),
                                Some(c) => format!("limited to {} cluster(s)", c.len()),
                            }}</dd>
                        </dl>
                    </section>
                })
            })}
        </AsyncRegion>
        <section class="card auth-card" aria-labelledby="password-heading">
            <h2 id="password-heading">"Change password"</h2>
            <FlashMessage flash=use_flash() />
            <form method="post" action="/account/password" class="stack">
                <label for="pw-current">"Current password"</label>
                <input id="pw-current" name="current" type="password" autocomplete="current-password" required />
                <label for="pw-new">"New password (at least 12 characters)"</label>
                <input id="pw-new" name="new" type="password" autocomplete="new-password" minlength="12" required />
                <label for="pw-confirm">"Repeat the new password"</label>
                <input id="pw-confirm" name="confirm" type="password" autocomplete="new-password" minlength="12" required />
                <button type="submit">"Change password"</button>
            </form>
        </section>
    }
}
