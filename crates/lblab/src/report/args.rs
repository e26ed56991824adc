//! `--html FILE` and `--svg FILE` of `run` and `compare`, and the check that they can be written,
//! made before the lab starts so a bad path costs no run.

use std::path::{Path, PathBuf};

use clap::Args;

use super::output;

#[derive(Debug, Clone, Default, Args)]
pub struct ReportArgs {
    /// Write a self-contained HTML report (inline SVG charts, nothing fetched from the network).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Write the share chart alone, as an SVG file.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
}

impl ReportArgs {
    pub fn check_writable(&self) -> Result<(), String> {
        for (flag, path) in [("--html", &self.html), ("--svg", &self.svg)] {
            if let Some(p) = path {
                output::check(p).map_err(|why| {
                    format!(
                        "{flag} {}: {why} (give a regular or new file in a directory you can write)",
                        p.display()
                    )
                })?;
            }
        }
        Ok(())
    }

    pub fn wanted(&self) -> bool {
        self.html.is_some() || self.svg.is_some()
    }
}

/// Writes `text` to `path` through [`output::write`]: never through a link, never over anything
/// but a regular file, keeping its mode.
pub fn write(flag: &str, path: &Path, text: &str) -> Result<(), String> {
    output::write(flag, path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_names_an_unwritable_path() {
        let dir = tempfile::tempdir().unwrap();
        let a = ReportArgs {
            html: Some(dir.path().join("none").join("r.html")),
            svg: None,
        };
        assert!(a.check_writable().unwrap_err().starts_with("--html "));
    }
}
