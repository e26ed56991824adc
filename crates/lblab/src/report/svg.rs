//! The chart primitives of the HTML report: grouped bars and lines over time, as plain SVG with
//! axes, units and a legend. Every drawn value also sits in a `data-` attribute of its element, so
//! the tests can read the chart back and hold it against the JSON.

use std::fmt::Write as _;

/// Tableau 10: distinct on screen and in greyscale print, and kind to the colour-blind.
const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

pub fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 440.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 96.0;
const BOTTOM: f64 = 64.0;

/// Bars in groups along x (one group per method), one bar per series (backend) in each group.
pub struct Bars<'a> {
    pub id: &'a str,
    pub title: &'a str,
    /// What was run, under the title.
    pub subtitle: &'a str,
    pub y_label: &'a str,
    pub x_label: &'a str,
    pub groups: Vec<String>,
    pub series: Vec<String>,
    /// `values[group][series]`, in the unit of `y_label` as drawn.
    pub values: Vec<Vec<f64>>,
    /// The top of the y axis at least (e.g. 100 for percentages).
    pub y_cap: Option<f64>,
    /// A dashed horizontal line with its label, e.g. the even share.
    pub reference: Option<(f64, String)>,
    /// Digits after the point in the labels on the bars.
    pub decimals: usize,
}

/// Lines over time: x in seconds since the start, one line per series.
pub struct Lines<'a> {
    pub id: &'a str,
    pub title: &'a str,
    /// What was run, under the title.
    pub subtitle: &'a str,
    pub y_label: &'a str,
    /// Where each value is drawn, in seconds (e.g. the middle of its bucket); shared by the series.
    pub x: Vec<f64>,
    /// Where the x axis ends: where the run ended.
    pub x_end: f64,
    /// A value of `None` (e.g. the p99 of a bucket nobody answered in) is not drawn: the line
    /// joins the values around it.
    pub series: Vec<(String, Vec<Option<f64>>)>,
    /// The top of the y axis at least (e.g. 100 for percentages).
    pub y_cap: Option<f64>,
    /// Vertical markers: seconds since the start, and what happened.
    pub markers: Vec<(f64, String)>,
}

/// 1, 2 or 5 times a power of ten, so that about `n` ticks cover `max`.
fn tick_step(max: f64, n: f64) -> f64 {
    let raw = (max / n).max(f64::MIN_POSITIVE);
    let pow = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * pow)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * pow)
}

/// Text and attribute values, escaped for XML (and HTML).
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn fmt_num(v: f64, decimals: usize) -> String {
    format!("{v:.decimals$}")
}

/// The frame every chart shares: title, y axis with its ticks and grid, x axis line. Returns the
/// y scale (value → pixel).
fn frame(
    s: &mut String,
    id: &str,
    (title, subtitle): (&str, &str),
    y_label: &str,
    y_max: f64,
) -> impl Fn(f64) -> f64 + use<> {
    let plot_h = HEIGHT - TOP - BOTTOM;
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" id="{id}" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="13" data-y-max="{y_max}">"#
    );
    let _ = writeln!(
        s,
        r##"<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        s,
        r##"<text class="title" x="{LEFT}" y="28" font-size="18" font-weight="600" fill="#222222">{}</text>"##,
        esc(title)
    );
    let _ = writeln!(
        s,
        r##"<text class="subtitle" x="{LEFT}" y="48" font-size="12" fill="#666666">{}</text>"##,
        esc(subtitle)
    );
    let y = move |v: f64| TOP + plot_h - v / y_max * plot_h;
    let step = tick_step(y_max, 5.0);
    let mut t = 0.0;
    while t <= y_max + step * 1e-9 {
        let py = y(t);
        let _ = writeln!(
            s,
            r##"<line class="grid" x1="{LEFT}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#e4e4e4"/>"##,
            WIDTH - RIGHT
        );
        let label = if step >= 1.0 {
            format!("{t:.0}")
        } else {
            format!("{t:.*}", (-step.log10().floor()) as usize)
        };
        let _ = writeln!(
            s,
            r##"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="end" fill="#555555">{label}</text>"##,
            LEFT - 8.0,
            py + 4.0
        );
        t += step;
    }
    let _ = writeln!(
        s,
        r##"<text class="axis-label" transform="translate(20 {:.1}) rotate(-90)" text-anchor="middle" fill="#333333">{}</text>"##,
        TOP + plot_h / 2.0,
        esc(y_label)
    );
    let _ = writeln!(
        s,
        r##"<line class="axis" x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#333333"/>"##,
        TOP + plot_h,
        WIDTH - RIGHT,
        TOP + plot_h
    );
    let _ = writeln!(
        s,
        r##"<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{:.1}" stroke="#333333"/>"##,
        TOP + plot_h
    );
    y
}

