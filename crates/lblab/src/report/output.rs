//! Writing a file the user named (`--html`, `--svg`), safely in a directory others may write to,
//! such as /tmp. The text goes to a temporary file that is created exclusively under an
//! unpredictable name beside the target, so a link planted at a name we would use is never
//! followed; it is renamed over the target only once it is complete, so a failed write leaves an
//! earlier file as it was. Only a regular file, or no file at all, is ever replaced: a device, a
//! FIFO or a directory is refused rather than turned into a regular file, and a symbolic link is
//! refused rather than followed, since in a shared directory it may be another user's and point
//! at a file of ours. A replaced file keeps its mode (and, when root writes it, its owner).

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// What is at the path the user named, as far as writing it goes.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// Nothing yet: the new file gets the mode any new file gets (0666 less the umask).
    New,
    /// A regular file, whose mode and owner the new one keeps.
    Regular { mode: u32, uid: u32, gid: u32 },
}

/// Why `path` cannot be written, or what is there. Looked at without following a link.
fn target(path: &Path) -> Result<Target, String> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Target::New),
        Err(e) => return Err(format!("cannot look at it: {e}")),
    };
    let t = meta.file_type();
    if t.is_file() {
        return Ok(Target::Regular {
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
        });
    }
    let what = if t.is_symlink() {
        "a symbolic link, which is not followed (name the file it points to)"
    } else {
        crate::file_kind::name(&meta)
    };
    Err(format!(
        "is {what}; only a regular file or a new one is written"
    ))
}

/// The directory a new file at `path` goes in.
fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// The checks made before a lab starts, so that a path that cannot be written costs no run.
pub fn check(path: &Path) -> Result<(), String> {
    if path.as_os_str().is_empty() {
        return Err("an empty path".into());
    }
    let dir = dir_of(path);
    if !dir.is_dir() {
        return Err(format!("there is no directory {}", dir.display()));
    }
    if let Target::Regular { .. } = target(path)?
        && !writable(path)
    {
        return Err("the file is not writable".into());
    }
    if !writable(dir) {
        return Err(format!("the directory {} is not writable", dir.display()));
    }
    Ok(())
}

fn writable(p: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt as _;
    let Ok(c) = std::ffi::CString::new(p.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access(2) reads the NUL-terminated path it is given.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// 64 bits from the kernel, as hex, for a name nobody can plant a link at in advance.
fn random_name_part() -> std::io::Result<String> {
    let mut bytes = [0u8; 8];
    let mut filled = 0;
    while filled < bytes.len() {
        // SAFETY: getrandom(2) writes at most the given length into the buffer it is given.
        let n = unsafe {
            libc::getrandom(bytes[filled..].as_mut_ptr().cast(), bytes.len() - filled, 0)
        };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        filled += n as usize;
    }
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A new file beside `path`, created exclusively (`O_EXCL` also refuses a link at the name) and
/// readable only by us until it is complete.
fn create_temporary(path: &Path) -> std::io::Result<(PathBuf, File)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    loop {
        let tmp = dir_of(path).join(format!(".{name}.{}.lblab-tmp", random_name_part()?));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            // Someone holds this name already (64 random bits: only if they planted it, or by a
            // chance too small to matter); another name is as good.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The mode a new file gets from this process: 0666 less the umask. Read from /proc, since
/// umask(2) can only be read by setting it, which would race with other threads creating files.
fn new_file_mode() -> u32 {
    let umask = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        // Without /proc, the common umask; the file is then no more open than usual.
        .unwrap_or(0o022);
    0o666 & !umask
}

/// Writes `text` to `path` as the module's comment says; `Err` is one line naming the flag.
pub fn write(flag: &str, path: &Path, text: &[u8]) -> Result<(), String> {
    let fail = |why: String| format!("{flag} {}: {why}", path.display());
    let target = target(path).map_err(fail)?;
    let (tmp, mut file) =
        create_temporary(path).map_err(|e| fail(format!("cannot create a file beside it: {e}")))?;
    let written = (|| {
        file.write_all(text)?;
        match target {
            Target::New => {
                file.set_permissions(std::fs::Permissions::from_mode(new_file_mode()))?
            }
            Target::Regular { mode, uid, gid } => {
                // Root replacing another user's file gives it back to them; anyone else cannot
                // change the owner, and the file is then theirs, as any file they write is.
                // SAFETY: fchown(2) on a descriptor this function owns.
                let _ = unsafe { libc::fchown(std::os::fd::AsRawFd::as_raw_fd(&file), uid, gid) };
                file.set_permissions(std::fs::Permissions::from_mode(mode))?;
            }
        }
        file.sync_all()?;
        // Looked at once more just before the rename: a link, device or FIFO put there since
        // the first look is refused rather than replaced.
        if let Err(why) = self::target(path) {
            return Err(std::io::Error::other(why));
        }
        std::fs::rename(&tmp, path)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(format!("cannot write it: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwritable_paths_are_refused_up_front() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(check(&dir.path().join("r.html")), Ok(()));
        assert!(check(dir.path()).unwrap_err().contains("a directory"));
        assert!(
            check(&dir.path().join("no/such/r.html"))
                .unwrap_err()
                .contains("there is no directory")
        );
        let link = dir.path().join("link.html");
        std::os::unix::fs::symlink(dir.path().join("r.html"), &link).unwrap();
        assert!(check(&link).unwrap_err().contains("symbolic link"));
    }

    #[test]
    fn a_new_file_is_written_and_no_temporary_file_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.svg");
        write("--svg", &p, b"one").unwrap();
        write("--svg", &p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["r.svg"], "something else was left beside it");
        let mode = std::fs::metadata(&p).unwrap().mode() & 0o777;
        assert_eq!(mode, new_file_mode(), "{mode:o}");
    }

    #[test]
    fn temporary_names_differ_each_time() {
        let (a, b) = (random_name_part().unwrap(), random_name_part().unwrap());
        assert_eq!(a.len(), 16);
        assert_ne!(a, b);
    }
}
