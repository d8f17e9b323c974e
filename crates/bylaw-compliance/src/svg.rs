//! Small inline-SVG chart primitives for the HTML report ([`crate::html`]):
//! a line chart with several series and gaps ([`line_chart`]), stacked bars
//! ([`stacked_bars`]) and a horizontal bar list ([`bar_list`]).
//!
//! Every chart is one `<svg>` element (SVG 1.1 as embedded in HTML5, no
//! external reference) with `role="img"`, an `aria-label`, a `<title>`,
//! axes with ticks, a legend, and a `<title>` tooltip on every data point.
//! Output is deterministic: numbers are written with at most two decimals
//! and the same input gives the same bytes. Every text that comes from the
//! input (labels, series names, titles) is XML-escaped ([`escape`]).
//!
//! Attributes a test or the report's script can read: `data-chart` (the
//! chart's id) on the `<svg>`, and on each data point (`circle` of a line,
//! `rect` of a bar) `class="pt"`, `data-series`, `data-x` (its x label),
//! `data-value` (the number, empty for none) and `data-period` when the
//! chart has periods (the report's filters hide points by it).

use std::fmt::Write as _;

/// Width of every chart's view box, in SVG user units.
pub const WIDTH: f64 = 640.0;
/// Height of the line and bar charts' view box, in SVG user units.
pub const HEIGHT: f64 = 260.0;

const LEFT: f64 = 52.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 64.0;

/// The colours of series without their own, in order (colour-blind-safe Okabe–Ito palette).
pub const PALETTE: [&str; 8] = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#f0e442", "#000000"];

/// Escapes `s` for XML/HTML text and attribute values (`&`, `<`, `>`, `"`, `'`).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // control characters are not allowed in XML 1.0
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' && c != '\r' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A number as written in the SVG: at most two decimals, no trailing zeros, no `-0`.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".into();
    }
    let s = format!("{:.2}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_owned()
    }
}

/// One series of a chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Shown in the legend and tooltips; also its `data-series` (escaped).
    pub name: String,
    /// CSS colour; `None` = the next colour of [`PALETTE`].
    pub colour: Option<String>,
    /// One value per x label; `None` is a gap (the line is broken, the bar absent).
    pub values: Vec<Option<f64>>,
}

impl Series {
    /// A series of `values` named `name` with the palette's colour.
    pub fn new(name: impl Into<String>, values: Vec<Option<f64>>) -> Self {
        Series { name: name.into(), colour: None, values }
    }

    /// The same series drawn in `colour`.
    pub fn colour(mut self, colour: impl Into<String>) -> Self {
        self.colour = Some(colour.into());
        self
    }
}

/// A chart over x labels (periods, usually).
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// Its `data-chart` id, e.g. `findings-by-severity`.
    pub id: String,
    /// Its accessible name (`aria-label`, `<title>`).
    pub title: String,
    /// The x labels, in order (e.g. each period's first day).
    pub labels: Vec<String>,
    /// The `data-period` of each x slot's points (for the report's filters), same order as `labels`; empty = none.
    pub periods: Vec<String>,
    /// The series.
    pub series: Vec<Series>,
    /// Unit written after values in tooltips and the y axis' caption (`%`, `h`, or empty).
    pub unit: String,
    /// Upper bound of the y axis; `None` = from the data.
    pub y_max: Option<f64>,
}

fn colour_of(series: &Series, i: usize) -> String {
    series.colour.clone().unwrap_or_else(|| PALETTE[i % PALETTE.len()].to_owned())
}

/// A "nice" axis maximum and tick step for values up to `max`: steps of 1, 2 or 5 × 10ⁿ, at most 5 ticks above 0.
pub fn nice_scale(max: f64) -> (f64, f64) {
    if !max.is_finite() || max <= 0.0 {
        return (1.0, 1.0);
    }
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    // whole counts never get fractional ticks
    let step = if max >= 1.0 && step < 1.0 { 1.0 } else { step };
    ((max / step).ceil() * step, step)
}