/// A row of swatches under the title, one per series.
fn legend(s: &mut String, names: &[String]) {
    let mut x = LEFT;
    for (i, name) in names.iter().enumerate() {
        let _ = writeln!(
            s,
            r#"<rect class="swatch" x="{x:.1}" y="62" width="14" height="14" fill="{}"/>"#,
            colour(i)
        );
        let _ = writeln!(
            s,
            r##"<text class="legend" x="{:.1}" y="74" fill="#333333">{}</text>"##,
            x + 20.0,
            esc(name)
        );
        x += 34.0 + 7.5 * name.chars().count() as f64;
    }
}

impl Bars<'_> {
    pub fn render(&self) -> String {
        let mut s = String::new();
        let top = self
            .values
            .iter()
            .flatten()
            .copied()
            .chain(self.reference.as_ref().map(|r| r.0))
            .fold(0.0f64, f64::max);
        let step = tick_step(top.max(f64::MIN_POSITIVE) * 1.08, 5.0);
        let mut y_max = (top * 1.08 / step).ceil().max(1.0) * step;
        if let Some(cap) = self.y_cap {
            y_max = y_max.min(cap).max(top);
        }
        let y = frame(
            &mut s,
            self.id,
            (self.title, self.subtitle),
            self.y_label,
            y_max,
        );
        legend(&mut s, &self.series);
        let plot_w = WIDTH - LEFT - RIGHT;
        let group_w = plot_w / self.groups.len().max(1) as f64;
        let bar_w = (group_w * 0.8 / self.series.len().max(1) as f64).min(56.0);
        let base = y(0.0);
        for (g, name) in self.groups.iter().enumerate() {
            let centre = LEFT + group_w * (g as f64 + 0.5);
            let x0 = centre - bar_w * self.series.len() as f64 / 2.0;
            for (k, series) in self.series.iter().enumerate() {
                let v = self.values[g].get(k).copied().unwrap_or(0.0);
                let top_y = y(v);
                let x = x0 + bar_w * k as f64;
                let _ = writeln!(
                    s,
                    r#"<rect class="bar" data-group="{}" data-series="{}" data-value="{v}" x="{:.2}" y="{top_y:.2}" width="{:.2}" height="{:.2}" fill="{}"/>"#,
                    esc(name),
                    esc(series),
                    x + 1.0,
                    bar_w - 2.0,
                    base - top_y,
                    colour(k)
                );
                if bar_w >= 22.0 {
                    let _ = writeln!(
                        s,
                        r##"<text class="value" x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10" fill="#333333" stroke="#ffffff" stroke-width="3" paint-order="stroke">{}</text>"##,
                        x + bar_w / 2.0,
                        top_y - 4.0,
                        fmt_num(v, self.decimals)
                    );
                }
            }
            let _ = writeln!(
                s,
                r##"<text class="group" x="{centre:.1}" y="{:.1}" text-anchor="middle" fill="#222222">{}</text>"##,
                base + 22.0,
                esc(name)
            );
        }
        if let Some((v, label)) = &self.reference {
            let py = y(*v);
            let _ = writeln!(
                s,
                r##"<line class="reference" data-value="{v}" x1="{LEFT}" y1="{py:.2}" x2="{:.1}" y2="{py:.2}" stroke="#444444" stroke-dasharray="6 4"/>"##,
                WIDTH - RIGHT
            );
            // In the legend's row, at its right: on the line itself it would cross the bars' labels.
            let _ = writeln!(
                s,
                r##"<line class="reference-key" x1="{:.1}" y1="69" x2="{:.1}" y2="69" stroke="#444444" stroke-dasharray="6 4"/>"##,
                WIDTH - RIGHT - 200.0,
                WIDTH - RIGHT - 170.0
            );
            let _ = writeln!(
                s,
                r##"<text class="reference-label" x="{:.1}" y="74" fill="#333333">{}</text>"##,
                WIDTH - RIGHT - 162.0,
                esc(label)
            );
        }
        let _ = writeln!(
            s,
            r##"<text class="axis-label" x="{:.1}" y="{:.1}" text-anchor="middle" fill="#333333">{}</text>"##,
            LEFT + plot_w / 2.0,
            HEIGHT - 14.0,
            esc(self.x_label)
        );
        s.push_str("</svg>\n");
        s
    }
}

