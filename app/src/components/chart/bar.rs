//! The bar chart: per label, one bar per series side by side (grouped), or the series piled
//! into one bar (stacked): new against fixed findings per week.

use std::fmt::Write;

use leptos::prelude::*;

use super::{
    Drawing, HEIGHT, LEFT, PLOT_H, PLOT_W, Series, TOP, WIDTH, all_whole, axes, chart_frame, esc,
    label_step, nice_ticks, per_label, value_at, y_of,
};

/// Bars per label, grouped side by side or `stacked`.
///
/// ```ignore
/// <BarChart
///     id="new-vs-fixed"
///     title="New and fixed per week".to_owned()
///     description="Findings first seen and fixed in each of the last 13 weeks.".to_owned()
///     labels=weeks
///     series=vec![
///         Series::new("New", "series-new", new_per_week),
///         Series::new("Fixed", "series-fixed", fixed_per_week),
///     ]
///     label_heading="Week"
/// />
/// ```
#[component]
pub fn BarChart(
    /// The figure's id; the SVG's title and description get `{id}-title` and `{id}-desc`.
    id: &'static str,
    /// Shown above the chart, and the SVG's title.
    title: String,
    /// What the chart shows, for screen readers (the latest numbers are added to it).
    description: String,
    /// One label per group of bars, left to right.
    labels: Vec<String>,
    /// One bar (or one segment, when stacked) per label each.
    series: Vec<Series>,
    /// Pile the series into one bar per label (the first at the bottom).
    #[prop(optional)]
    stacked: bool,
    /// Appended to every number (`"%"`, `" d"`).
    #[prop(optional)]
    unit: &'static str,
    /// Header of the table's label column (default "Label").
    #[prop(optional)]
    label_heading: &'static str,
) -> impl IntoView {
    let heading = if label_heading.is_empty() {
        "Label"
    } else {
        label_heading
    };
    let drawing = draw(&labels, &series, stacked, unit, heading);
    chart_frame(id, title, description, drawing, "")
}

/// The drawing of a bar chart; `None` when there is nothing to draw.
pub(crate) fn draw(
    labels: &[String],
    series: &[Series],
    stacked: bool,
    unit: &str,
    heading: &str,
) -> Option<Drawing> {
    if labels.is_empty() || series.is_empty() {
        return None;
    }
    let n = labels.len();
    let band = PLOT_W / n as f64;
    let max = (0..n)
        .map(|i| {
            let values = series.iter().map(|s| value_at(s, i));
            if stacked {
                values.sum()
            } else {
                values.fold(0.0, f64::max)
            }
        })
        .fold(0.0, f64::max);
    let ticks = nice_ticks(max, all_whole(series));
    let top = ticks.last().copied().unwrap_or(1.0);
    let xs: Vec<f64> = (0..n).map(|i| LEFT + (i as f64 + 0.5) * band).collect();

    let mut body = String::new();
    axes(
        &mut body,
        &ticks,
        unit,
        labels,
        &xs,
        label_step(labels, band),
    );
    let base = TOP + PLOT_H;
    for i in 0..n {
        let start = LEFT + i as f64 * band;
        let _ = write!(body, r#"<g data-i="{i}">"#);
        let _ = write!(
            body,
            r#"<rect class="chart-hit" x="{start:.1}" y="{TOP}" width="{band:.1}" height="{PLOT_H}"/>"#
        );
        let width = if stacked {
            band * 0.6
        } else {
            band * 0.8 / series.len() as f64
        };
        let mut below = 0.0;
        for (k, s) in series.iter().enumerate() {
            let value = value_at(s, i);
            let (x, y, height) = if stacked {
                let y = y_of(below + value, top);
                let h = y_of(below, top) - y;
                below += value;
                (start + band * 0.2, y, h)
            } else {
                let y = y_of(value, top);
                (start + band * 0.1 + k as f64 * width, y, base - y)
            };
            if height > 0.0 {
                let _ = write!(
                    body,
                    r#"<rect class="chart-bar {}" x="{x:.1}" y="{y:.1}" width="{width:.1}" height="{height:.1}"/>"#,
                    esc(&s.class)
                );
            }
        }
        body.push_str("</g>");
    }

    let mut drawing = Drawing {
        view_box: format!("0 0 {WIDTH} {HEIGHT}"),
        body,
        ..Drawing::default()
    };
    per_label(&mut drawing, labels, series, &xs, unit, heading, stacked);
    Some(drawing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_weeks() -> (Vec<String>, Vec<Series>) {
        (
            vec!["W1".to_owned(), "W2".to_owned()],
            vec![
                Series::new("New", "series-new", vec![30.0, 10.0]),
                Series::new("Fixed", "series-fixed", vec![10.0, 20.0]),
            ],
        )
    }

    #[test]
    fn grouped_bars_stand_side_by_side_on_the_baseline() {
        let (labels, series) = two_weeks();
        let d = draw(&labels, &series, false, "", "Week").expect("a drawing");
        // the tallest bar is 30: ticks 0, 10, 20, 30
        assert!(d.body.contains(">30</text>"));
        assert!(!d.body.contains(">40</text>"));
        // band 284 wide; bars 113.6 wide; the first "new" bar reaches the top
        assert!(
            d.body.contains(&format!(
                r#"<rect class="chart-bar series-new" x="84.4" y="{TOP:.1}" width="113.6" height="{PLOT_H:.1}"/>"#
            )),
            "{}",
            d.body
        );
        assert_eq!(d.body.matches("chart-bar").count(), 4);
        assert_eq!(d.head, ["Week", "New", "Fixed"]);
    }

    #[test]
    fn stacked_bars_pile_up_to_the_total() {
        let (labels, series) = two_weeks();
        let d = draw(&labels, &series, true, "", "Week").expect("a drawing");
        // totals 40 and 30: the scale tops at 40
        assert!(d.body.contains(">40</text>"));
        // week 1: "new" from 0 to 30, "fixed" from 30 to 40 (the top)
        let y30 = TOP + PLOT_H - 30.0 / 40.0 * PLOT_H;
        assert!(d.body.contains(&format!(
            r#"<rect class="chart-bar series-fixed" x="112.8" y="{TOP:.1}" width="170.4" height="{:.1}"/>"#,
            y30 - TOP
        )));
        assert_eq!(d.head, ["Week", "New", "Fixed", "Total"]);
        assert_eq!(d.rows[0].1, ["30", "10", "40"]);
    }

    #[test]
    fn zero_values_draw_no_bar_but_keep_their_row() {
        let labels = vec!["Critical".to_owned()];
        let series = vec![Series::new("Breaches", "sev-critical", vec![0.0])];
        let d = draw(&labels, &series, false, "", "Severity").expect("a drawing");
        assert_eq!(d.body.matches("chart-bar").count(), 0);
        assert_eq!(d.rows, vec![("Critical".to_owned(), vec!["0".to_owned()])]);
        assert_eq!(draw(&[], &series, false, "", "Severity"), None);
    }
}
