//! The approval queue (administrators and managers): risk acceptances the policy reserved for
//! a manager's approval, oldest first, within the viewer's clusters. Each row has an Approve
//! and a Reject `ActionForm` (with an optional note); with JavaScript off the browser posts
//! them and the server function redirects back here with a [`crate::model::Flash`], or Leptos
//! returns here with the refusal, which the action holds. A manager never reviews their own
//! request (four eyes): such rows say so instead of offering the forms.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::triage::{ApproveAcceptance, RejectAcceptance, get_pending_approvals};
use crate::components::async_region::{AsyncRegion, ErrorNotice};
use crate::components::flash::{FlashMessage, use_flash};
use crate::components::format;
use crate::components::severity::SeverityBadge;
use crate::components::table::{Column, DataTable};
use crate::error::AppError;
use crate::model::PendingApproval;
use crate::resource::resource;

/// The approval queue page.
#[component]
pub fn Approvals() -> impl IntoView {
    let approve = ServerAction::<ApproveAcceptance>::new();
    let reject = ServerAction::<RejectAcceptance>::new();
    // read again after each review, so the queue shows what is left
    let queue = resource(
        move || (approve.version().get(), reject.version().get()),
        |_| get_pending_approvals(),
    );
    let refusal = move || {
        let failed = |value: Option<Result<u64, AppError>>| value.and_then(Result::err);
        failed(approve.value().get())
            .or_else(|| failed(reject.value().get()))
            .map(|error| view! { <ErrorNotice error /> })
    };
    view! {
        <Title text="Approvals" />
        <h1>"Approvals"</h1>
        <FlashMessage flash=use_flash() id="approvals-flash" />
        {refusal}
        <AsyncRegion>
            {move || Suspend::new(async move {
                let rows = queue.await?;
                let count = rows.len();
                Ok::<_, AppError>(view! {
                    <DataTable
                        id="approvals"
                        title="Pending risk acceptances"
                        label="Pending risk acceptances table"
                        columns=vec![
                            Column::new("Finding"),
                            Column::new("Severity"),
                            Column::new("Cluster"),
                            Column::new("Requested by"),
                            Column::new("Justification"),
                            Column::new("Expires"),
                            Column::hidden("Review"),
                        ]
                        rows=rows
                        row=move |row| view! { <ApprovalRow row approve reject /> }
                        empty="No acceptance is waiting for approval."
                        hint=|| "Acceptances that the policy reserves for a manager appear here."
                        summary=move || {
                            format!(
                                "{count} pending, oldest first. The findings stay open until an \
                                 acceptance is approved."
                            )
                        }
                        testid="approvals-table"
                    />
                })
            })}
        </AsyncRegion>
    }
}

#[component]
fn ApprovalRow(
    row: PendingApproval,
    approve: ServerAction<ApproveAcceptance>,
    reject: ServerAction<RejectAcceptance>,
) -> impl IntoView {
    let key = format!("{}:{}", row.cluster_id, row.decision_id);
    let title = match &row.vulnerability {
        Some(v) if !row.title.contains(v.as_str()) => format!("{v}: {}", row.title),
        _ => row.title.clone(),
    };
    let note_label = format!("Note on {title}");
    let review = if row.own {
        view! { <span class="muted">"Your request: another manager reviews it."</span> }.into_any()
    } else {
        let key_reject = key.clone();
        let note_reject = note_label.clone();
        view! {
            <ActionForm action=approve attr:class="inline-form">
                <input type="hidden" name="decisions[]" value=key />
                <input type="hidden" name="next" value="/approvals" />
                <label>
                    <span class="visually-hidden">{note_label}</span>
                    <input type="text" name="note" maxlength="2000" placeholder="Note (optional)" />
                </label>
                <button type="submit">"Approve"</button>
            </ActionForm>
            <ActionForm action=reject attr:class="inline-form">
                <input type="hidden" name="decisions[]" value=key_reject />
                <input type="hidden" name="next" value="/approvals" />
                <label>
                    <span class="visually-hidden">{note_reject}</span>
                    <input type="text" name="note" maxlength="2000" placeholder="Note (optional)" />
                </label>
                <button type="submit" class="secondary">"Reject"</button>
            </ActionForm>
        }
        .into_any()
    };
    view! {
        <tr>
            <td>
                {title}
                {row.kev.then(|| view! { <span class="muted small">" · in CISA KEV"</span> })}
            </td>
            <td><SeverityBadge severity=row.severity /></td>
            <td>{row.cluster.unwrap_or_else(|| "fleet-level".to_owned())}</td>
            <td>
                {row.requester.unwrap_or_else(|| "(account removed)".to_owned())}
                <span class="muted small">{format!(" · {}", format::timestamp(row.requested_at))}</span>
            </td>
            <td class="details">{row.justification}</td>
            // stored as the first instant after the last day it holds
            <td>
                {row
                    .expires_at
                    .map(|e| format!("end of {}", (e - chrono::Duration::days(1)).date_naive()))
                    .unwrap_or_default()}
            </td>
            <td>{review}</td>
        </tr>
    }
}
