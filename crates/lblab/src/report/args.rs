//! `--html FILE` and `--svg FILE` of `run` and `compare`, and the check that they can be written,
//! made before the lab starts so a bad path costs no run.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use clap::Args;

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
                check_writable(p).map_err(|why| {
                    format!(
                        "{flag} {}: {why} (give a file in a directory you can write)",
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

fn writable(p: &Path) -> bool {
    let Ok(c) = CString::new(p.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access(2) reads the NUL-terminated path it is given.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

fn check_writable(p: &Path) -> Result<(), String> {
    if p.as_os_str().is_empty() {
        return Err("an empty path".into());
    }
    if p.is_dir() {
        return Err("is a directory".into());
    }
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(format!("there is no directory {}", dir.display()));
    }
    if p.exists() && !writable(p) {
        return Err("the file is not writable".into());
    }
    if !writable(dir) {
        return Err(format!("the directory {} is not writable", dir.display()));
    }
    Ok(())
}

/// Writes `text` to `path` through a temporary file beside it, so that a failed write leaves an
/// earlier file as it was.
pub fn write(flag: &str, path: &Path, text: &str) -> Result<(), String> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".lblab-tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("{flag} {}: cannot write it: {e}", path.display())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwritable_paths_are_refused_up_front() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(check_writable(&dir.path().join("r.html")), Ok(()));
        assert!(
            check_writable(dir.path())
                .unwrap_err()
                .contains("directory")
        );
        assert!(
            check_writable(&dir.path().join("no/such/r.html"))
                .unwrap_err()
                .contains("there is no directory")
        );
        let a = ReportArgs {
            html: Some(dir.path().join("none").join("r.html")),
            svg: None,
        };
        assert!(a.check_writable().unwrap_err().starts_with("--html "));
    }
}
