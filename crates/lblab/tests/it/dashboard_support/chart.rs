//! The dashboard's rolling chart read back from the page: each line carries the values it draws
//! (`data-t`, `data-values`).

use super::cdp::Browser;

/// One backend's line of a chart: the times (ms since the dashboard started) and the values.
pub struct Line {
    pub t: Vec<u64>,
    pub v: Vec<Option<f64>>,
}

pub fn line(b: &mut Browser, chart: &str, backend: u32) -> Option<Line> {
    let a = b.attrs(&format!("#{chart} polyline[data-backend=\"{backend}\"]"))?;
    let t = a["data-t"]
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let v = a["data-values"]
        .split(',')
        .map(|s| (!s.is_empty()).then(|| s.parse().unwrap()))
        .collect();
    Some(Line { t, v })
}

impl Line {
    /// The answers the line stands for between `from` and `to` (ms): each rate times the time since
    /// the point before.
    pub fn answers(&self, from: u64, to: u64) -> f64 {
        (1..self.t.len())
            .filter(|&k| self.t[k] > from && self.t[k] <= to)
            .map(|k| self.v[k].unwrap_or(0.0) * (self.t[k] - self.t[k - 1]) as f64 / 1000.0)
            .sum()
    }
}
