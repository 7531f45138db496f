//! API tokens (administrators and managers): the list with revoke buttons and the form that
//! creates one. Both post plain forms; the new secret is shown once, by the server's answer.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::tokens::get_tokens;
use crate::components::format;
use crate::error::AppError;
use crate::model::TokenSummary;

/// The token settings page.
#[component]
pub fn Tokens() -> impl IntoView {
    let query = use_query_map();
    let tokens = Resource::new(|| (), |_| get_tokens());
    let message = move || {
        let q = query.read();
        if q.get("revoked").is_some() {
            return Some(("notice", "The token was revoked; it stops working at once."));
        }
        q.get("error").map(|e| {
            let text = match e.as_str() {
                "name" => "Give the token a name (at most 100 characters).",
                "scope" => "Choose what the token may do.",
                "source" => "An ingest token needs a source name: letters, digits and . _ : / -.",
                "source_cluster" => {
                    "That source already sends for another cluster; choose another name."
                }
                "cluster" => {
                    "Choose one of your clusters (a cluster is required when your view is limited)."
                }
                "expiry" => "The expiry must be between 1 and 3650 days.",
                "unknown" => "There is no such token.",
                _ => "The token could not be saved. Please try again.",
            };
            ("alert", text)
        })
    };
    view! {
        <Title text="API tokens" />
        <h1>"API tokens"</h1>
        {move || message().map(|(class, text)| {
            let role = if class == "alert" { "alert" } else { "status" };
            view! { <p class=class role=role>{text}</p> }
        })}
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
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let tokens = tokens.await?;
                Ok::<_, AppError>(view! { <TokenTable tokens /> })
            })}
        </Transition>
    }
}

#[component]
fn TokenTable(tokens: Vec<TokenSummary>) -> impl IntoView {
    if tokens.is_empty() {
        return view! { <section class="card"><p class="empty">"No tokens yet."</p></section> }
            .into_any();
    }
    let rows = tokens
        .into_iter()
        .map(|t| {
            let state = match (t.revoked_at, t.expires_at) {
                (Some(at), _) => format!("revoked {}", format::timestamp(at)),
                (None, Some(at)) => format!("expires {}", format::timestamp(at)),
                (None, None) => "live".to_owned(),
            };
            let live = t.revoked_at.is_none();
            let label = format!("Revoke token {}", t.name);
            view! {
                <tr>
                    <td>{t.name.clone()}</td>
                    <td><code>{t.prefix}"…"</code></td>
                    <td>{t.scopes.join(", ")}</td>
                    <td>{t.source.unwrap_or_default()}</td>
                    <td>{t.cluster.unwrap_or_else(|| "all".to_owned())}</td>
                    <td>{format::timestamp(t.created_at)}</td>
                    <td>{t.last_used_at.map(format::timestamp).unwrap_or_else(|| "never".to_owned())}</td>
                    <td>{state}</td>
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
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="tokens-heading">
            <h2 id="tokens-heading">"Tokens"</h2>
            <div class="table-wrap" tabindex="0" role="region" aria-label="Tokens table">
                <table data-testid="tokens-table">
                    <thead>
                        <tr>
                            <th scope="col">"Name"</th>
                            <th scope="col">"Prefix"</th>
                            <th scope="col">"May"</th>
                            <th scope="col">"Source"</th>
                            <th scope="col">"Cluster"</th>
                            <th scope="col">"Created"</th>
                            <th scope="col">"Last used"</th>
                            <th scope="col">"State"</th>
                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}
