//! The lab's private prefix in `$TMPDIR`: made, marked with its runner, and removed when a runner
//! killed with SIGKILL left it behind (the next lab of the same user finds it).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::procfs;

/// The file in each prefix that says whose it is: `lblab PID START`, the runner's PID and its start
/// time. A runner killed with SIGKILL cannot remove its prefix; the next lab of the same user finds
/// this file and removes the prefix once that runner is gone.
const OWNER_FILE: &str = "lblab.owner";

/// Creates the private prefix in `$TMPDIR` and marks it as this runner's.
pub fn make_prefix() -> Result<tempfile::TempDir, String> {
    // nginx's workers use the prefix's temporary directories (large request bodies, buffered
    // answers). Run by a normal user they are that user, and the prefix is 0700. Run by root they
    // are nginx's unprivileged default user, which must be able to pass through the prefix to
    // reach the directories nginx made its own: 0711 lets it pass without listing anything.
    let mode = if procfs::my_uid() == 0 { 0o711 } else { 0o700 };
    let prefix = tempfile::Builder::new()
        .prefix("lblab-")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let me = std::process::id();
    let start = procfs::start_time(me).unwrap_or(0);
    std::fs::write(
        prefix.path().join(OWNER_FILE),
        format!("lblab {me} {start}\n"),
    )
    .map_err(|e| format!("cannot write in {}: {e}", prefix.path().display()))?;
    Ok(prefix)
}

/// Removes the prefixes in `tmp` that earlier runs of this user left when they were killed.
pub fn remove_stale_prefixes(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with("lblab-"))
        {
            remove_if_stale(&entry.path());
        }
    }
}

/// Removes `path` if it is a prefix of this user's whose runner is gone, and says whether it did.
/// Anything else is left alone: another user's directory, one without the owner file (lblab's state
/// directory, or a prefix whose owner file is not written yet), or a running lab's prefix.
pub fn remove_if_stale(path: &Path) -> bool {
    let me = procfs::my_uid();
    let ours = |p: &Path, dir: bool| {
        std::fs::symlink_metadata(p)
            .is_ok_and(|m| m.uid() == me && if dir { m.is_dir() } else { m.is_file() })
    };
    let owner_file = path.join(OWNER_FILE);
    if !ours(path, true) || !ours(&owner_file, false) {
        return false;
    }
    let text = std::fs::read_to_string(&owner_file).unwrap_or_default();
    let fields: Vec<&str> = text.split_whitespace().collect();
    let ["lblab", pid, start] = fields[..] else {
        return false;
    };
    let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
        return false;
    };
    if procfs::alive_since(pid, start) {
        return false;
    }
    // remove_dir_all does not follow symbolic links, so nothing outside the prefix is touched.
    std::fs::remove_dir_all(path).is_ok()
}
