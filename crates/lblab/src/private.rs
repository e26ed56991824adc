//! Paths only this user can change: the state directory and the record in it. Anyone who can write
//! there could make `switch` run a program or signal a process as this user.

use std::fs::Metadata;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::Path;

use crate::procfs::my_uid;

/// Creates `dir` (mode 0700) if it is missing, then checks it as [`check`] does.
pub fn ensure_dir(dir: &Path) -> Result<(), String> {
    if std::fs::symlink_metadata(dir).is_err() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    check(dir, true)
}

/// Checks that `path` is a directory (`dir`) or a regular file, not a symlink, owned by this user
/// and writable by nobody else.
pub fn check(path: &Path, dir: bool) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    problem(&meta, dir).map_or(Ok(()), |p| {
        Err(format!(
            "refusing {}: {p}; another user could change what lblab runs (remove it, or pass --state-dir DIR of your own)",
            path.display()
        ))
    })
}

fn problem(meta: &Metadata, dir: bool) -> Option<String> {
    let kind = meta.file_type();
    if kind.is_symlink() {
        return Some("it is a symbolic link".into());
    }
    if dir && !kind.is_dir() {
        return Some("it is not a directory".into());
    }
    if !dir && !kind.is_file() {
        return Some("it is not a regular file".into());
    }
    if meta.uid() != my_uid() {
        return Some(format!(
            "it is owned by uid {}, not by you (uid {})",
            meta.uid(),
            my_uid()
        ));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Some(format!(
            "it is writable by group or others (mode {mode:04o})"
        ));
    }
    None
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
}
