/// Raises the open-files soft limit to the hard limit, so that 1000+ concurrent sockets work on a
/// stock box whose soft limit is 1024. Returns the soft limit now in force.
pub fn raise_nofile_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!("could not raise the open-files limit: {e}");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .map(|(soft, _)| soft)
                .unwrap_or(1024)
        }
    }
}

/// Descriptors a run needs besides its sockets and runtimes: stdio, the runner's pipes, a margin.
const SPARE_FDS: u64 = 64;

/// Refuses, before any request, a concurrency the open-files limit cannot hold: past it, sockets
/// fail with EMFILE, which looks like a broken target. Each connection takes a socket and each
/// sending thread's runtime an epoll and a wake-up descriptor. Raises the soft limit to the hard
/// one first, as [`prepare_process`] does.
pub fn check_open_files(concurrency: u32, threads: usize) -> Result<(), String> {
    let limit = raise_nofile_limit();
    let threads = (threads as u64).clamp(1, u64::from(concurrency));
    let needed = u64::from(concurrency) + 2 * threads + SPARE_FDS;
    if needed <= limit {
        return Ok(());
    }
    let most = limit.saturating_sub(2 * threads + SPARE_FDS);
    Err(format!(
        "-c {concurrency} needs about {needed} open files, but the open-files limit is {limit} \
         (see `ulimit -n`; raise the hard limit, or give -c {most} at most)"
    ))
}

/// Readies the process for `concurrency` connections: the open-files limit, the file table and the
/// heap. Call it from `main` before any thread starts; [`reserve_fds`] says why that matters.
pub fn prepare_process(concurrency: u32) {
    let soft = raise_nofile_limit();
    reserve_heap();
    // One socket per connection, plus each sending thread's epoll and wake-up descriptors; a
    // descriptor at or above the soft limit could not be made.
    reserve_fds((u64::from(concurrency) + 64).min(soft.saturating_sub(1)));
}

/// Grows this process's file-descriptor table to hold `fds` descriptors now, while it has one thread.
/// Linux grows the table when a descriptor number first passes 64, 128, 256, 512, 1024, …, and in a
/// process with more than one thread each growth waits for an RCU grace period (`expand_fdtable`
/// calls `synchronize_rcu`). At -c 1000 that stalled `socket()` for 8–16 ms at fd 256 and again at
/// 512: a third of the burst's wall time, spent idle. The table never shrinks, so growing it once
/// before any thread starts saves every later wait. `fds` must be below the open-files soft limit.
fn reserve_fds(fds: u64) {
    use std::os::fd::AsRawFd;
    let top = fds.min(i32::MAX as u64) as libc::c_int;
    let Ok(null) = std::fs::File::open("/dev/null") else {
        return;
    };
    // SAFETY: F_DUPFD_CLOEXEC duplicates a descriptor this function owns onto the lowest free number
    // at or above `top`, which makes the kernel grow the table; the duplicate is closed at once.
    unsafe {
        let fd = libc::fcntl(null.as_raw_fd(), libc::F_DUPFD_CLOEXEC, top);
        if fd >= 0 {
            libc::close(fd);
        }
    }
}

/// Lets glibc's per-thread malloc arenas grow in 64 MiB steps instead of a page at a time: at -c 1000
/// the sending threads' arenas otherwise grow by about 7 400 `mprotect` calls in a 0.1 s run. Only
/// address space is reserved; a page costs memory when it is first written, as before.
fn reserve_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable of the allocator; it is called before the sending threads
    // start and takes no pointers.
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's own count of descriptor slots in this process's table.
    fn fd_slots() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("FDSize:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("FDSize line")
    }

    #[test]
    fn a_concurrency_within_the_limit_is_accepted() {
        let limit = raise_nofile_limit();
        assert_eq!(check_open_files(100, 2), Ok(()));
        let c = u32::try_from(limit).unwrap_or(u32::MAX);
        let err = check_open_files(c, 2).unwrap_err();
        assert!(
            err.contains(&format!("the open-files limit is {limit}")) && err.contains("ulimit -n"),
            "{err}"
        );
    }

    #[test]
    fn reserve_fds_grows_the_table_and_leaves_no_descriptor_open() {
        let soft = raise_nofile_limit();
        assert!(
            soft > 3000,
            "the test needs an open-files limit above 3000, got {soft}"
        );
        assert!(
            fd_slots() < 3000,
            "the table is already {} slots",
            fd_slots()
        );
        reserve_fds(3000);
        assert!(fd_slots() > 3000, "the table is {} slots", fd_slots());
        // The duplicate was made at 3000 or above; other tests in this process open and close
        // descriptors of their own meanwhile, but none that high.
        let high: Vec<u64> = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .filter(|&fd| fd >= 3000)
            .collect();
        assert!(high.is_empty(), "left open: {high:?}");
    }
}
