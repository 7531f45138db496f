//! The policy page (administrators and managers): the SLA policy (days to fix per severity and
//! when a scanner counts as stale) and the approval policy (for which severities a risk
//! acceptance needs a manager's approval). Two `ActionForm`s, posting to `save_sla_policy` and
//! `save_approval_policy`: with JavaScript off the browser posts them and the function
//! redirects back here with a [`crate::model::Flash`]; hydrated, the same happens without a
//! full reload. Every change is audited (`settings.sla`, `settings.approval`, with the policy
//! before and after).

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::overview::{SaveSlaPolicy, get_sla_policy};
use crate::api::triage::{SaveApprovalPolicy, get_approval_policy};
use crate::components::async_region::AsyncRegion;
use crate::components::flash::{FlashMessage, use_flash};
use crate::error::AppError;
use crate::model::{ApprovalPolicy, Severity, SlaPolicy};
use crate::resource::resource;

/// The SLA settings page.
#[component]
pub fn SlaSettings() -> impl IntoView {
    let save = ServerAction::<SaveSlaPolicy>::new();
    // read again after each save, so the form shows what is stored
    let policy = resource(move || save.version().get(), |_| get_sla_policy());
    let save_approval = ServerAction::<SaveApprovalPolicy>::new();
    let approval = resource(
        move || save_approval.version().get(),
        |_| get_approval_policy(),
    );
    view! {
        <Title text="Policy" />
        <h1>"Policy"</h1>
        <FlashMessage flash=use_flash() id="sla-flash" />
        <AsyncRegion>
            {move || Suspend::new(async move {
                let policy = policy.await?;
                Ok::<_, AppError>(view! { <PolicyForm policy save /> })
            })}
        </AsyncRegion>
        <AsyncRegion>
            {move || Suspend::new(async move {
                let policy = approval.await?;
                Ok::<_, AppError>(view! { <ApprovalForm policy save=save_approval /> })
            })}
        </AsyncRegion>
    }
}

#[component]
fn ApprovalForm(policy: ApprovalPolicy, save: ServerAction<SaveApprovalPolicy>) -> impl IntoView {
    let boxes = Severity::WORST_FIRST
        .into_iter()
        .map(|severity| {
            let name = severity.label().to_ascii_lowercase();
            let checked = policy.requires(severity, false);
            let label = match severity {
                Severity::Critical => "Critical (and findings in CISA KEV)",
                other => other.label(),
            };
            view! {
                <label>
                    <input type="checkbox" name=name value="on" checked=checked />
                    {label}
                </label>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="approval-form-heading">
            <h2 id="approval-form-heading">"Approval of risk acceptances"</h2>
            <p class="muted">
                "Accepting the risk of a finding of a checked severity needs a manager's approval: "
                "until a manager other than the requester approves it, the acceptance is pending "
                "and the finding stays open. Other acceptances apply at once."
            </p>
            <ActionForm action=save attr:class="filters" attr:aria-describedby="sla-flash">
                <fieldset>
                    <legend>"Needs approval"</legend>
                    {boxes}
                </fieldset>
                <button type="submit">"Save approval policy"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn PolicyForm(policy: SlaPolicy, save: ServerAction<SaveSlaPolicy>) -> impl IntoView {
    let max_days = SlaPolicy::MAX_DAYS.to_string();
    let days = move |name: &'static str, label: &'static str, value: i32| {
        let hint = format!("{name}-hint");
        view! {
            <label>
                {label}
                <input
                    type="number"
                    name=name
                    required
                    min="1"
                    max=max_days.clone()
                    step="1"
                    inputmode="numeric"
                    value=value.to_string()
                    aria-describedby=hint.clone()
                />
                <span class="muted small" id=hint>"days"</span>
            </label>
        }
    };
    view! {
        <section class="card" aria-labelledby="sla-form-heading">
            <h2 id="sla-form-heading">"Days to fix"</h2>
            <p class="muted">
                "An open finding is overdue once it has been open longer than its severity allows. "
                "The clock starts when the finding opens or reopens. A finding whose vulnerability "
                "is in CISA's Known Exploited Vulnerabilities catalog gets the critical clock. "
                "Changes apply to every day of the trend at the next rollup."
            </p>
            <ActionForm action=save attr:class="filters" attr:aria-describedby="sla-flash">
                {days("critical_days", "Critical", policy.critical_days)}
                {days("high_days", "High", policy.high_days)}
                {days("medium_days", "Medium", policy.medium_days)}
                {days("low_days", "Low and unknown", policy.low_days)}
                <label>
                    "Scanner stale after"
                    <input
                        type="number"
                        name="stale_after_hours"
                        required
                        min="1"
                        max=SlaPolicy::MAX_HOURS.to_string()
                        step="1"
                        inputmode="numeric"
                        value=policy.stale_after_hours.to_string()
                    />
                    <span class="muted small">"hours"</span>
                </label>
                <button type="submit">"Save policy"</button>
            </ActionForm>
        </section>
    }
}
