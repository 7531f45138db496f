//! Charts drawn on the server as SVG: stacked area, line, bars, donut and sparkline. No chart
//! library and no script is needed to read them: each is a `<figure>` with a visible title, an
//! SVG image named by its `<title>` and `<desc>`, an HTML legend (so it wraps) and a
//! `<details>` table of every number. After hydration, pointing at (or, once the plot has
//! focus, stepping with the arrow keys through) the data shows a tooltip with the label and the
//! values.
//!
//! Owns the geometry every chart shares (scales, round ticks, thinned axis labels, number
//! text) and the frame around a drawing ([`ChartFrame`]). Each chart file turns its props into
//! a [`Drawing`] with a pure function (unit-tested) and hands it to the frame. Colours never
//! appear here: marks carry the series' CSS class (`sev-critical`, `series-new`) and
//! `style/main.css` maps each class to a custom property of the theme.
//!
//! The SVG body is built as one string (`inner_html`): a chart is hundreds of marks, and one
//! string keeps the browser bundle small where a view per mark would not. Every text that goes
//! into it passes [`esc`]. What does not belong here: data fetching (pages own it) and
//! anything about a particular panel of a page.

mod area;
mod bar;
mod donut;
mod line;
mod sparkline;

use std::fmt::Write;

use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;

use crate::components::format;

pub use area::StackedArea;
pub use bar::BarChart;
pub use donut::Donut;
pub use line::LineChart;
pub use sparkline::Sparkline;

/// One named series of values, coloured by a CSS class (e.g. "sev-critical", "series-new").
/// Its values line up with the chart's labels; missing values count as zero, negative and
/// non-finite ones are drawn as zero.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Shown in the legend, the tooltip and the table header.
    pub name: String,
    /// The colour class of its marks.
    pub class: String,
    /// One value per label.
    pub values: Vec<f64>,
}

impl Series {
    /// A series from its parts.
    pub fn new(name: impl Into<String>, class: impl Into<String>, values: Vec<f64>) -> Series {
        Series {
            name: name.into(),
            class: class.into(),
            values,
        }
    }
}

/// One slice of a donut.
#[derive(Clone, Debug, PartialEq)]
pub struct Slice {
    /// Shown in the legend, the tooltip and the table.
    pub label: String,
    /// The colour class of the slice.
    pub class: String,
    /// Its size; the slices share the circle in proportion.
    pub value: f64,
    /// Where the legend entry links to (e.g. the findings list filtered to this slice).
    pub href: Option<String>,
}

// The drawing area of the axis charts, in SVG user units (the SVG scales to its box).
pub(crate) const WIDTH: f64 = 640.0;
pub(crate) const HEIGHT: f64 = 240.0;
pub(crate) const LEFT: f64 = 56.0;
pub(crate) const RIGHT: f64 = 16.0;
pub(crate) const TOP: f64 = 12.0;
pub(crate) const BOTTOM: f64 = 28.0;
pub(crate) const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
pub(crate) const PLOT_H: f64 = HEIGHT - TOP - BOTTOM;
/// Width of one character of tick text (11 px system font), generously rounded up.
const CHAR_W: f64 = 7.0;

/// What a chart draws: the SVG body, a sentence of numbers for screen readers, the legend, the
/// table and one tooltip per data point.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Drawing {
    /// `viewBox` of the SVG.
    pub view_box: String,
    /// The marks, axes and hit areas (escaped SVG markup).
    pub body: String,
    /// Appended to the description: the latest numbers in words.
    pub summary: String,
    /// Legend entries: class, text, link.
    pub legend: Vec<(String, String, Option<String>)>,
    /// Table header (first: the row header column).
    pub head: Vec<String>,
    /// Table rows: row header, cells.
    pub rows: Vec<(String, Vec<String>)>,
    /// Tooltips, by the `data-i` of the hit areas.
    pub tips: Vec<Tip>,
}

/// The tooltip of one data point.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Tip {
    /// The label (a date, a category).
    pub title: String,
    /// class, name, value text.
    pub rows: Vec<(String, String, String)>,
    /// Where it points, in percent of the chart's width.
    pub x: f64,
}

