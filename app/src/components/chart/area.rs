//! The stacked area chart: series piled on each other over time, the top edge the total (open
//! findings by severity over 90 days).

use std::fmt::Write;

use leptos::prelude::*;

use super::{
    Drawing, HEIGHT, LEFT, PLOT_W, Series, WIDTH, all_whole, axes, chart_frame, hit_columns,
    label_step, nice_ticks, per_label, point_x, value_at, y_of,
};

/// Series stacked over time; the first series lies at the bottom.
///
/// ```ignore
/// <StackedArea
///     id="open-trend"
///     title="Open findings, last 90 days".to_owned()
///     description="Open findings per day, stacked by severity.".to_owned()
///     labels=vec!["2026-09-01".into(), "2026-09-02".into()]
///     series=vec![
///         Series::new("Critical", "sev-critical", vec![12.0, 10.0]),
///         Series::new("High", "sev-high", vec![40.0, 38.0]),
///     ]
/// />
/// ```
#[component]
pub fn StackedArea(
    /// The figure's id; the SVG's title and description get `{id}-title` and `{id}-desc`.
    id: &'static str,
    /// Shown above the chart, and the SVG's title.
    title: String,
    /// What the chart shows, for screen readers (the latest numbers are added to it).
    description: String,
    /// One label per point, left to right (dates as they should read).
    labels: Vec<String>,
    /// The stacked series.
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

/// The drawing of a stacked area chart; `None` when there is nothing to draw.
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
    let totals: Vec<f64> = (0..n)
        .map(|i| series.iter().map(|s| value_at(s, i)).sum())
        .collect();
    let ticks = nice_ticks(
        totals.iter().copied().fold(0.0, f64::max),
        all_whole(series),
    );
    let top = ticks.last().copied().unwrap_or(1.0);
    let xs: Vec<f64> = (0..n).map(|i| point_x(i, n)).collect();
    // a single point is drawn as a band across the plot
    let edge: Vec<f64> = if n == 1 {
        vec![LEFT, LEFT + PLOT_W]
    } else {
        xs.clone()
    };
    let at = |i: usize| if n == 1 { 0 } else { i };

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
    let mut below = vec![0.0; n];
    for s in series {
        let above: Vec<f64> = (0..n).map(|i| below[i] + value_at(s, i)).collect();
        let mut d = String::new();
        for (j, x) in edge.iter().enumerate() {
            let _ = write!(
                d,
                "{}{x:.1},{:.1}",
                if j == 0 { "M" } else { " L" },
                y_of(above[at(j)], top)
            );
        }
        for (j, x) in edge.iter().enumerate().rev() {
            let _ = write!(d, " L{x:.1},{:.1}", y_of(below[at(j)], top));
        }
        let _ = write!(
            body,
            r#"<path class="chart-area {}" d="{d} Z"/>"#,
            super::esc(&s.class)
        );
        below = above;
    }
    hit_columns(&mut body, &xs);

    let mut drawing = Drawing {
        view_box: format!("0 0 {WIDTH} {HEIGHT}"),
        body,
        ..Drawing::default()
    };
    per_label(&mut drawing, labels, series, &xs, unit, heading, true);
    Some(drawing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::chart::{PLOT_H, TOP};

    fn labels(n: usize) -> Vec<String> {
        (1..=n).map(|d| format!("2026-09-{d:02}")).collect()
    }

    #[test]
    fn the_top_series_ends_at_the_stacked_total() {
        let series = vec![
            Series::new("Critical", "sev-critical", vec![10.0, 20.0, 30.0]),
            Series::new("High", "sev-high", vec![30.0, 20.0, 10.0]),
        ];
        let d = draw(&labels(3), &series, "", "Date").expect("a drawing");
        // totals are 40 each: the scale tops at 40 (ticks 0, 10, .., 40)
        assert!(d.body.contains(r#">40</text>"#));
        assert!(!d.body.contains(r#">50</text>"#));
        // the critical band: top edge 10, 20, 30 over the baseline
        let base = TOP + PLOT_H;
        let y = |v: f64| base - v / 40.0 * PLOT_H;
        let critical = format!(
            r#"<path class="chart-area sev-critical" d="M56.0,{:.1} L340.0,{:.1} L624.0,{:.1} L624.0,{base:.1} L340.0,{base:.1} L56.0,{base:.1} Z"/>"#,
            y(10.0),
            y(20.0),
            y(30.0)
        );
        assert!(d.body.contains(&critical), "{}", d.body);
        // the high band sits on it and its top is the total, flat at 40 (the plot's top)
        let high = format!(
            r#"<path class="chart-area sev-high" d="M56.0,{top:.1} L340.0,{top:.1} L624.0,{top:.1} L624.0,{:.1} L340.0,{:.1} L56.0,{:.1} Z"/>"#,
            y(30.0),
            y(20.0),
            y(10.0),
            top = TOP
        );
        assert!(d.body.contains(&high), "{}", d.body);
    }

    #[test]
    fn the_table_has_every_value_and_the_total() {
        let series = vec![
            Series::new("New", "series-new", vec![1.0, 2.0]),
            Series::new("Fixed", "series-fixed", vec![3.0]),
        ];
        let d = draw(&labels(2), &series, "", "Week").expect("a drawing");
        assert_eq!(d.head, ["Week", "New", "Fixed", "Total"]);
        assert_eq!(
            d.rows,
            vec![
                (
                    "2026-09-01".to_owned(),
                    vec!["1".into(), "3".into(), "4".into()]
                ),
                (
                    "2026-09-02".to_owned(),
                    vec!["2".into(), "0".into(), "2".into()]
                ),
            ]
        );
        assert_eq!(d.tips.len(), 2);
        assert_eq!(d.tips[1].x, 100.0 * (WIDTH - 16.0) / WIDTH);
        assert_eq!(d.summary, "Latest, 2026-09-02: New 2, Fixed 0.");
        assert_eq!(d.body.matches(r#"class="chart-hit""#).count(), 2);
    }

    #[test]
    fn nothing_to_draw_is_no_drawing() {
        assert_eq!(
            draw(&[], &[Series::new("a", "b", vec![])], "", "Date"),
            None
        );
        assert_eq!(draw(&labels(3), &[], "", "Date"), None);
    }

    #[test]
    fn one_point_is_a_band_across_the_plot() {
        let series = vec![Series::new("Open", "series-open", vec![5.0])];
        let d = draw(&labels(1), &series, "", "Date").expect("a drawing");
        assert!(d.body.contains(r#"d="M56.0,"#));
        assert!(d.body.contains(" L624.0,"));
    }

    #[test]
    fn labels_and_classes_cannot_break_the_markup() {
        let series = vec![Series::new("<b>", "x\" onload=\"y", vec![1.0])];
        let d = draw(&["<i>".to_owned()], &series, "", "Date").expect("a drawing");
        assert!(!d.body.contains("<i>"));
        assert!(!d.body.contains("\" onload"));
    }
}