impl Lines<'_> {
    pub fn render(&self) -> String {
        let mut s = String::new();
        let top = self
            .series
            .iter()
            .flat_map(|(_, v)| v.iter().flatten())
            .copied()
            .fold(0.0f64, f64::max);
        let top = match self.y_cap {
            Some(cap) => top.max(cap),
            None => top.max(1.0) * 1.08,
        };
        let step = tick_step(top, 5.0);
        let y_max = (top / step).ceil() * step;
        let y = frame(
            &mut s,
            self.id,
            (self.title, self.subtitle),
            self.y_label,
            y_max,
        );
        let names: Vec<String> = self.series.iter().map(|(n, _)| n.clone()).collect();
        legend(&mut s, &names);
        let plot_w = WIDTH - LEFT - RIGHT;
        let span = self.x_end.max(f64::MIN_POSITIVE);
        let x = |sec: f64| LEFT + sec.clamp(0.0, span) / span * plot_w;
        let base = y(0.0);
        let xstep = tick_step(span, 10.0);
        let decimals = if xstep >= 1.0 {
            0
        } else {
            (-xstep.log10().floor()) as usize
        };
        let mut t = 0.0;
        while t <= span + xstep * 1e-9 {
            let _ = writeln!(
                s,
                r##"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="middle" fill="#555555">{t:.decimals$}</text>"##,
                x(t),
                base + 18.0
            );
            t += xstep;
        }
        let _ = writeln!(
            s,
            r##"<text class="axis-label" x="{:.1}" y="{:.1}" text-anchor="middle" fill="#333333">seconds since the start (the run ended at {span:.3} s)</text>"##,
            LEFT + plot_w / 2.0,
            HEIGHT - 14.0
        );
        for (i, (at, label)) in self.markers.iter().enumerate() {
            let px = x(*at);
            let _ = writeln!(
                s,
                r##"<line class="marker" data-at="{at}" x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{base:.1}" stroke="#555555" stroke-dasharray="4 3"/>"##
            );
            // Staggered, so that faults close together keep their labels apart; right of the line
            // in the left half of the plot, left of it in the right half, so no label runs off.
            let (lx, anchor) = if px < LEFT + plot_w / 2.0 {
                (px + 4.0, "start")
            } else {
                (px - 4.0, "end")
            };
            let _ = writeln!(
                s,
                r##"<text class="marker-label" data-at="{at}" x="{lx:.1}" y="{:.1}" text-anchor="{anchor}" font-size="11" fill="#333333">{} (+{:.0} ms)</text>"##,
                TOP + 12.0 + 13.0 * (i % 4) as f64,
                esc(label),
                at * 1000.0
            );
        }
        let xs: Vec<String> = self.x.iter().map(|v| format!("{v:.4}")).collect();
        for (i, (name, values)) in self.series.iter().enumerate() {
            let points: Vec<String> = self
                .x
                .iter()
                .zip(values)
                .filter_map(|(t, v)| v.map(|v| format!("{:.1},{:.1}", x(*t), y(v))))
                .collect();
            let data: Vec<String> = values
                .iter()
                .map(|v| v.map_or("-".into(), |v| v.to_string()))
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline class="series" data-series="{}" data-values="{}" data-x="{}" points="{}" fill="none" stroke="{}" stroke-width="2" stroke-linejoin="round"/>"#,
                esc(name),
                data.join(" "),
                xs.join(" "),
                points.join(" "),
                colour(i)
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        assert_eq!(tick_step(100.0, 5.0), 20.0);
        assert_eq!(tick_step(36.0, 5.0), 10.0);
        assert_eq!(tick_step(0.9, 5.0), 0.2);
    }

    #[test]
    fn a_bar_is_as_tall_as_its_value() {
        let b = Bars {
            id: "t",
            title: "t <&>",
            subtitle: "",
            y_label: "share (%)",
            x_label: "method",
            groups: vec!["a".into()],
            series: vec!["1".into(), "2".into()],
            values: vec![vec![25.0, 75.0]],
            y_cap: Some(100.0),
            reference: None,
            decimals: 1,
        }
        .render();
        assert!(b.contains("t &lt;&amp;&gt;"), "{b}");
        let heights: Vec<f64> = b
            .lines()
            .filter(|l| l.starts_with("<rect class=\"bar\""))
            .map(|l| {
                let h = l.split("height=\"").nth(1).unwrap();
                h[..h.find('"').unwrap()].parse().unwrap()
            })
            .collect();
        assert_eq!(heights.len(), 2);
        assert!((heights[1] / heights[0] - 3.0).abs() < 0.01, "{heights:?}");
    }
}
