//! The sparkline: a word-sized trend line beside a number (a tile's last 30 days).

use std::fmt::Write;

use leptos::prelude::*;

use super::clean;

const W: f64 = 100.0;
const H: f64 = 24.0;
/// Room for the stroke at the top and bottom.
const PAD: f64 = 2.0;

/// A tiny trend line, scaled from its lowest to its highest value. An image for assistive
/// technology, named by `label` (say what it shows and the change: "Critical, last 30 days:
/// from 14 to 9").
///
/// ```ignore
/// <Sparkline id="spark-critical" label="Critical, last 30 days: from 14 to 9".to_owned()
///     values=daily_critical class="sev-critical".to_owned() />
/// ```
#[component]
pub fn Sparkline(
    /// The SVG's id.
    id: &'static str,
    /// The accessible name.
    label: String,
    /// The values, oldest first.
    values: Vec<f64>,
    /// The colour class of the line.
    class: String,
) -> impl IntoView {
    let (d, label) = if values.is_empty() {
        (None, format!("{label}: no data yet"))
    } else {
        (Some(path(&values)), label)
    };
    view! {
        <svg
            class=format!("sparkline {class}")
            id=id
            role="img"
            aria-label=label
            viewBox=format!("0 0 {W} {H}")
            preserveAspectRatio="none"
        >
            <path class="sparkline-base" d=format!("M0,{y} L{W},{y}", y = H - PAD) />
            <path class="sparkline-line" d=d />
        </svg>
    }
}

/// The line through `values` from the left edge to the right, the lowest at the bottom and the
/// highest at the top (a flat series runs through the middle).
pub(crate) fn path(values: &[f64]) -> String {
    let n = values.len();
    let (low, high) = values
        .iter()
        .map(|v| clean(*v))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let mut d = String::new();
    for (i, v) in values.iter().enumerate() {
        let x = if n > 1 {
            i as f64 * W / (n - 1) as f64
        } else {
            W / 2.0
        };
        let y = if high > low {
            H - PAD - (clean(*v) - low) / (high - low) * (H - 2.0 * PAD)
        } else {
            H / 2.0
        };
        let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { " L" });
    }
    if n == 1 {
        // one value: a short flat stroke instead of an invisible point
        d = format!("M0,{:.1} L{W},{:.1}", H / 2.0, H / 2.0);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::path;

    #[test]
    fn the_line_spans_the_box_from_lowest_to_highest() {
        assert_eq!(path(&[5.0, 15.0, 10.0]), "M0.0,22.0 L50.0,2.0 L100.0,12.0");
    }

    #[test]
    fn flat_and_single_values_run_through_the_middle() {
        assert_eq!(path(&[3.0, 3.0]), "M0.0,12.0 L100.0,12.0");
        assert_eq!(path(&[3.0]), "M0,12.0 L100,12.0");
    }
}
