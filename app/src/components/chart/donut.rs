//! The donut: parts of one whole (open findings by kind), each slice optionally linking to the
//! list behind it from the legend.

use std::fmt::Write;

use leptos::prelude::*;

use super::{Drawing, Slice, Tip, chart_frame, clean, esc, number};

const SIZE: f64 = 240.0;
const CENTER: f64 = SIZE / 2.0;
const OUTER: f64 = 110.0;
const INNER: f64 = 70.0;

/// Slices of one whole, starting at the top and going clockwise. The legend shows each
/// slice's value and share and links to its `href`; the middle shows `center` (default: the
/// total).
///
/// ```ignore
/// <Donut
///     id="by-kind"
///     title="Open findings by kind".to_owned()
///     description="Vulnerabilities, misconfigurations and secrets.".to_owned()
///     slices=vec![Slice {
///         label: "Vulnerabilities".into(),
///         class: "series-1".into(),
///         value: 1200.0,
///         href: Some("/findings?kind=vulnerability".into()),
///     }]
/// />
/// ```
#[component]
pub fn Donut(
    /// The figure's id; the SVG's title and description get `{id}-title` and `{id}-desc`.
    id: &'static str,
    /// Shown above the chart, and the SVG's title.
    title: String,
    /// What the chart shows, for screen readers (every slice's number is added to it).
    description: String,
    /// The slices, in order.
    slices: Vec<Slice>,
    /// Text in the middle (default: the total).
    #[prop(optional)]
    center: Option<String>,
    /// Header of the table's label column (default "Category").
    #[prop(optional)]
    label_heading: &'static str,
) -> impl IntoView {
    let heading = if label_heading.is_empty() {
        "Category"
    } else {
        label_heading
    };
    let drawing = draw(&slices, center, heading);
    chart_frame(id, title, description, drawing, "chart-donut")
}

/// Start and end angle of each slice in degrees, clockwise from the top; they add up to 360.
pub(crate) fn angles(values: &[f64]) -> Vec<(f64, f64)> {
    let total: f64 = values.iter().map(|v| clean(*v)).sum();
    let mut start = 0.0;
    values
        .iter()
        .map(|v| {
            let sweep = if total > 0.0 {
                clean(*v) / total * 360.0
            } else {
                0.0
            };
            let slice = (start, start + sweep);
            start += sweep;
            slice
        })
        .collect()
}

fn at(angle: f64, radius: f64) -> (f64, f64) {
    let rad = angle.to_radians();
    (CENTER + radius * rad.sin(), CENTER - radius * rad.cos())
}

/// The ring segment from `from` to `to` degrees (a full ring is drawn as two halves: an arc
/// cannot end where it starts).
pub(crate) fn arc(from: f64, to: f64) -> String {
    if to - from > 359.99 {
        let half = from + (to - from) / 2.0;
        return format!("{} {}", arc(from, half), arc(half, to));
    }
    let large = u8::from(to - from > 180.0);
    let (ox0, oy0) = at(from, OUTER);
    let (ox1, oy1) = at(to, OUTER);
    let (ix1, iy1) = at(to, INNER);
    let (ix0, iy0) = at(from, INNER);
    format!(
        "M{ox0:.2},{oy0:.2} A{OUTER},{OUTER} 0 {large} 1 {ox1:.2},{oy1:.2} L{ix1:.2},{iy1:.2} A{INNER},{INNER} 0 {large} 0 {ix0:.2},{iy0:.2} Z"
    )
}

fn share(value: f64, total: f64) -> String {
    let pct = clean(value) / total * 100.0;
    if pct > 0.0 && pct < 1.0 {
        "<1%".to_owned()
    } else {
        format!("{pct:.0}%")
    }
}

