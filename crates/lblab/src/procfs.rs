//! What /proc says of a process: whether it runs, its parent, owner, executable and arguments.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// The fields of /proc/PID/stat after the command name (which may contain spaces and parentheses).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(") ")?.1;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// Whether a process with this PID exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|f| f.first().is_some_and(|s| s != "Z"))
}

/// When the process started, in clock ticks since boot (field 22 of /proc/PID/stat). With the PID
/// it names one process for good: a PID is reused, a PID and its start time are not.
pub fn start_time(pid: u32) -> Option<u64> {
    stat_fields(pid)?.get(19)?.parse().ok()
}

/// Whether the process `pid` that started at `start` still runs: the PID alone may have been
/// given to another process since.
pub fn alive_since(pid: u32, start: u64) -> bool {
    alive(pid) && start_time(pid) == Some(start)
}

pub fn parent_of(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// The PIDs whose parent is `pid`.
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| parent_of(p) == Some(pid))
        .collect()
}

/// The user that owns the process (its real uid, as /proc/PID is owned by).
pub fn owner(pid: u32) -> Option<u32> {
    std::fs::metadata(format!("/proc/{pid}"))
        .ok()
        .map(|m| m.uid())
}

/// The executable the process runs.
pub fn exe(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// Its arguments, argv[0] first.
pub fn cmdline(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|&c| c == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Its peak resident set size (VmHWM) in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The user this process runs as.
pub fn my_uid() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_this_process() {
        let me = std::process::id();
        assert!(alive(me));
        assert_eq!(owner(me), Some(my_uid()));
        assert_eq!(exe(me), std::env::current_exe().ok());
        assert!(children_of(parent_of(me).unwrap()).contains(&me));
        assert!(!cmdline(me).is_empty());
        assert!(peak_rss_kib(me).is_some_and(|k| k > 0));
        let start = start_time(me).unwrap();
        assert!(alive_since(me, start));
        assert!(!alive_since(me, start + 1));
        assert!(!alive(u32::MAX));
    }
}
