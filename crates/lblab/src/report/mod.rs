//! The report a person would rather look at: one self-contained HTML page with inline SVG charts
//! of `run` or `compare`, and the share chart alone as SVG.

mod args;
mod charts;
mod html;
mod output;
mod svg;

pub use args::{ReportArgs, write};
pub use charts::{Page, Shown, share_chart};
pub use html::page;

/// What `run` and `compare` asked for, written; `Err` names the flag.
pub fn write_all(args: &ReportArgs, p: &Page) -> Result<(), String> {
    if let Some(path) = &args.html {
        write("--html", path, &page(p))?;
    }
    if let Some(path) = &args.svg {
        write("--svg", path, &share_chart(p))?;
    }
    Ok(())
}

/// The load in a phrase: `1000 requests at -c 1000, from 100 client addresses`.
pub fn load_sentence(l: &loadtest::cli::LoadArgs) -> String {
    use std::fmt::Write as _;
    let mut s = match l.duration {
        Some(d) => format!("{d:?} at -c {}", l.concurrency),
        None => format!("{} requests at -c {}", l.requests, l.concurrency),
    };
    if let Some(r) = l.rate {
        let _ = write!(s, ", {r} req/s");
    }
    let sources: usize = l.source_ips.iter().map(Vec::len).sum();
    if sources > 1 {
        let _ = write!(s, ", from {sources} client addresses");
    }
    for h in l.headers.iter().filter(|h| !h.is_constant()) {
        let _ = write!(s, ", a varying {} header", h.name);
    }
    s
}