/// The drawing of a donut; `None` when there is nothing to draw (no slices, or all zero).
pub(crate) fn draw(slices: &[Slice], center: Option<String>, heading: &str) -> Option<Drawing> {
    let values: Vec<f64> = slices.iter().map(|s| s.value).collect();
    let total: f64 = values.iter().map(|v| clean(*v)).sum();
    if total <= 0.0 {
        return None;
    }
    let mut drawing = Drawing {
        view_box: format!("0 0 {SIZE} {SIZE}"),
        head: vec![heading.to_owned(), "Value".to_owned(), "Share".to_owned()],
        ..Drawing::default()
    };
    let mut spoken = Vec::new();
    for (i, (slice, (from, to))) in slices.iter().zip(angles(&values)).enumerate() {
        let value = number(clean(slice.value), "");
        let pct = share(slice.value, total);
        if to > from {
            let _ = write!(
                drawing.body,
                r#"<path class="chart-slice {}" data-i="{i}" d="{}"/>"#,
                esc(&slice.class),
                arc(from, to)
            );
        }
        let (x, _) = at((from + to) / 2.0, OUTER);
        drawing.tips.push(Tip {
            title: slice.label.clone(),
            rows: vec![
                (slice.class.clone(), "Value".to_owned(), value.clone()),
                (String::new(), "Share".to_owned(), pct.clone()),
            ],
            x: x / SIZE * 100.0,
        });
        drawing.legend.push((
            slice.class.clone(),
            format!("{}: {value} ({pct})", slice.label),
            slice.href.clone(),
        ));
        spoken.push(format!("{} {value} ({pct})", slice.label));
        drawing.rows.push((slice.label.clone(), vec![value, pct]));
    }
    let middle = center.unwrap_or_else(|| number(total, ""));
    let _ = write!(
        drawing.body,
        r#"<text class="chart-center" x="{CENTER}" y="{}" text-anchor="middle">{}</text>"#,
        CENTER + 9.0,
        esc(&middle)
    );
    drawing.summary = format!("{}.", spoken.join(", "));
    Some(drawing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(label: &str, value: f64) -> Slice {
        Slice {
            label: label.to_owned(),
            class: format!("series-{label}"),
            value,
            href: None,
        }
    }

    #[test]
    fn the_slices_add_up_to_the_full_circle() {
        let values = [3.0, 1.0, 0.0, 4.0, 7.5];
        let angles = angles(&values);
        assert_eq!(angles[0].0, 0.0);
        assert!((angles[4].1 - 360.0).abs() < 1e-9);
        let swept: f64 = angles.iter().map(|(a, b)| b - a).sum();
        assert!((swept - 360.0).abs() < 1e-9);
        for pair in angles.windows(2) {
            assert_eq!(pair[0].1, pair[1].0, "slices touch");
        }
        assert_eq!(angles[2].0, angles[2].1, "a zero slice has no width");
    }

    #[test]
    fn a_quarter_is_drawn_from_the_top_to_the_right() {
        assert_eq!(
            arc(0.0, 90.0),
            "M120.00,10.00 A110,110 0 0 1 230.00,120.00 L190.00,120.00 A70,70 0 0 0 120.00,50.00 Z"
        );
        assert!(
            arc(0.0, 270.0).contains(" 0 1 1 "),
            "more than half: the large arc"
        );
    }

    #[test]
    fn one_slice_is_a_whole_ring_in_two_halves() {
        let d = draw(&[slice("a", 5.0)], None, "Kind").expect("a drawing");
        assert_eq!(d.body.matches('M').count(), 2);
        assert!(d.body.contains(">5</text>"));
        assert_eq!(
            d.rows,
            vec![("a".to_owned(), vec!["5".into(), "100%".into()])]
        );
    }

    #[test]
    fn legend_table_and_words_carry_every_slice() {
        let mut linked = slice("secrets", 1.0);
        linked.href = Some("/findings?kind=secret".to_owned());
        let slices = vec![slice("vulns", 299.0), linked, slice("none", 0.0)];
        let d = draw(&slices, Some("300 open".to_owned()), "Kind").expect("a drawing");
        assert_eq!(d.head, ["Kind", "Value", "Share"]);
        assert_eq!(d.rows.len(), 3);
        assert_eq!(d.rows[1].1, ["1", "<1%"]);
        assert_eq!(d.body.matches("chart-slice").count(), 2, "no path for zero");
        assert!(d.body.contains(">300 open</text>"));
        assert_eq!(
            d.legend[1],
            (
                "series-secrets".to_owned(),
                "secrets: 1 (<1%)".to_owned(),
                Some("/findings?kind=secret".to_owned())
            )
        );
        assert_eq!(d.summary, "vulns 299 (100%), secrets 1 (<1%), none 0 (0%).");
    }

    #[test]
    fn nothing_to_share_is_no_drawing() {
        assert_eq!(draw(&[], None, "Kind"), None);
        assert_eq!(draw(&[slice("a", 0.0)], None, "Kind"), None);
    }
}