fn fmt_value(v: Option<f64>, unit: &str) -> String {
    match v {
        Some(v) => format!("{}{}", num(v), unit),
        None => "no data".into(),
    }
}

/// Opening of a chart: `<svg>` with its accessible name and the plot frame.
fn open(out: &mut String, chart_id: &str, title: &str, height: f64) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" data-chart=\"{id}\" role=\"img\" aria-label=\"{t}\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\"><title>{t}</title>",
        id = escape(chart_id),
        t = escape(title),
        w = num(WIDTH),
        h = num(height),
    );
}

/// The y axis with ticks and grid lines, and the x axis with up to 8 labels; returns the y scale.
fn axes(out: &mut String, chart: &Chart, y_max: f64, step: f64) {
    let plot_h = HEIGHT - TOP - BOTTOM;
    let plot_w = WIDTH - LEFT - RIGHT;
    out.push_str("<g class=\"axis y\">");
    let ticks = (y_max / step).round() as usize;
    for t in 0..=ticks {
        let v = step * t as f64;
        let y = TOP + plot_h - v / y_max * plot_h;
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{x1}\" x2=\"{x2}\" y1=\"{y}\" y2=\"{y}\" stroke=\"#ddd\"/><text x=\"{tx}\" y=\"{ty}\" text-anchor=\"end\" font-size=\"11\">{label}</text>",
            x1 = num(LEFT),
            x2 = num(LEFT + plot_w),
            y = num(y),
            tx = num(LEFT - 6.0),
            ty = num(y + 4.0),
            label = escape(&format!("{}{}", num(v), chart.unit)),
        );
    }
    let _ = write!(
        out,
        "<line x1=\"{l}\" x2=\"{l}\" y1=\"{t}\" y2=\"{b}\" stroke=\"#555\"/></g>",
        l = num(LEFT),
        t = num(TOP),
        b = num(TOP + plot_h)
    );
    out.push_str("<g class=\"axis x\">");
    let _ = write!(
        out,
        "<line x1=\"{l}\" x2=\"{r}\" y1=\"{b}\" y2=\"{b}\" stroke=\"#555\"/>",
        l = num(LEFT),
        r = num(LEFT + plot_w),
        b = num(TOP + plot_h)
    );
    let n = chart.labels.len();
    let every = n.div_ceil(8).max(1);
    for (i, label) in chart.labels.iter().enumerate() {
        if i % every != 0 && i + 1 != n {
            continue;
        }
        let x = x_of(i, n);
        let _ = write!(
            out,
            "<text x=\"{x}\" y=\"{y}\" text-anchor=\"middle\" font-size=\"10\">{label}</text>",
            x = num(x),
            y = num(TOP + plot_h + 14.0),
            label = escape(label)
        );
    }
    out.push_str("</g>");
}

/// x of the centre of slot `i` of `n`.
fn x_of(i: usize, n: usize) -> f64 {
    let plot_w = WIDTH - LEFT - RIGHT;
    let slot = plot_w / n.max(1) as f64;
    LEFT + slot * (i as f64 + 0.5)
}

fn legend(out: &mut String, series: &[Series], y: f64) {
    out.push_str("<g class=\"legend\">");
    let mut x = LEFT;
    for (i, s) in series.iter().enumerate() {
        let _ = write!(
            out,
            "<rect x=\"{x}\" y=\"{ry}\" width=\"10\" height=\"10\" fill=\"{c}\"/><text x=\"{tx}\" y=\"{ty}\" font-size=\"11\">{name}</text>",
            x = num(x),
            ry = num(y - 9.0),
            c = escape(&colour_of(s, i)),
            tx = num(x + 14.0),
            ty = num(y),
            name = escape(&s.name)
        );
        x += 24.0 + 6.5 * s.name.chars().count() as f64;
    }
    out.push_str("</g>");
}

