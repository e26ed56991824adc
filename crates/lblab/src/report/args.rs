//! The report files of `run` and `compare` (`--html`, `--svg`), and the check that they can be written,
//! made before the lab starts so a bad path costs no run.

use std::path::{Path, PathBuf};

use super::output;

/// The report files asked for, each checked writable when this is made.
#[derive(Debug, Clone, Default)]
pub struct ReportFiles {
    /// The self-contained HTML report.
    html: Option<PathBuf>,
    /// The share chart alone, as SVG.
    svg: Option<PathBuf>,
}

impl ReportFiles {
    /// `--html` and `--svg`, or the first that cannot be written, named by its flag.
    pub fn new(html: Option<PathBuf>, svg: Option<PathBuf>) -> Result<ReportFiles, String> {
        let files = ReportFiles { html, svg };
        files.check_writable()?;
        Ok(files)
    }

    fn check_writable(&self) -> Result<(), String> {
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

    pub fn html(&self) -> Option<&Path> {
        self.html.as_deref()
    }

    pub fn svg(&self) -> Option<&Path> {
        self.svg.as_deref()
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
        let a = ReportFiles::new(Some(dir.path().join("none").join("r.html")), None);
        assert!(a.unwrap_err().starts_with("--html "));
    }
}
