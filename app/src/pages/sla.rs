//! The SLA policy (administrators and managers): days to fix per severity and when a
//! scanner counts as stale. One `ActionForm` posting to the `save_sla_policy` server function:
//! with JavaScript off the browser posts it and the function redirects back here with a
//! [`crate::model::Flash`]; hydrated, the same happens without a full reload. Every change is
//! audited (`settings.sla`, with the policy before and after).

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::overview::{SaveSlaPolicy, get_sla_policy};
use crate::components::async_region::AsyncRegion;
use crate::components::flash::{FlashMessage, use_flash};
use crate::error::AppError;
use crate::model::SlaPolicy;
use crate::resource::resource;

/// The SLA settings page.
#[component]
pub fn SlaSettings() -> impl IntoView {
    let save = ServerAction::<SaveSlaPolicy>::new();
    // read again after each save, so the form shows what is stored
    let policy = resource(move || save.version().get(), |_| get_sla_policy());
    view! {
        <Title text="SLA policy" />
        <h1>"SLA policy"</h1>
        <FlashMessage flash=use_flash() id="sla-flash" />
        <AsyncRegion>
            {move || Suspend::new(async move {
                let policy = policy.await?;
                Ok::<_, AppError>(view! { <PolicyForm policy save /> })
            })}
        </AsyncRegion>
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