fn point_attrs(chart: &Chart, series: &Series, i: usize, v: Option<f64>) -> String {
    let label = chart.labels.get(i).map(String::as_str).unwrap_or("");
    let mut a = format!(
        " class=\"pt\" data-series=\"{}\" data-x=\"{}\" data-value=\"{}\"",
        escape(&series.name),
        escape(label),
        v.map(num).unwrap_or_default()
    );
    if let Some(period) = chart.periods.get(i) {
        let _ = write!(a, " data-period=\"{}\"", escape(period));
    }
    a
}

fn empty_note(out: &mut String, chart: &Chart) -> bool {
    let has_data = chart.series.iter().any(|s| s.values.iter().any(Option::is_some));
    if !has_data {
        let _ = write!(
            out,
            "<text class=\"empty\" x=\"{x}\" y=\"{y}\" text-anchor=\"middle\" font-size=\"13\">no data in the window</text>",
            x = num(WIDTH / 2.0),
            y = num(HEIGHT / 2.0)
        );
    }
    !has_data
}

/// A line chart: one polyline per series, broken at `None`, with a dot (and tooltip) per value.
pub fn line_chart(chart: &Chart) -> String {
    let mut out = String::new();
    open(&mut out, &chart.id, &chart.title, HEIGHT);
    let data_max = chart.series.iter().flat_map(|s| s.values.iter().flatten()).fold(0.0f64, |a, b| a.max(*b));
    let (y_max, step) = nice_scale(chart.y_max.unwrap_or(data_max).max(data_max));
    axes(&mut out, chart, y_max, step);
    let plot_h = HEIGHT - TOP - BOTTOM;
    let n = chart.labels.len();
    let y_of = |v: f64| TOP + plot_h - v / y_max * plot_h;
    if !empty_note(&mut out, chart) {
        for (si, s) in chart.series.iter().enumerate() {
            let c = escape(&colour_of(s, si));
            let mut d = String::new();
            let mut pen_down = false;
            for (i, v) in s.values.iter().enumerate().take(n) {
                match v {
                    Some(v) => {
                        let _ =
                            write!(d, "{}{} {}", if pen_down { " L" } else { " M" }, num(x_of(i, n)), num(y_of(*v)));
                        pen_down = true;
                    }
                    None => pen_down = false,
                }
            }
            let _ = write!(
                out,
                "<g class=\"series\" data-series=\"{name}\"><path d=\"{d}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"2\"/>",
                name = escape(&s.name),
                d = d.trim_start()
            );
            for (i, v) in s.values.iter().enumerate().take(n) {
                if let Some(v) = v {
                    let _ = write!(
                        out,
                        "<circle{a} cx=\"{x}\" cy=\"{y}\" r=\"3\" fill=\"{c}\"><title>{t}</title></circle>",
                        a = point_attrs(chart, s, i, Some(*v)),
                        x = num(x_of(i, n)),
                        y = num(y_of(*v)),
                        t = escape(&format!("{} — {}: {}", chart.labels[i], s.name, fmt_value(Some(*v), &chart.unit)))
                    );
                }
            }
            out.push_str("</g>");
        }
    }
    legend(&mut out, &chart.series, HEIGHT - 12.0);
    out.push_str("</svg>");
    out
}

