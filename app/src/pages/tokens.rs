//! API tokens (administrators and managers): the list with revoke buttons and the form that
//! creates one. Both post plain forms to the server's handlers (`/settings/tokens/new`,
//! `/settings/tokens/revoke`): creating answers with the new secret, shown once, in the
//! response itself; revoking and refusals redirect back here with a [`crate::model::Flash`].

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::tokens::get_tokens;
use crate::components::async_region::AsyncRegion;
use crate::components::flash::{FlashMessage, use_flash};
use crate::components::format;
use crate::components::table::{Column, DataTable};
use crate::error::AppError;
use crate::model::TokenSummary;
use crate::resource::resource;

/// The token settings page.
#[component]
pub fn Tokens() -> impl IntoView {
    let tokens = resource(|| (), |_| get_tokens());
    view! {
        <Title text="API tokens" />
        <h1>"API tokens"</h1>
        <FlashMessage flash=use_flash() />
        <section class="card" aria-labelledby="new-token-heading">
            <h2 id="new-token-heading">"New token"</h2>
            <form method="post" action="/settings/tokens/new" class="filters">
                <label>"Name" <input type="text" name="name" required maxlength="100" /></label>
                <label>
                    "May"
                    <select name="scope">
                        <option value="ingest">"send reports (ingest)"</option>
                        <option value="read">"read findings (REST API)"</option>
                    </select>
                </label>
                <label>"Source (ingest)" <input type="text" name="source" /></label>
                <label>"Cluster (optional)" <input type="text" name="cluster" /></label>
                <label>"Expires in days (optional)" <input type="number" name="expires_days" min="1" max="3650" /></label>
                <button type="submit">"Create token"</button>
            </form>
        </section>
        <AsyncRegion>
            {move || Suspend::new(async move {
                let tokens = tokens.await?;
                Ok::<_, AppError>(view! {
                    <DataTable
                        id="tokens"
                        title="Tokens"
                        label="Tokens table"
                        columns=vec![
                            Column::new("Name"),
                            Column::new("Prefix"),
                            Column::new("May"),
                            Column::new("Source"),
                            Column::new("Cluster"),
                            Column::new("Created"),
                            Column::new("Last used"),
                            Column::new("State"),
                            Column::hidden("Actions"),
                        ]
                        rows=tokens
                        row=token_row
                        empty="No tokens yet."
                        hint=|| "Create one above, or on the command line with bulwark token create."
                        testid="tokens-table"
                    />
                })
            })}
        </AsyncRegion>
    }
}

fn token_row(t: TokenSummary) -> impl IntoView {
    let state = match (t.revoked_at, t.expires_at) {
        (Some(at), _) => format!("revoked {}", format::timestamp(at)),
        (None, Some(at)) => format!("expires {}", format::timestamp(at)),
        (None, None) => "live".to_owned(),
    };
    let live = t.revoked_at.is_none();
    let label = format!("Revoke token {}", t.name);
    view! {
        <tr>
            <td class="wrap">{t.name.clone()}</td>
            <td><code>{t.prefix}"…"</code></td>
            <td>{t.scopes.join(", ")}</td>
            <td class="wrap">{t.source.unwrap_or_default()}</td>
            <td>{t.cluster.unwrap_or_else(|| "all".to_owned())}</td>
            <td class="wrap">{format::timestamp(t.created_at)}</td>
            <td class="wrap">
                {t.last_used_at.map(format::timestamp).unwrap_or_else(|| "never".to_owned())}
            </td>
            <td class="wrap">{state}</td>
            <td>
                {live.then(|| view! {
                    <form method="post" action="/settings/tokens/revoke">
                        <input type="hidden" name="id" value=t.id.to_string() />
                        <button type="submit" class="link-button" aria-label=label>"Revoke"</button>
                    </form>
                })}
            </td>
        </tr>
    }
}
