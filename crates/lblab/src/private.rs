//! Paths only this user can change: the state directory and the files in it. Anyone who can write
//! there could make `switch` run a program or signal a process as this user.

use std::fs::{File, Metadata};
use std::io::{Read as _, Seek as _, Write as _};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::procfs::my_uid;

/// Creates `dir` (mode 0700) if it is missing, then checks it as [`check`] does, and that this
/// user can create files in it: `up` must find a read-only directory before the lab starts, not
/// when it comes to record it.
pub fn ensure_dir(dir: &Path) -> Result<(), String> {
    if std::fs::symlink_metadata(dir).is_err() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    check(dir, true)?;
    tempfile::Builder::new()
        .prefix(".lblab-probe-")
        .tempfile_in(dir)
        .map(drop)
        .map_err(|e| {
            format!(
                "cannot write in {}: {e} (pass --state-dir DIR, a directory you can write)",
                dir.display()
            )
        })
}

/// Checks that `path` is a directory (`dir`) or a regular file, not a symlink, owned by this user
/// and writable by nobody else.
pub fn check(path: &Path, dir: bool) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    problem(&meta, dir).map_or(Ok(()), |p| Err(refusal(path, &p, dir)))
}

/// The one line that refuses `path` for `problem`, with the reason that is true for it: only what
/// another user owns or can write lets another user change what lblab runs.
fn refusal(path: &Path, problem: &Problem, dir: bool) -> String {
    let shown = path.display();
    let what = if dir {
        "a directory of your own that only you can write"
    } else {
        "a regular file of your own that only you can write"
    };
    match problem {
        Problem::Kind(p) => {
            format!("refusing {shown}: {p}; lblab needs {what} there (pass --state-dir DIR)")
        }
        Problem::Trust(p) => format!(
            "refusing {shown}: {p}; another user could change what lblab runs (remove it, or pass --state-dir DIR of your own)"
        ),
    }
}

/// Why a path is refused: the wrong kind of file, or one that another user could change.
enum Problem {
    Kind(String),
    Trust(String),
}

fn problem(meta: &Metadata, dir: bool) -> Option<Problem> {
    let kind = meta.file_type();
    if kind.is_symlink() {
        // A link of one's own is no danger in itself, but its target may be anyone's; lblab does
        // not follow links here rather than check where they lead.
        return Some(Problem::Kind(
            "it is a symbolic link, which lblab does not follow".into(),
        ));
    }
    if dir && !kind.is_dir() {
        return Some(Problem::Kind(format!(
            "it is not a directory but {}",
            crate::file_kind::name(meta)
        )));
    }
    if !dir && !kind.is_file() {
        return Some(Problem::Kind(format!(
            "it is not a regular file but {}",
            crate::file_kind::name(meta)
        )));
    }
    if meta.uid() != my_uid() {
        return Some(Problem::Trust(format!(
            "it is owned by uid {}, not by you (uid {})",
            meta.uid(),
            my_uid()
        )));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Some(Problem::Trust(format!(
            "it is writable by group or others (mode {mode:04o})"
        )));
    }
    None
}

/// A lock file in the state directory, held (flock) while this value lives. The kernel releases
/// it when the process dies, however it dies, so a lock never outlives its holder.
pub struct Lock {
    file: File,
}

impl Lock {
    /// Opens `path` (created 0600 if missing, never through a link) and takes an exclusive lock on
    /// it; `Ok(None)` when another process holds it.
    pub fn try_take(path: &Path) -> Result<Option<Lock>, String> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| format!("cannot open the lock file {}: {e}", path.display()))?;
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if let Some(p) = problem(&meta, false) {
            return Err(refusal(path, &p, false));
        }
        // SAFETY: flock(2) on a descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(Some(Lock { file }));
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            Ok(None)
        } else {
            Err(format!("cannot lock {}: {e}", path.display()))
        }
    }

    /// Waits up to `within` for the lock, checking every 20 ms; `Ok(None)` if it stayed taken.
    pub async fn take(path: &Path, within: std::time::Duration) -> Result<Option<Lock>, String> {
        let until = std::time::Instant::now() + within;
        loop {
            if let Some(l) = Lock::try_take(path)? {
                return Ok(Some(l));
            }
            if std::time::Instant::now() >= until {
                return Ok(None);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Writes `text` as the whole content of the lock file (who holds it, for those refused).
    pub fn say(&mut self, text: &str) {
        let _ = self.file.set_len(0);
        let _ = self.file.rewind();
        let _ = self.file.write_all(text.as_bytes());
    }

    /// What the holder wrote in the lock file at `path`, if anything.
    pub fn said(path: &Path) -> Option<String> {
        let mut text = String::new();
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .ok()?
            .read_to_string(&mut text)
            .ok()?;
        Some(text.trim().to_owned()).filter(|t| !t.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_others_can_write() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("state");
        ensure_dir(&d).unwrap();
        let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(ensure_dir(&d).unwrap_err().contains("mode 0777"));
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o720)).unwrap();
        assert!(check(&d, true).unwrap_err().contains("group or others"));
        let f = t.path().join("f");
        std::fs::write(&f, "").unwrap();
        assert!(check(&f, true).unwrap_err().contains("not a directory"));
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(check(&f, false).is_ok());
        let l = t.path().join("l");
        std::os::unix::fs::symlink(&f, &l).unwrap();
        assert!(check(&l, false).unwrap_err().contains("symbolic link"));
    }

    #[test]
    fn a_wrong_kind_of_file_is_not_called_a_danger() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("f");
        std::fs::write(&f, "").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        for (path, said) in [
            (f.as_path(), "it is not a directory but a regular file"),
            (
                Path::new("/dev/null"),
                "not a directory but a character device",
            ),
        ] {
            let e = ensure_dir(path).unwrap_err();
            assert!(e.contains(said), "{e}");
            assert!(!e.contains("another user"), "{e}");
        }
    }

    #[test]
    fn a_lock_is_taken_once() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("x.lock");
        let mut held = Lock::try_take(&p).unwrap().expect("free");
        held.say("pid 1");
        assert!(Lock::try_take(&p).unwrap().is_none());
        assert_eq!(Lock::said(&p).as_deref(), Some("pid 1"));
        drop(held);
        assert!(Lock::try_take(&p).unwrap().is_some());
    }
}