impl Tip {
    fn spoken(&self) -> String {
        let values = self
            .rows
            .iter()
            .map(|(_, name, value)| format!("{name} {value}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!("{}: {values}", self.title)
    }
}

/// A value as drawn: negative and non-finite values are zero.
pub(crate) fn clean(value: f64) -> f64 {
    if value.is_finite() && value > 0.0 {
        value
    } else {
        0.0
    }
}

/// The `i`th value of a series (zero when the series is shorter than the labels).
pub(crate) fn value_at(series: &Series, i: usize) -> f64 {
    clean(series.values.get(i).copied().unwrap_or(0.0))
}

/// Round tick values from zero up to the first tick at or above `max`: steps of 1, 2 or 5
/// times a power of ten, three to six of them. `whole` keeps steps at 1 or more (counts).
pub(crate) fn nice_ticks(max: f64, whole: bool) -> Vec<f64> {
    let max = clean(max);
    if max == 0.0 {
        return vec![0.0, 1.0];
    }
    let raw = max / 4.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = match raw / magnitude {
        r if r < 1.5 => 1.0,
        r if r < 3.0 => 2.0,
        r if r < 7.0 => 5.0,
        _ => 10.0,
    } * magnitude;
    let step = if whole { step.max(1.0) } else { step };
    let count = (max / step - 1e-9).ceil().max(1.0) as usize;
    (0..=count)
        .map(|i| {
            let tick = i as f64 * step;
            // 0.1 * 3 is 0.30000000000000004: keep what a person would write
            (tick * 1e6).round() / 1e6
        })
        .collect()
}

/// The vertical position of `value` on a scale from zero to `top`.
pub(crate) fn y_of(value: f64, top: f64) -> f64 {
    TOP + PLOT_H - clean(value) / top * PLOT_H
}

/// The horizontal position of the `i`th of `n` points spread over the plot (one point sits in
/// the middle).
pub(crate) fn point_x(i: usize, n: usize) -> f64 {
    if n <= 1 {
        LEFT + PLOT_W / 2.0
    } else {
        LEFT + i as f64 * PLOT_W / (n - 1) as f64
    }
}

/// Show every `step`th label so that no two overlap when labels are `spacing` units apart.
pub(crate) fn label_step(labels: &[String], spacing: f64) -> usize {
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let needed = longest as f64 * CHAR_W + 12.0;
    if spacing <= 0.0 {
        return labels.len().max(1);
    }
    ((needed / spacing).ceil() as usize).max(1)
}

/// Whether every value of every series is a whole number (then ticks are whole too).
pub(crate) fn all_whole(series: &[Series]) -> bool {
    series
        .iter()
        .flat_map(|s| &s.values)
        .all(|v| clean(*v).fract() == 0.0)
}

/// A value as people read it: "1,234", "12.5", with the unit appended as given.
pub(crate) fn number(value: f64, unit: &str) -> String {
    let value = if value.is_finite() { value } else { 0.0 };
    if (value - value.round()).abs() < 1e-9 {
        format!("{}{unit}", format::count(value.round() as i64))
    } else {
        format!("{value:.1}{unit}")
    }
}

/// Text made safe for SVG markup.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// Grid lines with the y tick labels, the baseline, and the x labels at `xs` (every `step`th),
/// kept inside the drawing at both ends.
pub(crate) fn axes(
    out: &mut String,
    ticks: &[f64],
    unit: &str,
    labels: &[String],
    xs: &[f64],
    step: usize,
) {
    let top = ticks.last().copied().unwrap_or(1.0);
    for tick in ticks {
        let y = y_of(*tick, top);
        let _ = write!(
            out,
            r#"<line class="chart-grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="chart-tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            esc(&number(*tick, unit))
        );
    }
    let base = TOP + PLOT_H;
    let _ = write!(
        out,
        r#"<line class="chart-axis" x1="{LEFT}" x2="{}" y1="{base}" y2="{base}"/>"#,
        WIDTH - RIGHT
    );
    for (i, (label, x)) in labels.iter().zip(xs).enumerate() {
        if i % step != 0 {
            continue;
        }
        let half = label.chars().count() as f64 * CHAR_W / 2.0;
        let anchor = if x - half < 0.0 {
            "start"
        } else if x + half > WIDTH {
            "end"
        } else {
            "middle"
        };
        let _ = write!(
            out,
            r#"<text class="chart-tick" x="{x:.1}" y="{}" text-anchor="{anchor}">{}</text>"#,
            HEIGHT - 8.0,
            esc(label)
        );
    }
}

/// Invisible columns over the plot, one per label, that the tooltip reads its index from.
pub(crate) fn hit_columns(out: &mut String, xs: &[f64]) {
    for (i, x) in xs.iter().enumerate() {
        let left = if i == 0 { LEFT } else { (xs[i - 1] + x) / 2.0 };
        let right = xs.get(i + 1).map_or(WIDTH - RIGHT, |next| (x + next) / 2.0);
        let _ = write!(
            out,
            r#"<rect class="chart-hit" data-i="{i}" x="{left:.1}" y="{TOP}" width="{:.1}" height="{PLOT_H}"/>"#,
            (right - left).max(1.0)
        );
    }
}

/// Tooltips and table rows of an axis chart: per label, every series' value (and the total
/// when stacked).
pub(crate) fn per_label(
    drawing: &mut Drawing,
    labels: &[String],
    series: &[Series],
    xs: &[f64],
    unit: &str,
    heading: &str,
    total: bool,
) {
    drawing.head = std::iter::once(heading.to_owned())
        .chain(series.iter().map(|s| s.name.clone()))
        .chain(total.then(|| "Total".to_owned()))
        .collect();
    drawing.legend = series
        .iter()
        .map(|s| (s.class.clone(), s.name.clone(), None))
        .collect();
    for (i, label) in labels.iter().enumerate() {
        let values: Vec<f64> = series.iter().map(|s| value_at(s, i)).collect();
        let mut cells: Vec<String> = values.iter().map(|v| number(*v, unit)).collect();
        if total {
            cells.push(number(values.iter().sum(), unit));
        }
        drawing.tips.push(Tip {
            title: label.clone(),
            rows: series
                .iter()
                .zip(&cells)
                .map(|(s, c)| (s.class.clone(), s.name.clone(), c.clone()))
                .collect(),
            x: xs.get(i).copied().unwrap_or(0.0) / WIDTH * 100.0,
        });
        drawing.rows.push((label.clone(), cells));
    }
    if let Some(last) = drawing.tips.last() {
        drawing.summary = format!("Latest, {}.", last.spoken());
    }
}

/// The frame of every chart but the sparkline: title, SVG, tooltip, legend and the table of
/// numbers, or a clear empty state when `drawing` is `None`. `kind` is an extra class of the
/// figure (`chart-donut`).
pub(crate) fn chart_frame(
    id: &'static str,
    title: String,
    description: String,
    drawing: Option<Drawing>,
    kind: &'static str,
) -> AnyView {
    let Some(drawing) = drawing else {
        return view! {
            <figure class="chart chart-empty" id=id>
                <figcaption class="chart-title">{title}</figcaption>
                <p class="empty-state empty">"No data yet"</p>
            </figure>
        }
        .into_any();
    };
    let Drawing {
        view_box,
        body,
        summary,
        legend,
        head,
        rows,
        tips,
    } = drawing;
    let svg = format!(
        r#"<title id="{id}-title">{}</title><desc id="{id}-desc">{} {}</desc>{body}"#,
        esc(&title),
        esc(&description),
        esc(&summary)
    );
    let count = tips.len();
    let label_head = head.first().cloned().unwrap_or_default();
    let caption = format!("{title}: the numbers");
    let plot_label = format!("{title}: arrow keys step through the values");
    let tips = StoredValue::new(tips);
    let active = RwSignal::new(None::<usize>);
    // true once hydrated: only then is the plot a focus stop with something to do
    let live = RwSignal::new(false);
    Effect::new(move |_| live.set(true));
    let tip = move || {
        active
            .get()
            .and_then(|i| tips.with_value(|t| t.get(i).cloned()))
    };
    let point = move |ev: leptos::ev::PointerEvent| {
        let index = ev
            .target()
            .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
            .and_then(|el| el.closest("[data-i]").ok().flatten())
            .and_then(|el| el.get_attribute("data-i"))
            .and_then(|i| i.parse::<usize>().ok());
        if index.is_some() {
            active.set(index);
        }
    };
    let step = move |ev: leptos::ev::KeyboardEvent| {
        let last = count.saturating_sub(1);
        let now = active.get_untracked().unwrap_or(last);
        let next = match ev.key().as_str() {
            "ArrowRight" | "ArrowDown" => Some((now + 1).min(last)),
            "ArrowLeft" | "ArrowUp" => Some(now.saturating_sub(1)),
            "Home" => Some(0),
            "End" => Some(last),
            "Escape" => None,
            _ => return,
        };
        ev.prevent_default();
        active.set(next);
    };
    view! {
        <figure class=format!("chart {kind}") id=id>
            <figcaption class="chart-title">{title}</figcaption>
            <div class="chart-body">
                <div
                    class="chart-plot"
                    tabindex=move || live.get().then_some("0")
                    role=move || live.get().then_some("group")
                    aria-label=move || live.get().then(|| plot_label.clone())
                    on:pointerover=point
                    on:pointerleave=move |_| active.set(None)
                    on:keydown=step
                    on:focus=move |_| active.set(count.checked_sub(1))
                    on:blur=move |_| active.set(None)
                >
                    <svg
                        role="img"
                        aria-labelledby=format!("{id}-title {id}-desc")
                        viewBox=view_box
                        inner_html=svg
                    ></svg>
                    {move || {
                        tip()
                            .map(|tip| {
                                view! {
                                    <div
                                        class="chart-tip"
                                        class:chart-tip-left={tip.x > 60.0}
                                        style:left=format!("{:.1}%", tip.x)
                                        aria-hidden="true"
                                    >
                                        <strong>{tip.title}</strong>
                                        <ul>
                                            {tip
                                                .rows
                                                .into_iter()
                                                .map(|(class, name, value)| {
                                                    view! {
                                                        <li>
                                                            <span class=format!("swatch {class}")></span>
                                                            {name}
                                                            " "
                                                            <b>{value}</b>
                                                        </li>
                                                    }
                                                })
                                                .collect_view()}
                                        </ul>
                                    </div>
                                }
                            })
                    }}
                    <p class="visually-hidden" aria-live="polite">
                        {move || tip().map(|t| t.spoken())}
                    </p>
                </div>
                <ul class="chart-legend">
                    {legend
                        .into_iter()
                        .map(|(class, text, href)| {
                            let swatch = view! {
                                <span class=format!("swatch {class}") aria-hidden="true"></span>
                            };
                            match href {
                                Some(href) => view! { <li>{swatch}<a href=href>{text}</a></li> }.into_any(),
                                None => view! { <li>{swatch}{text}</li> }.into_any(),
                            }
                        })
                        .collect_view()}
                </ul>
            </div>
            <details class="chart-numbers">
                <summary>"Numbers"</summary>
                <div class="table-wrap">
                    <table>
                        <caption>{caption}</caption>
                        <thead>
                            <tr>
                                <th scope="col">{label_head}</th>
                                {head
                                    .into_iter()
                                    .skip(1)
                                    .map(|h| view! { <th scope="col" class="num">{h}</th> })
                                    .collect_view()}
                            </tr>
                        </thead>
                        <tbody>
                            {rows
                                .into_iter()
                                .map(|(label, cells)| {
                                    view! {
                                        <tr>
                                            <th scope="row">{label}</th>
                                            {cells
                                                .into_iter()
                                                .map(|c| view! { <td class="num">{c}</td> })
                                                .collect_view()}
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                </div>
            </details>
        </figure>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_reach_the_maximum() {
        assert_eq!(
            nice_ticks(87.0, true),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        assert_eq!(
            nice_ticks(100.0, true),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        assert_eq!(nice_ticks(1234.0, true), vec![0.0, 500.0, 1000.0, 1500.0]);
        assert_eq!(nice_ticks(3.0, true), vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(nice_ticks(0.9, false), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        for max in [1.0, 7.0, 13.0, 99.0, 101.0, 4321.0, 1e6] {
            let ticks = nice_ticks(max, true);
            assert!((2..=7).contains(&ticks.len()), "{max}: {ticks:?}");
            assert!(ticks[ticks.len() - 2] < max && max <= ticks[ticks.len() - 1]);
        }
        assert_eq!(nice_ticks(0.3, false), vec![0.0, 0.1, 0.2, 0.3]);
    }

    #[test]
    fn counts_never_get_fractional_ticks() {
        assert_eq!(nice_ticks(2.0, true), vec![0.0, 1.0, 2.0]);
        assert_eq!(nice_ticks(2.0, false), vec![0.0, 0.5, 1.0, 1.5, 2.0]);
    }

    #[test]
    fn no_data_still_gets_a_scale() {
        assert_eq!(nice_ticks(0.0, true), vec![0.0, 1.0]);
        assert_eq!(nice_ticks(-5.0, true), vec![0.0, 1.0]);
        assert_eq!(nice_ticks(f64::NAN, true), vec![0.0, 1.0]);
    }

    #[test]
    fn the_scale_maps_zero_to_the_baseline_and_the_top_tick_to_the_top() {
        assert_eq!(y_of(0.0, 100.0), TOP + PLOT_H);
        assert_eq!(y_of(100.0, 100.0), TOP);
        assert_eq!(y_of(50.0, 100.0), TOP + PLOT_H / 2.0);
        assert_eq!(y_of(-3.0, 100.0), TOP + PLOT_H);
        assert_eq!(point_x(0, 5), LEFT);
        assert_eq!(point_x(4, 5), WIDTH - RIGHT);
        assert_eq!(point_x(0, 1), LEFT + PLOT_W / 2.0);
    }

    #[test]
    fn labels_are_thinned_so_they_never_overlap() {
        let days: Vec<String> = (1..=90).map(|d| format!("2026-09-{d:02}")).collect();
        let spacing = PLOT_W / 89.0;
        let step = label_step(&days, spacing);
        let shown = days.iter().step_by(step).count();
        assert!((3..=8).contains(&shown), "{shown} labels shown");
        // neighbours are at least one label width apart
        assert!(step as f64 * spacing >= 10.0 * CHAR_W);
        let few = vec!["Critical".to_owned(), "High".to_owned()];
        assert_eq!(label_step(&few, PLOT_W / 2.0), 1);
    }

    #[test]
    fn numbers_read_like_numbers() {
        assert_eq!(number(1234.0, ""), "1,234");
        assert_eq!(number(12.26, " d"), "12.3 d");
        assert_eq!(number(7.0, "%"), "7%");
        assert_eq!(number(f64::NAN, ""), "0");
    }

    #[test]
    fn text_in_svg_markup_is_escaped() {
        assert_eq!(
            esc(r#"<script>"a" & 'b'"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;"
        );
    }
}

/// What the server sends: the markup that must work with JavaScript off.
#[cfg(all(test, feature = "ssr"))]
mod rendered {
    use leptos::prelude::*;

    use super::{BarChart, Donut, LineChart, Series, Slice, Sparkline, StackedArea};

    /// The server's HTML without the empty comments hydration places between text nodes
    /// (erased views put one after dynamic text), so tests read what a person reads.
    fn html(view: impl FnOnce() -> AnyView) -> String {
        Owner::new().with(|| view().to_html()).replace("<!>", "")
    }

    #[test]
    fn a_chart_is_a_named_image_with_a_legend_and_a_table_of_its_numbers() {
        let page = html(|| {
            view! {
                <StackedArea
                    id="trend"
                    title="Open findings".to_owned()
                    description="Per day & severity.".to_owned()
                    labels=vec!["2026-09-01".to_owned(), "2026-09-02".to_owned()]
                    series=vec![Series::new("Critical", "sev-critical", vec![1.0, 2.0])]
                />
            }
            .into_any()
        });
        for part in [
            r#"<figure id="trend" class="chart">"#,
            r#"<figcaption class="chart-title">Open findings</figcaption>"#,
            r#"role="img" aria-labelledby="trend-title trend-desc""#,
            r#"<title id="trend-title">Open findings</title>"#,
            r#"<desc id="trend-desc">Per day &amp; severity. Latest, 2026-09-02: Critical 2.</desc>"#,
            r#"<ul class="chart-legend">"#,
            "<summary>Numbers</summary>",
            "<caption>Open findings: the numbers</caption>",
            r#"<th scope="col">Date</th><th scope="col" class="num">Critical</th>"#,
            r#"<th scope="row">2026-09-02</th>"#,
            r#"<td class="num">2</td>"#,
        ] {
            assert!(page.contains(part), "{part} missing from {page}");
        }
        // nothing the Content-Security-Policy would block, nothing focusable before hydration
        assert!(!page.contains("style="), "{page}");
        assert!(!page.contains("tabindex"), "{page}");
    }

    #[test]
    fn every_chart_without_data_says_so() {
        let page = html(|| {
            view! {
                <LineChart id="a" title="A".to_owned() description=String::new() labels=vec![] series=vec![] />
                <BarChart id="b" title="B".to_owned() description=String::new() labels=vec![] series=vec![] stacked=true />
                <Donut id="c" title="C".to_owned() description=String::new() slices={Vec::<Slice>::new()} />
                <Sparkline id="d" label="D".to_owned() values=vec![] class="sev-low".to_owned() />
            }
            .into_any()
        });
        assert_eq!(page.matches("No data yet").count(), 3, "{page}");
        assert!(page.contains(r#"aria-label="D: no data yet""#), "{page}");
        assert!(!page.contains("<table"), "{page}");
    }

    #[test]
    fn donut_legend_entries_link_to_their_list() {
        let page = html(|| {
            view! {
                <Donut
                    id="kinds"
                    title="Kinds".to_owned()
                    description="By kind.".to_owned()
                    slices=vec![Slice {
                        label: "Secrets".to_owned(),
                        class: "series-3".to_owned(),
                        value: 4.0,
                        href: Some("/findings?kind=secret".to_owned()),
                    }]
                />
            }
            .into_any()
        });
        assert!(
            page.contains(r#"<a href="/findings?kind=secret">Secrets: 4 (100%)</a>"#),
            "{page}"
        );
        assert!(page.contains(r#"class="chart chart-donut""#), "{page}");
    }
}
