//! Severity badges, the per-severity stat tiles and the stacked severity bar (SVG drawn on the
//! server).

use leptos::prelude::*;

use crate::components::format;
use crate::model::{Severity, SeverityCounts};

/// A coloured severity label.
#[component]
pub fn SeverityBadge(severity: Severity) -> impl IntoView {
    view! { <span class=format!("badge sev-{}", severity.slug())>{severity.label()}</span> }
}

/// One tile per severity with its count.
#[component]
pub fn SeverityTiles(counts: SeverityCounts) -> impl IntoView {
    view! {
        <ul class="tiles" aria-label="Open findings by severity">
            {Severity::WORST_FIRST
                .into_iter()
                .map(|severity| {
                    view! {
                        <li class=format!("tile sev-{}", severity.slug())>
                            <span class="tile-label">{severity.label()}</span>
                            <span class="tile-value" data-severity=severity.slug()>
                                {format::count(counts.get(severity))}
                            </span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

/// A horizontal bar split by severity, proportional to the counts.
#[component]
pub fn SeverityBar(counts: SeverityCounts) -> impl IntoView {
    let total = counts.total();
    let description = Severity::WORST_FIRST
        .into_iter()
        .map(|s| {
            format!(
                "{} {}",
                format::count(counts.get(s)),
                s.label().to_lowercase()
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut offset = 0.0_f64;
    let segments = Severity::WORST_FIRST
        .into_iter()
        .filter(|s| counts.get(*s) > 0)
        .map(|severity| {
            let width = if total > 0 {
                counts.get(severity) as f64 * 100.0 / total as f64
            } else {
                0.0
            };
            let x = offset;
            offset += width;
            view! {
                <rect
                    class=format!("seg sev-{}", severity.slug())
                    x=format!("{x:.3}")
                    y="0"
                    width=format!("{width:.3}")
                    height="8"
                >
                    <title>{format!("{}: {}", severity.label(), format::count(counts.get(severity)))}</title>
                </rect>
            }
        })
        .collect_view();
    view! {
        <svg
            class="sevbar"
            viewBox="0 0 100 8"
            preserveAspectRatio="none"
            role="img"
            aria-label=format!("Severity distribution: {description}")
        >
            <rect class="seg-empty" x="0" y="0" width="100" height="8" />
            {segments}
        </svg>
    }
}
