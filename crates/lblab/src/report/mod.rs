//! The report a person would rather look at: one self-contained HTML page with inline SVG charts
//! of `run` or `compare`, and the share chart alone as SVG.

mod args;
mod charts;
mod html;
mod output;
mod rate;
mod svg;
mod time_charts;

pub use args::{ReportFiles, write};
pub use charts::{Page, Shown, share_chart};
pub use html::page;
pub use svg::esc;

/// What `run` and `compare` asked for, written; `Err` names the flag.
pub fn write_all(files: &ReportFiles, p: &Page) -> Result<(), String> {
    if let Some(path) = files.html() {
        write("--html", path, &page(p))?;
    }
    if let Some(path) = files.svg() {
        write("--svg", path, &share_chart(p))?;
    }
    Ok(())
}
