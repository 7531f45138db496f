//! The line chart: one line per series over time (mean time to remediate per severity).

use std::fmt::Write;

use leptos::prelude::*;

use super::{
    Drawing, HEIGHT, PLOT_W, Series, WIDTH, all_whole, axes, chart_frame, esc, hit_columns,
    label_step, nice_ticks, per_label, point_x, value_at, y_of,
};

/// Up to this many points, each gets a dot; more would be clutter.
const DOTS_UP_TO: usize = 31;

/// One line per series over the labels.
///
/// ```ignore
/// <LineChart
///     id="mttr"
///     title="Mean time to remediate".to_owned()
///     description="Days from first seen to fixed, per week and severity.".to_owned()
///     labels=weeks
///     series=vec![Series::new("Critical", "sev-critical", vec![3.0, 4.5])]
///     unit=" d"
/// />
/// ```
#[component]
pub fn LineChart(
    /// The figure's id; the SVG's title and description get `{id}-title` and `{id}-desc`.
    id: &'static str,
    /// Shown above the chart, and the SVG's title.
    title: String,
    /// What the chart shows, for screen readers (the latest numbers are added to it).
    description: String,
    /// One label per point, left to right.
    labels: Vec<String>,
    /// One line each.
    series: Vec<Series>,
    /// Appended to every number (`"%"`, `" d"`).
    #[prop(optional)]
    unit: &'static str,
    /// Header of the table's label column (default "Date").
    #[prop(optional)]
    label_heading: &'static str,
) -> impl IntoView {
    let heading = if label_heading.is_empty() {
        "Date"
    } else {
        label_heading
    };
    let drawing = draw(&labels, &series, unit, heading);
    chart_frame(id, title, description, drawing, "")
}

/// The drawing of a line chart; `None` when there is nothing to draw.
pub(crate) fn draw(
    labels: &[String],
    series: &[Series],
    unit: &str,
    heading: &str,
) -> Option<Drawing> {
    if labels.is_empty() || series.is_empty() {
        return None;
    }
    let n = labels.len();
    let max = series
        .iter()
        .flat_map(|s| (0..n).map(|i| value_at(s, i)))
        .fold(0.0, f64::max);
    let ticks = nice_ticks(max, all_whole(series));
    let top = ticks.last().copied().unwrap_or(1.0);
    let xs: Vec<f64> = (0..n).map(|i| point_x(i, n)).collect();

    let mut body = String::new();
    let step = label_step(
        labels,
        if n > 1 {
            PLOT_W / (n - 1) as f64
        } else {
            PLOT_W
        },
    );
    axes(&mut body, &ticks, unit, labels, &xs, step);
    for s in series {
        let class = esc(&s.class);
        let mut d = String::new();
        for (i, x) in xs.iter().enumerate() {
            let sep = if i == 0 { "M" } else { " L" };
            let _ = write!(d, "{sep}{x:.1},{:.1}", y_of(value_at(s, i), top));
        }
        let _ = write!(body, r#"<path class="chart-line {class}" d="{d}"/>"#);
        if n <= DOTS_UP_TO {
            for (i, x) in xs.iter().enumerate() {
                let _ = write!(
                    body,
                    r#"<circle class="chart-dot {class}" cx="{x:.1}" cy="{:.1}" r="3"/>"#,
                    y_of(value_at(s, i), top)
                );
            }
        }
    }
    hit_columns(&mut body, &xs);

    let mut drawing = Drawing {
        view_box: format!("0 0 {WIDTH} {HEIGHT}"),
        body,
        ..Drawing::default()
    };
    per_label(&mut drawing, labels, series, &xs, unit, heading, false);
    Some(drawing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::chart::{PLOT_H, TOP};

    #[test]
    fn each_series_is_one_path_through_its_points() {
        let labels = vec!["W1".to_owned(), "W2".to_owned(), "W3".to_owned()];
        let series = vec![
            Series::new("Critical", "sev-critical", vec![2.0, 4.0, 1.0]),
            Series::new("High", "sev-high", vec![8.0, 6.0, 7.0]),
        ];
        let d = draw(&labels, &series, " d", "Week").expect("a drawing");
        // max 8: ticks 0, 2, .., 8
        let y = |v: f64| TOP + PLOT_H - v / 8.0 * PLOT_H;
        let critical = format!(
            r#"<path class="chart-line sev-critical" d="M56.0,{:.1} L340.0,{:.1} L624.0,{:.1}"/>"#,
            y(2.0),
            y(4.0),
            y(1.0)
        );
        assert!(d.body.contains(&critical), "{}", d.body);
        assert_eq!(d.body.matches("<circle").count(), 6);
        assert!(d.body.contains(">8 d</text>"));
        assert_eq!(d.head, ["Week", "Critical", "High"]);
        assert_eq!(d.rows[2].1, ["1 d", "7 d"]);
    }

    #[test]
    fn long_series_have_no_dots() {
        let labels: Vec<String> = (0..90).map(|i| format!("d{i}")).collect();
        let series = vec![Series::new("Open", "series-open", vec![1.5; 90])];
        let d = draw(&labels, &series, "", "Date").expect("a drawing");
        assert_eq!(d.body.matches("<circle").count(), 0);
        assert_eq!(d.tips.len(), 90);
        // fractional data: ticks may be fractional (0, 0.5, .., 1.5)
        assert!(d.body.contains(">0.5</text>"));
    }

    #[test]
    fn nothing_to_draw_is_no_drawing() {
        assert_eq!(draw(&[], &[], "", "Date"), None);
    }
}
