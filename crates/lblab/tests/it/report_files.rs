//! `--html FILE` and `--svg FILE` in a directory others may write to: a link planted where lblab
//! once put its temporary file is not followed, a FIFO or a link at the path itself is refused
//! before the lab starts (never replaced by a regular file), and a 0600 report stays 0600.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::Path;

use crate::common::lblab;

fn mkfifo(p: &Path) {
    let c = CString::new(p.as_os_str().as_bytes()).unwrap();
    // SAFETY: mkfifo(3) reads the NUL-terminated path it is given.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// `lblab run -n 10 -c 2 ARGS`: its exit code and stderr.
fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = lblab()
        .args(["run", "-n", "10", "-c", "2", "-b", "2"])
        .args(args)
        .output()
        .expect("lblab runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_fifo_or_a_link_at_the_report_path_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    // The FIFO stands for /dev/null of the issue: anything not a regular file.
    let fifo = dir.path().join("shares.svg");
    mkfifo(&fifo);
    let (code, err) = run(&["--svg", fifo.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(
        err.contains("--svg") && err.contains("a FIFO") && err.contains("regular"),
        "{err}"
    );
    let t = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(t.is_fifo(), "the FIFO was replaced: {t:?}");

    let precious = dir.path().join("precious.txt");
    std::fs::write(&precious, "precious\n").unwrap();
    let link = dir.path().join("report.html");
    std::os::unix::fs::symlink(&precious, &link).unwrap();
    let (code, err) = run(&["--html", link.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(
        err.contains("--html") && err.contains("symbolic link"),
        "{err}"
    );
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "precious\n");
    assert_eq!(
        names_in(dir.path()),
        ["precious.txt", "report.html", "shares.svg"],
        "something was left in the directory"
    );
}

#[test]
fn a_link_planted_at_the_old_temporary_name_is_not_followed_and_the_mode_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    // Another user's link at the name lblab used to write first, pointing at our file.
    let precious = dir.path().join("precious.txt");
    std::fs::write(&precious, "precious\n").unwrap();
    let planted = dir.path().join("report.html.lblab-tmp");
    std::os::unix::fs::symlink(&precious, &planted).unwrap();
    // An earlier report only we may read.
    let report = dir.path().join("report.html");
    std::fs::write(&report, "old\n").unwrap();
    std::fs::set_permissions(&report, std::fs::Permissions::from_mode(0o600)).unwrap();

    let (code, err) = run(&["--html", report.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        std::fs::read_to_string(&precious).unwrap(),
        "precious\n",
        "the planted link was followed"
    );
    assert!(std::fs::symlink_metadata(&planted).unwrap().is_symlink());
    let page = std::fs::read_to_string(&report).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "{page:.80}");
    let mode = std::fs::metadata(&report).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600, "the report's mode became {mode:o}");
    assert_eq!(
        names_in(dir.path()),
        ["precious.txt", "report.html", "report.html.lblab-tmp"],
        "a temporary file was left"
    );
}