/// Stacked bars: one bar per x label, one segment per series (first series at the bottom); `None` counts as 0.
pub fn stacked_bars(chart: &Chart) -> String {
    let mut out = String::new();
    open(&mut out, &chart.id, &chart.title, HEIGHT);
    let n = chart.labels.len();
    let totals: Vec<f64> =
        (0..n).map(|i| chart.series.iter().map(|s| s.values.get(i).copied().flatten().unwrap_or(0.0)).sum()).collect();
    let data_max = totals.iter().fold(0.0f64, |a, b| a.max(*b));
    let (y_max, step) = nice_scale(chart.y_max.unwrap_or(data_max).max(data_max));
    axes(&mut out, chart, y_max, step);
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = (WIDTH - LEFT - RIGHT) / n.max(1) as f64;
    let bar_w = (slot * 0.7).max(1.0);
    if !empty_note(&mut out, chart) {
        let mut base = vec![0.0f64; n];
        for (si, s) in chart.series.iter().enumerate() {
            let c = escape(&colour_of(s, si));
            let _ = write!(out, "<g class=\"series\" data-series=\"{}\">", escape(&s.name));
            for (i, base) in base.iter_mut().enumerate() {
                let Some(v) = s.values.get(i).copied().flatten() else { continue };
                let h = v / y_max * plot_h;
                let y = TOP + plot_h - (*base + v) / y_max * plot_h;
                *base += v;
                let _ = write!(
                    out,
                    "<rect{a} x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"{c}\"><title>{t}</title></rect>",
                    a = point_attrs(chart, s, i, Some(v)),
                    x = num(x_of(i, n) - bar_w / 2.0),
                    y = num(y),
                    w = num(bar_w),
                    h = num(h),
                    t = escape(&format!("{} — {}: {}", chart.labels[i], s.name, fmt_value(Some(v), &chart.unit)))
                );
            }
            out.push_str("</g>");
        }
    }
    legend(&mut out, &chart.series, HEIGHT - 12.0);
    out.push_str("</svg>");
    out
}

/// A horizontal bar list: one labelled bar per `(label, value)`, in the given order, scaled to the largest value.
pub fn bar_list(id: &str, title: &str, items: &[(String, f64)], unit: &str) -> String {
    const ROW: f64 = 22.0;
    const LABEL_W: f64 = 220.0;
    let height = TOP + ROW * items.len().max(1) as f64 + 8.0;
    let mut out = String::new();
    open(&mut out, id, title, height);
    let max = items.iter().map(|(_, v)| *v).fold(0.0f64, f64::max);
    let bar_space = WIDTH - LABEL_W - RIGHT - 60.0;
    if items.is_empty() {
        let _ = write!(
            out,
            "<text class=\"empty\" x=\"{x}\" y=\"{y}\" text-anchor=\"middle\" font-size=\"13\">no data in the window</text>",
            x = num(WIDTH / 2.0),
            y = num(TOP + 12.0)
        );
    }
    for (i, (label, v)) in items.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let w = if max > 0.0 { v / max * bar_space } else { 0.0 };
        let shown: String = if label.chars().count() > 34 {
            label.chars().take(33).chain(std::iter::once('…')).collect()
        } else {
            label.clone()
        };
        let _ = write!(
            out,
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" font-size=\"11\">{shown}</text><rect class=\"pt\" data-series=\"{id}\" data-x=\"{l}\" data-value=\"{vv}\" x=\"{bx}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"{c}\"><title>{t}</title></rect><text x=\"{vx}\" y=\"{ty}\" font-size=\"11\">{vt}</text>",
            lx = num(LABEL_W - 6.0),
            ty = num(y + 13.0),
            shown = escape(&shown),
            id = escape(id),
            l = escape(label),
            vv = num(*v),
            bx = num(LABEL_W),
            y = num(y + 2.0),
            w = num(w),
            h = num(ROW - 6.0),
            c = PALETTE[0],
            t = escape(&format!("{label}: {}{unit}", num(*v))),
            vx = num(LABEL_W + w + 6.0),
            vt = escape(&format!("{}{unit}", num(*v))),
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(series: Vec<Series>) -> Chart {
        Chart {
            id: "c".into(),
            title: "T".into(),
            labels: vec!["a".into(), "b".into(), "c".into()],
            periods: vec!["pa".into(), "pb".into(), "pc".into()],
            series,
            unit: String::new(),
            y_max: None,
        }
    }

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert('x&y')</script>\""),
            "&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt;&quot;"
        );
        assert_eq!(escape("a\u{1}b"), "a\u{fffd}b");
    }

    #[test]
    fn numbers_are_short_and_stable() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(2.5), "2.5");
        assert_eq!(num(1.0 / 3.0), "0.33");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(f64::NAN), "0");
    }

    #[test]
    fn nice_scale_rounds_up_to_1_2_5_steps() {
        assert_eq!(nice_scale(0.0), (1.0, 1.0));
        assert_eq!(nice_scale(3.0), (3.0, 1.0));
        assert_eq!(nice_scale(7.0), (8.0, 2.0));
        assert_eq!(nice_scale(100.0), (100.0, 20.0));
        assert_eq!(nice_scale(0.4), (0.4, 0.1));
    }

    #[test]
    fn line_chart_breaks_at_gaps_and_has_a_point_per_value() {
        let svg = line_chart(&chart(vec![Series::new("fix rate", vec![Some(10.0), None, Some(30.0)])]));
        assert!(svg.starts_with(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" data-chart=\"c\" role=\"img\" aria-label=\"T\""
        ));
        assert!(svg.contains("<title>T</title>"));
        // two moves, no line across the gap
        assert_eq!(svg.matches("d=\"M").count(), 1);
        assert_eq!(svg.matches(" M").count(), 1, "{svg}");
        assert!(!svg.contains(" L"));
        assert_eq!(svg.matches("<circle class=\"pt\"").count(), 2);
        assert!(svg.contains("data-series=\"fix rate\" data-x=\"c\" data-value=\"30\" data-period=\"pc\""));
        assert!(svg.contains("<title>a — fix rate: 10</title>"));
        assert!(svg.ends_with("</svg>"));
        // deterministic
        assert_eq!(svg, line_chart(&chart(vec![Series::new("fix rate", vec![Some(10.0), None, Some(30.0)])])));
    }

    #[test]
    fn line_chart_joins_consecutive_values() {
        let svg = line_chart(&chart(vec![Series::new("s", vec![Some(1.0), Some(2.0), Some(3.0)])]));
        assert_eq!(svg.matches(" L").count(), 2);
    }

    #[test]
    fn stacked_bars_stack_series_and_skip_gaps() {
        let svg = stacked_bars(&chart(vec![
            Series::new("high", vec![Some(2.0), Some(0.0), None]),
            Series::new("low", vec![Some(1.0), Some(4.0), Some(1.0)]),
        ]));
        assert_eq!(svg.matches("<rect class=\"pt\"").count(), 5);
        // axis to 4 (tallest stack 4)
        assert!(svg.contains(">4</text>"));
        assert!(svg.contains("class=\"legend\""));
        assert!(svg.contains(">high</text>") && svg.contains(">low</text>"));
    }

    #[test]
    fn empty_chart_says_so() {
        let svg = line_chart(&chart(vec![Series::new("s", vec![None, None, None])]));
        assert!(svg.contains("no data in the window"));
        assert!(!svg.contains("<circle"));
    }

    #[test]
    fn input_text_is_escaped_everywhere() {
        let mut c = chart(vec![Series::new("<b>\"x\"</b>", vec![Some(1.0), None, None])]);
        c.title = "<script>".into();
        c.labels[0] = "a&b".into();
        let svg = line_chart(&c);
        assert!(!svg.contains("<b>") && !svg.contains("<script>"));
        assert!(svg.contains("aria-label=\"&lt;script&gt;\""));
        assert!(svg.contains("data-x=\"a&amp;b\""));
        let list = bar_list("noise", "<i>", &[("<rule>".into(), 2.0)], "%");
        assert!(!list.contains("<rule>") && !list.contains("<i>"));
        assert!(list.contains("data-value=\"2\""));
    }

    #[test]
    fn bar_list_has_one_bar_per_item_scaled_to_the_largest() {
        let svg = bar_list("l", "L", &[("a".into(), 4.0), ("b".into(), 2.0)], "");
        assert_eq!(svg.matches("<rect class=\"pt\"").count(), 2);
        // the largest is the full bar space
        assert!(svg.contains("data-x=\"a\" data-value=\"4\" x=\"220\" y=\"18\" width=\"344\""), "{svg}");
        assert!(svg.contains("data-x=\"b\" data-value=\"2\" x=\"220\" y=\"40\" width=\"172\""));
    }
}
